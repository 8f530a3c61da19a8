//! Router state that is not configuration: SQLite at `<root>/etc/portico/state.db` (design.md,
//! Storage), written in transactions. Also the one atomic file writer every file write uses.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

/// Writes `bytes` to `path` atomically with `mode` (readers see the old or the new file, never
/// a torn one): the one writer of the UCI crate, used for every file.
///
/// # Errors
/// Any I/O error; the original file is then untouched.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    uci::store::write_atomically_with_mode(path, bytes, Some(mode))
}

/// The state database, shared by the HTTP handlers.
#[derive(Clone)]
pub struct StateDb {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS admin (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    password_phc TEXT NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS node (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
";

/// Why the state database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Its folder could not be made.
    #[error("{path}: {source}")]
    Folder {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused to open it or to create the schema.
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StateDb {
    /// Opens (creating) `<root>/etc/portico/state.db`.
    ///
    /// # Errors
    /// When the database cannot be opened or its schema created.
    pub fn open(root: &Path) -> Result<StateDb, OpenError> {
        let dir = root.join("etc/portico");
        std::fs::create_dir_all(&dir).map_err(|source| OpenError::Folder {
            path: dir.clone(),
            source,
        })?;
        let conn = Connection::open(dir.join("state.db"))?;
        StateDb::init(conn)
    }

    /// An in-memory database, for tests.
    ///
    /// # Errors
    /// When the schema cannot be created.
    pub fn in_memory() -> Result<StateDb, OpenError> {
        StateDb::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<StateDb, OpenError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(StateDb {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection (serialised).
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn)
    }
}

/// A transaction that takes the write lock when it begins (waiting for it up to the busy
/// timeout). A deferred one that reads first cannot take it later once another process wrote
/// in between (`SQLITE_BUSY_SNAPSHOT`, no waiting): `portico vouchers create` while `serve`
/// merges a mesh round failed that way.
///
/// # Errors
/// The lock was not free within the busy timeout, or a database error.
pub fn write_transaction(c: &Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate)
}

/// This router's identity in a community mesh: an x25519 key pair made once, on first use, and
/// kept in the state database (its private half never leaves it but for the mesh's handshakes).
#[derive(Clone)]
pub struct Node {
    pub secret: [u8; 32],
    pub public: [u8; 32],
}

impl Node {
    /// The node's id: the first 8 bytes of its public key's SHA-256.
    #[must_use]
    pub fn id(&self) -> [u8; 8] {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(self.public);
        let mut id = [0; 8];
        id.copy_from_slice(&hash[..8]);
        id
    }
}

impl StateDb {
    /// This router's identity (made and stored on the first call).
    ///
    /// # Errors
    /// A database error.
    pub fn node(&self) -> rusqlite::Result<Node> {
        let secret: [u8; 32] = self.with(|c| {
            let fresh: [u8; 32] = rand::random();
            c.execute(
                "INSERT OR IGNORE INTO node (id, secret) VALUES (1, ?1)",
                [&fresh[..]],
            )?;
            c.query_row("SELECT secret FROM node WHERE id = 1", [], |r| r.get(0))
        })?;
        let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret));
        Ok(Node {
            secret,
            public: public.to_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_node_identity_is_made_once() {
        let db = super::StateDb::in_memory().unwrap();
        let (first, again) = (db.node().unwrap(), db.node().unwrap());
        assert_eq!((first.secret, first.id()), (again.secret, again.id()));
        assert_ne!(first.id(), [0; 8]);
    }

    #[test]
    fn atomic_write_replaces_and_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        super::write_atomically(&path, b"one", 0o600).unwrap();
        super::write_atomically(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
