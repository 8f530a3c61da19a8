//! The wizard moves the LAN in the lab: while the change waits for confirmation the router
//! answers on the new and the old address (so the browser that applied it keeps its
//! connection); once confirmed the old address goes. Needs root (CI runs as root).

mod common;

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use common::{router_addresses, wait_for};
use netlab::{Lab, LabSpec, NodeRole};

fn ping(lab: &Lab, address: &str) -> bool {
    lab.command(NodeRole::Client, "busybox")
        .args(["ping", "-c", "1", "-W", "1", address])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_old_lan_address_stays_until_the_wizard_change_is_confirmed() {
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(LabSpec::for_test(3)).expect("lab up"));
    let lab = &lab.0;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    portico_server::platform::dev::create_fresh_root(&root).unwrap();
    let answers = dir.path().join("answers.json");
    std::fs::write(
        &answers,
        r#"{"lan": {"ipaddr": "10.0.0.1", "netmask": "255.255.255.0"}}"#,
    )
    .unwrap();

    let mut wizard = lab
        .command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"))
        .arg("--root")
        .arg(&root)
        .args(["wizard", "apply", "--answers"])
        .arg(&answers)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    wait_for("br-lan to carry both addresses", || {
        let now = router_addresses(lab);
        (now.contains("10.0.0.1/24") && now.contains("192.168.1.1/24")).then_some(())
    });
    assert!(
        ping(lab, "192.168.1.1"),
        "the old address still answers during the window"
    );

    // Keep the change: the old address goes, the new one stays.
    wizard.stdin.take().unwrap().write_all(b"\n").unwrap();
    let status = wizard.wait().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut wizard.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(status.success(), "{stdout}");
    assert!(stdout.contains("kept"), "{stdout}");
    wait_for("the old address to go", || {
        (!router_addresses(lab).contains("192.168.1.1/")).then_some(())
    });
    assert!(router_addresses(lab).contains("10.0.0.1/24"));
    let network = uci::parse(
        "network",
        &std::fs::read(root.join("etc/config/network")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        network.section("lan").unwrap().items("ipaddr"),
        ["10.0.0.1/24"]
    );
    std::thread::sleep(Duration::from_millis(100));
}
