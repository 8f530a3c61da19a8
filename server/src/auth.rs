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
            let tx = crate::state::write_transaction(c)?;
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

/// Per-client guessing back-off (admin logins by address, portal codes by device MAC): after
/// `free` failures, each
/// further failure doubles the wait (`base`, 2×`base`, 4×`base` … up to 15 min). A client
/// that has not failed for a minute (and is not waiting) starts afresh; a success clears it.
/// The default is the admin login's: 3 free attempts, then 1 s, 2 s, 4 s …
#[derive(Clone)]
pub struct LoginLimiter<K = IpAddr> {
    clients: Arc<Mutex<HashMap<K, Failures>>>,
    free: u32,
    base: Duration,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new(Self::FREE_ATTEMPTS, Duration::from_secs(1))
    }
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    blocked_until: Instant,
    last: Instant,
}

impl LoginLimiter {
    pub const FREE_ATTEMPTS: u32 = 3;
}

impl<K: std::hash::Hash + Eq + Clone> LoginLimiter<K> {
    const FORGET_AFTER: Duration = Duration::from_secs(60);

    /// `free` failures without waiting, then waits from `base` doubling.
    pub fn new(free: u32, base: Duration) -> LoginLimiter<K> {
        LoginLimiter {
            clients: Arc::default(),
            free,
            base,
        }
    }

    /// The portal's: `per_minute` free guesses a minute, then waits that keep to that rate
    /// and double (60 s / `per_minute`, twice that, …).
    pub fn per_minute(per_minute: u32) -> LoginLimiter<K> {
        let per_minute = per_minute.max(1);
        LoginLimiter::new(per_minute, Self::FORGET_AFTER / per_minute)
    }
    const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
    /// Bounds memory under a flood of addresses: the oldest entries go first.
    const MAX_CLIENTS: usize = 10_000;

    /// `Err(wait)` while `client` must wait before trying again.
    ///
    /// # Errors
    /// The time left to wait.
    pub fn check(&self, client: &K, now: Instant) -> Result<(), Duration> {
        let clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match clients.get(client) {
            Some(f) if f.blocked_until > now => Err(f.blocked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed login; returns the wait now imposed (zero while attempts are free).
    pub fn fail(&self, client: &K, now: Instant) -> Duration {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if clients.len() >= Self::MAX_CLIENTS && !clients.contains_key(client) {
            clients.retain(|_, f| f.blocked_until > now);
            if clients.len() >= Self::MAX_CLIENTS
                && let Some(oldest) = clients
                    .iter()
                    .min_by_key(|(_, f)| f.blocked_until)
                    .map(|(key, _)| key.clone())
            {
                clients.remove(&oldest);
            }
        }
        let entry = clients.entry(client.clone()).or_insert(Failures {
            count: 0,
            blocked_until: now,
            last: now,
        });
        if entry.blocked_until <= now && now.duration_since(entry.last) >= Self::FORGET_AFTER {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
        let wait = match entry.count.checked_sub(self.free) {
            None | Some(0) => Duration::ZERO,
            Some(n) => self
                .base
                .saturating_mul(1 << (n - 1).min(20))
                .min(Self::MAX_WAIT),
        };
        entry.blocked_until = now + wait;
        wait
    }

    /// Forgets a client after a successful login.
    pub fn succeed(&self, client: &K) {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(client);
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

    /// Back to first boot: no admin password, no session (the first boot's change was undone).
    ///
    /// # Errors
    /// A database error (then nothing changed).
    pub fn forget_password(&self) -> Result<(), Error> {
        self.db.with(|c| {
            let tx = crate::state::write_transaction(c)?;
            tx.execute("DELETE FROM admin", [])?;
            tx.execute("DELETE FROM sessions", [])?;
            tx.commit()
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
            assert_eq!(limiter.fail(&ip, t0), Duration::ZERO);
        }
        assert!(limiter.check(&ip, t0).is_ok());
        assert_eq!(limiter.fail(&ip, t0), Duration::from_secs(1));
        assert_eq!(limiter.fail(&ip, t0), Duration::from_secs(2));
        assert_eq!(limiter.check(&ip, t0), Err(Duration::from_secs(2)));
        assert!(limiter.check(&ip, t0 + Duration::from_secs(3)).is_ok());
        let other: IpAddr = "192.168.1.101".parse().unwrap();
        assert!(
            limiter.check(&other, t0).is_ok(),
            "other clients are not affected"
        );
        limiter.succeed(&ip);
        assert!(limiter.check(&ip, t0).is_ok());
    }

    #[test]
    fn portal_limiter_keeps_to_its_rate_and_forgets_after_a_quiet_minute() {
        let limiter = LoginLimiter::per_minute(5);
        let ip: IpAddr = "192.168.1.100".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.fail(&ip, t0), Duration::ZERO);
        }
        assert_eq!(limiter.fail(&ip, t0), Duration::from_secs(12));
        let t1 = t0 + Duration::from_secs(12);
        assert_eq!(limiter.fail(&ip, t1), Duration::from_secs(24));
        // A minute without failures after the wait: five free guesses again.
        let t2 = t1 + Duration::from_secs(24 + 60);
        assert_eq!(limiter.fail(&ip, t2), Duration::ZERO);
    }
}
