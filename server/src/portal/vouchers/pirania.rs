//! Pirania's vouchers (LibreMesh): its voucher files read as its loader reads them, or its
//! shared-state table (`pirania-vouchers`, as a live node's shared-state CGI answers), and
//! imported once each (by Pirania id) with the MAC they were bound to.

use rusqlite::params;

use super::{Error, Vouchers, normalise};

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
    /// Pirania's version of the voucher (each change adds one; default 1).
    pub mod_counter: i64,
}

/// Reads one Pirania voucher file; the reason when Pirania would reject it.
///
/// # Errors
/// Why the file is not a valid voucher.
pub fn parse_pirania(text: &str) -> Result<PiraniaVoucher, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    pirania_from_value(&value)
}

/// One Pirania voucher from its JSON, checked as Pirania's loader checks it.
///
/// # Errors
/// Why it is not a valid voucher.
pub fn pirania_from_value(value: &serde_json::Value) -> Result<PiraniaVoucher, String> {
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
        mod_counter: number("mod_counter")?.unwrap_or(1),
    })
}

/// An entry Pirania would reject: its key (or file name) and why.
pub type Rejected = (String, String);

/// Pirania's shared-state table as a node's `/cgi-bin/shared-state/pirania-vouchers` answers
/// (`{key: {bleachTTL, author, data: voucher}}`; a voucher changed on some node is there under
/// several keys until the old ones are bleached): per voucher id the entry with the highest
/// `mod_counter`; the entries Pirania would reject, by key and reason.
///
/// # Errors
/// The text is not a JSON object.
pub fn parse_shared_state(text: &str) -> Result<(Vec<PiraniaVoucher>, Vec<Rejected>), String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let table = value
        .as_object()
        .ok_or("not a shared-state table (a JSON object)")?;
    let mut newest: std::collections::BTreeMap<String, PiraniaVoucher> =
        std::collections::BTreeMap::new();
    let mut bad = Vec::new();
    for (key, entry) in table {
        match entry
            .get("data")
            .ok_or_else(|| "no `data`".to_owned())
            .and_then(pirania_from_value)
        {
            Ok(v) => {
                if newest
                    .get(&v.id)
                    .is_none_or(|old| v.mod_counter > old.mod_counter)
                {
                    newest.insert(v.id.clone(), v);
                }
            }
            Err(reason) => bad.push((key.clone(), reason)),
        }
    }
    Ok((newest.into_values().collect(), bad))
}

impl Vouchers {
    /// Stores Pirania vouchers in one transaction; ones imported before (same Pirania id) are
    /// left as they are. Returns how many were new.
    ///
    /// # Errors
    /// A database error: then nothing was imported.
    pub fn import_pirania(&self, vouchers: &[PiraniaVoucher]) -> Result<usize, Error> {
        Ok(self.db.with(|c| {
            let tx = crate::state::write_transaction(c)?;
            let mut new = 0;
            for v in vouchers {
                let code = normalise(&v.code).unwrap_or_else(|| v.code.clone());
                let duration = v.duration_m.map(|m| m * 60);
                let expires = v.activation_date.zip(duration).map(|(a, d)| a + d);
                let inserted = tx.execute(
                    "INSERT OR IGNORE INTO vouchers (code, name, duration_s, deadline, created, activated, expires, invalidated, max_devices, author, pirania_id,
                                                     created_node, activated_node, invalidated_node, name_node)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10,
                             ?11, CASE WHEN ?6 IS NULL THEN NULL ELSE ?11 END, CASE WHEN ?8 IS NULL THEN NULL ELSE ?11 END, ?11)",
                    params![code, v.name, duration, v.activation_deadline, v.creation_date.unwrap_or(0), v.activation_date, expires, v.invalidation_date, v.author_node, v.id, self.node],
                )?;
                if inserted == 1 {
                    new += 1;
                    if let Some(mac) = &v.mac {
                        tx.execute(
                            "INSERT OR IGNORE INTO voucher_macs (voucher_id, mac, bound, node) VALUES (?1, ?2, ?3, ?4)",
                            params![tx.last_insert_rowid(), mac.to_ascii_lowercase(), v.activation_date.unwrap_or(0), self.node],
                        )?;
                    }
                }
            }
            tx.commit()?;
            Ok(new)
        })?)
    }
}
