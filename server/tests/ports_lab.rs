//! Cable purpose detection against real neighbours (issue 21): the lab router gets a port per
//! scenario, each cabled to a namespace of its own with the real peer's tool — the isp's
//! dnsmasq (uplink by DHCP), radvd (uplink by IPv6 router advertisement), the PPPoE discovery
//! responder, babeld (a babel mesh node), a bridge with spanning tree on and lldpd (switches),
//! a bridge joining two router ports (a loop), a bridge with its own dnsmasq and a client
//! behind it (another router's LAN), LibreMesh anygw MACs of this router's community and of
//! another, batman-adv frames on both communities' VLANs (built from batman-adv's packet format:
//! the sandbox kernel has no batman_adv module), a silent peer and a pulled cable.
//! `portico ports --json` in the router namespace must name each one. Needs root.

mod common;

use std::process::{Child, Command, Stdio};

use netlab::{Lab, LabSpec, NodeRole, Scratch};
use portico_server::ports::community::Community;

/// Peer processes, killed when the test ends (even when it fails).
#[derive(Default)]
struct Peers(Vec<Child>);

impl Drop for Peers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn run(ns: &str, args: &[&str]) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} in {ns}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Peers {
    fn spawn(&mut self, ns: &str, args: &[&str]) {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.0.push(child);
    }
}

/// A cable from router port `port` to `peer` in namespace `ns`; both ends up unless `up` is
/// false (the peer's end stays down: no carrier). `mac` sets the peer's address.
fn cable(lab: &Lab, port: &str, ns: &str, peer: &str, mac: Option<&str>, up: bool) {
    let router = lab.ns(NodeRole::Router);
    run(
        &router,
        &[
            "ip", "link", "add", port, "type", "veth", "peer", "name", peer, "netns", ns,
        ],
    );
    if let Some(mac) = mac {
        run(ns, &["ip", "link", "set", peer, "address", mac]);
    }
    run(&router, &["ip", "link", "set", port, "up"]);
    if up {
        run(ns, &["ip", "link", "set", peer, "up"]);
    }
}

/// A namespace whose peer says nothing: no IPv6 (no router solicitations, no MLD).
fn silent(ns: &str) {
    run(ns, &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    run(
        ns,
        &["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
    );
}

/// A DHCP client asking again and again (without configuring anything).
fn asking_client(peers: &mut Peers, ns: &str, device: &str) {
    let script = format!(
        "while :; do busybox udhcpc -i {device} -n -q -t 1 -T 1 -s /bin/true >/dev/null 2>&1; sleep 1; done"
    );
    peers.spawn(ns, &["sh", "-c", &script]);
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one lab, one scenario per port, read top to bottom"
)]
fn every_port_gets_its_verdict() {
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(LabSpec::for_test(21)).expect("lab up"));
    let lab = &lab.0;
    let dir = tempfile::tempdir().unwrap();
    let mut peers = Peers::default();
    let scratch = || Scratch::new().expect("scratch namespace");

    // eth0 is the LAN (the client asks for addresses), eth1 the WAN (the isp's dnsmasq).
    asking_client(&mut peers, &lab.ns(NodeRole::Client), "lan0");

    let ra = scratch();
    cable(lab, "ra0", &ra.name, "up6", None, true);
    run(
        &ra.name,
        &["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"],
    );
    let radvd_conf = dir.path().join("radvd.conf");
    std::fs::write(
        &radvd_conf,
        "interface up6 { AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; \
         AdvDefaultLifetime 1800; prefix fd70:7274:0:66::/64 {}; };\n",
    )
    .unwrap();
    let radvd_pid = dir.path().join("radvd.pid");
    peers.spawn(
        &ra.name,
        &[
            "radvd",
            "-n",
            "-m",
            "stderr",
            "-C",
            radvd_conf.to_str().unwrap(),
            "-p",
            radvd_pid.to_str().unwrap(),
        ],
    );

    let ac = scratch();
    cable(lab, "ppp0", &ac.name, "acp", None, true);
    peers.spawn(
        &ac.name,
        &[
            env!("CARGO_BIN_EXE_portico"),
            "lab",
            "pppoe-ac",
            "--device",
            "acp",
            "--name",
            "lab-bras",
        ],
    );

    let babel = scratch();
    cable(lab, "bab0", &babel.name, "mesh0", None, true);
    let (babel_pid, babel_state) = (
        dir.path().join("babeld.pid"),
        dir.path().join("babeld.state"),
    );
    peers.spawn(
        &babel.name,
        &[
            "babeld",
            "-I",
            babel_pid.to_str().unwrap(),
            "-S",
            babel_state.to_str().unwrap(),
            "-h",
            "1",
            "-H",
            "1",
            "mesh0",
        ],
    );

    let stp = scratch();
    cable(lab, "stp0", &stp.name, "swp", None, false);
    run(
        &stp.name,
        &[
            "ip",
            "link",
            "add",
            "sw",
            "type",
            "bridge",
            "stp_state",
            "1",
            "hello_time",
            "100",
        ],
    );
    run(
        &stp.name,
        &["ip", "link", "set", "swp", "master", "sw", "up"],
    );
    run(&stp.name, &["ip", "link", "set", "sw", "up"]);

    let lldp = scratch();
    silent(&lldp.name);
    cable(lab, "lldp0", &lldp.name, "uplinkp", None, true);
    std::fs::create_dir_all("/run/lldpd").unwrap();
    let lldp_socket = dir.path().join("lldpd.socket");
    let lldp_socket = lldp_socket.to_str().unwrap();
    peers.spawn(
        &lldp.name,
        &["lldpd", "-d", "-u", lldp_socket, "-I", "uplinkp"],
    );
    common::wait_for("lldpd's control socket", || {
        std::path::Path::new(lldp_socket).exists().then_some(())
    });
    for configure in [
        &["configure", "system", "hostname", "lab-switch"][..],
        &["configure", "system", "capabilities", "enabled", "bridge"],
        &["configure", "lldp", "tx-interval", "1"],
    ] {
        run(
            &lldp.name,
            &[&["lldpcli", "-u", lldp_socket][..], configure].concat(),
        );
    }

    let looped = scratch();
    silent(&looped.name);
    cable(lab, "lp1", &looped.name, "lp1p", None, false);
    cable(lab, "lp2", &looped.name, "lp2p", None, false);
    run(
        &looped.name,
        &["ip", "link", "add", "joined", "type", "bridge"],
    );
    for port in ["lp1p", "lp2p", "joined"] {
        if port != "joined" {
            run(
                &looped.name,
                &["ip", "link", "set", port, "master", "joined"],
            );
        }
        run(&looped.name, &["ip", "link", "set", port, "up"]);
    }

    // Another router's LAN: its bridge, its DHCP server and a client of its own behind it.
    let foreign = scratch();
    let guest = scratch();
    cable(lab, "lan9", &foreign.name, "fport", None, false);
    run(
        &foreign.name,
        &["ip", "link", "add", "home", "type", "bridge"],
    );
    run(
        &foreign.name,
        &["ip", "link", "set", "fport", "master", "home", "up"],
    );
    run(
        &foreign.name,
        &[
            "ip",
            "link",
            "add",
            "fguest",
            "type",
            "veth",
            "peer",
            "name",
            "wlan0",
            "netns",
            &guest.name,
        ],
    );
    run(
        &foreign.name,
        &["ip", "link", "set", "fguest", "master", "home", "up"],
    );
    run(&foreign.name, &["ip", "link", "set", "home", "up"]);
    run(
        &foreign.name,
        &["ip", "addr", "add", "192.168.178.1/24", "dev", "home"],
    );
    run(&guest.name, &["ip", "link", "set", "wlan0", "up"]);
    let leases = dir.path().join("foreign.leases");
    peers.spawn(
        &foreign.name,
        &[
            "dnsmasq",
            "-k",
            "--port=0",
            "--interface=home",
            "--bind-interfaces",
            "--dhcp-range=192.168.178.20,192.168.178.200,1h",
            &format!("--dhcp-leasefile={}", leases.display()),
            "--pid-file=",
        ],
    );
    asking_client(&mut peers, &guest.name, "wlan0");

    // LibreMesh neighbours: the anygw MAC of this router's community (its SSID is OpenWrt's
    // default) and of another; batman-adv on this community's VLAN and on another's.
    let ours = Community::of_ssid("OpenWrt");
    let theirs = Community::of_ssid("LibreMesh.org");
    assert_ne!(ours, theirs);
    let anygw = |c: &Community| format!("aa:aa:aa:{:02x}:{:02x}:aa", c.anygw[0], c.anygw[1]);
    let (gw_ours, gw_theirs) = (scratch(), scratch());
    cable(
        lab,
        "gw0",
        &gw_ours.name,
        "anygw",
        Some(&anygw(&ours)),
        true,
    );
    cable(
        lab,
        "gw1",
        &gw_theirs.name,
        "anygw",
        Some(&anygw(&theirs)),
        true,
    );
    asking_client(&mut peers, &gw_ours.name, "anygw");
    asking_client(&mut peers, &gw_theirs.name, "anygw");
    let (bat_ours, bat_theirs) = (scratch(), scratch());
    for (ns, port, community) in [(&bat_ours, "bat0", &ours), (&bat_theirs, "bat1", &theirs)] {
        silent(&ns.name);
        cable(lab, port, &ns.name, "node", None, true);
        peers.spawn(
            &ns.name,
            &[
                env!("CARGO_BIN_EXE_portico"),
                "lab",
                "batman-peer",
                "--device",
                "node",
                "--vid",
                &community.batman_vid.to_string(),
            ],
        );
    }

    let quiet = scratch();
    silent(&quiet.name);
    cable(lab, "quiet0", &quiet.name, "nobody", None, true);
    let unplugged = scratch();
    cable(lab, "down0", &unplugged.name, "pulled", None, false);

    let out = lab
        .command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"))
        .args(["--root", dir.path().join("root").to_str().unwrap()])
        .args(["ports", "--json", "--seconds", "40"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapshot: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdict = |port: &str| {
        let report = snapshot["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == port)
            .unwrap_or_else(|| panic!("no port {port} in {snapshot:#}"));
        (
            report["kind"].as_str().unwrap_or("none").to_owned(),
            report.clone(),
        )
    };
    let expect = |port: &str, kind: &str, role: Option<&str>| {
        let (found, report) = verdict(port);
        assert_eq!(found, kind, "{port}: {report:#}");
        assert_eq!(report["suggested"].as_str(), role, "{port}: {report:#}");
        report
    };
    let has = |report: &serde_json::Value, kind: &str| {
        report["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == kind)
    };
    let wan = expect("eth1", "uplink", Some("wan"));
    assert!(has(&wan, "dhcp_server"), "{wan:#}");
    assert_eq!(wan["current"], "wan");
    let lan = expect("eth0", "clients", Some("lan"));
    assert!(has(&lan, "dhcp_client"), "{lan:#}");
    assert_eq!(lan["current"], "lan");
    assert!(has(&expect("ra0", "uplink", Some("wan")), "router_advert"));
    let pppoe = expect("ppp0", "uplink", Some("wan"));
    assert!(
        pppoe["evidence"][0]["concentrator"] == "lab-bras",
        "{pppoe:#}"
    );
    assert!(has(&expect("bab0", "mesh", Some("babel")), "babel"));
    assert!(has(&expect("stp0", "switch", Some("lan")), "stp"));
    let switch = expect("lldp0", "switch", Some("lan"));
    let lldp = switch["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "lldp")
        .unwrap();
    assert_eq!(lldp["name"], "lab-switch", "{switch:#}");
    for (port, other) in [("lp1", "lp2"), ("lp2", "lp1")] {
        let report = expect(port, "loop", Some("blocked"));
        assert!(
            report["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "loop" && e["port"] == other),
            "{report:#}"
        );
    }
    let foreign_lan = expect("lan9", "foreign_lan", Some("wan"));
    assert!(
        has(&foreign_lan, "dhcp_server") && has(&foreign_lan, "dhcp_client"),
        "{foreign_lan:#}"
    );
    expect("gw0", "mesh_same", Some("mesh"));
    expect("gw1", "mesh_other", Some("babel"));
    let batman = expect("bat0", "mesh_same", Some("mesh"));
    assert_eq!(batman["evidence"][0]["vid"], ours.batman_vid, "{batman:#}");
    expect("bat1", "mesh_other", Some("babel"));
    expect("quiet0", "quiet", None);
    expect("down0", "no_link", None);
    assert_eq!(snapshot["community"]["batman_vid"], ours.batman_vid);
}

/// The ports of `portico serve` through its API, as an admin's script reads them.
fn ports_api(lab: &Lab, jar: &str) -> serde_json::Value {
    common::api(lab, jar, "/api/v1/ports")
}

fn port<'a>(snapshot: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    snapshot["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
}

/// The server observes its ports from the start (defaults on): the WAN is an uplink through the
/// API; a cable whose link goes up and down is frozen, and says for how long.
#[test]
fn the_server_reports_its_ports_and_freezes_a_flapping_one() {
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(LabSpec::for_test(22)).expect("lab up"));
    let lab = &lab.0;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    common::set_admin_password(&root);
    let _server = common::serve_router(lab, &root);
    let jar = dir.path().join("jar");
    let jar = jar.to_str().unwrap();
    common::log_in(lab, jar);
    let wan = common::wait_for("the WAN judged an uplink", || {
        let snapshot = ports_api(lab, jar);
        port(&snapshot, "eth1")
            .filter(|p| p["kind"] == "uplink")
            .cloned()
    });
    assert_eq!(wan["current"], "wan");
    assert_eq!(wan["suggested"], "wan");
    assert!(wan["confidence"].as_u64().unwrap() >= 85, "{wan:#}");

    let peer = Scratch::new().unwrap();
    cable(lab, "flap0", &peer.name, "flapp", None, true);
    common::wait_for("the new port listed", || {
        port(&ports_api(lab, jar), "flap0").map(|_| ())
    });
    // The stimulus: the far end's link goes down and up five times.
    for _ in 0..5 {
        run(&peer.name, &["ip", "link", "set", "flapp", "down"]);
        run(&peer.name, &["ip", "link", "set", "flapp", "up"]);
    }
    let frozen = common::wait_for("the flapping port frozen", || {
        port(&ports_api(lab, jar), "flap0")
            .filter(|p| p["frozen_secs"].is_u64())
            .cloned()
    });
    assert!(frozen["flaps"].as_u64().unwrap() >= 4, "{frozen:#}");
    let events = ports_api(lab, jar)["events"].clone();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["port"] == "eth1" && e["to"] == "uplink"),
        "{events:#}"
    );
}
