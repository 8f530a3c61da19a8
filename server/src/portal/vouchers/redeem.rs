//! The redemption rules: who a code lets in, for how long, on how many devices, and what moves
//! when a device is replaced; a clock jump keeps the time left of vouchers in use.

use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;

use super::{Error, Vouchers, normalise, row_to_voucher};

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
                let tx = crate::state::write_transaction(c)?;
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
                // Activated while a clock was wrong (1970, before NTP), here or on another
                // node, and heard of here with a right clock: it counts from now.
                let wrong_clock = wall_clock_trusted
                    && voucher.activated.is_some_and(|a| a < super::RELEASE_DATE);
                if voucher.activated.is_none() || wrong_clock {
                    if !wrong_clock
                        && wall_clock_trusted
                        && voucher.deadline.is_some_and(|d| now > d)
                    {
                        return Ok(Err(Refusal::DeadlinePassed));
                    }
                    voucher.activated = Some(now);
                    voucher.expires = voucher.duration.map(|d| now + d);
                    tx.execute(
                        "UPDATE vouchers SET activated = ?2, activated_node = ?3, expires = ?4 WHERE id = ?1",
                        params![voucher.id, now, self.node, voucher.expires],
                    )?;
                } else if voucher.expires.is_some_and(|e| now >= e) {
                    return Ok(Err(Refusal::Expired));
                }
                let admitted = super::admitted(&tx, Some(voucher.id))?
                    .remove(&voucher.id)
                    .unwrap_or_default();
                let mut moved_from = None;
                if !admitted.contains(&mac) {
                    // Devices bound on other nodes at the same time beyond the cap lost there
                    // (the merge's rule): their bindings are released here, so that the slot
                    // freed below goes to this device.
                    tx.execute(
                        "UPDATE voucher_macs SET released = ?3, released_node = ?4
                         WHERE voucher_id = ?1 AND mac <> ?2
                           AND (released IS NULL OR (bound, node) > (released, released_node))
                           AND mac NOT IN (SELECT value FROM json_each(?5))",
                        params![voucher.id, mac, now, self.node, serde_json::to_string(&admitted).unwrap_or_default()],
                    )?;
                    if admitted.len() >= voucher.max_devices as usize {
                        let oldest = &admitted[0];
                        let since: i64 = tx.query_row(
                            "SELECT bound FROM voucher_macs WHERE voucher_id = ?1 AND mac = ?2",
                            params![voucher.id, oldest],
                            |r| r.get(0),
                        )?;
                        if now - since < MOVE_AFTER {
                            return Ok(Err(Refusal::SlotsFull));
                        }
                        tx.execute(
                            "UPDATE voucher_macs SET released = ?3, released_node = ?4 WHERE voucher_id = ?1 AND mac = ?2",
                            params![voucher.id, oldest, now, self.node],
                        )?;
                        moved_from = Some(oldest.clone());
                    }
                    tx.execute(
                        "INSERT INTO voucher_macs (voucher_id, mac, bound, node) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (voucher_id, mac) DO UPDATE SET bound = MAX(bound, excluded.bound), node = excluded.node",
                        params![voucher.id, mac, now, self.node],
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
            let tx = crate::state::write_transaction(c)?;
            let active =
                "SELECT id FROM vouchers WHERE activated IS NOT NULL AND invalidated IS NULL
                          AND (expires IS NULL OR expires > ?1 - ?2)";
            tx.execute(
                &format!(
                    "UPDATE voucher_macs SET bound = bound + ?2, released = released + ?2
                     WHERE voucher_id IN ({active})"
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
                "SELECT id, expires FROM vouchers
                 WHERE invalidated IS NULL AND activated IS NOT NULL AND (expires IS NULL OR expires > ?1)",
            )?;
            let valid: std::collections::HashMap<i64, Option<i64>> = stmt
                .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut list: Vec<(String, Option<i64>)> = super::admitted(c, None)?
                .into_iter()
                .filter_map(|(id, macs)| valid.get(&id).map(|e| (macs, *e)))
                .flat_map(|(macs, expires)| macs.into_iter().map(move |m| (m, expires)))
                .collect();
            // Devices that accepted the page (the portal's "read and accept" mode).
            list.extend(Vouchers::accepted_at(c, now)?);
            // One device on two vouchers: the later end.
            list.sort();
            list.dedup_by(|later, earlier| {
                later.0 == earlier.0 && {
                    earlier.1 = if earlier.1.is_none() || later.1.is_none() {
                        None
                    } else {
                        earlier.1.max(later.1)
                    };
                    true
                }
            });
            Ok(list)
        })?)
    }
}
#[cfg(test)]
mod tests {
    use super::super::{NewVouchers, Voucher};
    use super::*;
    use crate::state::StateDb;

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
}
