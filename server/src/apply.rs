//! Apply with automatic rollback, as rpcd + LuCI do it on OpenWrt but with the weak spots
//! closed: every touched file is snapshotted, the change is committed and services reloaded,
//! and unless someone confirms within the window (90 s by default, `portico.main.apply_timeout`)
//! the snapshots are put back byte for byte and services reloaded again.
//!
//! * One pending apply at a time; a second one (checked or not) is refused.
//! * The confirm token is single-use, unguessable, stored only as a SHA-256, and works without
//!   a session, so it still works from the router's new address after a LAN address change.
//! * The pending state lives in `state.db`: after a restart an expired apply is rolled back at
//!   once, an unexpired one gets its remaining time.
//! * A reload that fails rolls the files back immediately.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use crate::platform::{self, Platform, Service};
use crate::state::StateDb;

/// Default confirmation window (LuCI asks for at least 90 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);
/// Services reload this long after the commit, so the answer to the apply request leaves
/// before the router's address may change (LuCI waits 4 s before it polls for the confirm).
pub const HOLDOFF: Duration = Duration::from_millis(500);

/// How the last apply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An unchecked apply went through.
    Applied,
    /// A checked apply was kept.
    Confirmed,
    /// A checked apply was undone because nobody confirmed it in time.
    RolledBack,
    /// A checked apply was undone on request (Revert).
    Reverted,
    /// The services did not take the change; it was undone.
    ReloadFailed,
}

impl Outcome {
    /// The API's word for it (`confirmed`, `rolled_back`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Confirmed => "confirmed",
            Outcome::RolledBack => "rolled_back",
            Outcome::Reverted => "reverted",
            Outcome::ReloadFailed => "reload_failed",
        }
    }
}

/// A checked change waiting for confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// The config files it changed.
    pub files: Vec<String>,
    /// When it is rolled back unless confirmed.
    pub deadline: SystemTime,
}

/// What the applier is doing (the edge turns it into what pages and the API show).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The change waiting for confirmation, if one is.
    pub pending: Option<Waiting>,
    /// How the last apply ended.
    pub last: Option<Outcome>,
    /// What the last reload could not do on this platform, or why it failed.
    pub note: Option<String>,
}

impl Status {
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

/// What a successful apply returns.
#[derive(Clone, Debug, Serialize)]
pub struct Applied {
    /// The confirm token (checked applies only); shown once, never stored in clear.
    pub token: Option<String>,
    pub seconds: u64,
    pub files: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("another change is waiting for confirmation")]
    Pending,
    #[error("nothing is waiting for confirmation")]
    NothingPending,
    #[error("the confirmation token is not valid")]
    BadToken,
    #[error("nothing to apply: the change leaves every file as it is")]
    Empty,
    #[error(transparent)]
    Edit(#[from] uci::EditError),
    #[error(transparent)]
    Change(#[from] uci::ChangeError),
    #[error("state database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The snapshot of one file as stored in `state.db`.
#[derive(Debug, Serialize, Deserialize)]
struct StoredSnapshot {
    name: String,
    before: Option<String>,
    after: String,
}

#[derive(Debug)]
struct Pending {
    id: u64,
    token_sha256: [u8; 32],
    deadline: SystemTime,
    snapshots: Vec<uci::Snapshot>,
    /// List items (`path`, `value`) removed once the change is confirmed: the old LAN address
    /// kept as a second address during the window.
    drop_on_confirm: Vec<(String, String)>,
}

struct Inner {
    platform: Arc<dyn Platform>,
    store: uci::Store,
    db: StateDb,
    timeout: Duration,
    pending: Mutex<Option<Pending>>,
    note: Mutex<Option<String>>,
    status: watch::Sender<Status>,
    /// Counts finished reloads (see [`Applier::reloads`]).
    reloaded: watch::Sender<u64>,
    /// Held while services reload: a rollback's reload never runs beside the reload of the
    /// change it undoes (two network reloads at once add the same address twice and fail).
    reloading: Mutex<()>,
    /// The last checked change that was rolled back: its delayed reload has nothing to do.
    rolled_back: Mutex<Option<u64>>,
}

/// The apply manager; cheap to clone.
#[derive(Clone)]
pub struct Applier {
    inner: Arc<Inner>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS pending_apply (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    apply_id INTEGER NOT NULL,
    token_sha256 BLOB NOT NULL,
    deadline_ms INTEGER NOT NULL,
    snapshots TEXT NOT NULL
);";

fn millis(t: SystemTime) -> u64 {
    u64::try_from(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

/// Which services follow which config file.
pub fn services_for(files: &[String]) -> Vec<Service> {
    let mut services = Vec::new();
    for file in files {
        let more: &[Service] = match file.as_str() {
            "network" => &[Service::Network],
            "wireless" => &[Service::Wireless, Service::Network],
            "dhcp" => &[Service::Dhcp],
            "firewall" => &[Service::Firewall],
            "system" => &[Service::System],
            "openvpn" => &[Service::OpenVpn],
            "babeld" => &[Service::Babeld],
            "lime-node" => &[Service::Lime, Service::Network],
            _ => &[],
        };
        for s in more {
            if !services.contains(s) {
                services.push(*s);
            }
        }
    }
    services
}

impl Applier {
    /// The applier for a platform's config folder. Picks up an apply left pending by a previous
    /// run: rolled back at once if its time is up, else re-armed (needs a Tokio runtime).
    ///
    /// # Errors
    /// When the state database cannot be read, or an expired apply cannot be rolled back.
    pub fn start(
        platform: Arc<dyn Platform>,
        db: StateDb,
        timeout: Duration,
    ) -> Result<Applier, Error> {
        db.with(|c| c.execute_batch(SCHEMA))?;
        // Added after the first version of the table; an existing table gets the column.
        let _ = db.with(|c| {
            c.execute(
                "ALTER TABLE pending_apply ADD COLUMN drop_on_confirm TEXT NOT NULL DEFAULT '[]'",
                [],
            )
        });
        let root = platform.root().to_path_buf();
        let store = uci::Store::new(platform.config_dir(), root.join("tmp/.uci"));
        let applier = Applier {
            inner: Arc::new(Inner {
                platform,
                store,
                db,
                timeout,
                pending: Mutex::new(None),
                note: Mutex::new(None),
                status: watch::channel(Status::default()).0,
                reloaded: watch::channel(0).0,
                reloading: Mutex::new(()),
                rolled_back: Mutex::new(None),
            }),
        };
        if let Some(pending) = applier.load()? {
            let (id, deadline) = (pending.id, pending.deadline);
            *applier.lock() = Some(pending);
            if deadline <= SystemTime::now() {
                tracing::warn!(
                    "an unconfirmed apply expired while Portico was not running: rolling back"
                );
                applier.expire(id);
            } else {
                applier.arm(id, deadline);
            }
        }
        applier.publish(None);
        Ok(applier)
    }

    pub fn store(&self) -> &uci::Store {
        &self.inner.store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Pending>> {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Live status updates (for SSE).
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.inner.status.subscribe()
    }

    /// A counter that moves each time the services of an apply have been reloaded (or the
    /// reload failed and the change was undone): take it before applying, then wait for
    /// `changed()` instead of guessing how long a reload takes.
    pub fn reloads(&self) -> watch::Receiver<u64> {
        self.inner.reloaded.subscribe()
    }

    pub fn status(&self) -> Status {
        self.inner.status.borrow().clone()
    }

    fn publish(&self, last: Option<Outcome>) {
        let note = self
            .inner
            .note
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut status = match &*self.lock() {
            Some(p) => Status {
                pending: Some(Waiting {
                    files: p.snapshots.iter().map(|s| s.name.clone()).collect(),
                    deadline: p.deadline,
                }),
                last: None,
                note: None,
            },
            None => Status {
                last: last.or(self.inner.status.borrow().last),
                ..Status::default()
            },
        };
        status.note = note;
        self.inner.status.send_replace(status);
    }

    /// Preview: the unified diff the edits would make.
    ///
    /// # Errors
    /// When an edit does not apply or a file does not parse.
    pub fn preview(&self, edits: &[uci::Edit]) -> Result<String, Error> {
        let mut changes = uci::ChangeSet::new(&self.inner.store);
        for edit in edits {
            changes.edit(edit)?;
        }
        Ok(changes.diff())
    }

    /// Preview of replacing whole files (a restore): the unified diff.
    ///
    /// # Errors
    /// When a current file cannot be read.
    pub fn preview_files(&self, packages: &[uci::Package]) -> Result<String, Error> {
        let mut changes = uci::ChangeSet::new(&self.inner.store);
        for package in packages {
            changes.replace(package.clone())?;
        }
        Ok(changes.diff())
    }

    /// Replaces whole files (a restore), applied like [`Applier::apply`].
    ///
    /// # Errors
    /// As [`Applier::apply`].
    pub fn apply_files(
        &self,
        packages: Vec<uci::Package>,
        checked: bool,
    ) -> Result<Applied, Error> {
        self.commit(checked, Vec::new(), |changes| {
            for package in packages {
                changes.replace(package)?;
            }
            Ok(())
        })
    }

    /// Applies `edits`: commit, then (after a short holdoff, so that this answer still reaches
    /// the client before its address may change) reload services; when `checked`, wait for a
    /// confirm. A reload that fails rolls everything back (status `last: reload_failed`).
    ///
    /// # Errors
    /// A pending apply, an edit that does not apply, a file that does not parse, a file that
    /// changed meanwhile.
    pub fn apply(&self, edits: &[uci::Edit], checked: bool) -> Result<Applied, Error> {
        self.apply_keeping(edits, checked, Vec::new())
    }

    /// Like [`Applier::apply`]; once a checked apply is confirmed, the list items in
    /// `drop_on_confirm` (`path`, `value`) are removed (an unchecked follow-up change). The
    /// wizard keeps the old LAN address beside the new one this way until the confirm.
    ///
    /// # Errors
    /// As [`Applier::apply`].
    pub fn apply_keeping(
        &self,
        edits: &[uci::Edit],
        checked: bool,
        drop_on_confirm: Vec<(String, String)>,
    ) -> Result<Applied, Error> {
        self.commit(checked, drop_on_confirm, |changes| {
            for edit in edits {
                changes.edit(edit)?;
            }
            Ok(())
        })
    }

    /// Stages the change with `fill`, commits it and reloads; see [`Applier::apply`].
    fn commit(
        &self,
        checked: bool,
        drop_on_confirm: Vec<(String, String)>,
        fill: impl FnOnce(&mut uci::ChangeSet<'_>) -> Result<(), Error>,
    ) -> Result<Applied, Error> {
        let mut guard = self.lock();
        if guard.is_some() {
            return Err(Error::Pending);
        }
        let mut changes = uci::ChangeSet::new(&self.inner.store);
        fill(&mut changes)?;
        if changes.is_empty() {
            return Err(Error::Empty);
        }
        let committed = changes.commit()?;
        let files: Vec<String> = committed.changed().map(str::to_owned).collect();
        if !checked {
            drop(guard);
            self.publish(Some(Outcome::Applied));
            self.reload_after_holdoff(committed.snapshots, None);
            return Ok(Applied {
                token: None,
                seconds: 0,
                files,
            });
        }
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let pending = Pending {
            id: rand::random(),
            token_sha256: Sha256::digest(token.as_bytes()).into(),
            deadline: SystemTime::now() + self.inner.timeout,
            snapshots: committed.snapshots,
            drop_on_confirm,
        };
        if let Err(e) = self.save(&pending) {
            // Without a record the rollback would not survive a restart: undo now instead.
            self.inner.store.restore(&pending.snapshots)?;
            return Err(e);
        }
        let (id, deadline, snapshots) = (pending.id, pending.deadline, pending.snapshots.clone());
        *guard = Some(pending);
        drop(guard);
        self.arm(id, deadline);
        self.publish(None);
        self.reload_after_holdoff(snapshots, Some(id));
        tracing::info!(files = ?files, seconds = self.inner.timeout.as_secs(), "applied; waiting for confirmation");
        Ok(Applied {
            token: Some(token),
            seconds: self.inner.timeout.as_secs(),
            files,
        })
    }

    /// Reloads the services of a commit after [`HOLDOFF`]; undoes the commit if that fails.
    fn reload_after_holdoff(&self, snapshots: Vec<uci::Snapshot>, pending: Option<u64>) {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(HOLDOFF).await;
            let files: Vec<String> = snapshots.iter().map(|s| s.name.clone()).collect();
            let services = services_for(&files);
            let blocking = this.clone();
            let result = tokio::task::spawn_blocking(move || {
                let _reloading = blocking
                    .inner
                    .reloading
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                // Reverted (or expired) before its reload: the rollback reloaded the old files.
                let undone = *blocking
                    .inner
                    .rolled_back
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if pending.is_some() && undone == pending {
                    return Ok(());
                }
                blocking.inner.platform.reload_services(&services)
            })
            .await
            .unwrap_or_else(|e| Err(platform::Error::Unavailable(e.to_string())));
            match result {
                Ok(()) => this.set_note(None),
                // Expected on this platform, and said once on the overview.
                Err(platform::Error::NotHere(services)) => {
                    tracing::info!(?services, "written, not applied on this platform");
                    this.set_note(None);
                }
                Err(platform::Error::Unavailable(why)) => this.set_note(Some(why)),
                Err(e) => {
                    tracing::error!(error = %e, "reload failed, rolling back");
                    this.set_note(Some(e.to_string()));
                    let undone = match pending {
                        // Already undone by a revert meanwhile: its outcome stands.
                        Some(id) => match this.roll_back(id, Outcome::RolledBack) {
                            Err(Error::NothingPending) => {
                                this.inner.reloaded.send_modify(|n| *n += 1);
                                return;
                            }
                            other => other,
                        },
                        None => this
                            .inner
                            .store
                            .restore(&snapshots)
                            .map_err(Error::from)
                            .map(|()| {
                                let _ = this.inner.platform.reload_services(&services_for(&files));
                            }),
                    };
                    if let Err(e) = undone {
                        tracing::error!(error = %e, "undoing the failed apply");
                    }
                    this.publish(Some(Outcome::ReloadFailed));
                }
            }
            this.inner.reloaded.send_modify(|n| *n += 1);
        });
    }

    /// What the last reload could not do here (or why it failed), shown with the status.
    fn set_note(&self, note: Option<String>) {
        self.inner
            .note
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone_from(&note);
        // The note alone: whether a change is pending, and how the last one ended, is published
        // by apply, confirm and rollback. Recomputed here, a reload finishing while a rollback
        // is under way (the change taken, its outcome not yet published) looked like a change
        // that had ended without an outcome, and the first boot's password stayed.
        self.inner.status.send_modify(|status| status.note = note);
    }

    /// Keeps the pending change. `token: None` is for callers already authorised by a session.
    ///
    /// # Errors
    /// Nothing pending, or a wrong token.
    pub fn confirm(&self, token: Option<&str>) -> Result<(), Error> {
        let mut guard = self.lock();
        let Some(pending) = guard.as_ref() else {
            return Err(Error::NothingPending);
        };
        if let Some(token) = token {
            let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            if !bool::from(hash.ct_eq(&pending.token_sha256)) {
                return Err(Error::BadToken);
            }
        }
        self.inner
            .db
            .with(|c| c.execute("DELETE FROM pending_apply", []))?;
        let dropped = guard.take().map(|p| p.drop_on_confirm).unwrap_or_default();
        drop(guard);
        self.publish(Some(Outcome::Confirmed));
        tracing::info!("apply confirmed");
        if !dropped.is_empty() {
            let edits: Vec<uci::Edit> = dropped
                .into_iter()
                .map(|(path, value)| uci::Edit::DelList {
                    path,
                    value: value.into_bytes(),
                })
                .collect();
            match self.apply(&edits, false) {
                Ok(_) | Err(Error::Empty) => {}
                Err(e) => tracing::warn!(error = %e, "removing what was kept until the confirm"),
            }
            self.publish(Some(Outcome::Confirmed));
        }
        Ok(())
    }

    /// Rolls the pending change back now.
    ///
    /// # Errors
    /// Nothing pending, or the files cannot be restored.
    pub fn rollback(&self) -> Result<(), Error> {
        let id = self
            .lock()
            .as_ref()
            .map(|p| p.id)
            .ok_or(Error::NothingPending)?;
        self.roll_back(id, Outcome::Reverted)
    }

    fn roll_back(&self, id: u64, outcome: Outcome) -> Result<(), Error> {
        let mut guard = self.lock();
        let Some(pending) = guard.take_if(|p| p.id == id) else {
            return Err(Error::NothingPending);
        };
        if let Err(e) = self.inner.store.restore(&pending.snapshots) {
            *guard = Some(pending);
            return Err(e.into());
        }
        self.inner
            .db
            .with(|c| c.execute("DELETE FROM pending_apply", []))?;
        drop(guard);
        *self
            .inner
            .rolled_back
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(id);
        let files: Vec<String> = pending.snapshots.iter().map(|s| s.name.clone()).collect();
        let reloaded = {
            let _reloading = self
                .inner
                .reloading
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.inner.platform.reload_services(&services_for(&files))
        };
        if let Err(e) = reloaded {
            tracing::warn!(error = %e, "reload after rollback");
        }
        self.publish(Some(outcome));
        tracing::info!(files = ?files, "apply rolled back");
        Ok(())
    }

    fn expire(&self, id: u64) {
        if let Err(e) = self.roll_back(id, Outcome::RolledBack)
            && !matches!(e, Error::NothingPending)
        {
            tracing::error!(error = %e, "automatic rollback failed");
        }
    }

    fn arm(&self, id: u64, deadline: SystemTime) {
        let this = self.clone();
        let wait = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            this.expire(id);
        });
    }

    fn save(&self, pending: &Pending) -> Result<(), Error> {
        let snapshots: Vec<StoredSnapshot> = pending
            .snapshots
            .iter()
            .map(|s| StoredSnapshot {
                name: s.name.clone(),
                before: s.before.as_ref().map(|b| URL_SAFE_NO_PAD.encode(b)),
                after: URL_SAFE_NO_PAD.encode(&s.after),
            })
            .collect();
        let json = serde_json::to_string(&snapshots).map_err(std::io::Error::other)?;
        let drop_json =
            serde_json::to_string(&pending.drop_on_confirm).map_err(std::io::Error::other)?;
        self.inner.db.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO pending_apply (id, apply_id, token_sha256, deadline_ms, snapshots, drop_on_confirm) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    i64::from_ne_bytes(pending.id.to_ne_bytes()),
                    pending.token_sha256.as_slice(),
                    i64::try_from(millis(pending.deadline)).unwrap_or(i64::MAX),
                    json,
                    drop_json
                ],
            )
        })?;
        Ok(())
    }

    fn load(&self) -> Result<Option<Pending>, Error> {
        let row = self.inner.db.with(|c| {
            let mut stmt = c.prepare("SELECT apply_id, token_sha256, deadline_ms, snapshots, drop_on_confirm FROM pending_apply WHERE id = 1")?;
            let mut rows = stmt.query([])?;
            let Some(row) = rows.next()? else { return Ok(None) };
            Ok(Some((
                (row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, i64>(2)?),
                (row.get::<_, String>(3)?, row.get::<_, String>(4)?),
            )))
        })?;
        let Some(((id, token, deadline), (json, drop_json))) = row else {
            return Ok(None);
        };
        let drop_on_confirm: Vec<(String, String)> =
            serde_json::from_str(&drop_json).unwrap_or_default();
        let stored: Vec<StoredSnapshot> =
            serde_json::from_str(&json).map_err(std::io::Error::other)?;
        let decode = |text: &str| URL_SAFE_NO_PAD.decode(text).map_err(std::io::Error::other);
        let snapshots = stored
            .into_iter()
            .map(|s| {
                Ok(uci::Snapshot {
                    before: s.before.as_deref().map(decode).transpose()?,
                    after: decode(&s.after)?,
                    name: s.name,
                })
            })
            .collect::<Result<Vec<_>, std::io::Error>>()?;
        Ok(Some(Pending {
            id: u64::from_ne_bytes(id.to_ne_bytes()),
            token_sha256: token.try_into().unwrap_or([0; 32]),
            deadline: UNIX_EPOCH + Duration::from_millis(u64::try_from(deadline).unwrap_or(0)),
            snapshots,
            drop_on_confirm,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{Kind, Result as PlatformResult};
    use std::path::{Path, PathBuf};

    /// A platform that records reloads; `fail` makes the next reload fail.
    struct Recording {
        root: PathBuf,
        reloads: Mutex<Vec<Vec<Service>>>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl Platform for Recording {
        fn kind(&self) -> Kind {
            Kind::Dev {
                root: self.root.clone(),
            }
        }
        fn root(&self) -> &Path {
            &self.root
        }
        fn network_functions_available(&self) -> bool {
            false
        }
        fn observed(&self) -> platform::Observed {
            platform::Observed {
                leases: None,
                resolv: self.root.join("resolv.conf"),
                storage: self.root.clone(),
                temperature: false,
                vendors: None,
            }
        }
        fn reload_services(&self, services: &[Service]) -> PlatformResult<()> {
            self.reloads.lock().unwrap().push(services.to_vec());
            if self.fail.swap(false, std::sync::atomic::Ordering::SeqCst) {
                return Err(platform::Error::Command {
                    command: "reload".into(),
                    detail: "boom".into(),
                });
            }
            Ok(())
        }
    }

    fn setup() -> (tempfile::TempDir, Arc<Recording>, StateDb) {
        let dir = tempfile::tempdir().unwrap();
        crate::platform::dev::create_fresh_root(dir.path()).unwrap();
        let platform = Arc::new(Recording {
            root: dir.path().to_owned(),
            reloads: Mutex::default(),
            fail: false.into(),
        });
        let db = StateDb::open(dir.path()).unwrap();
        (dir, platform, db)
    }

    fn lan_address(ip: &str) -> Vec<uci::Edit> {
        vec![uci::Edit::Set {
            path: "network.lan.ipaddr".into(),
            value: ip.as_bytes().to_vec(),
        }]
    }

    /// Issue 19: waiting for a reload is waiting for the applier's event, not a guessed time.
    #[tokio::test]
    async fn the_reload_counter_moves_once_the_services_reloaded() {
        let (_dir, platform, db) = setup();
        let applier = Applier::start(platform.clone(), db, Duration::from_secs(90)).unwrap();
        let mut reloads = applier.reloads();
        let start = *reloads.borrow_and_update();
        applier.apply(&lan_address("10.9.9.1"), false).unwrap();
        assert!(
            platform.reloads.lock().unwrap().is_empty(),
            "not before the holdoff"
        );
        tokio::time::timeout(Duration::from_secs(30), reloads.changed())
            .await
            .expect("a reload within the deadline")
            .unwrap();
        assert_eq!(*reloads.borrow(), start + 1);
        assert_eq!(
            platform.reloads.lock().unwrap().len(),
            1,
            "the services were reloaded first"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unconfirmed_apply_is_restored_byte_for_byte() {
        let (dir, platform, db) = setup();
        let network = dir.path().join("etc/config/network");
        let before = std::fs::read(&network).unwrap();
        let applier = Applier::start(platform.clone(), db, Duration::from_secs(90)).unwrap();
        let result = applier.apply(&lan_address("10.9.9.1"), true).unwrap();
        assert!(result.token.is_some());
        assert_ne!(std::fs::read(&network).unwrap(), before);
        assert!(applier.status().is_pending());
        assert!(matches!(
            applier.apply(&lan_address("10.9.9.2"), true),
            Err(Error::Pending)
        ));
        assert!(matches!(
            applier.apply(&lan_address("10.9.9.2"), false),
            Err(Error::Pending)
        ));

        let mut updates = applier.subscribe();
        tokio::time::sleep(Duration::from_secs(91)).await;
        while updates.borrow_and_update().is_pending() {
            updates.changed().await.unwrap();
        }
        assert_eq!(
            std::fs::read(&network).unwrap(),
            before,
            "restored byte for byte"
        );
        assert_eq!(applier.status().last, Some(Outcome::RolledBack));
        assert_eq!(
            *platform.reloads.lock().unwrap(),
            [vec![Service::Network], vec![Service::Network]]
        );
    }

    #[tokio::test]
    async fn confirm_needs_the_right_token_and_keeps_the_change() {
        let (dir, platform, db) = setup();
        let applier = Applier::start(platform, db, Duration::from_secs(90)).unwrap();
        let token = applier
            .apply(&lan_address("10.9.9.1"), true)
            .unwrap()
            .token
            .unwrap();
        assert!(matches!(
            applier.confirm(Some("wrong")),
            Err(Error::BadToken)
        ));
        applier.confirm(Some(&token)).unwrap();
        assert!(
            matches!(applier.confirm(Some(&token)), Err(Error::NothingPending)),
            "single use"
        );
        let text = std::fs::read_to_string(dir.path().join("etc/config/network")).unwrap();
        assert!(text.contains("option ipaddr '10.9.9.1'"));
        assert!(!applier.status().is_pending());
    }

    #[tokio::test]
    async fn a_failed_reload_rolls_back_at_once() {
        let (dir, platform, db) = setup();
        let network = dir.path().join("etc/config/network");
        let before = std::fs::read(&network).unwrap();
        platform
            .fail
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let applier = Applier::start(platform, db, Duration::from_secs(90)).unwrap();
        let mut updates = applier.subscribe();
        applier.apply(&lan_address("10.9.9.1"), true).unwrap();
        while updates.borrow_and_update().last != Some(Outcome::ReloadFailed) {
            updates.changed().await.unwrap();
        }
        assert_eq!(std::fs::read(&network).unwrap(), before);
        assert!(!applier.status().is_pending());
        assert!(applier.status().note.unwrap().contains("boom"));
    }

    /// A revert before the change's delayed reload: that reload has nothing left to do, and
    /// the outcome stays "reverted" (it once became "reload failed" when the late reload
    /// tripped over the rollback's own).
    #[tokio::test]
    async fn a_revert_before_the_reload_stays_a_revert() {
        let (dir, platform, db) = setup();
        let network = dir.path().join("etc/config/network");
        let before = std::fs::read(&network).unwrap();
        let applier = Applier::start(platform.clone(), db, Duration::from_secs(90)).unwrap();
        let mut reloads = applier.reloads();
        reloads.borrow_and_update();
        applier.apply(&lan_address("10.9.9.1"), true).unwrap();
        // The rollback's reload works; any reload after it would fail.
        applier.rollback().unwrap();
        platform
            .fail
            .store(true, std::sync::atomic::Ordering::SeqCst);
        reloads.changed().await.unwrap();
        assert_eq!(applier.status().last, Some(Outcome::Reverted));
        assert_eq!(std::fs::read(&network).unwrap(), before);
    }

    #[tokio::test]
    async fn a_pending_apply_survives_a_restart_and_expires_after_it() {
        let (dir, platform, db) = setup();
        let network = dir.path().join("etc/config/network");
        let before = std::fs::read(&network).unwrap();
        {
            let applier =
                Applier::start(platform.clone(), db.clone(), Duration::from_secs(90)).unwrap();
            applier.apply(&lan_address("10.9.9.1"), true).unwrap();
        }
        // A new process finds it pending, with time left.
        let applier =
            Applier::start(platform.clone(), db.clone(), Duration::from_secs(90)).unwrap();
        assert!(applier.status().is_pending());
        let deadline = applier.status().pending.unwrap().deadline;
        assert!(deadline.duration_since(SystemTime::now()).unwrap() > Duration::from_secs(80));
        // Pretend the deadline passed while Portico was down.
        db.with(|c| c.execute("UPDATE pending_apply SET deadline_ms = 1", []))
            .unwrap();
        drop(applier);
        let applier = Applier::start(platform, db, Duration::from_secs(90)).unwrap();
        assert!(!applier.status().is_pending());
        assert_eq!(std::fs::read(&network).unwrap(), before);
    }
}
