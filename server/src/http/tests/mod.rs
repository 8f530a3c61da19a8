//! The HTTP application through `app().oneshot(request)`, one module per area; the fixtures
//! and request helpers they share are here.

mod access;
mod backup;
mod ble;
mod config;
mod firmware;
mod settings;
mod status;
mod tasks;
mod vouchers;
mod wizard;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::{AppState, app};
use crate::auth::Auth;
use crate::platform::dev::DevPlatform;
use crate::state::StateDb;

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    state: AppState,
}

fn fixture(lan_side: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    Fixture {
        state: state_for(&root, lan_side),
        _dir: dir,
        root,
    }
}

/// Portico's state over `root`: a second call is Portico after a restart.
fn state_for(root: &std::path::Path, lan_side: bool) -> AppState {
    let platform = Arc::new(DevPlatform::open(root).unwrap());
    let db = StateDb::open(root).unwrap();
    let auth = Auth::new(db.clone(), Duration::from_secs(600)).unwrap();
    let applier =
        crate::apply::Applier::start(platform.clone(), db, Duration::from_secs(90)).unwrap();
    AppState::new(
        platform,
        auth,
        applier,
        lan_side,
        &crate::config::Main::default().connection_test_url,
    )
    .unwrap()
}

fn router(f: &Fixture) -> Router {
    app(f.state.clone())
}

async fn send(f: &Fixture, req: Request<Body>) -> Response<Body> {
    router(f).oneshot(req).await.unwrap()
}

async fn body(resp: Response<Body>) -> String {
    String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

fn get(path: &str) -> http::request::Builder {
    Request::get(path).header(header::HOST, "router")
}

fn form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "router")
        .header(header::ORIGIN, "http://router")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// `req` with the cookies in `cookie`.
fn with_cookie(mut req: Request<Body>, cookie: &str) -> Request<Body> {
    req.headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    req
}

fn location(resp: &Response<Body>) -> &str {
    resp.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The whole `Set-Cookie` line of cookie `name`.
fn set_cookie_line(resp: &Response<Body>, name: &str) -> String {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("a {name} cookie"))
        .to_owned()
}

/// Cookie `name` as a `Cookie` header sends it back (`name=value`).
fn set_cookie(resp: &Response<Body>, name: &str) -> String {
    set_cookie_line(resp, name)
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn session_cookie(resp: &Response<Body>) -> String {
    let value = set_cookie_line(resp, "portico_session");
    assert!(
        value.contains("HttpOnly") && value.contains("SameSite=Strict"),
        "{value}"
    );
    set_cookie(resp, "portico_session")
}

/// The admin password the tests set (it satisfies the wizard's rules).
const PASSWORD: &str = "Correct-Horse-Battery-9";
const PASSWORD_FORM: &str = "Correct-Horse-Battery-9";

/// A wizard of its own: the cookie that names it.
async fn start_wizard(f: &Fixture) -> String {
    let resp = send(f, get("/setup").body(Body::empty()).unwrap()).await;
    assert_eq!(location(&resp), "/setup/language");
    let value = resp
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a wizard cookie");
    value.split(';').next().unwrap().to_owned()
}

fn wizard_form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    let mut req = form(path, body);
    req.headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    req
}

/// Posts a wizard step; where the wizard sends the browser next.
async fn post_step(f: &Fixture, wizard: &str, step: &str, body: &str) -> String {
    let resp = send(f, wizard_form(&format!("/setup/{step}"), wizard, body)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{step}: {body}");
    location(&resp).to_owned()
}

/// The shortest first boot: language, name and password, Apply from the summary.
async fn set_up(f: &Fixture) -> String {
    set_up_with_wizard(f).await.0
}

/// A first-boot wizard through its first steps: English, name and password; its cookie.
async fn wizard_past_the_password(f: &Fixture) -> String {
    let wizard = start_wizard(f).await;
    assert_eq!(
        post_step(f, &wizard, "language", "language=en&action=next").await,
        "/setup/system"
    );
    assert_eq!(
        post_step(
            f,
            &wizard,
            "system",
            &format!("system.hostname=gartenhaus&system.zonename=Europe%2FBerlin&password={PASSWORD_FORM}&password_repeat={PASSWORD_FORM}&action=next"),
        )
        .await,
        "/setup/internet"
    );
    wizard
}

/// As [`set_up`]; also the cookie of the wizard that did it.
async fn set_up_with_wizard(f: &Fixture) -> (String, String) {
    let wizard = wizard_past_the_password(f).await;
    let resp = send(f, wizard_form("/setup/summary", &wizard, "action=apply")).await;
    assert_eq!(location(&resp), "/setup/applied");
    let session = session_cookie(&resp);
    // Keep the change (the new host name), as the applied page offers.
    let mut confirm = form("/apply/confirm", "back=%2F");
    confirm
        .headers_mut()
        .insert(header::COOKIE, session.parse().unwrap());
    assert_eq!(location(&send(f, confirm).await), "/");
    assert!(!f.state.applier.status().is_pending());
    (session, wizard)
}

/// The page of a wizard step (following the wizard's cookie).
async fn wizard_page(f: &Fixture, wizard: &str, step: &str) -> String {
    let resp = send(
        f,
        get(&format!("/setup/{step}"))
            .header(header::COOKIE, wizard)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "{step}");
    body(resp).await
}

fn json_post(path: &str, cookie: Option<&str>, json: &serde_json::Value) -> Request<Body> {
    let mut req = Request::post(path)
        .header(header::HOST, "router")
        .header(header::ORIGIN, "http://router")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    req.body(Body::from(json.to_string())).unwrap()
}

async fn json_of(resp: Response<Body>) -> (StatusCode, serde_json::Value) {
    let status = resp.status();
    (status, serde_json::from_str(&body(resp).await).unwrap())
}

/// Gives the fixture a running portal (switched off, nothing enforced: host namespace).
fn with_portal(f: &mut Fixture) -> Arc<crate::portal::service::Portal> {
    let portal = Arc::new(crate::portal::service::Portal::new(
        crate::portal::web::serve,
        f.state.vouchers.clone(),
        f.root.clone(),
        "127.0.0.1:0".parse().unwrap(),
        80,
        false,
        None,
    ));
    portal
        .configure(crate::portal::Settings::default())
        .unwrap();
    f.state.portal = Some(portal.clone());
    portal
}

fn authed_get(path: &str, cookie: &str) -> Request<Body> {
    get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// The page at `path` as the logged-in browser of `cookie` gets it.
async fn page_html(f: &Fixture, cookie: &str, path: &str) -> String {
    body(send(f, authed_get(path, cookie)).await).await
}

fn authed_form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    let mut req = form(path, body);
    req.headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    req
}

fn multipart(path: &str, cookie: &str, field: &str, bytes: &[u8]) -> Request<Body> {
    let boundary = "portico-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post(path)
        .header(header::HOST, "router")
        .header(header::ORIGIN, "http://router")
        .header(header::COOKIE, cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

/// The browser's wizard cookie, as a settings page sets it for a browser that has none.
async fn settings_wizard(f: &Fixture, session: &str, path: &str) -> String {
    let resp = send(
        f,
        get(path)
            .header(header::COOKIE, session)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    format!("{session}; {}", set_cookie(&resp, "portico_wizard"))
}
