//! `portico vouchers …` on a real state database: Pirania import (bad files reported, nothing
//! half-imported, idempotent), batches, invalidate/extend, and SIGKILL during a batch create:
//! every voucher the command printed is in the store afterwards.

mod common;

use common::shared;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn portico(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    cmd.arg("--root").arg(root);
    cmd
}

fn run(root: &Path, args: &[&str]) -> Output {
    portico(root)
        .args(["vouchers"])
        .args(args)
        .output()
        .unwrap()
}

fn list(root: &Path) -> Vec<serde_json::Value> {
    let out = run(root, &["list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
}

#[test]
fn pirania_import_reports_bad_files_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let pirania = shared().join("fixtures/pirania/vouchers");
    let out = run(dir.path(), &["import-pirania", pirania.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad file is reported: {stderr}"
    );
    assert!(
        stderr.contains("broken.json: `mac` is not a MAC address"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("imported 5 new voucher(s) of 5 good file(s)")
    );
    let vouchers = list(dir.path());
    assert_eq!(vouchers.len(), 5);
    let by_name = |name: &str| {
        vouchers
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    assert_eq!(by_name("lost card")["state"], "invalidated");
    assert_eq!(by_name("visitor")["state"], "expired");
    assert_eq!(by_name("cafe table 3")["state"], "unused");
    assert_eq!(by_name("cafe table 3")["duration"], 7200);
    let server = by_name("community server");
    assert_eq!(server["state"], "active");
    assert_eq!(server["duration"], serde_json::Value::Null, "permanent");
    assert_eq!(server["macs"][0], "02:00:5e:10:00:01");

    // Again: nothing new, nothing doubled.
    let out = run(dir.path(), &["import-pirania", pirania.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("imported 0 new"));
    assert_eq!(list(dir.path()).len(), 5);
}

#[test]
fn batches_invalidate_and_extend() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "create",
            "--qty",
            "3",
            "--duration",
            "2h",
            "--name",
            "market",
            "--max-devices",
            "2",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(made.len(), 3);
    let code = made[0]["code"].as_str().unwrap();
    assert!(
        code.len() == 12 && code.as_bytes()[4] == b'-' && code.as_bytes()[9] == b'-',
        "{code}"
    );
    let id = made[0]["id"].to_string();
    let out = run(dir.path(), &["extend", &id, "30m"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("now lasts 2h 30m"));
    let out = run(dir.path(), &["invalidate", &id]);
    assert!(out.status.success());
    let out = run(dir.path(), &["list", "--json", "--state", "invalidated"]);
    let invalidated: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(invalidated.len(), 1);
    assert_eq!(invalidated[0]["max_devices"], 2);
    // Plain output is a table.
    let out = run(dir.path(), &["list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("market"));
    // Bad input is refused with a clear message.
    let out = run(
        dir.path(),
        &["create", "--qty", "2", "--duration", "2 hours"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a duration"));
    let out = run(dir.path(), &["create", "--qty", "5000", "--permanent"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 to 1000"));
}

#[test]
fn sigkill_during_a_batch_loses_nothing_that_was_reported() {
    let dir = tempfile::tempdir().unwrap();
    // The store exists before the first kill.
    assert!(run(dir.path(), &["list"]).status.success());
    let mut reported: Vec<(i64, String)> = Vec::new();
    for round in 0..20u64 {
        let mut child = portico(dir.path())
            .args(["vouchers", "create", "--qty", "1000", "--duration", "1h"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Kill after a varying number of printed vouchers (0 to several chunks).
        let stop_after = usize::try_from((round * 37) % 450).unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        while seen < stop_after {
            let Some(Ok(line)) = lines.next() else { break };
            let (id, code) = line.split_once('\t').unwrap();
            reported.push((id.parse().unwrap(), code.to_owned()));
            seen += 1;
        }
        let _ = child.kill();
        // Whatever it printed before dying counts as reported too.
        for line in lines.map_while(Result::ok) {
            let (id, code) = line.split_once('\t').unwrap();
            reported.push((id.parse().unwrap(), code.to_owned()));
        }
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(5));
    }
    let stored: std::collections::HashMap<i64, String> = list(dir.path())
        .into_iter()
        .map(|v| {
            (
                v["id"].as_i64().unwrap(),
                v["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_ne!(reported.len(), 0, "the kills came after some output");
    for (id, code) in &reported {
        assert_eq!(
            stored.get(id),
            Some(code),
            "voucher {id} was reported but is gone"
        );
    }
    println!("{} reported, {} stored", reported.len(), stored.len());
}

/// Issue 20: `vouchers list` without `--root` (off a router) does not make a dev root in the
/// current directory; it says which root it looked for.
#[test]
fn without_a_root_nothing_is_created_in_the_current_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["vouchers", "list"])
        .current_dir(cwd.path())
        .env_remove("PORTICO_ROOT")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no Portico state at var/dev-root"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing created"
    );
}

/// Issue 23, item 6: a live Pirania node's shared-state table over HTTP (a loopback server
/// answers with `tests/data/pirania-shared-state.json`, constructed in the format LibreMesh's
/// shared-state CGI serves: `{key: {bleachTTL, author, data}}`, a voucher changed on a node
/// present under two keys): each voucher once, in its newest version; bad entries reported;
/// idempotent; a node that does not answer JSON is a clear error.
#[test]
fn pirania_import_reads_a_live_nodes_shared_state_table() {
    let dir = tempfile::tempdir().unwrap();
    let table = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pirania-shared-state.json"),
    )
    .unwrap();
    let url = common::json_server(200, table, "/cgi-bin/shared-state/pirania-vouchers");
    let out = run(dir.path(), &["import-pirania", "--from", &url]);
    let said = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad entries make exit 1: {said}{errors}"
    );
    assert!(said.contains("imported 3 new voucher(s) of 3"), "{said}");
    assert!(
        errors.contains("entry e3b0c442") && errors.contains("entry 0cc175b9"),
        "{errors}"
    );
    let vouchers = list(dir.path());
    let kiosk = vouchers.iter().find(|v| v["name"] == "kiosk").unwrap();
    assert_eq!(
        kiosk["state"], "expired",
        "the newer version: activated in 2026 for a day"
    );
    assert_eq!(kiosk["macs"][0], "aa:bb:cc:00:11:22");
    let withdrawn = vouchers.iter().find(|v| v["name"] == "withdrawn").unwrap();
    assert_eq!(withdrawn["state"], "invalidated");
    let again = run(dir.path(), &["import-pirania", "--from", &url]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("imported 0 new"));
    assert_eq!(list(dir.path()).len(), 3);

    let html = common::json_server(
        200,
        b"<html>uhttpd</html>".to_vec(),
        "/cgi-bin/shared-state/pirania-vouchers",
    );
    let out = run(dir.path(), &["import-pirania", "--from", &html]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));
    let missing = common::json_server(
        404,
        b"{}".to_vec(),
        "/cgi-bin/shared-state/pirania-vouchers",
    );
    let out = run(dir.path(), &["import-pirania", "--from", &missing]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the node answered 404"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        dir.path(),
        &["import-pirania", "--from", "https://node/cgi-bin/x"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("only plain http://"));
}
