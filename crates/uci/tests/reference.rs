//! Editing commands against OpenWrt's C `uci` (issue 17): scenarios of command lines run one
//! after another on a root of their own (`etc/config`, `tmp/.uci`, `var/run/uci`), every exit
//! code, output and message, then every file left behind, compared with what the reference
//! tool produced for the same scenario (`tests/reference/expected.json`).
//!
//! The expected outputs are made by `tests/reference/make.sh <copy of openwrt/uci's source>`,
//! which builds the C tool into a temporary folder (its default folders made relative, so it
//! runs inside a scenario's root) and runs the ignored test [`make_reference`] with it. CI only
//! compares with the stored outputs.
//!
//! Two kinds of scenarios: fixed ones, one per behaviour (multi-line values, a change folder
//! named twice, `-t` keeping the default folder, change lines without a value, merge imports,
//! imports into a missing folder, exit codes and messages), and random edit sequences (set
//! with multi-line values, add_list, del_list, delete, rename, reorder, add, revert) for a fixed
//! set of seeds, run through single commands and through `batch`.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// A scenario: files to start with (root-relative), then command lines (with stdin). In
/// arguments, `@/` stands for the root (absolute for Portico; for the reference tool,
/// which runs inside the root: the root-relative path as is).
struct Scenario {
    name: String,
    files: Vec<(&'static str, String)>,
    steps: Vec<(Vec<String>, String)>,
}

fn step(args: &[&str]) -> (Vec<String>, String) {
    (
        args.iter().map(|a| (*a).to_owned()).collect(),
        String::new(),
    )
}

fn step_in(args: &[&str], stdin: &str) -> (Vec<String>, String) {
    (
        args.iter().map(|a| (*a).to_owned()).collect(),
        stdin.to_owned(),
    )
}

const BASE: &str = "config foo 'a'\n\toption x '1'\n\tlist l 'one'\n\tlist l 'two'\n\nconfig bar 'b'\n\toption y 'yes'\n\nconfig foo\n\toption z 'anon'\n";

#[allow(
    clippy::too_many_lines,
    reason = "one table of scenarios, one per behaviour"
)]
fn fixed() -> Vec<Scenario> {
    let base = || vec![("etc/config/test", BASE.to_owned())];
    vec![
        Scenario {
            name: "multi_line_values".into(),
            files: base(),
            steps: vec![
                step(&["set", "test.a.m=line1\nline2\twith tab"]),
                step(&["set", "test.a.cr=one\r\ntwo"]),
                step(&["add_list", "test.a.l=three\nlines\nhere"]),
                step(&["del_list", "test.a.l=one"]),
                step(&["set", "test.b.q=it's\nquoted"]),
                step(&["changes"]),
                step(&["show", "test"]),
                step(&["export", "test"]),
                step(&["get", "test.a.m"]),
                step(&["revert", "test.a.cr"]),
                step(&["changes", "test"]),
                step(&["commit", "test"]),
                step(&["show", "test"]),
                step(&["del_list", "test.a.l=three\nlines\nhere"]),
                step(&["changes"]),
                step(&["commit"]),
            ],
        },
        Scenario {
            name: "multi_line_values_in_batch".into(),
            files: base(),
            steps: vec![
                step_in(
                    &["batch"],
                    "set test.a.m='first\nsecond'\nadd_list test.a.l='x\ny'\nset test.b.y=\"dq\nline\"\ncommit test\n",
                ),
                step(&["show", "test"]),
            ],
        },
        Scenario {
            name: "a_change_folder_named_twice_is_read_once".into(),
            files: base(),
            steps: vec![
                step(&["add_list", "test.a.l=three"]),
                step(&["set", "test.b.y=no"]),
                step(&["-t", "@/tmp/.uci", "-p", "@/tmp/.uci", "changes"]),
                step(&["-p", "@/tmp/.uci", "changes"]),
                step(&["-p", "@/tmp/.uci", "-p", "@/tmp/.uci", "show", "test.a"]),
                step(&["-p", "@/tmp/.uci", "commit", "test"]),
                step(&["show", "test"]),
            ],
        },
        Scenario {
            name: "t_keeps_the_default_change_folder".into(),
            files: base(),
            steps: vec![
                step(&["set", "test.a.x=default"]),
                step(&["-t", "@/other", "set", "test.b.y=other"]),
                step(&["-t", "@/other", "changes"]),
                step(&["-t", "@/other", "show", "test"]),
                step(&["changes"]),
                step(&["-P", "@/pending", "set", "test.a.p=1"]),
                step(&["-P", "@/pending", "changes"]),
                step(&["-P", "@/pending", "commit", "test"]),
                step(&["-t", "@/other", "commit", "test"]),
                step(&["changes"]),
                step(&["show", "test"]),
            ],
        },
        Scenario {
            name: "change_lines_without_a_value_are_skipped".into(),
            files: vec![
                ("etc/config/test", BASE.to_owned()),
                (
                    "tmp/.uci/test",
                    "test.foo\n+test.foo\n|test.a.l\n~test.a.l\n@test.a.x\n^test.a\ntest.a.x='2'\n-test.b.y\ntest.c\n"
                        .to_owned(),
                ),
            ],
            steps: vec![
                step(&["changes"]),
                step(&["show", "test"]),
                step(&["commit", "test"]),
                step(&["show", "test"]),
            ],
        },
        Scenario {
            name: "merge_import_records_changes".into(),
            files: base(),
            steps: vec![
                step_in(
                    &["-m", "import", "test"],
                    "config foo 'a'\n\toption x '2'\n\toption new 'n'\n\tlist l 'three'\n\nconfig baz 'c'\n\toption w 'w'\n\nconfig foo\n\toption z 'second anon'\n",
                ),
                step(&["changes"]),
                step(&["show", "test"]),
                step(&["export", "test"]),
                step(&["commit", "test"]),
                step(&["show", "test"]),
                step_in(&["-m", "import"], "config foo 'q'\n"),
                step_in(&["-m", "import", "missing"], "config foo 'q'\n\toption k 'v'\n"),
                step(&["show", "missing"]),
            ],
        },
        Scenario {
            name: "import_into_a_missing_folder".into(),
            files: base(),
            steps: vec![
                step_in(&["-c", "@/nowhere", "import", "test"], "config foo 'a'\n"),
                step_in(&["-c", "@/nowhere", "import"], "package test\nconfig foo 'a'\n"),
                step_in(&["import", "other"], "config foo 'a'\n\toption v '1'\n"),
                step(&["show", "other"]),
            ],
        },
        Scenario {
            name: "exit_codes_and_messages".into(),
            files: vec![
                ("etc/config/test", BASE.to_owned()),
                ("var/run/uci/over", "config over 'o'\n\toption v 'override'\n".to_owned()),
                ("etc/config/over", "config over 'o'\n\toption v 'plain'\n".to_owned()),
            ],
            steps: vec![
                step(&["add", "missing", "foo"]),
                step(&["add", "test", "foo"]),
                step(&["add", "test", "bad-type"]),
                step(&["-q", "add", "missing", "foo"]),
                step_in(&["batch"], "set test.a.x='unterminated\n"),
                step_in(&["batch"], "show test.a\nset test.a.v=1\nbogus\nget test.a.v\n"),
                step_in(
                    &["batch"],
                    "get test.a.x.y.z\nset 'test.a.bad option=1'\n\nget test.nosuch\nset test.a.w=\"2\"\nget 'test..x'\n",
                ),
                step_in(&["-S", "batch"], "show test.a\nget test.a.nothing\nimport\n"),
                step(&["-C", "@/var/run/uci", "show", "over"]),
                step(&["-C", "@/var/run/uci", "set", "over.o.v=changed"]),
                step(&["-C", "@/var/run/uci", "changes"]),
                step(&["-C", "@/elsewhere", "show", "over"]),
                step(&["show", "over"]),
                step(&["-L", "show", "test"]),
                step(&["get", "test.a.nothing"]),
                step(&["set", "test.nosuch.opt=1"]),
                step(&["rename", "test.a=bad name"]),
                step(&["reorder", "test.a=x"]),
                step(&["delete", "test.a.l=notanumber"]),
            ],
        },
    ]
}

/// splitmix64: a seeded sequence the reference run and CI both reproduce.
struct Seq(u64);

impl Seq {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.next() % items.len() as u64).unwrap_or(0)]
    }
}

/// A random edit sequence, through single commands or through one `batch`.
fn random(seed: u64, batch: bool) -> Scenario {
    let mut r = Seq(seed);
    let sections = ["a", "b", "c", "@foo[0]", "@foo[-1]", "@bar[0]"];
    let options = ["x", "y", "z", "l", "m"];
    let values = [
        "1",
        "two words",
        "multi\nline",
        "tab\there",
        "it's",
        "cr\r\nlf",
        "",
        "three\nline\nvalue",
    ];
    let mut commands: Vec<Vec<String>> = Vec::new();
    for _ in 0..14 {
        let s = r.pick(&sections);
        let o = r.pick(&options);
        let v = r.pick(&values);
        let command = match r.next() % 10 {
            0 | 1 => vec!["set".to_owned(), format!("test.{s}.{o}={v}")],
            2 => vec![
                "set".to_owned(),
                format!("test.{}={}", r.pick(&["c", "d"]), r.pick(&["foo", "bar"])),
            ],
            3 => vec!["add_list".to_owned(), format!("test.{s}.l={v}")],
            4 => vec![
                "del_list".to_owned(),
                format!("test.{s}.l={}", r.pick(&["one", "two", v])),
            ],
            5 => {
                if r.next().is_multiple_of(2) {
                    vec!["delete".to_owned(), format!("test.{s}.{o}")]
                } else {
                    vec!["delete".to_owned(), format!("test.{s}")]
                }
            }
            6 => {
                if r.next().is_multiple_of(2) {
                    vec![
                        "rename".to_owned(),
                        format!("test.{s}.{o}={}", r.pick(&["renamed", "x", "k"])),
                    ]
                } else {
                    vec![
                        "rename".to_owned(),
                        format!("test.{s}={}", r.pick(&["r1", "a", "b"])),
                    ]
                }
            }
            7 => vec!["reorder".to_owned(), format!("test.{s}={}", r.next() % 5)],
            8 => vec![
                "add".to_owned(),
                "test".to_owned(),
                r.pick(&["foo", "bar"]).to_owned(),
            ],
            _ => vec!["revert".to_owned(), format!("test.{s}")],
        };
        commands.push(command);
    }
    let mut steps = Vec::new();
    if batch {
        let mut input = String::new();
        for c in &commands {
            input.push_str(&c[0]);
            for arg in &c[1..] {
                input.push_str(" '");
                input.push_str(&arg.replace('\'', "'\\''"));
                input.push('\'');
            }
            input.push('\n');
        }
        steps.push((vec!["batch".to_owned()], input));
    } else {
        for c in &commands {
            steps.push((c.clone(), String::new()));
        }
    }
    for tail in [
        &["changes"][..],
        &["show", "test"],
        &["commit", "test"],
        &["show", "test"],
        &["export", "test"],
    ] {
        steps.push(step(tail));
    }
    Scenario {
        name: format!("random_{seed}_{}", if batch { "batch" } else { "cli" }),
        files: vec![("etc/config/test", BASE.to_owned())],
        steps,
    }
}

const SEEDS: u64 = 32;

fn scenarios() -> Vec<Scenario> {
    let mut all = fixed();
    for seed in 0..SEEDS {
        all.push(random(seed, false));
        all.push(random(seed, true));
    }
    all
}

/// What one step gave.
fn record(code: i32, stdout: &[u8], stderr: &[u8]) -> Value {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // Usage texts differ by design (Portico's names its own options); that one was printed
    // is what counts.
    let stderr = if stderr.starts_with(b"Usage:") {
        "<usage>".to_owned()
    } else {
        text(stderr)
    };
    json!({ "code": code, "stdout": text(stdout), "stderr": stderr })
}

/// Every file under the root, by relative path.
fn files(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(
                    rel,
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
                );
            }
        }
    }
    out
}

/// The scenario's files, in a root that has a `tmp` folder as every router has (libuci makes
/// only the last folder of its change-file path).
fn lay_out(root: &Path, scenario: &Scenario) {
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    for (path, text) in &scenario.files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A scenario through Portico's `uci`, in-process.
fn run_portico(scenario: &Scenario) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    lay_out(root, scenario);
    let mut steps = Vec::new();
    for (args, stdin) in &scenario.steps {
        let root_text = format!("{}/", root.display());
        let args: Vec<OsString> = args
            .iter()
            .map(|a| OsString::from(a.replace("@/", &root_text)))
            .collect();
        if let Some(exec) = common::exec() {
            let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
            let (code, stdout, stderr) = common::run(&exec, root, root, &args, stdin.as_bytes());
            steps.push(record(code, &stdout, &stderr));
            continue;
        }
        let mut store = uci::Store::new(root.join("etc/config"), root.join("tmp/.uci"));
        store.conf2dir = Some(root.join("var/run/uci"));
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut input = stdin.as_bytes();
        let code = uci::cli::run_in(
            &args,
            store,
            &mut uci::cli::Io {
                stdin: &mut input,
                stdout: &mut stdout,
                stderr: &mut stderr,
            },
        );
        steps.push(record(code, &stdout, &stderr));
    }
    json!({ "steps": steps, "files": files(root) })
}

/// A scenario through the reference tool, run inside the scenario's root.
fn run_reference(bin: &Path, scenario: &Scenario) -> Value {
    use std::io::Write as _;
    use std::os::unix::process::CommandExt as _;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    lay_out(root, scenario);
    let mut steps = Vec::new();
    for (args, stdin) in &scenario.steps {
        let args: Vec<String> = args.iter().map(|a| a.replace("@/", "")).collect();
        // As a router runs it (`uci` from the PATH): messages start with `uci: `.
        let mut child = std::process::Command::new(bin)
            .arg0("uci")
            .args(&args)
            .current_dir(root)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        steps.push(record(
            out.status.code().unwrap_or(-1),
            &out.stdout,
            &out.stderr,
        ));
    }
    json!({ "steps": steps, "files": files(root) })
}

fn expected_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/expected.json")
}

#[test]
fn editing_commands_match_the_reference_tool() {
    let expected: BTreeMap<String, Value> = serde_json::from_slice(
        &std::fs::read(expected_path()).expect("tests/reference/expected.json"),
    )
    .unwrap();
    let all = scenarios();
    assert_eq!(
        expected.len(),
        all.len(),
        "every scenario has reference outputs"
    );
    let mut failures = Vec::new();
    for scenario in &all {
        let want = &expected[&scenario.name];
        let got = run_portico(scenario);
        for (i, (args, stdin)) in scenario.steps.iter().enumerate() {
            if got["steps"][i] != want["steps"][i] {
                failures.push(format!(
                    "{} step {i} {args:?} (stdin {stdin:?}):\n  got  {}\n  want {}",
                    scenario.name, got["steps"][i], want["steps"][i]
                ));
            }
        }
        if got["files"] != want["files"] {
            failures.push(format!(
                "{} files:\n  got  {}\n  want {}",
                scenario.name, got["files"], want["files"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Writes `tests/reference/expected.json` from the reference tool named by `UCI_REFERENCE_BIN`
/// (`tests/reference/make.sh` builds it and runs this).
#[test]
#[ignore = "needs the C uci tool; run by tests/reference/make.sh"]
fn make_reference() {
    let bin = PathBuf::from(std::env::var("UCI_REFERENCE_BIN").expect("UCI_REFERENCE_BIN"));
    let out: BTreeMap<String, Value> = scenarios()
        .iter()
        .map(|s| (s.name.clone(), run_reference(&bin, s)))
        .collect();
    let mut text = serde_json::to_string_pretty(&out).unwrap();
    text.push('\n');
    std::fs::write(expected_path(), text).unwrap();
}
