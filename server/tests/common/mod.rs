//! Helpers shared by the integration tests: start the real binary, speak HTTP/1.1 over a
//! plain socket, wait for conditions with generous deadlines.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(
    clippy::missing_panics_doc,
    reason = "test helpers fail the test by panicking"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(60);

/// A running `portico serve`; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: Option<SocketAddr>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` (a `portico serve`) and reads the address it announces on stdout.
pub fn start(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start portico");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("portico: listening on http://") {
                let _ = tx.send(rest.trim_end_matches('/').to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(DEADLINE)
        .expect("portico announced its address")
        .parse()
        .ok();
    Server { child, addr }
}

/// A raw HTTP/1.1 exchange; returns (status, headers, body).
pub fn http(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

pub fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

pub fn post_form(addr: SocketAddr, path: &str, body: &str) -> (u16, String, String) {
    http(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Polls until `probe` returns a value.
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn portico() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portico"))
}

/// A test lab removed when dropped, even when the test fails.
pub struct LabGuard(pub netlab::Lab);

impl Drop for LabGuard {
    fn drop(&mut self) {
        let _ = self.0.down();
    }
}

/// The IPv4 addresses on the lab router's `br-lan`, as `ip -o addr` prints them.
pub fn router_addresses(lab: &netlab::Lab) -> String {
    let out = lab
        .command(netlab::NodeRole::Router, "ip")
        .args(["-4", "-o", "addr", "show", "dev", "br-lan"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The shared folder beside the clone (`PORTICO_SHARED` overrides): fixtures and protocols.
#[allow(unused_imports, reason = "not every test binary reads fixtures")]
pub use testdata::shared;

/// The admin password the lab tests set.
pub const ADMIN_PASSWORD: &str = "Correct-Horse-Battery-9";

/// Sets the admin password the headless way (`portico wizard apply` with only a password).
pub fn set_admin_password(root: &std::path::Path) {
    let answers = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(&answers, format!(r#"{{"password": "{ADMIN_PASSWORD}"}}"#)).unwrap();
    let status = portico()
        .arg("--root")
        .arg(root)
        .args(["wizard", "apply", "--unchecked", "--answers"])
        .arg(answers.path())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Logs in to the lab router's admin UI from the client namespace; the session cookie goes
/// to the curl cookie jar `jar`.
pub fn log_in(lab: &netlab::Lab, jar: &str) {
    let out = lab
        .command(netlab::NodeRole::Client, "curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-m",
            "10",
            "-c",
            jar,
        ])
        .args(["-H", "Origin: http://192.168.1.1", "--data"])
        .arg(format!("user=root&password={ADMIN_PASSWORD}"))
        .arg("http://192.168.1.1/login")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "303", "login");
}
