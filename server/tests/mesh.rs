//! The community mesh with real `portico serve` processes on loopback: vouchers made on one
//! node reach the others (a node that joins later too), an invalidation travels, a partition
//! with conflicting changes on both sides converges by the merge rules once it heals, a node
//! with another community's key gets nothing and gives nothing, and the bytes between members
//! hold no voucher code in clear. (The three-router namespace lab with the portal enforcing is
//! `tests/mesh_lab.rs`.)

mod common;

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, become_member, cli, portico, serve_on_loopback, wait_for};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node: its root with the mesh section (loopback, its port, its peers), joined with `code`
/// (or creating the community), and its `serve`.
struct Node {
    root: PathBuf,
    _server: Server,
}

fn node(
    dir: &Path,
    name: &str,
    port: u16,
    peers: &[u16],
    join: Option<Result<&str, &str>>,
) -> (Node, String) {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("etc/config")).unwrap();
    let mut config = format!(
        "config mesh 'mesh'\n\toption interface 'lo'\n\toption port '{port}'\n\toption announce '0'\n"
    );
    for p in peers {
        let _ = writeln!(config, "\tlist peer '127.0.0.1:{p}'");
    }
    std::fs::write(root.join("etc/config/portico"), config).unwrap();
    let code = join.map(|m| become_member(&root, m)).unwrap_or_default();
    let mut cmd = portico();
    cmd.env("PORTICO_LAN_DEVICE", "lo");
    let server = serve_on_loopback(cmd, &root);
    (
        Node {
            root,
            _server: server,
        },
        code,
    )
}

impl Node {
    fn vouchers(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&cli(&self.root, &["vouchers", "list", "--json"])).unwrap()
    }

    fn voucher(&self, code: &str) -> Option<serde_json::Value> {
        self.vouchers().into_iter().find(|v| v["code"] == code)
    }

    fn create(&self, qty: u32) -> Vec<String> {
        cli(
            &self.root,
            &[
                "vouchers",
                "create",
                "--qty",
                &qty.to_string(),
                "--duration",
                "1h",
                "--json",
            ],
        )
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
    }

    fn id_of(&self, code: &str) -> String {
        self.voucher(code).expect("the voucher is here")["id"].to_string()
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&cli(&self.root, &["mesh", "status", "--json"])).unwrap()
    }
}

/// A TCP relay between two members that keeps every byte it carries and can be cut (a
/// partition: connections are refused while cut).
struct Relay {
    port: u16,
    bytes: Arc<Mutex<Vec<u8>>>,
    cut: Arc<AtomicBool>,
}

fn relay(to: u16) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let cut = Arc::new(AtomicBool::new(false));
    let (kept, cutting) = (Arc::clone(&bytes), Arc::clone(&cut));
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            if cutting.load(Ordering::SeqCst) {
                continue; // dropped: the connection closes at once
            }
            let Ok(server) = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], to))) else {
                continue;
            };
            for (mut from, mut into) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || {
                    let mut buf = vec![0; 65_536];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || into.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        kept.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = into.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    Relay { port, bytes, cut }
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    wait_for(what, || ok().then_some(()));
}

#[test]
fn vouchers_travel_the_mesh_survive_a_partition_and_stay_among_members() {
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2, p3, p4) = (free_port(), free_port(), free_port(), free_port());
    // 1 ⇄ 2 through relays (recorded, cuttable); 2 ⇄ 3 directly.
    let (to2, to1) = (relay(p2), relay(p1));
    let (n1, code) = node(dir.path(), "one", p1, &[to2.port], Some(Err("kiez")));
    let (n2, _) = node(dir.path(), "two", p2, &[to1.port, p3], Some(Ok(&code)));

    let made = n1.create(3);
    wait_until("node 2 holds node 1's vouchers", || {
        made.iter().all(|c| n2.voucher(c).is_some())
    });
    let on2 = n2.voucher(&made[0]).unwrap();
    assert_eq!(on2["node"], n1.status()["node"], "where it was made");
    assert_eq!(on2["duration"], 3600);

    // A node that joins later, while it runs, catches up completely.
    let (n3, _) = node(dir.path(), "three", p3, &[p2], None);
    assert_eq!(n3.status()["community"], serde_json::Value::Null);
    cli(&n3.root, &["mesh", "join", &code]);
    wait_until("node 3 catches up", || {
        made.iter().all(|c| n3.voucher(c).is_some())
    });

    // Invalidated on node 2: node 3 and node 1 hear of it.
    cli(&n2.root, &["vouchers", "invalidate", &n2.id_of(&made[0])]);
    wait_until("the invalidation reaches node 3", || {
        n3.voucher(&made[0]).unwrap()["state"] == "invalidated"
    });
    wait_until("and node 1", || {
        n1.voucher(&made[0]).unwrap()["state"] == "invalidated"
    });

    // A partition between 1 and 2, conflicting changes on both sides.
    to2.cut.store(true, Ordering::SeqCst);
    to1.cut.store(true, Ordering::SeqCst);
    cli(&n1.root, &["vouchers", "extend", &n1.id_of(&made[1]), "1h"]);
    cli(&n2.root, &["vouchers", "extend", &n2.id_of(&made[1]), "2h"]);
    cli(&n1.root, &["vouchers", "invalidate", &n1.id_of(&made[2])]);
    cli(
        &n2.root,
        &["vouchers", "extend", &n2.id_of(&made[2]), "30m"],
    );
    let only1 = n1.create(1);
    let only2 = n2.create(1);
    // Each half keeps working: node 3 hears node 2's side, not node 1's.
    wait_until("node 3 hears its half", || n3.voucher(&only2[0]).is_some());
    std::thread::sleep(Duration::from_secs(3));
    assert!(n2.voucher(&only1[0]).is_none(), "the partition holds");
    assert_eq!(n1.voucher(&made[1]).unwrap()["duration"], 7200);

    // Healed: everyone converges to what the rules say.
    to2.cut.store(false, Ordering::SeqCst);
    to1.cut.store(false, Ordering::SeqCst);
    for (name, n) in [("1", &n1), ("2", &n2), ("3", &n3)] {
        wait_until(&format!("node {name} converges"), || {
            let b = n.voucher(&made[1]);
            let c = n.voucher(&made[2]);
            n.voucher(&only1[0]).is_some()
                && n.voucher(&only2[0]).is_some()
                && b.is_some_and(|b| b["duration"] == 3600 + 7200) // the largest extension
                && c.is_some_and(|c| c["state"] == "invalidated") // invalidation wins
        });
    }
    wait_until("one state digest everywhere", || {
        let d = n1.status()["digest"].clone();
        n2.status()["digest"] == d && n3.status()["digest"] == d
    });
    let status = n1.status();
    assert_eq!(status["community"], "kiez");
    assert_eq!(status["vouchers"], 5);
    let peer = &status["peers"][0];
    assert_eq!(
        (peer["in_sync"].as_bool(), peer["node"].clone()),
        (Some(true), n2.status()["node"].clone())
    );

    assert!(
        peer["name"].as_str().is_some_and(|n| !n.is_empty()),
        "{peer}"
    );

    // Node 3 leaves, while it runs: node 2's next voucher stays away from it.
    cli(&n3.root, &["mesh", "leave"]);
    std::thread::sleep(Duration::from_secs(1));
    let after = n2.create(1);
    wait_until("node 1 hears of it", || n1.voucher(&after[0]).is_some());
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        n3.voucher(&after[0]).is_none(),
        "a node that left hears nothing"
    );

    // Another community's node, told about node 1: nothing crosses either way.
    let (n4, _) = node(dir.path(), "stranger", p4, &[p1], Some(Err("elsewhere")));
    let theirs = n4.create(1);
    wait_until("the stranger's round is refused", || {
        n4.status()["peers"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("not a member"))
    });
    assert!(n1.voucher(&theirs[0]).is_none());
    assert_eq!(n4.vouchers().len(), 1);

    // What the relays carried between members holds no code, grouped or not.
    let carried: Vec<u8> = [&to2, &to1]
        .iter()
        .flat_map(|r| r.bytes.lock().unwrap().clone())
        .collect();
    assert!(carried.len() > 1000, "the relays carried the rounds");
    for code in made.iter().chain(&only1).chain(&only2) {
        let plain = code.replace('-', "");
        for needle in [code.as_bytes(), plain.as_bytes()] {
            assert!(
                !carried.windows(needle.len()).any(|w| w == needle),
                "{code} in clear between members"
            );
        }
    }
}
