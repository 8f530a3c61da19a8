//! `portico wizard schema|apply`: the wizard's answers without a browser, with the same rules,
//! messages and UCI as the browser wizard.

use std::process::{Command, Stdio};

fn portico(root: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    cmd.arg("--root").arg(root).stdin(Stdio::null());
    cmd
}

fn answers(dir: &std::path::Path, json: &str) -> std::path::PathBuf {
    let path = dir.join("answers.json");
    std::fs::write(&path, json).unwrap();
    path
}

const GOOD: &str = r#"{
  "language": "en",
  "system": {"hostname": "gartenhaus", "zonename": "Europe/Berlin"},
  "password": "Correct-Horse-42",
  "internet": {"type": "static", "ipaddr": "100.64.0.9", "netmask": "24", "gateway": "100.64.0.1", "dns": ["100.64.0.1"]},
  "wifi": [{"radio": "radio0", "ssid": "Garten", "key": "correct horse", "encryption": "sae-mixed"}],
  "dhcp": {"enabled": true, "start": 50, "limit": 100},
  "wireguard": {"address": "10.99.0.1/24", "endpoint": "router.example.invalid", "peers": [{"name": "phone"}]},
  "community": {"action": "create", "name": "ff-kiez"}
}"#;

#[test]
fn schema_describes_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let out = portico(dir.path())
        .args(["wizard", "schema"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "system",
        "password",
        "internet",
        "lan",
        "wifi",
        "mesh",
        "dhcp",
        "community",
    ] {
        assert!(
            schema["properties"][field].is_object(),
            "{field} in {schema}"
        );
    }
}

#[test]
fn invalid_answers_are_refused_in_their_language_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    portico_server::platform::dev::create_fresh_root(&root).unwrap();
    let before = std::fs::read(root.join("etc/config/network")).unwrap();
    let file = answers(
        dir.path(),
        r#"{"language": "de", "system": {"hostname": "-x", "zonename": "Europe/Berlin"},
        "internet": {"type": "static", "ipaddr": "192.168.1.7", "netmask": "24", "gateway": "10.0.0.1"},
        "community": {"action": "join", "code": "portico-mesh:kiez:kurz"}}"#,
    );
    let out = portico(&root)
        .args(["wizard", "apply", "--unchecked", "--answers"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("system.hostname: Verwenden Sie 1 bis 63 Buchstaben"),
        "{stderr}"
    );
    assert!(
        stderr.contains("internet.gateway: Das Gateway muss"),
        "{stderr}"
    );
    assert!(stderr.contains("internet.ipaddr: Das Internet-Subnetz überschneidet sich mit dem lokalen Netz (192.168.1.0/24)"), "{stderr}");
    assert!(
        stderr.contains("community.code: Das ist kein Beitrittscode."),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(root.join("etc/config/network")).unwrap(),
        before
    );
    let out = portico(&root)
        .args(["wizard", "apply", "--answers"])
        .arg(answers(dir.path(), "{\"nope\": 1}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1, column"));
}

#[test]
fn unchecked_apply_writes_uci_and_the_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let file = answers(dir.path(), GOOD);
    let out = portico(&root)
        .args(["wizard", "apply", "--unchecked", "--answers"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| {
        uci::parse(
            name,
            &std::fs::read(root.join("etc/config").join(name)).unwrap(),
        )
        .unwrap()
    };
    let network = read("network");
    let wan = network.section("wan").unwrap();
    assert_eq!(wan.get("proto").unwrap(), "static");
    assert_eq!(wan.get("netmask").unwrap(), "255.255.255.0");
    assert_eq!(
        read("system").sections[0].get("hostname").unwrap(),
        "gartenhaus"
    );
    let wireless = read("wireless");
    assert!(
        wireless
            .sections
            .iter()
            .any(|s| s.get("ssid").is_some_and(|v| v == "Garten"))
    );
    let shadow = std::fs::read_to_string(root.join("etc/shadow")).unwrap();
    assert!(
        shadow.starts_with("root:$6$"),
        "root's password is set: {shadow}"
    );
    // The community: made, its join code printed for the other routers.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("portico-mesh:ff-kiez:"), "{stdout}");
    let status = portico(&root)
        .args(["mesh", "status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["community"], "ff-kiez");
}

#[test]
fn checked_apply_without_confirmation_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    portico_server::platform::dev::create_fresh_root(&root).unwrap();
    let before = std::fs::read(root.join("etc/config/network")).unwrap();
    // stdin is empty: nobody presses Enter.
    let out = portico(&root)
        .args(["wizard", "apply", "--answers"])
        .arg(answers(dir.path(), GOOD))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("rolled back"));
    assert_eq!(
        std::fs::read(root.join("etc/config/network")).unwrap(),
        before,
        "restored byte for byte"
    );
    assert!(
        std::fs::read_to_string(root.join("etc/shadow"))
            .unwrap()
            .starts_with("root:::"),
        "no password without the change"
    );
}
