//! The browser wizard on the server. Each browser has a wizard (cookie `portico_wizard`; the
//! server keys it by the cookie's SHA-256): its answers live in memory, the non-secret ones
//! also in the state database, so a restart of Portico resumes without the secrets. Nothing
//! secret reaches the disk before Apply.
//!
//! Every step is a form posted to `/setup/<step>` and read with the app's
//! [`app::wizard::form::read_step`] (the browser runs the same function while the user types);
//! the server adds the checks that need the router (radios, the password estimator). Apply is
//! the same plan as `portico wizard apply`, through the apply manager (checked, with rollback).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use app::i18n::Lang;
use app::wizard::form::{
    self, AppliedView, Check, ClientView, Detection, Radio, Step, Summary, WifiCode, WizardView,
};
use app::wizard::{Answers, DhcpServer, FieldError, Internet, Lan, SystemAnswers, Wifi};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode, header};
use sha2::Digest as _;
use uci::Package;

use super::gate::{LANG_COOKIE, cookie, request_lang};
use super::{AppError, AppState};
use crate::state::StateDb;
use crate::wizard::{KeyPool, Plan};

/// The cookie naming a browser's wizard.
pub const WIZARD_COOKIE: &str = "portico_wizard";
/// Wizards kept in memory at once (the oldest is forgotten first).
const MAX_WIZARDS: usize = 32;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS wizards (
    id_sha256 TEXT PRIMARY KEY,
    step TEXT NOT NULL,
    answers TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);";

/// The connection test's progress after Apply.
#[derive(Clone, Default)]
struct TestProgress {
    checks: Vec<Check>,
    done: bool,
}

#[derive(Clone)]
struct AppliedState {
    token: Option<String>,
    new_address: Option<String>,
    clients: Vec<ClientView>,
    test_needed: bool,
    test: Arc<Mutex<TestProgress>>,
}

#[derive(Clone)]
struct Wizard {
    step: Step,
    /// Including secrets: memory only.
    answers: Answers,
    posted: Vec<(String, String)>,
    errors: Vec<FieldError>,
    detection: Option<Detection>,
    keys: KeyPool,
    applied: Option<AppliedState>,
    restored: bool,
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
            used: Instant::now(),
        }
    }
}

/// Every browser's wizard.
#[derive(Clone)]
pub struct Wizards {
    live: Arc<Mutex<HashMap<String, Wizard>>>,
    db: StateDb,
}

fn key(cookie: &str) -> String {
    hex::encode(sha2::Sha256::digest(cookie.as_bytes()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Wizards {
    /// The wizards of the state database (their table is created when missing).
    ///
    /// # Errors
    /// When the table cannot be created.
    pub fn open(db: StateDb) -> anyhow::Result<Wizards> {
        db.with(|c| c.execute_batch(SCHEMA))?;
        Ok(Wizards {
            live: Arc::default(),
            db,
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
}

fn new_cookie() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn set_cookie(value: &str) -> String {
    format!("{WIZARD_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict")
}

/// What the gate does with a GET of a wizard page.
pub enum PageOutcome {
    /// Render with this view; set the cookie when given.
    Render(Box<WizardView>, Option<String>),
    Redirect(String, Option<String>),
}

fn config(state: &AppState, name: &str) -> Package {
    crate::wizard::load(&state.platform.config_dir(), name).unwrap_or_else(|_| Package::new(name))
}

/// A GET of `/setup` or `/setup/<step>`.
pub fn page(state: &AppState, headers: &HeaderMap, path: &str, lang: Lang) -> PageOutcome {
    let (cookie_value, wizard, fresh) = match cookie(headers, WIZARD_COOKIE)
        .and_then(|c| state.wizards.get(c).map(|w| (c.to_owned(), w)))
    {
        Some((c, w)) => (c, w, false),
        None => (new_cookie(), Wizard::new(lang), true),
    };
    let set = fresh.then(|| set_cookie(&cookie_value));
    let requested = path
        .strip_prefix("/setup")
        .map(|rest| rest.trim_matches('/'))
        .filter(|slug| !slug.is_empty())
        .and_then(Step::from_slug);
    let Some(step) = requested else {
        if fresh {
            state.wizards.put(&cookie_value, wizard.clone());
        }
        return PageOutcome::Redirect(format!("/setup/{}", wizard.step.slug()), set);
    };
    if step == Step::Applied && wizard.applied.is_none() {
        return PageOutcome::Redirect(format!("/setup/{}", wizard.step.slug()), set);
    }
    let mut wizard = wizard;
    // A browser reload resumes here; refused values and errors belong to the step they came from.
    if wizard.step != step {
        wizard.posted.clear();
        wizard.errors.clear();
    }
    if wizard.applied.is_none() || step == Step::Applied {
        wizard.step = step;
    }
    let view = view(state, &wizard, step, lang);
    // The errors were shown; a reload shows the step as it is.
    wizard.posted.clear();
    wizard.errors.clear();
    state.wizards.put(&cookie_value, wizard);
    PageOutcome::Render(Box::new(view), set)
}

/// The router's current settings, in the shape of answers (secrets left out).
fn defaults(state: &AppState, lang: Lang) -> Answers {
    let network = config(state, "network");
    let wireless = config(state, "wireless");
    let dhcp = config(state, "dhcp");
    let system = config(state, "system");
    let sys = system.sections_of("system").next();
    let text =
        |s: Option<&uci::Section>, o: &str| s.and_then(|s| s.get(o)).map(ToString::to_string);
    let wan = network.section("wan");
    let internet = match text(wan, "proto").as_deref() {
        Some("static") => Some(Internet::Static {
            ipaddr: text(wan, "ipaddr").unwrap_or_default(),
            netmask: text(wan, "netmask").unwrap_or_default(),
            gateway: text(wan, "gateway").unwrap_or_default(),
            dns: wan.map(|s| s.items("dns")).unwrap_or_default(),
            ipv6: network.section("wan6").is_some(),
        }),
        Some("pppoe") => Some(Internet::Pppoe {
            username: text(wan, "username").unwrap_or_default(),
            password: String::new(),
            service: text(wan, "service"),
            mtu: text(wan, "mtu").and_then(|m| m.parse().ok()),
            ipv6: network.section("wan6").is_some(),
        }),
        _ => Some(Internet::Dhcp {
            ipv6: network.section("wan6").is_some() || wan.is_none(),
        }),
    };
    let lan = crate::wizard::lan_cidr(&network).and_then(|c| {
        c.split_once('/').map(|(a, l)| Lan {
            ipaddr: a.to_owned(),
            netmask: l.to_owned(),
        })
    });
    let wifi = wireless
        .sections_of("wifi-iface")
        .filter(|s| s.get("mode").is_none_or(|m| m == "ap"))
        .filter(|s| s.get("disabled").is_none_or(|d| d != "1"))
        .filter_map(|s| {
            Some(Wifi {
                radio: s.get("device")?.to_string(),
                ssid: s.get("ssid").map(ToString::to_string).unwrap_or_default(),
                key: String::new(),
                encryption: s
                    .get("encryption")
                    .map(ToString::to_string)
                    .filter(|e| ["sae", "sae-mixed", "psk2"].contains(&e.as_str()))
                    .unwrap_or_else(|| "sae".into()),
                country: None,
            })
        })
        .filter(|w| {
            wireless
                .section(&w.radio)
                .is_some_and(|r| r.get("disabled").is_none_or(|d| d != "1"))
        })
        .collect();
    let country = wireless
        .sections_of("wifi-device")
        .find_map(|r| r.get("country").map(ToString::to_string))
        .filter(|c| app::wizard::valid_country(c));
    let pool = dhcp.section("lan");
    let number = |o: &str, d: u32| text(pool, o).and_then(|v| v.parse().ok()).unwrap_or(d);
    Answers {
        language: Some(lang.code().to_owned()),
        system: Some(SystemAnswers {
            hostname: text(sys, "hostname").unwrap_or_else(|| "OpenWrt".into()),
            zonename: text(sys, "zonename")
                .filter(|z| app::wizard::posix_timezone(z).is_some())
                .unwrap_or_else(|| "UTC".into()),
            country,
        }),
        password: None,
        internet,
        lan,
        wifi,
        mesh: None,
        dhcp: Some(DhcpServer {
            enabled: text(pool, "ignore").is_none_or(|i| i != "1"),
            start: number("start", 100),
            limit: number("limit", 150),
            leasetime: text(pool, "leasetime").unwrap_or_else(|| "12h".into()),
        }),
        wireguard: None,
        openvpn: None,
    }
}

fn radios(state: &AppState) -> Vec<Radio> {
    config(state, "wireless")
        .sections_of("wifi-device")
        .map(|s| Radio {
            name: s.name.clone(),
            band: s.get("band").map(ToString::to_string).unwrap_or_default(),
        })
        .collect()
}

/// A QR code as an SVG `data:` URL.
pub fn qr_image(text: &str) -> String {
    use base64::Engine as _;
    let svg = qrcode::QrCode::new(text.as_bytes()).map_or_else(
        |_| String::new(),
        |code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        },
    );
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// The text of a Wi-Fi QR code (`WIFI:T:SAE;S:…;P:…;;`, special characters escaped).
pub fn wifi_qr_text(wifi: &Wifi) -> String {
    let escape = |s: &str| {
        s.chars().fold(String::new(), |mut out, c| {
            if matches!(c, '\\' | ';' | ',' | ':' | '"') {
                out.push('\\');
            }
            out.push(c);
            out
        })
    };
    let kind = match wifi.encryption.as_str() {
        "none" | "owe" | "" => return format!("WIFI:T:nopass;S:{};;", escape(&wifi.ssid)),
        "sae" => "SAE",
        _ => "WPA",
    };
    format!(
        "WIFI:T:{kind};S:{};P:{};;",
        escape(&wifi.ssid),
        escape(&wifi.key)
    )
}

fn password_required(state: &AppState) -> bool {
    state.auth.setup_needed().unwrap_or(true)
}

fn plan(state: &AppState, wizard: &mut Wizard) -> anyhow::Result<Result<Plan, Vec<FieldError>>> {
    let mut problems = Vec::new();
    if password_required(state) && wizard.answers.password.is_none() {
        problems.push(FieldError {
            field: "password".into(),
            key: "wizard-error-required",
            args: Vec::new(),
        });
    }
    let plan = crate::wizard::plan(
        &wizard.answers,
        &state.platform.config_dir(),
        false,
        &mut wizard.keys,
    )?;
    Ok(match plan {
        Ok(plan) if problems.is_empty() => Ok(plan),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    })
}

fn view(state: &AppState, wizard: &Wizard, step: Step, lang: Lang) -> WizardView {
    let message = |e: &FieldError| (e.field.clone(), e.message(lang));
    let summary = (step == Step::Summary).then(|| {
        let mut w = wizard.clone();
        let mut summary = Summary {
            wifi: wizard
                .answers
                .wifi
                .iter()
                .filter(|w| !w.key.is_empty())
                .map(|w| WifiCode {
                    ssid: w.ssid.clone(),
                    image: qr_image(&wifi_qr_text(w)),
                })
                .collect(),
            ..Summary::default()
        };
        match plan(state, &mut w) {
            Ok(Ok(plan)) => match state.applier.preview(&plan.edits) {
                Ok(diff) => summary.diff = diff,
                Err(e) => summary.problems.push(("apply".into(), e.to_string())),
            },
            Ok(Err(problems)) => summary.problems = problems.iter().map(message).collect(),
            Err(e) => summary.problems.push(("apply".into(), e.to_string())),
        }
        summary.problems.extend(wizard.errors.iter().map(message));
        summary
    });
    let applied = wizard.applied.as_ref().map(|a| {
        let status = state.applier.status();
        let test = a
            .test
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        AppliedView {
            pending: status.pending,
            outcome: status.last.clone(),
            new_address: a.new_address.clone(),
            token: a.token.clone(),
            clients: a.clients.clone(),
            test_needed: a.test_needed,
            checks: test.checks,
            test_done: test.done,
            note: status.note,
        }
    });
    WizardView {
        step,
        answers: form::without_secrets(&wizard.answers),
        defaults: defaults(state, lang),
        radios: radios(state),
        password_required: password_required(state),
        posted: wizard.posted.clone(),
        errors: wizard.errors.iter().map(message).collect(),
        detection: wizard.detection.clone(),
        summary,
        applied,
        restored: wizard.restored,
    }
}

/// Fields never echoed back into a page.
fn is_secret(name: &str) -> bool {
    name.contains("password") || name.rsplit('.').next() == Some("key")
}

fn redirect(to: &str, cookies: &[String]) -> Response {
    let headers: Vec<(header::HeaderName, String)> = cookies
        .iter()
        .map(|c| (header::SET_COOKIE, c.clone()))
        .collect();
    (AppendHeaders(headers), Redirect::to(to)).into_response()
}

/// POST `/setup/<step>`: `action` is `next`, `back`, `skip`, `detect` or (on the summary)
/// `apply`.
pub async fn post(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = request_lang(&headers);
    let setup_needed = password_required(&state);
    if setup_needed && !state.lan_side {
        return AppError::new(StatusCode::FORBIDDEN, "lan_only", "setup-lan-only", lang)
            .into_response();
    }
    let Some(step) = Step::from_slug(&slug).filter(|s| *s != Step::Applied) else {
        return AppError::new(StatusCode::NOT_FOUND, "not_found", "error-not-found", lang)
            .into_response();
    };
    let Some((cookie_value, mut wizard)) = cookie(&headers, WIZARD_COOKIE)
        .and_then(|c| state.wizards.get(c).map(|w| (c.to_owned(), w)))
    else {
        return Redirect::to("/setup").into_response();
    };
    if wizard.applied.is_some() {
        return Redirect::to("/setup/applied").into_response();
    }
    let action = fields
        .iter()
        .find(|(k, _)| k == "action")
        .map_or("next", |(_, v)| v.as_str())
        .to_owned();
    let lan_now = crate::wizard::current_lan(&config(&state, "network"));
    let mut cookies = Vec::new();
    let mut answers = wizard.answers.clone();
    let mut errors = form::read_step(step, &fields, &mut answers, setup_needed, lan_now);
    if action != "back" && action != "skip" {
        let wireless = config(&state, "wireless");
        let more = crate::wizard::router_checks(&answers, &wireless, &errors);
        errors.extend(
            more.into_iter()
                .filter(|e| Step::of_field(&e.field) == step),
        );
    }
    let next = match action.as_str() {
        "apply" if step == Step::Summary => {
            return apply(state, cookie_value, wizard, lang).await;
        }
        "skip" if step.skippable() => {
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
                }
                _ => {}
            }
            step.next()
        }
        // Back keeps what was typed, even when it is not valid yet: the summary lists it.
        "back" => {
            wizard.answers = answers;
            step.previous()
        }
        "detect" if step == Step::Internet => {
            wizard.answers = answers;
            wizard.detection = Some(detect(&state).await);
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
            if step == Step::Language
                && let Some(chosen) = answers.language.as_deref().and_then(Lang::from_code)
            {
                cookies.push(format!(
                    "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
                    chosen.code()
                ));
            }
            wizard.answers = answers;
            step.next()
        }
    };
    wizard.step = next;
    state.wizards.put(&cookie_value, wizard);
    redirect(&format!("/setup/{}", next.slug()), &cookies)
}

/// The password (and other secrets) that passed their own rules stay, even when another field
/// of the step was refused.
fn keep_valid_secrets(kept: &mut Answers, typed: &Answers, errors: &[FieldError]) {
    let refused = |field: &str| errors.iter().any(|e| e.field == field);
    if !refused("password") && !refused("password_repeat") && typed.password.is_some() {
        kept.password.clone_from(&typed.password);
    }
}

/// Detect on the WAN device: link, DHCP, PPPoE (three tries, one second apart).
async fn detect(state: &AppState) -> Detection {
    if !state.platform.network_functions_available() {
        return Detection::Failed {
            reason: "no network functions here (Portico runs in the host's namespace)".into(),
        };
    }
    let device = config(state, "network")
        .section("wan")
        .and_then(|s| s.get("device").map(ToString::to_string))
        .unwrap_or_else(|| "eth1".into());
    let probe = tokio::task::spawn_blocking(move || {
        crate::detect::probe(&device, 3, Duration::from_secs(1))
    })
    .await;
    match probe {
        Ok(Ok(crate::detect::Detected::NoLink)) => Detection::NoLink,
        Ok(Ok(crate::detect::Detected::NoAnswer)) => Detection::NoAnswer,
        Ok(Ok(crate::detect::Detected::Dhcp { server, offered })) => Detection::Dhcp {
            server: server.to_string(),
            offered: offered.to_string(),
        },
        Ok(Ok(crate::detect::Detected::Pppoe { concentrator })) => {
            Detection::Pppoe { concentrator }
        }
        Ok(Err(e)) => Detection::Failed {
            reason: e.to_string(),
        },
        Err(e) => Detection::Failed {
            reason: e.to_string(),
        },
    }
}

/// Apply from the summary: the same plan as `portico wizard apply`, checked (rollback unless
/// confirmed), then the password, a session, and the connection test.
async fn apply(state: AppState, cookie_value: String, mut wizard: Wizard, lang: Lang) -> Response {
    let refused = |mut wizard: Wizard, errors: Vec<FieldError>| {
        wizard.errors = errors;
        wizard.step = Step::Summary;
        state.wizards.put(&cookie_value, wizard);
        Redirect::to("/setup/summary").into_response()
    };
    let plan = match plan(&state, &mut wizard) {
        Ok(Ok(plan)) => plan,
        Ok(Err(_)) => return refused(wizard, Vec::new()),
        Err(e) => return AppError::internal(&e, lang).into_response(),
    };
    // The certificates first: the services read them when they reload.
    if let Err(e) = plan.write_files(state.platform.root()) {
        return AppError::internal(&e, lang).into_response();
    }
    let manager = state.applier.clone();
    let (edits, keep) = (plan.edits.clone(), plan.drop_on_confirm.clone());
    let result =
        tokio::task::spawn_blocking(move || manager.apply_keeping(&edits, true, keep)).await;
    let applied = match result {
        Ok(Ok(done)) => Some(done),
        Ok(Err(crate::apply::Error::Empty)) => None,
        Ok(Err(e)) => {
            let error = FieldError {
                field: "apply".into(),
                key: "wizard-error-apply",
                args: vec![("reason", e.to_string())],
            };
            return refused(wizard, vec![error]);
        }
        Err(e) => return AppError::internal(&e, lang).into_response(),
    };
    let mut cookies = Vec::new();
    match set_password(&state, wizard.answers.password.clone()).await {
        Ok(Some(session)) => cookies.push(super::forms::session_cookie(&session)),
        Ok(None) => {}
        Err(e) => return AppError::internal(&e, lang).into_response(),
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
        && state.platform.network_functions_available();
    let test = Arc::new(Mutex::new(TestProgress::default()));
    if test_needed {
        let gateway = match &wizard.answers.internet {
            Some(Internet::Static { gateway, .. }) => gateway.trim().parse::<Ipv4Addr>().ok(),
            _ => None,
        };
        let (url, progress) = (state.connection_test_url.clone(), test.clone());
        tokio::spawn(async move {
            // The services reload after the holdoff; the test starts after it.
            tokio::time::sleep(crate::apply::HOLDOFF + Duration::from_millis(500)).await;
            let report = progress.clone();
            let _ = tokio::task::spawn_blocking(move || {
                crate::conntest::run(gateway, &url, Duration::from_secs(30), |check| {
                    report
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .checks
                        .push(check);
                });
            })
            .await;
            progress.lock().unwrap_or_else(PoisonError::into_inner).done = true;
        });
    }
    wizard.applied = Some(AppliedState {
        token: applied.as_ref().and_then(|a| a.token.clone()),
        new_address,
        clients: plan
            .clients
            .iter()
            .map(|c| ClientView {
                name: c.name.clone(),
                text: c.text.clone(),
                // An OpenVPN file with its certificates is too long for a QR code.
                image: qrcode::QrCode::new(c.text.as_bytes())
                    .map(|_| qr_image(&c.text))
                    .unwrap_or_default(),
            })
            .collect(),
        test_needed,
        test,
    });
    wizard.step = Step::Applied;
    // Secrets are not needed any more.
    wizard.answers = form::secrets_removed(&wizard.answers);
    state.wizards.put(&cookie_value, wizard);
    redirect("/setup/applied", &cookies)
}

/// Sets the admin and root password (when the answers have one) and, at first boot, starts
/// the session of the browser that set it.
async fn set_password(
    state: &AppState,
    password: Option<String>,
) -> anyhow::Result<Option<String>> {
    let Some(password) = password else {
        return Ok(None);
    };
    let (auth, platform) = (state.auth.clone(), state.platform.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<Option<String>> {
        platform.set_root_password(&password)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_codes_escape_what_the_format_reserves() {
        let wifi = Wifi {
            radio: "radio0".into(),
            ssid: "Café;Gast".into(),
            key: "a:b\\c,d\"e".into(),
            encryption: "sae".into(),
            country: None,
        };
        assert_eq!(
            wifi_qr_text(&wifi),
            "WIFI:T:SAE;S:Café\\;Gast;P:a\\:b\\\\c\\,d\\\"e;;"
        );
        let mixed = Wifi {
            encryption: "sae-mixed".into(),
            ..wifi
        };
        assert!(wifi_qr_text(&mixed).starts_with("WIFI:T:WPA;"));
    }
}
