//! The embedded store: one SQLite file, `communities.db`, in the data directory.
//!
//! Layout (every time is Unix seconds, UTC; `res` is 0 hour, 1 day, 2 month; sums, not means,
//! so rollups grow by addition as snapshots arrive in any order):
//!
//! | table         | one row per                     | holds |
//! |---------------|---------------------------------|-------|
//! | `snapshots`   | imported snapshot               | source, network totals |
//! | `communities` | community key                   | its latest state, first/last seen |
//! | `docs`        | distinct entry document         | deflated canonical JSON, xxh3-128 |
//! | `obs`         | community × snapshot            | nodes, stale, mtime (µs after `ts`), lastchange, doc |
//! | `net`         | res × bucket                    | snapshot count, node and community sums |
//! | `series`      | community × res × bucket (day, month) | entries, fresh node sum and count |
//! | `routing`     | res × bucket × protocol         | communities using it, summed |
//!
//! `obs.lastchange` has no declared type, so it keeps what it is given: an integer (Unix
//! milliseconds, when the text reads back exactly from it) or the text itself.
//!
//! A batch of snapshots is one transaction: a killed import leaves whole snapshots or none,
//! and a snapshot already present is skipped, so importing again finishes the job exactly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::prepare::{Prepared, deflate, inflate, restore};
use crate::query::{
    CommunityDetail, CommunitySummary, Extent, LastCount, NetworkMetric, Point, Ranked, Resolution,
    RoutingSeries, Series, Top,
};
use crate::rollup::{self, Sums, Totals, mean};
use crate::store::{Read, Sink};

/// The database file in a data directory.
pub const FILE: &str = "communities.db";

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots(
    ts INTEGER PRIMARY KEY, source TEXT NOT NULL,
    entries INTEGER NOT NULL, fresh INTEGER NOT NULL, nodes INTEGER NOT NULL, nodes_all INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS communities(
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,
    first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL,
    name TEXT, nodes INTEGER, stale INTEGER NOT NULL, routing TEXT NOT NULL,
    lat REAL, lon REAL, city TEXT, country TEXT, api TEXT);
CREATE TABLE IF NOT EXISTS docs(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS obs(
    community INTEGER NOT NULL, ts INTEGER NOT NULL, nodes INTEGER, stale INTEGER NOT NULL,
    mtime INTEGER, lastchange, nodes_in_column INTEGER NOT NULL, doc INTEGER NOT NULL,
    PRIMARY KEY(community, ts)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS obs_ts ON obs(ts);
CREATE TABLE IF NOT EXISTS net(
    res INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,
    nodes INTEGER NOT NULL, nodes_all INTEGER NOT NULL, fresh INTEGER NOT NULL, stale INTEGER NOT NULL,
    PRIMARY KEY(res, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series(
    community INTEGER NOT NULL, res INTEGER NOT NULL, bucket INTEGER NOT NULL,
    n INTEGER NOT NULL, n_nodes INTEGER NOT NULL, nodes INTEGER NOT NULL, n_stale INTEGER NOT NULL,
    PRIMARY KEY(community, res, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS routing(
    res INTEGER NOT NULL, bucket INTEGER NOT NULL, protocol TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY(res, bucket, protocol)) WITHOUT ROWID;
";

pub use crate::store::{Range, StoreError, Written};

/// The SQLite store. One writer at a time; readers open their own.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    docs: HashMap<u128, i64>,
    ids: HashMap<String, i64>,
}

impl SqliteStore {
    /// Opens (creating) the store in `dir`.
    ///
    /// # Errors
    /// When the directory or database cannot be created, or holds another schema version.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.execute_batch(SCHEMA)?;
        let found: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match found {
            None => {
                conn.execute("INSERT INTO meta VALUES ('schema', ?1)", [SCHEMA_VERSION])?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(found) => {
                return Err(StoreError::Version {
                    path,
                    found,
                    expected: SCHEMA_VERSION,
                });
            }
        }
        Ok(SqliteStore {
            conn,
            path,
            docs: HashMap::new(),
            ids: HashMap::new(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_batch(&mut self, batch: &[Prepared]) -> Result<Written, StoreError> {
        let tx = self.conn.transaction()?;
        let mut written = Written::default();
        let mut sums = Sums::default();
        for snapshot in batch {
            let present = tx
                .prepare_cached("SELECT 1 FROM snapshots WHERE ts = ?1")?
                .exists([snapshot.ts])?;
            if present || !sums.seen.insert(snapshot.ts) {
                written.already_present += 1;
                continue;
            }
            let mut totals = Totals::default();
            for e in &snapshot.entries {
                let community = if let Some(&id) = self.ids.get(&e.facts.key) {
                    id
                } else {
                    let id = community_id(&tx, &e.facts.key, snapshot.ts)?;
                    self.ids.insert(e.facts.key.clone(), id);
                    id
                };
                let doc = if let Some(&id) = self.docs.get(&e.hash) {
                    id
                } else {
                    let id = doc_id(&tx, e.hash, &e.doc)?;
                    self.docs.insert(e.hash, id);
                    id
                };
                tx.prepare_cached(
                    "INSERT INTO obs(community, ts, nodes, stale, mtime, lastchange, nodes_in_column, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    community,
                    snapshot.ts,
                    e.facts.nodes,
                    e.facts.stale,
                    e.mtime.map(|us| us - snapshot.ts * 1_000_000),
                    lastchange_column(e.lastchange.as_deref()),
                    e.nodes_in_column,
                    doc
                ])?;
                tx.prepare_cached(
                    "UPDATE communities SET first_ts = min(first_ts, ?2) WHERE id = ?1",
                )?
                .execute(params![community, snapshot.ts])?;
                tx.prepare_cached(
                    "UPDATE communities SET last_ts = ?2, name = ?3, nodes = ?4, stale = ?5, routing = ?6,
                        lat = ?7, lon = ?8, city = ?9, country = ?10, api = ?11
                     WHERE id = ?1 AND last_ts <= ?2",
                )?
                .execute(params![
                    community,
                    snapshot.ts,
                    e.facts.name,
                    e.facts.nodes,
                    e.facts.stale,
                    e.facts.routing.join(","),
                    e.facts.lat,
                    e.facts.lon,
                    e.facts.city,
                    e.facts.country,
                    e.facts.api
                ])?;
                totals.add(e);
                sums.community(&community, snapshot.ts, e);
                written.entries += 1;
            }
            tx.prepare_cached("INSERT INTO snapshots VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
                .execute(params![
                    snapshot.ts,
                    snapshot.source,
                    totals.entries,
                    totals.fresh,
                    totals.nodes,
                    totals.nodes_all
                ])?;
            sums.network(snapshot.ts, &totals);
            written.snapshots += 1;
        }
        flush(sums, &tx)?;
        tx.commit()?;
        Ok(written)
    }

    /// A reader on the same database.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        Reader::open_file(&self.path)
    }
}

impl Sink for SqliteStore {
    fn contains(&self, ts: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM snapshots WHERE ts = ?1")?
            .exists([ts])?)
    }

    /// Writes a batch of snapshots in one transaction, with every rollup. Snapshots already
    /// present (by time) are skipped.
    ///
    /// # Errors
    /// Database failures; then nothing of the batch is written.
    fn write(&mut self, batch: &[Prepared]) -> Result<Written, StoreError> {
        let result = self.write_batch(batch);
        if result.is_err() {
            // Ids handed out in the rolled-back transaction must not be remembered.
            self.docs.clear();
            self.ids.clear();
        }
        result
    }
}

fn community_id(tx: &Connection, key: &str, ts: i64) -> Result<i64, StoreError> {
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM communities WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    tx.prepare_cached(
        "INSERT INTO communities(key, first_ts, last_ts, stale, routing) VALUES (?1, ?2, ?2 - 1, 0, '')",
    )?
    .execute(params![key, ts])?;
    Ok(tx.last_insert_rowid())
}

fn doc_id(tx: &Connection, hash: u128, doc: &[u8]) -> Result<i64, StoreError> {
    let hash = hash.to_be_bytes();
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM docs WHERE hash = ?1")?
        .query_row([&hash[..]], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    let body = deflate(doc)?;
    tx.prepare_cached("INSERT INTO docs(hash, body) VALUES (?1, ?2)")?
        .execute(params![&hash[..], body])?;
    Ok(tx.last_insert_rowid())
}

/// `lastchange` as stored: Unix milliseconds when the text is the common form and reads back
/// exactly (6 bytes instead of 24), else the text.
fn lastchange_column(text: Option<&str>) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match text {
        None => Value::Null,
        Some(s) => crate::source::compact_lastchange(s)
            .map_or_else(|| Value::Text(s.to_owned()), Value::Integer),
    }
}

fn lastchange_text(v: rusqlite::types::Value) -> Option<String> {
    use rusqlite::types::Value;
    match v {
        Value::Integer(ms) => Some(crate::source::expand_lastchange(ms)),
        Value::Text(s) => Some(s),
        _ => None,
    }
}

/// Adds a batch's sums to the rollup tables.
fn flush(sums: Sums<i64>, tx: &Connection) -> Result<(), StoreError> {
    let mut net = tx.prepare_cached(
        "INSERT INTO net VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO UPDATE SET
            n = n + excluded.n, nodes = nodes + excluded.nodes, nodes_all = nodes_all + excluded.nodes_all,
            fresh = fresh + excluded.fresh, stale = stale + excluded.stale",
    )?;
    for ((res, bucket), s) in sums.net {
        net.execute(params![res, bucket, s[0], s[1], s[2], s[3], s[4]])?;
    }
    let mut series = tx.prepare_cached(
        "INSERT INTO series VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO UPDATE SET
            n = n + excluded.n, n_nodes = n_nodes + excluded.n_nodes, nodes = nodes + excluded.nodes,
            n_stale = n_stale + excluded.n_stale",
    )?;
    for ((community, res, bucket), s) in sums.series {
        series.execute(params![community, res, bucket, s[0], s[1], s[2], s[3]])?;
    }
    let mut routing = tx.prepare_cached(
        "INSERT INTO routing VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET count = count + excluded.count",
    )?;
    for ((res, bucket, protocol), count) in sums.routing {
        routing.execute(params![res, bucket, protocol, count])?;
    }
    Ok(())
}

/// Read-only queries. Cheap to open; one per thread.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    /// Opens the store in a data directory for reading.
    ///
    /// # Errors
    /// When there is no store there.
    pub fn open(dir: &Path) -> Result<Reader, StoreError> {
        Reader::open_file(&dir.join(FILE))
    }

    fn open_file(path: &Path) -> Result<Reader, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "cache_size", -32_768)?;
        Ok(Reader { conn })
    }

    fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<CommunitySummary> {
        let key: String = r.get("key")?;
        let routing: String = r.get("routing")?;
        Ok(CommunitySummary {
            name: r
                .get::<_, Option<String>>("name")?
                .unwrap_or_else(|| key.clone()),
            key,
            nodes: r.get("nodes")?,
            stale: r.get("stale")?,
            routing: routing
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            lat: r.get("lat")?,
            lon: r.get("lon")?,
            city: r.get("city")?,
            country: r.get("country")?,
            api: r.get("api")?,
            first_seen: r.get("first_ts")?,
            last_seen: r.get("last_ts")?,
        })
    }

    fn community_row(&self, key: &str) -> Result<Option<(i64, CommunitySummary)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT * FROM communities WHERE key = ?1")?
            .query_row([key], |r| Ok((r.get("id")?, Reader::summary(r)?)))
            .optional()?)
    }

    fn entry(&self, community: i64, ts: i64) -> Result<Option<serde_json::Value>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT d.body, o.mtime + o.ts * 1000000, o.lastchange, o.nodes, o.nodes_in_column
                 FROM obs o JOIN docs d ON d.id = o.doc WHERE o.community = ?1 AND o.ts = ?2",
            )?
            .query_row(params![community, ts], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get(1)?,
                    lastchange_text(r.get(2)?),
                    r.get(3)?,
                    r.get(4)?,
                ))
            })
            .optional()?;
        Ok(row.map(|(body, mtime, lastchange, nodes, in_column)| {
            serde_json::Value::Object(restore(
                &inflate(&body),
                mtime,
                lastchange,
                nodes,
                in_column,
            ))
        }))
    }
}

impl Read for Reader {
    fn span(&self) -> Result<(Option<i64>, Option<i64>, i64), StoreError> {
        Ok(self.conn.prepare_cached(
            "SELECT (SELECT min(ts) FROM snapshots), (SELECT max(ts) FROM snapshots), (SELECT count(*) FROM communities)",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
    }

    fn extent(&self) -> Result<Extent, StoreError> {
        let (snapshots, first, last): (i64, Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT count(*), min(ts), max(ts) FROM snapshots",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let communities = self
            .conn
            .query_row("SELECT count(*) FROM communities", [], |r| r.get(0))?;
        let community_snapshots =
            self.conn
                .query_row("SELECT coalesce(sum(entries), 0) FROM snapshots", [], |r| {
                    r.get(0)
                })?;
        Ok(Extent {
            snapshots,
            communities,
            community_snapshots,
            first,
            last,
        })
    }

    fn digest(&self) -> Result<String, StoreError> {
        const CANONICAL: [&str; 6] = [
            "SELECT * FROM snapshots ORDER BY ts",
            "SELECT key, first_ts, last_ts, name, nodes, stale, routing, lat, lon, city, country, api FROM communities ORDER BY key",
            "SELECT c.key, o.ts, o.nodes, o.stale, o.mtime, o.lastchange, o.nodes_in_column, d.hash
             FROM obs o JOIN communities c ON c.id = o.community JOIN docs d ON d.id = o.doc ORDER BY c.key, o.ts",
            "SELECT * FROM net ORDER BY res, bucket",
            "SELECT c.key, s.res, s.bucket, s.n, s.n_nodes, s.nodes, s.n_stale
             FROM series s JOIN communities c ON c.id = s.community ORDER BY c.key, s.res, s.bucket",
            "SELECT * FROM routing ORDER BY res, bucket, protocol",
        ];
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for sql in CANONICAL {
            let mut stmt = self.conn.prepare(sql)?;
            let columns = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                for i in 0..columns {
                    let value: rusqlite::types::Value = row.get(i)?;
                    hasher.update(format!("{value:?}\u{1f}").as_bytes());
                }
                hasher.update(b"\n");
            }
            hasher.update(b"\x1e");
            if std::env::var_os("PORTICO_DIGEST_DEBUG").is_some() {
                eprintln!("{:032x} after {sql}", hasher.digest128());
            }
        }
        Ok(format!("{:032x}", hasher.digest128()))
    }

    fn communities(&self) -> Result<Vec<CommunitySummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM communities ORDER BY nodes IS NULL, nodes DESC, key")?;
        let rows = stmt.query_map([], Reader::summary)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn community(&self, key: &str) -> Result<Option<CommunityDetail>, StoreError> {
        let Some((id, summary)) = self.community_row(key)? else {
            return Ok(None);
        };
        let (snapshots, stale_snapshots) = self.conn.query_row(
            "SELECT coalesce(sum(n), 0), coalesce(sum(n_stale), 0) FROM series WHERE community = ?1 AND res = 2",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let latest = self
            .entry(id, summary.last_seen)?
            .unwrap_or(serde_json::Value::Null);
        let last_count = self
            .conn
            .prepare_cached(
                "SELECT ts, nodes FROM obs WHERE community = ?1 AND nodes IS NOT NULL ORDER BY ts DESC LIMIT 1",
            )?
            .query_row([id], |r| {
                Ok(LastCount {
                    at: r.get(0)?,
                    nodes: r.get(1)?,
                })
            })
            .optional()?;
        Ok(Some(CommunityDetail {
            summary,
            snapshots,
            stale_snapshots,
            latest,
            last_count,
        }))
    }

    fn entry_at(&self, key: &str, at: i64) -> Result<Option<(i64, serde_json::Value)>, StoreError> {
        let Some((id, _)) = self.community_row(key)? else {
            return Ok(None);
        };
        let ts: Option<i64> = self
            .conn
            .prepare_cached("SELECT max(ts) FROM obs WHERE community = ?1 AND ts <= ?2")?
            .query_row(params![id, at], |r| r.get(0))?;
        let Some(ts) = ts else {
            return Ok(None);
        };
        Ok(self.entry(id, ts)?.map(|e| (ts, e)))
    }

    fn community_series(
        &self,
        key: &str,
        range: Range,
        res: Resolution,
    ) -> Result<Option<Series>, StoreError> {
        let Some((id, _)) = self.community_row(key)? else {
            return Ok(None);
        };
        let points = if res == Resolution::Hour {
            let mut stmt = self.conn.prepare_cached(
                "SELECT ts, nodes, stale FROM obs WHERE community = ?1 AND ts BETWEEN ?2 AND ?3 ORDER BY ts",
            )?;
            let rows = stmt.query_map(params![id, range.from, range.to], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            rollup::hour_points(rows.collect::<Result<Vec<_>, _>>()?)
        } else {
            let mut stmt = self.conn.prepare_cached(
                "SELECT bucket, nodes, n_nodes, n_stale, n FROM series
                 WHERE community = ?1 AND res = ?2 AND bucket BETWEEN ?3 AND ?4 ORDER BY bucket",
            )?;
            let rows = stmt.query_map(
                params![id, res.code(), res.bucket(range.from.max(0)), range.to],
                |r| {
                    Ok(Point {
                        t: r.get(0)?,
                        value: mean(r.get(1)?, r.get(2)?),
                        stale: r.get::<_, i64>(3)? > 0,
                        stale_share: crate::query::snapshots_share(r.get(3)?, r.get(4)?),
                    })
                },
            )?;
            rows.collect::<Result<_, _>>()?
        };
        Ok(Some(Series {
            metric: "nodes".into(),
            resolution: res,
            points,
        }))
    }

    fn network_series(
        &self,
        metric: NetworkMetric,
        range: Range,
        res: Resolution,
    ) -> Result<Series, StoreError> {
        let column = metric.rollup_field();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT bucket, {column}, n, stale, nodes, nodes_all FROM net WHERE res = ?1 AND bucket BETWEEN ?2 AND ?3 ORDER BY bucket"
        ))?;
        let rows = stmt.query_map(
            params![res.code(), res.bucket(range.from.max(0)), range.to],
            |r| {
                Ok(Point {
                    t: r.get(0)?,
                    value: mean(r.get(1)?, r.get(2)?),
                    stale: r.get::<_, i64>(3)? > 0,
                    stale_share: crate::query::nodes_share(r.get(4)?, r.get(5)?),
                })
            },
        )?;
        Ok(Series {
            metric: metric.as_str().into(),
            resolution: res,
            points: rows.collect::<Result<_, _>>()?,
        })
    }

    fn top(&self, at: i64, n: usize) -> Result<Option<Top>, StoreError> {
        let snapshot: Option<i64> = self
            .conn
            .prepare_cached("SELECT max(ts) FROM snapshots WHERE ts <= ?1")?
            .query_row([at], |r| r.get(0))?;
        let Some(snapshot) = snapshot else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.key, c.name, o.nodes, o.stale FROM obs o JOIN communities c ON c.id = o.community
             WHERE o.ts = ?1 AND o.nodes IS NOT NULL ORDER BY o.nodes DESC, c.key LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![snapshot, i64::try_from(n).unwrap_or(i64::MAX)],
            |r| {
                let key: String = r.get(0)?;
                Ok(Ranked {
                    name: r
                        .get::<_, Option<String>>(1)?
                        .unwrap_or_else(|| key.clone()),
                    key,
                    nodes: r.get(2)?,
                    stale: r.get(3)?,
                })
            },
        )?;
        Ok(Some(Top {
            snapshot,
            communities: rows.collect::<Result<_, _>>()?,
        }))
    }

    fn routing_series(&self, range: Range, res: Resolution) -> Result<RoutingSeries, StoreError> {
        let (from, to) = (res.bucket(range.from.max(0)), range.to);
        let buckets = self
            .conn
            .prepare_cached(
                "SELECT bucket, n FROM net WHERE res = ?1 AND bucket BETWEEN ?2 AND ?3 ORDER BY bucket",
            )?
            .query_map(params![res.code(), from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let counts = self
            .conn
            .prepare_cached(
                "SELECT bucket, protocol, count FROM routing WHERE res = ?1 AND bucket BETWEEN ?2 AND ?3",
            )?
            .query_map(params![res.code(), from, to], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rollup::routing_series(res, buckets, counts))
    }
}
