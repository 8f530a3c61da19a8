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

/// babeld on `device` in `ns`, saying hello every second (its files under `dir`).
fn babel_node(peers: &mut Peers, ns: &str, dir: &std::path::Path, device: &str) {
    let pid = dir.join(format!("babeld-{ns}.pid"));
    let state = dir.join(format!("babeld-{ns}.state"));
    peers.spawn(
        ns,
        &[
            "babeld",
            "-I",
            pid.to_str().unwrap(),
            "-S",
            state.to_str().unwrap(),
            "-h",
            "1",
            "-H",
            "1",
            device,
        ],
    );
}

/// radvd on `device` in `ns`: a default router advertising `prefix` every 3 to 4 s.
fn ipv6_router(peers: &mut Peers, ns: &str, dir: &std::path::Path, device: &str, prefix: &str) {
    run(ns, &["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    let conf = dir.join(format!("radvd-{ns}.conf"));
    std::fs::write(
        &conf,
        format!(
            "interface {device} {{ AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; \
             AdvDefaultLifetime 1800; prefix {prefix} {{}}; }};\n"
        ),
    )
    .unwrap();
    let pid = dir.join(format!("radvd-{ns}.pid"));
    peers.spawn(
        ns,
        &[
            "radvd",
            "-n",
            "-m",
            "stderr",
            "-C",
            conf.to_str().unwrap(),
            "-p",
            pid.to_str().unwrap(),
        ],
    );
}

/// lldpd on `device` in `ns` announcing `hostname` with the one enabled `capability`
/// (`bridge`, `wlan`, ...), every second.
fn lldp_device(
    peers: &mut Peers,
    ns: &str,
    dir: &std::path::Path,
    device: &str,
    hostname: &str,
    capability: &str,
) {
    std::fs::create_dir_all("/run/lldpd").unwrap();
    let socket = dir.join(format!("lldpd-{ns}.socket"));
    let socket = socket.to_str().unwrap();
    peers.spawn(ns, &["lldpd", "-d", "-u", socket, "-I", device]);
    common::wait_for("lldpd's control socket", || {
        std::path::Path::new(socket).exists().then_some(())
    });
    for configure in [
        &["configure", "system", "hostname", hostname][..],
        &["configure", "system", "capabilities", "enabled", capability],
        &["configure", "lldp", "tx-interval", "1"],
    ] {
        run(ns, &[&["lldpcli", "-u", socket][..], configure].concat());
    }
}

/// The scenarios' namespaces, their peers' processes and the far ends of their cables.
struct Scenarios {
    peers: Peers,
    spaces: Vec<Scratch>,
    /// (router port, peer namespace, peer device): the far ends, up or still down.
    far_ends: Vec<(String, String, String)>,
    /// The community markers of this router (its SSID is OpenWrt's default).
    ours: Community,
}

impl Scenarios {
    fn space(&mut self) -> String {
        let space = Scratch::new().expect("scratch namespace");
        let name = space.name.clone();
        self.spaces.push(space);
        name
    }

    /// A cable from `port` to `peer` in `ns` (its address `mac`), its far end brought up when
    /// `live`; the far end is remembered either way.
    fn cable(
        &mut self,
        lab: &Lab,
        port: &str,
        ns: &str,
        peer: &str,
        mac: Option<&str>,
        live: bool,
    ) {
        cable(lab, port, ns, peer, mac, false);
        if live {
            run(ns, &["ip", "link", "set", peer, "up"]);
        }
        self.far_ends.push((port.into(), ns.into(), peer.into()));
    }
}

/// Every scenario of the issue behind a port of the lab's router, with the port each verdict
/// belongs to; their cables' far ends are up when `live` (else the caller plugs them in).
#[allow(
    clippy::too_many_lines,
    reason = "one scenario per port, read top to bottom"
)]
fn scenarios(lab: &Lab, dir: &std::path::Path, live: bool) -> Scenarios {
    let mut sc = Scenarios {
        peers: Peers::default(),
        spaces: Vec::new(),
        far_ends: Vec::new(),
        ours: Community::of_ssid("OpenWrt"),
    };
    let peers = &mut Peers::default();

    // eth0 is the LAN (the client asks for addresses), eth1 the WAN (the isp's dnsmasq).
    asking_client(peers, &lab.ns(NodeRole::Client), "lan0");

    let ra = sc.space();
    sc.cable(lab, "ra0", &ra, "up6", None, live);
    ipv6_router(peers, &ra, dir, "up6", "fd70:7274:0:66::/64");

    let ac = sc.space();
    sc.cable(lab, "ppp0", &ac, "acp", None, live);
    peers.spawn(
        &ac,
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

    let babel = sc.space();
    sc.cable(lab, "bab0", &babel, "mesh0", None, live);
    babel_node(peers, &babel, dir, "mesh0");

    let stp = sc.space();
    sc.cable(lab, "stp0", &stp, "swp", None, false);
    run(
        &stp,
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
    run(&stp, &["ip", "link", "set", "swp", "master", "sw"]);
    if live {
        run(&stp, &["ip", "link", "set", "swp", "up"]);
    }
    run(&stp, &["ip", "link", "set", "sw", "up"]);

    let lldp = sc.space();
    silent(&lldp);
    // A MikroTik's address (Routerboard.com's OUI): the page names the maker.
    sc.cable(
        lab,
        "lldp0",
        &lldp,
        "uplinkp",
        Some("00:0c:42:12:34:56"),
        live,
    );
    lldp_device(peers, &lldp, dir, "uplinkp", "lab-switch", "bridge");

    // An access point: its radio side bridged to the cable, a client behind it, and LLDP
    // saying "wlan access point".
    let ap = sc.space();
    let phone = sc.space();
    silent(&ap);
    sc.cable(lab, "ap0", &ap, "apport", None, false);
    run(&ap, &["ip", "link", "add", "air", "type", "bridge"]);
    run(&ap, &["ip", "link", "set", "apport", "master", "air"]);
    if live {
        run(&ap, &["ip", "link", "set", "apport", "up"]);
    }
    run(
        &ap,
        &[
            "ip", "link", "add", "radio", "type", "veth", "peer", "name", "wlan0", "netns", &phone,
        ],
    );
    run(&ap, &["ip", "link", "set", "radio", "master", "air", "up"]);
    run(&ap, &["ip", "link", "set", "air", "up"]);
    run(&phone, &["ip", "link", "set", "wlan0", "up"]);
    asking_client(peers, &phone, "wlan0");
    lldp_device(peers, &ap, dir, "apport", "lab-ap", "wlan");

    let looped = sc.space();
    silent(&looped);
    sc.cable(lab, "lp1", &looped, "lp1p", None, false);
    sc.cable(lab, "lp2", &looped, "lp2p", None, false);
    run(&looped, &["ip", "link", "add", "joined", "type", "bridge"]);
    for port in ["lp1p", "lp2p", "joined"] {
        if port != "joined" {
            run(&looped, &["ip", "link", "set", port, "master", "joined"]);
        }
        if live || port == "joined" {
            run(&looped, &["ip", "link", "set", port, "up"]);
        }
    }

    // Another router's LAN: its bridge, its DHCP server and a client of its own behind it.
    let foreign = sc.space();
    let guest = sc.space();
    sc.cable(lab, "lan9", &foreign, "fport", None, false);
    run(&foreign, &["ip", "link", "add", "home", "type", "bridge"]);
    run(&foreign, &["ip", "link", "set", "fport", "master", "home"]);
    if live {
        run(&foreign, &["ip", "link", "set", "fport", "up"]);
    }
    run(
        &foreign,
        &[
            "ip", "link", "add", "fguest", "type", "veth", "peer", "name", "wlan0", "netns", &guest,
        ],
    );
    run(
        &foreign,
        &["ip", "link", "set", "fguest", "master", "home", "up"],
    );
    run(&foreign, &["ip", "link", "set", "home", "up"]);
    run(
        &foreign,
        &["ip", "addr", "add", "192.168.178.1/24", "dev", "home"],
    );
    run(&guest, &["ip", "link", "set", "wlan0", "up"]);
    let leases = dir.join("foreign.leases");
    peers.spawn(
        &foreign,
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
    asking_client(peers, &guest, "wlan0");

    // LibreMesh neighbours: the anygw MAC of this router's community (its SSID is OpenWrt's
    // default) and of another; batman-adv on this community's VLAN and on another's.
    let ours = sc.ours;
    let theirs = Community::of_ssid("LibreMesh.org");
    assert_ne!(ours, theirs);
    let anygw = |c: &Community| format!("aa:aa:aa:{:02x}:{:02x}:aa", c.anygw[0], c.anygw[1]);
    let (gw_ours, gw_theirs) = (sc.space(), sc.space());
    sc.cable(lab, "gw0", &gw_ours, "anygw", Some(&anygw(&ours)), live);
    sc.cable(lab, "gw1", &gw_theirs, "anygw", Some(&anygw(&theirs)), live);
    asking_client(peers, &gw_ours, "anygw");
    asking_client(peers, &gw_theirs, "anygw");
    let (bat_ours, bat_theirs) = (sc.space(), sc.space());
    for (ns, port, community) in [(&bat_ours, "bat0", &ours), (&bat_theirs, "bat1", &theirs)] {
        silent(ns);
        sc.cable(lab, port, ns, "node", None, live);
        peers.spawn(
            ns,
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

    let quiet = sc.space();
    silent(&quiet);
    sc.cable(lab, "quiet0", &quiet, "nobody", None, live);
    let unplugged = sc.space();
    cable(lab, "down0", &unplugged, "pulled", None, false);
    sc.peers = std::mem::take(peers);
    sc
}

#[test]
fn every_port_gets_its_verdict() {
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(LabSpec::for_test(21)).expect("lab up"));
    let lab = &lab.0;
    let dir = tempfile::tempdir().unwrap();
    let scenarios = scenarios(lab, dir.path(), true);
    let ours = scenarios.ours;
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
    let access_point = expect("ap0", "access_point", Some("routed"));
    assert!(has(&access_point, "dhcp_client"), "{access_point:#}");
    let switch = expect("lldp0", "switch", Some("lan"));
    let lldp = switch["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "lldp")
        .unwrap();
    assert_eq!(lldp["name"], "lab-switch", "{switch:#}");
    assert_eq!(
        switch["makers"],
        serde_json::json!(["Routerboard.com"]),
        "{switch:#}"
    );
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

/// Issue 21, item 3: ports whose policy is `auto` get the suggested role once the verdict has
/// held for 30 s, through the checked apply, and keep it only when the role's adjacency
/// appears: an uplink gets its lease (and the connection test passes), a client's port joins
/// the LAN and the client gets a lease there, a babel neighbour hears the router's own babeld.
/// An uplink that only advertises IPv6 routes gives no lease: its role is rolled back and the
/// files are as they were, byte for byte. The admin's own port is never changed.
#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one lab, four ports with their neighbours, read top to bottom"
)]
fn auto_applies_roles_and_keeps_them_only_with_their_neighbour() {
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(common::spec_with_internet(23)).expect("lab up"));
    let lab = &lab.0;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    portico_server::platform::dev::create_fresh_root(&root).unwrap();
    let config = root.join("etc/config/portico");
    let mut portico = uci::parse("portico", &std::fs::read(&config).unwrap()).unwrap();
    portico
        .section_mut("main")
        .unwrap()
        .set("apply_timeout", b"20");
    for (port, mode) in [
        ("up2", "auto"),
        ("cl2", "auto"),
        ("bab2", "auto"),
        ("ra2", "auto"),
        ("eth0", "auto"),
        ("off2", "off"),
    ] {
        let index = portico.add_section("port");
        portico.sections[index].set("name", port.as_bytes());
        portico.sections[index].set("mode", mode.as_bytes());
    }
    std::fs::write(&config, uci::emit::to_file(&portico)).unwrap();
    common::set_admin_password(&root);
    let mut peers = Peers::default();

    let isp = Scratch::new().unwrap();
    cable(lab, "up2", &isp.name, "modem", None, true);
    run(
        &isp.name,
        &["ip", "addr", "add", "10.99.0.1/24", "dev", "modem"],
    );
    let leases = dir.path().join("modem.leases");
    peers.spawn(
        &isp.name,
        &[
            "dnsmasq",
            "-k",
            "--port=0",
            "--interface=modem",
            "--bind-interfaces",
            "--dhcp-range=10.99.0.50,10.99.0.99,1h",
            &format!("--dhcp-leasefile={}", leases.display()),
            "--pid-file=",
        ],
    );
    let client = Scratch::new().unwrap();
    cable(lab, "cl2", &client.name, "laptop", None, true);
    asking_client(&mut peers, &client.name, "laptop");
    // Suggest (the default): a client's port, changed only when the admin presses the button.
    let other = Scratch::new().unwrap();
    cable(lab, "sg2", &other.name, "laptop", None, true);
    asking_client(&mut peers, &other.name, "laptop");
    // Off: not listened to, never listed.
    let ignored = Scratch::new().unwrap();
    cable(lab, "off2", &ignored.name, "laptop", None, true);
    asking_client(&mut peers, &ignored.name, "laptop");
    let babel = Scratch::new().unwrap();
    cable(lab, "bab2", &babel.name, "mesh0", None, true);
    babel_node(&mut peers, &babel.name, dir.path(), "mesh0");
    let ra = Scratch::new().unwrap();
    cable(lab, "ra2", &ra.name, "up6", None, true);
    ipv6_router(
        &mut peers,
        &ra.name,
        dir.path(),
        "up6",
        "fd70:7274:0:67::/64",
    );

    let files = |names: &[&str]| -> Vec<Vec<u8>> {
        names
            .iter()
            .map(|n| std::fs::read(root.join("etc/config").join(n)).unwrap_or_default())
            .collect()
    };
    let _server = common::serve_router(lab, &root);
    let jar = dir.path().join("jar");
    let jar = jar.to_str().unwrap();
    common::log_in(lab, jar);
    // The admin's request came through eth0: it is protected, whatever its verdict.
    common::wait_for("the admin's port protected", || {
        port(&ports_api(lab, jar), "eth0")
            .filter(|p| p["protected"] == true)
            .map(|_| ())
    });

    let change = |name: &str| -> Option<(String, String)> {
        let snapshot = ports_api(lab, jar);
        let change = &port(&snapshot, name)?["change"];
        Some((
            change["role"].as_str()?.to_owned(),
            change["progress"].as_str()?.to_owned(),
        ))
    };
    let settled = |name: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
        loop {
            if let Some((role, progress)) = change(name)
                && progress != "waiting"
            {
                return (role, progress);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: no role change settled: {:#}",
                ports_api(lab, jar)
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    };
    let mut outcomes = std::collections::BTreeMap::new();
    for name in ["up2", "cl2", "bab2", "ra2"] {
        outcomes.insert(name, settled(name));
    }
    assert_eq!(
        outcomes,
        [
            ("bab2", ("babel".to_owned(), "kept".to_owned())),
            ("cl2", ("lan".to_owned(), "kept".to_owned())),
            ("ra2", ("wan".to_owned(), "rolled_back".to_owned())),
            ("up2", ("wan".to_owned(), "kept".to_owned())),
        ]
        .into_iter()
        .collect(),
        "{:#}",
        ports_api(lab, jar)
    );
    // What was kept is in the files; what was rolled back left no trace.
    let network = String::from_utf8(files(&["network"]).remove(0)).unwrap();
    assert!(network.contains("config interface 'wan_up2'"), "{network}");
    assert!(network.contains("list ports 'cl2'"), "{network}");
    assert!(
        network.contains("config interface 'mesh_bab2'"),
        "{network}"
    );
    assert!(!network.contains("ra2"), "{network}");
    let snapshot = ports_api(lab, jar);
    assert_eq!(port(&snapshot, "cl2").unwrap()["current"], "lan");
    assert_eq!(port(&snapshot, "up2").unwrap()["current"], "wan");
    assert_eq!(port(&snapshot, "bab2").unwrap()["current"], "babel");
    assert_eq!(port(&snapshot, "ra2").unwrap()["current"], "unused");
    assert!(port(&snapshot, "eth0").unwrap()["change"].is_null());
    // The kernel follows: the client's port is in the LAN bridge, the babel port has the
    // router's babeld as a neighbour (its hellos say it hears us).
    let master = common::sh(lab, NodeRole::Router, "ip -o link show cl2");
    assert!(master.contains("master br-lan"), "{master}");
    assert!(
        port(&snapshot, "bab2").unwrap()["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "babel" && e["hears_us"] == true),
        "{snapshot:#}"
    );
    let press = |port: &str, role: &str| {
        let (code, headers) = common::curl(
            lab,
            &[
                "-b",
                jar,
                "-H",
                "Origin: http://192.168.1.1",
                "-o",
                "/dev/null",
                "-D",
                "-",
                "--data",
                &format!("port={port}&role={role}"),
                "http://192.168.1.1/ports/role",
            ],
        );
        assert_eq!(code, 303);
        headers.to_ascii_lowercase()
    };
    // The admin asks to take the port its own connection comes through: refused.
    let answer = press("eth0", "wan");
    assert!(
        answer.contains("location: /ports?role=admin-port&port=eth0"),
        "{answer}"
    );
    let (code, page) = common::curl(
        lab,
        &[
            "-b",
            jar,
            "http://192.168.1.1/ports?role=admin-port&port=eth0",
        ],
    );
    assert_eq!(code, 200);
    assert!(
        page.contains("eth0 was not changed: your own connection comes through it."),
        "{page}"
    );
    let network_now = String::from_utf8(files(&["network"]).remove(0)).unwrap();
    assert_eq!(network_now, network, "eth0 untouched");

    // Suggest: the port keeps its role until the admin applies the suggestion; kept once the
    // laptop behind it has its lease.
    let suggested = port(&ports_api(lab, jar), "sg2").cloned().unwrap();
    assert_eq!(
        (
            &suggested["current"],
            &suggested["suggested"],
            &suggested["change"]
        ),
        (
            &serde_json::json!("unused"),
            &serde_json::json!("lan"),
            &serde_json::Value::Null
        ),
        "{suggested:#}"
    );
    let answer = press("sg2", "lan");
    assert!(answer.contains("role=applied&port=sg2"), "{answer}");
    assert_eq!(settled("sg2"), ("lan".to_owned(), "kept".to_owned()));
    // A role whose neighbour never answers, pressed by hand: afterwards every file is as it
    // was before, byte for byte.
    let all = ["network", "firewall", "dhcp", "babeld", "portico"];
    let before = files(&all);
    let answer = press("ra2", "wan");
    assert!(answer.contains("role=applied&port=ra2"), "{answer}");
    common::wait_for("the by-hand change rolled back", || {
        let snapshot = ports_api(lab, jar);
        let change = &port(&snapshot, "ra2")?["change"];
        (change["by"] == "admin" && change["progress"] == "rolled_back").then_some(())
    });
    assert!(files(&all) == before, "the files are as they were");
    assert!(
        port(&ports_api(lab, jar), "off2").is_none(),
        "off: not listened to"
    );
}

/// Benchmark (`bench/ports.sh`, not CI): the time from link-up to a verdict for every scenario
/// (goal ≤ 10 s), and the CPU the observer uses while it listens to every port. The cables'
/// far ends are plugged in one at a time while `portico ports --watch` runs in the router.
#[test]
#[ignore = "benchmark: bench/ports.sh"]
#[allow(
    clippy::too_many_lines,
    reason = "one benchmark: plug in, time, then measure the CPU"
)]
fn link_up_to_verdict() {
    use std::io::BufRead as _;
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(LabSpec::for_test(24)).expect("lab up"));
    let lab = &lab.0;
    let dir = tempfile::tempdir().unwrap();
    let scenarios = scenarios(lab, dir.path(), false);
    let expected: std::collections::HashMap<&str, &str> = [
        ("ra0", "uplink"),
        ("ppp0", "uplink"),
        ("bab0", "mesh"),
        ("stp0", "switch"),
        ("lldp0", "switch"),
        ("ap0", "access_point"),
        ("lp1", "loop"),
        ("lp2", "loop"),
        ("lan9", "foreign_lan"),
        ("gw0", "mesh_same"),
        ("gw1", "mesh_other"),
        ("bat0", "mesh_same"),
        ("bat1", "mesh_other"),
        ("quiet0", "quiet"),
    ]
    .into_iter()
    .collect();
    let mut watcher = lab
        .command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"))
        .args(["--root", dir.path().join("root").to_str().unwrap()])
        .args(["ports", "--watch", "--seconds", "900"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = watcher.id();
    let stdout = watcher.stdout.take().unwrap();
    let (lines, verdicts) = std::sync::mpsc::channel::<(u128, serde_json::Value)>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let at = value["at_ms"].as_u64().map_or(0, u128::from);
            if lines.send((at, value)).is_err() {
                return;
            }
        }
    });
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    // Settle: every port listed (far ends down: no link).
    verdicts
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let mut rows = Vec::new();
    for (port, ns, device) in &scenarios.far_ends {
        if port == "lp2" {
            continue; // plugged in with lp1: a loop needs both ends
        }
        let t0 = now_ms();
        run(ns, &["ip", "link", "set", device, "up"]);
        if port == "lp1" {
            run(ns, &["ip", "link", "set", "lp2p", "up"]);
        }
        let want = expected[port.as_str()];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let took = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok((at, snapshot)) = verdicts.recv_timeout(left) else {
                break None;
            };
            if snapshot["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == port.as_str() && p["kind"] == want)
            {
                break Some(at.saturating_sub(t0));
            }
        };
        rows.push((port.clone(), want, took));
    }
    // CPU while listening to every port (all plugged in), over 30 s.
    let cpu = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<u64> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|f| f.parse().unwrap())
            .collect();
        fields.iter().sum::<u64>()
    };
    let (ticks0, wall0) = (cpu(), std::time::Instant::now());
    std::thread::sleep(std::time::Duration::from_secs(30));
    let (ticks1, wall) = (cpu(), wall0.elapsed());
    let _ = watcher.kill();
    let _ = watcher.wait();
    let hz = 100.0; // USER_HZ on Linux
    #[allow(clippy::cast_precision_loss, reason = "a percentage")]
    let share = (ticks1 - ticks0) as f64 / hz / wall.as_secs_f64() * 100.0;
    println!("| port | scenario (verdict) | link-up → verdict |\n|---|---|---|");
    for (port, want, took) in &rows {
        #[allow(clippy::cast_precision_loss, reason = "seconds with one decimal")]
        let took = took.map_or_else(
            || "none in 60 s".to_owned(),
            |ms| format!("{:.1} s", ms as f64 / 1000.0),
        );
        println!("| {port} | {want} | {took} |");
    }
    println!(
        "\nobserver CPU while listening to {} ports: {share:.2} % of one core (30 s)",
        scenarios.far_ends.len() + 3
    );
    assert!(
        rows.iter().all(|(_, _, t)| t.is_some()),
        "a scenario gave no verdict"
    );
}
