//! The CPU-heavy half of an import, done in parallel before the single writer: each entry's
//! volatile fields are pulled out of its document (so unchanged communities share one stored
//! document), the rest is made canonical and hashed. [`restore`] puts the document back
//! together exactly.

use serde_json::{Map, Value};

use crate::model::{Entry, Facts};
use crate::source::{Snapshot, format_mtime, parse_mtime};

/// An entry ready for any store.
#[derive(Debug, Clone)]
pub struct PreparedEntry {
    pub facts: Facts,
    /// `mtime` in Unix microseconds, when it was in the collector's format (then it is not in
    /// `doc`).
    pub mtime: Option<i64>,
    /// `state.lastchange`, when it was a string (then it is not in `doc`).
    pub lastchange: Option<String>,
    /// `state.nodes` was a JSON integer and is not in `doc`.
    pub nodes_in_column: bool,
    /// The rest of the entry, canonical JSON (keys sorted).
    pub doc: Vec<u8>,
    /// xxh3-128 of `doc`.
    pub hash: u128,
}

/// A snapshot ready for any store.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub ts: i64,
    pub source: String,
    pub entries: Vec<PreparedEntry>,
    pub skipped_entries: usize,
    /// Node counts left uncounted (`key: value`), for the import's summary.
    pub bad_counts: Vec<String>,
}

/// Prepares a snapshot for writing.
pub fn prepare(snapshot: Snapshot) -> Prepared {
    Prepared {
        ts: snapshot.ts,
        source: snapshot.source,
        skipped_entries: snapshot.skipped_entries,
        bad_counts: snapshot.bad_counts,
        entries: snapshot.entries.into_iter().map(prepare_entry).collect(),
    }
}

fn prepare_entry(entry: Entry) -> PreparedEntry {
    let Entry { facts, mut raw } = entry;
    let mtime = match raw.get("mtime") {
        Some(Value::String(s)) => parse_mtime(s).filter(|us| format_mtime(*us) == *s),
        _ => None,
    };
    if mtime.is_some() {
        raw.remove("mtime");
    }
    let mut lastchange = None;
    let mut nodes_in_column = false;
    if let Some(Value::Object(state)) = raw.get_mut("state") {
        if let Some(Value::String(_)) = state.get("lastchange")
            && let Some(Value::String(s)) = state.remove("lastchange")
        {
            lastchange = Some(s);
        }
        if let Some(Value::Number(n)) = state.get("nodes")
            && n.as_i64().is_some()
            && n.as_i64() == facts.nodes
        {
            state.remove("nodes");
            nodes_in_column = true;
        }
    }
    let doc = serde_json::to_vec(&raw).unwrap_or_default();
    let hash = xxhash_rust::xxh3::xxh3_128(&doc);
    PreparedEntry {
        facts,
        mtime,
        lastchange,
        nodes_in_column,
        doc,
        hash,
    }
}

/// A document as stored: deflated.
///
/// # Errors
/// Never in practice (writing to memory).
pub fn deflate(doc: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut deflate =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflate.write_all(doc)?;
    deflate.finish()
}

/// A stored document read back (empty when the body is damaged).
pub fn inflate(body: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let _ = flate2::read::DeflateDecoder::new(body).read_to_end(&mut out);
    out
}

/// The entry as it was in the file, from its stored parts.
pub fn restore(
    doc: &[u8],
    mtime: Option<i64>,
    lastchange: Option<String>,
    nodes: Option<i64>,
    nodes_in_column: bool,
) -> Map<String, Value> {
    let mut raw: Map<String, Value> = serde_json::from_slice(doc).unwrap_or_default();
    if let Some(us) = mtime {
        raw.insert("mtime".into(), Value::String(format_mtime(us)));
    }
    if lastchange.is_some() || nodes_in_column {
        let state = raw
            .entry("state")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(state) = state {
            if let Some(s) = lastchange {
                state.insert("lastchange".into(), Value::String(s));
            }
            if let (true, Some(n)) = (nodes_in_column, nodes) {
                state.insert("nodes".into(), Value::from(n));
            }
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn volatile_fields_leave_the_document_and_come_back() {
        let raw = json!({
            "name": "Freifunk X",
            "mtime": "2016-03-23 19:01:01.988512",
            "state": {"nodes": 42, "lastchange": "2016-01-01T18:14:07.319Z", "focus": ["a"]},
            "unknown": [1, {"b": 2}]
        });
        let entry = Entry::parse("x", raw.clone()).unwrap();
        let p = prepare_entry(entry);
        let doc: Value = serde_json::from_slice(&p.doc).unwrap();
        assert_eq!(
            doc,
            json!({"name": "Freifunk X", "state": {"focus": ["a"]}, "unknown": [1, {"b": 2}]})
        );
        let back = restore(
            &p.doc,
            p.mtime,
            p.lastchange,
            p.facts.nodes,
            p.nodes_in_column,
        );
        assert_eq!(Value::Object(back), raw);
    }

    #[test]
    fn odd_values_stay_in_the_document() {
        for raw in [
            json!({"mtime": "yesterday", "state": {"nodes": "17", "lastchange": 5}}),
            json!({"mtime": "2016-03-23 19:01:01", "state": {"nodes": 3.0}}),
            json!({"state": null}),
            json!({}),
        ] {
            let p = prepare_entry(Entry::parse("x", raw.clone()).unwrap());
            let back = restore(
                &p.doc,
                p.mtime,
                p.lastchange.clone(),
                p.facts.nodes,
                p.nodes_in_column,
            );
            assert_eq!(Value::Object(back), raw);
        }
    }

    #[test]
    fn unchanged_communities_share_a_document() {
        let a = prepare_entry(
            Entry::parse(
                "x",
                json!({"name": "X", "mtime": "2016-03-23 19:01:01.000001", "state": {"nodes": 1}}),
            )
            .unwrap(),
        );
        let b = prepare_entry(
            Entry::parse(
                "x",
                json!({"name": "X", "mtime": "2016-03-23 20:01:01.000002", "state": {"nodes": 2}}),
            )
            .unwrap(),
        );
        assert_eq!(a.hash, b.hash);
    }
}
