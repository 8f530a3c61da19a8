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

/// The binary under test: this build's, or `PORTICO_EXEC` (a cross-built one, its runner
/// first: `qemu-aarch64-static target/aarch64-unknown-linux-musl/release/portico`).
pub fn portico() -> Command {
    match std::env::var("PORTICO_EXEC") {
        Ok(exec) if !exec.trim().is_empty() => {
            let mut words = exec.split_whitespace();
            let mut cmd = Command::new(words.next().unwrap_or_default());
            cmd.args(words);
            cmd
        }
        _ => Command::new(env!("CARGO_BIN_EXE_portico")),
    }
}

/// A test lab removed when dropped, even when the test fails.
pub struct LabGuard(pub netlab::Lab);

impl Drop for LabGuard {
    fn drop(&mut self) {
        let _ = self.0.down();
    }
}

/// The spec of test lab `n` as a router at home has it: the WAN by DHCP from the isp, and the
/// isp's "internet" (`portico lab sink`: HTTP, discard, echo) running.
pub fn spec_with_internet(n: u32) -> netlab::LabSpec {
    let mut spec = netlab::LabSpec::for_test(n);
    spec.wan_dhcp = true;
    spec.sink_command = Some(vec![
        env!("CARGO_BIN_EXE_portico").into(),
        "lab".into(),
        "sink".into(),
    ]);
    spec
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

/// A shell script in a lab namespace (`sh -ec`); fails the test when it fails. Its output.
pub fn sh(lab: &netlab::Lab, role: netlab::NodeRole, script: &str) -> String {
    let out = lab
        .command(role, "sh")
        .args(["-ec", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `curl` from the client namespace: (HTTP status, body).
pub fn curl(lab: &netlab::Lab, args: &[&str]) -> (u16, String) {
    let out = lab
        .command(netlab::NodeRole::Client, "curl")
        .args(["-s", "-m", "10", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// Runs `f` on a thread inside a lab namespace.
pub fn in_ns<T: Send + 'static>(
    lab: &netlab::Lab,
    role: netlab::NodeRole,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let ns = lab.ns(role);
    std::thread::spawn(move || {
        netlab::scratch::enter(&ns).expect("enter the lab namespace");
        f()
    })
}

/// The offload dashboard's data, as an admin's script reads it (`jar`: a logged-in session).
pub fn offload(lab: &netlab::Lab, jar: &str) -> serde_json::Value {
    api(lab, jar, "/api/v1/offload")
}

/// `GET` of an API path of the lab router as an admin's script (`jar`: a logged-in session).
pub fn api(lab: &netlab::Lab, jar: &str, path: &str) -> serde_json::Value {
    let (code, body) = curl(lab, &["-b", jar, &format!("http://192.168.1.1{path}")]);
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Creates one voucher with the CLI: (id, code).
pub fn voucher(root: &std::path::Path, duration: &str) -> (i64, String) {
    let out = portico()
        .arg("--root")
        .arg(root)
        .args([
            "vouchers",
            "create",
            "--qty",
            "1",
            "--duration",
            duration,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    (
        first["id"].as_i64().unwrap(),
        first["code"].as_str().unwrap().to_owned(),
    )
}

/// `portico serve` in the lab's router (admin UI on :80, portal on :8080), once it answers.
pub fn serve_router(lab: &netlab::Lab, root: &std::path::Path) -> Server {
    let mut cmd = lab.command(netlab::NodeRole::Router, env!("CARGO_BIN_EXE_portico"));
    cmd.args([
        "serve",
        "--listen",
        "0.0.0.0:80",
        "--portal-listen",
        "0.0.0.0:8080",
        "--root",
    ])
    .arg(root);
    let server = start(cmd);
    wait_for("portico on 192.168.1.1", || {
        (curl(lab, &["http://192.168.1.1/healthz"]).0 == 200).then_some(())
    });
    server
}

/// What fw4 would do on the router (not under test): masquerade out of the WAN; and IPv6
/// addresses for the router's WAN and the client, with the client's default route.
pub fn fw4_nat_and_ipv6(lab: &netlab::Lab) {
    sh(
        lab,
        netlab::NodeRole::Router,
        "nft add table inet labnat && \
         nft add chain inet labnat post '{ type nat hook postrouting priority srcnat; }' && \
         nft add rule inet labnat post oifname eth1 masquerade && \
         ip addr add fd70:7274:0:2::2/64 dev eth1 nodad",
    );
    sh(
        lab,
        netlab::NodeRole::Client,
        "ip addr add fd70:7274:0:1::100/64 dev lan0 nodad && \
         ip -6 route add default via fd70:7274:0:1::1",
    );
}

/// A loopback HTTP server answering every request (its body read and dropped) with `status`
/// and `body` as JSON; returns its address as `http://127.0.0.1:PORT{path}`.
pub fn json_server(status: u16, body: Vec<u8>, path: &str) -> String {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(&stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim_end() != "" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut request_body = vec![0; length];
            let _ = reader.read_exact(&mut request_body);
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let mut stream = stream;
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}{path}")
}

/// Runs `portico --root ROOT ARGS…` and returns its stdout (the test fails with its stderr).
pub fn cli(root: &std::path::Path, args: &[&str]) -> String {
    let out = portico()
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "portico {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Makes a community on the router at `root` (`portico mesh create`); its join code.
pub fn create_community(root: &std::path::Path, name: &str) -> String {
    cli(root, &["mesh", "create", name])
        .split_whitespace()
        .find(|w| w.starts_with("portico-mesh:"))
        .expect("a join code")
        .to_owned()
}

/// Puts the router at `root` in a community: joins with `Ok(code)`, or creates community
/// `Err(name)`; the join code either way.
pub fn become_member(root: &std::path::Path, membership: Result<&str, &str>) -> String {
    match membership {
        Ok(code) => {
            cli(root, &["mesh", "join", code]);
            code.to_owned()
        }
        Err(name) => create_community(root, name),
    }
}

/// `serve` for `root` on loopback ports the kernel picks (admin page and portal), once it
/// answers; `cmd` is what runs the binary (`portico()`, or `ip netns exec NS …`).
pub fn serve_on_loopback(mut cmd: Command, root: &std::path::Path) -> Server {
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--portal-listen",
        "127.0.0.1:0",
        "--root",
    ])
    .arg(root);
    start(cmd)
}
