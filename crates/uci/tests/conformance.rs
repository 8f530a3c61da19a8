//! Conformance with the C `uci` tool: every input in `fixtures/uci/expected/index.json` gives the
//! stored `show`, `show -X`, `show -S`, `export` and committed-file output byte for byte, with the
//! same stderr and exit code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;
use testdata::shared;

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

mod common;

fn uci(confdir: &Path, savedir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    if let Some(exec) = common::exec() {
        // The folder around both is the binary's state root (its default change folder
        // there stays empty).
        let root = confdir.parent().unwrap();
        let mut line = vec!["-c".to_owned(), confdir.display().to_string()];
        line.extend(["-t".to_owned(), savedir.display().to_string()]);
        line.extend(args.iter().map(|a| (*a).to_owned()));
        let (code, stdout, stderr) = common::run(&exec, root, root, &line, stdin);
        return Run {
            code,
            stdout,
            stderr,
        };
    }
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut input = stdin;
    let code = uci::cli::run(
        &args,
        confdir.to_owned(),
        savedir.to_owned(),
        &mut uci::cli::Io {
            stdin: &mut input,
            stdout: &mut stdout,
            stderr: &mut stderr,
        },
    );
    Run {
        code,
        stdout,
        stderr,
    }
}

struct Check<'a> {
    failures: Vec<String>,
    input: &'a str,
}

impl Check<'_> {
    fn same(&mut self, what: &str, got: &[u8], want: &[u8]) {
        if got != want {
            self.failures.push(format!(
                "{}: {what} differs\n--- got\n{}\n--- want\n{}",
                self.input,
                String::from_utf8_lossy(got),
                String::from_utf8_lossy(want)
            ));
        }
    }
}

#[test]
fn every_fixture_matches_the_reference_tool() {
    let fixtures = shared().join("fixtures/uci");
    let index: Vec<Value> =
        serde_json::from_slice(&std::fs::read(fixtures.join("expected/index.json")).unwrap())
            .unwrap();
    assert!(index.len() >= 100, "index lists {} inputs", index.len());
    let mut failures = Vec::new();
    let mut rejected = 0;
    for entry in &index {
        let input = entry["input"].as_str().unwrap();
        let package = entry["package"].as_str().unwrap();
        let expected = fixtures.join("expected").join(input);
        let want = |suffix: &str| std::fs::read(format!("{}.{suffix}", expected.display())).ok();
        let rc = |key: &str| entry[key].as_i64().map(|c| i32::try_from(c).unwrap());
        let stderr = |key: &str| entry[key].as_str().unwrap_or("").as_bytes().to_vec();

        let dir = tempfile::tempdir().unwrap();
        let (confdir, savedir) = (dir.path().join("config"), dir.path().join("changes"));
        std::fs::create_dir_all(&confdir).unwrap();
        let source = std::fs::read(fixtures.join(input)).unwrap();
        std::fs::write(confdir.join(package), &source).unwrap();

        let mut check = Check {
            failures: Vec::new(),
            input,
        };
        for (args, suffix, key) in [
            (vec!["show", package], "show", "show"),
            (vec!["-X", "show", package], "show-X", "show_X"),
            (vec!["export", package], "export", "export"),
            (vec!["-S", "show", package], "show-S", "show_S"),
        ] {
            let Some(code) = rc(&format!("{key}_rc")) else {
                continue;
            };
            let run = uci(&confdir, &savedir, &args, b"");
            if run.code != code {
                check
                    .failures
                    .push(format!("{input}: {args:?} exit {} (want {code})", run.code));
            }
            if code == 0 || want(suffix).is_some() {
                check.same(
                    &format!("{args:?} stdout"),
                    &run.stdout,
                    &want(suffix).unwrap_or_default(),
                );
            }
            check.same(
                &format!("{args:?} stderr"),
                &run.stderr,
                &stderr(&format!("{key}_stderr")),
            );
        }

        // `uci import <pkg>` writes the file `uci commit` would.
        if let Some(code) = rc("import_rc") {
            let import_dir = dir.path().join("imported");
            std::fs::create_dir_all(&import_dir).unwrap();
            let run = uci(&import_dir, &savedir, &["import", package], &source);
            if run.code != code {
                check
                    .failures
                    .push(format!("{input}: import exit {} (want {code})", run.code));
            }
            check.same("import stderr", &run.stderr, &stderr("import_stderr"));
            if code == 0 {
                let written = std::fs::read(import_dir.join(package)).unwrap_or_default();
                check.same(
                    "imported file",
                    &written,
                    &want("import").unwrap_or_default(),
                );
            } else {
                rejected += 1;
                assert!(
                    !import_dir.join(package).exists(),
                    "{input}: a rejected import wrote a file"
                );
            }
        }
        failures.extend(check.failures);
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert_eq!(rejected, 10, "the index marks 10 inputs as rejected");
}

/// A scratch root with `config/net` holding the sample's `net.before`; returns it and its
/// config and change folders.
fn sample_root(read: impl Fn(&str) -> Vec<u8>) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (confdir, savedir) = (dir.path().join("config"), dir.path().join("changes"));
    std::fs::create_dir_all(&confdir).unwrap();
    std::fs::create_dir_all(&savedir).unwrap();
    std::fs::write(confdir.join("net"), read("net.before")).unwrap();
    (dir, confdir, savedir)
}

/// The change-file sample: `net.before` with the delta `delta.net` shows, exports, lists and
/// commits exactly as the reference tool did.
#[test]
fn change_files_match_the_reference_tool() {
    let sample = shared().join("fixtures/uci/edge-cases/delta-sample");
    let read = |name: &str| std::fs::read(sample.join(name)).unwrap();
    let (_dir, confdir, savedir) = sample_root(read);
    std::fs::write(savedir.join("net"), read("delta.net")).unwrap();

    let run = uci(&confdir, &savedir, &["show", "net"], b"");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&read("show-before-commit.txt"))
    );
    let run = uci(&confdir, &savedir, &["export", "net"], b"");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&read("export-before-commit.txt"))
    );
    let run = uci(&confdir, &savedir, &["changes", "net"], b"");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&read("changes.txt"))
    );
    let run = uci(&confdir, &savedir, &["commit", "net"], b"");
    assert_eq!((run.code, run.stderr.as_slice()), (0, &b""[..]));
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(confdir.join("net")).unwrap()),
        String::from_utf8_lossy(&read("net.after"))
    );
    assert_eq!(
        std::fs::read(savedir.join("net")).unwrap(),
        b"",
        "commit empties the change file"
    );
}

/// The same sample through `uci batch`: the commands produce the reference change file and output.
#[test]
fn batch_commands_write_the_reference_change_file() {
    let sample = shared().join("fixtures/uci/edge-cases/delta-sample");
    let read = |name: &str| std::fs::read(sample.join(name)).unwrap();
    let (_dir, confdir, savedir) = sample_root(read);

    let run = uci(&confdir, &savedir, &["batch"], &read("commands.uci-batch"));
    // The reference capture holds both streams; C's stdout is buffered, so stderr came first.
    let both = String::from_utf8_lossy(&run.stderr) + String::from_utf8_lossy(&run.stdout);
    assert_eq!(both, String::from_utf8_lossy(&read("batch.stdout")));
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(savedir.join("net")).unwrap()),
        String::from_utf8_lossy(&read("delta.net"))
    );
}

/// `get` prints bare values (list items quoted only when they hold whitespace), a section's
/// type, and "Entry not found" with exit 1; `show` of a section or option uses real names.
#[test]
fn get_and_show_of_parts() {
    let dir = tempfile::tempdir().unwrap();
    let (confdir, savedir) = (dir.path().join("config"), dir.path().join("changes"));
    std::fs::create_dir_all(&confdir).unwrap();
    std::fs::write(
        confdir.join("net"),
        b"config interface 'lan'\n\toption ipaddr '192.168.1.1'\n\tlist dns '1.1.1.1'\n\tlist dns 'a b'\nconfig rule\n\toption name 'x'\n",
    )
    .unwrap();
    let out = |args: &[&str]| {
        let run = uci(&confdir, &savedir, args, b"");
        (
            run.code,
            String::from_utf8(run.stdout).unwrap(),
            String::from_utf8(run.stderr).unwrap(),
        )
    };
    assert_eq!(
        out(&["get", "net.lan.ipaddr"]),
        (0, "192.168.1.1\n".into(), String::new())
    );
    assert_eq!(
        out(&["get", "net.lan.dns"]),
        (0, "1.1.1.1 'a b'\n".into(), String::new())
    );
    assert_eq!(
        out(&["-d", ",", "get", "net.lan.dns"]),
        (0, "1.1.1.1,'a b'\n".into(), String::new())
    );
    assert_eq!(
        out(&["get", "net.lan"]),
        (0, "interface\n".into(), String::new())
    );
    assert_eq!(
        out(&["get", "net.@rule[0].name"]),
        (0, "x\n".into(), String::new())
    );
    assert_eq!(
        out(&["get", "net.lan.nope"]),
        (1, String::new(), "uci: Entry not found\n".into())
    );
    assert_eq!(
        out(&["get", "nope.lan"]),
        (1, String::new(), "uci: Entry not found\n".into())
    );
    assert_eq!(
        out(&["get", "net.lan-x"]),
        (1, String::new(), "uci: Invalid argument\n".into())
    );
    assert_eq!(
        out(&["show", "net.@rule[0]"]),
        (
            0,
            "net.cfg0292bd=rule\nnet.cfg0292bd.name='x'\n".into(),
            String::new()
        )
    );
    assert_eq!(
        out(&["show", "net.lan.dns"]),
        (0, "net.lan.dns='1.1.1.1' 'a b'\n".into(), String::new())
    );
}
