//! The firewall offload in the namespace lab: client ─ router (Portico, the fast path on its
//! LAN bridge port and two WAN links, masquerade as fw4 would do it) ─ isp (the traffic sink,
//! run by this test inside the isp namespace so it can say which source address it saw).
//! One story: a UDP flow goes through the fast path (its counters grow) and the isp sees the
//! router's WAN address; a route change mid-flow moves it to the other WAN link; a firewall
//! change flushes the map and the flow returns; the link going down sends it back; a TCP FIN
//! hands its flow back to the stack; an idle flow goes after its conntrack timeout; a frozen
//! Portico trips the watchdog and a stopped one (SIGTERM, with a live view open) detaches, and
//! the traffic keeps flowing through the stack. Needs root (CI runs as root).

mod common;

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{curl, in_ns, offload, start, wait_for};

fn sh(lab: &Lab, role: NodeRole, script: &str) {
    common::sh(lab, role, script);
}
use netlab::{Lab, LabSpec, NodeRole};

/// The sink's address, on the isp's loopback: reachable through either WAN link.
const SINK: &str = "198.51.100.7";
const UDP_PORT: u16 = 5001;
const TCP_PORT: u16 = 5002;

fn counter(v: &serde_json::Value, name: &str) -> u64 {
    v["counters"][name].as_u64().unwrap_or(0)
}

/// The offloaded flows of a protocol whose source or destination is `sink:port`.
fn flows_to(v: &serde_json::Value, proto: &str, port: u16) -> Vec<serde_json::Value> {
    let end = format!("{SINK}:{port}");
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["proto"] == proto && (f["dst"] == end.as_str() || f["src"] == end.as_str()))
        .cloned()
        .collect()
}

fn rx_packets(lab: &Lab, dev: &str) -> u64 {
    let out = lab
        .command(NodeRole::Isp, "cat")
        .arg(format!("/sys/class/net/{dev}/statistics/rx_packets"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one story in the lab: offload, route change, FIN, watchdog, kill"
)]
fn established_flows_take_the_fast_path_and_the_stack_takes_over_when_needed() {
    netlab::lab::sweep_stale_test_labs();
    let mut spec = LabSpec::for_test(7);
    spec.wan_dhcp = true;
    let lab = common::LabGuard(Lab::up(spec).expect("lab up"));
    let lab = &lab.0;
    let (r, i) = (lab.ns(NodeRole::Router), lab.ns(NodeRole::Isp));
    // A second WAN link (eth2 ─ wan1), the sink's address on the isp's loopback, routes to it
    // over the first link; masquerade out of both WAN links (what fw4 would do). The veth
    // pitfalls (design.md): the ends that receive redirected frames need NAPI (GRO on), and
    // locally sent frames must carry full checksums (tx offload off).
    let out = std::process::Command::new("ip")
        .args([
            "-n", &r, "link", "add", "eth2", "type", "veth", "peer", "name", "wan1", "netns", &i,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sh(
        lab,
        NodeRole::Router,
        &format!(
            "ip link set eth2 up && ip addr add 100.65.0.2/24 dev eth2 && \
             ip route add {SINK}/32 via 100.64.0.1 dev eth1 && \
             nft add table inet labnat && \
             nft add chain inet labnat post '{{ type nat hook postrouting priority srcnat; }}' && \
             nft add rule inet labnat post oifname '{{ eth1, eth2 }}' masquerade && \
             sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=20"
        ),
    );
    sh(
        lab,
        NodeRole::Isp,
        &format!(
            "ip link set wan1 up && ip addr add 100.65.0.1/24 dev wan1 && \
             ip addr add {SINK}/32 dev lo && \
             ethtool -K wan0 tx off gro on && ethtool -K wan1 tx off gro on"
        ),
    );
    sh(lab, NodeRole::Client, "ethtool -K lan0 tx off gro on");

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    portico_server::platform::dev::create_fresh_root(root).unwrap();
    let config = root.join("etc/config/portico");
    // The fresh router's offload section, with the second WAN link and a short watchdog.
    let mut portico = uci::parse("portico", &std::fs::read(&config).unwrap()).unwrap();
    let section = portico
        .section_mut("offload")
        .expect("a fresh router offloads");
    section.delete("interface");
    section.set("interfaces", b"br-lan eth1 eth2");
    section.set("watchdog_seconds", b"2");
    std::fs::write(&config, uci::emit::to_file(&portico)).unwrap();
    common::set_admin_password(root);

    let mut cmd = lab.command(NodeRole::Router, env!("CARGO_BIN_EXE_portico"));
    cmd.args(["serve", "--listen", "0.0.0.0:80", "--root"])
        .arg(root);
    let mut server = start(cmd);
    wait_for("portico on 192.168.1.1", || {
        (curl(lab, &["http://192.168.1.1/healthz"]).0 == 200).then_some(())
    });
    let jar = dir.path().join("cookies");
    let jar = jar.to_str().unwrap();
    common::log_in(lab, jar);
    let v = wait_for("the fast path attached", || {
        let v = offload(lab, jar);
        (v["running"] == true && v["attached"].as_array().is_some_and(|a| a.len() == 3))
            .then_some(v)
    });
    let names: Vec<&str> = v["attached"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["eth0", "eth1", "eth2"],
        "the bridge's port and both WAN links"
    );

    // The sink: UDP echo and TCP echo, remembering the sources it saw.
    let sources: Arc<Mutex<Vec<IpAddr>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (sources, stop) = (sources.clone(), stop.clone());
        in_ns(lab, NodeRole::Isp, move || {
            let socket = UdpSocket::bind((SINK, UDP_PORT)).unwrap();
            socket
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf) {
                    let mut seen = sources.lock().unwrap();
                    if !seen.contains(&from.ip()) {
                        seen.push(from.ip());
                    }
                    let _ = socket.send_to(&buf[..n], from);
                }
            }
        });
    }
    let listener = in_ns(lab, NodeRole::Isp, || {
        TcpListener::bind((SINK, TCP_PORT)).unwrap()
    })
    .join()
    .unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut s = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });

    // The client: a UDP packet every 5 ms while `sending`, counting the echoes.
    let echoes = Arc::new(AtomicU64::new(0));
    let sending = Arc::new(AtomicBool::new(true));
    {
        let (echoes, stop, sending) = (echoes.clone(), stop.clone(), sending.clone());
        in_ns(lab, NodeRole::Client, move || {
            let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
            socket.connect((SINK, UDP_PORT)).unwrap();
            socket
                .set_read_timeout(Some(Duration::from_millis(5)))
                .unwrap();
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if sending.load(Ordering::Relaxed) {
                    let _ = socket.send(&[0x42; 200]);
                }
                while socket.recv(&mut buf).is_ok() {
                    echoes.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }

    // 1. The flow is offloaded both ways and the fast path carries it.
    let v = wait_for(
        "the UDP flow offloaded both ways with fast-path packets",
        || {
            let v = offload(lab, jar);
            let flows = flows_to(&v, "udp", UDP_PORT);
            (flows.len() == 2
                && flows
                    .iter()
                    .all(|f| f["state"] == "offloaded" && f["packets"].as_u64() > Some(20)))
            .then_some(v)
        },
    );
    assert!(counter(&v, "fast_packets") > 40, "{v}");
    // The dashboard is being watched (this API): the programs' time per packet is measured.
    wait_for("the programs' time per packet on the dashboard", || {
        offload(lab, jar)["ns_per_packet"]
            .as_f64()
            .is_some_and(|ns| ns > 0.0)
            .then_some(())
    });
    let flows = flows_to(&v, "udp", UDP_PORT);
    let out = flows
        .iter()
        .find(|f| f["dst"] == format!("{SINK}:{UDP_PORT}").as_str())
        .unwrap();
    assert_eq!(out["in_if"], "eth0", "{out}");
    assert_eq!(out["out_if"], "eth1", "{out}");
    assert!(
        out["nat"].as_str().unwrap().starts_with("SNAT 100.64.0."),
        "{out}"
    );
    let back = flows
        .iter()
        .find(|f| f["src"] == format!("{SINK}:{UDP_PORT}").as_str())
        .unwrap();
    assert_eq!(
        (back["in_if"].as_str(), back["out_if"].as_str()),
        (Some("eth1"), Some("eth0"))
    );
    assert!(
        back["nat"].as_str().unwrap().starts_with("DNAT 192.168.1."),
        "{back}"
    );
    let seen = sources.lock().unwrap().clone();
    assert!(
        !seen.is_empty()
            && seen
                .iter()
                .all(|ip| ip.to_string().starts_with("100.64.0.")),
        "the isp sees only the router's WAN address: {seen:?}"
    );

    // 2. A route change mid-flow: the next packets leave by the other link, still fast.
    let before = (
        counter(&offload(lab, jar), "fast_packets"),
        rx_packets(lab, "wan1"),
    );
    sh(
        lab,
        NodeRole::Router,
        &format!("ip route replace {SINK}/32 via 100.65.0.1 dev eth2"),
    );
    wait_for("the flow following the new route on the fast path", || {
        let v = offload(lab, jar);
        let moved = flows_to(&v, "udp", UDP_PORT)
            .iter()
            .any(|f| f["out_if"] == "eth2" && f["state"] == "offloaded");
        (moved
            && counter(&v, "fast_packets") > before.0 + 40
            && rx_packets(lab, "wan1") > before.1 + 40)
            .then_some(())
    });

    // 2b. A firewall change flushes the map; the flow comes back through conntrack.
    let flushes = offload(lab, jar)["flushes"].as_u64().unwrap_or(0);
    sh(
        lab,
        NodeRole::Router,
        "nft add table inet probe && nft delete table inet probe",
    );
    wait_for("the flush, then the flow offloaded again", || {
        let v = offload(lab, jar);
        let back = flows_to(&v, "udp", UDP_PORT)
            .iter()
            .filter(|f| f["state"] == "offloaded")
            .count();
        (v["flushes"].as_u64() > Some(flushes) && back == 2).then_some(())
    });

    // 2c. The link it leaves by goes down: its flows are removed, and the flow, routed over
    //     eth1 again, is offloaded anew there.
    let installs = offload(lab, jar)["offloaded_total"].as_u64().unwrap_or(0);
    sh(lab, NodeRole::Router, "ip link set eth2 down");
    wait_for("the flow re-offloaded over eth1", || {
        let v = offload(lab, jar);
        let over_eth1 = flows_to(&v, "udp", UDP_PORT)
            .iter()
            .any(|f| f["out_if"] == "eth1" && f["state"] == "offloaded");
        (over_eth1 && v["offloaded_total"].as_u64() > Some(installs)).then_some(())
    });

    // 3. TCP: offloaded once established; the FIN hands it back to the stack.
    let mut tcp = in_ns(lab, NodeRole::Client, || {
        TcpStream::connect(SocketAddr::new(SINK.parse().unwrap(), TCP_PORT)).unwrap()
    })
    .join()
    .unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 1000];
    wait_for("the TCP flow offloaded and carrying data", || {
        tcp.write_all(&[7; 1000]).unwrap();
        if let Err(e) = tcp.read_exact(&mut buf) {
            panic!("TCP echo: {e}\n{}", offload(lab, jar));
        }
        let v = offload(lab, jar);
        let flows = flows_to(&v, "tcp", TCP_PORT);
        (flows.len() == 2
            && flows
                .iter()
                .all(|f| f["state"] == "offloaded" && f["packets"].as_u64() > Some(0)))
        .then_some(())
    });
    let finished_before = counter(&offload(lab, jar), "finished");
    tcp.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(
        tcp.read(&mut buf).unwrap(),
        0,
        "the sink closed its side too"
    );
    wait_for(
        "the FIN marking the flow and conntrack taking it back",
        || {
            let v = offload(lab, jar);
            let gone = flows_to(&v, "tcp", TCP_PORT)
                .iter()
                .all(|f| f["state"] != "offloaded");
            (gone && counter(&v, "finished") > finished_before).then_some(())
        },
    );

    // 4. Portico frozen: the watchdog hands every packet to the stack; traffic flows on.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.child.id()).unwrap());
    let watchdog_before = counter(&offload(lab, jar), "watchdog");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    std::thread::sleep(Duration::from_secs(3)); // past the 2 s watchdog
    let during = echoes.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(2));
    let after_freeze = echoes.load(Ordering::Relaxed);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert!(
        after_freeze > during + 50,
        "echoes while Portico was frozen: {during} → {after_freeze}"
    );
    let v = offload(lab, jar);
    assert!(
        counter(&v, "watchdog") > watchdog_before + 50,
        "{}",
        v["counters"]
    );

    // 5. Idle: the flow goes once conntrack's timeout (20 s here) has passed without packets.
    sending.store(false, Ordering::Relaxed);
    wait_for("the idle UDP flow removed", || {
        flows_to(&offload(lab, jar), "udp", UDP_PORT)
            .is_empty()
            .then_some(())
    });
    sending.store(true, Ordering::Relaxed);

    // 6. Portico stopped (SIGTERM) while a dashboard follows the live view: it exits, the
    //    programs go with it, the stack forwards.
    let mut live = lab
        .command(NodeRole::Client, "curl")
        .args([
            "-s",
            "-N",
            "-b",
            jar,
            "http://192.168.1.1/api/v1/offload/events",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_for("Portico to exit on SIGTERM", || {
        server
            .child
            .try_wait()
            .unwrap()
            .map(|status| assert!(status.success()))
    });
    let _ = live.kill();
    let _ = live.wait();
    let at_kill = echoes.load(Ordering::Relaxed);
    wait_for("echoes after Portico was killed", || {
        (echoes.load(Ordering::Relaxed) > at_kill + 100).then_some(())
    });
    let out = lab
        .command(NodeRole::Router, "ip")
        .args(["link", "show", "eth0"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("xdp"),
        "no program left attached"
    );
    stop.store(true, Ordering::Relaxed);
}
