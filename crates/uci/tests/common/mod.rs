//! Running the suites against a built `portico` binary instead of the library: with
//! `PORTICO_UCI_EXEC` set (the binary, with its runner first when it is for another machine:
//! `qemu-aarch64-static target/…/portico`), each `uci` command line is run as
//! `<exec> --root <scratch> uci …` — how CI checks the cross-built router binary.

use std::path::Path;
use std::process::{Command, Stdio};

/// Exit code, stdout, stderr.
pub type Output = (i32, Vec<u8>, Vec<u8>);

/// The command line of the binary under test, when one is named.
pub fn exec() -> Option<Vec<String>> {
    let exec = std::env::var("PORTICO_UCI_EXEC").ok()?;
    let words: Vec<String> = exec.split_whitespace().map(str::to_owned).collect();
    (!words.is_empty()).then_some(words)
}

/// Runs `uci ARGS` through the binary with state root `root`, in `cwd`.
pub fn run(exec: &[String], root: &Path, cwd: &Path, args: &[String], stdin: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(&exec[0])
        .args(&exec[1..])
        .arg("--root")
        .arg(root)
        .arg("uci")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {exec:?}: {e}"));
    // A command that does not read its input may have exited already.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}
