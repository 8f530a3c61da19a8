//! What every request passes before a handler runs: cross-origin protection for anything that
//! changes state, then the access rules (first-boot setup from the LAN only, login for the
//! rest). It also decides the page language and hands [`PageContext`] to the renderer.

use app::{AssetNames, PageContext};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, Method, StatusCode};

use axum_extra::extract::CookieJar;

use super::AppState;
use crate::auth::SESSION_COOKIE;
use crate::web::{AppError, request_lang};

/// Paths anyone may fetch: health, the hashed assets, the language switcher.
fn is_public(path: &str) -> bool {
    path == "/healthz"
        || path == "/lang"
        || path.starts_with("/pkg/")
        || path == "/favicon.ico"
        || path == "/api/v1/openapi.json"
        // Authorised by the apply token (or a session), checked by the handler.
        || path == "/api/v1/config/apply/confirm"
        || path == "/apply/confirm"
        // The confirmation page at the router's new address (the token comes with it).
        || path == "/confirm"
}

/// Whether the request carries a live session (for handlers behind public paths).
pub fn logged_in(state: &AppState, headers: &HeaderMap) -> bool {
    CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .is_some_and(|token| state.auth.touch_session(token.value()).unwrap_or(false))
}

fn wants_html(req: &Request) -> bool {
    req.method() == Method::GET && !req.uri().path().starts_with("/api/")
}

/// A plain HTML form's post (not the API, not a server function's call).
fn is_form_post(req: &Request) -> bool {
    let form = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.starts_with("application/x-www-form-urlencoded")
                || t.starts_with("multipart/form-data")
        });
    req.method() == Method::POST && form && !req.uri().path().starts_with("/api/")
}

/// Where a browser without a session goes: the login page, saying why when a session
/// expired, and where to return afterwards (the page itself, or for a form the page the form
/// was on).
fn to_login(req: &Request, expired: bool) -> Response {
    let back = if req.method() == Method::GET {
        Some(
            req.uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
        )
    } else {
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok());
        req.headers()
            .get(http::header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(|r| r.split_once("://"))
            .and_then(|(_, rest)| {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                (Some(authority) == host).then_some(if path.is_empty() { "/" } else { path })
            })
            .map(str::to_owned)
    };
    let mut query = Vec::new();
    if expired {
        query.push("error=expired".to_owned());
    }
    if let Some(back) = back
        .as_deref()
        .and_then(crate::web::local_path)
        .filter(|b| *b != "/")
    {
        query.push(format!("next={}", app::portal::encode(back)));
    }
    let to = if query.is_empty() {
        "/login".to_owned()
    } else {
        format!("/login?{}", query.join("&"))
    };
    Redirect::to(&to).into_response()
}

/// The access rules, in this order:
/// 1. public paths pass;
/// 2. before an admin password exists only `/setup` is reachable (its form only from the
///    LAN side, which the handler checks again);
/// 3. without a live session only `/login` is reachable;
/// 4. with one, everything else.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let lang = request_lang(req.headers());
    let path = req.uri().path().to_owned();
    let setup_needed = match state.auth.setup_needed() {
        Ok(needed) => needed,
        Err(err) => return AppError::internal(&err, lang).into_response(),
    };
    let token = CookieJar::from_headers(req.headers())
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned());
    let logged_in = match (&token, setup_needed) {
        (Some(token), false) => match state.auth.touch_session(token) {
            Ok(live) => live,
            Err(err) => return AppError::internal(&err, lang).into_response(),
        },
        _ => false,
    };
    req.extensions_mut().insert(PageContext {
        lang,
        logged_in,
        setup_needed,
        lan_side: state.lan_side,
        apply: logged_in
            .then(|| super::convert::apply_status(&state.applier.status()))
            .filter(|s| s.pending),
        #[cfg(feature = "communities")]
        communities: None,
    });
    req.extensions_mut().insert(crate::web::assets::manifest());
    if is_public(&path) {
        return next.run(req).await;
    }
    let wizard_path = path == "/setup" || path.starts_with("/setup/");
    if setup_needed {
        return match path.as_str() {
            // The wizard (its page data is refused off the LAN side by the wizard's source)
            // and its password meter.
            _ if wizard_path => next.run(req).await,
            "/api/fn/wizard_view" | "/api/fn/password_score" => next.run(req).await,
            _ if wants_html(&req) => Redirect::to("/setup").into_response(),
            _ => AppError::new(
                StatusCode::FORBIDDEN,
                "setup_required",
                "error-setup-required",
                lang,
            )
            .into_response(),
        };
    }
    if !logged_in {
        return match path.as_str() {
            "/login" => next.run(req).await,
            _ if wants_html(&req) || is_form_post(&req) => to_login(&req, token.is_some()),
            _ => AppError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "error-unauthorized",
                lang,
            )
            .into_response(),
        };
    }
    if path == "/login" && req.method() == Method::GET {
        return Redirect::to("/").into_response();
    }
    // The port an admin comes through keeps its role (ports never cut the session).
    if let (Some(ports), Some(peer)) = (
        &state.ports,
        req.extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>(),
    ) {
        ports.admin_seen(peer.0.ip());
    }
    next.run(req).await
}

/// `AssetNames` is also needed by handlers that render outside Leptos.
#[allow(dead_code, reason = "kept for the askama pages of later issues")]
pub fn assets(req: &Request) -> AssetNames {
    req.extensions()
        .get::<AssetNames>()
        .cloned()
        .unwrap_or_default()
}
