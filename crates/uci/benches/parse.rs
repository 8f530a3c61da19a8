//! Parse + write speed of the UCI crate, against baselines measured in the same run.
//!
//! * every fixture under `fixtures/uci` parsed and written back;
//! * generated configs of 64 KiB to 4 MiB (realistic shape: named and anonymous
//!   sections, options, lists, quoting), to show that time grows linearly with size;
//! * the baseline: one pass that only counts lines of the same bytes (what any parser must at
//!   least do), so the figures read as "N times a line count" whatever the machine.
//!
//! Run with `bench/uci.sh` (or `cargo bench -p uci --bench parse`).

use std::hint::black_box;
use std::time::{Duration, Instant};
use testdata::shared;

/// Median time of `f` over enough runs to fill about half a second.
fn time(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_micros(1));
    let runs = (Duration::from_millis(500).as_nanos() / once.as_nanos()).clamp(5, 10_000);
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn generated(target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + 1024);
    let mut i = 0usize;
    while out.len() < target {
        if i.is_multiple_of(3) {
            out.extend_from_slice(format!("config interface 'if{i}'\n\toption proto 'static'\n\toption ipaddr '10.{}.{}.1'\n", i / 256 % 256, i % 256).as_bytes());
            out.extend_from_slice(b"\toption netmask '255.255.255.0'\n\tlist dns '9.9.9.9'\n\tlist dns \"149.112.112.112\"\n\n");
        } else {
            out.extend_from_slice(format!("config rule\n\toption name 'Allow-{i} it'\\''s'\n\toption src wan\n\toption dest_port {}\n\toption target ACCEPT # comment\n\n", i % 65536).as_bytes());
        }
        i += 1;
    }
    out
}

#[expect(
    clippy::naive_bytecount,
    reason = "the baseline is deliberately the plainest loop"
)]
fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&c| c == b'\n').count()
}

fn report(label: &str, bytes: usize, parse: Duration, write: Duration, baseline: Duration) {
    #[expect(clippy::cast_precision_loss, reason = "figures for people")]
    let mib_s = |d: Duration| bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64();
    println!(
        "{label:<26} {:>9} B  parse {:>9.3} ms ({:>6.1} MiB/s, {:>5.1}x line count)  write {:>8.3} ms ({:>6.1} MiB/s)",
        bytes,
        parse.as_secs_f64() * 1e3,
        mib_s(parse),
        parse.as_secs_f64() / baseline.as_secs_f64(),
        write.as_secs_f64() * 1e3,
        mib_s(write),
    );
}

fn main() {
    let fixtures = shared().join("fixtures/uci");
    let mut files = Vec::new();
    let mut stack = vec![fixtures.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures/uci (set PORTICO_SHARED)") {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("expected") {
                stack.push(path);
            } else if path.is_file() {
                files.push(std::fs::read(&path).unwrap());
            }
        }
    }
    let total: usize = files.iter().map(Vec::len).sum();
    let parsed: Vec<_> = files
        .iter()
        .map(|f| uci::parse_lenient("bench", f).0)
        .collect();
    let baseline = time(|| {
        for f in &files {
            black_box(line_count(black_box(f)));
        }
    });
    let parse = time(|| {
        for f in &files {
            black_box(uci::parse_lenient("bench", black_box(f)));
        }
    });
    let write = time(|| {
        for p in &parsed {
            black_box(uci::emit::to_file(black_box(p)));
        }
    });
    report(
        &format!("fixtures ({} files)", files.len()),
        total,
        parse,
        write,
        baseline,
    );

    let mut per_mib = Vec::new();
    for size in [64 * 1024, 256 * 1024, 1024 * 1024, 4096 * 1024] {
        let text = generated(size);
        let package = uci::parse("bench", &text).expect("generated config parses");
        let baseline = time(|| {
            black_box(line_count(black_box(&text)));
        });
        let parse = time(|| {
            black_box(uci::parse("bench", black_box(&text)).unwrap());
        });
        let write = time(|| {
            black_box(uci::emit::to_file(black_box(&package)));
        });
        report(
            &format!("generated {} KiB", size / 1024),
            text.len(),
            parse,
            write,
            baseline,
        );
        #[expect(clippy::cast_precision_loss, reason = "figures for people")]
        per_mib.push(parse.as_secs_f64() / text.len() as f64);
    }
    // Below ~256 KiB everything stays in the CPU caches; the growth that matters is beyond.
    println!(
        "linearity: parse time per byte at 4 MiB / at 1 MiB = {:.2} (1.00 = linear); 1 MiB / 64 KiB = {:.2} (cache effects)",
        per_mib[3] / per_mib[2],
        per_mib[2] / per_mib[0]
    );
}
