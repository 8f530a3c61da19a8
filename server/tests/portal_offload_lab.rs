//! Issue 16: the captive portal and the firewall offload together, tried as an attacker would,
//! with the offload on as it ships, on both hooks (XDP and TC). One story per hook in a lab of
//! its own:
//! 1. a UDP flow offloaded while the portal is off stops when the admin switches it on;
//! 2. DHCP works with the offload on, and the client's broadcasts never reach the WAN;
//! 3. a captive device cannot make the router answer to a forged (internet) source, by ICMP,
//!    DNS or ICMPv6;
//! 4. a flow opened while the portal's table is missing does not outlive its return;
//! 5. an authorised device's flows are offloaded; re-pointing the router's neighbour entry for
//!    its address to a second MAC before its voucher ends does not keep them alive after it;
//! 6. a device removed from the kernel's set by someone else loses its offloaded flow at once;
//! 7. a device whose voucher ended while Portico was down (SIGKILL) gets nothing after the
//!    restart.
//!
//! The "internet" is this test's UDP echo and TCP sink in the isp namespace (on an address of
//! its loopback), counting what reaches it. Needs root (CI runs as root).

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{curl, in_ns, offload, serve_router as serve, sh, voucher, wait_for};
use netlab::{Lab, LabSpec, NodeRole};

const SINK: &str = "198.51.100.7";
/// An internet address the attacker forges (the isp owns it, to see any answer).
const FORGED: &str = "198.51.100.99";
const FORGED6: &str = "fd70:7274:0:2::99";

/// The offloaded flows to or from the sink's `port`.
fn offloaded(lab: &Lab, jar: &str, proto: &str, port: u16) -> usize {
    let end = format!("{SINK}:{port}");
    offload(lab, jar)["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["proto"] == proto
                && f["state"] == "offloaded"
                && (f["dst"] == end.as_str() || f["src"] == end.as_str())
        })
        .count()
}

/// A client UDP flow to the sink's echo on `port`: a datagram every 5 ms from a fixed source
/// port, counting echoes.
struct Flow {
    echoes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Flow {
    fn start(lab: &Lab, port: u16) -> Flow {
        let echoes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (echoes.clone(), stop.clone());
        in_ns(lab, NodeRole::Client, move || {
            let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
            socket.connect((SINK, port)).unwrap();
            socket
                .set_read_timeout(Some(Duration::from_millis(5)))
                .unwrap();
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                let _ = socket.send(&[0x42; 200]);
                while socket.recv(&mut buf).is_ok() {
                    e.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Flow { echoes, stop }
    }

    fn echoes(&self) -> u64 {
        self.echoes.load(Ordering::Relaxed)
    }

    /// Waits until echoes come back.
    fn wait_flowing(&self, what: &str) {
        let before = self.echoes();
        wait_for(what, || (self.echoes() > before + 20).then_some(()));
    }

    /// Waits until no echo has come back for a second (a cut takes effect), then checks that
    /// none comes for two more seconds.
    fn assert_cut(&self, what: &str) {
        let mut last = (self.echoes(), Instant::now());
        wait_for(what, || {
            let now = self.echoes();
            if now != last.0 {
                last = (now, Instant::now());
            }
            (last.1.elapsed() > Duration::from_secs(1)).then_some(())
        });
        let at = self.echoes();
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(self.echoes(), at, "{what}: echoes came back after the cut");
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The sink: UDP echo on `ports`, and a TCP server on 5100 that counts what it receives.
fn sink(lab: &Lab, ports: &[u16]) -> Arc<AtomicU64> {
    sh(lab, NodeRole::Isp, &format!("ip addr add {SINK}/32 dev lo"));
    for &port in ports {
        in_ns(lab, NodeRole::Isp, move || {
            let socket = UdpSocket::bind((SINK, port)).unwrap();
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                let _ = socket.send_to(&buf[..n], from);
            }
        });
    }
    let received = Arc::new(AtomicU64::new(0));
    let listener = in_ns(lab, NodeRole::Isp, || {
        TcpListener::bind((SINK, 5100)).unwrap()
    })
    .join()
    .unwrap();
    let r = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let r = r.clone();
            std::thread::spawn(move || {
                let mut s = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    r.fetch_add(n as u64, Ordering::Relaxed);
                }
            });
        }
    });
    received
}

fn redeem(lab: &Lab, code: &str) -> Instant {
    let (status, page) = curl(
        lab,
        &[
            "--data",
            &format!("code={code}"),
            "http://192.168.1.1:8080/",
        ],
    );
    assert_eq!(status, 200, "{page}");
    Instant::now()
}

fn portal_table(lab: &Lab) -> bool {
    lab.command(NodeRole::Router, "nft")
        .args(["list", "table", "inet", "portico_portal"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Echo replies (ICMP, ICMPv6) the isp namespace received, from `/proc/net/snmp{,6}`.
fn isp_echo_replies(lab: &Lab) -> (u64, u64) {
    let text = sh(lab, NodeRole::Isp, "cat /proc/net/snmp /proc/net/snmp6");
    let mut lines = text.lines().filter(|l| l.starts_with("Icmp:"));
    let (names, values) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let v4 = names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "InEchoReps")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let v6 = text
        .lines()
        .find_map(|l| l.strip_prefix("Icmp6InEchoReplies"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (v4, v6)
}

#[allow(
    clippy::too_many_lines,
    reason = "one attacker's story in the lab, step by step"
)]
fn story(hook: &str, n: u32) {
    netlab::lab::sweep_stale_test_labs();
    let mut spec = LabSpec::for_test(n);
    spec.wan_dhcp = true;
    let lab = common::LabGuard(Lab::up(spec).expect("lab up"));
    let lab = &lab.0;
    common::fw4_nat_and_ipv6(lab);
    sh(
        lab,
        NodeRole::Isp,
        &format!(
            "ip addr add {FORGED}/32 dev lo && ip addr add {FORGED6}/128 dev lo && \
             ip -6 route add fd70:7274:0:1::/64 via fd70:7274:0:2::2"
        ),
    );
    let tcp_received = sink(lab, &[5001, 5002, 5003, 5004, 5005]);

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    portico_server::platform::dev::create_fresh_root(&root).unwrap();
    let config = root.join("etc/config/portico");
    let mut portico = uci::parse("portico", &std::fs::read(&config).unwrap()).unwrap();
    let section = portico
        .section_mut("offload")
        .expect("a fresh router offloads");
    assert_eq!(
        section.get("enabled").map(|v| v.to_vec()),
        Some(b"1".to_vec()),
        "on by default"
    );
    section.set("hook", hook.as_bytes());
    std::fs::write(&config, uci::emit::to_file(&portico)).unwrap();
    common::set_admin_password(&root);
    let mut server = serve(lab, &root);
    let jar = dir.path().join("cookies");
    let jar = jar.to_str().unwrap();
    common::log_in(lab, jar);
    wait_for("the fast path attached", || {
        let v = offload(lab, jar);
        (v["running"] == true && v["attached"].as_array().is_some_and(|a| a.len() == 2))
            .then_some(())
    });

    // 1. Portal off: a UDP flow is offloaded. The admin switches the portal on: it stops.
    let before_portal = Flow::start(lab, 5001);
    wait_for("the flow offloaded with the portal off", || {
        (offloaded(lab, jar, "udp", 5001) == 2).then_some(())
    });
    let (status, _) = curl(
        lab,
        &[
            "-b",
            jar,
            "-H",
            "Origin: http://192.168.1.1",
            "--data",
            "enabled=on&title=Lab&text=&walled_garden=&tries_per_minute=5",
            "http://192.168.1.1/portal/settings",
        ],
    );
    assert!(status == 303 || status == 200, "settings saved: {status}");
    wait_for("the portal's table", || portal_table(lab).then_some(()));
    before_portal.assert_cut("the flow from before the portal");
    drop(before_portal);

    // An oversized header block (1 MiB) gets 431 at once, on the portal and the admin UI.
    for port in [8080, 80] {
        let answer = in_ns(lab, NodeRole::Client, move || {
            let mut stream = TcpStream::connect(("192.168.1.1", port)).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut writer = stream.try_clone().unwrap();
            std::thread::spawn(move || {
                let mut request = b"GET / HTTP/1.1\r\nHost: 192.168.1.1\r\nX-Big: ".to_vec();
                request.resize(request.len() + (1 << 20), b'a');
                request.extend_from_slice(b"\r\n\r\n");
                let _ = writer.write_all(&request);
            });
            let mut head = [0u8; 64];
            let n = stream.read(&mut head).unwrap_or(0);
            String::from_utf8_lossy(&head[..n]).into_owned()
        })
        .join()
        .unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 431"),
            "port {port}: {answer:?}"
        );
    }

    // 2. DHCP with the offload on: three exchanges in a row, every one answered on the LAN,
    //    none seen by the isp's DHCP server.
    let client_mac = sh(lab, NodeRole::Client, "cat /sys/class/net/lan0/address")
        .trim()
        .to_owned();
    for _ in 0..3 {
        sh(
            lab,
            NodeRole::Client,
            &format!(
                "busybox udhcpc -q -n -f -t 5 -T 1 -i lan0 -x hostname:guest-phone -s {}",
                lab.spec.dir.join("udhcpc.script").display()
            ),
        );
    }
    let isp_log = std::fs::read_to_string(lab.spec.dir.join("isp-dnsmasq.log")).unwrap_or_default();
    assert!(
        !isp_log.contains(&client_mac) && !isp_log.contains("guest-phone"),
        "the client's DHCP reached the WAN:\n{isp_log}"
    );

    // DHCPv6 too: a SOLICIT from the client is answered by the LAN's DHCPv6 server (a
    // dnsmasq of this test's in the router) with the offload attached.
    let d = lab.spec.dir.display();
    sh(
        lab,
        NodeRole::Router,
        &format!(
            "dnsmasq --conf-file=/dev/null --no-resolv --port=0 --interface=br-lan \
             --bind-interfaces --dhcp-range=fd70:7274:0:1::1000,fd70:7274:0:1::1fff,64,1h \
             --pid-file={d}/dhcpv6.pid --dhcp-leasefile={d}/dhcpv6.leases \
             --log-facility={d}/dhcpv6.log"
        ),
    );
    let mac: Vec<u8> = client_mac
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect();
    let advertised = in_ns(lab, NodeRole::Client, move || {
        let lan0 = nix::net::if_::if_nametoindex("lan0").unwrap();
        let socket = UdpSocket::bind("[::]:546").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        // SOLICIT: transaction 0xabcdef, client id (DUID-LL), elapsed time, IA_NA 1.
        let mut solicit = vec![1, 0xab, 0xcd, 0xef, 0, 1, 0, 10, 0, 3, 0, 1];
        solicit.extend_from_slice(&mac);
        solicit.extend_from_slice(&[0, 8, 0, 2, 0, 0]);
        solicit.extend_from_slice(&[0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let servers = std::net::SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, lan0);
        let mut buf = [0u8; 1500];
        for _ in 0..10 {
            socket.send_to(&solicit, servers).unwrap();
            if let Ok((n, _)) = socket.recv_from(&mut buf)
                && n > 4
                && buf[0] == 2
                && buf[1..4] == [0xab, 0xcd, 0xef]
            {
                return true;
            }
        }
        false
    })
    .join()
    .unwrap();
    assert!(advertised, "no DHCPv6 ADVERTISE with the offload on");

    // 3. Forged sources: no answer leaves for the internet.
    sh(
        lab,
        NodeRole::Client,
        &format!("ip addr add {FORGED}/32 dev lan0 && ip addr add {FORGED6}/128 dev lan0 nodad"),
    );
    let replies = isp_echo_replies(lab);
    let dns = in_ns(lab, NodeRole::Isp, || {
        let socket = UdpSocket::bind((FORGED, 5353)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(4)))
            .unwrap();
        let mut buf = [0u8; 512];
        socket.recv(&mut buf).ok()
    });
    std::thread::sleep(Duration::from_millis(200));
    in_ns(lab, NodeRole::Client, || {
        let socket = UdpSocket::bind((FORGED, 5353)).unwrap();
        // A DNS query for example.org, A.
        let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x01\x00\x01";
        for _ in 0..3 {
            socket.send_to(query, "192.168.1.1:53").unwrap();
        }
    })
    .join()
    .unwrap();
    // Unanswered (exit 1) is what a forged source must get.
    for (family, source, router) in [
        ("-4", FORGED, "192.168.1.1"),
        ("-6", FORGED6, "fd70:7274:0:1::1"),
    ] {
        let out = lab
            .command(NodeRole::Client, "ping")
            .args([
                family, "-c", "3", "-i", "0.2", "-W", "1", "-I", source, router,
            ])
            .output()
            .expect("ping (iputils-ping)");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        dns.join().unwrap(),
        None,
        "a DNS answer reached the forged source"
    );
    assert_eq!(
        isp_echo_replies(lab),
        replies,
        "echo replies reached the forged sources"
    );
    sh(
        lab,
        NodeRole::Client,
        &format!("ip addr del {FORGED}/32 dev lan0 && ip addr del {FORGED6}/128 dev lan0"),
    );
    // The device's own addresses still reach the router.
    let out = lab
        .command(NodeRole::Client, "ping")
        .args(["-c", "1", "-W", "2", "192.168.1.1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ping from the real address: {}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        sh(lab, NodeRole::Client, "ip addr; ip route; ip neigh"),
        sh(
            lab,
            NodeRole::Router,
            "ip neigh; nft list table inet portico_portal"
        )
    );

    // 4. The table goes missing; a captive device opens a flow meanwhile; the table returns
    //    and the flow is cut.
    sh(
        lab,
        NodeRole::Router,
        "nft delete table inet portico_portal",
    );
    let sneaky = Flow::start(lab, 5002);
    wait_for("the table rebuilt", || portal_table(lab).then_some(()));
    sneaky.assert_cut("the flow opened while the table was missing");
    drop(sneaky);

    // 5. An authorised device: its flows take the fast path. Before its voucher ends it
    //    re-points the router's neighbour entry for its address to a second MAC (a macvlan
    //    and a gratuitous ARP). Both streams still stop at the end.
    let (_, code) = voucher(&root, "25s");
    let authorised_at = redeem(lab, &code);
    let udp = Flow::start(lab, 5003);
    let tcp = in_ns(lab, NodeRole::Client, || {
        TcpStream::connect(SocketAddr::new(SINK.parse().unwrap(), 5100)).unwrap()
    })
    .join()
    .unwrap();
    let writing = Arc::new(AtomicBool::new(true));
    {
        let writing = writing.clone();
        let mut tcp = tcp;
        std::thread::spawn(move || {
            tcp.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
            while writing.load(Ordering::Relaxed) {
                if tcp.write_all(&[b'x'; 512]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
    }
    wait_for("the authorised flows on the fast path", || {
        (offloaded(lab, jar, "udp", 5003) == 2 && offloaded(lab, jar, "tcp", 5100) == 2)
            .then_some(())
    });
    let client_ip = sh(
        lab,
        NodeRole::Client,
        "ip -4 -o addr show dev lan0 | awk '{print $4}' | cut -d/ -f1",
    )
    .trim()
    .to_owned();
    let wait = Duration::from_secs(19).saturating_sub(authorised_at.elapsed());
    std::thread::sleep(wait);
    udp.wait_flowing("the UDP stream shortly before the voucher's end");
    sh(
        lab,
        NodeRole::Client,
        &format!(
            "ip link add mv0 link lan0 address 02:66:66:66:66:66 type macvlan mode bridge && \
             ip link set mv0 up && busybox arping -U -c 2 -I mv0 -s {client_ip} {client_ip}"
        ),
    );
    let neighbour = sh(lab, NodeRole::Router, &format!("ip neigh show {client_ip}"));
    assert!(
        neighbour.contains("02:66:66:66:66:66"),
        "the router's neighbour entry re-pointed: {neighbour}"
    );
    let until = Duration::from_secs(26).saturating_sub(authorised_at.elapsed());
    std::thread::sleep(until);
    udp.assert_cut("the UDP stream after the voucher's end");
    let at = tcp_received.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        tcp_received.load(Ordering::Relaxed),
        at,
        "the TCP stream carried data after the voucher's end"
    );
    writing.store(false, Ordering::Relaxed);
    drop(udp);
    sh(lab, NodeRole::Client, "ip link del mv0");
    sh(
        lab,
        NodeRole::Router,
        &format!("ip neigh flush {client_ip}"),
    );

    // 6. Someone removes the device from the kernel's set (`nft delete element`): its
    //    offloaded flow stops at once, as when access ends.
    let (id, code) = voucher(&root, "2h");
    redeem(lab, &code);
    let flow = Flow::start(lab, 5004);
    wait_for("the flow offloaded", || {
        (offloaded(lab, jar, "udp", 5004) == 2).then_some(())
    });
    sh(
        lab,
        NodeRole::Router,
        &format!("nft delete element inet portico_portal allowed '{{ {client_mac} }}'"),
    );
    flow.assert_cut("the flow of a device removed from the set");
    drop(flow);
    let out = common::portico()
        .arg("--root")
        .arg(&root)
        .args(["vouchers", "invalidate", &id.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 7. Authorised again; the flow is offloaded; Portico dies; the voucher ends while it is
    //    down; after the restart the device gets nothing.
    let (_, code) = voucher(&root, "15s");
    let authorised_at = redeem(lab, &code);
    let flow = Flow::start(lab, 5005);
    wait_for("the flow offloaded before the kill", || {
        (offloaded(lab, jar, "udp", 5005) == 2).then_some(())
    });
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    std::thread::sleep(Duration::from_secs(17).saturating_sub(authorised_at.elapsed()));
    let server = serve(lab, &root);
    common::log_in(lab, jar);
    flow.assert_cut("the expired device's flow after the restart");
    let v = offload(lab, jar);
    assert_eq!(v["running"], true, "{v}");
    assert_eq!(offloaded(lab, jar, "udp", 5005), 0, "{v}");
    drop(flow);
    drop(server);
}

#[test]
fn xdp_no_guest_flow_outlives_its_access() {
    story("xdp", 16);
}

#[test]
fn tc_no_guest_flow_outlives_its_access() {
    story("tc", 17);
}
