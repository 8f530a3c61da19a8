//! The real `portico` binary on a free loopback port: it creates its dev root, serves pages,
//! offers the first-boot wizard over a real socket, and stops cleanly on SIGTERM. With
//! `PORTICO_EXEC` these run against a cross-built binary under qemu (`xtask/dev.sh test`).

mod common;

use common::{ADMIN_PASSWORD, get, http, portico, post_form, set_admin_password, start};

#[test]
fn serve_creates_a_dev_root_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dev-root");
    let mut cmd = portico();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--root"])
        .arg(&root)
        .env("PORTICO_LAN_DEVICE", "lo");
    let mut server = start(cmd);
    let addr = server.addr.expect("address");

    assert!(
        root.join("etc/config/network").exists(),
        "a fresh router configuration was written"
    );
    let (status, _, body) = get(addr, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, head, _) = get(addr, "/");
    assert_eq!(status, 303);
    assert!(head.to_ascii_lowercase().contains("location: /setup"));
    // Bound to `lo`, every request is on the LAN side: the first-boot wizard is there.
    let (status, head, html) = get(addr, "/setup/language");
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("portico_wizard="));
    assert!(html.contains("action=\"/setup/language\""));

    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[test]
fn without_the_lan_device_first_boot_setup_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = portico();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--root"])
        .arg(dir.path())
        .env("PORTICO_LAN_DEVICE", "");
    let server = start(cmd);
    let addr = server.addr.expect("address");
    let (status, _, body) = post_form(addr, "/setup/summary", "action=apply");
    assert_eq!(status, 403);
    assert!(body.contains("\"lan_only\""), "{body}");
}

/// Unknown keys are warned about (and the log has no colour codes when it is not a terminal).
#[test]
fn unknown_config_keys_are_warned_and_flags_beat_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc/config")).unwrap();
    std::fs::write(
        dir.path().join("etc/config/portico"),
        "config portico 'main'\n\toption listen '127.0.0.1:1'\n\toption colour 'blue'\n",
    )
    .unwrap();
    let out = portico()
        .args(["serve", "--listen", "127.0.0.1:0", "--root"])
        .arg(dir.path())
        .env("PORTICO_LISTEN", "127.0.0.1:2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let server = common::Server {
        child: out,
        addr: None,
    };
    // The flag (port 0 → any) wins over the environment (2) and the file (1): it starts.
    let mut child = server;
    let stderr = child.child.stderr.take().unwrap();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let mut warned = false;
    for line in lines.map_while(Result::ok) {
        // Issue 20: a log written to a pipe (procd, a file) carries no colour codes.
        assert!(
            !line.contains('\u{1b}'),
            "colour codes off a terminal: {line:?}"
        );
        if line.contains("portico.main.colour") && line.contains("unknown key") {
            warned = true;
        }
        if line.contains("serving") {
            break;
        }
    }
    assert!(warned, "the unknown key is warned about");
}

#[test]
fn kernel_touching_parts_refuse_the_host_namespace() {
    // The test process runs in the host's namespace (CI and developers alike).
    assert!(netlab::in_host_namespace());
    let out = portico().args(["lab", "sink"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("host's network namespace"));
    let err = netlab::refuse_host_namespace("attach XDP").unwrap_err();
    assert!(err.to_string().contains("refusing to attach XDP"));
}

/// The router build as it ships: the login page, a login, a server function with the session,
/// the embedded bundle (gzip) and the icon.
#[test]
fn the_router_build_logs_in_and_answers_a_server_function() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    set_admin_password(&root);
    let mut cmd = portico();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--root"])
        .arg(&root)
        .env("PORTICO_LAN_DEVICE", "lo");
    let server = start(cmd);
    let addr = server.addr.expect("address");

    let (status, _, html) = get(addr, "/login");
    assert_eq!(status, 200);
    assert!(html.contains("action=\"/login\""), "{html}");
    let script = html
        .split("import('/pkg/")
        .nth(1)
        .and_then(|rest| rest.split(".js')").next())
        .expect("the page loads its bundle")
        .to_owned();
    let (status, head, _) = http(
        addr,
        &format!(
            "GET /pkg/{script}_bg.wasm HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase().contains("content-encoding: gzip"),
        "{head}"
    );
    assert_eq!(get(addr, "/favicon.ico").0, 200);

    let (status, head, _) = post_form(
        addr,
        "/login",
        &format!("user=root&password={ADMIN_PASSWORD}"),
    );
    assert_eq!(status, 303, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let (status, _, body) = http(
        addr,
        &format!(
            "POST /api/fn/overview HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["system"]["version"], env!("CARGO_PKG_VERSION"));
}
