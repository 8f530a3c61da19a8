//! The portal's "read and accept" mode: a device that accepted the page's text has access for
//! a while without a voucher. Kept in the state database next to the vouchers (the firewall's
//! set is rebuilt from both at every start); local to this router, never replicated.

use rusqlite::{OptionalExtension as _, params};

use super::{Error, Vouchers, normalise_mac};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS portal_accepted (
    mac TEXT PRIMARY KEY,
    accepted INTEGER NOT NULL,
    until INTEGER NOT NULL
);
";

/// What accepting gave a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Unix seconds when access ends.
    pub until: i64,
    /// The device had accepted already and its time was still running (nothing changed: a
    /// device cannot stretch its time by accepting again).
    pub again: bool,
}

impl Vouchers {
    /// Device `mac` accepts at `now` for `seconds`: access until `now + seconds`, or — while an
    /// earlier acceptance still runs — that one's end, unchanged. `None` for a malformed MAC.
    ///
    /// # Errors
    /// A database error.
    pub fn accept(&self, mac: &str, now: i64, seconds: i64) -> Result<Option<Accepted>, Error> {
        let Some(mac) = normalise_mac(mac) else {
            return Ok(None);
        };
        Ok(self.db.with(|c| {
            c.execute_batch(SCHEMA)?;
            let tx = crate::state::write_transaction(c)?;
            let running: Option<i64> = tx
                .query_row(
                    "SELECT until FROM portal_accepted WHERE mac = ?1 AND until > ?2",
                    params![mac, now],
                    |r| r.get(0),
                )
                .optional()?;
            let accepted = if let Some(until) = running {
                Accepted { until, again: true }
            } else {
                let until = now.saturating_add(seconds);
                tx.execute(
                    "INSERT INTO portal_accepted (mac, accepted, until) VALUES (?1, ?2, ?3)
                     ON CONFLICT (mac) DO UPDATE SET accepted = excluded.accepted, until = excluded.until",
                    params![mac, now, until],
                )?;
                Accepted { until, again: false }
            };
            tx.commit()?;
            Ok(Some(accepted))
        })?)
    }

    /// The devices whose acceptance runs at `now`, and until when.
    pub(super) fn accepted_at(
        c: &rusqlite::Connection,
        now: i64,
    ) -> rusqlite::Result<Vec<(String, Option<i64>)>> {
        c.execute_batch(SCHEMA)?;
        let mut stmt = c.prepare("SELECT mac, until FROM portal_accepted WHERE until > ?1")?;
        stmt.query_map([now], |r| Ok((r.get(0)?, Some(r.get(1)?))))?
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDb;

    #[test]
    fn accepting_gives_time_once_and_again_only_after_it_ended() {
        let store = Vouchers::open(StateDb::in_memory().unwrap()).unwrap();
        let t0 = 1_800_000_000;
        let phone = "02:00:00:00:00:07";
        let first = store.accept(phone, t0, 3600).unwrap().unwrap();
        assert_eq!(
            first,
            Accepted {
                until: t0 + 3600,
                again: false
            }
        );
        assert_eq!(
            store.accept(phone, t0 + 600, 3600).unwrap().unwrap(),
            Accepted {
                until: t0 + 3600,
                again: true
            },
            "no stretching while it runs"
        );
        assert_eq!(
            store.authorised(t0 + 10).unwrap(),
            [(phone.to_owned(), Some(t0 + 3600))]
        );
        assert_eq!(store.authorised(t0 + 3600).unwrap(), []);
        let later = store.accept(phone, t0 + 4000, 3600).unwrap().unwrap();
        assert_eq!(
            later,
            Accepted {
                until: t0 + 7600,
                again: false
            }
        );
        assert_eq!(store.accept("not a mac", t0, 60).unwrap(), None);
    }
}
