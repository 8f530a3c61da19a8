//! Mesh-wide vouchers in the namespace lab (issue 23): three routers, each a lab of its own
//! with its LAN client and its isp, their `bat0` interfaces cabled to one bridge (the mesh
//! link). Defaults as shipped: the sync on `bat0` only, peers found by link-local
//! announcements, the portal on with the firewall offload. A voucher made on router 1 lets
//! router 3's client in, then router 1's (bound there, counting from the first activation);
//! the client cannot reach the sync port; an invalidation made on router 2 cuts both within
//! seconds. Needs root.

mod common;

use std::fmt::Write as _;
use std::process::Command;
use std::time::Instant;

use common::{LabGuard, Server, become_member, cli, serve_router, wait_for};
use netlab::{Lab, NodeRole, Scratch};

fn ip(ns: &str, args: &[&str]) {
    let out = Command::new("ip")
        .args(["-n", ns])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?} in {ns}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `curl` from a lab's client: (exit code, HTTP status, body).
fn curl(lab: &Lab, args: &[&str]) -> (i32, u16, String) {
    let out = lab
        .command(NodeRole::Client, "curl")
        .args(["-s", "-m", "5", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        out.status.code().unwrap_or(-1),
        code.trim().parse().unwrap_or(0),
        body.to_owned(),
    )
}

fn voucher(root: &std::path::Path, code: &str) -> Option<serde_json::Value> {
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&cli(root, &["vouchers", "list", "--json"])).unwrap();
    list.into_iter().find(|v| v["code"] == code)
}

/// A router of the mesh: its lab, its root (portal on for the LAN), its `bat0` cabled to the
/// mesh link's bridge, its membership.
struct Router {
    lab: LabGuard,
    root: tempfile::TempDir,
}

fn router(n: u32, link: &Scratch, join: Option<&str>) -> (Router, String) {
    router_with(n, link, join, "")
}

/// As [`router`], with `mesh` (a `config mesh` section, or nothing for the defaults).
fn router_with(n: u32, link: &Scratch, join: Option<&str>, mesh: &str) -> (Router, String) {
    let lab = LabGuard(Lab::up(common::spec_with_internet(n)).expect("lab up"));
    common::fw4_nat_and_ipv6(&lab.0);
    let ns = lab.0.ns(NodeRole::Router);
    let port = format!("m{n}");
    ip(
        &ns,
        &[
            "link", "add", "bat0", "type", "veth", "peer", "name", &port, "netns", &link.name,
        ],
    );
    ip(&ns, &["link", "set", "bat0", "up"]);
    ip(
        &link.name,
        &["link", "set", &port, "master", "meshbr", "up"],
    );
    let root = tempfile::tempdir().unwrap();
    portico_server::platform::dev::create_fresh_root(root.path()).unwrap();
    let config = root.path().join("etc/config/portico");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\nconfig portal 'portal'\n\toption enabled '1'\n\tlist interface 'br-lan'\n");
    text.push_str(mesh);
    std::fs::write(&config, text).unwrap();
    let code = become_member(root.path(), join.ok_or("kiez"));
    (Router { lab, root }, code)
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one story in the lab: made, used on two routers, cut everywhere"
)]
fn a_voucher_from_one_node_works_on_another_and_an_invalidation_cuts_everywhere() {
    netlab::lab::sweep_stale_test_labs();
    let link = Scratch::new().expect("mesh link namespace");
    ip(&link.name, &["link", "add", "meshbr", "type", "bridge"]);
    ip(&link.name, &["link", "set", "meshbr", "up"]);
    let (r1, code) = router(31, &link, None);
    let (r2, _) = router(32, &link, Some(&code));
    let (r3, _) = router(33, &link, Some(&code));
    let _servers: Vec<Server> = [&r1, &r2, &r3]
        .iter()
        .map(|r| serve_router(&r.lab.0, r.root.path()))
        .collect();
    let lab3 = &r3.lab.0;

    // Made on router 1 for two devices, it reaches router 3 (peers found by their
    // announcements on bat0).
    let out = cli(
        r1.root.path(),
        &[
            "vouchers",
            "create",
            "--duration",
            "2h",
            "--max-devices",
            "2",
            "--json",
        ],
    );
    let made = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let lab1 = &r1.lab.0;
    wait_for("router 3 holds router 1's voucher", || {
        voucher(r3.root.path(), &made)
    });
    let (_, code204, _) = curl(lab3, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(
        code204, 302,
        "router 3's client is captive before the voucher"
    );
    let (_, status, page) = curl(
        lab3,
        &[
            "--data-urlencode",
            &format!("code={made}"),
            "http://192.168.1.1:8080/",
        ],
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are online"), "{page}");
    let (_, code204, _) = curl(lab3, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(code204, 204, "the internet through router 3");
    // Its activation travels back to router 1, where a second device uses it: it binds there
    // and counts from the first activation (router 3's), not from now.
    wait_for("router 1 sees the voucher in use", || {
        (voucher(r1.root.path(), &made)?["state"] == "active").then_some(())
    });
    let (_, status, page) = curl(
        lab1,
        &[
            "--data-urlencode",
            &format!("code={made}"),
            "http://192.168.1.1:8080/",
        ],
    );
    assert_eq!(status, 200, "{page}");
    let (_, code204, _) = curl(lab1, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(
        code204, 204,
        "the internet through router 1 for the second device"
    );
    let on1 = voucher(r1.root.path(), &made).unwrap();
    wait_for("router 3 knows both devices", || {
        let on3 = voucher(r3.root.path(), &made)?;
        (on3["macs"].as_array()?.len() == 2).then_some(on3)
    });
    assert_eq!(
        on1["expires"],
        voucher(r3.root.path(), &made).unwrap()["expires"],
        "one end on both routers"
    );

    // Even with access, the client reaches no sync port: the sync listens on bat0 only.
    let (exit, _, _) = curl(lab3, &["telnet://192.168.1.1:4790", "-m", "2"]);
    assert_eq!(exit, 7, "the sync port refuses the LAN");

    let (_, code204, _) = curl(lab3, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(
        code204, 204,
        "router 3's client still online with the second device on router 1"
    );

    // Invalidated on router 2: router 3 cuts the client once the state arrives.
    let id = voucher(r2.root.path(), &made).expect("router 2 has it too")["id"].to_string();
    let started = Instant::now();
    cli(r2.root.path(), &["vouchers", "invalidate", &id]);
    wait_for("router 3's client captive again", || {
        let (_, code, _) = curl(lab3, &["http://connectivitycheck.gstatic.com/generate_204"]);
        (code == 302).then_some(())
    });
    eprintln!(
        "invalidation on router 2 to enforcement on router 3: {:?}",
        started.elapsed()
    );
    wait_for("router 1's client captive again too", || {
        let (_, code, _) = curl(lab1, &["http://connectivitycheck.gstatic.com/generate_204"]);
        (code == 302).then_some(())
    });
    let status = cli(r3.root.path(), &["mesh", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["community"], "kiez");
    assert!(
        status["peers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in_sync"] == true)
            .count()
            >= 2,
        "both other routers are peers of router 3: {status:#}"
    );
    drop(link);
}

/// Starts `tcpdump` on every port of the mesh link (run in its namespace): a non-member with
/// a cable in the link sees what it carries. Stopped (and its file complete) on drop.
struct Capture {
    child: std::process::Child,
    file: std::path::PathBuf,
}

impl Capture {
    fn start(link: &Scratch, dir: &std::path::Path) -> Capture {
        let file = dir.join("mesh.pcap");
        let child = Command::new("ip")
            .args([
                "netns", "exec", &link.name, "tcpdump", "-i", "any", "-s", "0", "-U", "-w",
            ])
            .arg(&file)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tcpdump (xtask/dev.sh setup installs it)");
        wait_for("tcpdump listening", || file.exists().then_some(()));
        Capture { child, file }
    }

    /// Stops the capture and returns what it holds.
    fn stop(mut self) -> Vec<u8> {
        // SIGINT: tcpdump writes out what it buffered and exits.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read(&self.file).unwrap()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Vouchers whose `pick` field differs between two routers' views, by code.
fn states(root: &std::path::Path) -> std::collections::BTreeMap<String, (String, i64)> {
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&cli(root, &["vouchers", "list", "--json"])).unwrap();
    list.into_iter()
        .map(|v| {
            (
                v["code"].as_str().unwrap().to_owned(),
                (
                    v["state"].as_str().unwrap().to_owned(),
                    v["duration"].as_i64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

fn digest(root: &std::path::Path) -> serde_json::Value {
    let status: serde_json::Value =
        serde_json::from_str(&cli(root, &["mesh", "status", "--json"])).unwrap();
    status["digest"].clone()
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one story on one mesh link: partitioned, healed, watched, joined late"
)]
fn a_partition_heals_by_the_rules_a_stranger_on_the_link_learns_nothing_and_a_late_node_catches_up()
{
    netlab::lab::sweep_stale_test_labs();
    let link = Scratch::new().expect("mesh link namespace");
    ip(&link.name, &["link", "add", "meshbr", "type", "bridge"]);
    ip(&link.name, &["link", "set", "meshbr", "up"]);
    let dir = tempfile::tempdir().unwrap();
    let capture = Capture::start(&link, dir.path());
    let (r1, code) = router(34, &link, None);
    let (r2, _) = router(35, &link, Some(&code));
    let (r3, _) = router(36, &link, Some(&code));
    let _servers: Vec<Server> = [&r1, &r2, &r3]
        .iter()
        .map(|r| serve_router(&r.lab.0, r.root.path()))
        .collect();
    // A stranger with a cable in the mesh link: a Portico of another community, announcing
    // itself and answering like a member would.
    let (stranger, _) = bare_node(&link, 9, None, "", Err("elsewhere"));
    let (one, two) = (r1.root.path(), r2.root.path());

    let made: Vec<String> = (0..3).map(|_| common::voucher(one, "1h").1).collect();
    wait_for("router 3 holds router 1's vouchers", || {
        made.iter()
            .all(|c| voucher(r3.root.path(), c).is_some())
            .then_some(())
    });
    let id = |root: &std::path::Path, code: &str| voucher(root, code).unwrap()["id"].to_string();

    // Router 1's cable out: conflicting changes on both sides.
    ip(&link.name, &["link", "set", "m34", "down"]);
    cli(one, &["vouchers", "extend", &id(one, &made[0]), "1h"]);
    cli(two, &["vouchers", "extend", &id(two, &made[0]), "2h"]);
    cli(one, &["vouchers", "invalidate", &id(one, &made[1])]);
    cli(two, &["vouchers", "extend", &id(two, &made[1]), "30m"]);
    cli(one, &["vouchers", "rename", &id(one, &made[2]), "from one"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    cli(two, &["vouchers", "rename", &id(two, &made[2]), "from two"]);
    let only1 = common::voucher(one, "1h").1;
    let only2 = common::voucher(two, "1h").1;
    // Each side keeps working: router 3 follows router 2, router 1 is alone.
    wait_for("router 3 hears its side", || {
        voucher(r3.root.path(), &only2)
    });
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(voucher(two, &only1).is_none(), "the partition holds");
    assert_eq!(states(one)[&made[0]], ("unused".into(), 7200));

    // The cable back in: every router ends where the merge rules say.
    ip(&link.name, &["link", "set", "m34", "up"]);
    for (name, r) in [("1", &r1), ("2", &r2), ("3", &r3)] {
        wait_for(&format!("router {name} converges"), || {
            let s = states(r.root.path());
            (s.get(&made[0]) == Some(&("unused".into(), 3600 + 7200)) // the largest extension
                && s.get(&made[1]).is_some_and(|(state, _)| state == "invalidated") // wins
                && s.contains_key(&only1)
                && s.contains_key(&only2))
            .then_some(())
        });
    }
    wait_for("one state digest on the three routers", || {
        let d = digest(one);
        (digest(two) == d && digest(r3.root.path()) == d).then_some(())
    });
    assert_eq!(
        voucher(one, &made[2]).unwrap()["name"],
        "from two",
        "the later name"
    );

    // A router added later, after all that, catches up completely.
    let (late, _) = bare_node(&link, 10, None, "config mesh 'mesh'\n", Ok(&code));
    wait_for("the late router holds everything", || {
        (digest(late.root.path()) == digest(one)).then_some(())
    });
    assert_eq!(states(late.root.path()), states(one));

    // The stranger heard the members and was refused both ways: nothing crossed.
    let theirs = common::voucher(stranger.root.path(), "1h").1;
    wait_for("the stranger's rounds are refused", || {
        let status: serde_json::Value =
            serde_json::from_str(&cli(stranger.root.path(), &["mesh", "status", "--json"]))
                .unwrap();
        status["peers"]
            .as_array()?
            .iter()
            .any(|p| p["error_code"] == "member")
            .then_some(())
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        states(stranger.root.path()).len(),
        1,
        "only its own voucher"
    );
    for r in [&r1, &r2, &r3] {
        assert!(
            voucher(r.root.path(), &theirs).is_none(),
            "nothing injected"
        );
    }

    // What the link carried: the sync's rounds, and not one voucher code in clear.
    let captured = capture.stop();
    let listed = Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(dir.path().join("mesh.pcap"))
        .arg("tcp port 4790")
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).lines().count() > 50,
        "the capture holds the sync's traffic"
    );
    for code in made.iter().chain([&only1, &only2, &theirs]) {
        let plain = code.replace('-', "");
        for needle in [code.as_bytes(), plain.as_bytes()] {
            assert!(
                !captured.windows(needle.len()).any(|w| w == needle),
                "{code} in clear on the mesh link"
            );
        }
    }
    drop(link);
}

/// A router without lab around it (no client, no isp): its namespace, cabled to the mesh
/// link's bridge by `bat0`, its root with `config` (a `mesh` section) and its `serve`.
struct BareNode {
    _ns: Scratch,
    root: tempfile::TempDir,
    _server: Server,
}

/// Bare node `i` (bridge port `n{i}`, `address` on `bat0` beside its link-local one), joining
/// with `Ok(code)` or creating community `Err(name)`; returns it and the join code.
fn bare_node(
    link: &Scratch,
    i: usize,
    address: Option<&str>,
    config: &str,
    membership: Result<&str, &str>,
) -> (BareNode, String) {
    let ns = Scratch::new().expect("node namespace");
    let port = format!("n{i}");
    ip(
        &ns.name,
        &[
            "link", "add", "bat0", "type", "veth", "peer", "name", &port, "netns", &link.name,
        ],
    );
    if let Some(address) = address {
        ip(&ns.name, &["addr", "add", address, "dev", "bat0", "nodad"]);
    }
    ip(&ns.name, &["link", "set", "bat0", "up"]);
    ip(
        &link.name,
        &["link", "set", &port, "master", "meshbr", "up"],
    );
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc/config")).unwrap();
    std::fs::write(root.path().join("etc/config/portico"), config).unwrap();
    let code = become_member(root.path(), membership);
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_portico")])
        .env("RUST_LOG", "warn");
    let server = common::serve_on_loopback(cmd, root.path());
    (
        BareNode {
            _ns: ns,
            root,
            _server: server,
        },
        code,
    )
}

/// The chain's mesh section for node `i` of `len` (addresses `fd6d::N`): it knows only its
/// neighbours and announces nothing, so a change crosses every hop.
fn chain_config(i: usize, len: usize) -> String {
    let mut config = "config mesh 'mesh'\n\toption announce '0'\n".to_owned();
    for peer in [i - 1, i + 1] {
        if (1..=len).contains(&peer) {
            let _ = writeln!(config, "\tlist peer '[fd6d::{peer}]:4790'");
        }
    }
    config
}

/// The first `len - 1` nodes of the benchmark's chain of `len`, bare; and the join code.
fn chain(len: usize, link: &Scratch) -> (Vec<BareNode>, String) {
    let mut nodes: Vec<BareNode> = Vec::new();
    let mut code: Option<String> = None;
    for i in 1..len {
        let membership = code.as_deref().ok_or("bench");
        let address = format!("fd6d::{i}/64");
        let (node, joined) = bare_node(link, i, Some(&address), &chain_config(i, len), membership);
        code = Some(joined);
        nodes.push(node);
    }
    (nodes, code.unwrap_or_default())
}

fn median(mut v: Vec<std::time::Duration>) -> std::time::Duration {
    v.sort();
    v[v.len() / 2]
}

fn peer_bytes(root: &std::path::Path) -> i64 {
    let status: serde_json::Value =
        serde_json::from_str(&cli(root, &["mesh", "status", "--json"])).unwrap();
    status["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bytes_sent"].as_i64().unwrap() + p["bytes_received"].as_i64().unwrap())
        .sum()
}

/// `bench/mesh.sh`: chains of 3 and of 10 nodes (namespaces), the last one a router lab with
/// its portal enforcing for its client. Time from creating a voucher on the first node to the
/// last router holding it (the portal reads the store when the code is typed, so it lets the
/// client in from then on), and from invalidating it on the first node to the last router's
/// firewall dropping the client (its set in the kernel); and sync bytes per voucher.
#[test]
#[ignore = "a benchmark: bench/mesh.sh"]
#[allow(clippy::too_many_lines, reason = "one benchmark, its two chains")]
fn mesh_propagation_bench() {
    netlab::lab::sweep_stale_test_labs();
    for len in [3, 10] {
        let link = Scratch::new().expect("mesh link namespace");
        ip(&link.name, &["link", "add", "meshbr", "type", "bridge"]);
        ip(&link.name, &["link", "set", "meshbr", "up"]);
        let (nodes, code) = chain(len, &link);
        let (last, _) = router_with(37, &link, Some(&code), &chain_config(len, len));
        let lab = &last.lab.0;
        ip(
            &lab.ns(NodeRole::Router),
            &[
                "addr",
                "add",
                &format!("fd6d::{len}/64"),
                "dev",
                "bat0",
                "nodad",
            ],
        );
        let server = serve_router(lab, last.root.path());
        let first = nodes[0].root.path();
        let allowed = || {
            common::sh(
                lab,
                NodeRole::Router,
                "nft list set inet portico_portal allowed",
            )
            .contains("elements")
        };
        let (mut made, mut cut) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let started = Instant::now();
            let (id, code) = common::voucher(first, "1h");
            wait_for("the last router holds it", || {
                voucher(last.root.path(), &code)
            });
            made.push(started.elapsed());
            let (_, status, page) = curl(
                lab,
                &[
                    "--data-urlencode",
                    &format!("code={code}"),
                    "http://192.168.1.1:8080/",
                ],
            );
            assert!(status == 200 && page.contains("You are online"), "{page}");
            wait_for("the client in the last router's set", || {
                allowed().then_some(())
            });
            let started = Instant::now();
            cli(first, &["vouchers", "invalidate", &id.to_string()]);
            wait_for("the last router's firewall drops the client", || {
                (!allowed()).then_some(())
            });
            cut.push(started.elapsed());
        }
        println!(
            "{len} nodes in a chain ({} hops): created → usable on the last router {:?}, invalidated → the last router's firewall drops the client {:?} (median of 5)",
            len - 1,
            median(made),
            median(cut)
        );
        if len == 3 {
            let second = nodes[1].root.path();
            std::thread::sleep(std::time::Duration::from_secs(2));
            let before = peer_bytes(first);
            cli(
                first,
                &["vouchers", "create", "--qty", "1000", "--duration", "1h"],
            );
            wait_for("1000 vouchers on the second node", || {
                let held: Vec<serde_json::Value> =
                    serde_json::from_str(&cli(second, &["vouchers", "list", "--json"])).unwrap();
                (held.len() >= 1005).then_some(())
            });
            std::thread::sleep(std::time::Duration::from_secs(2));
            let bytes = peer_bytes(first) - before;
            println!(
                "1000 new vouchers from node 1 to its peers: {bytes} bytes on node 1's links, {} bytes per voucher",
                bytes / 1000
            );
        }
        drop(server);
        drop(nodes);
        drop(last);
        drop(link);
    }
}
