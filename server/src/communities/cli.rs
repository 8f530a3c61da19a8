//! `portico communities import|synth`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Subcommand;
use communities::import::{self, Progress, Report};
use communities::prepare::prepare;
use communities::sqlite::SqliteStore;
use communities::store::Sink;
use communities::synth::{Options, Synth};
use indicatif::{ProgressBar, ProgressStyle};

use super::api::Store;

#[derive(Debug, Subcommand)]
pub enum CommunitiesCommand {
    /// Import history files and directories (`YYYYMMDD-HH.MM.SS-ffSummarizedDir.json`,
    /// `.json.gz`, `.json.tar.gz`) and the live `ffSummarizedDir.json`. Importing again
    /// changes nothing; after an interruption it finishes the job. Broken files are reported
    /// and skipped (exit code 2 when there were any).
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Parsing workers (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Fetch the live summary file (conditional GET: nothing is downloaded or imported when
    /// it has not changed) and import it; with --every, round after round until stopped.
    /// Exit code 1 when a single round fails.
    Fetch {
        /// The live summary file, e.g. https://api.freifunk.net/map/ffSummarizedDir.json
        #[arg(long)]
        url: String,
        /// Fetch again after this long (1h, 30m; at least a minute).
        #[arg(long, value_parser = super::fetch::period)]
        every: Option<Duration>,
    },
    /// Make realistic history from a real snapshot, deterministic for a seed.
    Synth {
        /// A real summary file to start from.
        #[arg(long)]
        from: PathBuf,
        #[arg(long, default_value_t = 1)]
        years: u32,
        /// One snapshot an hour (default: one a day).
        #[arg(long)]
        hourly: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Communities in all: the snapshot's, then derived districts.
        #[arg(long, default_value_t = 400)]
        communities: usize,
        /// First day (YYYY-MM-DD).
        #[arg(long, default_value = "2014-01-01", value_parser = day)]
        start: i64,
        /// Write history files into this directory.
        #[arg(
            long,
            required_unless_present = "into_store",
            conflicts_with = "into_store"
        )]
        out: Option<PathBuf>,
        /// Gzip the files written with --out.
        #[arg(long, requires = "out")]
        gzip: bool,
        /// Write straight into the store (--data), without files.
        #[arg(long)]
        into_store: bool,
    },
}

fn day(text: &str) -> Result<i64, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, format)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| format!("{text:?} is not a day (YYYY-MM-DD)"))
}

/// Where the communities' history is kept (resolved from `--data` / `--mongodb-uri`).
#[derive(Clone, Debug)]
pub enum StoreLocation {
    /// The SQLite store in this directory.
    Sqlite(PathBuf),
    /// A MongoDB server (the URI is never printed: it may hold a password).
    Mongodb(String),
}

/// The store the flags name, to write into: MongoDB with `--mongodb-uri`, else SQLite in
/// `--data`. (The URI is never printed: it may hold a password.)
///
/// # Errors
/// The store cannot be opened, or `--mongodb-uri` in a build without the MongoDB store.
pub fn open_sink(location: &StoreLocation) -> anyhow::Result<Box<dyn Sink>> {
    let dir = match location {
        #[cfg(feature = "mongodb")]
        StoreLocation::Mongodb(uri) => return Ok(Box::new(open_mongo(uri)?)),
        #[cfg(not(feature = "mongodb"))]
        StoreLocation::Mongodb(uri) => match open_mongo(uri)? {},
        StoreLocation::Sqlite(dir) => dir,
    };
    let store = SqliteStore::open(dir)
        .with_context(|| format!("opening the store in {}", dir.display()))?;
    Ok(Box::new(store))
}

/// The store the flags name, to read from (the site).
///
/// # Errors
/// As [`open_sink`]; for SQLite also when nothing was imported into `--data` yet.
pub fn open_store(location: &StoreLocation) -> anyhow::Result<Store> {
    let dir = match location {
        #[cfg(feature = "mongodb")]
        StoreLocation::Mongodb(uri) => return open_mongo(uri).map(Store::mongo),
        #[cfg(not(feature = "mongodb"))]
        StoreLocation::Mongodb(uri) => match open_mongo(uri)? {},
        StoreLocation::Sqlite(dir) => dir,
    };
    // Fail at start, not on the first request, when there is no store.
    communities::sqlite::Reader::open(dir).map_err(|e| {
        anyhow::anyhow!(
            "no communities store in {} ({e}); run `portico communities import` first",
            dir.display()
        )
    })?;
    Ok(Store::sqlite(dir.clone()))
}

#[cfg(feature = "mongodb")]
fn open_mongo(uri: &str) -> anyhow::Result<communities::mongo::MongoStore> {
    communities::mongo::MongoStore::open(uri).context("opening the MongoDB store (--mongodb-uri)")
}

#[cfg(not(feature = "mongodb"))]
fn open_mongo(_uri: &str) -> anyhow::Result<std::convert::Infallible> {
    anyhow::bail!(
        "this build has no MongoDB store (cargo feature `mongodb`); leave out --mongodb-uri to use SQLite in --data"
    )
}

/// Runs a `portico communities` command.
///
/// # Errors
/// Store failures, unreadable snapshot for `synth`, unwritable output.
pub fn run(location: &StoreLocation, command: CommunitiesCommand) -> anyhow::Result<ExitCode> {
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    match command {
        CommunitiesCommand::Import {
            paths,
            threads: workers,
        } => {
            let mut store = open_sink(location)?;
            let started = Instant::now();
            let bar = Bar::new("files");
            let report = import::import(store.as_mut(), &paths, workers.unwrap_or(threads), &bar)?;
            Ok(summary(&report, &paths, started.elapsed()))
        }
        CommunitiesCommand::Fetch { url, every } => {
            let mut fetcher = super::fetch::Fetcher::new(&url)?;
            let mut store = open_sink(location)?;
            loop {
                let outcome = fetcher.once(store.as_mut());
                eprintln!("portico: {}", super::fetch::describe(&outcome));
                match every {
                    Some(period) => std::thread::sleep(period),
                    None => {
                        return Ok(if outcome.is_ok() {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        });
                    }
                }
            }
        }
        CommunitiesCommand::Synth {
            from,
            years,
            hourly,
            seed,
            communities,
            start,
            out,
            gzip,
            into_store,
        } => {
            let bytes =
                std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
            let base: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not a summary file", from.display()))?;
            let synth = Synth::new(
                &base,
                Options {
                    years,
                    hourly,
                    seed,
                    communities,
                    start,
                },
            );
            let started = Instant::now();
            if into_store {
                let mut store = open_sink(location)?;
                let bar = Bar::new("snapshots");
                bar.start(synth.len() as u64);
                let report = synth_into_store(&synth, store.as_mut(), threads, &bar)?;
                Ok(summary(&report, &[], started.elapsed()))
            } else {
                let out = out.context("--out or --into-store")?;
                write_files(&synth, &out, gzip, threads)?;
                eprintln!(
                    "wrote {} snapshots to {} in {:.1} s",
                    synth.len(),
                    out.display(),
                    started.elapsed().as_secs_f64()
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// Generates and prepares snapshots on every core; one writer stores them.
fn synth_into_store(
    synth: &Synth,
    store: &mut dyn Sink,
    threads: usize,
    bar: &Bar,
) -> anyhow::Result<Report> {
    let (tx, rx) = std::sync::mpsc::sync_channel(threads * 2);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= synth.len() {
                        break;
                    }
                    let ts = synth.ts(i);
                    let snapshot = communities::source::from_map(
                        synth.snapshot(i),
                        &communities::source::file_name(ts),
                        Some(ts),
                    )
                    .expect("a synthetic snapshot always has its time");
                    if tx.send(prepare(snapshot)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        Ok(import::write_all(store, rx.into_iter(), bar)?)
    })
}

fn write_files(synth: &Synth, out: &Path, gzip: bool, threads: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bar = Bar::new("files");
    bar.start(synth.len() as u64);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= synth.len() {
                            return Ok(());
                        }
                        let mut name = communities::source::file_name(synth.ts(i));
                        let json = serde_json::to_vec(&synth.snapshot(i))?;
                        let bytes = if gzip {
                            name.push_str(".gz");
                            let mut gz = flate2::write::GzEncoder::new(
                                Vec::new(),
                                flate2::Compression::fast(),
                            );
                            gz.write_all(&json)?;
                            gz.finish()?
                        } else {
                            json
                        };
                        // Whole files or none: a killed run leaves no half-written snapshot.
                        let mut tmp = tempfile::NamedTempFile::new_in(out)?;
                        tmp.write_all(&bytes)?;
                        tmp.persist(out.join(&name))?;
                        bar.advance(1);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a writer thread panicked"))??;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    bar.finish();
    Ok(())
}

/// The import's summary on stderr; exit code 2 when a file was broken or a file named on the
/// command line (not found in a folder) was passed over.
fn summary(report: &Report, named: &[PathBuf], took: Duration) -> ExitCode {
    const NAMED: usize = 5;
    let secs = took.as_secs_f64().max(1e-3);
    #[allow(clippy::cast_precision_loss, reason = "a rate for people")]
    let rate = report.imported as f64 / secs;
    eprintln!(
        "imported {} snapshots ({} community entries) from {} files in {secs:.1} s ({rate:.0} snapshots/s)",
        report.imported, report.entries, report.files
    );
    if report.already_present > 0 {
        eprintln!("already in the store: {} snapshots", report.already_present);
    }
    if report.skipped_entries > 0 {
        eprintln!(
            "skipped {} top-level values that are not community objects",
            report.skipped_entries
        );
    }
    if !report.bad_counts.is_empty() {
        eprintln!(
            "{} node counts were not whole non-negative numbers and were not counted:",
            report.bad_counts.len()
        );
        for b in report.bad_counts.iter().take(NAMED) {
            eprintln!("  {b}");
        }
        if report.bad_counts.len() > NAMED {
            eprintln!("  … and {} more", report.bad_counts.len() - NAMED);
        }
    }
    // A file named on the command line that is not a summary file is a mistake; other files
    // in a directory are normal: name a few, count the rest.
    let (refused, passed): (Vec<_>, Vec<_>) =
        report.passed.iter().partition(|p| named.contains(&p.path));
    for p in &refused {
        eprintln!("not imported {}: {}", p.path.display(), p.reason);
    }
    if !passed.is_empty() {
        eprintln!(
            "passed over {} files that are not summary files:",
            passed.len()
        );
        for p in passed.iter().take(NAMED) {
            eprintln!("  {}: {}", p.path.display(), p.reason);
        }
        if passed.len() > NAMED {
            eprintln!("  … and {} more", passed.len() - NAMED);
        }
    }
    for b in &report.broken {
        eprintln!("broken {}: {}", b.path.display(), b.reason);
    }
    if report.broken.is_empty() && refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// An indicatif bar (hidden when stderr is not a terminal): files or snapshots, rate, ETA.
struct Bar {
    inner: ProgressBar,
    snapshots: std::sync::atomic::AtomicU64,
    started: Instant,
}

impl Bar {
    fn new(unit: &str) -> Bar {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{bar:30}} {{pos}}/{{len}} {unit} · {{msg}} · ETA {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bar {
            inner: bar,
            snapshots: std::sync::atomic::AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, files: u64) {
        self.inner.set_length(files);
    }

    fn advance(&self, snapshots: u64) {
        let total = self
            .snapshots
            .fetch_add(snapshots, std::sync::atomic::Ordering::Relaxed)
            + snapshots;
        self.inner.inc(1);
        #[allow(clippy::cast_precision_loss, reason = "a rate for people")]
        let rate = total as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        self.inner.set_message(format!("{rate:.0} snapshots/s"));
    }

    fn finish(&self) {
        self.inner.finish_and_clear();
    }
}
