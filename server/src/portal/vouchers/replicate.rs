//! The store's vouchers as replicas (`replica`), and other nodes' replicas merged into the store
//! in one transaction: what the mesh sends and receives.

use std::collections::BTreeMap;

use rusqlite::params;
use sha2::Digest as _;

use super::replica::{Binding, Created, Event, Hlc, Lww, NodeId, RELEASE_DATE, Replica, Replicas};
use super::{Error, Vouchers, normalise_mac};

/// A voucher's state in 8 bytes (SHA-256 of its encoding), for comparing two nodes' stores
/// without sending them.
pub type Digest = [u8; 8];

/// Longest code, name and author a node accepts from another (a Pirania code is free text).
const MAX_CODE: usize = 64;
const MAX_NAME: usize = 256;
/// Most devices one voucher can have had (the cap is 100; released ones stay).
const MAX_DEVICES_SEEN: usize = 1000;
/// Longest duration, extension or date offset taken from a peer: a hundred years.
const CENTURY: i64 = 100 * 365 * 86_400;

impl Replica {
    /// The digest of this state: equal on two nodes exactly when they hold the same.
    #[must_use]
    pub fn digest(&self) -> Digest {
        let bytes = postcard::to_allocvec(self).unwrap_or_default();
        let hash = sha2::Sha256::digest(&bytes);
        let mut digest = [0; 8];
        digest.copy_from_slice(&hash[..8]);
        digest
    }

    /// Whether a replica from another node is one this store can hold (sizes and ranges; a
    /// member's bug must not fill the flash or the firewall).
    fn sane(&self, code: &str) -> bool {
        let in_range = |t: i64| (0..=4 * CENTURY).contains(&t);
        let event = |e: &Event| in_range(e.at);
        !code.is_empty()
            && code.len() <= MAX_CODE
            && code.bytes().all(|b| b.is_ascii_graphic())
            && self.name.value.len() <= MAX_NAME
            && self.created.author.len() <= MAX_NAME
            && (1..=100).contains(&self.created.max_devices)
            && self
                .created
                .duration
                .is_none_or(|d| (1..=CENTURY).contains(&d))
            && self.created.deadline.is_none_or(in_range)
            && (0..=CENTURY).contains(&self.extension)
            && event(&self.created.event)
            && self.activated.as_ref().is_none_or(event)
            && self.invalidated.as_ref().is_none_or(event)
            && self.devices.len() <= MAX_DEVICES_SEEN
            && self.devices.iter().all(|(mac, b)| {
                normalise_mac(mac).as_deref() == Some(mac.as_str())
                    && event(&b.bound)
                    && b.released.as_ref().is_none_or(event)
            })
    }
}

/// The digest of a whole store: equal on two nodes exactly when every voucher is.
#[must_use]
pub fn root(digests: &BTreeMap<String, Digest>) -> [u8; 32] {
    let mut hash = sha2::Sha256::new();
    for (code, digest) in digests {
        hash.update(u32::try_from(code.len()).unwrap_or(0).to_be_bytes());
        hash.update(code.as_bytes());
        hash.update(digest);
    }
    hash.finalize().into()
}

fn event(at: Option<i64>, node: Option<NodeId>) -> Option<Event> {
    at.map(|at| Event {
        at,
        node: node.unwrap_or_default(),
    })
}

/// One row of `vouchers` (with its id) as a replica, without its devices.
fn row_to_replica(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, Replica)> {
    Ok((
        r.get("id")?,
        r.get("code")?,
        Replica {
            created: Created {
                event: Event {
                    at: r.get("created")?,
                    node: r.get("created_node")?,
                },
                author: r.get("author")?,
                duration: r.get("duration_s")?,
                deadline: r.get("deadline")?,
                max_devices: r.get("max_devices")?,
            },
            invalidated: event(r.get("invalidated")?, r.get("invalidated_node")?),
            extension: r.get("extension_s")?,
            activated: event(r.get("activated")?, r.get("activated_node")?),
            devices: BTreeMap::new(),
            name: Lww {
                value: r.get("name")?,
                stamp: Hlc {
                    millis: u64::try_from(r.get::<_, i64>("name_ms")?).unwrap_or(0),
                    counter: r.get("name_counter")?,
                    node: r.get("name_node")?,
                },
            },
        },
    ))
}

/// The vouchers of the store (all, or the one with `code`) as replicas, by code.
fn load(
    c: &rusqlite::Connection,
    code: Option<&str>,
) -> rusqlite::Result<BTreeMap<String, (i64, Replica)>> {
    let mut stmt = c.prepare("SELECT * FROM vouchers WHERE ?1 IS NULL OR code = ?1")?;
    let mut by_id: BTreeMap<i64, (String, Replica)> = BTreeMap::new();
    for row in stmt.query_map([code], row_to_replica)? {
        let (id, code, replica) = row?;
        by_id.insert(id, (code, replica));
    }
    let mut macs = c.prepare(
        "SELECT m.voucher_id, m.mac, m.bound, m.node, m.released, m.released_node
         FROM voucher_macs m JOIN vouchers v ON v.id = m.voucher_id
         WHERE ?1 IS NULL OR v.code = ?1",
    )?;
    for row in macs.query_map([code], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            Binding {
                bound: Event {
                    at: r.get(2)?,
                    node: r.get(3)?,
                },
                released: event(r.get(4)?, r.get(5)?),
            },
        ))
    })? {
        let (id, mac, binding) = row?;
        if let Some((_, replica)) = by_id.get_mut(&id) {
            replica.devices.insert(mac, binding);
        }
    }
    Ok(by_id
        .into_iter()
        .map(|(id, (code, replica))| (code, (id, replica)))
        .collect())
}

/// Writes a replica as the store's row for `code` (and its devices).
fn store(c: &rusqlite::Connection, code: &str, r: &Replica) -> rusqlite::Result<()> {
    let expires = r
        .activated
        .zip(r.duration())
        .map(|(a, d)| a.at.saturating_add(d));
    c.execute(
        "INSERT INTO vouchers (code, name, duration_s, deadline, created, activated, expires, invalidated,
                               max_devices, author, created_node, activated_node, invalidated_node,
                               extension_s, name_ms, name_counter, name_node)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, duration_s = excluded.duration_s,
             deadline = excluded.deadline, created = excluded.created, activated = excluded.activated,
             expires = excluded.expires, invalidated = excluded.invalidated,
             max_devices = excluded.max_devices, author = excluded.author,
             created_node = excluded.created_node, activated_node = excluded.activated_node,
             invalidated_node = excluded.invalidated_node, extension_s = excluded.extension_s,
             name_ms = excluded.name_ms, name_counter = excluded.name_counter,
             name_node = excluded.name_node",
        params![
            code,
            r.name.value,
            r.created.duration,
            r.created.deadline,
            r.created.event.at,
            r.activated.map(|e| e.at),
            expires,
            r.invalidated.map(|e| e.at),
            r.created.max_devices,
            r.created.author,
            r.created.event.node,
            r.activated.map(|e| e.node),
            r.invalidated.map(|e| e.node),
            r.extension,
            i64::try_from(r.name.stamp.millis).unwrap_or(i64::MAX),
            r.name.stamp.counter,
            r.name.stamp.node,
        ],
    )?;
    let id: i64 = c.query_row("SELECT id FROM vouchers WHERE code = ?1", [code], |row| {
        row.get(0)
    })?;
    for (mac, b) in &r.devices {
        c.execute(
            "INSERT INTO voucher_macs (voucher_id, mac, bound, node, released, released_node)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (voucher_id, mac) DO UPDATE SET bound = excluded.bound, node = excluded.node,
                 released = excluded.released, released_node = excluded.released_node",
            params![
                id,
                mac,
                b.bound.at,
                b.bound.node,
                b.released.map(|e| e.at),
                b.released.map(|e| e.node),
            ],
        )?;
    }
    Ok(())
}

impl Vouchers {
    /// This router's id in the mesh.
    #[must_use]
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Every voucher as a replica, by code.
    ///
    /// # Errors
    /// A database error.
    pub fn replicas(&self) -> Result<Replicas, Error> {
        Ok(Replicas(
            self.db
                .with(|c| load(c, None))?
                .into_iter()
                .map(|(code, (_, r))| (code, r))
                .collect(),
        ))
    }

    /// The replicas of the vouchers with these codes (the ones the store has).
    ///
    /// # Errors
    /// A database error.
    pub fn replicas_of<'a>(
        &self,
        codes: impl IntoIterator<Item = &'a String>,
    ) -> Result<Replicas, Error> {
        Ok(Replicas(self.db.with(|c| {
            let mut out = BTreeMap::new();
            for code in codes {
                if let Some((_, r)) = load(c, Some(code))?.remove(code) {
                    out.insert(code.clone(), r);
                }
            }
            Ok(out)
        })?))
    }

    /// Every voucher's digest, by code.
    ///
    /// # Errors
    /// A database error.
    pub fn digests(&self) -> Result<BTreeMap<String, Digest>, Error> {
        Ok(self
            .replicas()?
            .0
            .iter()
            .map(|(code, r)| (code.clone(), r.digest()))
            .collect())
    }

    /// Merges another node's replicas into the store (one transaction; each field by its
    /// rule). Replicas this store cannot hold (`sane`) are skipped. Returns the codes whose
    /// state changed here, and how many were skipped. `now` is this node's wall clock: when it
    /// is right, an activation that arrives stamped by a wrong clock (a node that activated
    /// before NTP answered) counts from now — an activation by this node, which then wins on
    /// every node by the activation rule.
    ///
    /// # Errors
    /// A database error: then nothing was merged.
    pub fn merge(&self, incoming: &Replicas, now: i64) -> Result<(Vec<String>, usize), Error> {
        Ok(self.db.with(|c| {
            let tx = crate::state::write_transaction(c)?;
            let mut changed = Vec::new();
            let mut skipped = 0;
            for (code, theirs) in &incoming.0 {
                if !theirs.sane(code) {
                    skipped += 1;
                    continue;
                }
                let mine = load(&tx, Some(code))?.remove(code).map(|(_, r)| r);
                let mut merged = mine.clone().unwrap_or_else(|| theirs.clone());
                merged.merge(theirs);
                if now >= RELEASE_DATE && merged.activated.is_some_and(|a| !a.trusted()) {
                    merged.activated = Some(Event {
                        at: now,
                        node: self.node,
                    });
                }
                if mine.as_ref() != Some(&merged) {
                    store(&tx, code, &merged)?;
                    changed.push(code.clone());
                }
            }
            tx.commit()?;
            Ok((changed, skipped))
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{NewVouchers, State};
    use super::*;
    use crate::state::StateDb;

    fn node() -> Vouchers {
        Vouchers::open(StateDb::in_memory().unwrap()).unwrap()
    }

    /// Both ways, as one sync round does.
    fn sync(a: &Vouchers, b: &Vouchers) {
        b.merge(&a.replicas().unwrap(), super::super::now())
            .unwrap();
        a.merge(&b.replicas().unwrap(), super::super::now())
            .unwrap();
    }

    #[test]
    fn a_voucher_made_on_one_node_is_used_extended_and_cut_on_the_others() {
        let (a, b, c) = (node(), node(), node());
        assert_ne!(a.node(), b.node());
        let made = a
            .create(
                &NewVouchers {
                    quantity: 2,
                    name: "market".into(),
                    duration: Some(3600),
                    max_devices: 1,
                    author: "admin".into(),
                    ..NewVouchers::default()
                },
                |_| {},
            )
            .unwrap();
        sync(&a, &b);
        sync(&b, &c);
        let on_c = c
            .by_code(&made[0].code)
            .unwrap()
            .expect("on the third node");
        assert_eq!(
            (on_c.name.as_str(), on_c.author.as_str(), on_c.node),
            ("market", "admin", a.node())
        );
        // Used on C, the activation travels back; time left comes from it.
        let t0 = super::super::now();
        let grant = c
            .redeem(&made[0].code, "02:00:00:00:00:01", t0, true)
            .unwrap()
            .unwrap();
        sync(&c, &b);
        sync(&b, &a);
        let on_a = a.by_code(&made[0].code).unwrap().unwrap();
        assert_eq!((on_a.state, on_a.expires), (State::Active, grant.expires));
        assert_eq!(on_a.macs, ["02:00:00:00:00:01"]);
        assert_eq!(a.authorised(t0).unwrap(), c.authorised(t0).unwrap());
        // Extended on B, renamed on A and then on C: the extension and the last name win.
        let on_b = b.by_code(&made[0].code).unwrap().unwrap();
        b.extend(on_b.id, 1800).unwrap();
        a.rename(on_a.id, "first").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        c.rename(on_c.id, "second").unwrap();
        for _ in 0..2 {
            sync(&a, &b);
            sync(&b, &c);
        }
        for store in [&a, &b, &c] {
            let v = store.by_code(&made[0].code).unwrap().unwrap();
            assert_eq!((v.name.as_str(), v.duration), ("second", Some(5400)));
            assert_eq!(v.expires, grant.expires.map(|e| e + 1800));
        }
        // Invalidated on A: B lets the device go once the state arrives.
        a.invalidate(on_a.id).unwrap();
        assert_eq!(b.authorised(t0).unwrap().len(), 1);
        sync(&a, &b);
        assert_eq!(b.authorised(t0).unwrap(), []);
        assert_eq!(
            b.by_code(&made[0].code).unwrap().unwrap().state,
            State::Invalidated
        );
        // Everyone holds the same.
        sync(&b, &c);
        assert_eq!(a.digests().unwrap(), b.digests().unwrap());
        assert_eq!(b.digests().unwrap(), c.digests().unwrap());
        assert_eq!(root(&a.digests().unwrap()), root(&c.digests().unwrap()));
    }

    #[test]
    fn an_activation_made_with_a_wrong_clock_counts_from_when_a_right_clock_hears_of_it() {
        let (a, b, c) = (node(), node(), node());
        let voucher = a
            .create(
                &NewVouchers {
                    quantity: 1,
                    duration: Some(3600),
                    max_devices: 2,
                    ..NewVouchers::default()
                },
                |_| {},
            )
            .unwrap()
            .remove(0);
        b.merge(&a.replicas().unwrap(), RELEASE_DATE + 10).unwrap();
        // Router A booted without NTP: it is 1970 there when a guest uses the voucher.
        a.redeem(&voucher.code, "02:00:00:00:00:0a", 1_000, false)
            .unwrap()
            .unwrap();
        // B's clock is right: for B the voucher was activated when B heard of it.
        let now = RELEASE_DATE + 100;
        b.merge(&a.replicas().unwrap(), now).unwrap();
        let on_b = b.by_code(&voucher.code).unwrap().unwrap();
        assert_eq!(
            (on_b.activated, on_b.expires),
            (Some(now), Some(now + 3600))
        );
        assert_eq!(on_b.activated_on, Some(b.node()));
        // B's stamp wins on A (still in 1970) and on C (heard later, clock right).
        a.merge(&b.replicas().unwrap(), 1_100).unwrap();
        c.merge(&a.replicas().unwrap(), now + 500).unwrap();
        for store in [&a, &c] {
            let held = store.by_code(&voucher.code).unwrap().unwrap();
            assert_eq!(held.expires, Some(now + 3600));
        }
        assert_eq!(a.digests().unwrap(), c.digests().unwrap());
        assert_eq!(
            c.authorised(now + 600).unwrap(),
            [("02:00:00:00:00:0a".to_owned(), Some(now + 3600))]
        );
        // A router that activated with a wrong clock and was never told otherwise: once its
        // clock is right, the next use counts from then.
        let lonely = node();
        let alone = lonely
            .create(
                &NewVouchers {
                    quantity: 1,
                    duration: Some(60),
                    max_devices: 1,
                    ..NewVouchers::default()
                },
                |_| {},
            )
            .unwrap()
            .remove(0);
        lonely
            .redeem(&alone.code, "02:00:00:00:00:0d", 2_000, false)
            .unwrap()
            .unwrap();
        let grant = lonely
            .redeem(&alone.code, "02:00:00:00:00:0d", now, true)
            .unwrap()
            .unwrap();
        assert_eq!(grant.expires, Some(now + 60));
    }

    #[test]
    fn two_devices_bound_on_two_nodes_beyond_the_cap_end_with_one_and_the_loser_can_move_in() {
        let (a, b) = (node(), node());
        let v = a
            .create(
                &NewVouchers {
                    quantity: 1,
                    duration: Some(3600),
                    max_devices: 1,
                    ..NewVouchers::default()
                },
                |_| {},
            )
            .unwrap()
            .remove(0);
        sync(&a, &b);
        let t0 = 1_800_000_000;
        a.redeem(&v.code, "02:00:00:00:00:0a", t0, true)
            .unwrap()
            .unwrap();
        b.redeem(&v.code, "02:00:00:00:00:0b", t0 + 1, true)
            .unwrap()
            .unwrap();
        sync(&a, &b);
        assert_eq!(a.authorised(t0 + 2).unwrap(), b.authorised(t0 + 2).unwrap());
        assert_eq!(
            a.authorised(t0 + 2).unwrap(),
            [("02:00:00:00:00:0a".to_owned(), Some(t0 + 3600))]
        );
        // The device that lost asks again later on B: the slot moves to it, everywhere.
        let moved = b
            .redeem(&v.code, "02:00:00:00:00:0b", t0 + 600, true)
            .unwrap()
            .unwrap();
        assert_eq!(moved.moved_from.as_deref(), Some("02:00:00:00:00:0a"));
        sync(&a, &b);
        assert_eq!(
            a.authorised(t0 + 601).unwrap(),
            [("02:00:00:00:00:0b".to_owned(), Some(t0 + 3600))]
        );
    }

    #[test]
    fn replicas_a_store_cannot_hold_are_skipped() {
        let (a, b) = (node(), node());
        a.create(
            &NewVouchers {
                quantity: 1,
                max_devices: 1,
                ..NewVouchers::default()
            },
            |_| {},
        )
        .unwrap();
        let mut bad = a.replicas().unwrap();
        let good = bad.0.values().next().unwrap().clone();
        let mut no_cap = good.clone();
        no_cap.created.max_devices = 0;
        bad.0.insert("X".repeat(65), good.clone());
        bad.0.insert("NOCAP".into(), no_cap);
        let mut odd_mac = good;
        odd_mac
            .devices
            .insert("02-00-00-00-00-01".into(), Binding::default());
        bad.0.insert("ODDMAC".into(), odd_mac);
        let (changed, skipped) = b.merge(&bad, super::super::now()).unwrap();
        assert_eq!((changed.len(), skipped), (1, 3));
    }

    #[test]
    fn an_older_store_gains_the_mesh_columns_and_keeps_its_vouchers() {
        let db = StateDb::in_memory().unwrap();
        db.with(|c| {
            c.execute_batch(super::super::SCHEMA)?;
            c.execute(
                "INSERT INTO vouchers (code, name, duration_s, created, activated, expires) VALUES ('ABCDEFGHJK', 'old', 60, 1, 2, 62)",
                [],
            )
        })
        .unwrap();
        let store = Vouchers::open(db).unwrap();
        let old = store.by_code("ABCDE-FGHJK").unwrap().unwrap();
        assert_eq!(
            (old.name.as_str(), old.duration, old.expires),
            ("old", Some(60), Some(62))
        );
        assert_eq!(store.replicas().unwrap().0.len(), 1);
    }
}
