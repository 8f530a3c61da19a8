//! The captive portal in the namespace lab, with the real kernel (nftables, conntrack) and
//! the isp namespace's "internet" (its DNS answers every name with its own HTTP server):
//! before a voucher, HTTP is redirected to the portal, HTTPS and other TCP are reset (IPv4
//! and IPv6, names and direct addresses), DNS is answered; the portal form gives access at
//! once; at expiry an established connection stops; a restart keeps the authorised in and
//! the expired out, even when the table was lost meanwhile; guessing is counted per device.
//! The firewall offload is on, as it ships. Needs root (CI runs as root).

mod common;

use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{serve_router as serve, wait_for};

fn sh(lab: &Lab, role: NodeRole, script: &str) {
    common::sh(lab, role, script);
}

fn voucher(root: &std::path::Path, duration: &str) -> String {
    common::voucher(root, duration).1
}
use netlab::{Lab, NodeRole};

/// `curl` from the client namespace: (exit code, HTTP status, headers and body).
fn curl(lab: &Lab, args: &[&str]) -> (i32, u16, String) {
    let out = lab
        .command(NodeRole::Client, "curl")
        .args(["-s", "-i", "-m", "5", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        out.status.code().unwrap_or(-1),
        code.trim().parse().unwrap_or(0),
        body.to_owned(),
    )
}

/// What an unauthorised client sees of the internet.
fn assert_captive(lab: &Lab) {
    let (_, code, head) = curl(lab, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(code, 302, "{head}");
    assert!(
        head.to_lowercase()
            .contains("location: http://192.168.1.1:8080/"),
        "{head}"
    );
    let (_, code, head) = curl(lab, &["http://100.64.0.1/hotspot-detect.html"]);
    assert_eq!(code, 302, "direct address, port 80: redirected too\n{head}");
    // TCP elsewhere is reset at once (exit 7: refused), not dropped into a timeout; the
    // isp's discard port would accept it.
    for target in [
        "https://100.64.0.1/",
        "telnet://100.64.0.1:9",
        "telnet://[fd70:7274:0:2::1]:9",
    ] {
        let started = Instant::now();
        let (exit, _, _) = curl(lab, &[target]);
        assert_eq!(exit, 7, "{target} refused");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{target} was reset, not dropped"
        );
    }
    let (_, _, api) = curl(lab, &["http://192.168.1.1:8080/captive-portal/api"]);
    assert!(api.contains("application/captive+json"), "{api}");
    assert!(api.contains(r#""captive":true"#), "{api}");
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one story in the lab: captive, voucher, expiry, restart"
)]
fn vouchers_open_the_internet_and_expiry_closes_it() {
    netlab::lab::sweep_stale_test_labs();
    let spec = common::spec_with_internet(5);
    let lab = common::LabGuard(Lab::up(spec).expect("lab up"));
    let lab = &lab.0;
    common::fw4_nat_and_ipv6(lab);

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    portico_server::platform::dev::create_fresh_root(root).unwrap();
    let config = root.join("etc/config/portico");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\nconfig portal 'portal'\n\toption enabled '1'\n\tlist interface 'br-lan'\n\toption title 'Lab Café'\n");
    std::fs::write(&config, text).unwrap();
    let short = voucher(root, "12s");
    let long = voucher(root, "2h");

    let server = serve(lab, root);
    // As it ships: the firewall offload is on (the fresh root's default) for all of this.
    wait_for("the offload's program on the LAN port", || {
        let out = lab
            .command(NodeRole::Router, "ip")
            .args(["link", "show", "eth0"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .contains("xdp")
            .then_some(())
    });
    // DNS is answered before authorisation.
    let out = lab
        .command(NodeRole::Client, "busybox")
        .args(["nslookup", "captive.apple.com", "192.168.1.1"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("100.64.0.1"),
        "DNS answered"
    );
    assert_captive(lab);

    // The portal page without JavaScript, in the client's language.
    let (_, code, page) = curl(
        lab,
        &[
            "-H",
            "Accept-Language: de",
            "http://192.168.1.1:8080/?code=AB",
        ],
    );
    assert_eq!(code, 200);
    assert!(
        page.contains("Lab Café") && page.contains("Gutscheincode"),
        "{page}"
    );
    assert!(
        page.contains(r#"value="AB""#),
        "the code from the QR link is filled in"
    );
    // A wrong code: a specific refusal.
    let (_, code, page) = curl(
        lab,
        &["--data", "code=0000-0000-00", "http://192.168.1.1:8080/"],
    );
    assert_eq!(code, 403);
    assert!(page.contains("no voucher with this code"), "{page}");

    // The short voucher: access at once.
    let (_, code, page) = curl(
        lab,
        &[
            "--data-urlencode",
            &format!("code={}", short.to_lowercase()),
            "http://192.168.1.1:8080/",
        ],
    );
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("You are online"), "{page}");
    let authorised_at = Instant::now();
    let (_, code, _) = curl(lab, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(code, 204, "the real answer from the internet");
    let (exit, _, _) = curl(
        lab,
        &["-o", "/dev/null", "telnet://100.64.0.1:9", "-m", "1"],
    );
    assert_eq!(
        exit, 28,
        "the discard port accepts (and curl times out waiting)"
    );
    let (_, _, api) = curl(lab, &["http://192.168.1.1:8080/captive-portal/api"]);
    assert!(
        api.contains(r#""captive":false"#) && api.contains("seconds-remaining"),
        "{api}"
    );

    // An established connection carries data until the voucher's time is up, then stops.
    let client_ns = lab.ns(NodeRole::Client);
    let cut = std::thread::spawn(move || {
        netlab::scratch::enter(&client_ns).unwrap();
        let mut stream = TcpStream::connect("100.64.0.1:9").expect("connect to the discard port");
        stream
            .set_write_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let started = Instant::now();
        loop {
            if stream.write_all(&[b'x'; 512]).is_err() {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the flow never stopped"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let lasted = cut.join().expect("writer");
    assert!(
        authorised_at.elapsed() >= Duration::from_secs(11),
        "the flow stopped before the voucher's time was up ({lasted:?})"
    );
    wait_for("the expired client to be captive again", || {
        let (_, code, _) = curl(lab, &["http://connectivitycheck.gstatic.com/generate_204"]);
        (code == 302).then_some(())
    });
    let (_, code, page) = curl(
        lab,
        &[
            "--data",
            &format!("code={short}"),
            "http://192.168.1.1:8080/",
        ],
    );
    assert_eq!(code, 403);
    assert!(page.contains("time is used up"), "{page}");

    // A restart keeps the expired client out.
    drop(server);
    let server = serve(lab, root);
    assert_captive(lab);

    // The long voucher; then Portico dies and the table is lost (firewall reload, reboot):
    // the next start rebuilds it from the store.
    let (_, code, page) = curl(
        lab,
        &[
            "--data",
            &format!("code={long}"),
            "http://192.168.1.1:8080/",
        ],
    );
    assert_eq!(code, 200, "{page}");
    let (_, code, _) = curl(lab, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(code, 204);
    drop(server);
    let (_, code, _) = curl(lab, &["http://100.64.0.1/generate_204"]);
    assert_eq!(code, 204, "access is the kernel's: it outlives Portico");
    sh(
        lab,
        NodeRole::Router,
        "nft delete table inet portico_portal",
    );
    let _server = serve(lab, root);
    let (_, code, _) = curl(lab, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(code, 204, "rebuilt from the voucher store");
    let (_, code, page) = curl(lab, &["http://192.168.1.1:8080/"]);
    assert_eq!(code, 200);
    assert!(
        page.contains("Time left: 1 h") || page.contains("Time left: 2 h"),
        "{page}"
    );

    // A firewall that replaces every table (`nft flush ruleset`) while Portico runs: the
    // table comes back within seconds, the authorised client stays authorised.
    sh(
        lab,
        NodeRole::Router,
        "nft delete table inet portico_portal",
    );
    wait_for("the table to be rebuilt", || {
        let out = lab
            .command(NodeRole::Router, "nft")
            .args(["list", "set", "inet", "portico_portal", "allowed"])
            .output()
            .ok()?;
        out.status.success().then_some(())
    });
    let (_, code, _) = curl(lab, &["http://connectivitycheck.gstatic.com/generate_204"]);
    assert_eq!(code, 204);

    // Guessing: five wrong codes a minute are answered, the next one has to wait.
    for _ in 0..5 {
        let (_, code, _) = curl(
            lab,
            &["--data", "code=AAAA-AAAA-AA", "http://192.168.1.1:8080/"],
        );
        assert_eq!(code, 403);
    }
    let (_, code, page) = curl(
        lab,
        &["--data", "code=AAAA-AAAA-AA", "http://192.168.1.1:8080/"],
    );
    assert_eq!(code, 429, "{page}");
    assert!(
        page.contains("Too many wrong codes. Wait 12 seconds"),
        "{page}"
    );
    let (_, code, _) = curl(
        lab,
        &[
            "--data",
            &format!("code={long}"),
            "http://192.168.1.1:8080/",
        ],
    );
    assert_eq!(code, 429, "even a right code waits: guessing stays slow");
    // The count belongs to the device (its MAC), not its address: a new address waits too.
    sh(
        lab,
        NodeRole::Client,
        "ip addr add 192.168.1.77/24 dev lan0",
    );
    let (_, code, page) = curl(
        lab,
        &[
            "--interface",
            "192.168.1.77",
            "--data",
            "code=AAAA-AAAA-AA",
            "http://192.168.1.1:8080/",
        ],
    );
    assert_eq!(code, 429, "{page}");
}
