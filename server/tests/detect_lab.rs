//! WAN detection against real neighbours in the lab: the isp's dnsmasq offers an address
//! ("dhcp"); a port whose peer is silent gets "no answer"; a port without carrier "no link"; a
//! PPPoE access concentrator answers the PADI ("pppoe" with its name).
//! Needs root (CI runs as root).

mod common;

use netlab::{Lab, LabSpec, NodeRole};

fn detect(lab: &Lab, device: &str) -> String {
    let out = lab
        .command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"))
        .args(["wizard", "detect", "--device", device])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn detect_finds_dhcp_silence_and_missing_links() {
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(LabSpec::for_test(4)).expect("lab up"));
    let lab = &lab.0;
    let found = detect(lab, "eth1");
    assert!(
        found.starts_with("eth1: dhcp (server 100.64.0.1 offered 100.64.0."),
        "{found}"
    );

    // A second port inside the router namespace (rule 2): its peer is up but says nothing.
    let ip = |args: &[&str]| {
        assert!(
            lab.command(NodeRole::Router, "ip")
                .args(args)
                .status()
                .unwrap()
                .success()
        );
    };
    ip(&[
        "link", "add", "wanx", "type", "veth", "peer", "name", "silent",
    ]);
    ip(&["link", "set", "wanx", "up"]);
    ip(&["link", "set", "silent", "up"]);
    assert_eq!(detect(lab, "wanx"), "wanx: no answer");
    ip(&["link", "set", "silent", "down"]);
    assert_eq!(detect(lab, "wanx"), "wanx: no link");

    // A PPPoE access concentrator (discovery only: the sandbox kernel has no PPP) on the far
    // end of another port: PADI answered by a PADO with its name.
    ip(&["link", "add", "wanp", "type", "veth", "peer", "name", "acp"]);
    ip(&["link", "set", "wanp", "up"]);
    ip(&["link", "set", "acp", "up"]);
    let mut ac = lab
        .command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"))
        .args(["lab", "pppoe-ac", "--device", "acp", "--name", "lab-bras-1"])
        .spawn()
        .unwrap();
    let found = detect(lab, "wanp");
    let _ = ac.kill();
    let _ = ac.wait();
    assert_eq!(found, "wanp: pppoe (access concentrator lab-bras-1)");
}
