//! The community mesh (issue 23): every node of a community holds every voucher, so a voucher
//! printed at one node works at all of them.
//!
//! - **Membership**: the first node makes a community key (`portico mesh create`), the others
//!   join with its join code (`portico mesh join`). Each node has its own x25519 key pair
//!   (`state::Node`). Nodes talk Noise `XXpsk3` with the community key as the pre-shared key:
//!   only members complete the handshake, and everything after it is encrypted (codes are
//!   secrets). The key and membership live in the state database, never in UCI.
//! - **Sync** (`sync`): anti-entropy between two members, over TCP on the mesh interface only
//!   (`config mesh 'mesh'`): a hello with the digest of the whole store, then, when the
//!   digests differ, per-voucher digests and the replicas either side lacks, merged by the
//!   written rules of `portal::vouchers::replica`.
//! - **Peers** (`service`): configured ones (`list peer`) and the ones that announce themselves
//!   on the mesh interface (a link-local multicast datagram every few seconds); a round with
//!   each after every local change and every [`service::IDLE_ROUND`] otherwise.
//!
//! Enforcement stays with each node's portal: after a merge that changed something the portal
//! rebuilds its set, so an invalidation cuts devices on every node once the state arrives.

pub mod cli;
pub mod service;
pub mod settings;
mod sync;
mod wire;

use app::wizard::{JOIN_CODE_PREFIX as PREFIX, valid_community_name as valid_name};
use base64::Engine as _;
use rusqlite::OptionalExtension as _;

pub use settings::Settings;

use crate::state::StateDb;

/// The shared secret of a community's nodes.
pub type Key = [u8; 32];

/// This node's membership: the community's name and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub community: String,
    pub key: Key,
}

/// Why a join code is not one.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a join code looks like portico-mesh:NAME:KEY (as `portico mesh create` printed it)")]
    Shape,
    #[error("the community name holds 1 to 64 letters, digits, dots, dashes or underscores")]
    Name,
    #[error("the key in the join code is damaged (43 characters of base64url)")]
    Key,
}

impl Membership {
    /// A new community with a fresh random key.
    ///
    /// # Errors
    /// A bad name.
    pub fn create(community: &str) -> Result<Membership, CodeError> {
        if !valid_name(community) {
            return Err(CodeError::Name);
        }
        Ok(Membership {
            community: community.to_owned(),
            key: rand::random(),
        })
    }

    /// The code another node joins with (a secret: whoever has it is a member).
    #[must_use]
    pub fn join_code(&self) -> String {
        format!(
            "{PREFIX}{}:{}",
            self.community,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.key)
        )
    }

    /// Reads a join code (spaces around it ignored).
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn from_code(code: &str) -> Result<Membership, CodeError> {
        let rest = code.trim().strip_prefix(PREFIX).ok_or(CodeError::Shape)?;
        let (community, key) = rest.rsplit_once(':').ok_or(CodeError::Shape)?;
        if !valid_name(community) {
            return Err(CodeError::Name);
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(key)
            .map_err(|_| CodeError::Key)?;
        Ok(Membership {
            community: community.to_owned(),
            key: bytes.try_into().map_err(|_| CodeError::Key)?,
        })
    }

    /// This node's membership, if it is in a community.
    ///
    /// # Errors
    /// A database error.
    pub fn load(db: &StateDb) -> rusqlite::Result<Option<Membership>> {
        db.with(|c| {
            c.execute_batch(SCHEMA)?;
            c.query_row("SELECT community, key FROM mesh WHERE id = 1", [], |r| {
                Ok(Membership {
                    community: r.get(0)?,
                    key: r.get(1)?,
                })
            })
            .optional()
        })
    }

    /// Makes this the node's membership (replacing any other).
    ///
    /// # Errors
    /// A database error.
    pub fn save(&self, db: &StateDb) -> rusqlite::Result<()> {
        db.with(|c| {
            c.execute_batch(SCHEMA)?;
            c.execute(
                "INSERT OR REPLACE INTO mesh (id, community, key) VALUES (1, ?1, ?2)",
                rusqlite::params![self.community, &self.key[..]],
            )?;
            c.execute("DELETE FROM mesh_peers", [])?;
            Ok(())
        })
    }

    /// Leaves the community: the key and what was known of its peers are gone; the vouchers
    /// stay.
    ///
    /// # Errors
    /// A database error.
    pub fn leave(db: &StateDb) -> rusqlite::Result<bool> {
        db.with(|c| {
            c.execute_batch(SCHEMA)?;
            c.execute("DELETE FROM mesh_peers", [])?;
            Ok(c.execute("DELETE FROM mesh WHERE id = 1", [])? > 0)
        })
    }
}

/// One peer as the running node last knew it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PeerStatus {
    /// Where this node reaches it.
    pub address: String,
    /// Its node id (16 hex digits), once a round went through.
    pub node: Option<String>,
    /// Its host name, as it says.
    pub name: Option<String>,
    /// Unix seconds of the last round that went through.
    pub last_sync: Option<i64>,
    /// The last round went through (both held the same after it).
    pub in_sync: bool,
    /// Its wall clock minus this node's, at the last round (milliseconds).
    pub skew_ms: Option<i64>,
    /// Why the last round failed (English, for the log and the command line).
    pub last_error: Option<String>,
    /// The kind of failure (`member`, `unreachable`, `timeout`, `version`, `other`).
    pub error_code: Option<String>,
    pub bytes_sent: i64,
    pub bytes_received: i64,
}

/// The membership, this node's store and its peers (`portico mesh status`, the admin page).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
    pub community: Option<String>,
    /// This node's id (16 hex digits).
    pub node: String,
    pub vouchers: usize,
    /// The first 8 bytes of the store's digest: equal on every node that holds the same.
    pub digest: String,
    pub peers: Vec<PeerStatus>,
}

/// The mesh's status from the state database.
///
/// # Errors
/// A database error.
pub fn status(db: &StateDb, store: &crate::portal::vouchers::Vouchers) -> anyhow::Result<Status> {
    let digests = store.digests()?;
    let peers = db.with(|c| {
        c.execute_batch(SCHEMA)?;
        let mut stmt = c.prepare(
            "SELECT address, node, name, last_sync, in_sync, skew_ms, last_error, error_code, sent, received
             FROM mesh_peers ORDER BY address",
        )?;
        stmt.query_map([], |r| {
            Ok(PeerStatus {
                address: r.get(0)?,
                node: r.get::<_, Option<Vec<u8>>>(1)?.map(hex::encode),
                name: r.get(2)?,
                last_sync: r.get(3)?,
                in_sync: r.get(4)?,
                skew_ms: r.get(5)?,
                last_error: r.get(6)?,
                error_code: r.get(7)?,
                bytes_sent: r.get(8)?,
                bytes_received: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()
    })?;
    Ok(Status {
        community: Membership::load(db)?.map(|m| m.community),
        node: hex::encode(db.node()?.id()),
        vouchers: digests.len(),
        digest: hex::encode(&crate::portal::vouchers::root(&digests)[..8]),
        peers,
    })
}

/// The membership and what the running node last knew of each peer (for `portico mesh
/// status` and the admin page, which run in other processes or threads).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS mesh (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    community TEXT NOT NULL,
    key BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS mesh_peers (
    address TEXT PRIMARY KEY,
    node BLOB,
    name TEXT,
    last_sync INTEGER,
    in_sync INTEGER NOT NULL DEFAULT 0,
    skew_ms INTEGER,
    last_error TEXT,
    error_code TEXT,
    sent INTEGER NOT NULL DEFAULT 0,
    received INTEGER NOT NULL DEFAULT 0
);
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_code_reads_back_and_damage_is_named() {
        let m = Membership::create("ff-kiez").unwrap();
        let code = m.join_code();
        assert!(code.starts_with("portico-mesh:ff-kiez:"), "{code}");
        assert_eq!(Membership::from_code(&format!(" {code}\n")).unwrap(), m);
        assert_eq!(Membership::from_code("ff-kiez:abc"), Err(CodeError::Shape));
        assert_eq!(
            Membership::from_code(&code[..code.len() - 2]),
            Err(CodeError::Key)
        );
        assert_eq!(
            Membership::from_code("portico-mesh:a b:AAAA"),
            Err(CodeError::Name)
        );
        assert_eq!(Membership::create(""), Err(CodeError::Name));
    }

    #[test]
    fn membership_is_kept_and_left() {
        let db = StateDb::in_memory().unwrap();
        assert_eq!(Membership::load(&db).unwrap(), None);
        let m = Membership::create("kiez").unwrap();
        m.save(&db).unwrap();
        assert_eq!(Membership::load(&db).unwrap(), Some(m));
        assert!(Membership::leave(&db).unwrap());
        assert_eq!(Membership::load(&db).unwrap(), None);
        assert!(!Membership::leave(&db).unwrap());
    }
}
