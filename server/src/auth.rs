//! Who may use the admin UI: the admin password (argon2id), sessions, and the login rate
//! limit. Passwords and session tokens never reach a log.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use rusqlite::{OptionalExtension, params};

use crate::state::StateDb;

/// The one user the admin UI knows (as LuCI: the system's root).
pub const ADMIN_USER: &str = "root";

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "portico_session";

fn argon2() -> Argon2<'static> {
    // 19 MiB, 2 passes: OWASP's argon2id minimum, affordable on a router.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Errors of the auth store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("state database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("password hashing: {0}")]
    Hash(String),
}

/// Admin password and sessions, in the state database.
#[derive(Clone)]
pub struct Auth {
    db: StateDb,
    idle: Duration,
    /// Verified when the user name is unknown, so both failures cost the same time.
    dummy_phc: Arc<String>,
}

impl Auth {
    /// The state database the accounts live in.
    pub fn db(&self) -> &StateDb {
        &self.db
    }

    /// # Errors
    /// When the dummy hash cannot be computed.
    pub fn new(db: StateDb, idle: Duration) -> Result<Auth, Error> {
        let dummy_phc = hash_password(
            &base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>()),
        )?;
        Ok(Auth {
            db,
            idle,
            dummy_phc: Arc::new(dummy_phc),
        })
    }

    /// True until an admin password is set.
    ///
    /// # Errors
    /// Database errors.
    pub fn setup_needed(&self) -> Result<bool, Error> {
        let count: i64 = self
            .db
            .with(|c| c.query_row("SELECT COUNT(*) FROM admin", [], |r| r.get(0)))?;
        Ok(count == 0)
    }

    /// Stores a new admin password (argon2id) and ends every session.
    ///
    /// # Errors
    /// Hashing or database errors.
    pub fn set_password(&self, password: &str) -> Result<(), Error> {
        let phc = hash_password(password)?;
        self.db.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO admin (id, password_phc, changed_at) VALUES (1, ?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET password_phc = excluded.password_phc, changed_at = excluded.changed_at",
                params![phc, now_secs()],
            )?;
            tx.execute("DELETE FROM sessions", [])?;
            tx.commit()
        })?;
        Ok(())
    }

    /// Checks a login. Unknown user and wrong password take the same path and time.
    ///
    /// # Errors
    /// Database errors.
    pub fn verify(&self, user: &str, password: &str) -> Result<bool, Error> {
        let stored: Option<String> = self.db.with(|c| {
            c.query_row("SELECT password_phc FROM admin WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
        })?;
        let known_user = user == ADMIN_USER && stored.is_some();
        let phc = stored
            .filter(|_| known_user)
            .unwrap_or_else(|| self.dummy_phc.as_str().to_owned());
        let matches = PasswordHash::new(&phc)
            .is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok());
        Ok(known_user && matches)
    }

    /// Starts a session; returns the token for the cookie.
    ///
    /// # Errors
    /// Database errors.
    pub fn create_session(&self) -> Result<String, Error> {
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let now = now_secs();
        self.db.with(|c| {
            c.execute(
                "INSERT INTO sessions VALUES (?1, ?2, ?2)",
                params![token_key(&token), now],
            )
        })?;
        Ok(token)
    }

    /// True when `token` names a live session; refreshes its idle timer. Expired sessions are
    /// removed.
    ///
    /// # Errors
    /// Database errors.
    pub fn touch_session(&self, token: &str) -> Result<bool, Error> {
        let now = now_secs();
        let idle = i64::try_from(self.idle.as_secs()).unwrap_or(i64::MAX);
        let live = self.db.with(|c| {
            c.execute(
                "DELETE FROM sessions WHERE last_seen < ?1",
                params![now.saturating_sub(idle)],
            )?;
            c.execute(
                "UPDATE sessions SET last_seen = ?2 WHERE token_sha256 = ?1",
                params![token_key(token), now],
            )
        })?;
        Ok(live == 1)
    }

    /// Ends a session.
    ///
    /// # Errors
    /// Database errors.
    pub fn end_session(&self, token: &str) -> Result<(), Error> {
        self.db.with(|c| {
            c.execute(
                "DELETE FROM sessions WHERE token_sha256 = ?1",
                params![token_key(token)],
            )
        })?;
        Ok(())
    }
}

/// Sessions are stored by a hash of their token, so the database alone cannot log anyone in.
fn token_key(token: &str) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

fn hash_password(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

/// Per-client login back-off: after [`LoginLimiter::FREE_ATTEMPTS`] failures, each further
/// failure doubles the wait (1 s, 2 s, 4 s … up to 15 min). A success clears the client.
#[derive(Clone, Default)]
pub struct LoginLimiter {
    clients: Arc<Mutex<HashMap<IpAddr, Failures>>>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    blocked_until: Instant,
}

impl LoginLimiter {
    pub const FREE_ATTEMPTS: u32 = 3;
    const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
    /// Bounds memory under a flood of addresses: the oldest entries go first.
    const MAX_CLIENTS: usize = 10_000;

    /// `Err(wait)` while `client` must wait before trying again.
    ///
    /// # Errors
    /// The time left to wait.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match clients.get(&client) {
            Some(f) if f.blocked_until > now => Err(f.blocked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed login; returns the wait now imposed (zero while attempts are free).
    pub fn fail(&self, client: IpAddr, now: Instant) -> Duration {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if clients.len() >= Self::MAX_CLIENTS && !clients.contains_key(&client) {
            clients.retain(|_, f| f.blocked_until > now);
            if clients.len() >= Self::MAX_CLIENTS
                && let Some(oldest) = clients
                    .iter()
                    .min_by_key(|(_, f)| f.blocked_until)
                    .map(|(ip, _)| *ip)
            {
                clients.remove(&oldest);
            }
        }
        let entry = clients.entry(client).or_insert(Failures {
            count: 0,
            blocked_until: now,
        });
        entry.count += 1;
        let wait = match entry.count.checked_sub(Self::FREE_ATTEMPTS) {
            None | Some(0) => Duration::ZERO,
            Some(n) => Duration::from_secs(1u64 << (n - 1).min(20)).min(Self::MAX_WAIT),
        };
        entry.blocked_until = now + wait;
        wait
    }

    /// Forgets a client after a successful login.
    pub fn succeed(&self, client: IpAddr) {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&client);
    }
}

impl Auth {
    /// Stores the first admin password; fails if one exists (two setups racing).
    ///
    /// # Errors
    /// Hashing errors, or a database error when a password already exists.
    pub fn set_initial_password(&self, password: &str) -> Result<(), Error> {
        let phc = hash_password(password)?;
        self.db.with(|c| {
            c.execute(
                "INSERT INTO admin (id, password_phc, changed_at) VALUES (1, ?1, ?2)",
                params![phc, now_secs()],
            )
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::new(StateDb::in_memory().unwrap(), Duration::from_secs(60)).unwrap()
    }

    #[test]
    fn password_lifecycle() {
        let auth = auth();
        assert!(auth.setup_needed().unwrap());
        assert!(!auth.verify("root", "anything").unwrap());
        auth.set_password("correct horse").unwrap();
        assert!(!auth.setup_needed().unwrap());
        assert!(auth.verify("root", "correct horse").unwrap());
        assert!(!auth.verify("root", "wrong horse").unwrap());
        assert!(!auth.verify("admin", "correct horse").unwrap());
    }

    #[test]
    fn sessions_end_on_logout_and_password_change() {
        let auth = auth();
        auth.set_password("correct horse").unwrap();
        let a = auth.create_session().unwrap();
        let b = auth.create_session().unwrap();
        assert!(auth.touch_session(&a).unwrap());
        auth.end_session(&a).unwrap();
        assert!(!auth.touch_session(&a).unwrap());
        assert!(auth.touch_session(&b).unwrap());
        auth.set_password("another horse").unwrap();
        assert!(!auth.touch_session(&b).unwrap());
        assert!(!auth.touch_session("made-up").unwrap());
    }

    #[test]
    fn idle_sessions_expire() {
        let auth = Auth::new(StateDb::in_memory().unwrap(), Duration::ZERO).unwrap();
        let token = auth.create_session().unwrap();
        // Make the session look a minute old.
        auth.db
            .with(|c| c.execute("UPDATE sessions SET last_seen = last_seen - 60", []))
            .unwrap();
        assert!(!auth.touch_session(&token).unwrap());
    }

    #[test]
    fn limiter_backs_off_exponentially_and_forgets_on_success() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "192.168.1.100".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..LoginLimiter::FREE_ATTEMPTS {
            assert_eq!(limiter.fail(ip, t0), Duration::ZERO);
        }
        assert!(limiter.check(ip, t0).is_ok());
        assert_eq!(limiter.fail(ip, t0), Duration::from_secs(1));
        assert_eq!(limiter.fail(ip, t0), Duration::from_secs(2));
        assert_eq!(limiter.check(ip, t0), Err(Duration::from_secs(2)));
        assert!(limiter.check(ip, t0 + Duration::from_secs(3)).is_ok());
        let other: IpAddr = "192.168.1.101".parse().unwrap();
        assert!(
            limiter.check(other, t0).is_ok(),
            "other clients are not affected"
        );
        limiter.succeed(ip);
        assert!(limiter.check(ip, t0).is_ok());
    }
}
