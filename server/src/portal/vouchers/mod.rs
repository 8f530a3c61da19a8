//! Vouchers (LibreMesh Pirania's model): a code that gives devices internet for a duration (or
//! for good), bound to the MACs that used it, in the router's state database.
//!
//! Codes are 10 Crockford base32 characters (50 bits) grouped for reading aloud
//! (`K7M2-9QXD-4T`); entry ignores case, dashes and spaces and reads `O` as `0` and `I`/`L` as `1`.
//! Every change is one SQLite transaction: what a command reports as done is on disk.
//!
//! Every voucher is also replicated state (`replica`): each change records when and on which
//! node it was made, so that the vouchers of a community mesh merge by written rules
//! (`replicate` reads and merges them; `crate::mesh` moves them between nodes).
//!
//! This file is the store (create, list, change, look up); `code` the code format, `redeem`
//! the redemption rules, `pirania` the import of Pirania's voucher files.

mod accept;
mod code;
mod pirania;
mod redeem;
pub mod replica;
mod replicate;

pub use accept::Accepted;
pub use code::{CODE_LEN, group, new_code, normalise};
pub use pirania::{PiraniaVoucher, parse_pirania, parse_shared_state};
pub use redeem::{Grant, MOVE_AFTER, Refusal, normalise_mac};
pub use replica::RELEASE_DATE;
pub use replicate::{Digest, root};

use std::fmt::Write as _;

use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;

use crate::state::StateDb;

/// Where a voucher is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Never used; may still be activated (unless its deadline passed).
    Unused,
    /// In use by at least one device, time left.
    Active,
    /// Its time is up, or it was never used before its deadline.
    Expired,
    /// Switched off by the administrator.
    Invalidated,
}

/// One voucher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Voucher {
    pub id: i64,
    pub name: String,
    /// Grouped for reading (`K7M2-9QXD-4T`).
    pub code: String,
    /// Seconds of access once activated; `None`: permanent.
    pub duration: Option<i64>,
    /// Unix seconds after which an unused voucher can no longer be activated.
    pub deadline: Option<i64>,
    pub created: i64,
    pub activated: Option<i64>,
    /// Unix seconds when access ends (activation + duration).
    pub expires: Option<i64>,
    pub invalidated: Option<i64>,
    pub max_devices: u32,
    pub author: String,
    /// The devices that use it, oldest first.
    pub macs: Vec<String>,
    pub state: State,
    /// The mesh node that created it (16 hex digits in JSON).
    #[serde(serialize_with = "hex_id")]
    pub node: replica::NodeId,
    /// The mesh node where it was first used.
    #[serde(serialize_with = "hex_opt")]
    pub activated_on: Option<replica::NodeId>,
}

#[expect(clippy::ref_option, reason = "serde's serialize_with signature")]
fn hex_opt<S: serde::Serializer>(id: &Option<replica::NodeId>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_str(&hex::encode(id)),
        None => s.serialize_none(),
    }
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with signature"
)]
fn hex_id<S: serde::Serializer>(id: &replica::NodeId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(id))
}

impl Voucher {
    fn state_at(&self, now: i64) -> State {
        if self.invalidated.is_some() {
            State::Invalidated
        } else if self.activated.is_none() {
            if self.deadline.is_some_and(|d| now > d) {
                State::Expired
            } else {
                State::Unused
            }
        } else if self.expires.is_some_and(|e| now >= e) {
            State::Expired
        } else {
            State::Active
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vouchers (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    duration_s INTEGER,
    deadline INTEGER,
    created INTEGER NOT NULL,
    activated INTEGER,
    expires INTEGER,
    invalidated INTEGER,
    max_devices INTEGER NOT NULL DEFAULT 1,
    author TEXT NOT NULL DEFAULT '',
    pirania_id TEXT UNIQUE
);
CREATE TABLE IF NOT EXISTS voucher_macs (
    voucher_id INTEGER NOT NULL REFERENCES vouchers(id) ON DELETE CASCADE,
    mac TEXT NOT NULL,
    bound INTEGER NOT NULL,
    PRIMARY KEY (voucher_id, mac)
);
";

/// Columns added for the mesh (issue 23), to stores made before: where each event happened
/// (8-byte node ids; zeros for what an older store did before it had an identity), the
/// duration extension as its own number (`duration_s` stays the created duration), the name's
/// clock, and released device slots. `expires` stays `activated + duration_s + extension_s`.
const MESH_COLUMNS: &[(&str, &str, &str)] = &[
    (
        "vouchers",
        "created_node",
        "BLOB NOT NULL DEFAULT x'0000000000000000'",
    ),
    ("vouchers", "activated_node", "BLOB"),
    ("vouchers", "invalidated_node", "BLOB"),
    ("vouchers", "extension_s", "INTEGER NOT NULL DEFAULT 0"),
    ("vouchers", "name_ms", "INTEGER NOT NULL DEFAULT 0"),
    ("vouchers", "name_counter", "INTEGER NOT NULL DEFAULT 0"),
    (
        "vouchers",
        "name_node",
        "BLOB NOT NULL DEFAULT x'0000000000000000'",
    ),
    (
        "voucher_macs",
        "node",
        "BLOB NOT NULL DEFAULT x'0000000000000000'",
    ),
    ("voucher_macs", "released", "INTEGER"),
    ("voucher_macs", "released_node", "BLOB"),
];

/// Adds the columns an older store lacks (in a write transaction: `serve` and a CLI command
/// may open an older store at the same moment).
fn migrate(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    let tx = crate::state::write_transaction(c)?;
    for (table, column, kind) in MESH_COLUMNS {
        let has: bool = tx.query_row(
            &format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has {
            tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    tx.commit()
}

/// What a batch of new vouchers looks like.
#[derive(Clone, Debug, Default)]
pub struct NewVouchers {
    pub quantity: u32,
    pub name: String,
    pub duration: Option<i64>,
    pub deadline: Option<i64>,
    pub max_devices: u32,
    pub author: String,
}

/// Largest batch the admin page and the CLI create at once.
pub const MAX_BATCH: u32 = 1000;
/// Vouchers written per transaction in a batch: a batch is reported chunk by chunk, each after
/// its commit.
pub const CHUNK: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no voucher {0}")]
    NotFound(i64),
    #[error("a batch holds 1 to {MAX_BATCH} vouchers")]
    BadQuantity,
    #[error("a voucher serves 1 to 100 devices")]
    BadMaxDevices,
    #[error("voucher {0} is invalidated")]
    Invalidated(i64),
    #[error("voucher {0} is permanent")]
    Permanent(i64),
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

/// The voucher store in the state database.
#[derive(Clone)]
pub struct Vouchers {
    db: StateDb,
    /// This router's id in the mesh: every change is stamped with it.
    node: replica::NodeId,
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Now in milliseconds (for the names' hybrid logical clock).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn row_to_voucher(row: &rusqlite::Row<'_>) -> rusqlite::Result<Voucher> {
    let code: String = row.get("code")?;
    let extension: i64 = row.get("extension_s")?;
    Ok(Voucher {
        id: row.get("id")?,
        name: row.get("name")?,
        code: if code.len() == CODE_LEN {
            group(&code)
        } else {
            code
        },
        duration: row
            .get::<_, Option<i64>>("duration_s")?
            .map(|d| d.saturating_add(extension)),
        deadline: row.get("deadline")?,
        created: row.get("created")?,
        activated: row.get("activated")?,
        expires: row.get("expires")?,
        invalidated: row.get("invalidated")?,
        max_devices: row.get("max_devices")?,
        author: row.get("author")?,
        macs: Vec::new(),
        state: State::Unused,
        node: row.get("created_node")?,
        activated_on: row.get("activated_node")?,
    })
}

impl Vouchers {
    /// The store (its tables are created when missing).
    ///
    /// # Errors
    /// When the tables cannot be created.
    pub fn open(db: StateDb) -> rusqlite::Result<Vouchers> {
        db.with(|c| {
            c.execute_batch(SCHEMA)?;
            migrate(c)
        })?;
        let node = db.node()?.id();
        Ok(Vouchers { db, node })
    }

    /// The next reading of the names' clock: after every name stamp this store holds.
    fn next_stamp(
        c: &rusqlite::Connection,
        node: replica::NodeId,
    ) -> rusqlite::Result<replica::Hlc> {
        let last: Option<(i64, i64, replica::NodeId)> = c
            .query_row(
                "SELECT name_ms, name_counter, name_node FROM vouchers
                 ORDER BY name_ms DESC, name_counter DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let last = last.map_or_else(replica::Hlc::default, |(ms, counter, node)| replica::Hlc {
            millis: u64::try_from(ms).unwrap_or(0),
            counter: u32::try_from(counter).unwrap_or(0),
            node,
        });
        Ok(last.next(node, now_ms()))
    }

    /// Creates a batch, one transaction per [`CHUNK`]; `created` hears of each chunk after
    /// its commit (so what it reports survives a crash right after).
    ///
    /// # Errors
    /// A bad quantity or device count, or a database error (earlier chunks stay).
    pub fn create(
        &self,
        new: &NewVouchers,
        mut created: impl FnMut(&[Voucher]),
    ) -> Result<Vec<Voucher>, Error> {
        if !(1..=MAX_BATCH).contains(&new.quantity) {
            return Err(Error::BadQuantity);
        }
        if !(1..=100).contains(&new.max_devices) {
            return Err(Error::BadMaxDevices);
        }
        let mut all = Vec::new();
        let mut left = new.quantity;
        while left > 0 {
            let n = left.min(CHUNK);
            let chunk = self.db.with(|c| {
                let tx = crate::state::write_transaction(c)?;
                let mut chunk = Vec::new();
                let created_at = now();
                let stamp = Self::next_stamp(&tx, self.node)?;
                while chunk.len() < n as usize {
                    let code = new_code();
                    let inserted = tx.execute(
                        "INSERT OR IGNORE INTO vouchers (code, name, duration_s, deadline, created, max_devices, author,
                                                         created_node, name_ms, name_counter, name_node)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?8)",
                        params![code.replace('-', ""), new.name, new.duration, new.deadline, created_at, new.max_devices, new.author,
                                self.node, i64::try_from(stamp.millis).unwrap_or(i64::MAX), stamp.counter],
                    )?;
                    // A code already taken (1 in 2^50 per voucher) is simply drawn again.
                    if inserted == 1 {
                        chunk.push(Voucher {
                            id: tx.last_insert_rowid(),
                            name: new.name.clone(),
                            code,
                            duration: new.duration,
                            deadline: new.deadline,
                            created: created_at,
                            activated: None,
                            expires: None,
                            invalidated: None,
                            max_devices: new.max_devices,
                            author: new.author.clone(),
                            macs: Vec::new(),
                            state: State::Unused,
                            node: self.node,
                            activated_on: None,
                        });
                    }
                }
                tx.commit()?;
                Ok(chunk)
            })?;
            created(&chunk);
            all.extend(chunk);
            left -= n;
        }
        Ok(all)
    }

    /// Every voucher (newest first), optionally only those in `state`.
    ///
    /// # Errors
    /// A database error.
    pub fn list(&self, state: Option<State>) -> Result<Vec<Voucher>, Error> {
        let mut vouchers = self.select(None)?;
        vouchers.retain(|v| state.is_none_or(|s| v.state == s));
        Ok(vouchers)
    }

    /// One voucher.
    ///
    /// # Errors
    /// [`Error::NotFound`] or a database error.
    pub fn get(&self, id: i64) -> Result<Voucher, Error> {
        self.select(Some(id))?.pop().ok_or(Error::NotFound(id))
    }

    /// The vouchers (all, or the one with `id`) with their devices and state now.
    fn select(&self, id: Option<i64>) -> Result<Vec<Voucher>, Error> {
        let now = now();
        Ok(self.db.with(|c| {
            let mut stmt =
                c.prepare("SELECT * FROM vouchers WHERE ?1 IS NULL OR id = ?1 ORDER BY id DESC")?;
            let mut vouchers: Vec<Voucher> = stmt
                .query_map([id], row_to_voucher)?
                .collect::<rusqlite::Result<_>>()?;
            let mut by_id = admitted(c, id)?;
            for v in &mut vouchers {
                v.macs = by_id.remove(&v.id).unwrap_or_default();
                v.state = v.state_at(now);
            }
            Ok(vouchers)
        })?)
    }

    /// Switches a voucher off for good.
    ///
    /// # Errors
    /// [`Error::NotFound`] or a database error.
    pub fn invalidate(&self, id: i64) -> Result<Voucher, Error> {
        let changed = self.db.with(|c| {
            c.execute(
                "UPDATE vouchers SET invalidated = COALESCE(invalidated, ?2),
                        invalidated_node = CASE WHEN invalidated IS NULL THEN ?3 ELSE invalidated_node END
                 WHERE id = ?1",
                params![id, now(), self.node],
            )
        })?;
        if changed == 0 {
            return Err(Error::NotFound(id));
        }
        self.get(id)
    }

    /// Gives a voucher a new name or note (trimmed, at most 100 characters).
    ///
    /// # Errors
    /// Not found, or a database error.
    pub fn rename(&self, id: i64, name: &str) -> Result<Voucher, Error> {
        let name: String = name.trim().chars().take(100).collect();
        let changed = self.db.with(|c| {
            let stamp = Self::next_stamp(c, self.node)?;
            c.execute(
                "UPDATE vouchers SET name = ?2, name_ms = ?3, name_counter = ?4, name_node = ?5 WHERE id = ?1",
                params![id, name, i64::try_from(stamp.millis).unwrap_or(i64::MAX), stamp.counter, self.node],
            )
        })?;
        if changed == 0 {
            return Err(Error::NotFound(id));
        }
        self.get(id)
    }

    /// Adds `seconds` to a voucher: to its duration, and to its end when it is running (an
    /// expired voucher runs again from now).
    ///
    /// # Errors
    /// Not found, invalidated, permanent, or a database error.
    pub fn extend(&self, id: i64, seconds: i64) -> Result<Voucher, Error> {
        let voucher = self.get(id)?;
        if voucher.invalidated.is_some() {
            return Err(Error::Invalidated(id));
        }
        if voucher.duration.is_none() {
            return Err(Error::Permanent(id));
        }
        // The extension grows by `seconds`, and by the time an expired voucher was over, so
        // that it runs again from now (the mesh keeps the largest extension any node made).
        let over = voucher.expires.map_or(0, |e| (now() - e).max(0));
        self.db.with(|c| {
            c.execute(
                "UPDATE vouchers SET extension_s = extension_s + ?2,
                        expires = activated + duration_s + extension_s + ?2 WHERE id = ?1",
                params![id, seconds + over],
            )
        })?;
        self.get(id)
    }
}

/// A duration written `90s`, `30m`, `2h`, `1d` or `1w` (or combined, `1h30m`), in seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: i64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    (number.is_empty() && total > 0).then_some(total)
}

/// Seconds as `2h 30m` (for tables).
pub fn format_duration(seconds: i64) -> String {
    let mut out = String::new();
    let mut left = seconds.max(0);
    for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")] {
        if left >= unit {
            let _ = write!(out, "{}{name} ", left / unit);
            left %= unit;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out.trim_end().to_owned()
}

/// The devices each voucher admits (all vouchers, or the one with `id`), oldest first: its
/// first `max_devices` bound devices (`replica::Replica::admitted`'s rule, in SQL order).
fn admitted(
    c: &rusqlite::Connection,
    id: Option<i64>,
) -> rusqlite::Result<std::collections::HashMap<i64, Vec<String>>> {
    let mut stmt = c.prepare(
        "SELECT m.voucher_id, m.mac, v.max_devices FROM voucher_macs m JOIN vouchers v ON v.id = m.voucher_id
         WHERE (?1 IS NULL OR m.voucher_id = ?1)
           AND (m.released IS NULL OR (m.bound, m.node) > (m.released, m.released_node))
         ORDER BY m.bound, m.node, m.mac",
    )?;
    let mut by_id: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    for row in stmt.query_map([id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })? {
        let (voucher, mac, cap) = row?;
        let macs = by_id.entry(voucher).or_default();
        if i64::try_from(macs.len()).unwrap_or(i64::MAX) < cap {
            macs.push(mac);
        }
    }
    Ok(by_id)
}

impl Vouchers {
    /// The voucher whose code is `typed` (any case, with or without dashes).
    ///
    /// # Errors
    /// A database error.
    pub fn by_code(&self, typed: &str) -> Result<Option<Voucher>, Error> {
        let Some(code) = normalise(typed) else {
            return Ok(None);
        };
        let id: Option<i64> = self.db.with(|c| {
            c.query_row("SELECT id FROM vouchers WHERE code = ?1", [code], |r| {
                r.get(0)
            })
            .optional()
        })?;
        id.map(|id| self.get(id)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn durations() {
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("90"), None);
        assert_eq!(parse_duration("0m"), None);
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(format_duration(5400), "1h 30m");
    }

    #[test]
    fn create_list_invalidate_extend() {
        let store = Vouchers::open(StateDb::in_memory().unwrap()).unwrap();
        let mut reported = 0;
        let made = store
            .create(
                &NewVouchers {
                    quantity: 250,
                    name: "market".into(),
                    duration: Some(7200),
                    max_devices: 2,
                    ..NewVouchers::default()
                },
                |chunk| reported += chunk.len(),
            )
            .unwrap();
        assert_eq!((made.len(), reported), (250, 250));
        assert_eq!(store.list(Some(State::Unused)).unwrap().len(), 250);
        let first = &made[0];
        assert_eq!(
            store
                .by_code(&first.code.to_lowercase())
                .unwrap()
                .unwrap()
                .id,
            first.id
        );
        assert_eq!(
            store.invalidate(first.id).unwrap().state,
            State::Invalidated
        );
        assert!(matches!(
            store.extend(first.id, 60),
            Err(Error::Invalidated(_))
        ));
        let second = store.extend(made[1].id, 1800).unwrap();
        assert_eq!(second.duration, Some(9000));
        assert!(matches!(store.invalidate(999_999), Err(Error::NotFound(_))));
        assert!(matches!(
            store.create(
                &NewVouchers {
                    quantity: 1001,
                    max_devices: 1,
                    ..NewVouchers::default()
                },
                |_| {}
            ),
            Err(Error::BadQuantity)
        ));
    }
}
