//! History files on disk: which files are snapshots, when each was taken, and reading them
//! (`.json`, `.json.gz`, `.json.tar.gz`) into [`Snapshot`]s.
//!
//! A history file is named `YYYYMMDD-HH.MM.SS-ffSummarizedDir.json` (UTC, the collector's
//! hourly run); the live summary file `ffSummarizedDir.json` has no time in its name, so its
//! time is the newest `mtime` of its entries.

use std::io::Read;
use std::path::PathBuf;

use serde_json::{Map, Value};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::model::Entry;

/// The suffix every history file name carries before its compression extensions.
const STEM: &str = "ffSummarizedDir.json";

/// One summary file's content at one point in time.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Unix seconds (UTC).
    pub ts: i64,
    /// Where it came from (file name, or `archive.tar.gz/member`), for messages.
    pub source: String,
    pub entries: Vec<Entry>,
    /// Top-level values that were not community objects.
    pub skipped_entries: usize,
    /// Node counts that were not whole non-negative numbers (`key: value`), left uncounted.
    pub bad_counts: Vec<String>,
}

/// Why a file could not be read. Every variant says enough to find the problem.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("not JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the top level is not an object of communities")]
    NotAnObject,
    /// `{}`: a snapshot of nothing is not a network of zero nodes.
    #[error("holds no communities (an empty snapshot is not data)")]
    NoCommunities,
    #[error("no time: the name has none and no entry has an mtime")]
    NoTimestamp,
    #[error("the archive holds no summary file")]
    EmptyArchive,
    /// Larger than [`MAX_SUMMARY_BYTES`] once decompressed (real summary files are under
    /// 1 MB; this is a damaged file or a decompression bomb).
    #[error("{}larger than {} MiB once decompressed; not read", .member.as_ref().map(|m| format!("{m} is ")).unwrap_or_default(), MAX_SUMMARY_BYTES >> 20)]
    TooLarge {
        /// The archive member, when the file is an archive.
        member: Option<String>,
    },
}

/// The largest summary file read, decompressed (real ones are under 1 MB): memory per
/// worker stays bounded whatever a file holds.
pub const MAX_SUMMARY_BYTES: u64 = 16 << 20;

/// Reads at most [`MAX_SUMMARY_BYTES`] from `reader`; more is [`SourceError::TooLarge`]
/// (naming the archive `member`, if any), found after reading one byte past the limit,
/// never the whole stream.
fn read_bounded(reader: impl Read, member: Option<&str>) -> Result<Vec<u8>, SourceError> {
    let mut bytes = Vec::new();
    reader.take(MAX_SUMMARY_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SUMMARY_BYTES {
        return Err(SourceError::TooLarge {
            member: member.map(str::to_owned),
        });
    }
    Ok(bytes)
}

impl From<serde_json::Error> for SourceError {
    fn from(e: serde_json::Error) -> SourceError {
        if e.is_io() {
            return SourceError::Io(e.into());
        }
        SourceError::Json {
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

/// How a file is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    Json,
    Gz,
    TarGz,
}

/// A file found by [`collect`] that looks like a snapshot.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub packing: Packing,
    /// The time in the name, when it has one.
    pub ts: Option<i64>,
}

impl SourceFile {
    /// The file name, for messages.
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// Recognises a history or live file name: its packing, and its time if it has one.
pub fn classify(name: &str) -> Option<(Packing, Option<i64>)> {
    let (base, packing) = if let Some(b) = name.strip_suffix(".tar.gz") {
        (b, Packing::TarGz)
    } else if let Some(b) = name.strip_suffix(".gz") {
        (b, Packing::Gz)
    } else {
        (name, Packing::Json)
    };
    let prefix = base.strip_suffix(STEM)?;
    if prefix.is_empty() {
        return Some((packing, None));
    }
    let stamp = prefix.strip_suffix('-')?;
    Some((packing, Some(parse_stamp(stamp)?)))
}

/// `20160323-19.01.01` → Unix seconds.
fn parse_stamp(stamp: &str) -> Option<i64> {
    let format = format_description!("[year][month][day]-[hour].[minute].[second]");
    Some(
        PrimitiveDateTime::parse(stamp, format)
            .ok()?
            .assume_utc()
            .unix_timestamp(),
    )
}

/// The file name a snapshot taken at `ts` gets.
pub fn file_name(ts: i64) -> String {
    let format = format_description!("[year][month][day]-[hour].[minute].[second]");
    let t = OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{}-{STEM}", t.format(format).unwrap_or_default())
}

/// The collector's `mtime` (`2016-03-23 19:01:01.988512`) → Unix microseconds.
pub fn parse_mtime(s: &str) -> Option<i64> {
    let with = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let without = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = PrimitiveDateTime::parse(s, with)
        .or_else(|_| PrimitiveDateTime::parse(s, without))
        .ok()?
        .assume_utc();
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

/// Unix microseconds → the collector's `mtime` format (six fraction digits).
pub fn format_mtime(us: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// A `lastchange` in the common `2016-01-01T18:14:07.319Z` form → Unix milliseconds, when it
/// reads back exactly (else the text is kept as it is).
pub fn compact_lastchange(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?;
    (expand_lastchange(ms) == s).then_some(ms)
}

/// Unix milliseconds → `2016-01-01T18:14:07.319Z`.
pub fn expand_lastchange(ms: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// What [`collect`] passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    pub path: PathBuf,
    pub reason: String,
}

/// The snapshot files under `paths` (files and directories, recursively), sorted by name so
/// an import goes forward in time; files whose names are not history files are passed over.
pub fn collect(paths: &[PathBuf]) -> (Vec<SourceFile>, Vec<Passed>) {
    let mut found = Vec::new();
    let mut passed = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = stack.pop() {
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => match std::fs::read_dir(&path) {
                Ok(dir) => stack.extend(dir.filter_map(|e| e.ok().map(|e| e.path()))),
                Err(e) => passed.push(Passed {
                    path,
                    reason: format!("cannot list: {e}"),
                }),
            },
            Ok(_) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match classify(&name) {
                    Some((packing, ts)) => found.push(SourceFile { path, packing, ts }),
                    None => passed.push(Passed {
                        path,
                        reason: "not a summary file name (YYYYMMDD-HH.MM.SS-ffSummarizedDir.json[.gz|.tar.gz])".into(),
                    }),
                }
            }
            Err(e) => passed.push(Passed {
                path,
                reason: format!("cannot read: {e}"),
            }),
        }
    }
    found.sort_by(|a, b| {
        a.path
            .file_name()
            .cmp(&b.path.file_name())
            .then(a.path.cmp(&b.path))
    });
    passed.sort_by(|a, b| a.path.cmp(&b.path));
    // A file named on the command line and found in a named folder too is one file.
    found.dedup_by(|a, b| a.path == b.path);
    passed.dedup_by(|a, b| a.path == b.path);
    (found, passed)
}

/// Reads every snapshot in a file (a `.tar.gz` may hold several).
///
/// # Errors
/// When the file cannot be read, decompressed or parsed; the error names the reason.
pub fn read(file: &SourceFile) -> Result<Vec<Snapshot>, SourceError> {
    let name = file.name();
    let open = || std::fs::File::open(&file.path).map(std::io::BufReader::new);
    match file.packing {
        Packing::Json => Ok(vec![parse(&read_bounded(open()?, None)?, &name, file.ts)?]),
        Packing::Gz => {
            let bytes = read_bounded(flate2::read::MultiGzDecoder::new(open()?), None)?;
            Ok(vec![parse(&bytes, &name, file.ts)?])
        }
        Packing::TarGz => {
            let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(open()?));
            let mut snapshots = Vec::new();
            for member in archive.entries()? {
                let mut member = member?;
                if !member.header().entry_type().is_file() {
                    continue;
                }
                let member_path = member.path()?.into_owned();
                let member_name = member_path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let Some((Packing::Json, ts)) = classify(&member_name) else {
                    continue;
                };
                let source = format!("{name}/{member_name}");
                let bytes = read_bounded(&mut member, Some(&member_name))?;
                snapshots.push(parse(&bytes, &source, ts.or(file.ts))?);
            }
            if snapshots.is_empty() {
                return Err(SourceError::EmptyArchive);
            }
            Ok(snapshots)
        }
    }
}

/// Parses one summary file's bytes. `ts` is the time from its name; without one (the live
/// file) the newest entry `mtime`, to the second, is used.
///
/// # Errors
/// Not JSON, not an object at the top, or no time at all.
pub fn parse(bytes: &[u8], source: &str, ts: Option<i64>) -> Result<Snapshot, SourceError> {
    let Value::Object(top) = serde_json::from_slice::<Value>(bytes)? else {
        return Err(SourceError::NotAnObject);
    };
    from_map(top, source, ts)
}

/// A snapshot from an already parsed top-level object.
///
/// # Errors
/// When there is no time (see [`parse`]).
pub fn from_map(
    top: Map<String, Value>,
    source: &str,
    ts: Option<i64>,
) -> Result<Snapshot, SourceError> {
    if top.is_empty() {
        return Err(SourceError::NoCommunities);
    }
    let mut skipped_entries = 0;
    let mut bad_counts = Vec::new();
    let mut entries = Vec::with_capacity(top.len());
    for (key, value) in top {
        match Entry::parse(&key, value) {
            Some(e) => {
                if let Some(count) = e.unreadable_count() {
                    bad_counts.push(format!("{key}: {count}"));
                }
                entries.push(e);
            }
            None => skipped_entries += 1,
        }
    }
    let ts = match ts {
        Some(ts) => ts,
        None => entries
            .iter()
            .filter_map(|e| {
                e.raw
                    .get("mtime")
                    .and_then(Value::as_str)
                    .and_then(parse_mtime)
            })
            .max()
            .map(|us| us.div_euclid(1_000_000))
            .ok_or(SourceError::NoTimestamp)?,
    };
    Ok(Snapshot {
        ts,
        source: source.to_owned(),
        entries,
        skipped_entries,
        bad_counts,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    /// Issue 22: a member past the limit is refused by name, for `.gz` and `.tar.gz`.
    #[test]
    fn oversized_members_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let big = MAX_SUMMARY_BYTES + 1;
        let gz_path = dir.path().join("20160324-19.01.01-ffSummarizedDir.json.gz");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz_path).unwrap(),
            flate2::Compression::fast(),
        );
        std::io::copy(&mut std::io::repeat(b' ').take(big), &mut gz).unwrap();
        gz.finish().unwrap();
        let tar_path = dir
            .path()
            .join("20160325-19.01.01-ffSummarizedDir.json.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&tar_path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(big);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            "20160325-19.01.01-ffSummarizedDir.json",
            std::io::repeat(b' ').take(big),
        )
        .unwrap();
        tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
        for (path, packing, member, text) in [
            (
                &gz_path,
                Packing::Gz,
                None,
                "larger than 16 MiB once decompressed; not read",
            ),
            (
                &tar_path,
                Packing::TarGz,
                Some("20160325-19.01.01-ffSummarizedDir.json".to_owned()),
                "20160325-19.01.01-ffSummarizedDir.json is larger than 16 MiB once decompressed; not read",
            ),
        ] {
            let file = SourceFile {
                path: path.clone(),
                packing,
                ts: None,
            };
            let err = read(&file).unwrap_err();
            assert!(
                matches!(&err, SourceError::TooLarge { member: m } if *m == member),
                "{err}"
            );
            assert_eq!(err.to_string(), text);
        }
    }

    use super::*;

    #[test]
    fn names_give_packing_and_time() {
        let ts = 1_458_759_661; // 2016-03-23T19:01:01Z
        assert_eq!(
            classify("20160323-19.01.01-ffSummarizedDir.json"),
            Some((Packing::Json, Some(ts)))
        );
        assert_eq!(
            classify("20160323-19.01.01-ffSummarizedDir.json.gz"),
            Some((Packing::Gz, Some(ts)))
        );
        assert_eq!(
            classify("20160323-19.01.01-ffSummarizedDir.json.tar.gz"),
            Some((Packing::TarGz, Some(ts)))
        );
        assert_eq!(
            classify("ffSummarizedDir.json"),
            Some((Packing::Json, None))
        );
        assert_eq!(classify("20161323-19.01.01-ffSummarizedDir.json"), None);
        assert_eq!(classify("README.md"), None);
        assert_eq!(file_name(ts), "20160323-19.01.01-ffSummarizedDir.json");
    }

    #[test]
    fn mtime_round_trips() {
        let us = parse_mtime("2016-03-23 19:01:01.988512").unwrap();
        assert_eq!(us, 1_458_759_661_988_512);
        assert_eq!(format_mtime(us), "2016-03-23 19:01:01.988512");
        assert_eq!(
            parse_mtime("2016-03-23 19:01:01"),
            Some(1_458_759_661_000_000)
        );
        assert_eq!(
            compact_lastchange("2016-01-01T18:14:07.319Z"),
            Some(1_451_672_047_319)
        );
        assert_eq!(compact_lastchange("2016-03-23T18:23:02.041121"), None);
        assert_eq!(compact_lastchange("2016-01-01T18:14:07Z"), None);
    }

    #[test]
    fn the_live_file_takes_its_time_from_the_newest_mtime() {
        let s = parse(
            br#"{"a": {"mtime": "2020-01-01 10:00:00.5"}, "b": {"mtime": "2020-01-01 11:30:00.25"}, "c": 3}"#,
            "ffSummarizedDir.json",
            None,
        )
        .unwrap();
        assert_eq!(s.ts, 1_577_878_200);
        assert_eq!((s.entries.len(), s.skipped_entries), (2, 1));
        assert!(matches!(
            parse(b"[1]", "x", Some(0)),
            Err(SourceError::NotAnObject)
        ));
        assert!(matches!(
            parse(b"{\"a\": {}}", "x", None),
            Err(SourceError::NoTimestamp)
        ));
        let Err(SourceError::Json { line, .. }) = parse(b"{\n\"a\": ", "x", Some(0)) else {
            panic!("truncated JSON must say where");
        };
        assert_eq!(line, 2);
    }
}
