//! Captive-portal benchmarks in a namespace lab of their own (`bench/portal.sh`), each against
//! a baseline measured in the same run, with the firewall offload on (as it ships) and off:
//! 1. voucher submitted → first packet forwarded (goal ≤ 100 ms), beside the HTTP answer time,
//!    and with the offload on → the first packet the fast path forwarded (the packets the
//!    stack forwarded are counted by an nft counter after the portal's gate);
//! 2. voucher expiry → traffic cut (goal ≤ 1 s), against the second the store says;
//! 3. the portal page at 200 concurrent connections for 30 s (wrk), errors and requests/s,
//!    against nginx serving the same bytes from the same namespace (offload on only: it does
//!    not touch the router's own traffic);
//! 4. forwarding throughput (iperf3) with 10 000 authorised MACs against 10.
//!
//! Needs root, `wrk`, `nginx` and `iperf3` (the script installs them).

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use netlab::{Lab, LabSpec, NodeRole};
use portico_server::portal::vouchers::{NewVouchers, Vouchers};
use portico_server::state::StateDb;

const PORTAL: &str = "192.168.1.1:8080";
const ECHO: &str = "100.64.0.1:7";

fn main() -> anyhow::Result<()> {
    let bin = std::env::var("PORTICO_BIN").context("PORTICO_BIN: the portico binary to measure")?;
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    netlab::lab::sweep_stale_test_labs();
    println!(
        "# Captive portal benchmarks (Portico {})\n",
        env!("CARGO_PKG_VERSION")
    );
    let on = run(&bin, true, seconds)?;
    let off = run(&bin, false, seconds)?;
    println!("## Offload on (the default) and off, side by side\n");
    println!("| | offload on | offload off |\n|---|---|---|");
    println!(
        "| submit → first forwarded packet | {} | {} |",
        on.first, off.first
    );
    println!(
        "| submit → first fast-path packet | {} | – |",
        on.first_fast
    );
    println!(
        "| the portal's HTTP answer (baseline) | {} | {} |",
        on.answer, off.answer
    );
    println!(
        "| expiry → cut (last echo − end) | {} | {} |",
        on.cut, off.cut
    );
    println!(
        "| iperf3 TCP with {} authorised MACs | {:.2} Gbit/s | {:.2} Gbit/s |",
        on.set_small, on.small, off.small
    );
    println!(
        "| iperf3 TCP with {} authorised MACs | {:.2} Gbit/s | {:.2} Gbit/s |",
        on.set_large, on.large, off.large
    );
    println!(
        "| 10 000 / 10 | {:.2} | {:.2} |",
        on.large / on.small,
        off.large / off.small
    );
    Ok(())
}

/// What one run measured.
struct Figures {
    first: String,
    first_fast: String,
    answer: String,
    cut: String,
    set_small: usize,
    small: f64,
    set_large: usize,
    large: f64,
}

/// One lab, one Portico (offload on or off), every measurement.
fn run(bin: &str, offload: bool, seconds: u64) -> anyhow::Result<Figures> {
    let mut spec = LabSpec::for_test(if offload { 90 } else { 91 });
    spec.wan_dhcp = true;
    spec.sink_command = Some(vec![bin.to_owned(), "lab".into(), "sink".into()]);
    let lab = Guard(Lab::up(spec)?);
    let lab = &lab.0;
    sh(
        lab,
        NodeRole::Router,
        "nft add table inet labnat && nft add chain inet labnat post '{ type nat hook postrouting priority srcnat; }' && nft add rule inet labnat post oifname eth1 masquerade && \
         nft add chain inet labnat counted '{ type filter hook forward priority 100; }' && \
         nft add rule inet labnat counted ip daddr 100.64.0.1 udp dport 7 counter",
    )?;

    let dir = tempfile::tempdir()?;
    let root = dir.path();
    portico_server::platform::dev::create_fresh_root(root)?;
    let config = root.join("etc/config/portico");
    let mut text = std::fs::read_to_string(&config)?;
    text.push_str("\nconfig portal 'portal'\n\toption enabled '1'\n\tlist interface 'br-lan'\n");
    if !offload {
        text = text.replace(
            "option enabled '1'\n\toption hook",
            "option enabled '0'\n\toption hook",
        );
    }
    std::fs::write(&config, text)?;
    let store = Vouchers::open(StateDb::open(root)?)?;

    let mut server = lab.command(NodeRole::Router, bin);
    server
        .args([
            "serve",
            "--listen",
            "0.0.0.0:80",
            "--portal-listen",
            "0.0.0.0:8080",
            "--root",
        ])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let server = Killed(server.spawn()?);
    let client = lab.ns(NodeRole::Client);
    wait("the portal", || in_ns(&client, || http_get("/").is_ok()))?;
    let client_mac = mac_of(lab, NodeRole::Client, "lan0")?;

    if offload {
        wait("the fast path on the LAN port", || {
            sh(lab, NodeRole::Router, "ip link show eth0").is_ok_and(|t| t.contains("xdp"))
        })?;
    }
    let attached = sh(lab, NodeRole::Router, "ip link show eth0")?.contains("xdp");
    println!(
        "# Offload {} ({})\n",
        if offload { "on" } else { "off" },
        if attached {
            "XDP attached to the LAN port"
        } else {
            "no program attached"
        }
    );
    let (first, first_fast, answer) = latency(lab, &store, &client)?;
    let cut = expiry(lab, &store, &client, &client_mac)?;
    if offload {
        page_load(lab, &store, &client, seconds)?;
    } else {
        let (_, code) = one_voucher(&store, Some(3600))?;
        in_ns(&client, || submit(&code))?;
    }
    let (set_small, small, set_large, large) = throughput(lab, &store, &client, &client_mac)?;
    drop(server);
    Ok(Figures {
        first,
        first_fast,
        answer,
        cut,
        set_small,
        small,
        set_large,
        large,
    })
}

/// Packets of the probe flow the stack forwarded so far (the nft counter after the gate).
fn stack_forwarded(lab: &Lab) -> anyhow::Result<u64> {
    let text = sh(lab, NodeRole::Router, "nft list chain inet labnat counted")?;
    Ok(text
        .split("packets ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
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

fn sh(lab: &Lab, role: NodeRole, script: &str) -> anyhow::Result<String> {
    let out = lab.command(role, "sh").args(["-c", script]).output()?;
    if !out.status.success() {
        bail!("{script}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn mac_of(lab: &Lab, role: NodeRole, dev: &str) -> anyhow::Result<String> {
    Ok(sh(lab, role, &format!("cat /sys/class/net/{dev}/address"))?
        .trim()
        .to_owned())
}

/// Runs `f` on a thread inside namespace `ns`.
fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            netlab::scratch::enter(ns).expect("enter the namespace");
            f()
        })
        .join()
        .expect("namespace thread")
    })
}

fn wait(what: &str, mut probe: impl FnMut() -> bool) -> anyhow::Result<()> {
    let start = Instant::now();
    while !probe() {
        if start.elapsed() > Duration::from_secs(60) {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn http(request: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(PORTAL)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut out = String::new();
    stream.read_to_string(&mut out)?;
    Ok(out)
}

fn http_get(path: &str) -> std::io::Result<String> {
    http(&format!(
        "GET {path} HTTP/1.1\r\nHost: {PORTAL}\r\nConnection: close\r\n\r\n"
    ))
}

fn submit(code: &str) -> std::io::Result<String> {
    let body = format!("code={code}");
    http(&format!(
        "POST / HTTP/1.1\r\nHost: {PORTAL}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn one_voucher(store: &Vouchers, duration: Option<i64>) -> anyhow::Result<(i64, String)> {
    let v = store
        .create(
            &NewVouchers {
                quantity: 1,
                duration,
                max_devices: 1,
                ..NewVouchers::default()
            },
            |_| {},
        )?
        .remove(0);
    Ok((v.id, v.code))
}

/// Whether a UDP echo comes back through the router within `timeout`.
fn echo_once(socket: &UdpSocket, seq: u64, timeout: Duration) -> bool {
    let _ = socket.send(&seq.to_be_bytes());
    let _ = socket.set_read_timeout(Some(timeout));
    let mut buf = [0u8; 16];
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        match socket.recv(&mut buf) {
            Ok(8) if u64::from_be_bytes(buf[..8].try_into().unwrap_or_default()) == seq => {
                return true;
            }
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            // ICMP admin-prohibited while captive: try again.
            Err(_) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
    false
}

fn set_has(lab: &Lab, mac: &str) -> bool {
    sh(
        lab,
        NodeRole::Router,
        "nft list set inet portico_portal allowed",
    )
    .is_ok_and(|s| s.contains(mac))
}

fn stats(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = ms[n / 2];
    let p90 = ms[(n * 9 / 10).min(n - 1)];
    format!(
        "median {median:.1} ms, p90 {p90:.1} ms, max {:.1} ms (n = {n})",
        ms[n - 1]
    )
}

/// 1. Submit → first forwarded packet, 20 times; the client is made captive again between runs.
///
/// Probes go on for a second after the first echo: the echoed probes beyond the ones the stack
/// forwarded took the fast path, and the first of them is the first fast-path packet.
fn latency(lab: &Lab, store: &Vouchers, client: &str) -> anyhow::Result<(String, String, String)> {
    let mut forwarded = Vec::new();
    let mut answered = Vec::new();
    let mut fast = Vec::new();
    for _ in 0..20 {
        let (id, code) = one_voucher(store, Some(3600))?;
        let stack_before = stack_forwarded(lab)?;
        let (echoed, answer) = in_ns(client, || -> anyhow::Result<(Vec<f64>, f64)> {
            let socket = UdpSocket::bind("0.0.0.0:0")?;
            socket.connect(ECHO)?;
            let probe = std::thread::scope(|s| {
                let started = Instant::now();
                let poster = s.spawn(|| {
                    netlab::scratch::enter(client).expect("enter");
                    let t0 = Instant::now();
                    let page = submit(&code);
                    (t0, t0.elapsed(), page)
                });
                let mut seq = 0;
                let mut echoed: Vec<Instant> = Vec::new();
                loop {
                    seq += 1;
                    let sent = Instant::now();
                    if echo_once(&socket, seq, Duration::from_millis(1)) {
                        echoed.push(sent);
                    }
                    let done = echoed
                        .first()
                        .is_some_and(|f| f.elapsed() > Duration::from_secs(1));
                    if done || started.elapsed() > Duration::from_secs(10) {
                        break;
                    }
                }
                let (t0, answer, page) = poster.join().expect("poster");
                let since: Vec<f64> = echoed
                    .iter()
                    .map(|t| t.saturating_duration_since(t0).as_secs_f64() * 1000.0)
                    .collect();
                (since, answer, page)
            });
            let (echoed, answer, page) = probe;
            if !page.is_ok_and(|p| p.contains("You are online")) {
                bail!("the voucher was not accepted");
            }
            Ok((echoed, answer.as_secs_f64() * 1000.0))
        })?;
        let through_stack =
            usize::try_from(stack_forwarded(lab)? - stack_before).unwrap_or(usize::MAX);
        forwarded.push(*echoed.first().context("no echo at all")?);
        if let Some(first_fast) = echoed.get(through_stack) {
            fast.push(*first_fast);
        }
        answered.push(answer);
        // Captive again: invalidated from outside Portico (as the CLI does), noticed by its watch.
        store.invalidate(id)?;
        let mac = mac_of(lab, NodeRole::Client, "lan0")?;
        wait("the client to be captive again", || !set_has(lab, &mac))?;
    }
    println!("## 1. Voucher submitted → first forwarded packet (goal ≤ 100 ms)\n");
    let first = stats(forwarded);
    let answer = stats(answered);
    let first_fast = if fast.is_empty() {
        "–".to_owned()
    } else {
        stats(fast)
    };
    println!("- first UDP echo through the router after the POST was sent: {first}");
    println!("- first probe the fast path forwarded: {first_fast}");
    println!("- baseline, the portal's HTTP answer to the same POST: {answer}\n");
    Ok((first, first_fast, answer))
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

/// 2. Expiry → cut: vouchers of 3 s; the last echo is compared with the end the store holds.
fn expiry(lab: &Lab, store: &Vouchers, client: &str, mac: &str) -> anyhow::Result<String> {
    let mut late = Vec::new();
    for _ in 0..10 {
        let (id, code) = one_voucher(store, Some(3))?;
        let last_echo = in_ns(client, || -> anyhow::Result<i64> {
            let page = submit(&code)?;
            if !page.contains("You are online") {
                bail!("the voucher was not accepted");
            }
            let socket = UdpSocket::bind("0.0.0.0:0")?;
            socket.connect(ECHO)?;
            let mut last = unix_ms();
            let mut seq = 0;
            let mut misses = 0;
            // Until 500 probes in a row (≥ 0.5 s) go unanswered.
            while misses < 500 {
                seq += 1;
                if echo_once(&socket, seq, Duration::from_millis(1)) {
                    last = unix_ms();
                    misses = 0;
                } else {
                    misses += 1;
                }
            }
            Ok(last)
        })?;
        let expires = store.get(id)?.expires.context("expiry")? * 1000;
        late.push(f64::from(
            i32::try_from(last_echo - expires).unwrap_or(i32::MAX),
        ));
        wait("the set to drop the client", || !set_has(lab, mac))?;
    }
    println!("## 2. Voucher expiry → traffic cut (goal ≤ 1 s)\n");
    let cut = stats(late);
    println!("- last UDP echo minus the voucher's end (negative: before it): {cut}\n");
    Ok(cut)
}

/// Parses wrk's summary: requests/s, errors (socket errors + non-2xx).
fn wrk(lab: &Lab, url: &str, seconds: u64) -> anyhow::Result<(f64, u64, String)> {
    let out = lab
        .command(NodeRole::Client, "wrk")
        .args(["-t2", "-c200", &format!("-d{seconds}s"), "--latency", url])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .context("wrk printed no Requests/sec")?;
    let mut errors = 0;
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("Socket errors:") {
            errors += rest
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
        if let Some(rest) = line.trim().strip_prefix("Non-2xx or 3xx responses:") {
            errors += rest.trim().parse::<u64>().unwrap_or(0);
        }
    }
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default();
    Ok((rps, errors, p99))
}

/// 3. The portal page under 200 concurrent connections, against nginx with the same bytes.
fn page_load(lab: &Lab, store: &Vouchers, client: &str, seconds: u64) -> anyhow::Result<()> {
    // An authorised client (nginx's port is not open to captive ones): the page then shows the
    // time left, through the same lookup and template as the form.
    let (_, code) = one_voucher(store, Some(3600))?;
    in_ns(client, || submit(&code))?;
    let page = in_ns(client, || http_get("/"))?;
    let body = page
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .context("a page")?;
    let www = lab.spec.dir.join("www");
    std::fs::create_dir_all(&www)?;
    std::fs::write(www.join("index.html"), &body)?;
    let conf = lab.spec.dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 2;\npid {dir}/nginx.pid;\nerror_log {dir}/nginx.err;\ndaemon off;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; default_type text/html;\n  server {{ listen 192.168.1.1:8081; root {www}; }}\n}}\n",
            dir = lab.spec.dir.display(),
            www = www.display()
        ),
    )?;
    let mut nginx = lab.command(NodeRole::Router, "nginx");
    nginx
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let nginx = Killed(nginx.spawn()?);
    wait("nginx", || {
        in_ns(client, || TcpStream::connect("192.168.1.1:8081").is_ok())
    })?;
    let (portico_rps, portico_errors, portico_p99) =
        wrk(lab, &format!("http://{PORTAL}/"), seconds)?;
    let (nginx_rps, nginx_errors, nginx_p99) = wrk(lab, "http://192.168.1.1:8081/", seconds)?;
    drop(nginx);
    println!("## 3. Portal page, 200 concurrent connections, {seconds} s (wrk -t2 -c200)\n");
    println!("| server | requests/s | errors | latency p99 |\n|---|---|---|---|");
    println!("| Portico portal | {portico_rps:.0} | {portico_errors} | {portico_p99} |");
    println!(
        "| nginx, same {} bytes | {nginx_rps:.0} | {nginx_errors} | {nginx_p99} |",
        body.len()
    );
    println!("\nPortico / nginx: {:.2}\n", portico_rps / nginx_rps);
    Ok(())
}

/// The median of three iperf3 runs (veth throughput varies from run to run).
fn iperf(lab: &Lab) -> anyhow::Result<f64> {
    let mut runs = [iperf_once(lab)?, iperf_once(lab)?, iperf_once(lab)?];
    runs.sort_by(f64::total_cmp);
    Ok(runs[1])
}

fn iperf_once(lab: &Lab) -> anyhow::Result<f64> {
    let mut server = lab.command(NodeRole::Isp, "iperf3");
    server
        .args(["-s", "-1", "-p", "5201"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _server = Killed(server.spawn()?);
    std::thread::sleep(Duration::from_millis(300));
    let out = lab
        .command(NodeRole::Client, "iperf3")
        .args(["-c", "100.64.0.1", "-p", "5201", "-t", "10", "-J"])
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    json["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .map(|b| b / 1e9)
        .context("iperf3 gave no result")
}

fn bind_fakes(store: &Vouchers, count: u32, offset: u32) -> anyhow::Result<()> {
    let mut left = count;
    let mut i = offset;
    while left > 0 {
        let n = left.min(1000);
        let made = store.create(
            &NewVouchers {
                quantity: n,
                duration: Some(7200),
                max_devices: 1,
                ..NewVouchers::default()
            },
            |_| {},
        )?;
        for v in made {
            let b = i.to_be_bytes();
            let mac = format!("02:fa:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3]);
            store
                .redeem(&v.code, &mac, portico_server::portal::vouchers::now(), true)?
                .map_err(|r| anyhow::anyhow!("fake device refused: {r:?}"))?;
            i += 1;
        }
        left -= n;
    }
    Ok(())
}

fn set_size(lab: &Lab) -> usize {
    sh(
        lab,
        NodeRole::Router,
        "nft list set inet portico_portal allowed",
    )
    .map_or(0, |s| s.matches(':').count() / 5)
}

/// 4. Throughput with 10 authorised devices, then 10 000.
fn throughput(
    lab: &Lab,
    store: &Vouchers,
    client: &str,
    mac: &str,
) -> anyhow::Result<(usize, f64, usize, f64)> {
    // The client is authorised (from step 3); nine other devices make ten.
    let _ = client;
    bind_fakes(store, 9, 0)?;
    wait("10 devices in the set", || set_size(lab) >= 10)?;
    let ten = set_size(lab);
    let small = iperf(lab)?;
    bind_fakes(store, 9_990, 9)?;
    wait("10 000 devices in the set", || set_size(lab) >= 10_000)?;
    let many = set_size(lab);
    let large = iperf(lab)?;
    if !set_has(lab, mac) {
        bail!("the client fell out of the set");
    }
    println!(
        "## 4. Forwarding throughput (iperf3 TCP, median of 3 × 10 s, client → isp through the router)\n"
    );
    println!("| authorised MACs in the set | Gbit/s |\n|---|---|");
    println!("| {ten} | {small:.2} |\n| {many} | {large:.2} |");
    println!("\n10 000 / 10: {:.2}\n", large / small);
    Ok((ten, small, many, large))
}
