//! The overview in the namespace lab, with the real kernel and real peers: the uplink got its
//! address from the isp's dnsmasq, the client its lease from the LAN's; the overview shows the
//! uplink's address, gateway, DNS and how long it has been connected, the client with its
//! lease, maker (IEEE OUI table) and cable, and the uplink's traffic rising while the client
//! sends; the connection test reaches the isp's "internet". Needs root (CI runs as root).

mod common;

use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{curl, log_in, serve_router, set_admin_password, sh, wait_for};
use netlab::{Lab, NodeRole};

fn status(lab: &Lab, jar: &str) -> serde_json::Value {
    let (code, body) = curl(lab, &["-b", jar, "http://192.168.1.1/api/v1/status"]);
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn the_overview_shows_the_uplink_the_client_and_its_traffic() {
    netlab::lab::sweep_stale_test_labs();
    let spec = common::spec_with_internet(7);
    let lab = common::LabGuard(Lab::up(spec).expect("lab up"));
    let lab = &lab.0;
    common::fw4_nat_and_ipv6(lab);
    // The isp's router advertisement would give the uplink its IPv6 default route.
    sh(
        lab,
        NodeRole::Router,
        "ip -6 route add default via fd70:7274:0:2::1 dev eth1",
    );
    // The client is a laptop of a known maker, and says its name when it asks for a lease.
    let script = netlab::lab::write_udhcpc_script(&lab.spec.dir).unwrap();
    sh(
        lab,
        NodeRole::Client,
        &format!(
            "ip link set lan0 address 00:d0:ef:12:34:56
             busybox udhcpc -q -n -f -t 10 -T 1 -i lan0 -s {} -x hostname:lab-laptop >/dev/null 2>&1",
            script.display()
        ),
    );

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    portico_server::platform::dev::create_fresh_root(root).unwrap();
    set_admin_password(root);
    let _server = serve_router(lab, root);
    let jar = dir.path().join("jar").display().to_string();
    log_in(lab, &jar);

    let overview = wait_for("the client in the overview", || {
        let o = status(lab, &jar);
        let found = o["devices"]
            .as_array()?
            .iter()
            .any(|d| d["mac"] == "00:d0:ef:12:34:56" && d["online"] == true);
        found.then_some(o)
    });
    let internet = &overview["internet"];
    assert_eq!(internet["up"], true, "{internet}");
    assert_eq!(internet["device"], "eth1");
    assert!(
        internet["addresses"][0]
            .as_str()
            .unwrap()
            .starts_with("100.64.0."),
        "{internet}"
    );
    assert_eq!(internet["gateway"], "100.64.0.1");
    assert_eq!(internet["dns"][0], "100.64.0.1");
    assert!(
        internet["connected_seconds"].as_u64().is_some(),
        "{internet}"
    );
    assert_eq!(
        overview["ipv6"]["state"], "connected",
        "{}",
        overview["ipv6"]
    );
    assert!(
        overview["lan"]["addresses"]
            .as_array()
            .unwrap()
            .contains(&"192.168.1.1/24".into())
    );

    let client = overview["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["mac"] == "00:d0:ef:12:34:56")
        .unwrap();
    assert_eq!(client["name"], "lab-laptop", "{client}");
    assert_eq!(client["vendor"], "IGT", "the IEEE table names the maker");
    assert_eq!(client["link"], "wired");
    assert!(
        client["lease_seconds"].as_u64().unwrap() > 3600,
        "a 12 h lease: {client}"
    );
    assert!(
        client["addresses"][0]
            .as_str()
            .unwrap()
            .starts_with("192.168.1.")
    );

    traffic_rises_while_the_client_sends(lab, &jar);
    the_connection_test_passes(lab, &jar);
}

/// The client sends to the isp's discard port for a while: the uplink's chart rises.
fn traffic_rises_while_the_client_sends(lab: &Lab, jar: &str) {
    let sender = common::in_ns(lab, NodeRole::Client, || {
        let mut stream = TcpStream::connect("100.64.0.1:9").expect("the isp's discard port");
        let chunk = vec![0u8; 64 * 1024];
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(8) {
            if stream.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    wait_for("the uplink's traffic in the overview", || {
        let o = status(lab, jar);
        let wan = o["traffic"]
            .as_array()?
            .iter()
            .find(|t| t["role"] == "wan")?
            .clone();
        let peak = wan["points"]
            .as_array()?
            .iter()
            .filter_map(|p| p["tx"].as_f64())
            .fold(0.0, f64::max);
        // Far more than the lab's background chatter: megabits per second.
        (peak > 1_000_000.0).then_some(())
    });
    sender.join().unwrap();
}

/// "Test now": gateway, name, the test address, all through the isp's "internet".
fn the_connection_test_passes(lab: &Lab, jar: &str) {
    let (code, body) = curl(
        lab,
        &[
            "-b",
            jar,
            "-H",
            "Origin: http://192.168.1.1",
            "-X",
            "POST",
            "http://192.168.1.1/api/v1/status/test",
        ],
    );
    assert_eq!(code, 202, "{body}");
    let test = wait_for("the connection test's result", || {
        let o = status(lab, jar);
        let test = o["internet"]["test"].clone();
        (test["running"] == false).then_some(test)
    });
    let checks = test["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3, "{test}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{test}");
}
