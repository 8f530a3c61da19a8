//! Port forwards and fixed addresses in the namespace lab, through the admin pages' forms as a
//! browser posts them: a forward makes a service in the client namespace reachable from the
//! isp side at the router's WAN address; a fixed address is what the client then gets from
//! the LAN's dnsmasq. Needs root (CI runs as root).

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::{curl, log_in, serve_router, set_admin_password, sh, wait_for};
use netlab::{Lab, NodeRole};

/// A form post from the client with the session in `jar`; where it leads.
fn post(lab: &Lab, jar: &str, path: &str, body: &str) -> String {
    let out = lab
        .command(NodeRole::Client, "curl")
        .args([
            "-s",
            "-m",
            "20",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ])
        .args([
            "-b",
            jar,
            "-H",
            "Origin: http://192.168.1.1",
            "--data",
            body,
        ])
        .arg(format!("http://192.168.1.1{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (code, location) = text.split_once(' ').unwrap_or((&text, ""));
    assert_eq!(code, "303", "{path} {body}");
    location.to_owned()
}

fn keep(lab: &Lab, jar: &str) {
    post(lab, jar, "/apply/confirm", "back=%2F");
}

fn client_address(lab: &Lab) -> String {
    let out = sh(lab, NodeRole::Client, "ip -4 -o addr show dev lan0");
    let word = out
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .unwrap_or_default();
    word.split('/').next().unwrap_or_default().to_owned()
}

#[test]
fn a_forward_reaches_the_client_and_a_fixed_address_is_handed_out() {
    netlab::lab::sweep_stale_test_labs();
    let lab = common::LabGuard(Lab::up(common::spec_with_internet(8)).expect("lab up"));
    let lab = &lab.0;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    portico_server::platform::dev::create_fresh_root(root).unwrap();
    set_admin_password(root);
    let _server = serve_router(lab, root);
    let jar = root.join("jar").display().to_string();
    log_in(lab, &jar);

    // A service on the client: one line to whoever connects.
    let service = common::in_ns(lab, NodeRole::Client, || {
        let listener = TcpListener::bind("0.0.0.0:8088").unwrap();
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"hello from the client\n").unwrap();
    });
    let client = client_address(lab);
    let to = post(
        lab,
        &jar,
        "/settings/forwards",
        &format!("action=apply&name=web&proto=tcp&external=9090&ip={client}&internal=8088"),
    );
    assert!(to.ends_with("/settings/forwards?applied=1"), "{to}");
    let wan = sh(lab, NodeRole::Router, "ip -4 -o addr show dev eth1");
    let wan = wan
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let answer = common::in_ns(lab, NodeRole::Isp, move || {
        // The firewall follows the change once the services have reloaded.
        let mut stream = wait_for("the forward at the WAN address", || {
            TcpStream::connect((wan.as_str(), 9090)).ok()
        });
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    })
    .join()
    .unwrap();
    assert_eq!(answer, "hello from the client\n");
    service.join().unwrap();
    keep(lab, &jar);

    // A fixed address for the client: the next DHCP exchange gives it.
    let mac = sh(lab, NodeRole::Client, "cat /sys/class/net/lan0/address")
        .trim()
        .to_owned();
    let to = post(
        lab,
        &jar,
        "/settings/leases",
        &format!("action=apply&name=laptop&mac={mac}&ip=192.168.1.77"),
    );
    assert!(to.ends_with("/settings/leases?applied=1"), "{to}");
    keep(lab, &jar);
    let script = netlab::lab::write_udhcpc_script(&lab.spec.dir).unwrap();
    wait_for("the fixed address from the LAN's dnsmasq", || {
        sh(
            lab,
            NodeRole::Client,
            &format!(
                "busybox udhcpc -q -n -f -t 5 -T 1 -i lan0 -s {} >/dev/null 2>&1 || true",
                script.display()
            ),
        );
        (client_address(lab) == "192.168.1.77").then_some(())
    });
    let (code, page) = curl(lab, &["-b", &jar, "http://192.168.1.1/settings/leases"]);
    assert_eq!(code, 200);
    assert!(page.contains("data-id=\"dhcp.host_laptop\""));
}
