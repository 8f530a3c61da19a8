//! Dev apply in the namespace lab, with the real kernel: Portico in the router namespace moves
//! the LAN to a new address with a checked apply.
//! 1. Nobody confirms: when the window closes the files are restored and the old address
//!    answers again.
//! 2. The client follows to the new address and confirms there with the apply token alone
//!    (its session cookie belongs to the old address); the change stays.
//!
//! Needs root (CI runs as root).

mod common;

use std::time::Duration;

use common::{router_addresses, start, wait_for};
use netlab::{Lab, LabSpec, NodeRole};

/// `curl` from the client namespace: status code and body, or `None` when nothing answered.
fn curl(lab: &Lab, args: &[&str]) -> Option<(u16, String)> {
    let out = lab
        .command(NodeRole::Client, "curl")
        .args(["-s", "-m", "3", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n')?;
    let code: u16 = code.trim().parse().ok()?;
    (code != 0).then(|| (code, body.to_owned()))
}

const SECONDS: u64 = 10;

/// A DHCP renewal in the client namespace until it holds an address starting with `prefix`.
fn renew(lab: &Lab, prefix: &str) {
    let script = lab.spec.dir.join("udhcpc.script");
    wait_for(&format!("a client lease in {prefix}x"), || {
        let _ = lab
            .command(NodeRole::Client, "busybox")
            .args([
                "udhcpc", "-q", "-n", "-f", "-t", "3", "-T", "1", "-i", "lan0", "-s",
            ])
            .arg(&script)
            .output();
        let out = lab
            .command(NodeRole::Client, "ip")
            .args(["-4", "-o", "addr", "show", "dev", "lan0"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("inet {prefix}"))
            .then_some(())
    });
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one story in the lab: apply, expire, roll back, apply, confirm from the new address"
)]
fn lan_address_change_rolls_back_unless_confirmed_from_the_new_address() {
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(LabSpec::for_test(2)).expect("lab up"));
    let lab = &lab.0;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    portico_server::platform::dev::create_fresh_root(root).unwrap();
    let config = root.join("etc/config/portico");
    let mut portico = uci::parse("portico", &std::fs::read(&config).unwrap()).unwrap();
    portico
        .section_mut("main")
        .unwrap()
        .set("apply_timeout", SECONDS.to_string().as_bytes());
    std::fs::write(&config, uci::emit::to_file(&portico)).unwrap();
    let network = root.join("etc/config/network");
    let original = std::fs::read(&network).unwrap();

    common::set_admin_password(root);

    let mut cmd = lab.command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"));
    cmd.args(["serve", "--listen", "0.0.0.0:80", "--root"])
        .arg(root);
    let _server = start(cmd);
    wait_for("portico on 192.168.1.1", || {
        curl(lab, &["http://192.168.1.1/healthz"]).filter(|(c, _)| *c == 200)
    });

    let jar = dir.path().join("cookies");
    let jar = jar.to_str().unwrap();
    common::log_in(lab, jar);
    let apply = |jar: &str| {
        curl(
            lab,
            &[
                "-b",
                jar,
                "-H",
                "Origin: http://192.168.1.1",
                "-H",
                "Content-Type: application/json",
                "--data",
                r#"{"edits": [{"op": "set", "path": "network.lan.ipaddr", "value": "10.0.0.1"}]}"#,
                "http://192.168.1.1/api/v1/config/apply",
            ],
        )
        .expect("apply answered")
    };

    // 1. Apply, move away, nobody confirms.
    let (code, body) = apply(jar);
    assert_eq!(code, 200, "{body}");
    wait_for("br-lan to carry 10.0.0.1", || {
        router_addresses(lab).contains("10.0.0.1/24").then_some(())
    });
    assert!(
        !router_addresses(lab).contains("192.168.1.1/"),
        "the old address is gone"
    );
    assert!(
        curl(lab, &["http://192.168.1.1/healthz"]).is_none(),
        "the old address no longer answers"
    );
    // The client renews its lease from the router's new dnsmasq and follows it.
    renew(lab, "10.0.0.");
    wait_for("portico on 10.0.0.1", || {
        curl(lab, &["http://10.0.0.1/healthz"]).filter(|(c, _)| *c == 200)
    });
    // The window closes: the old address answers again, the file is back byte for byte.
    wait_for("the rollback of br-lan", || {
        router_addresses(lab)
            .contains("192.168.1.1/24")
            .then_some(())
    });
    renew(lab, "192.168.1.");
    wait_for("the rollback to 192.168.1.1", || {
        curl(lab, &["http://192.168.1.1/healthz"]).filter(|(c, _)| *c == 200)
    });
    assert!(router_addresses(lab).contains("192.168.1.1/24"));
    assert!(!router_addresses(lab).contains("10.0.0.1/"));
    assert_eq!(
        std::fs::read(&network).unwrap(),
        original,
        "restored byte for byte"
    );

    // 2. Apply again; confirm from the new address with the token alone.
    let (code, body) = apply(jar);
    assert_eq!(code, 200, "{body}");
    wait_for("br-lan to carry 10.0.0.1 again", || {
        router_addresses(lab).contains("10.0.0.1/24").then_some(())
    });
    renew(lab, "10.0.0.");
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for("portico on 10.0.0.1 again", || {
        curl(lab, &["http://10.0.0.1/healthz"]).filter(|(c, _)| *c == 200)
    });
    let (code, body) = curl(
        lab,
        &[
            "-H",
            "Origin: http://10.0.0.1",
            "-H",
            "Content-Type: application/json",
            "--data",
            &format!(r#"{{"token": "{token}"}}"#),
            "http://10.0.0.1/api/v1/config/apply/confirm",
        ],
    )
    .unwrap();
    assert_eq!(code, 200, "{body}");
    std::thread::sleep(Duration::from_secs(SECONDS + 2));
    assert_eq!(
        curl(lab, &["http://10.0.0.1/healthz"]).map(|(c, _)| c),
        Some(200),
        "the confirmed change stays"
    );
    assert!(router_addresses(lab).contains("10.0.0.1/24"));
    assert!(
        String::from_utf8_lossy(&std::fs::read(&network).unwrap())
            .contains("option ipaddr '10.0.0.1'")
    );
}
