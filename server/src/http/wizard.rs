//! The browser wizard's HTTP side: the page's data for `/setup/<step>` (asked by the page's
//! server function through `http::sources`) and the form posts to `/setup/<step>`. The wizard itself (its steps, its store, Apply)
//! is [`crate::wizard::session`]; this module translates cookies, forms and redirects.

use std::sync::PoisonError;

use app::i18n::Lang;
use app::wizard::FieldError;
use app::wizard::form::{self, AppliedView, Step, Summary, WifiCode, WizardView};
use app::wizard::page::WizardPageData;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use http::StatusCode;

use super::AppState;
use crate::web::{AppError, request_lang};
use crate::wizard::qr;
use crate::wizard::session::{self, Page, Posted, Wizard};

/// The cookie naming a browser's wizard.
pub const WIZARD_COOKIE: &str = "portico_wizard";

fn wizard_cookie(value: String) -> Cookie<'static> {
    Cookie::build((WIZARD_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
}

/// A wizard page for the browser whose cookies are in `headers` (`step`: `None` for `/setup`);
/// the `Set-Cookie` values when its wizard is new.
pub fn page(
    state: &AppState,
    headers: &http::HeaderMap,
    step: Option<&str>,
    settings: bool,
    lang: Lang,
) -> (
    Result<WizardPageData, (StatusCode, String)>,
    Vec<http::HeaderValue>,
) {
    if state.wizards.password_required() && !state.lan_side {
        return (
            Err((StatusCode::FORBIDDEN, lang.tr("setup-lan-only"))),
            Vec::new(),
        );
    }
    let jar = CookieJar::from_headers(headers);
    let (cookie, set) = if let Some(c) = jar.get(WIZARD_COOKIE) {
        (c.value().to_owned(), None)
    } else {
        let value = session::new_cookie();
        let set = http::HeaderValue::from_str(&wizard_cookie(value.clone()).to_string()).ok();
        (value, set)
    };
    // An unknown step is `/setup`: the wizard's own step.
    let requested = step.and_then(Step::from_slug);
    let outcome = match state.wizards.page(&cookie, requested, lang, settings) {
        Page::Redirect(path) => Ok(WizardPageData::Redirect(path)),
        Page::Render(step, wizard) => view(state, &wizard, step, lang)
            .map(|v| WizardPageData::Render(Box::new(v)))
            .map_err(|e| (e.status, e.message)),
    };
    (outcome, set.into_iter().collect())
}

fn view(state: &AppState, wizard: &Wizard, step: Step, lang: Lang) -> Result<WizardView, AppError> {
    let broken = |e: session::Error| super::error::wizard(&e, lang);
    let message = |e: &FieldError| (e.field.clone(), e.message(lang));
    let summary = if step == Step::Summary {
        let mut summary = Summary {
            wifi: wizard
                .answers
                .wifi
                .iter()
                .filter(|w| !w.key.is_empty())
                .map(|w| WifiCode {
                    ssid: w.ssid.clone(),
                    image: qr::svg_data_url(&qr::wifi_text(w)),
                })
                .collect(),
            ..Summary::default()
        };
        match state.wizards.preview(wizard).map_err(broken)? {
            Ok(diff) => summary.diff = diff,
            Err(problems) => summary.problems = problems.iter().map(message).collect(),
        }
        summary.problems.extend(wizard.errors.iter().map(message));
        Some(summary)
    } else {
        None
    };
    let applied = wizard.applied.as_ref().map(|a| {
        let status = super::convert::apply_status(&state.applier.status());
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
            wifi_changed: a.wifi_changed,
            checks: test.checks,
            test_done: test.done,
            note: status.note,
        }
    });
    Ok(WizardView {
        step,
        answers: form::without_secrets(&wizard.answers),
        defaults: state
            .wizards
            .defaults(lang)
            .map_err(|e| super::error::platform(&e, lang))?,
        radios: state
            .wizards
            .radios()
            .map_err(|e| super::error::platform(&e, lang))?,
        password_required: state.wizards.password_required(),
        posted: wizard.posted.clone(),
        errors: wizard.errors.iter().map(message).collect(),
        detection: wizard.detection.clone(),
        summary,
        applied,
        restored: wizard.restored,
        settings: wizard.focus.is_some(),
        vpn: app::wizard::form::VpnSetUp {
            wireguard: state
                .platform
                .package("network")
                .is_ok_and(|n| crate::tasks::vpn::wireguard(&n).is_some()),
            openvpn: state
                .platform
                .package("openvpn")
                .is_ok_and(|o| crate::tasks::vpn::openvpn(&o).is_some()),
        },
        community: crate::mesh::Membership::load(state.auth.db())
            .ok()
            .flatten()
            .map(|m| m.community),
    })
}

/// POST `/setup/<step>`: `action` is `next`, `back`, `skip`, `detect` or (on the summary)
/// `apply`.
pub async fn post(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    headers: http::HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = request_lang(&headers);
    if state.wizards.password_required() && !state.lan_side {
        return AppError::new(StatusCode::FORBIDDEN, "lan_only", "setup-lan-only", lang)
            .into_response();
    }
    let Some(step) = Step::from_slug(&slug).filter(|s| *s != Step::Applied) else {
        return AppError::new(StatusCode::NOT_FOUND, "not_found", "error-not-found", lang)
            .into_response();
    };
    let cookie = jar.get(WIZARD_COOKIE).map(|c| c.value().to_owned());
    match state.wizards.post(cookie.as_deref(), step, &fields).await {
        Ok(Posted::NoWizard) => Redirect::to("/setup").into_response(),
        Ok(Posted::Step(path, language)) => {
            let jar = match language {
                Some(chosen) => jar.add(crate::web::lang::cookie(chosen)),
                None => jar,
            };
            (jar, Redirect::to(&path)).into_response()
        }
        Ok(Posted::Applied { session, path }) => {
            let jar = match session {
                Some(token) => jar.add(super::forms::session_cookie(token)),
                None => jar,
            };
            (jar, Redirect::to(&path)).into_response()
        }
        Err(e) => super::error::wizard(&e, lang).into_response(),
    }
}
