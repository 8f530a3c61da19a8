//! The MongoDB store, for a site at scale (cargo feature `mongodb`): what [`crate::sqlite`]
//! holds, as collections of one database (the URI's, else [`DEFAULT_DATABASE`]):
//!
//! | collection    | one document per                  | holds |
//! |---------------|-----------------------------------|-------|
//! | `meta`        | setting                           | `{_id: "schema", value: 1}` |
//! | `snapshots`   | imported snapshot (`_id`: time)   | source, network totals |
//! | `communities` | community (`_id`: key)            | its latest state, first/last seen |
//! | `docs`        | distinct entry document (`_id`: xxh3-128) | deflated canonical JSON |
//! | `obs`         | community × snapshot, **time-series** (`timeField` `t`, `metaField` `c` = key) | nodes, stale, mtime (µs after `t`), lastchange, in_column, doc |
//! | `net`         | `r` (resolution) × `b` (bucket)   | snapshot count, node and community sums |
//! | `series`      | `c` × `r` × `b` (days, months)    | entries, fresh node sum and count, stale entries |
//! | `routing`     | `r` × `b` × `p` (protocol)        | communities using it, summed |
//!
//! Times are Unix seconds (`t` is a BSON date). Rollups are sums grown with `$inc` upserts
//! (unique indexes on their keys), as in SQLite; means are taken when reading.
//!
//! Writing a batch: the entry documents (keyed by hash) and the observations first, both
//! idempotent (a snapshot's observations are deleted before they are inserted), then one
//! transaction with the communities' latest state, every rollup `$inc` and the `snapshots`
//! documents: a snapshot is counted once or not at all, so an import killed at any point and
//! run again ends exactly where an uninterrupted one would. Transactions need a replica set
//! (a single-node one will do) and deleting from a time-series collection by time MongoDB 7.0.
//!
//! Every command is a document built by a pure function in `commands` (the exact documents
//! are snapshot-tested, `src/snapshots/`) and run with `runCommand`.

use std::collections::{BTreeMap, HashSet};

use mongodb::bson::{Bson, Document};
use mongodb::sync::{Client, ClientSession, Database};

use crate::prepare::{Prepared, PreparedEntry, deflate, inflate, restore};
use crate::query::{
    CommunityDetail, CommunitySummary, Extent, LastCount, NetworkMetric, Point, Ranked, Resolution,
    RoutingSeries, Series, Top,
};
use crate::rollup::{self, Sums, Totals, mean};
use crate::store::{Range, Read, Sink, StoreError, Written};

/// The database used when the URI names none.
pub const DEFAULT_DATABASE: &str = "portico_communities";

const SCHEMA_VERSION: i64 = 1;

/// Documents or statements per command (well below the 16 MiB command limit).
const CHUNK: usize = 1000;

/// Attempts at a transaction that fails with a transient error.
const ATTEMPTS: usize = 5;

/// The MongoDB store: writer and reader in one (the driver pools connections).
pub struct MongoStore {
    client: Client,
    db: Database,
    /// Hashes of documents known to be stored.
    docs: HashSet<u128>,
}

impl MongoStore {
    /// Connects, creating the collections and indexes that are missing.
    ///
    /// # Errors
    /// A URI that does not parse, a server that cannot be reached, or a store of another
    /// schema version.
    pub fn open(uri: &str) -> Result<MongoStore, StoreError> {
        MongoStore::open_database(uri, None)
    }

    /// Connects to `database` (else the URI's, else [`DEFAULT_DATABASE`]).
    ///
    /// # Errors
    /// As [`MongoStore::open`].
    pub fn open_database(uri: &str, database: Option<&str>) -> Result<MongoStore, StoreError> {
        let client = Client::with_uri_str(uri)?;
        let db = match database {
            Some(name) => client.database(name),
            None => client
                .default_database()
                .unwrap_or_else(|| client.database(DEFAULT_DATABASE)),
        };
        let store = MongoStore {
            client,
            db,
            docs: HashSet::new(),
        };
        store.set_up()?;
        Ok(store)
    }

    /// The database's name.
    pub fn database(&self) -> &str {
        self.db.name()
    }

    /// Drops the whole database (tests use a database of their own).
    ///
    /// # Errors
    /// Server failures.
    pub fn drop_database(self) -> Result<(), StoreError> {
        self.db.drop().run()?;
        Ok(())
    }

    fn set_up(&self) -> Result<(), StoreError> {
        let existing: HashSet<String> =
            self.db.list_collection_names().run()?.into_iter().collect();
        for command in commands::create_collections(&existing) {
            self.command(command)?;
        }
        for command in commands::create_indexes() {
            self.command(command)?;
        }
        let found = self
            .cursor(commands::schema_version())?
            .first()
            .and_then(|d| int(d, "value"));
        match found {
            None => {
                self.command(commands::set_schema_version(SCHEMA_VERSION))?;
                Ok(())
            }
            Some(SCHEMA_VERSION) => Ok(()),
            Some(found) => Err(StoreError::Version {
                path: self.db.name().into(),
                found,
                expected: SCHEMA_VERSION,
            }),
        }
    }

    /// Runs a command; write errors in the reply are errors (duplicate keys too, unless
    /// `duplicates_ok`: documents are keyed by their hash, so a duplicate is one already there).
    fn write_command(
        &self,
        command: Document,
        session: Option<&mut ClientSession>,
        duplicates_ok: bool,
    ) -> Result<Document, StoreError> {
        let reply = match session {
            Some(session) => self.db.run_command(command).session(session).run()?,
            None => self.db.run_command(command).run()?,
        };
        check_reply(&reply, duplicates_ok)?;
        Ok(reply)
    }

    fn command(&self, command: Document) -> Result<Document, StoreError> {
        self.write_command(command, None, false)
    }

    /// Runs a command that answers with a cursor (`find`, `aggregate`) and reads it to the end.
    fn cursor(&self, command: Document) -> Result<Vec<Document>, StoreError> {
        let cursor = self.db.run_cursor_command(command).run()?;
        Ok(cursor.collect::<Result<Vec<_>, _>>()?)
    }

    /// Runs `commands` in one transaction, again from the start when the server says the
    /// failure was transient.
    fn in_transaction(&self, commands: &[Document]) -> Result<(), StoreError> {
        let mut session = self.client.start_session().run()?;
        let mut attempt = 1;
        loop {
            session.start_transaction().run()?;
            let mut outcome = commands.iter().try_for_each(|c| {
                self.write_command(c.clone(), Some(&mut session), false)
                    .map(drop)
            });
            if outcome.is_ok() {
                outcome = commit(&mut session);
            } else {
                let _ = session.abort_transaction().run();
            }
            match outcome {
                Err(StoreError::Mongo(e))
                    if attempt < ATTEMPTS
                        && e.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR) =>
                {
                    attempt += 1;
                }
                Err(StoreError::Mongo(e)) if needs_replica_set(&e) => {
                    return Err(StoreError::Reply(
                        "the server runs standalone; importing needs a replica set (a single-node one will do: start mongod with --replSet and run rs.initiate())".into(),
                    ));
                }
                other => return other,
            }
        }
    }

    fn present(&self, times: &[i64]) -> Result<HashSet<i64>, StoreError> {
        Ok(self
            .cursor(commands::present(times))?
            .iter()
            .filter_map(|d| int(d, "_id"))
            .collect())
    }
}

/// "Transaction numbers are only allowed on a replica set member or mongos" (code 20).
fn needs_replica_set(e: &mongodb::error::Error) -> bool {
    matches!(&*e.kind, mongodb::error::ErrorKind::Command(c) if c.code == 20)
}

fn commit(session: &mut ClientSession) -> Result<(), StoreError> {
    let mut attempt = 1;
    loop {
        match session.commit_transaction().run() {
            Ok(()) => return Ok(()),
            Err(e)
                if attempt < ATTEMPTS
                    && e.contains_label(mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT) =>
            {
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// A write command's reply: `writeErrors` and `writeConcernError` are failures even though
/// the command itself answered `ok: 1`.
fn check_reply(reply: &Document, duplicates_ok: bool) -> Result<(), StoreError> {
    if let Ok(errors) = reply.get_array("writeErrors") {
        for error in errors {
            let Some(error) = error.as_document() else {
                continue;
            };
            if duplicates_ok && int(error, "code") == Some(11_000) {
                continue;
            }
            return Err(StoreError::Reply(format!(
                "write error {}: {}",
                int(error, "code").unwrap_or_default(),
                error.get_str("errmsg").unwrap_or_default()
            )));
        }
    }
    if let Ok(error) = reply.get_document("writeConcernError") {
        return Err(StoreError::Reply(format!(
            "write concern error: {}",
            error.get_str("errmsg").unwrap_or_default()
        )));
    }
    Ok(())
}

/// A JSON value with every object's keys in order.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

/// An integer field, whichever width the server chose.
fn int(d: &Document, key: &str) -> Option<i64> {
    match d.get(key)? {
        Bson::Int32(v) => Some(i64::from(*v)),
        Bson::Int64(v) => Some(*v),
        #[allow(clippy::cast_possible_truncation, reason = "sums of integers")]
        Bson::Double(v) => Some(*v as i64),
        Bson::DateTime(t) => Some(t.timestamp_millis().div_euclid(1000)),
        _ => None,
    }
}

fn text(d: &Document, key: &str) -> Option<String> {
    d.get_str(key).ok().map(str::to_owned)
}

fn float(d: &Document, key: &str) -> Option<f64> {
    match d.get(key)? {
        Bson::Double(v) => Some(*v),
        _ => None,
    }
}

fn flag(d: &Document, key: &str) -> bool {
    d.get_bool(key).unwrap_or(false)
}

fn hash_of(d: &Document, key: &str) -> Option<u128> {
    match d.get(key)? {
        Bson::Binary(b) => <[u8; 16]>::try_from(b.bytes.as_slice())
            .ok()
            .map(u128::from_be_bytes),
        _ => None,
    }
}

/// The latest state a batch gives each community: its earliest time in the batch and its
/// latest entry.
fn latest_states<'a>(batch: &[&'a Prepared]) -> BTreeMap<&'a str, (i64, i64, &'a PreparedEntry)> {
    let mut latest: BTreeMap<&str, (i64, i64, &PreparedEntry)> = BTreeMap::new();
    for snapshot in batch {
        for e in &snapshot.entries {
            latest
                .entry(e.facts.key.as_str())
                .and_modify(|(first, last, entry)| {
                    *first = (*first).min(snapshot.ts);
                    if snapshot.ts >= *last {
                        *last = snapshot.ts;
                        *entry = e;
                    }
                })
                .or_insert((snapshot.ts, snapshot.ts, e));
        }
    }
    latest
}

/// The transaction that counts a batch of new snapshots: the communities' latest state, every
/// rollup's additions, and the snapshot records last.
fn counting_commands(todo: &[&Prepared]) -> Vec<Document> {
    let mut sums = Sums::<String>::default();
    let mut totals = Vec::new();
    for s in todo {
        let mut t = Totals::default();
        for e in &s.entries {
            t.add(e);
            sums.community(&e.facts.key, s.ts, e);
        }
        sums.network(s.ts, &t);
        totals.push((*s, t));
    }
    let mut commands = commands::update_communities(&latest_states(todo));
    commands.extend(commands::increment_rollups(&sums));
    commands.push(commands::insert_snapshots(&totals));
    commands
}

impl Sink for MongoStore {
    fn contains(&self, ts: i64) -> Result<bool, StoreError> {
        Ok(!self.present(&[ts])?.is_empty())
    }

    fn write(&mut self, batch: &[Prepared]) -> Result<Written, StoreError> {
        let times: Vec<i64> = batch.iter().map(|s| s.ts).collect();
        let present = self.present(&times)?;
        let mut written = Written::default();
        let mut seen = HashSet::new();
        let todo: Vec<&Prepared> = batch
            .iter()
            .filter(|s| {
                let new = !present.contains(&s.ts) && seen.insert(s.ts);
                if !new {
                    written.already_present += 1;
                }
                new
            })
            .collect();
        if todo.is_empty() {
            return Ok(written);
        }
        // Documents and observations: idempotent, outside the transaction (a time-series
        // collection takes no part in one).
        let mut new_docs = Vec::new();
        let mut hashes = HashSet::new();
        for e in todo.iter().flat_map(|s| &s.entries) {
            if !self.docs.contains(&e.hash) && hashes.insert(e.hash) {
                new_docs.push((e.hash, deflate(&e.doc)?));
            }
        }
        for command in commands::insert_docs(&new_docs) {
            self.write_command(command, None, true)?;
        }
        let times: Vec<i64> = todo.iter().map(|s| s.ts).collect();
        self.command(commands::delete_obs(&times))?;
        for command in commands::insert_obs(&todo) {
            self.command(command)?;
        }
        // Then everything that counts, at once.
        let transaction = counting_commands(&todo);
        written.snapshots = todo.len();
        written.entries = todo.iter().map(|s| s.entries.len()).sum();
        self.in_transaction(&transaction)?;
        self.docs.extend(hashes);
        Ok(written)
    }
}

impl MongoStore {
    fn summary(d: &Document) -> CommunitySummary {
        let key = text(d, "_id").unwrap_or_default();
        CommunitySummary {
            name: text(d, "name").unwrap_or_else(|| key.clone()),
            nodes: int(d, "nodes"),
            stale: flag(d, "stale"),
            routing: d
                .get_array("routing")
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            lat: float(d, "lat"),
            lon: float(d, "lon"),
            city: text(d, "city"),
            country: text(d, "country"),
            api: text(d, "api"),
            first_seen: int(d, "first_ts").unwrap_or_default(),
            last_seen: int(d, "last_ts").unwrap_or_default(),
            key,
        }
    }

    fn community_doc(&self, key: &str) -> Result<Option<Document>, StoreError> {
        Ok(self.cursor(commands::community(key))?.into_iter().next())
    }

    fn entry(&self, key: &str, ts: i64) -> Result<Option<serde_json::Value>, StoreError> {
        let Some(obs) = self
            .cursor(commands::observation(key, ts))?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let Some(hash) = hash_of(&obs, "doc") else {
            return Ok(None);
        };
        let Some(body) = self.cursor(commands::document(hash))?.into_iter().next() else {
            return Ok(None);
        };
        let body = match body.get("body") {
            Some(Bson::Binary(b)) => inflate(&b.bytes),
            _ => Vec::new(),
        };
        let lastchange = match obs.get("lastchange") {
            Some(Bson::Int64(ms)) => Some(crate::source::expand_lastchange(*ms)),
            Some(Bson::String(s)) => Some(s.clone()),
            _ => None,
        };
        Ok(Some(serde_json::Value::Object(restore(
            &body,
            int(&obs, "mtime").map(|us| us + ts * 1_000_000),
            lastchange,
            int(&obs, "nodes"),
            flag(&obs, "in_column"),
        ))))
    }
}

impl Read for MongoStore {
    fn span(&self) -> Result<(Option<i64>, Option<i64>, i64), StoreError> {
        let end = |direction| -> Result<Option<i64>, StoreError> {
            Ok(self
                .cursor(commands::snapshot_end(direction))?
                .first()
                .and_then(|d| int(d, "_id")))
        };
        let communities = int(&self.command(commands::count("communities"))?, "n");
        Ok((end(1)?, end(-1)?, communities.unwrap_or_default()))
    }

    fn extent(&self) -> Result<Extent, StoreError> {
        let totals = self.cursor(commands::snapshot_totals())?;
        let totals = totals.first();
        let get = |key| totals.and_then(|d| int(d, key));
        Ok(Extent {
            snapshots: get("snapshots").unwrap_or_default(),
            communities: int(&self.command(commands::count("communities"))?, "n")
                .unwrap_or_default(),
            community_snapshots: get("entries").unwrap_or_default(),
            first: get("first"),
            last: get("last"),
        })
    }

    fn digest(&self) -> Result<String, StoreError> {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for command in commands::canonical_dump() {
            for d in self.cursor(command)? {
                // Keys sorted: a time-series collection hands fields back in the order its
                // bucket first saw them, which depends on the order of the inserts.
                let json = sorted(Bson::Document(d).into_relaxed_extjson()).to_string();
                hasher.update(json.as_bytes());
                hasher.update(b"\n");
            }
            hasher.update(b"\x1e");
        }
        Ok(format!("{:032x}", hasher.digest128()))
    }

    fn communities(&self) -> Result<Vec<CommunitySummary>, StoreError> {
        Ok(self
            .cursor(commands::communities())?
            .iter()
            .map(MongoStore::summary)
            .collect())
    }

    fn community(&self, key: &str) -> Result<Option<CommunityDetail>, StoreError> {
        let Some(d) = self.community_doc(key)? else {
            return Ok(None);
        };
        let summary = MongoStore::summary(&d);
        let counts = self.cursor(commands::snapshot_counts(key))?;
        let count = |k| counts.first().and_then(|d| int(d, k)).unwrap_or_default();
        let latest = self
            .entry(key, summary.last_seen)?
            .unwrap_or(serde_json::Value::Null);
        let last_count = self
            .cursor(commands::last_count(key))?
            .first()
            .and_then(|d| {
                Some(LastCount {
                    at: int(d, "t")?,
                    nodes: int(d, "nodes")?,
                })
            });
        Ok(Some(CommunityDetail {
            snapshots: count("n"),
            stale_snapshots: count("n_stale"),
            summary,
            latest,
            last_count,
        }))
    }

    fn entry_at(&self, key: &str, at: i64) -> Result<Option<(i64, serde_json::Value)>, StoreError> {
        let Some(ts) = self
            .cursor(commands::latest_observation(key, at))?
            .first()
            .and_then(|d| int(d, "t"))
        else {
            return Ok(None);
        };
        Ok(self.entry(key, ts)?.map(|e| (ts, e)))
    }

    fn community_series(
        &self,
        key: &str,
        range: Range,
        res: Resolution,
    ) -> Result<Option<Series>, StoreError> {
        if self.community_doc(key)?.is_none() {
            return Ok(None);
        }
        let points =
            if res == Resolution::Hour {
                rollup::hour_points(self.cursor(commands::observations(key, range))?.iter().map(
                    |d| {
                        (
                            int(d, "t").unwrap_or_default(),
                            int(d, "nodes"),
                            flag(d, "stale"),
                        )
                    },
                ))
            } else {
                self.cursor(commands::community_rollup(key, res, range))?
                    .iter()
                    .map(|d| Point {
                        t: int(d, "b").unwrap_or_default(),
                        value: mean(
                            int(d, "nodes").unwrap_or_default(),
                            int(d, "n_nodes").unwrap_or_default(),
                        ),
                        stale: int(d, "n_stale").unwrap_or_default() > 0,
                        stale_share: crate::query::snapshots_share(
                            int(d, "n_stale").unwrap_or_default(),
                            int(d, "n").unwrap_or_default(),
                        ),
                    })
                    .collect()
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
        let field = metric.rollup_field();
        let points = self
            .cursor(commands::network_rollup(res, range))?
            .iter()
            .map(|d| Point {
                t: int(d, "b").unwrap_or_default(),
                value: mean(
                    int(d, field).unwrap_or_default(),
                    int(d, "n").unwrap_or_default(),
                ),
                stale: int(d, "stale").unwrap_or_default() > 0,
                stale_share: crate::query::nodes_share(
                    int(d, "nodes").unwrap_or_default(),
                    int(d, "nodes_all").unwrap_or_default(),
                ),
            })
            .collect();
        Ok(Series {
            metric: metric.as_str().into(),
            resolution: res,
            points,
        })
    }

    fn top(&self, at: i64, n: usize) -> Result<Option<Top>, StoreError> {
        let Some(snapshot) = self
            .cursor(commands::snapshot_at(at))?
            .first()
            .and_then(|d| int(d, "_id"))
        else {
            return Ok(None);
        };
        let ranked = self.cursor(commands::largest(snapshot, n))?;
        let keys: Vec<String> = ranked.iter().filter_map(|d| text(d, "c")).collect();
        let names: BTreeMap<String, String> = self
            .cursor(commands::names(&keys))?
            .iter()
            .filter_map(|d| Some((text(d, "_id")?, text(d, "name")?)))
            .collect();
        Ok(Some(Top {
            snapshot,
            communities: ranked
                .iter()
                .filter_map(|d| {
                    let key = text(d, "c")?;
                    Some(Ranked {
                        name: names.get(&key).cloned().unwrap_or_else(|| key.clone()),
                        nodes: int(d, "nodes")?,
                        stale: flag(d, "stale"),
                        key,
                    })
                })
                .collect(),
        }))
    }

    fn routing_series(&self, range: Range, res: Resolution) -> Result<RoutingSeries, StoreError> {
        let buckets = self
            .cursor(commands::network_rollup(res, range))?
            .iter()
            .map(|d| {
                (
                    int(d, "b").unwrap_or_default(),
                    int(d, "n").unwrap_or_default(),
                )
            })
            .collect();
        let counts: Vec<(i64, String, i64)> = self
            .cursor(commands::routing_rollup(res, range))?
            .iter()
            .map(|d| {
                (
                    int(d, "b").unwrap_or_default(),
                    text(d, "p").unwrap_or_default(),
                    int(d, "count").unwrap_or_default(),
                )
            })
            .collect();
        Ok(rollup::routing_series(res, buckets, counts))
    }
}

/// The command documents, built without a server (so the exact queries are tested here).
pub(crate) mod commands {
    use std::collections::{BTreeMap, HashSet};

    use mongodb::bson::spec::BinarySubtype;
    use mongodb::bson::{Binary, Bson, DateTime, Document, doc};

    use crate::prepare::{Prepared, PreparedEntry};
    use crate::query::Resolution;
    use crate::rollup::{Sums, Totals};
    use crate::store::Range;

    /// The rollup collections and their keys (a unique index each).
    const ROLLUPS: [(&str, &[&str]); 3] = [
        ("net", &["r", "b"]),
        ("series", &["c", "r", "b"]),
        ("routing", &["r", "b", "p"]),
    ];

    /// A time as a BSON date (saturating, so open ranges stay comparable).
    pub fn date(ts: i64) -> DateTime {
        DateTime::from_millis(ts.saturating_mul(1000))
    }

    pub fn hash(h: u128) -> Binary {
        Binary {
            subtype: BinarySubtype::Generic,
            bytes: h.to_be_bytes().to_vec(),
        }
    }

    fn binary(bytes: Vec<u8>) -> Binary {
        Binary {
            subtype: BinarySubtype::Generic,
            bytes,
        }
    }

    fn option<T: Into<Bson>>(v: Option<T>) -> Bson {
        v.map_or(Bson::Null, Into::into)
    }

    /// `create` for each collection that is missing; `obs` is a time-series collection.
    pub fn create_collections(existing: &HashSet<String>) -> Vec<Document> {
        let mut commands = Vec::new();
        if !existing.contains("obs") {
            commands.push(doc! {
                "create": "obs",
                "timeseries": { "timeField": "t", "metaField": "c", "granularity": "hours" },
            });
        }
        for name in [
            "meta",
            "snapshots",
            "communities",
            "docs",
            "net",
            "series",
            "routing",
        ] {
            if !existing.contains(name) {
                commands.push(doc! { "create": name });
            }
        }
        commands
    }

    /// `createIndexes` (a no-op for indexes that exist): the rollups' unique keys, and the
    /// observations by community and time and by time and nodes (the top list).
    pub fn create_indexes() -> Vec<Document> {
        let mut commands: Vec<Document> = ROLLUPS
            .iter()
            .map(|(name, keys)| {
                let mut key = Document::new();
                for k in *keys {
                    key.insert(*k, 1);
                }
                doc! {
                    "createIndexes": *name,
                    "indexes": [{ "key": key, "name": keys.join("_"), "unique": true }],
                }
            })
            .collect();
        commands.push(doc! {
            "createIndexes": "obs",
            "indexes": [
                { "key": { "c": 1, "t": 1 }, "name": "c_t" },
                { "key": { "t": 1, "nodes": -1 }, "name": "t_nodes" },
            ],
        });
        commands
    }

    pub fn schema_version() -> Document {
        doc! { "find": "meta", "filter": { "_id": "schema" }, "limit": 1, "singleBatch": true }
    }

    pub fn set_schema_version(version: i64) -> Document {
        doc! { "insert": "meta", "documents": [{ "_id": "schema", "value": version }] }
    }

    pub fn present(times: &[i64]) -> Document {
        doc! {
            "find": "snapshots",
            "filter": { "_id": { "$in": times } },
            "projection": { "_id": 1 },
        }
    }

    /// Inserts of new entry documents (unordered: one already there is a duplicate key, and
    /// the rest still go in).
    pub fn insert_docs(docs: &[(u128, Vec<u8>)]) -> Vec<Document> {
        docs.chunks(super::CHUNK)
            .map(|chunk| {
                let documents: Vec<Document> = chunk
                    .iter()
                    .map(|(h, body)| doc! { "_id": hash(*h), "body": binary(body.clone()) })
                    .collect();
                doc! { "insert": "docs", "documents": documents, "ordered": false }
            })
            .collect()
    }

    /// Removes what a killed import left of these snapshots' observations.
    pub fn delete_obs(times: &[i64]) -> Document {
        let dates: Vec<DateTime> = times.iter().map(|t| date(*t)).collect();
        doc! { "delete": "obs", "deletes": [{ "q": { "t": { "$in": dates } }, "limit": 0 }] }
    }

    fn observation_doc(ts: i64, e: &PreparedEntry) -> Document {
        let mut d = doc! {
            "t": date(ts),
            "c": &e.facts.key,
            "stale": e.facts.stale,
            "in_column": e.nodes_in_column,
            "doc": hash(e.hash),
        };
        if let Some(n) = e.facts.nodes {
            d.insert("nodes", n);
        }
        if let Some(us) = e.mtime {
            d.insert("mtime", us - ts * 1_000_000);
        }
        if let Some(s) = &e.lastchange {
            // Unix milliseconds when the text reads back exactly from them, else the text.
            match crate::source::compact_lastchange(s) {
                Some(ms) => d.insert("lastchange", ms),
                None => d.insert("lastchange", s.as_str()),
            };
        }
        d
    }

    pub fn insert_obs(snapshots: &[&Prepared]) -> Vec<Document> {
        let all: Vec<Document> = snapshots
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| observation_doc(s.ts, e)))
            .collect();
        all.chunks(super::CHUNK)
            .map(|chunk| doc! { "insert": "obs", "documents": chunk.to_vec(), "ordered": false })
            .collect()
    }

    /// Per community: the earliest time seen, then (in order) its latest state where the
    /// batch's entry is not older than the stored one.
    pub fn update_communities(
        latest: &BTreeMap<&str, (i64, i64, &PreparedEntry)>,
    ) -> Vec<Document> {
        let statements: Vec<Document> = latest
            .iter()
            .flat_map(|(key, (first, last, e))| {
                [
                    doc! {
                        "q": { "_id": *key },
                        "u": { "$min": { "first_ts": *first }, "$setOnInsert": { "last_ts": i64::MIN } },
                        "upsert": true,
                    },
                    doc! {
                        "q": { "_id": *key, "last_ts": { "$lte": *last } },
                        "u": { "$set": {
                            "last_ts": *last,
                            "name": option(e.facts.name.clone()),
                            "nodes": option(e.facts.nodes),
                            "stale": e.facts.stale,
                            "routing": e.facts.routing.clone(),
                            "lat": option(e.facts.lat),
                            "lon": option(e.facts.lon),
                            "city": option(e.facts.city.clone()),
                            "country": option(e.facts.country.clone()),
                            "api": option(e.facts.api.clone()),
                        } },
                    },
                ]
            })
            .collect();
        statements
            .chunks(super::CHUNK)
            .map(|chunk| doc! { "update": "communities", "updates": chunk.to_vec(), "ordered": true })
            .collect()
    }

    fn upserts(collection: &str, mut statements: Vec<(Document, Document)>) -> Vec<Document> {
        statements.sort_by_key(|(q, _)| q.to_string());
        let statements: Vec<Document> = statements
            .into_iter()
            .map(|(q, inc)| doc! { "q": q, "u": { "$inc": inc }, "upsert": true })
            .collect();
        statements
            .chunks(super::CHUNK)
            .map(|chunk| doc! { "update": collection, "updates": chunk.to_vec(), "ordered": false })
            .collect()
    }

    /// The batch's additions to every rollup, as `$inc` upserts.
    pub fn increment_rollups(sums: &Sums<String>) -> Vec<Document> {
        let mut commands = upserts(
            "net",
            sums.net
                .iter()
                .map(|((r, b), s)| {
                    (
                        doc! { "r": *r, "b": *b },
                        doc! { "n": s[0], "nodes": s[1], "nodes_all": s[2], "fresh": s[3], "stale": s[4] },
                    )
                })
                .collect(),
        );
        commands.extend(upserts(
            "series",
            sums.series
                .iter()
                .map(|((c, r, b), s)| {
                    (
                        doc! { "c": c, "r": *r, "b": *b },
                        doc! { "n": s[0], "n_nodes": s[1], "nodes": s[2], "n_stale": s[3] },
                    )
                })
                .collect(),
        ));
        commands.extend(upserts(
            "routing",
            sums.routing
                .iter()
                .map(|((r, b, p), count)| {
                    (doc! { "r": *r, "b": *b, "p": p }, doc! { "count": *count })
                })
                .collect(),
        ));
        commands
    }

    /// The snapshots' records, written last: a snapshot is in the store once this commits.
    pub fn insert_snapshots(totals: &[(&Prepared, Totals)]) -> Document {
        let documents: Vec<Document> = totals
            .iter()
            .map(|(s, t)| {
                doc! {
                    "_id": s.ts,
                    "source": &s.source,
                    "entries": t.entries,
                    "fresh": t.fresh,
                    "nodes": t.nodes,
                    "nodes_all": t.nodes_all,
                }
            })
            .collect();
        doc! { "insert": "snapshots", "documents": documents }
    }

    /// The first (`1`) or last (`-1`) snapshot.
    pub fn snapshot_end(direction: i32) -> Document {
        doc! {
            "find": "snapshots", "sort": { "_id": direction }, "limit": 1,
            "projection": { "_id": 1 }, "singleBatch": true,
        }
    }

    pub fn count(collection: &str) -> Document {
        doc! { "count": collection }
    }

    pub fn snapshot_totals() -> Document {
        doc! {
            "aggregate": "snapshots",
            "pipeline": [{ "$group": {
                "_id": Bson::Null,
                "snapshots": { "$sum": 1 },
                "first": { "$min": "$_id" },
                "last": { "$max": "$_id" },
                "entries": { "$sum": "$entries" },
            } }],
            "cursor": {},
        }
    }

    /// Every collection in a fixed order, without the rollups' generated `_id`s.
    pub fn canonical_dump() -> Vec<Document> {
        let mut commands = vec![
            doc! { "find": "snapshots", "sort": { "_id": 1 } },
            doc! { "find": "communities", "sort": { "_id": 1 } },
            doc! { "find": "docs", "sort": { "_id": 1 } },
            doc! { "find": "obs", "sort": { "c": 1, "t": 1 }, "projection": { "_id": 0 } },
        ];
        for (name, keys) in ROLLUPS {
            let mut sort = Document::new();
            for k in keys {
                sort.insert(*k, 1);
            }
            commands.push(doc! { "find": name, "sort": sort, "projection": { "_id": 0 } });
        }
        commands
    }

    /// Largest first, communities without a node count last.
    pub fn communities() -> Document {
        doc! { "find": "communities", "sort": { "nodes": -1, "_id": 1 } }
    }

    pub fn community(key: &str) -> Document {
        doc! { "find": "communities", "filter": { "_id": key }, "limit": 1, "singleBatch": true }
    }

    /// A community's snapshots and stale ones, from its monthly rollup.
    pub fn snapshot_counts(key: &str) -> Document {
        doc! {
            "aggregate": "series",
            "pipeline": [
                { "$match": { "c": key, "r": Resolution::Month.code() } },
                { "$group": { "_id": Bson::Null, "n": { "$sum": "$n" }, "n_stale": { "$sum": "$n_stale" } } },
            ],
            "cursor": {},
        }
    }

    pub fn observation(key: &str, ts: i64) -> Document {
        doc! { "find": "obs", "filter": { "c": key, "t": date(ts) }, "limit": 1, "singleBatch": true }
    }

    pub fn document(h: u128) -> Document {
        doc! { "find": "docs", "filter": { "_id": hash(h) }, "limit": 1, "singleBatch": true }
    }

    pub fn latest_observation(key: &str, at: i64) -> Document {
        doc! {
            "find": "obs", "filter": { "c": key, "t": { "$lte": date(at) } },
            "sort": { "t": -1 }, "limit": 1, "projection": { "t": 1 }, "singleBatch": true,
        }
    }

    /// A community's latest observation with a node count.
    pub fn last_count(key: &str) -> Document {
        doc! {
            "find": "obs", "filter": { "c": key, "nodes": { "$ne": null } },
            "sort": { "t": -1 }, "limit": 1, "projection": { "_id": 0, "t": 1, "nodes": 1 },
            "singleBatch": true,
        }
    }

    pub fn observations(key: &str, range: Range) -> Document {
        doc! {
            "find": "obs",
            "filter": { "c": key, "t": { "$gte": date(range.from), "$lte": date(range.to) } },
            "sort": { "t": 1 },
            "projection": { "_id": 0, "t": 1, "nodes": 1, "stale": 1 },
        }
    }

    fn buckets(res: Resolution, range: Range) -> Document {
        doc! { "$gte": res.bucket(range.from.max(0)), "$lte": range.to }
    }

    pub fn community_rollup(key: &str, res: Resolution, range: Range) -> Document {
        doc! {
            "find": "series",
            "filter": { "c": key, "r": res.code(), "b": buckets(res, range) },
            "sort": { "b": 1 },
            "projection": { "_id": 0 },
        }
    }

    pub fn network_rollup(res: Resolution, range: Range) -> Document {
        doc! {
            "find": "net",
            "filter": { "r": res.code(), "b": buckets(res, range) },
            "sort": { "b": 1 },
            "projection": { "_id": 0 },
        }
    }

    pub fn routing_rollup(res: Resolution, range: Range) -> Document {
        doc! {
            "find": "routing",
            "filter": { "r": res.code(), "b": buckets(res, range) },
            "projection": { "_id": 0 },
        }
    }

    /// The latest snapshot at or before `at`.
    pub fn snapshot_at(at: i64) -> Document {
        doc! {
            "find": "snapshots", "filter": { "_id": { "$lte": at } }, "sort": { "_id": -1 },
            "limit": 1, "projection": { "_id": 1 }, "singleBatch": true,
        }
    }

    /// The `n` communities with the most nodes in one snapshot.
    pub fn largest(snapshot: i64, n: usize) -> Document {
        doc! {
            "find": "obs",
            "filter": { "t": date(snapshot), "nodes": { "$ne": Bson::Null } },
            "sort": { "nodes": -1, "c": 1 },
            "limit": i64::try_from(n).unwrap_or(i64::MAX),
            "projection": { "_id": 0, "c": 1, "nodes": 1, "stale": 1 },
            "singleBatch": true,
        }
    }

    pub fn names(keys: &[String]) -> Document {
        doc! { "find": "communities", "filter": { "_id": { "$in": keys } }, "projection": { "name": 1 } }
    }
}

#[cfg(test)]
mod tests {
    //! The exact documents sent to the server (no MongoDB server can run here; these are the
    //! boundary the store is tested up to, see `tests/store.rs` for the suite that runs
    //! against a real one when `PORTICO_TEST_MONGODB_URI` is set).

    use std::collections::HashSet;

    use mongodb::bson::{Bson, Document};

    use super::commands;
    use super::*;
    use crate::model::Entry;

    fn pretty(commands: &[Document]) -> String {
        commands
            .iter()
            .map(|c| {
                serde_json::to_string_pretty(&Bson::Document(c.clone()).into_relaxed_extjson())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn snapshot(ts: i64, entries: &[serde_json::Value]) -> Prepared {
        let entries = entries
            .iter()
            .enumerate()
            .map(|(i, raw)| Entry::parse(&format!("c{i}"), raw.clone()).unwrap())
            .collect();
        crate::prepare::prepare(crate::source::Snapshot {
            ts,
            source: format!("{ts}.json"),
            entries,
            skipped_entries: 0,
            bad_counts: Vec::new(),
        })
    }

    fn batch() -> Vec<Prepared> {
        use serde_json::json;
        vec![
            snapshot(
                1_458_759_661,
                &[
                    json!({"name": "Eins", "state": {"nodes": 10, "lastchange": "2016-03-23T18:00:00.000Z"},
                           "techDetails": {"routing": ["batman-adv"]}, "mtime": "2016-03-23 19:01:01.988512",
                           "location": {"lat": 52.5, "lon": 13.4, "city": "Berlin"}}),
                    json!({"name": "Zwei", "state": {"nodes": 3}, "techDetails": {"routing": "olsr"},
                           "etime": "2016-03-22 10:00:00"}),
                ],
            ),
            snapshot(
                1_458_763_261,
                &[
                    json!({"name": "Eins neu", "state": {"nodes": 12}, "techDetails": {"routing": ["batman-adv", "babel"]}}),
                ],
            ),
        ]
    }

    #[test]
    fn set_up_commands() {
        let existing: HashSet<String> = ["meta".to_owned(), "net".to_owned()].into();
        let mut all = commands::create_collections(&existing);
        all.extend(commands::create_indexes());
        all.push(commands::schema_version());
        all.push(commands::set_schema_version(SCHEMA_VERSION));
        insta::assert_snapshot!(pretty(&all));
    }

    #[test]
    fn write_commands() {
        let batch = batch();
        let todo: Vec<&Prepared> = batch.iter().collect();
        let mut all = vec![commands::present(&[1_458_759_661, 1_458_763_261])];
        let docs: Vec<(u128, Vec<u8>)> = batch
            .iter()
            .flat_map(|s| &s.entries)
            // The canonical JSON itself as the body: deflate's bytes may change with its version.
            .map(|e| (e.hash, e.doc.clone()))
            .collect();
        all.extend(commands::insert_docs(&docs));
        all.push(commands::delete_obs(&[1_458_759_661, 1_458_763_261]));
        all.extend(commands::insert_obs(&todo));
        all.extend(counting_commands(&todo));
        insta::assert_snapshot!(pretty(&all));
    }

    #[test]
    fn read_commands() {
        let range = Range {
            from: 1_458_000_000,
            to: 1_459_000_000,
        };
        let all = vec![
            commands::snapshot_end(1),
            commands::snapshot_end(-1),
            commands::count("communities"),
            commands::snapshot_totals(),
            commands::communities(),
            commands::community("ffberlin"),
            commands::snapshot_counts("ffberlin"),
            commands::observation("ffberlin", 1_458_759_661),
            commands::document(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            commands::latest_observation("ffberlin", 1_458_759_661),
            commands::last_count("ffberlin"),
            commands::observations("ffberlin", range),
            commands::community_rollup("ffberlin", Resolution::Day, range),
            commands::network_rollup(Resolution::Month, Range::ALL),
            commands::routing_rollup(Resolution::Day, range),
            commands::snapshot_at(1_458_759_661),
            commands::largest(1_458_759_661, 10),
            commands::names(&["ffberlin".to_owned(), "hamburg".to_owned()]),
        ];
        let mut all = all;
        all.extend(commands::canonical_dump());
        insta::assert_snapshot!(pretty(&all));
    }

    #[test]
    fn the_latest_state_is_the_latest_entry_and_the_first_time_the_earliest() {
        let batch = batch();
        let todo: Vec<&Prepared> = batch.iter().rev().collect();
        let latest = latest_states(&todo);
        let (first, last, e) = latest["c0"];
        assert_eq!((first, last), (1_458_759_661, 1_458_763_261));
        assert_eq!(e.facts.name.as_deref(), Some("Eins neu"));
        assert_eq!(latest["c1"].0, 1_458_759_661);
    }

    #[test]
    fn the_digest_reads_documents_with_their_keys_in_order() {
        let a = serde_json::json!({"t": 1, "c": "x", "s": [{"b": 1, "a": 2}]});
        let b = serde_json::json!({"c": "x", "s": [{"a": 2, "b": 1}], "t": 1});
        assert_eq!(sorted(a).to_string(), sorted(b).to_string());
    }

    #[test]
    fn write_errors_in_a_reply_are_errors_but_duplicate_documents_are_not() {
        let dup = mongodb::bson::doc! { "ok": 1, "n": 0, "writeErrors": [{ "index": 0, "code": 11000, "errmsg": "E11000 duplicate key" }] };
        assert!(check_reply(&dup, true).is_ok());
        assert!(check_reply(&dup, false).is_err());
        let concern = mongodb::bson::doc! { "ok": 1, "writeConcernError": { "code": 64, "errmsg": "waiting for replication timed out" } };
        assert!(
            check_reply(&concern, true)
                .unwrap_err()
                .to_string()
                .contains("replication")
        );
    }
}
