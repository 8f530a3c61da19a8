//! The portal's admin side (`/portal`, login required): the voucher list in the page context,
//! and the forms behind it — create a batch, rename, extend, invalidate — each answered with a
//! redirect back to the list; the CSV export and the printable A4 sheet (askama).

use std::collections::HashMap;

use app::i18n::Lang;
use app::portal::{VoucherAdminView, VoucherFilter, VoucherRow};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use crate::portal::settings;
use crate::portal::vouchers::{self, Error, NewVouchers, State as VState, Voucher};
use crate::web::request_lang;

/// The filter from a query string.
pub fn filter_from(query: &HashMap<String, String>) -> VoucherFilter {
    let get = |k: &str| {
        query
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let state = get("state");
    VoucherFilter {
        q: get("q").chars().take(100).collect(),
        state: if matches!(
            state.as_str(),
            "unused" | "active" | "expired" | "invalidated"
        ) {
            state
        } else {
            String::new()
        },
        first: get("first").parse().ok(),
        last: get("last").parse().ok(),
    }
}

fn state_name(state: VState) -> &'static str {
    match state {
        VState::Unused => "unused",
        VState::Active => "active",
        VState::Expired => "expired",
        VState::Invalidated => "invalidated",
    }
}

fn matches(v: &Voucher, f: &VoucherFilter) -> bool {
    let q = f.q.to_lowercase();
    let code_q: String = q.chars().filter(char::is_ascii_alphanumeric).collect();
    (f.state.is_empty() || state_name(v.state) == f.state)
        && f.first.is_none_or(|first| v.id >= first)
        && f.last.is_none_or(|last| v.id <= last)
        && (q.is_empty()
            || v.name.to_lowercase().contains(&q)
            || (!code_q.is_empty() && v.code.replace('-', "").to_lowercase().contains(&code_q)))
}

/// The vouchers matching a filter, oldest first (as they were printed).
fn select(state: &AppState, filter: &VoucherFilter) -> Result<Vec<Voucher>, Error> {
    let mut list = state.vouchers.list(None)?;
    list.retain(|v| matches(v, filter));
    list.reverse();
    Ok(list)
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// A mesh node as the page names it: its host name when known, else its id.
fn node_name(node: [u8; 8], here: [u8; 8], names: &HashMap<String, String>) -> Option<String> {
    (node != here && node != [0; 8]).then(|| {
        let id = hex::encode(node);
        names.get(&id).cloned().unwrap_or(id)
    })
}

fn row(v: &Voucher, now: i64, here: [u8; 8], names: &HashMap<String, String>) -> VoucherRow {
    VoucherRow {
        made_on: node_name(v.node, here, names),
        used_on: v.activated_on.and_then(|n| node_name(n, here, names)),
        id: v.id,
        code: v.code.clone(),
        name: v.name.clone(),
        state: state_name(v.state).to_owned(),
        duration: v.duration,
        left: (v.state == VState::Active)
            .then(|| v.expires.map(|e| e - now))
            .flatten(),
        deadline: v.deadline.map(date),
        devices: v.macs.clone(),
        max_devices: v.max_devices,
    }
}

/// What `/portal` shows for this request.
pub fn admin_view(
    state: &AppState,
    query: &HashMap<String, String>,
    lang: Lang,
) -> VoucherAdminView {
    let filter = filter_from(query);
    let (mesh, names) = super::mesh::view(state);
    let here = state.vouchers.node();
    let (rows, matching, error) = match select(state, &filter) {
        Ok(list) => {
            let now = vouchers::now();
            let matching = list.len();
            // The newest first on screen.
            let rows = list
                .iter()
                .rev()
                .take(VoucherAdminView::SHOWN)
                .map(|v| row(v, now, here, &names))
                .collect();
            (rows, matching, None)
        }
        Err(err) => {
            tracing::error!(%err, "voucher list");
            (Vec::new(), 0, Some(lang.tr("error-internal")))
        }
    };
    let notice = query.get("done").map(|done| match done.as_str() {
        mesh if mesh.starts_with("mesh-") => super::mesh::message(mesh, lang).unwrap_or_default(),
        "created" => lang.tr_args(
            "vouchers-created",
            &[(
                "count",
                query
                    .get("count")
                    .and_then(|c| c.parse::<u32>().ok())
                    .unwrap_or_default()
                    .into(),
            )],
        ),
        "renamed" => lang.tr("vouchers-renamed"),
        "settings" => lang.tr("vouchers-settings-saved"),
        "opened" => lang.tr("vouchers-opened"),
        "closed" => lang.tr("vouchers-closed"),
        "extended" => lang.tr("vouchers-extended"),
        _ => lang.tr("vouchers-invalidated"),
    });
    let error = error.or_else(|| {
        query.get("error").map(|key| match key.as_str() {
            mesh if mesh.starts_with("mesh-") => {
                super::mesh::message(mesh, lang).unwrap_or_else(|| lang.tr("error-internal"))
            }
            "quantity" | "duration" | "deadline" | "devices" | "not-found" | "permanent"
            | "invalidated" | "garden" | "tries" | "logo" | "open" | "minutes" => {
                lang.tr(&format!("vouchers-error-{key}"))
            }
            "apply" => lang.tr_args(
                "vouchers-error-apply",
                &[(
                    "reason",
                    query.get("reason").cloned().unwrap_or_default().into(),
                )],
            ),
            _ => lang.tr("error-internal"),
        })
    });
    let settings = state
        .portal
        .as_ref()
        .map(|p| p.settings())
        .unwrap_or_default();
    let has_logo = settings.logo.is_some();
    VoucherAdminView {
        enabled: settings.enabled,
        has_logo,
        settings: app::portal::PortalSettingsView {
            enabled: settings.enabled,
            title: settings.title,
            text: settings.text,
            walled_garden: settings.walled_garden.join("\n"),
            tries_per_minute: settings.tries_per_minute,
            accept: settings.mode == settings::Mode::Accept,
            accept_minutes: settings.accept_minutes,
            open_left: settings
                .open_until
                .map(|until| until - vouchers::now())
                .filter(|left| *left > 0),
        },
        filter,
        rows,
        matching,
        notice,
        error,
        mesh,
    }
}

fn back_to(back: &str, extra: &str) -> Response {
    // Only our own query strings come back here: anything else is dropped.
    let back: String = back
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=&%-_.~".contains(*c))
        .collect();
    let sep = if back.is_empty() { "" } else { "&" };
    Redirect::to(&format!("/portal?{back}{sep}{extra}")).into_response()
}

fn error_key(err: &Error) -> &'static str {
    match err {
        Error::NotFound(_) => "not-found",
        Error::BadQuantity => "quantity",
        Error::BadMaxDevices => "devices",
        Error::Invalidated(_) => "invalidated",
        Error::Permanent(_) => "permanent",
        Error::Db(_) => "internal",
    }
}

/// The firewall follows the store after an admin change.
fn refresh(state: &AppState) {
    if let Some(portal) = &state.portal {
        portal.refresh();
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    quantity: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    permanent: Option<String>,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    name: String,
    max_devices: String,
}

/// `POST /portal/vouchers`: a batch.
pub async fn create(State(state): State<AppState>, Form(form): Form<CreateForm>) -> Response {
    // A refused form comes back as it was typed (the page fills its fields from `c.*`).
    let typed = kept(
        "c",
        &[
            ("quantity", form.quantity.as_str()),
            ("duration", form.duration.as_str()),
            ("permanent", if form.permanent.is_some() { "1" } else { "" }),
            ("deadline", form.deadline.as_str()),
            ("name", form.name.as_str()),
            ("max_devices", form.max_devices.as_str()),
        ],
    );
    let refused = |key: &str| back_to("", &format!("error={key}{typed}"));
    let Ok(quantity) = form.quantity.trim().parse::<u32>() else {
        return refused("quantity");
    };
    let Ok(max_devices) = form.max_devices.trim().parse::<u32>() else {
        return refused("devices");
    };
    let duration = if form.permanent.is_some() {
        None
    } else {
        match vouchers::parse_duration(&form.duration) {
            Some(d) => Some(d),
            None => return refused("duration"),
        }
    };
    let deadline = if form.deadline.trim().is_empty() {
        None
    } else {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        match time::Date::parse(form.deadline.trim(), &format) {
            // The end of that day, UTC.
            Ok(d) => Some(d.midnight().assume_utc().unix_timestamp() + 86_399),
            Err(_) => return refused("deadline"),
        }
    };
    let new = NewVouchers {
        quantity,
        name: form.name.trim().chars().take(100).collect(),
        duration,
        deadline,
        max_devices,
        author: crate::portal::cli::author(),
    };
    let store = state.vouchers.clone();
    match tokio::task::spawn_blocking(move || store.create(&new, |_| {})).await {
        Ok(Ok(made)) => {
            let first = made.iter().map(|v| v.id).min().unwrap_or(0);
            let last = made.iter().map(|v| v.id).max().unwrap_or(0);
            tracing::info!(count = made.len(), first, last, "vouchers created");
            Redirect::to(&format!(
                "/portal?first={first}&last={last}&done=created&count={}",
                made.len()
            ))
            .into_response()
        }
        Ok(Err(err)) => refused(error_key(&err)),
        Err(_) => back_to("", "error=internal"),
    }
}

/// `&<prefix>.<name>=<value>…` for the non-empty values of a refused form.
fn kept(prefix: &str, fields: &[(&str, &str)]) -> String {
    use std::fmt::Write as _;
    fields.iter().filter(|(_, value)| !value.is_empty()).fold(
        String::new(),
        |mut out, (name, value)| {
            let _ = write!(out, "&{prefix}.{name}={}", app::portal::encode(value));
            out
        },
    )
}

#[derive(Deserialize)]
pub struct RowForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    duration: String,
}

/// `POST /portal/vouchers/{id}/{action}`: rename, extend, invalidate.
pub async fn change(
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<RowForm>,
) -> Response {
    let store = state.vouchers.clone();
    let outcome = match action.as_str() {
        "rename" => tokio::task::spawn_blocking(move || store.rename(id, &form.name)).await,
        "extend" => {
            let Some(seconds) = vouchers::parse_duration(&form.duration) else {
                return back_to(&form.back, "error=duration");
            };
            tokio::task::spawn_blocking(move || store.extend(id, seconds)).await
        }
        "invalidate" => tokio::task::spawn_blocking(move || store.invalidate(id)).await,
        _ => return back_to(&form.back, "error=not-found"),
    };
    match outcome {
        Ok(Ok(_)) => {
            refresh(&state);
            let done = match action.as_str() {
                "rename" => "renamed",
                "extend" => "extended",
                _ => "invalidated",
            };
            tracing::info!(voucher = id, action = done, "voucher changed");
            back_to(&form.back, &format!("done={done}"))
        }
        Ok(Err(err)) => back_to(&form.back, &format!("error={}", error_key(&err))),
        Err(_) => back_to(&form.back, "error=internal"),
    }
}

/// A CSV field, quoted when needed; a leading formula character is defused (spreadsheets
/// would run `=…` as a formula).
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// `GET /portal/vouchers.csv`: every matching voucher.
pub async fn csv(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let filter = filter_from(&query);
    let list = match select(&state, &filter) {
        Ok(list) => list,
        Err(err) => {
            tracing::error!(%err, "voucher export");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let stamp = |t: Option<i64>| {
        t.map(|t| {
            time::OffsetDateTime::from_unix_timestamp(t)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default()
    };
    let mut out = String::from(
        "id,code,name,state,duration_s,deadline,created,activated,expires,invalidated,max_devices,devices,author\r\n",
    );
    for v in &list {
        let fields = [
            v.id.to_string(),
            v.code.clone(),
            v.name.clone(),
            state_name(v.state).to_owned(),
            v.duration.map(|d| d.to_string()).unwrap_or_default(),
            stamp(v.deadline),
            stamp(Some(v.created)),
            stamp(v.activated),
            stamp(v.expires),
            stamp(v.invalidated),
            v.max_devices.to_string(),
            v.macs.join(" "),
            v.author.clone(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"vouchers.csv\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        out,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    walled_garden: String,
    tries_per_minute: String,
    #[serde(default)]
    mode: String,
    #[serde(default = "sixty")]
    accept_minutes: String,
}

fn sixty() -> String {
    "60".into()
}

/// `POST /portal/settings`: applied like any configuration change (files written atomically,
/// services reloaded, rolled back on failure), then put in force without a restart.
pub async fn settings(State(state): State<AppState>, Form(form): Form<SettingsForm>) -> Response {
    let change = settings::Change {
        enabled: form.enabled.is_some(),
        title: &form.title,
        text: &form.text,
        walled_garden: &form.walled_garden,
        tries_per_minute: &form.tries_per_minute,
        mode: &form.mode,
        accept_minutes: &form.accept_minutes,
    };
    let read = state
        .platform
        .package("network")
        .and_then(|network| Ok((network, state.platform.package("dhcp")?)));
    let (network, dhcp) = match read {
        Ok(files) => files,
        Err(err) => return refused_apply(&err),
    };
    let typed = kept(
        "s",
        &[
            ("enabled", if change.enabled { "1" } else { "0" }),
            ("title", change.title),
            ("text", change.text),
            ("walled_garden", change.walled_garden),
            ("tries_per_minute", change.tries_per_minute),
            ("mode", change.mode),
            ("accept_minutes", change.accept_minutes),
        ],
    );
    let edits = match settings::edits(&change, &network, &dhcp, state.portal_port) {
        Ok(edits) => edits,
        Err(settings::Refused::Tries) => return back_to("", &format!("error=tries{typed}")),
        Err(settings::Refused::Garden) => return back_to("", &format!("error=garden{typed}")),
        Err(settings::Refused::Minutes) => {
            return back_to("", &format!("error=minutes{typed}"));
        }
    };
    tracing::info!(enabled = change.enabled, "applying portal settings");
    apply_portal_edits(&state, edits, "settings").await
}

/// Longest "open for everyone" time: a week.
const OPEN_MAX: i64 = 7 * 86_400;

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    duration: String,
    #[serde(default)]
    end: Option<String>,
}

/// `POST /portal/open`: the admin's emergency switch — everyone through for a time (at most a
/// week), ending by itself; or ended now.
pub async fn open(State(state): State<AppState>, Form(form): Form<OpenForm>) -> Response {
    let until = if form.end.is_some() {
        None
    } else {
        match vouchers::parse_duration(&form.duration) {
            Some(d) if d <= OPEN_MAX => Some(vouchers::now() + d),
            _ => {
                let typed = kept("o", &[("duration", form.duration.as_str())]);
                return back_to("", &format!("error=open{typed}"));
            }
        }
    };
    tracing::info!(?until, "portal opened for everyone (none: closed again)");
    let done = if until.is_some() { "opened" } else { "closed" };
    apply_portal_edits(&state, settings::open_edits(until), done).await
}

/// `POST /portal/logo` (multipart, field `logo`; an empty field or `remove` takes it away):
/// stored as `/etc/portico/portal-logo.<type>` and set as `portico.portal.logo`.
pub async fn logo(State(state): State<AppState>, mut form: axum::extract::Multipart) -> Response {
    let mut upload: Option<Vec<u8>> = None;
    let mut remove = false;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("logo") => match field.bytes().await {
                Ok(bytes) if bytes.len() > settings::LOGO_MAX => return back_to("", "error=logo"),
                Ok(bytes) if !bytes.is_empty() => upload = Some(bytes.to_vec()),
                Ok(_) => {}
                Err(_) => return back_to("", "error=logo"),
            },
            Some("remove") => remove = true,
            _ => {}
        }
    }
    let edits = match (upload, remove) {
        (Some(bytes), false) => {
            let root = state.platform.root().to_owned();
            let stored =
                tokio::task::spawn_blocking(move || settings::store_logo(&root, &bytes)).await;
            match stored {
                Ok(Ok(edits)) => edits,
                Ok(Err(settings::LogoError::NotAnImage)) => return back_to("", "error=logo"),
                Ok(Err(err)) => {
                    tracing::error!(%err, "portal logo");
                    return back_to("", "error=internal");
                }
                Err(err) => {
                    tracing::error!(%err, "portal logo");
                    return back_to("", "error=internal");
                }
            }
        }
        (_, true) => settings::logo_edits(""),
        (None, false) => return back_to("", "error=logo"),
    };
    apply_portal_edits(&state, edits, "settings").await
}

/// A change that could not be applied: the page says why.
fn refused_apply(err: &dyn std::fmt::Display) -> Response {
    tracing::error!(%err, "portal settings");
    let reason = app::portal::encode(&err.to_string());
    back_to("", &format!("error=apply&reason={reason}"))
}

/// Applies portal edits like any configuration change (files written atomically, services
/// reloaded, rolled back on failure), then puts the settings now in `/etc/config/portico` in
/// force without a restart; answers with the page and what happened.
async fn apply_portal_edits(state: &AppState, edits: Vec<uci::Edit>, done: &str) -> Response {
    let applier = state.applier.clone();
    let failed = match tokio::task::spawn_blocking(move || applier.apply(&edits, false)).await {
        Ok(Ok(_) | Err(crate::apply::Error::Empty)) => None,
        Ok(Err(err)) => Some(err.to_string()),
        Err(err) => Some(err.to_string()),
    };
    let failed = match (failed, state.portal.as_ref()) {
        (Some(err), _) => Some(err),
        (None, None) => None,
        (None, Some(portal)) => {
            let portal = std::sync::Arc::clone(portal);
            let root = state.platform.root().to_owned();
            let result = tokio::task::spawn_blocking(move || -> Result<(), String> {
                let (settings, _) = settings::Settings::load(&root).map_err(|e| e.to_string())?;
                portal.configure(settings).map_err(|e| e.to_string())
            })
            .await;
            match result {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(err),
                Err(err) => Some(err.to_string()),
            }
        }
    };
    match failed {
        None => back_to("", &format!("done={done}")),
        Some(err) => refused_apply(&err),
    }
}

struct Card {
    code: String,
    name: String,
    duration: String,
    /// The portal's code with this voucher filled in: its side in modules and its path.
    side: usize,
    path: String,
}

/// The sheet's one script: its Print button (allowed by the page's CSP through its hash).
const PRINT_SCRIPT: &str =
    "document.getElementById('print').addEventListener('click', () => window.print());";

/// The CSP source that allows [`PRINT_SCRIPT`] and nothing else.
fn print_script_source() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(PRINT_SCRIPT.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

#[derive(Template)]
#[template(path = "print.html")]
struct PrintSheet {
    lang: &'static str,
    title: String,
    count: String,
    heading: String,
    none: String,
    network: String,
    join: String,
    open: String,
    back: String,
    print: String,
    /// The Wi-Fi password as text, beside its code (empty for an open network).
    password: String,
    wifi_qr: Option<(usize, String)>,
    cards: Vec<Card>,
    script: &'static str,
}

/// `GET /portal/print`: an A4 sheet of cards (code, time, a QR code to join the Wi-Fi and one
/// that opens the portal with the code filled in).
pub async fn print(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let lang = request_lang(&headers);
    let filter = filter_from(&query);
    let mut list = match select(&state, &filter) {
        Ok(list) => list,
        Err(err) => {
            tracing::error!(%err, "voucher sheet");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    list.truncate(vouchers::MAX_BATCH as usize);
    let read = state
        .platform
        .package("network")
        .and_then(|network| Ok((network, state.platform.package("wireless")?)));
    let (address, wifi) = match read {
        Ok((network, wireless)) => (
            settings::lan_address(&network),
            settings::guest_wifi(&wireless),
        ),
        Err(err) => return super::error::platform(&err, lang).into_response(),
    };
    let portal = format!("http://{address}:{}/", state.portal_port);
    let cards = list
        .iter()
        .map(|v| {
            let (side, path) = crate::wizard::qr::svg_path(&format!("{portal}?code={}", v.code))
                .unwrap_or_default();
            Card {
                code: v.code.clone(),
                name: v.name.clone(),
                duration: v.duration.map_or_else(
                    || lang.tr("vouchers-permanent-short"),
                    app::portal::duration_text,
                ),
                side,
                path,
            }
        })
        .collect::<Vec<_>>();
    let sheet = PrintSheet {
        lang: lang.code(),
        title: lang.tr("print-title"),
        count: lang.tr_args("vouchers-shown", &[("matching", cards.len().into())]),
        heading: lang.tr("print-title"),
        none: lang.tr("print-none"),
        network: wifi
            .as_ref()
            .map(|w| lang.tr_args("print-network", &[("ssid", w.ssid.clone().into())]))
            .unwrap_or_default(),
        join: lang.tr("print-join"),
        open: lang.tr("print-open"),
        back: lang.tr("print-back"),
        print: lang.tr("print-button"),
        password: wifi
            .as_ref()
            .filter(|w| !w.key.is_empty())
            .map(|w| lang.tr_args("print-password", &[("key", w.key.clone().into())]))
            .unwrap_or_default(),
        wifi_qr: wifi
            .as_ref()
            .and_then(|w| crate::wizard::qr::svg_path(&crate::wizard::qr::wifi_text(w))),
        cards,
        script: PRINT_SCRIPT,
    };
    match sheet.render() {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_str(&format!(
                        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {}; frame-ancestors 'none'",
                        print_script_source()
                    ))
                    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
                ),
            ],
            html,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(%err, "voucher sheet");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn filters_read_only_what_they_know() {
        let q: HashMap<String, String> = [
            ("q", " café "),
            ("state", "bogus"),
            ("first", "3"),
            ("last", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let f = filter_from(&q);
        assert_eq!(f.q, "café");
        assert_eq!(f.state, "");
        assert_eq!((f.first, f.last), (Some(3), None));
    }
}
