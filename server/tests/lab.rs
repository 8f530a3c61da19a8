//! The namespace lab with the real kernel: Portico in the router namespace, reached by a LAN
//! client through 192.168.1.1 and by the host only through the loopback forwarder; afterwards
//! nothing of the lab is left. Needs root (CI runs as root).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};

use common::{get, portico, start, wait_for};
use netlab::{Lab, LabSpec, NodeRole};

fn free_loopback_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one end-to-end story: build, reach, forward, refuse, remove"
)]
fn client_reaches_portico_on_the_lan_and_the_host_through_the_forwarder() {
    netlab::lab::sweep_stale_test_labs();
    let spec = common::spec_with_internet(1);
    let lab = common::LabGuard(Lab::up(spec.clone()).expect("lab up"));
    let client_addr = lab
        .0
        .client_addr
        .clone()
        .expect("the client got a DHCP lease");
    assert!(client_addr.starts_with("192.168.1."), "{client_addr}");

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = lab
        .0
        .command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"));
    cmd.args(["serve", "--listen", "0.0.0.0:80", "--root"])
        .arg(dir.path());
    let _server = start(cmd);

    // The LAN client, from inside its namespace.
    let fetch = |url: &str| {
        let out = lab
            .0
            .command(NodeRole::Client, "busybox")
            .args(["wget", "-q", "-O", "-", url])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let body = wait_for("portico on 192.168.1.1", || {
        fetch("http://192.168.1.1/healthz")
    });
    assert_eq!(body, "ok\n");
    // The router's WAN got a lease from the isp, whose DNS answers every name with the sink
    // (a name under .invalid: nothing here may ever leave for the real internet).
    let body = wait_for("the internet sink by name", || {
        let out = lab
            .0
            .command(NodeRole::Router, "busybox")
            .args([
                "wget",
                "-q",
                "-O",
                "-",
                "http://captive.lab.invalid/connecttest.txt",
            ])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    });
    assert_eq!(body, "Microsoft Connect Test");
    // Inside a lab namespace the kernel-touching guard lets work proceed.
    let out = lab
        .0
        .command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"))
        .args(["lab", "status"])
        .output()
        .unwrap();
    assert!(out.status.success());

    // The host: only through the loopback forwarder, which connects from the client namespace.
    let listen = free_loopback_port();
    let forwarder = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args([
            "lab",
            "forward",
            "--netns",
            &lab.0.ns(NodeRole::Client),
            "--map",
            &format!("{listen}=192.168.1.1:80"),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut forwarder = common::Server {
        child: forwarder,
        addr: Some(listen),
    };
    wait_for("the forwarder", || {
        std::net::TcpStream::connect(listen).ok()
    });
    let (status, head, html) = get(listen, "/setup/language");
    assert_eq!(status, 200);
    assert!(
        html.contains("action=\"/setup/language\""),
        "through the forwarder the host is a LAN client: it gets the wizard"
    );
    assert!(head.contains("portico_wizard="), "{head}");
    let _ = forwarder.child.kill();

    // A request that does not arrive on br-lan never reaches the admin UI: the isp (WAN side)
    // cannot connect, because the listener is bound to the LAN device.
    let out = lab
        .0
        .command(NodeRole::Isp, "busybox")
        .args([
            "wget",
            "-q",
            "-T",
            "3",
            "-O",
            "-",
            "http://192.168.1.1/healthz",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the WAN side must not reach the admin UI"
    );

    let names: Vec<String> = NodeRole::ALL.iter().map(|r| spec.ns(*r)).collect();
    drop(lab);
    let namespaces = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    for ns in &names {
        assert!(
            !namespaces.split_whitespace().any(|w| w == ns),
            "{ns} was removed"
        );
        assert!(
            !std::path::Path::new("/etc/netns").join(ns).exists(),
            "its resolv.conf folder was removed"
        );
    }
    assert!(!spec.dir.exists(), "the lab folder was removed");
}

#[test]
fn lab_down_after_a_crash_and_lab_up_over_a_stale_lab() {
    let spec = LabSpec::for_test(2);
    let lab = common::LabGuard(Lab::up(spec.clone()).expect("first lab up"));
    // A "crashed" owner left it behind: up again sweeps it and builds a fresh one.
    let again = Lab::up(spec.clone()).expect("lab up over a stale lab");
    assert_eq!(again.existing().len(), 3);
    // Processes inside (dnsmasq) die with it.
    let pids = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "pids", &spec.ns(NodeRole::Router)])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(
        !pids.trim().is_empty(),
        "dnsmasq runs in the router namespace"
    );
    drop(lab);
    assert_eq!(again.existing(), Vec::<String>::new());
    for pid in pids.split_whitespace() {
        // Gone, or a zombie waiting for its (outside) parent to reap it.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("gone");
        assert!(
            matches!(state, "gone" | "Z" | "X"),
            "process {pid} was killed (state {state})"
        );
    }
    let _ = portico();
}
