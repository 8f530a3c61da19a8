//! Vouchers (LibreMesh Pirania's model): a code that gives devices internet for a duration (or
//! for good), bound to the MACs that used it, in the router's state database.
//!
//! Codes are 10 Crockford base32 characters (50 bits) grouped for reading aloud
//! (`K7M2-9QXD-4T`); entry ignores case, dashes and spaces and reads `O` as `0` and `I`/`L` as `1`.
//! Every change is one SQLite transaction: what a command reports as done is on disk.

use std::fmt::Write as _;

use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;

use crate::state::StateDb;

/// Crockford's base32 alphabet: no I, L, O, U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a generated code (5 bits each: 50 bits of entropy).
pub const CODE_LEN: usize = 10;

/// A fresh code, grouped `XXXX-XXXX-XX`.
pub fn new_code() -> String {
    let raw: String = (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[usize::from(rand::random::<u8>() & 31)]))
        .collect();
    group(&raw)
}

/// A code as printed: groups of four joined by dashes.
pub fn group(normalised: &str) -> String {
    let chars: Vec<char> = normalised.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed code as stored: upper case, no separators, Crockford's look-alikes mapped. `None`
/// when a character cannot be part of any code.
pub fn normalise(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(typed.len());
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii_alphanumeric() => c,
            _ => return None,
        };
        out.push(c);
    }
    (!out.is_empty() && out.len() <= 32).then_some(out)
}

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
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn row_to_voucher(row: &rusqlite::Row<'_>) -> rusqlite::Result<Voucher> {
    let code: String = row.get("code")?;
    Ok(Voucher {
        id: row.get("id")?,
        name: row.get("name")?,
        code: if code.len() == CODE_LEN {
            group(&code)
        } else {
            code
        },
        duration: row.get("duration_s")?,
        deadline: row.get("deadline")?,
        created: row.get("created")?,
        activated: row.get("activated")?,
        expires: row.get("expires")?,
        invalidated: row.get("invalidated")?,
        max_devices: row.get("max_devices")?,
        author: row.get("author")?,
        macs: Vec::new(),
        state: State::Unused,
    })
}

impl Vouchers {
    /// The store (its tables are created when missing).
    ///
    /// # Errors
    /// When the tables cannot be created.
    pub fn open(db: StateDb) -> Result<Vouchers, Error> {
        db.with(|c| c.execute_batch(SCHEMA))?;
        Ok(Vouchers { db })
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
                let tx = c.unchecked_transaction()?;
                let mut chunk = Vec::new();
                let created_at = now();
                while chunk.len() < n as usize {
                    let code = new_code();
                    let inserted = tx.execute(
                        "INSERT OR IGNORE INTO vouchers (code, name, duration_s, deadline, created, max_devices, author)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![code.replace('-', ""), new.name, new.duration, new.deadline, created_at, new.max_devices, new.author],
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
            let mut stmt = c.prepare(
                "SELECT * FROM vouchers WHERE ?1 IS NULL OR id = ?1 ORDER BY id DESC",
            )?;
            let mut vouchers: Vec<Voucher> = stmt
                .query_map([id], row_to_voucher)?
                .collect::<rusqlite::Result<_>>()?;
            let mut macs = c.prepare(
                "SELECT voucher_id, mac FROM voucher_macs WHERE ?1 IS NULL OR voucher_id = ?1 ORDER BY bound",
            )?;
            let mut by_id: std::collections::HashMap<i64, Vec<String>> =
                std::collections::HashMap::new();
            for row in macs.query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
                let (voucher, mac) = row?;
                by_id.entry(voucher).or_default().push(mac);
            }
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
                "UPDATE vouchers SET invalidated = COALESCE(invalidated, ?2) WHERE id = ?1",
                params![id, now()],
            )
        })?;
        if changed == 0 {
            return Err(Error::NotFound(id));
        }
        self.get(id)
    }

    /// Gives a voucher a new name or note.
    ///
    /// # Errors
    /// Not found, or a database error.
    pub fn rename(&self, id: i64, name: &str) -> Result<Voucher, Error> {
        let changed = self.db.with(|c| {
            c.execute(
                "UPDATE vouchers SET name = ?2 WHERE id = ?1",
                params![id, name],
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
        let Some(duration) = voucher.duration else {
            return Err(Error::Permanent(id));
        };
        let now = now();
        let expires = voucher.expires.map(|e| e.max(now) + seconds);
        self.db.with(|c| {
            c.execute(
                "UPDATE vouchers SET duration_s = ?2, expires = ?3 WHERE id = ?1",
                params![id, duration + seconds, expires],
            )
        })?;
        self.get(id)
    }

    /// Stores Pirania vouchers in one transaction; ones imported before (same Pirania id) are
    /// left as they are. Returns how many were new.
    ///
    /// # Errors
    /// A database error: then nothing was imported.
    pub fn import_pirania(&self, vouchers: &[PiraniaVoucher]) -> Result<usize, Error> {
        Ok(self.db.with(|c| {
            let tx = c.unchecked_transaction()?;
            let mut new = 0;
            for v in vouchers {
                let code = normalise(&v.code).unwrap_or_else(|| v.code.clone());
                let duration = v.duration_m.map(|m| m * 60);
                let expires = v.activation_date.zip(duration).map(|(a, d)| a + d);
                let inserted = tx.execute(
                    "INSERT OR IGNORE INTO vouchers (code, name, duration_s, deadline, created, activated, expires, invalidated, max_devices, author, pirania_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10)",
                    params![code, v.name, duration, v.activation_deadline, v.creation_date.unwrap_or(0), v.activation_date, expires, v.invalidation_date, v.author_node, v.id],
                )?;
                if inserted == 1 {
                    new += 1;
                    if let Some(mac) = &v.mac {
                        tx.execute(
                            "INSERT OR IGNORE INTO voucher_macs (voucher_id, mac, bound) VALUES (?1, ?2, ?3)",
                            params![tx.last_insert_rowid(), mac.to_ascii_lowercase(), v.activation_date.unwrap_or(0)],
                        )?;
                    }
                }
            }
            tx.commit()?;
            Ok(new)
        })?)
    }
}

/// Why a code does not give access (the portal shows each in the client's language).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Unknown,
    Invalidated,
    Expired,
    DeadlinePassed,
    /// Every slot was taken within the last [`MOVE_AFTER`] seconds: the code is being shared.
    SlotsFull,
}

/// What a code gave a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub voucher: i64,
    pub mac: String,
    /// Unix seconds when access ends; `None`: permanent.
    pub expires: Option<i64>,
    /// The device whose slot this one took (phones change their MAC address).
    pub moved_from: Option<String>,
}

/// A device slot is moved to a new device only when its device got it at least this long ago
/// (seconds); otherwise a full voucher refuses (two phones taking turns are sharing it).
pub const MOVE_AFTER: i64 = 60;

/// A MAC address as stored: lower case, colons.
pub fn normalise_mac(mac: &str) -> Option<String> {
    let parts: Vec<&str> = mac.split([':', '-']).collect();
    (parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|c| c.is_ascii_hexdigit())))
    .then(|| parts.join(":").to_ascii_lowercase())
}

impl Vouchers {
    /// A device (`mac`) enters a code at `now` (Unix seconds). The first use activates the
    /// voucher; a device already on it is simply let in again; a new device takes a free slot,
    /// or the slot of the device that got its slot longest ago. `wall_clock_trusted`: the
    /// activation deadline is only enforced when the clock is known to be right (NTP, or later
    /// than the build).
    ///
    /// # Errors
    /// A database error.
    pub fn redeem(
        &self,
        typed: &str,
        mac: &str,
        now: i64,
        wall_clock_trusted: bool,
    ) -> Result<Result<Grant, Refusal>, Error> {
        let (Some(code), Some(mac)) = (normalise(typed), normalise_mac(mac)) else {
            return Ok(Err(Refusal::Unknown));
        };
        self.db
            .with(|c| {
                let tx = c.unchecked_transaction()?;
                let Some(mut voucher) = tx
                    .query_row(
                        "SELECT * FROM vouchers WHERE code = ?1",
                        [&code],
                        row_to_voucher,
                    )
                    .optional()?
                else {
                    return Ok(Err(Refusal::Unknown));
                };
                if voucher.invalidated.is_some() {
                    return Ok(Err(Refusal::Invalidated));
                }
                if voucher.activated.is_none() {
                    if wall_clock_trusted && voucher.deadline.is_some_and(|d| now > d) {
                        return Ok(Err(Refusal::DeadlinePassed));
                    }
                    voucher.activated = Some(now);
                    voucher.expires = voucher.duration.map(|d| now + d);
                    tx.execute(
                        "UPDATE vouchers SET activated = ?2, expires = ?3 WHERE id = ?1",
                        params![voucher.id, now, voucher.expires],
                    )?;
                } else if voucher.expires.is_some_and(|e| now >= e) {
                    return Ok(Err(Refusal::Expired));
                }
                let mut bound: Vec<(String, i64)> = {
                    let mut stmt = tx.prepare(
                    "SELECT mac, bound FROM voucher_macs WHERE voucher_id = ?1 ORDER BY bound, mac",
                )?;
                    stmt.query_map([voucher.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<_>>()?
                };
                let mut moved_from = None;
                if !bound.iter().any(|(m, _)| *m == mac) {
                    if bound.len() >= voucher.max_devices as usize {
                        let (oldest, since) = bound.remove(0);
                        if now - since < MOVE_AFTER {
                            return Ok(Err(Refusal::SlotsFull));
                        }
                        tx.execute(
                            "DELETE FROM voucher_macs WHERE voucher_id = ?1 AND mac = ?2",
                            params![voucher.id, oldest],
                        )?;
                        moved_from = Some(oldest);
                    }
                    tx.execute(
                        "INSERT INTO voucher_macs (voucher_id, mac, bound) VALUES (?1, ?2, ?3)",
                        params![voucher.id, mac, now],
                    )?;
                }
                tx.commit()?;
                Ok(Ok(Grant {
                    voucher: voucher.id,
                    mac,
                    expires: voucher.expires,
                    moved_from,
                }))
            })
            .map_err(Error::from)
    }

    /// The wall clock jumped by `delta` seconds while time went on normally (NTP set it after
    /// boot, someone changed it): vouchers in use at `now` keep the time they had left, so
    /// their activation, end and device times move by `delta`. Returns how many moved.
    ///
    /// # Errors
    /// A database error.
    pub fn shift_clock(&self, delta: i64, now: i64) -> Result<usize, Error> {
        Ok(self.db.with(|c| {
            let tx = c.unchecked_transaction()?;
            let active =
                "SELECT id FROM vouchers WHERE activated IS NOT NULL AND invalidated IS NULL
                          AND (expires IS NULL OR expires > ?1 - ?2)";
            tx.execute(
                &format!(
                    "UPDATE voucher_macs SET bound = bound + ?2 WHERE voucher_id IN ({active})"
                ),
                params![now, delta],
            )?;
            let n = tx.execute(
                &format!(
                    "UPDATE vouchers SET activated = activated + ?2, expires = expires + ?2
                     WHERE id IN ({active})"
                ),
                params![now, delta],
            )?;
            tx.commit()?;
            Ok(n)
        })?)
    }

    /// Changes whenever another process (the CLI) committed to the database.
    ///
    /// # Errors
    /// A database error.
    pub fn data_version(&self) -> Result<i64, Error> {
        Ok(self
            .db
            .with(|c| c.query_row("PRAGMA data_version", [], |r| r.get(0)))?)
    }

    /// Every device with access at `now` and when it ends (for the firewall's set, rebuilt
    /// from here on every start).
    ///
    /// # Errors
    /// A database error.
    pub fn authorised(&self, now: i64) -> Result<Vec<(String, Option<i64>)>, Error> {
        Ok(self.db.with(|c| {
            let mut stmt = c.prepare(
                "SELECT m.mac, v.expires FROM voucher_macs m JOIN vouchers v ON v.id = m.voucher_id
                 WHERE v.invalidated IS NULL AND v.activated IS NOT NULL
                   AND (v.expires IS NULL OR v.expires > ?1)
                 ORDER BY m.mac",
            )?;
            stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()
        })?)
    }
}

/// A voucher file of Pirania (`/etc/pirania/vouchers/<id>.json`), checked as Pirania's loader
/// checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PiraniaVoucher {
    pub id: String,
    pub name: String,
    pub code: String,
    pub mac: Option<String>,
    pub duration_m: Option<i64>,
    pub author_node: String,
    pub creation_date: Option<i64>,
    pub activation_date: Option<i64>,
    pub activation_deadline: Option<i64>,
    pub invalidation_date: Option<i64>,
}

/// Reads one Pirania voucher file; the reason when Pirania would reject it.
///
/// # Errors
/// Why the file is not a valid voucher.
pub fn parse_pirania(text: &str) -> Result<PiraniaVoucher, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let string = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{key}` is not a string")),
        }
    };
    let number = |key: &str| -> Result<Option<i64>, String> {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            // Lua writes whole numbers, sometimes as `1440.0`.
            Some(v) => v
                .as_i64()
                .or_else(|| {
                    let n = v.as_f64().filter(|n| n.fract() == 0.0 && n.abs() < 1e15)?;
                    format!("{n:.0}").parse().ok()
                })
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| format!("`{key}` is not a number")),
        }
    };
    let id = string("id")?.ok_or("`id` is missing")?;
    let code = string("code")?.ok_or("`code` is missing")?;
    if normalise(&code).is_none() {
        return Err("`code` holds characters no code has".into());
    }
    let mac = string("mac")?;
    if let Some(mac) = &mac
        && (mac.len() != 17
            || !mac
                .split(':')
                .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit())))
    {
        return Err(format!("`mac` is not a MAC address: {mac:?}"));
    }
    Ok(PiraniaVoucher {
        id,
        name: string("name")?.unwrap_or_default(),
        code,
        mac,
        duration_m: number("duration_m")?,
        author_node: string("author_node")?.unwrap_or_default(),
        creation_date: number("creation_date")?,
        activation_date: number("activation_date")?,
        activation_deadline: number("activation_deadline")?,
        invalidation_date: number("invalidation_date")?,
    })
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
    use proptest::prelude::*;

    #[test]
    fn codes_have_fifty_bits_and_read_back_however_they_are_typed() {
        let code = new_code();
        assert_eq!(code.len(), 12);
        assert_eq!(code.matches('-').count(), 2);
        let plain = code.replace('-', "");
        assert!(plain.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(
            normalise(&code.to_lowercase()).as_deref(),
            Some(plain.as_str())
        );
        assert_eq!(normalise("k7m2 9qxd-4t").as_deref(), Some("K7M29QXD4T"));
        assert_eq!(normalise("O1L-I").as_deref(), Some("0111"));
        assert_eq!(normalise("K7M2;drop"), None);
    }

    proptest! {
        #[test]
        fn grouping_and_case_never_change_a_code(raw in "[0-9A-HJKMNP-TV-Z]{10}", lower in any::<bool>()) {
            let printed = group(&raw);
            let typed = if lower { printed.to_lowercase() } else { printed.clone() };
            prop_assert_eq!(normalise(&typed), Some(raw));
        }
    }

    fn one(
        store: &Vouchers,
        duration: Option<i64>,
        max_devices: u32,
        deadline: Option<i64>,
    ) -> Voucher {
        store
            .create(
                &NewVouchers {
                    quantity: 1,
                    duration,
                    deadline,
                    max_devices,
                    ..NewVouchers::default()
                },
                |_| {},
            )
            .unwrap()
            .remove(0)
    }

    #[test]
    fn redeeming_activates_binds_moves_and_refuses_specifically() {
        let store = Vouchers::open(StateDb::in_memory().unwrap()).unwrap();
        let t0 = 1_800_000_000;
        let phone = "AA:BB:CC:00:00:01";
        let v = one(&store, Some(3600), 1, Some(t0 + 100));
        let typed = v.code.to_lowercase().replace('-', " ");
        let grant = store.redeem(&typed, phone, t0, true).unwrap().unwrap();
        assert_eq!(
            (grant.expires, grant.moved_from.clone()),
            (Some(t0 + 3600), None)
        );
        assert_eq!(store.get(v.id).unwrap().macs, ["aa:bb:cc:00:00:01"]);
        // The same device again: still the same end.
        assert_eq!(
            store
                .redeem(&v.code, phone, t0 + 10, true)
                .unwrap()
                .unwrap()
                .expires,
            Some(t0 + 3600)
        );
        // Another device at once: the code is being shared.
        assert_eq!(
            store
                .redeem(&v.code, "aa:bb:cc:00:00:02", t0 + 20, true)
                .unwrap(),
            Err(Refusal::SlotsFull)
        );
        // Later (a phone with a new random MAC): the slot moves.
        let moved = store
            .redeem(&v.code, "aa:bb:cc:00:00:02", t0 + 600, true)
            .unwrap()
            .unwrap();
        assert_eq!(moved.moved_from.as_deref(), Some("aa:bb:cc:00:00:01"));
        assert_eq!(
            store.authorised(t0 + 601).unwrap(),
            [("aa:bb:cc:00:00:02".to_owned(), Some(t0 + 3600))]
        );
        assert_eq!(
            store.redeem(&v.code, phone, t0 + 3600, true).unwrap(),
            Err(Refusal::Expired)
        );
        assert_eq!(store.authorised(t0 + 3600).unwrap(), []);

        let late = one(&store, Some(60), 1, Some(t0));
        assert_eq!(
            store.redeem(&late.code, phone, t0 + 1, true).unwrap(),
            Err(Refusal::DeadlinePassed)
        );
        // An untrusted clock (no NTP yet) does not enforce deadlines.
        assert!(
            store
                .redeem(&late.code, phone, t0 + 1, false)
                .unwrap()
                .is_ok()
        );

        let gone = one(&store, None, 2, None);
        store.invalidate(gone.id).unwrap();
        assert_eq!(
            store.redeem(&gone.code, phone, t0, true).unwrap(),
            Err(Refusal::Invalidated)
        );
        assert_eq!(
            store.redeem("ZZZZ-ZZZZ-ZZ", phone, t0, true).unwrap(),
            Err(Refusal::Unknown)
        );
        assert_eq!(
            store.redeem(&v.code, "not a mac", t0, true).unwrap(),
            Err(Refusal::Unknown)
        );

        let family = one(&store, None, 2, None);
        for (i, mac) in ["02:00:00:00:00:01", "02:00:00:00:00:02"]
            .iter()
            .enumerate()
        {
            let g = store
                .redeem(&family.code, mac, t0 + i64::try_from(i).unwrap(), true)
                .unwrap()
                .unwrap();
            assert_eq!(
                (g.expires, g.moved_from),
                (None, None),
                "permanent, two slots"
            );
        }
    }

    #[test]
    fn a_clock_jump_keeps_the_time_left_of_vouchers_in_use_only() {
        let store = Vouchers::open(StateDb::in_memory().unwrap()).unwrap();
        let t0 = 1_000_000; // a router without a clock boots in 1970
        let active = one(&store, Some(3600), 1, None);
        let used_up = one(&store, Some(60), 1, None);
        let unused = one(&store, Some(3600), 1, None);
        store
            .redeem(&active.code, "02:00:00:00:00:01", t0, false)
            .unwrap()
            .unwrap();
        store
            .redeem(&used_up.code, "02:00:00:00:00:02", t0 - 120, false)
            .unwrap()
            .unwrap();
        // NTP sets the clock 50 years forward, 10 s later.
        let jump = 1_800_000_000 - (t0 + 10);
        assert_eq!(store.shift_clock(jump, t0 + 10 + jump).unwrap(), 1);
        let now = 1_800_000_000;
        let active = store.get(active.id).unwrap();
        assert_eq!(active.expires, Some(now + 3600 - 10));
        assert_eq!(store.get(used_up.id).unwrap().expires, Some(t0 - 60));
        assert_eq!(store.get(unused.id).unwrap().activated, None);
        assert_eq!(
            store.authorised(now).unwrap(),
            vec![("02:00:00:00:00:01".to_owned(), Some(now + 3590))]
        );
    }

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
