//! Each browser's wizard between steps. A browser has a wizard (named by a random cookie value;
//! kept under the value's SHA-256): its answers live in memory, the non-secret ones also in the
//! state database, so a restart of Portico resumes without the secrets. Nothing secret reaches
//! the disk before Apply.
//!
//! A step's form is read with the app's [`app::wizard::form::read_step`] (the browser runs the
//! same function while the user types); this module adds the checks that need the router
//! (radios, the password estimator), moves between steps, and applies: the same plan as
//! `portico wizard apply`, through the applier (checked, with rollback), then the password and
//! the connection test.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use app::i18n::Lang;
use app::wizard::form::{self, Check, ClientView, Detection, Radio, Step};
use app::wizard::{Answers, Community, DhcpServer, FieldError, Internet, Lan, SystemAnswers, Wifi};
use sha2::Digest as _;

use super::{KeyPool, Plan};
use crate::apply::{self, Applier};
use crate::auth::Auth;
use crate::platform::{self, Platform};
use crate::state::StateDb;

/// Wizards kept in memory at once (the oldest is forgotten first).
const MAX_WIZARDS: usize = 32;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS wizards (
    id_sha256 TEXT PRIMARY KEY,
    step TEXT NOT NULL,
    answers TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);";

/// What a wizard step can fail with besides the user's answers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A router file the wizard reads is broken (never read as empty).
    #[error(transparent)]
    Platform(#[from] platform::Error),
    /// The plan could not be made (certificates).
    #[error(transparent)]
    Plan(#[from] super::plan::Error),
    /// A certificate file could not be written.
    #[error("writing the OpenVPN certificates: {0}")]
    Files(#[from] std::io::Error),
    /// The admin password could not be stored.
    #[error(transparent)]
    Password(#[from] crate::auth::Error),
    /// Root's password could not be set.
    #[error(transparent)]
    RootPassword(crate::platform::Error),
    /// A worker thread failed.
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
    /// The community membership could not be stored.
    #[error("storing the community membership: {0}")]
    Community(#[from] rusqlite::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The connection test's progress after Apply.
#[derive(Clone, Default)]
pub struct TestProgress {
    pub checks: Vec<Check>,
    pub done: bool,
}

/// What Apply left for the last page.
#[derive(Clone)]
pub struct AppliedState {
    pub token: Option<String>,
    pub new_address: Option<String>,
    pub clients: Vec<ClientView>,
    pub test_needed: bool,
    pub test: Arc<Mutex<TestProgress>>,
    /// The change included the Wi-Fi (`wireless`).
    pub wifi_changed: bool,
}

/// One browser's wizard.
#[derive(Clone)]
pub struct Wizard {
    pub step: Step,
    /// Including secrets: memory only.
    pub answers: Answers,
    /// A refused step's values (secrets left out), shown again with its errors.
    pub posted: Vec<(String, String)>,
    pub errors: Vec<FieldError>,
    pub detection: Option<Detection>,
    keys: KeyPool,
    pub applied: Option<AppliedState>,
    /// Resumed from the database after a restart (the secrets are gone).
    pub restored: bool,
    /// A settings page's wizard (`/settings/<step>`): only this step, then the summary.
    pub focus: Option<Step>,
    used: Instant,
}

impl Wizard {
    fn new(lang: Lang) -> Wizard {
        Wizard {
            step: Step::Language,
            answers: Answers {
                language: Some(lang.code().to_owned()),
                ..Answers::default()
            },
            posted: Vec::new(),
            errors: Vec::new(),
            detection: None,
            keys: KeyPool::default(),
            applied: None,
            restored: false,
            focus: None,
            used: Instant::now(),
        }
    }

    /// Where `step` of this wizard is shown.
    pub fn path(&self, step: Step) -> String {
        step.path(self.focus.is_some())
    }

    /// The step after `step` (a settings page goes straight to its summary).
    fn next(&self, step: Step) -> Step {
        if self.focus.is_some() {
            Step::Summary
        } else {
            step.next()
        }
    }

    /// The step before `step` (a settings page's summary goes back to its step).
    fn previous(&self, step: Step) -> Step {
        match self.focus {
            Some(focus) => focus,
            None => step.previous(),
        }
    }
}

/// What a GET of `/setup`, `/setup/<step>` or `/settings/<step>` shows.
pub enum Page {
    /// Go to this path instead (another step, or the settings list).
    Redirect(String),
    /// Show `step` of this wizard (its refused values and errors are then forgotten).
    Render(Step, Box<Wizard>),
}

/// What a posted step leads to.
pub enum Posted {
    /// The browser has no wizard (or it was forgotten): start again.
    NoWizard,
    /// Go to this step's path; `language` when the language step chose one.
    Step(String, Option<Lang>),
    /// Applied: go to `path`; `session` when the password was set at first boot (the
    /// browser's new login).
    Applied {
        session: Option<String>,
        path: String,
    },
}

/// Every browser's wizard, and the router they change.
#[derive(Clone)]
pub struct Wizards {
    live: Arc<Mutex<HashMap<String, Wizard>>>,
    db: StateDb,
    platform: Arc<dyn Platform>,
    applier: Applier,
    auth: Auth,
    /// What the connection test fetches (`option connection_test_url`).
    connection_test_url: Arc<str>,
    /// Guesses of the password in use (a new one needs it after setup): one back-off for all.
    guesses: crate::auth::LoginLimiter<()>,
    /// Where the connection test after Apply reports its progress (the overview shows it).
    report: TestReport,
}

/// Receives a connection test's progress: the checks so far, running until the last.
pub type TestReport = Arc<dyn Fn(app::status::ConnectionTest) + Send + Sync>;

fn key(cookie: &str) -> String {
    hex::encode(sha2::Sha256::digest(cookie.as_bytes()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A new browser's wizard name.
pub fn new_cookie() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

impl Wizards {
    /// The wizards of the state database (their table is created when missing).
    ///
    /// # Errors
    /// When the table cannot be created.
    pub fn open(
        platform: Arc<dyn Platform>,
        applier: Applier,
        auth: Auth,
        connection_test_url: &str,
        report: TestReport,
    ) -> rusqlite::Result<Wizards> {
        let db = auth.db().clone();
        db.with(|c| c.execute_batch(SCHEMA))?;
        Ok(Wizards {
            live: Arc::default(),
            db,
            platform,
            applier,
            auth,
            connection_test_url: connection_test_url.into(),
            guesses: crate::auth::LoginLimiter::new(
                crate::auth::LoginLimiter::FREE_ATTEMPTS,
                Duration::from_secs(1),
            ),
            report,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Wizard>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The wizard of `cookie`: from memory, else (after a restart) from the database without
    /// its secrets.
    fn get(&self, cookie: &str) -> Option<Wizard> {
        let id = key(cookie);
        if let Some(w) = self.lock().get(&id) {
            return Some(w.clone());
        }
        let row: Option<(String, String)> = self
            .db
            .with(|c| {
                c.query_row(
                    "SELECT step, answers FROM wizards WHERE id_sha256 = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })
            })
            .ok()
            .flatten();
        let (step, answers) = row?;
        let mut wizard = Wizard::new(Lang::En);
        wizard.step = serde_json::from_str(&format!("\"{step}\"")).unwrap_or_default();
        wizard.answers = serde_json::from_str(&answers).unwrap_or_default();
        wizard.restored = true;
        Some(wizard)
    }

    /// Keeps `wizard`: in memory, and its non-secret answers on disk until it is applied.
    fn put(&self, cookie: &str, mut wizard: Wizard) {
        let id = key(cookie);
        wizard.used = Instant::now();
        let stored =
            serde_json::to_string(&form::secrets_removed(&wizard.answers)).unwrap_or_default();
        let step = wizard.step.slug();
        let applied = wizard.step == Step::Applied;
        {
            let mut live = self.lock();
            live.insert(id.clone(), wizard);
            while live.len() > MAX_WIZARDS {
                let Some(oldest) = live
                    .iter()
                    .min_by_key(|(_, w)| w.used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                live.remove(&oldest);
            }
        }
        let result = self.db.with(|c| {
            if applied {
                c.execute("DELETE FROM wizards WHERE id_sha256 = ?1", [&id])
                    .map(|_| ())
            } else {
                c.execute(
                    "INSERT INTO wizards (id_sha256, step, answers, updated_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(id_sha256) DO UPDATE SET step = ?2, answers = ?3, updated_ms = ?4",
                    rusqlite::params![id, step, stored, now_ms()],
                )
                .map(|_| ())
            }
        });
        if let Err(e) = result {
            tracing::warn!("wizard not saved: {e}");
        }
    }

    /// A GET of `requested` (`None`: `/setup` itself) by the browser whose wizard is `cookie`
    /// (a new wizard is kept under it when it has none); `settings`: the page is
    /// `/settings/<requested>`, one step as a settings page.
    ///
    /// A wizard that was applied, and whose change is no longer waiting for confirmation,
    /// starts again (from the router's settings as they are now) on any page but the last:
    /// an admin runs the wizard again to change something. A settings page starts a wizard of
    /// its own unless the browser's wizard is already that page's.
    pub fn page(&self, cookie: &str, requested: Option<Step>, lang: Lang, settings: bool) -> Page {
        let finished = |w: &Wizard| {
            w.applied.is_some()
                && requested != Some(Step::Applied)
                && !self.applier.status().is_pending()
        };
        let editable = requested.filter(|s| Step::SETTINGS.contains(s));
        let fits = |w: &Wizard| match (settings, requested) {
            (false, _) => w.focus.is_none(),
            (true, Some(Step::Summary | Step::Applied)) => w.focus.is_some(),
            (true, _) => w.focus.is_some() && w.focus == editable,
        };
        let (wizard, fresh) = match self.get(cookie) {
            Some(w) if !finished(&w) && fits(&w) => (w, false),
            _ if settings && editable.is_none() => return Page::Redirect("/settings".into()),
            _ => {
                let mut w = Wizard::new(lang);
                if settings {
                    w.focus = editable;
                    w.step = editable.unwrap_or_default();
                }
                (w, true)
            }
        };
        let Some(step) = requested else {
            if fresh {
                self.put(cookie, wizard.clone());
            }
            return Page::Redirect(wizard.path(wizard.step));
        };
        if step == Step::Applied && wizard.applied.is_none() {
            return Page::Redirect(wizard.path(wizard.step));
        }
        let mut wizard = wizard;
        // A reload resumes here; refused values and errors belong to the step they came from.
        if wizard.step != step {
            wizard.posted.clear();
            wizard.errors.clear();
        }
        if wizard.applied.is_none() || step == Step::Applied {
            wizard.step = step;
        }
        // One language: the page's (the header's picker, or the wizard's first step, which
        // sets the same cookie) is the wizard's answer too.
        if wizard.applied.is_none() {
            wizard.answers.language = Some(lang.code().to_owned());
        }
        let shown = wizard.clone();
        // The errors are shown now; a reload shows the step as it is.
        wizard.posted.clear();
        wizard.errors.clear();
        self.put(cookie, wizard);
        Page::Render(step, Box::new(shown))
    }

    /// Whether an admin password is still to be set (first boot).
    pub fn password_required(&self) -> bool {
        self.auth.setup_needed().unwrap_or(true)
    }

    /// A POST of `step` with the form's `fields` (`action` is `next`, `back`, `skip`,
    /// `detect` or, on the summary, `apply`).
    ///
    /// # Errors
    /// When a router file is broken, or Apply fails other than by the user's answers.
    pub async fn post(
        &self,
        cookie: Option<&str>,
        step: Step,
        fields: &[(String, String)],
    ) -> Result<Posted> {
        let Some((cookie, mut wizard)) = cookie.and_then(|c| self.get(c).map(|w| (c, w))) else {
            return Ok(Posted::NoWizard);
        };
        if wizard.applied.is_some() {
            return Ok(Posted::Step(wizard.path(Step::Applied), None));
        }
        let setup_needed = self.password_required();
        let action = fields
            .iter()
            .find(|(k, _)| k == "action")
            .map_or("next", |(_, v)| v.as_str());
        let lan_now = super::current_lan(&self.platform.package("network")?);
        let mut answers = wizard.answers.clone();
        let mut errors = form::read_step(step, fields, &mut answers, setup_needed, lan_now);
        if action != "back" && action != "skip" {
            let wireless = self.platform.package("wireless")?;
            let more = super::router_checks(&answers, &wireless, &errors);
            errors.extend(
                more.into_iter()
                    .filter(|e| Step::of_field(&e.field) == step),
            );
        }
        if step == Step::System && !setup_needed && action != "back" {
            errors.extend(self.check_current_password(fields).await?);
        }
        let mut language = None;
        let next = match action {
            "apply" if step == Step::Summary => return self.apply(cookie, wizard).await,
            "skip" if step.skippable() && wizard.focus.is_none() => {
                match step {
                    Step::Internet => wizard.answers.internet = None,
                    Step::Wifi => {
                        wizard.answers.wifi.clear();
                        wizard.answers.mesh = None;
                    }
                    Step::Services => {
                        wizard.answers.lan = None;
                        wizard.answers.dhcp = None;
                        wizard.answers.wireguard = None;
                        wizard.answers.openvpn = None;
                        wizard.answers.community = None;
                    }
                    _ => {}
                }
                wizard.next(step)
            }
            // Back keeps what was typed, even when it is not valid yet: the summary lists it.
            "back" => {
                wizard.answers = answers;
                wizard.previous(step)
            }
            "detect" if step == Step::Internet => {
                wizard.answers = answers;
                wizard.detection = Some(self.detect().await?);
                step
            }
            _ if !errors.is_empty() => {
                wizard.posted = fields
                    .iter()
                    .filter(|(k, _)| k != "action" && !is_secret(k))
                    .cloned()
                    .collect();
                wizard.errors = errors;
                // Valid secrets typed this time are kept, so they need not be typed again.
                keep_valid_secrets(&mut wizard.answers, &answers, &wizard.errors);
                step
            }
            _ => {
                if step == Step::Language {
                    language = answers.language.as_deref().and_then(Lang::from_code);
                }
                wizard.answers = answers;
                wizard.next(step)
            }
        };
        wizard.step = next;
        let path = wizard.path(next);
        self.put(cookie, wizard);
        Ok(Posted::Step(path, language))
    }

    /// After setup, a new admin password needs the one in use (`password_current`): a
    /// stolen session alone cannot take the router over. Guesses are limited.
    ///
    /// # Errors
    /// When the state database cannot be read.
    async fn check_current_password(
        &self,
        fields: &[(String, String)],
    ) -> Result<Option<FieldError>> {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str())
        };
        if get("password").is_empty() {
            return Ok(None);
        }
        let current = get("password_current").to_owned();
        if current.is_empty() {
            return Ok(Some(FieldError::new(
                "password_current",
                "wizard-error-current-required",
            )));
        }
        if let Err(wait) = self.guesses.check(&(), Instant::now()) {
            let seconds = wait.as_secs().max(1);
            return Ok(Some(
                FieldError::new("password_current", "wizard-error-current-wait")
                    .arg("seconds", &seconds),
            ));
        }
        let auth = self.auth.clone();
        let right = tokio::task::spawn_blocking(move || auth.verify("root", &current)).await??;
        if right {
            self.guesses.succeed(&());
            Ok(None)
        } else {
            self.guesses.fail(&(), Instant::now());
            tracing::warn!("a new admin password was refused: the current one was wrong");
            Ok(Some(FieldError::new(
                "password_current",
                "wizard-error-current-wrong",
            )))
        }
    }

    /// The answers checked and planned, with the password the first boot needs.
    ///
    /// # Errors
    /// When a router file is broken or the certificates cannot be made.
    pub fn plan(&self, wizard: &mut Wizard) -> Result<Result<Plan, Vec<FieldError>>> {
        let mut problems = Vec::new();
        if self.password_required() && wizard.answers.password.is_none() {
            problems.push(FieldError {
                field: "password".into(),
                key: "wizard-error-password-required",
                args: Vec::new(),
            });
        }
        let plan = super::plan(
            &wizard.answers,
            self.platform.as_ref(),
            false,
            &mut wizard.keys,
        )
        .map_err(|e| match e {
            super::plan::Error::Platform(e) => Error::Platform(e),
            e @ super::plan::Error::Certificates(_) => Error::Plan(e),
        })?;
        Ok(match plan {
            Ok(plan) if problems.is_empty() => Ok(plan),
            Ok(_) => Err(problems),
            Err(more) => {
                problems.extend(more);
                Err(problems)
            }
        })
    }

    /// Detects on the WAN device: link, DHCP, PPPoE (three tries, one second apart).
    async fn detect(&self) -> Result<Detection> {
        if !self.platform.network_functions_available() {
            return Ok(Detection::Failed {
                reason: "no network functions here (Portico runs in the host's namespace)".into(),
            });
        }
        let device = self
            .platform
            .package("network")?
            .section("wan")
            .and_then(|s| s.get("device").map(ToString::to_string))
            .unwrap_or_else(|| "eth1".into());
        let probe = tokio::task::spawn_blocking(move || {
            super::detect::probe(&device, 3, Duration::from_secs(1))
        })
        .await?;
        Ok(match probe {
            Ok(super::detect::Detected::NoLink) => Detection::NoLink,
            Ok(super::detect::Detected::NoAnswer) => Detection::NoAnswer,
            Ok(super::detect::Detected::Dhcp { server, offered }) => Detection::Dhcp {
                server: server.to_string(),
                offered: offered.to_string(),
            },
            Ok(super::detect::Detected::Pppoe { concentrator }) => {
                Detection::Pppoe { concentrator }
            }
            Err(e) => Detection::Failed {
                reason: e.to_string(),
            },
        })
    }

    /// Apply from the summary: the same plan as `portico wizard apply`, checked (rollback
    /// unless confirmed), then the password, a session, and the connection test.
    async fn apply(&self, cookie: &str, mut wizard: Wizard) -> Result<Posted> {
        let refused = |mut wizard: Wizard, errors: Vec<FieldError>| {
            wizard.errors = errors;
            wizard.step = Step::Summary;
            let path = wizard.path(Step::Summary);
            self.put(cookie, wizard);
            Ok(Posted::Step(path, None))
        };
        let Ok(plan) = self.plan(&mut wizard)? else {
            return refused(wizard, Vec::new());
        };
        let membership = match wizard.answers.community.as_ref().map(membership) {
            Some(Err(error)) => return refused(wizard, vec![error]),
            Some(Ok(m)) => Some(m),
            None => None,
        };
        // The certificates first: the services read them when they reload.
        plan.write_files(self.platform.root())?;
        let manager = self.applier.clone();
        let mut reloads = self.applier.reloads();
        let (edits, keep) = (plan.edits.clone(), plan.drop_on_confirm.clone());
        let result =
            tokio::task::spawn_blocking(move || manager.apply_keeping(&edits, true, keep)).await?;
        let applied = match result {
            Ok(done) => Some(done),
            Err(apply::Error::Empty) => None,
            Err(e) => {
                let error = FieldError {
                    field: "apply".into(),
                    key: "wizard-error-apply",
                    args: vec![("reason", e.to_string())],
                };
                return refused(wizard, vec![error]);
            }
        };
        let first_boot = self.password_required();
        let shadow = std::fs::read(self.platform.root().join("etc/shadow")).ok();
        let session = self.set_password(wizard.answers.password.clone()).await?;
        let checked = applied.as_ref().is_some_and(|a| a.token.is_some());
        if first_boot && checked {
            self.undo_first_boot_password_on_rollback(shadow);
        }
        if let Some(membership) = membership {
            self.join_community(&membership, checked)?;
        }
        let new_address = applied
            .as_ref()
            .and(wizard.answers.lan.as_ref())
            .filter(|_| !plan.drop_on_confirm.is_empty())
            .map(|l| l.ipaddr.trim().to_owned());
        let test_needed = applied
            .as_ref()
            .is_some_and(|a| a.files.iter().any(|f| f == "network"))
            && wizard.answers.internet.is_some()
            && self.platform.network_functions_available();
        let test = Arc::new(Mutex::new(TestProgress::default()));
        if test_needed {
            let gateway = match &wizard.answers.internet {
                Some(Internet::Static { gateway, .. }) => gateway.trim().parse::<Ipv4Addr>().ok(),
                _ => None,
            };
            let (url, progress) = (self.connection_test_url.clone(), test.clone());
            let report = self.report.clone();
            tokio::spawn(async move {
                // The test starts once the services have reloaded the new settings.
                let _ = reloads.changed().await;
                connection_test(gateway, url, progress, report).await;
            });
        }
        wizard.applied = Some(AppliedState {
            token: applied.as_ref().and_then(|a| a.token.clone()),
            new_address,
            clients: plan.clients.iter().map(super::ClientConfig::view).collect(),
            test_needed,
            test,
            wifi_changed: applied
                .as_ref()
                .is_some_and(|a| a.files.iter().any(|f| f == "wireless")),
        });
        wizard.step = Step::Applied;
        // Secrets are not needed any more.
        wizard.answers = form::secrets_removed(&wizard.answers);
        let path = wizard.path(Step::Applied);
        self.put(cookie, wizard);
        Ok(Posted::Applied { session, path })
    }

    /// The first boot's password belongs to its change: when that change is rolled back (not
    /// kept in time, or reverted on request) the router is at first boot again — no admin
    /// password, root's password as it was.
    fn undo_first_boot_password_on_rollback(&self, shadow: Option<Vec<u8>>) {
        let (auth, root) = (self.auth.clone(), self.platform.root().to_owned());
        self.when_rolled_back(move || {
            if let Err(err) = auth.forget_password() {
                tracing::error!(%err, "the first boot's admin password stays");
            }
            if let Some(old) = &shadow
                && let Err(err) =
                    crate::state::write_atomically(&root.join("etc/shadow"), old, 0o600)
            {
                tracing::error!(%err, "root's password stays as the first boot set it");
            }
            tracing::info!("first boot undone: no admin password until the setup is applied again");
        });
    }

    /// Runs `undo` once the pending change ends rolled back (not kept in time, or reverted on
    /// request); nothing when it is kept.
    fn when_rolled_back(&self, undo: impl FnOnce() + Send + 'static) {
        let mut updates = self.applier.subscribe();
        tokio::spawn(async move {
            loop {
                if updates.changed().await.is_err() {
                    return;
                }
                let status = updates.borrow_and_update().clone();
                if status.is_pending() {
                    continue;
                }
                if matches!(
                    status.last,
                    Some(apply::Outcome::RolledBack | apply::Outcome::Reverted)
                ) {
                    undo();
                }
                return;
            }
        });
    }

    /// Makes `membership` this router's community (the running mesh picks it up by itself).
    /// With `checked` it belongs to the pending change: a rollback puts the previous
    /// membership (or none) back.
    fn join_community(&self, membership: &crate::mesh::Membership, checked: bool) -> Result<()> {
        let previous = crate::mesh::Membership::load(&self.db)?;
        membership.save(&self.db)?;
        tracing::info!(community = %membership.community, "community mesh set by the setup wizard");
        if checked {
            let db = self.db.clone();
            self.when_rolled_back(move || {
                let restored = match &previous {
                    Some(old) => old.save(&db),
                    None => crate::mesh::Membership::leave(&db).map(|_| ()),
                };
                match restored {
                    Ok(()) => tracing::info!("community membership as it was before the setup"),
                    Err(err) => tracing::error!(%err, "the setup's community membership stays"),
                }
            });
        }
        Ok(())
    }

    /// Sets the admin and root password (when the answers have one) and, at first boot,
    /// starts the session of the browser that set it.
    async fn set_password(&self, password: Option<String>) -> Result<Option<String>> {
        let Some(password) = password else {
            return Ok(None);
        };
        let (auth, platform) = (self.auth.clone(), self.platform.clone());
        tokio::task::spawn_blocking(move || -> Result<Option<String>> {
            platform
                .set_root_password(&password)
                .map_err(Error::RootPassword)?;
            if auth.setup_needed()? {
                auth.set_initial_password(&password)?;
                tracing::info!("admin password set by the setup wizard");
                return Ok(Some(auth.create_session()?));
            }
            auth.set_password(&password)?;
            tracing::info!("admin password changed by the setup wizard");
            Ok(None)
        })
        .await?
    }

    /// The router's current settings, in the shape of answers (secrets left out).
    ///
    /// # Errors
    /// When a router file is broken.
    pub fn defaults(&self, lang: Lang) -> Result<Answers, platform::Error> {
        let network = self.platform.package("network")?;
        let wireless = self.platform.package("wireless")?;
        let dhcp = self.platform.package("dhcp")?;
        let system = self.platform.package("system")?;
        Ok(defaults(&network, &wireless, &dhcp, &system, lang))
    }

    /// The router's radios.
    ///
    /// # Errors
    /// When the wireless file is broken.
    pub fn radios(&self) -> Result<Vec<Radio>, platform::Error> {
        Ok(self
            .platform
            .package("wireless")?
            .sections_of("wifi-device")
            .map(|s| Radio {
                name: s.name.clone(),
                band: s.get("band").map(ToString::to_string).unwrap_or_default(),
            })
            .collect())
    }

    /// The diff the summary shows, or why the answers cannot be applied.
    ///
    /// # Errors
    /// When a router file is broken or the plan cannot be made.
    pub fn preview(&self, wizard: &Wizard) -> Result<Result<String, Vec<FieldError>>> {
        let mut wizard = wizard.clone();
        Ok(match self.plan(&mut wizard)? {
            Ok(plan) => match self.applier.preview(&plan.edits) {
                Ok(diff) => Ok(diff),
                Err(e) => Err(vec![FieldError {
                    field: "apply".into(),
                    key: "wizard-error-apply",
                    args: vec![("reason", e.to_string())],
                }]),
            },
            Err(problems) => Err(problems),
        })
    }
}

/// Runs the connection test, reporting each check into `progress`.
async fn connection_test(
    gateway: Option<Ipv4Addr>,
    url: Arc<str>,
    progress: Arc<Mutex<TestProgress>>,
    report: TestReport,
) {
    let started_ms = u64::try_from(now_ms()).unwrap_or_default();
    let tell = move |checks: &[Check], running: bool| {
        report(app::status::ConnectionTest {
            running,
            checks: checks.to_vec(),
            started_ms,
        });
    };
    tell(&[], true);
    let (shared, told) = (progress.clone(), tell.clone());
    let _ = tokio::task::spawn_blocking(move || {
        super::conntest::run(gateway, &url, Duration::from_secs(30), |check| {
            let mut progress = shared.lock().unwrap_or_else(PoisonError::into_inner);
            progress.checks.push(check);
            told(&progress.checks, true);
        });
    })
    .await;
    let mut progress = progress.lock().unwrap_or_else(PoisonError::into_inner);
    progress.done = true;
    tell(&progress.checks, false);
}

/// Fields never echoed back into a page.
fn is_secret(name: &str) -> bool {
    name.contains("password") || name.rsplit('.').next() == Some("key") || name == "community.code"
}

/// The membership a community answer makes (a new key for a new community).
///
/// # Errors
/// The join code does not decode (the answers' checks refuse it first).
pub fn membership(community: &Community) -> Result<crate::mesh::Membership, FieldError> {
    match community {
        Community::Create { name } => crate::mesh::Membership::create(name)
            .map_err(|_| FieldError::new("community.name", "wizard-error-community-name")),
        Community::Join { code } => crate::mesh::Membership::from_code(code)
            .map_err(|_| FieldError::new("community.code", "wizard-error-join-code")),
    }
}

/// The password (and other secrets) that passed their own rules stay, even when another field
/// of the step was refused.
fn keep_valid_secrets(kept: &mut Answers, typed: &Answers, errors: &[FieldError]) {
    let refused = |field: &str| errors.iter().any(|e| e.field == field);
    if !refused("password") && !refused("password_repeat") && typed.password.is_some() {
        kept.password.clone_from(&typed.password);
    }
    if !refused("community.code") && matches!(typed.community, Some(Community::Join { .. })) {
        kept.community.clone_from(&typed.community);
    }
}

/// The router's settings as answers.
fn defaults(
    network: &uci::Package,
    wireless: &uci::Package,
    dhcp: &uci::Package,
    system: &uci::Package,
    lang: Lang,
) -> Answers {
    use uci::views::{DhcpPool, Interface, Proto, System, WifiDevice};
    let sys = system.sections_of("system").next().map(System);
    let wan = network.section("wan").map(Interface);
    let text = |value: Option<std::net::Ipv4Addr>| value.map(|a| a.to_string()).unwrap_or_default();
    let ipv6 = network.section("wan6").is_some();
    let internet = match wan.as_ref().and_then(Interface::proto) {
        Some(Proto::Static) => wan.as_ref().map(|wan| Internet::Static {
            ipaddr: text(wan.ipaddr()),
            netmask: text(wan.netmask()),
            gateway: text(wan.gateway()),
            dns: wan.dns(),
            ipv6,
        }),
        Some(Proto::Pppoe) => wan.as_ref().map(|wan| Internet::Pppoe {
            username: wan.username().unwrap_or_default(),
            password: String::new(),
            service: wan.service(),
            mtu: wan.mtu(),
            ipv6,
        }),
        _ => Some(Internet::Dhcp {
            ipv6: ipv6 || wan.is_none(),
        }),
    };
    let lan = super::lan_cidr(network).and_then(|c| {
        c.split_once('/').map(|(a, l)| Lan {
            ipaddr: a.to_owned(),
            netmask: l.to_owned(),
        })
    });
    let (wifi, wifi_same) = wifi_defaults(wireless);
    let country = wireless
        .sections_of("wifi-device")
        .find_map(|r| WifiDevice(r).country())
        .filter(|c| app::wizard::valid_country(c));
    let pool = dhcp.section("lan").map(DhcpPool);
    Answers {
        language: Some(lang.code().to_owned()),
        system: Some(SystemAnswers {
            hostname: sys
                .as_ref()
                .and_then(System::hostname)
                .unwrap_or_else(|| "OpenWrt".into()),
            zonename: sys
                .as_ref()
                .and_then(System::zonename)
                .filter(|z| app::wizard::posix_timezone(z).is_some())
                .unwrap_or_else(|| "UTC".into()),
            country,
        }),
        password: None,
        internet,
        lan,
        wifi,
        wifi_same,
        mesh: None,
        dhcp: Some(DhcpServer {
            enabled: pool.as_ref().and_then(DhcpPool::ignore) != Some(true),
            start: pool.as_ref().and_then(DhcpPool::start).unwrap_or(100),
            limit: pool.as_ref().and_then(DhcpPool::limit).unwrap_or(150),
            leasetime: pool
                .as_ref()
                .and_then(DhcpPool::leasetime)
                .unwrap_or_else(|| "12h".into()),
        }),
        wireguard: None,
        openvpn: None,
        community: None,
    }
}

/// The access points as answers (keys left out), and whether they are one network on every
/// band (the form's default also when there is none yet).
fn wifi_defaults(wireless: &uci::Package) -> (Vec<Wifi>, bool) {
    use uci::views::{WifiDevice, WifiIface, WifiMode};
    let radio_on = |name: &str| {
        wireless
            .section(name)
            .is_some_and(|r| WifiDevice(r).disabled() != Some(true))
    };
    let wifi = wireless
        .sections_of("wifi-iface")
        .map(WifiIface)
        .filter(|w| w.mode().is_none_or(|m| m == WifiMode::Ap) && w.disabled() != Some(true))
        .filter_map(|w| {
            Some(Wifi {
                radio: w.device().filter(|r| radio_on(r))?,
                ssid: w.ssid().unwrap_or_default(),
                key: String::new(),
                encryption: w
                    .0
                    .get("encryption")
                    .map(ToString::to_string)
                    .filter(|e| ["sae", "sae-mixed", "psk2"].contains(&e.as_str()))
                    .unwrap_or_else(|| "sae".into()),
                country: None,
            })
        })
        .collect();
    // One name and password on every band (the form's default) unless the radios differ now.
    let networks: Vec<(String, String, String)> = wireless
        .sections_of("wifi-iface")
        .map(WifiIface)
        .filter(|w| w.mode().is_none_or(|m| m == WifiMode::Ap) && w.disabled() != Some(true))
        .filter(|w| w.device().is_some_and(|r| radio_on(&r)))
        .map(|w| {
            (
                w.ssid().unwrap_or_default(),
                w.key().unwrap_or_default(),
                w.0.get("encryption")
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            )
        })
        .collect();
    let radios = wireless.sections_of("wifi-device").count();
    let wifi_same = networks.is_empty()
        || (networks.len() == radios && networks.windows(2).all(|w| w[0] == w[1]));
    (wifi, wifi_same)
}
