//! `portico communities import`: files → parallel parse and prepare → one writer.
//!
//! Workers (one per core) read, decompress, parse and prepare files; the writer commits
//! snapshots in batches, each batch one transaction, in file-name order whatever order the
//! workers finish in. Files whose time (from the name) is already in the store are not even
//! read, and the store skips any snapshot it already has, so a second run, or a run after a
//! kill, ends exactly where an uninterrupted run would — and when two files hold the same time
//! (a history file and the live `ffSummarizedDir.json`), the first by name wins (the history
//! file: names with a time sort before the live file's), the other counts as already present.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::prepare::{Prepared, prepare};
use crate::source::{self, Passed, SourceFile};
use crate::store::{Sink, StoreError};

/// Told how the import goes (the command line draws a progress bar with it).
pub trait Progress: Sync {
    /// Files to go through.
    fn start(&self, files: u64);
    /// One more file done, holding `snapshots` snapshots.
    fn advance(&self, snapshots: u64);
    fn finish(&self);
}

/// No progress reporting.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// A file that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub path: PathBuf,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Snapshot files found.
    pub files: usize,
    pub imported: usize,
    /// Snapshots already in the store (not read again when the name gives the time).
    pub already_present: usize,
    pub entries: usize,
    /// Top-level values that were not community objects.
    pub skipped_entries: usize,
    /// Node counts that were not whole non-negative numbers (left uncounted), each as
    /// `file: community: value`.
    pub bad_counts: Vec<String>,
    /// Files whose names are not snapshot names.
    pub passed: Vec<Passed>,
    pub broken: Vec<Broken>,
}

/// Snapshots per transaction (fewer when they are large).
const BATCH_SNAPSHOTS: usize = 32;
const BATCH_ENTRIES: usize = 16_384;

/// Imports every snapshot file under `paths` with `threads` workers.
///
/// # Errors
/// Only store failures stop an import; broken files are reported in [`Report::broken`].
pub fn import(
    store: &mut dyn Sink,
    paths: &[PathBuf],
    threads: usize,
    progress: &dyn Progress,
) -> Result<Report, StoreError> {
    let (files, passed) = source::collect(paths);
    let mut report = Report {
        files: files.len(),
        passed,
        ..Report::default()
    };
    progress.start(files.len() as u64);
    let mut todo = Vec::with_capacity(files.len());
    for file in files {
        match file.ts {
            Some(ts) if store.contains(ts)? => {
                report.already_present += 1;
                progress.advance(0);
            }
            _ => todo.push(file),
        }
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, Result<Vec<Prepared>, String>)>(threads.max(1) * 2);
    let result = std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let tx = tx.clone();
            let (todo, next) = (&todo, &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = todo.get(i) else { break };
                    let prepared = read_and_prepare(file);
                    if tx.send((i, prepared)).is_err() {
                        break; // the writer stopped on a store failure
                    }
                }
            });
        }
        drop(tx);
        let mut batch = Batch::default();
        // Results wait here until every earlier file's has come: commits follow name order.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next_to_write = 0;
        for (i, prepared) in rx {
            waiting.insert(i, prepared);
            while let Some(prepared) = waiting.remove(&next_to_write) {
                next_to_write += 1;
                match prepared {
                    Ok(snapshots) => {
                        progress.advance(snapshots.len() as u64);
                        for mut s in snapshots {
                            report.skipped_entries += s.skipped_entries;
                            let source = s.source.clone();
                            report
                                .bad_counts
                                .extend(s.bad_counts.drain(..).map(|b| format!("{source}: {b}")));
                            batch.push(s);
                        }
                    }
                    Err(reason) => {
                        progress.advance(0);
                        report.broken.push(Broken {
                            path: todo[next_to_write - 1].path.clone(),
                            reason,
                        });
                    }
                }
                if batch.full() {
                    batch.write(store, &mut report)?;
                }
            }
        }
        batch.write(store, &mut report)
    });
    progress.finish();
    report.broken.sort_by(|a, b| a.path.cmp(&b.path));
    result.map(|()| report)
}

fn read_and_prepare(file: &SourceFile) -> Result<Vec<Prepared>, String> {
    let snapshots = source::read(file).map_err(|e| e.to_string())?;
    Ok(snapshots.into_iter().map(prepare).collect())
}

/// Writes prepared snapshots as they come (synthetic history straight into the store).
///
/// # Errors
/// Store failures.
pub fn write_all(
    store: &mut dyn Sink,
    snapshots: impl Iterator<Item = Prepared>,
    progress: &dyn Progress,
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut batch = Batch::default();
    for s in snapshots {
        report.files += 1;
        progress.advance(1);
        batch.push(s);
        if batch.full() {
            batch.write(store, &mut report)?;
        }
    }
    batch.write(store, &mut report)?;
    progress.finish();
    Ok(report)
}

#[derive(Default)]
struct Batch {
    snapshots: Vec<Prepared>,
    entries: usize,
}

impl Batch {
    fn push(&mut self, s: Prepared) {
        self.entries += s.entries.len();
        self.snapshots.push(s);
    }

    fn full(&self) -> bool {
        self.snapshots.len() >= BATCH_SNAPSHOTS || self.entries >= BATCH_ENTRIES
    }

    fn write(&mut self, store: &mut dyn Sink, report: &mut Report) -> Result<(), StoreError> {
        if self.snapshots.is_empty() {
            return Ok(());
        }
        let written = store.write(&self.snapshots)?;
        report.imported += written.snapshots;
        report.already_present += written.already_present;
        report.entries += written.entries;
        self.snapshots.clear();
        self.entries = 0;
        Ok(())
    }
}
