//! Firewall offload benchmarks in a namespace lab of their own (`bench/offload.sh`). One run
//! measures three set-ups of the same router namespace, each against the same traffic:
//! (a) the kernel forwarding through an nftables firewall with conntrack and masquerade (what
//! fw4 does), (b) Portico's XDP fast path in front of it, (c) its TC fast path. For each:
//! 1. the most 64-byte UDP frames per second the isp receives (one sender, pinned to CPU 0);
//! 2. CPU time per forwarded packet at a fixed 20 000 packets/s (all of /proc/stat's busy
//!    time, sender and sink included: the same for all three, so the difference is the
//!    router's);
//! 3. TCP throughput (iperf3, client on CPU 0, server on CPU 1).
//!
//! For (b) and (c) also the delay from a new flow's first packet to its first fast-path packet
//! (the fast path's own timestamps), over 40 flows. Prints the ratios b/a and c/a.

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "packet counts and times become rates and percentiles"
)]

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use netlab::{Lab, LabSpec, NodeRole};

const SINK: &str = "100.64.0.1";
const BLAST_PORT: u16 = 9;
const PASSWORD: &str = "Correct-Horse-Battery-9";

#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Stack,
    Xdp,
    Tc,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Stack => "(a) kernel + nftables conntrack/NAT",
            Setup::Xdp => "(b) XDP offload",
            Setup::Tc => "(c) TC offload",
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Figures {
    max_pps: f64,
    cpu_ns_per_packet: f64,
    tcp_gbps: f64,
}

#[allow(
    clippy::too_many_lines,
    reason = "one run, printed in the order it measures"
)]
fn main() -> anyhow::Result<()> {
    let bin = std::env::var("PORTICO_BIN").context("PORTICO_BIN: the portico binary to measure")?;
    let seconds: u64 = env_or("BENCH_SECONDS", 5);
    let repeat: usize = env_or("BENCH_REPEAT", 3);
    netlab::lab::sweep_stale_test_labs();
    let mut spec = LabSpec::for_test(91);
    spec.wan_dhcp = true;
    let lab = Guard(Lab::up(spec)?);
    let lab = &lab.0;
    // The firewall of (a), kept for (b) and (c): the fast path sits in front of it.
    sh(
        lab,
        NodeRole::Router,
        "nft add table inet fw && \
         nft add chain inet fw forward_chain '{ type filter hook forward priority filter; policy drop; }' && \
         nft add rule inet fw forward_chain ct state established,related accept && \
         nft add rule inet fw forward_chain iifname br-lan oifname eth1 accept && \
         nft add chain inet fw post '{ type nat hook postrouting priority srcnat; }' && \
         nft add rule inet fw post oifname eth1 masquerade",
    )?;
    // The sink drops the blast early (no ICMP back) and runs iperf3.
    sh(
        lab,
        NodeRole::Isp,
        &format!(
            "nft add table inet sink && \
             nft add chain inet sink pre '{{ type filter hook prerouting priority -300; }}' && \
             nft add rule inet sink pre udp dport {BLAST_PORT} drop"
        ),
    )?;
    let iperf = Killed(
        lab.command(NodeRole::Isp, "taskset")
            .args(["-c", "1", "iperf3", "-s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );

    let dir = tempfile::tempdir()?;
    let root = dir.path();
    portico_server::platform::dev::create_fresh_root(root)?;
    let answers = root.join("answers.json");
    std::fs::write(&answers, format!(r#"{{"password": "{PASSWORD}"}}"#))?;
    let ok = Command::new(&bin)
        .arg("--root")
        .arg(root)
        .args(["wizard", "apply", "--unchecked", "--answers"])
        .arg(&answers)
        .stdout(Stdio::null())
        .status()?;
    if !ok.success() {
        bail!("wizard apply failed");
    }

    println!(
        "# Firewall offload benchmarks (Portico {})\n",
        env!("CARGO_PKG_VERSION")
    );
    println!("{seconds} s per measurement, median of {repeat}; 2 cores; veth links.\n");
    let mut results = Vec::new();
    for setup in [Setup::Stack, Setup::Xdp, Setup::Tc] {
        configure(root, setup)?;
        let server = Killed(
            lab.command(NodeRole::Router, &bin)
                .args(["serve", "--listen", "0.0.0.0:80", "--root"])
                .arg(root)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let jar = root.join("cookies");
        let jar = jar.to_str().context("path")?.to_owned();
        wait("portico", || {
            curl(lab, &["http://192.168.1.1/healthz"]).is_ok_and(|(c, _)| c == 200)
        })?;
        let (code, _) = curl(
            lab,
            &[
                "-c",
                &jar,
                "-H",
                "Origin: http://192.168.1.1",
                "--data",
                &format!("user=root&password={PASSWORD}"),
                "http://192.168.1.1/login",
            ],
        )?;
        if code != 303 {
            bail!("login answered {code}");
        }
        if setup != Setup::Stack {
            wait("the fast path attached", || {
                api(lab, &jar).is_ok_and(|v| v["running"] == true)
            })?;
        }
        let figures = measure(lab, &jar, setup, seconds, repeat)?;
        let delays = if setup == Setup::Stack {
            Vec::new()
        } else {
            offload_delays(lab, &jar)?
        };
        println!(
            "{:<38} max {:>10.0} pkt/s   CPU {:>7.0} ns/pkt at 20k pkt/s   TCP {:>6.2} Gbit/s",
            setup.name(),
            figures.max_pps,
            figures.cpu_ns_per_packet,
            figures.tcp_gbps
        );
        if !delays.is_empty() {
            println!(
                "{:<38} first packet → first fast-path packet over {} flows: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms (goal ≤ 50 ms)",
                "",
                delays.len(),
                percentile(&delays, 0.5),
                percentile(&delays, 0.9),
                percentile(&delays, 1.0)
            );
            let v = api(lab, &jar)?;
            println!(
                "{:<38} kernel time per packet {:.0} ns; redirect errors {}",
                "",
                v["ns_per_packet"].as_f64().unwrap_or(f64::NAN),
                v["counters"]["redirect_errors"]
            );
        }
        drop(server);
        results.push(figures);
    }
    let (a, b, c) = (results[0], results[1], results[2]);
    println!("\nratios against (a):");
    println!(
        "  b/a: max pkt/s {:.2}, CPU per packet {:.2}, TCP {:.2}",
        b.max_pps / a.max_pps,
        b.cpu_ns_per_packet / a.cpu_ns_per_packet,
        b.tcp_gbps / a.tcp_gbps
    );
    println!(
        "  c/a: max pkt/s {:.2}, CPU per packet {:.2}, TCP {:.2}",
        c.max_pps / a.max_pps,
        c.cpu_ns_per_packet / a.cpu_ns_per_packet,
        c.tcp_gbps / a.tcp_gbps
    );
    drop(iperf);
    Ok(())
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The offload section for a set-up.
fn configure(root: &std::path::Path, setup: Setup) -> anyhow::Result<()> {
    let path = root.join("etc/config/portico");
    let mut portico = uci::parse("portico", &std::fs::read(&path)?)?;
    let section = portico.section_mut("offload").context("offload section")?;
    section.set("enabled", if setup == Setup::Stack { b"0" } else { b"1" });
    section.set("hook", if setup == Setup::Tc { b"tc" } else { b"xdp" });
    std::fs::write(&path, uci::emit::to_file(&portico))?;
    Ok(())
}

fn measure(
    lab: &Lab,
    jar: &str,
    setup: Setup,
    seconds: u64,
    repeat: usize,
) -> anyhow::Result<Figures> {
    let client = lab.ns(NodeRole::Client);
    let mut pps = Vec::new();
    let mut cpu = Vec::new();
    let mut tcp = Vec::new();
    for _ in 0..repeat {
        // Warm the flow up so it is offloaded before the clock starts.
        blast(&client, Some(1000.0), Duration::from_millis(500));
        if setup != Setup::Stack {
            wait("the blast flow offloaded", || {
                api(lab, jar).is_ok_and(|v| {
                    v["flows"].as_array().is_some_and(|f| {
                        f.iter().any(|f| {
                            f["dst"] == format!("{SINK}:{BLAST_PORT}").as_str()
                                && f["state"] == "offloaded"
                        })
                    })
                })
            })?;
        }
        let before = rx_packets(lab)?;
        let start = Instant::now();
        blast(&client, None, Duration::from_secs(seconds));
        pps.push((rx_packets(lab)? - before) as f64 / start.elapsed().as_secs_f64());

        let before = (rx_packets(lab)?, busy_ns()?);
        blast(&client, Some(20_000.0), Duration::from_secs(seconds));
        let after = (rx_packets(lab)?, busy_ns()?);
        cpu.push((after.1 - before.1) as f64 / (after.0 - before.0).max(1) as f64);

        let out = lab
            .command(NodeRole::Client, "taskset")
            .args(["-c", "0", "iperf3", "-c", SINK, "-J", "-t"])
            .arg(seconds.to_string())
            .output()?;
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        tcp.push(
            report["end"]["sum_received"]["bits_per_second"]
                .as_f64()
                .unwrap_or(0.0)
                / 1e9,
        );
    }
    Ok(Figures {
        max_pps: median(&mut pps),
        cpu_ns_per_packet: median(&mut cpu),
        tcp_gbps: median(&mut tcp),
    })
}

/// Sends 18-byte UDP payloads (64-byte frames with the FCS) from the client, pinned to CPU 0:
/// as fast as one thread can, or at `rate` packets per second.
fn blast(client: &str, rate: Option<f64>, length: Duration) {
    std::thread::scope(|s| {
        s.spawn(|| {
            netlab::scratch::enter(client).expect("enter the client namespace");
            let mut cpus = nix::sched::CpuSet::new();
            let _ = cpus.set(0);
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &cpus);
            let socket = UdpSocket::bind("0.0.0.0:40009").expect("bind");
            socket.connect((SINK, BLAST_PORT)).expect("connect");
            let payload = [0x55u8; 18];
            let start = Instant::now();
            let mut sent = 0u64;
            while start.elapsed() < length {
                for _ in 0..64 {
                    let _ = socket.send(&payload);
                }
                sent += 64;
                if let Some(rate) = rate {
                    let due = Duration::from_secs_f64(sent as f64 / rate);
                    if let Some(ahead) = due.checked_sub(start.elapsed()) {
                        std::thread::sleep(ahead);
                    }
                }
            }
        });
    });
}

/// New UDP flows, one after the other, each sending every millisecond for 150 ms; the delay
/// of each from its first packet to its first fast-path packet (from the fast path's map).
fn offload_delays(lab: &Lab, jar: &str) -> anyhow::Result<Vec<f64>> {
    let client = lab.ns(NodeRole::Client);
    let ports: Vec<u16> = (41000..41040).collect();
    for &port in &ports {
        std::thread::scope(|s| {
            s.spawn(|| {
                netlab::scratch::enter(&client).expect("enter");
                let socket = UdpSocket::bind(("0.0.0.0", port)).expect("bind");
                socket.connect((SINK, 7)).expect("connect");
                for _ in 0..150 {
                    let _ = socket.send(b"delay probe");
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        });
    }
    std::thread::sleep(Duration::from_millis(1500)); // the dashboard's snapshot is per second
    let v = api(lab, jar)?;
    let delays: Vec<f64> = v["flows"]
        .as_array()
        .context("flows")?
        .iter()
        .filter(|f| {
            f["src"]
                .as_str()
                .and_then(|s| s.rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok())
                .is_some_and(|p| ports.contains(&p))
        })
        .filter_map(|f| f["offload_delay_ms"].as_f64())
        .collect();
    Ok(delays)
}

fn api(lab: &Lab, jar: &str) -> anyhow::Result<serde_json::Value> {
    let (code, body) = curl(lab, &["-b", jar, "http://192.168.1.1/api/v1/offload"])?;
    if code != 200 {
        bail!("api answered {code}");
    }
    Ok(serde_json::from_str(&body)?)
}

fn curl(lab: &Lab, args: &[&str]) -> anyhow::Result<(u16, String)> {
    let out = lab
        .command(NodeRole::Client, "curl")
        .args(["-s", "-m", "10", "-w", "\n%{http_code}"])
        .args(args)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    Ok((code.trim().parse().unwrap_or(0), body.to_owned()))
}

fn rx_packets(lab: &Lab) -> anyhow::Result<u64> {
    Ok(sh(
        lab,
        NodeRole::Isp,
        "cat /sys/class/net/wan0/statistics/rx_packets",
    )?
    .trim()
    .parse()?)
}

/// Busy CPU time of the whole machine so far (/proc/stat, all but idle and iowait).
fn busy_ns() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("/proc/stat")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let busy: u64 = v
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, x)| x)
        .sum();
    let tick = 1_000_000_000
        / nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?.unwrap_or(100) as u64;
    Ok(busy * tick)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

fn wait(what: &str, mut ok: impl FnMut() -> bool) -> anyhow::Result<()> {
    let start = Instant::now();
    while !ok() {
        if start.elapsed() > Duration::from_secs(60) {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn sh(lab: &Lab, role: NodeRole, script: &str) -> anyhow::Result<String> {
    let out = lab.command(role, "sh").args(["-c", script]).output()?;
    if !out.status.success() {
        bail!("{script}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the lab when dropped.
struct Guard(Lab);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.down();
    }
}

/// Kills the child when dropped.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
