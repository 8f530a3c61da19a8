//! Communities benchmarks (run by `bench/communities.sh`, which builds this and `portico` with
//! the `measure` profile):
//!
//! 1. Import throughput on one month of hourly synthetic files, against plain `serde_json`
//!    parsing of the same files (both on every core; the ratio is import time / parse time).
//! 2. 10 years of hourly history for ~400 communities written with `synth --into-store`
//!    (kept in `BENCH_DIR` between runs): time, and the store's size per million community
//!    snapshots.
//! 3. p50/p99 of every API endpoint against that store, with `/healthz` (no store work) as
//!    the baseline in the same run.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use communities::import::{Quiet, import};
use communities::source::file_name;
use communities::sqlite::{Reader, SqliteStore};
use communities::store::Read as _;
use communities::synth::{Options, Synth};

fn main() -> anyhow::Result<()> {
    let portico = PathBuf::from(std::env::var("PORTICO_BIN").context("PORTICO_BIN")?);
    let snapshot = PathBuf::from(std::env::var("SNAPSHOT").context("SNAPSHOT")?);
    let dir = PathBuf::from(
        std::env::var("BENCH_DIR").unwrap_or_else(|_| "target/bench-communities".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let base: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&snapshot)?)?;

    import_against_parsing(&base, threads)?;
    let store = ten_years(&portico, &snapshot, &dir)?;
    api_latency(&portico, &store)?;
    Ok(())
}

fn import_against_parsing(
    base: &serde_json::Map<String, serde_json::Value>,
    threads: usize,
) -> anyhow::Result<()> {
    let files = tempfile::tempdir()?;
    // The last 31 days of six years of hourly history: by then (nearly) all 400 communities
    // have appeared.
    let synth = Synth::new(
        base,
        Options {
            years: 6,
            hourly: true,
            seed: 11,
            communities: 400,
            start: 1_388_534_400,
        },
    );
    let month = 31 * 24;
    let (mut bytes, mut entries) = (0, 0);
    for i in synth.len() - month..synth.len() {
        let snapshot = synth.snapshot(i);
        entries += snapshot.len();
        let json = serde_json::to_vec(&snapshot)?;
        bytes += json.len();
        std::fs::write(files.path().join(file_name(synth.ts(i))), json)?;
    }
    let paths: Vec<PathBuf> = std::fs::read_dir(files.path())?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    // Warm the page cache for both.
    for p in &paths {
        std::fs::read(p)?;
    }
    let mut parse = Vec::new();
    let mut imports = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        std::thread::scope(|scope| {
            for chunk in paths.chunks(paths.len().div_ceil(threads)) {
                scope.spawn(move || {
                    for p in chunk {
                        let v: serde_json::Value =
                            serde_json::from_slice(&std::fs::read(p).expect("read"))
                                .expect("parse");
                        std::hint::black_box(v);
                    }
                });
            }
        });
        parse.push(started.elapsed());
        let data = tempfile::tempdir()?;
        let mut store = SqliteStore::open(data.path())?;
        let started = Instant::now();
        let report = import(&mut store, &[files.path().to_owned()], threads, &Quiet)?;
        imports.push(started.elapsed());
        if report.imported != month {
            bail!("imported {} of {month}", report.imported);
        }
    }
    let (parse, import) = (median(&mut parse), median(&mut imports));
    #[allow(clippy::cast_precision_loss, reason = "rates for people")]
    let (mb, n) = (bytes as f64 / 1e6, month as f64);
    println!(
        "import: one month hourly = {month} files, {} community entries a file, {mb:.0} MB JSON, {threads} threads, median of 3",
        entries / month
    );
    println!(
        "  serde_json parse only: {:.2} s ({:.0} files/s, {:.0} MB/s)",
        parse.as_secs_f64(),
        n / parse.as_secs_f64(),
        mb / parse.as_secs_f64()
    );
    println!(
        "  portico import:        {:.2} s ({:.0} snapshots/s, {:.0} MB/s)",
        import.as_secs_f64(),
        n / import.as_secs_f64(),
        mb / import.as_secs_f64()
    );
    println!(
        "  ratio import/parse: {:.2}",
        import.as_secs_f64() / parse.as_secs_f64()
    );
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The 10-year store, made once and kept (it takes minutes).
fn ten_years(portico: &Path, snapshot: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let data = dir.join("ten-years-hourly");
    let done = data.join("complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&data);
        let started = Instant::now();
        let status = Command::new(portico)
            .args([
                "communities",
                "synth",
                "--years",
                "10",
                "--hourly",
                "--seed",
                "2014",
                "--communities",
                "400",
            ])
            .arg("--from")
            .arg(snapshot)
            .arg("--into-store")
            .arg("--data")
            .arg(&data)
            .status()?;
        if !status.success() {
            bail!("synth failed");
        }
        std::fs::write(&done, format!("{:.1}", started.elapsed().as_secs_f64()))?;
    }
    let took = std::fs::read_to_string(&done)?;
    let extent = Reader::open(&data)?.extent()?;
    let size: u64 = std::fs::read_dir(&data)?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("communities.db")
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    #[allow(clippy::cast_precision_loss, reason = "sizes for people")]
    let (mb, per_million) = (
        size as f64 / 1e6,
        size as f64 / (extent.community_snapshots as f64 / 1e6),
    );
    println!(
        "store: 10 years hourly, {} snapshots, {} communities, {} community snapshots; synth --into-store took {took} s",
        extent.snapshots, extent.communities, extent.community_snapshots
    );
    println!(
        "  database {mb:.0} MB → {:.1} MB per million community snapshots",
        per_million / 1e6
    );
    Ok(data)
}

fn api_latency(portico: &Path, data: &Path) -> anyhow::Result<()> {
    // The database read once first, so the figures are the queries' and not the disk's
    // (a site keeps its working set in memory; a cold page cache made the top list 12× slower).
    let started = std::time::Instant::now();
    let mut bytes = 0_u64;
    for entry in std::fs::read_dir(data)?.filter_map(Result::ok) {
        bytes += std::io::copy(
            &mut std::fs::File::open(entry.path())?,
            &mut std::io::sink(),
        )?;
    }
    #[allow(clippy::cast_precision_loss, reason = "sizes for people")]
    let mb = bytes as f64 / 1e6;
    println!(
        "  page cache warmed: {mb:.0} MB read in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut child = Command::new(portico)
        .args([
            "serve",
            "--profile",
            "communities",
            "--listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data)
        .env("PORTICO_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("portico: listening on http://")
        .and_then(|a| a.trim_end_matches('/').parse().ok())
        .context("address line")?;
    let result = measure_endpoints(addr, data);
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// A request path for the k-th request of a case.
type RequestPath<'a> = Box<dyn Fn(usize) -> String + 'a>;

#[allow(clippy::too_many_lines, reason = "one table of cases")]
fn measure_endpoints(addr: SocketAddr, data: &Path) -> anyhow::Result<()> {
    let reader = Reader::open(data)?;
    let extent = reader.extent()?;
    let (first, last) = (extent.first.unwrap_or(0), extent.last.unwrap_or(0));
    let keys: Vec<String> = reader
        .communities()?
        .into_iter()
        .map(|c| encode(&c.key))
        .collect();
    let day = |k: usize| first + i64::try_from(k).unwrap_or(0) * 86_400 % (last - first).max(1);
    let cases: Vec<(&str, RequestPath<'_>)> = vec![
        ("/healthz (baseline)", Box::new(|_| "/healthz".into())),
        ("communities", Box::new(|_| "/api/v1/communities".into())),
        (
            "communities/{key}",
            Box::new(|k| format!("/api/v1/communities/{}", keys[k % keys.len()])),
        ),
        (
            "community series, hour, 7 days",
            Box::new(|k| {
                let from = day(k * 37);
                format!(
                    "/api/v1/communities/{}/series?resolution=hour&from={}&to={}",
                    keys[k % keys.len()],
                    rfc(from),
                    rfc(from + 7 * 86_400)
                )
            }),
        ),
        (
            "community series, day, 1 year",
            Box::new(|k| {
                let from = day(k * 37);
                format!(
                    "/api/v1/communities/{}/series?resolution=day&from={}&to={}",
                    keys[k % keys.len()],
                    rfc(from),
                    rfc(from + 365 * 86_400)
                )
            }),
        ),
        (
            "community series, month, all",
            Box::new(|k| {
                format!(
                    "/api/v1/communities/{}/series?resolution=month",
                    keys[k % keys.len()]
                )
            }),
        ),
        (
            "network series, hour, 7 days",
            Box::new(|k| {
                let from = day(k * 37);
                format!(
                    "/api/v1/network/series?resolution=hour&from={}&to={}",
                    rfc(from),
                    rfc(from + 7 * 86_400)
                )
            }),
        ),
        (
            "network series, day, all",
            Box::new(|_| "/api/v1/network/series?resolution=day".into()),
        ),
        (
            "network series, month, all",
            Box::new(|_| "/api/v1/network/series?resolution=month".into()),
        ),
        (
            "top 10 at a time",
            Box::new(|k| {
                format!(
                    "/api/v1/top?metric=nodes&n=10&at={}",
                    rfc(day(k * 37) + 3600 * 7)
                )
            }),
        ),
        (
            "routing series, day, all",
            Box::new(|_| "/api/v1/routing/series?resolution=day".into()),
        ),
        (
            "routing series, month, all",
            Box::new(|_| "/api/v1/routing/series?resolution=month".into()),
        ),
        (
            "hours-of-day, network",
            Box::new(|_| "/api/v1/hours-of-day".into()),
        ),
        (
            "hours-of-day, community",
            Box::new(|k| format!("/api/v1/hours-of-day?community={}", keys[k % keys.len()])),
        ),
        ("weekdays, network", Box::new(|_| "/api/v1/weekdays".into())),
        (
            "weekdays, community",
            Box::new(|k| format!("/api/v1/weekdays?community={}", keys[k % keys.len()])),
        ),
    ];
    let mut conn = Conn::open(addr)?;
    println!(
        "API latency over one keep-alive connection, 200 requests each after 20 warm-up (ms):"
    );
    println!(
        "  {:<34} {:>8} {:>8} {:>10}",
        "endpoint", "p50", "p99", "bytes"
    );
    for (name, path) in &cases {
        for k in 0..20 {
            conn.get(&path(k))?;
        }
        let mut times = Vec::new();
        let mut bytes = 0;
        for k in 0..200 {
            let started = Instant::now();
            bytes = conn.get(&path(k + 20))?;
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "  {name:<34} {:>8.2} {:>8.2} {bytes:>10}",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() * 99 / 100].as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// Percent-encodes a path segment or query value (keys may hold spaces).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn rfc(ts: i64) -> String {
    // YYYY-MM-DDTHH:MM:SSZ without a date library: days since the epoch → civil date.
    let (days, secs) = (ts.div_euclid(86_400), ts.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A keep-alive HTTP/1.1 client for GETs with a Content-Length answer.
struct Conn {
    stream: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl Conn {
    fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(stream),
            addr,
        })
    }

    fn get(&mut self, path: &str) -> anyhow::Result<usize> {
        write!(
            self.stream.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.addr
        )?;
        let mut status = String::new();
        self.stream.read_line(&mut status)?;
        if !status.contains(" 200 ") {
            bail!("{path}: {status}");
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            self.stream.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body)?;
        Ok(length)
    }
}
