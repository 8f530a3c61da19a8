//! The plain HTML form endpoints (they work without JavaScript): login, logout, first-boot
//! password, language switch. Each answers with a 303 redirect to a page.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use http::HeaderMap;
use serde::Deserialize;

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use super::AppState;
use crate::auth::SESSION_COOKIE;
use crate::web::{AppError, request_lang};

/// The session cookie: HTTP only, same site only, gone when the browser closes.
pub(super) fn session_cookie(token: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
}

fn client_ip(connect: Option<&Extension<ConnectInfo<SocketAddr>>>) -> IpAddr {
    connect.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.0.ip())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    /// Where the browser was when it had to log in (a local path).
    #[serde(default)]
    next: String,
}

/// `/login?…` with `query` and, when there is one, where to go after logging in.
fn login_again(query: &str, next: Option<&str>) -> Response {
    let next = next
        .filter(|n| *n != "/")
        .map(|n| format!("&next={}", app::portal::encode(n)))
        .unwrap_or_default();
    Redirect::to(&format!("/login?{query}{next}")).into_response()
}

/// POST /login: checks the password (rate-limited per client), starts a session.
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = request_lang(&headers);
    let client = client_ip(connect.as_ref());
    let next = crate::web::local_path(&form.next);
    if let Err(wait) = state.limiter.check(&client, Instant::now()) {
        return login_again(&format!("error=rate&wait={}", wait.as_secs().max(1)), next);
    }
    let auth = state.auth.clone();
    let verified =
        tokio::task::spawn_blocking(move || auth.verify(&form.user, &form.password)).await;
    match verified {
        Ok(Ok(true)) => {
            state.limiter.succeed(&client);
            match state.auth.create_session() {
                Ok(token) => (
                    jar.add(session_cookie(token)),
                    Redirect::to(next.unwrap_or("/")),
                )
                    .into_response(),
                Err(err) => AppError::internal(&err, lang).into_response(),
            }
        }
        Ok(Ok(false)) => {
            tracing::info!(%client, "failed login");
            let wait = state.limiter.fail(&client, Instant::now());
            if wait.is_zero() {
                login_again("error=failed", next)
            } else {
                login_again(&format!("error=rate&wait={}", wait.as_secs().max(1)), next)
            }
        }
        Ok(Err(err)) => AppError::internal(&err, lang).into_response(),
        Err(err) => AppError::internal(&err, lang).into_response(),
    }
}

/// POST /logout: ends the session.
pub async fn logout(State(state): State<AppState>, jar: CookieJar, headers: HeaderMap) -> Response {
    if let Some(token) = jar.get(SESSION_COOKIE)
        && let Err(err) = state.auth.end_session(token.value())
    {
        return AppError::internal(&err, request_lang(&headers)).into_response();
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/login")).into_response()
}

#[derive(Deserialize, Default)]
pub struct ApplyForm {
    /// The apply token (when confirming from the router's new address, without a session).
    #[serde(default)]
    token: Option<String>,
    /// Where to go afterwards: a local path.
    #[serde(default)]
    back: Option<String>,
}

fn back_to(form: &ApplyForm) -> String {
    form.back
        .as_deref()
        .and_then(crate::web::local_path)
        .unwrap_or("/")
        .to_owned()
}

/// POST /apply/confirm: the banner's "Keep the change" without JavaScript. A session or the
/// apply token authorises it (the path is public for the token's sake).
pub async fn confirm_apply(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ApplyForm>,
) -> Response {
    let lang = request_lang(&headers);
    let token = form.token.as_deref().filter(|t| !t.is_empty());
    if token.is_none() && !super::gate::logged_in(&state, &headers) {
        return Redirect::to("/login").into_response();
    }
    match state.applier.confirm(token) {
        Ok(()) | Err(crate::apply::Error::NothingPending) => {
            Redirect::to(&back_to(&form)).into_response()
        }
        Err(e) => AppError::internal(&e, lang).into_response(),
    }
}

/// POST /apply/rollback: the banner's "Revert now" without JavaScript.
pub async fn rollback_apply(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ApplyForm>,
) -> Response {
    let lang = request_lang(&headers);
    let applier = state.applier.clone();
    match tokio::task::spawn_blocking(move || applier.rollback()).await {
        // The page says it was reverted on request (`applied=reverted`).
        Ok(Ok(())) => {
            let back = back_to(&form);
            let sep = if back.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{back}{sep}applied=reverted")).into_response()
        }
        Ok(Err(crate::apply::Error::NothingPending)) => {
            Redirect::to(&back_to(&form)).into_response()
        }
        Ok(Err(e)) => AppError::internal(&e, lang).into_response(),
        Err(e) => AppError::internal(&e, lang).into_response(),
    }
}

/// How long the page waits when only Portico restarts.
const PORTICO_RESTART_SECONDS: u64 = 8;

/// `POST /settings/reboot`: the platform reboots (OpenWrt) or Portico restarts (dev); the page
/// then waits and comes back by itself.
pub async fn reboot(State(state): State<AppState>) -> Response {
    let platform = state.platform.clone();
    match tokio::task::spawn_blocking(move || platform.reboot()).await {
        Ok(Ok(crate::platform::Restart::Machine { seconds })) => {
            tracing::info!("rebooting");
            Redirect::to(&format!("/settings/reboot?restarting={seconds}")).into_response()
        }
        Ok(Ok(crate::platform::Restart::Portico)) => {
            tracing::info!("restarting Portico");
            (state.restart)();
            Redirect::to(&format!(
                "/settings/reboot?restarting={PORTICO_RESTART_SECONDS}"
            ))
            .into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(%e, "the reboot failed");
            Redirect::to("/settings/reboot?error=failed").into_response()
        }
        Err(_) => Redirect::to("/settings/reboot?error=failed").into_response(),
    }
}
