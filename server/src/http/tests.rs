//! The HTTP application through `app().oneshot(request)`: access rules, login, setup,
//! languages, cross-origin protection and security headers.

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
    AppState::new(platform, auth, applier, lan_side).unwrap()
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

fn location(resp: &Response<Body>) -> &str {
    resp.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn session_cookie(resp: &Response<Body>) -> String {
    let value = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portico_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(
        value.contains("HttpOnly") && value.contains("SameSite=Strict"),
        "{value}"
    );
    value.split(';').next().unwrap().to_owned()
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
    let resp = send(f, wizard_form("/setup/summary", &wizard, "action=apply")).await;
    assert_eq!(location(&resp), "/setup/applied");
    let session = session_cookie(&resp);
    // Keep the change (the new host name), as the applied page offers.
    let mut confirm = form("/apply/confirm", "back=%2F");
    confirm
        .headers_mut()
        .insert(header::COOKIE, session.parse().unwrap());
    assert_eq!(location(&send(f, confirm).await), "/");
    assert!(!f.state.applier.status().pending);
    session
}

#[tokio::test]
async fn healthz_answers_without_login() {
    let f = fixture(false);
    let resp = send(&f, get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(resp).await, "ok\n");
}

#[tokio::test]
async fn before_setup_every_page_leads_to_setup() {
    let f = fixture(true);
    for path in ["/", "/portal", "/login"] {
        let resp = send(&f, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&resp), "/setup");
    }
    let wizard = start_wizard(&f).await;
    let resp = send(
        &f,
        get("/setup/language")
            .header(header::COOKIE, &wizard)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = body(resp).await;
    assert!(
        html.contains("action=\"/setup/language\""),
        "the wizard is shown on the LAN side"
    );
    let resp = send(
        &f,
        Request::post("/api/fn/system_status")
            .header(header::HOST, "router")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["error"]["code"], "setup_required");
}

#[tokio::test]
async fn first_boot_setup_is_refused_off_the_lan() {
    let f = fixture(false);
    let html = body(send(&f, get("/setup/system").body(Body::empty()).unwrap()).await).await;
    assert!(html.contains("only possible from the local network"));
    assert!(!html.contains("action=\"/setup/system\""));
    let resp = send(&f, form("/setup/summary", "action=apply")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(f.state.auth.setup_needed().unwrap(), "no password was set");
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

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one wizard walked step by step")]
async fn the_wizard_refuses_bad_answers_in_the_chosen_language_and_keeps_secrets_off_disk() {
    let f = fixture(true);
    let wizard = start_wizard(&f).await;
    let resp = send(
        &f,
        wizard_form("/setup/language", &wizard, "language=de&action=next"),
    )
    .await;
    assert_eq!(location(&resp), "/setup/system");
    assert!(
        resp.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("portico_lang=de")),
        "the choice persists for later pages"
    );
    // Too short, and the repetition differs: the same step again, with German messages.
    assert_eq!(
        post_step(
            &f,
            &wizard,
            "system",
            "system.hostname=-bad&system.zonename=Europe%2FBerlin&password=short&password_repeat=other&action=next",
        )
        .await,
        "/setup/system"
    );
    let mut req = get("/setup/system")
        .header(header::COOKIE, &wizard)
        .body(Body::empty())
        .unwrap();
    req.headers_mut().insert(
        header::COOKIE,
        format!("{wizard}; portico_lang=de").parse().unwrap(),
    );
    let html = body(send(&f, req).await).await;
    assert!(
        html.contains("Das Passwort muss mindestens 10 Zeichen haben."),
        "{html}"
    );
    assert!(html.contains("Die beiden Passwörter stimmen nicht überein."));
    assert!(
        html.contains("value=\"-bad\""),
        "refused values are shown again"
    );
    // A common password that follows the rules is refused by the estimator (server side).
    assert_eq!(
        post_step(&f, &wizard, "system", "system.hostname=gartenhaus&system.zonename=Europe%2FBerlin&password=Password123%21&password_repeat=Password123%21&action=next").await,
        "/setup/system"
    );
    // A good one passes; the internet step refuses a gateway outside the subnet.
    assert_eq!(
        post_step(&f, &wizard, "system", &format!("system.hostname=gartenhaus&system.zonename=Europe%2FBerlin&system.country=DE&password={PASSWORD_FORM}&password_repeat={PASSWORD_FORM}&action=next")).await,
        "/setup/internet"
    );
    assert_eq!(
        post_step(&f, &wizard, "internet", "internet.type=static&internet.ipaddr=100.64.0.9&internet.netmask=24&internet.gateway=100.64.1.1&action=next").await,
        "/setup/internet"
    );
    let html = wizard_page(&f, &wizard, "internet").await;
    assert!(html.contains("The gateway must be another address inside the internet subnet."));
    // Nothing secret is on disk before Apply; the rest of the answers is.
    let stored: String = f
        .state
        .auth
        .db()
        .with(|c| c.query_row("SELECT answers FROM wizards", [], |r| r.get(0)))
        .unwrap();
    assert!(
        stored.contains("gartenhaus") && !stored.contains("Correct-Horse"),
        "{stored}"
    );
    assert!(
        !std::fs::read_dir(f.root.join("etc/portico"))
            .unwrap()
            .any(|e| {
                let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
                bytes
                    .windows(PASSWORD.len())
                    .any(|w| w == PASSWORD.as_bytes())
            })
    );
    // Back keeps the answers; skip leaves the internet as it is; the summary shows the diff.
    assert_eq!(
        post_step(&f, &wizard, "internet", "action=skip").await,
        "/setup/wifi"
    );
    let html = wizard_page(&f, &wizard, "summary").await;
    assert!(
        html.contains("option hostname &#x27;gartenhaus&#x27;")
            || html.contains("option hostname 'gartenhaus'"),
        "{html}"
    );
}

#[tokio::test]
async fn a_restart_resumes_the_wizard_without_its_secrets() {
    let mut f = fixture(true);
    let wizard = start_wizard(&f).await;
    send(
        &f,
        wizard_form("/setup/language", &wizard, "language=en&action=next"),
    )
    .await;
    assert_eq!(
        post_step(
            &f,
            &wizard,
            "system",
            &format!("system.hostname=gartenhaus&system.zonename=Europe%2FBerlin&password={PASSWORD_FORM}&password_repeat={PASSWORD_FORM}&action=next"),
        )
        .await,
        "/setup/internet"
    );
    assert_eq!(
        post_step(
            &f,
            &wizard,
            "internet",
            "internet.type=pppoe&internet.username=kunde&internet.password=geheim-1&action=next"
        )
        .await,
        "/setup/wifi"
    );

    // Portico restarts: same root, fresh memory.
    f.state = state_for(&f.root, true);
    let resp = send(
        &f,
        get("/setup")
            .header(header::COOKIE, &wizard)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        location(&resp),
        "/setup/wifi",
        "the browser resumes where it was"
    );
    let html = wizard_page(&f, &wizard, "system").await;
    assert!(html.contains("Portico was restarted."), "{html}");
    assert!(
        html.contains("value=\"gartenhaus\""),
        "non-secret answers survive"
    );
    // The secrets did not: the summary asks for them again and Apply refuses.
    let html = wizard_page(&f, &wizard, "summary").await;
    assert!(
        html.contains("These answers must be fixed before applying"),
        "{html}"
    );
    assert!(html.contains("Internet: PPPoE as kunde."));
    let resp = send(&f, wizard_form("/setup/summary", &wizard, "action=apply")).await;
    assert_eq!(location(&resp), "/setup/summary");
    assert!(f.state.auth.setup_needed().unwrap());
}

#[tokio::test]
async fn setup_sets_the_admin_and_root_password_once() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let shadow = std::fs::read_to_string(f.root.join("etc/shadow")).unwrap();
    assert!(
        shadow.starts_with("root:$6$"),
        "root gets a SHA-512 crypt hash: {shadow}"
    );
    assert!(crate::platform::shadow::check(&shadow, PASSWORD));
    let resp = send(
        &f,
        get("/")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // Without a session the wizard is behind the login now.
    let resp = send(&f, get("/setup").body(Body::empty()).unwrap()).await;
    assert_eq!(location(&resp), "/login");
    assert!(f.state.auth.verify("root", PASSWORD).unwrap());
}

#[tokio::test]
async fn login_logout_and_one_generic_failure_message() {
    let f = fixture(true);
    set_up(&f).await;
    let resp = send(&f, get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(location(&resp), "/login");
    for body_text in [
        "user=root&password=wrong",
        "user=nobody&password=Correct-Horse-Battery-9",
    ] {
        let resp = send(&f, form("/login", body_text)).await;
        assert_eq!(location(&resp), "/login?error=failed", "{body_text}");
        assert!(resp.headers().get(header::SET_COOKIE).is_none());
    }
    let html = body(send(&f, get("/login?error=failed").body(Body::empty()).unwrap()).await).await;
    assert!(html.contains("Wrong user name or password."));
    let resp = send(
        &f,
        form("/login", "user=root&password=Correct-Horse-Battery-9"),
    )
    .await;
    assert_eq!(location(&resp), "/");
    let cookie = session_cookie(&resp);
    let html = body(
        send(
            &f,
            get("/")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(
        html.contains("Overview") && html.contains("Portico version"),
        "{html}"
    );
    assert!(html.contains(env!("CARGO_PKG_VERSION")));
    let resp = send(&f, {
        let mut r = form("/logout", "");
        r.headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        r
    })
    .await;
    assert_eq!(location(&resp), "/login");
    let resp = send(
        &f,
        get("/")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        location(&resp),
        "/login?error=expired",
        "the old cookie no longer works"
    );
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_per_client() {
    let f = fixture(true);
    set_up(&f).await;
    let mut last = String::new();
    for _ in 0..=crate::auth::LoginLimiter::FREE_ATTEMPTS {
        last = location(&send(&f, form("/login", "user=root&password=wrong")).await).to_owned();
    }
    assert!(last.starts_with("/login?error=rate&wait="), "{last}");
    // Even the right password waits now.
    let resp = send(
        &f,
        form("/login", "user=root&password=Correct-Horse-Battery-9"),
    )
    .await;
    assert!(location(&resp).starts_with("/login?error=rate"));
    let html = body(
        send(
            &f,
            get("/login?error=rate&wait=2").body(Body::empty()).unwrap(),
        )
        .await,
    )
    .await;
    assert!(html.contains("Try again in 2 seconds."));
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let f = fixture(true);
    let mut req = form("/setup/system", "password=x&password_repeat=x&action=next");
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    let resp = send(&f, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["error"]["code"], "cross_origin");
    let mut req = form("/login", "user=root&password=x");
    req.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    req.headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "de".parse().unwrap());
    let resp = send(&f, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        body(resp).await.contains("anderen Website"),
        "the error is in the caller's language"
    );
    assert!(f.state.auth.setup_needed().unwrap());
}

#[tokio::test]
async fn language_from_header_cookie_and_switcher() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let page = |lang_header: &str, extra_cookie: &str| {
        get("/offload")
            .header(header::COOKIE, format!("{cookie}{extra_cookie}"))
            .header(header::ACCEPT_LANGUAGE, lang_header)
            .body(Body::empty())
            .unwrap()
    };
    let html = body(send(&f, page("de-DE,de;q=0.9", "")).await).await;
    assert!(
        html.contains("<html lang=\"de\"") && html.contains("Firewall-Beschleunigung"),
        "{html}"
    );
    let html = body(send(&f, page("de-DE", "; portico_lang=en")).await).await;
    assert!(html.contains("<html lang=\"en\"") && html.contains("Firewall offload"));
    for (accept, tag, heading) in [
        ("es-ES", "es", "Aceleración del cortafuegos"),
        ("fr-CA,fr;q=0.9", "fr", "Accélération du pare-feu"),
        ("pt-BR", "pt-BR", "Aceleração do firewall"),
        ("it", "it", "Accelerazione del firewall"),
    ] {
        let html = body(send(&f, page(accept, "")).await).await;
        assert!(
            html.contains(&format!("<html lang=\"{tag}\"")) && html.contains(heading),
            "{accept}"
        );
    }
    let html = body(send(&f, page("en", "; portico_lang=pt-BR")).await).await;
    assert!(
        html.contains("Aceleração do firewall"),
        "the cookie names pt-BR"
    );
    let resp = send(&f, form("/lang", "lang=de&next=%2Fportal")).await;
    assert_eq!(location(&resp), "/portal");
    assert!(
        resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("portico_lang=de;")
    );
    let resp = send(&f, form("/lang", "lang=de&next=%2F%2Fevil.example")).await;
    assert_eq!(location(&resp), "/", "no open redirect");
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_nonce_csp() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(
        &f,
        get("/")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    let csp = h[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = body(resp).await;
    if let Some(start) = csp.find("'nonce-") {
        let nonce = &csp[start + 7..csp[start + 7..].find('\'').unwrap() + start + 7];
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "the inline hydration script carries the CSP nonce"
        );
    } else {
        assert!(
            !html.contains("<script"),
            "without a nonce no inline script may exist"
        );
    }
}

/// The embedded bundle: gzip as it is to browsers, inflated for a client without gzip, an icon,
/// and pages that load the WASM from their module script only (no preload hints).
#[tokio::test]
async fn assets_are_one_gzip_copy_inflated_for_clients_without_gzip() {
    let f = fixture(true);
    let assets = super::assets::manifest();
    assert!(
        !assets.app.is_empty() && !assets.icon.is_empty(),
        "`cargo xtask build` ran before the tests: {assets:?}"
    );
    let wasm = format!("/pkg/{}_bg.wasm", assets.app);
    let fetch = |path: String, encoding: &'static str| {
        let f = &f;
        async move {
            let resp = send(
                f,
                get(&path)
                    .header(header::ACCEPT_ENCODING, encoding)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, headers, bytes)
        }
    };
    let (status, h, gz) = fetch(wasm.clone(), "gzip, deflate").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert_eq!(h[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(&gz[..2], [0x1f, 0x8b], "a gzip stream");
    let (status, h, raw) = fetch(wasm, "identity").await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(
        &raw[..4],
        b"\0asm",
        "inflated for a client that accepts no gzip"
    );
    assert!(raw.len() > gz.len());
    // Brotli is never sent: browsers accept it only over HTTPS.
    let (_, h, _) = fetch(format!("/pkg/{}", assets.css), "br").await;
    assert!(h.get(header::CONTENT_ENCODING).is_none());

    let (status, h, icon) = fetch("/favicon.ico".into(), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "image/svg+xml");
    assert!(icon.starts_with(b"<svg"));
    for missing in [
        "/pkg/manifest.json",
        "/pkg/nothing.js",
        "/pkg/..%2fmanifest.json",
    ] {
        assert_eq!(
            fetch(missing.into(), "gzip").await.0,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }

    let cookie = set_up(&f).await;
    let page = get("/").header(header::COOKIE, &cookie);
    let html = body(send(&f, page.body(Body::empty()).unwrap()).await).await;
    assert!(
        html.contains(&format!("href=\"/pkg/{}\"", assets.icon)),
        "{html}"
    );
    assert!(!html.contains("preload"), "no preload hints: {html}");
    assert!(
        html.contains(&format!("import('/pkg/{}.js')", assets.app)),
        "the module script loads the bundle: {html}"
    );
}

#[tokio::test]
async fn unknown_api_paths_answer_json_errors() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(
        &f,
        get("/api/v1/nothing")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["error"]["code"], "not_found");
    let resp = send(
        &f,
        get("/no-such-page")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn server_functions_need_a_session_and_return_real_status() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let call = |cookie: Option<&str>| {
        let mut r = Request::post("/api/fn/system_status")
            .header(header::HOST, "router")
            .header(header::ORIGIN, "http://router")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        r.body(Body::empty()).unwrap()
    };
    let resp = send(&f, call(None)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = send(&f, call(Some(&cookie))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["hostname"], "gartenhaus");
    assert_eq!(json["dev_root"], f.root.display().to_string());
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

#[tokio::test]
async fn config_api_reads_previews_applies_and_confirms_by_token() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let authed_get = |path: &str| {
        get(path)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap()
    };

    let (status, json) = json_of(send(&f, authed_get("/api/v1/config/network")).await).await;
    assert_eq!(status, StatusCode::OK);
    let lan = json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "lan")
        .unwrap();
    assert_eq!(lan["options"]["ipaddr"], "192.168.1.1");

    let edits = serde_json::json!({"edits": [{"op": "set", "path": "network.lan.ipaddr", "value": "10.9.9.1"}]});
    let (status, json) = json_of(
        send(
            &f,
            json_post("/api/v1/config/preview", Some(&cookie), &edits),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        json["diff"]
            .as_str()
            .unwrap()
            .contains("+\toption ipaddr '10.9.9.1'"),
        "{json}"
    );

    // Without a session, nothing changes.
    let (status, _) =
        json_of(send(&f, json_post("/api/v1/config/apply", None, &edits)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, json) =
        json_of(send(&f, json_post("/api/v1/config/apply", Some(&cookie), &edits)).await).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let token = json["token"].as_str().unwrap().to_owned();
    assert_eq!(json["files"], serde_json::json!(["network"]));
    let (_, status_json) = json_of(send(&f, authed_get("/api/v1/config/apply")).await).await;
    assert_eq!(status_json["pending"], true);
    assert!(status_json["seconds_left"].as_u64().unwrap() > 60);

    let (status, json) =
        json_of(send(&f, json_post("/api/v1/config/apply", Some(&cookie), &edits)).await).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("apply_pending"))
    );

    // The token alone confirms (as from the router's new address, where the cookie is not sent).
    let (status, json) = json_of(
        send(
            &f,
            json_post(
                "/api/v1/config/apply/confirm",
                None,
                &serde_json::json!({"token": "nope"}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("bad_token"))
    );
    let (status, _) = json_of(
        send(
            &f,
            json_post(
                "/api/v1/config/apply/confirm",
                None,
                &serde_json::json!({"token": token}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = std::fs::read_to_string(f.root.join("etc/config/network")).unwrap();
    assert!(text.contains("option ipaddr '10.9.9.1'"));
    // Without token and session, confirm is refused.
    let (status, _) = json_of(
        send(
            &f,
            json_post("/api/v1/config/apply/confirm", None, &serde_json::json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn config_api_rolls_back_and_reports_broken_files_with_line_and_byte() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let network = f.root.join("etc/config/network");
    let before = std::fs::read(&network).unwrap();
    let edits = serde_json::json!({"edits": [{"op": "set", "path": "network.lan.ipaddr", "value": "10.9.9.1"}]});
    let (status, _) =
        json_of(send(&f, json_post("/api/v1/config/apply", Some(&cookie), &edits)).await).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = json_of(
        send(
            &f,
            json_post(
                "/api/v1/config/apply/rollback",
                Some(&cookie),
                &serde_json::json!({}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        std::fs::read(&network).unwrap(),
        before,
        "restored byte for byte"
    );

    let broken = b"config interface 'lan'\n\toption ipaddr '1\n";
    std::fs::write(&network, broken).unwrap();
    let req = Request::get("/api/v1/config/network")
        .header(header::HOST, "router")
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT_LANGUAGE, "de")
        .body(Body::empty())
        .unwrap();
    let (status, json) = json_of(send(&f, req).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["error"]["code"], "config_parse_error");
    assert_eq!(
        (
            json["error"]["file"].as_str(),
            json["error"]["line"].as_u64(),
            json["error"]["byte"].as_u64()
        ),
        (Some("network"), Some(2), Some(18))
    );
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Zeile 2"),
        "{json}"
    );
    let (status, json) =
        json_of(send(&f, json_post("/api/v1/config/apply", Some(&cookie), &edits)).await).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("config_parse_error"))
    );
    assert_eq!(
        std::fs::read(&network).unwrap(),
        broken,
        "a broken file is never rewritten"
    );
}

#[tokio::test]
async fn openapi_document_lists_the_config_routes() {
    let f = fixture(false);
    let (status, json) =
        json_of(send(&f, get("/api/v1/openapi.json").body(Body::empty()).unwrap()).await).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/v1/config/{name}",
        "/api/v1/config/apply",
        "/api/v1/config/apply/confirm",
        "/api/v1/config/apply/events",
        "/api/v1/ble/peers",
        "/api/v1/ble/send",
        "/api/v1/ble/events",
    ] {
        assert!(json["paths"][path].is_object(), "{path} is documented");
    }
}

#[tokio::test]
async fn overview_names_a_broken_config_file_with_line_and_byte() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    std::fs::write(
        f.root.join("etc/config/dhcp"),
        b"config dhcp 'lan'\n\toption start \"100\n",
    )
    .unwrap();
    let req = get("/")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let html = body(send(&f, req).await).await;
    assert!(html.contains("Configuration files"), "{html}");
    assert!(html.contains("Error in line"), "{html}");
    assert!(
        html.contains("EOF with unterminated"),
        "the reason is shown"
    );
    assert!(html.contains("sections"), "the other files parse");

    // The same through the server function the app calls.
    let req = Request::post("/api/fn/config_files")
        .header(header::HOST, "router")
        .header(header::ORIGIN, "http://router")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let (status, json) = json_of(send(&f, req).await).await;
    assert_eq!(status, StatusCode::OK);
    let dhcp = json
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "dhcp")
        .unwrap();
    assert_eq!(dhcp["problem"]["line"], 2);
    assert_eq!(dhcp["problem"]["byte"], 19);
}

/// Gives the fixture a running portal (switched off, nothing enforced: host namespace).
fn with_portal(f: &mut Fixture) -> Arc<crate::portal::service::Portal> {
    let portal = Arc::new(crate::portal::service::Portal::new(
        f.state.vouchers.clone(),
        f.root.clone(),
        "127.0.0.1:0".parse().unwrap(),
        80,
        false,
        None,
    ));
    portal
        .configure(crate::config::PortalSection::default())
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

fn authed_form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    let mut req = form(path, body);
    req.headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    req
}

#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one admin story: create, refuse, change, filter, export, print"
)]
async fn voucher_admin_creates_lists_changes_exports_and_prints() {
    let f = fixture(true);
    // Before login: no list, no export.
    let resp = send(&f, get("/portal/vouchers.csv").body(Body::empty()).unwrap()).await;
    assert_ne!(resp.status(), StatusCode::OK);
    let cookie = set_up(&f).await;
    let page = |path: &str| authed_get(path, &cookie);

    // A batch of three, named; the answer points at the batch.
    let resp = send(
        &f,
        authed_form(
            "/portal/vouchers",
            &cookie,
            "quantity=3&duration=2h&deadline=2031-01-31&name=Market+day&max_devices=2",
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp).to_owned();
    assert!(
        to.starts_with("/portal?first=") && to.contains("done=created&count=3"),
        "{to}"
    );
    let html = body(send(&f, page(&to)).await).await;
    assert!(html.contains("3 vouchers created."), "{html}");
    assert_eq!(html.matches("class=\"voucher unused\"").count(), 3);
    assert!(html.contains("Market day") && html.contains("use before 2031-01-31"));
    let list = f.state.vouchers.list(None).unwrap();
    let first = &list[0];
    assert!(html.contains(&first.code));

    // Bad input: a clear message, nothing made.
    let resp = send(
        &f,
        authed_form(
            "/portal/vouchers",
            &cookie,
            "quantity=1001&duration=2h&max_devices=1",
        ),
    )
    .await;
    let html = body(send(&f, page(location(&resp))).await).await;
    assert!(
        html.contains("Make between 1 and 1000 vouchers at a time."),
        "{html}"
    );
    let resp = send(
        &f,
        authed_form(
            "/portal/vouchers",
            &cookie,
            "quantity=1&duration=soon&max_devices=1",
        ),
    )
    .await;
    assert!(location(&resp).contains("error=duration"));
    assert_eq!(f.state.vouchers.list(None).unwrap().len(), 3);

    // Rename, extend, invalidate; the list keeps its filter.
    let id = first.id;
    let resp = send(
        &f,
        authed_form(
            &format!("/portal/vouchers/{id}/rename"),
            &cookie,
            "back=q%3Dmarket&name=Stall+7",
        ),
    )
    .await;
    assert_eq!(location(&resp), "/portal?q=market&done=renamed");
    let resp = send(
        &f,
        authed_form(
            &format!("/portal/vouchers/{id}/extend"),
            &cookie,
            "duration=30m",
        ),
    )
    .await;
    assert!(location(&resp).ends_with("done=extended"));
    assert_eq!(
        f.state.vouchers.get(id).unwrap().duration,
        Some(2 * 3600 + 1800)
    );
    let resp = send(
        &f,
        authed_form(&format!("/portal/vouchers/{id}/invalidate"), &cookie, ""),
    )
    .await;
    assert!(location(&resp).ends_with("done=invalidated"));
    let resp = send(
        &f,
        authed_form(
            &format!("/portal/vouchers/{id}/extend"),
            &cookie,
            "duration=1h",
        ),
    )
    .await;
    assert!(location(&resp).ends_with("error=invalidated"));

    // Search and state filter.
    let html = body(send(&f, page("/portal?q=stall")).await).await;
    assert!(html.contains("1 matching vouchers."), "{html}");
    let html = body(send(&f, page("/portal?state=unused")).await).await;
    assert!(html.contains("2 matching vouchers."), "{html}");
    let code_part = &list[1].code[..6].to_lowercase();
    let html = body(send(&f, page(&format!("/portal?q={code_part}"))).await).await;
    assert!(
        html.contains(&list[1].code),
        "codes are found however they are typed"
    );

    // CSV of a filter.
    let resp = send(&f, page("/portal/vouchers.csv?state=invalidated")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = body(resp).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("id,code,name,state,"));
    assert!(lines[1].contains(&first.code) && lines[1].contains("Stall 7,invalidated,9000"));

    // The print sheet: one card per voucher, with the portal link's QR code.
    let resp = send(&f, page("/portal/print?state=unused")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = body(resp).await;
    assert_eq!(
        html.matches("<section class=\"card\">").count(),
        2,
        "{html}"
    );
    assert!(html.contains(&list[1].code) && html.contains("data:image/svg+xml;base64,"));
    assert!(html.contains("size: A4"));
}

#[tokio::test]
async fn portal_settings_write_uci_with_dhcp_option_114_and_take_effect_at_once() {
    let mut f = fixture(true);
    let portal = with_portal(&mut f);
    let cookie = set_up(&f).await;
    let read = |name: &str| std::fs::read_to_string(f.root.join("etc/config").join(name)).unwrap();

    // A bad walled-garden line: refused with the reason, nothing written.
    let resp = send(
        &f,
        authed_form(
            "/portal/settings",
            &cookie,
            "enabled=1&walled_garden=example.org&tries_per_minute=5",
        ),
    )
    .await;
    assert!(location(&resp).contains("error=garden"));
    assert!(!read("portico").contains("config portal"));

    let resp = send(
        &f,
        authed_form(
            "/portal/settings",
            &cookie,
            "enabled=1&title=Garden+Wi-Fi&text=Ask+at+the+bar&walled_garden=198.51.100.0%2F24%0D%0A192.0.2.10&tries_per_minute=4",
        ),
    )
    .await;
    assert_eq!(location(&resp), "/portal?done=settings");
    let portico = read("portico");
    assert!(portico.contains("config portal 'portal'"), "{portico}");
    assert!(
        portico.contains("option enabled '1'") && portico.contains("option title 'Garden Wi-Fi'")
    );
    assert!(
        portico.contains("list walled_garden '198.51.100.0/24'")
            && portico.contains("list walled_garden '192.0.2.10'")
    );
    let dhcp = read("dhcp");
    assert!(
        dhcp.contains("list dhcp_option '114,http://192.168.1.1:8080/captive-portal/api'"),
        "{dhcp}"
    );
    assert!(portal.enabled(), "in force without a restart");
    assert_eq!(portal.settings().title, "Garden Wi-Fi");
    let html = body(send(&f, authed_get("/portal?done=settings", &cookie)).await).await;
    assert!(
        html.contains("Portal settings saved.") && html.contains("198.51.100.0/24\n192.0.2.10"),
        "{html}"
    );

    // Off again: option 114 goes, the rest of the DHCP section stays.
    let resp = send(
        &f,
        authed_form(
            "/portal/settings",
            &cookie,
            "title=Garden+Wi-Fi&tries_per_minute=4",
        ),
    )
    .await;
    assert_eq!(location(&resp), "/portal?done=settings");
    assert!(!read("dhcp").contains("114,"));
    assert!(read("dhcp").contains("option interface 'lan'"));
    assert!(!portal.enabled());
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

#[tokio::test]
async fn the_portal_logo_is_uploaded_checked_served_and_removed() {
    let mut f = fixture(true);
    let portal = with_portal(&mut f);
    let cookie = set_up(&f).await;

    // Not an image (whatever its name says): refused.
    let resp = send(
        &f,
        multipart(
            "/portal/logo",
            &cookie,
            "logo",
            b"<script>alert(1)</script>",
        ),
    )
    .await;
    assert!(location(&resp).contains("error=logo"));
    // Too large: the body limit stops it; the page says why.
    let big = vec![0u8; 600 * 1024];
    let resp = send(&f, multipart("/portal/logo", &cookie, "logo", &big)).await;
    assert!(location(&resp).contains("error=logo"));

    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 64]].concat();
    let resp = send(&f, multipart("/portal/logo", &cookie, "logo", &png)).await;
    assert_eq!(location(&resp), "/portal?done=settings");
    assert_eq!(
        std::fs::read(f.root.join("etc/portico/portal-logo.png")).unwrap(),
        png
    );
    let config = std::fs::read_to_string(f.root.join("etc/config/portico")).unwrap();
    assert!(
        config.contains("option logo '/etc/portico/portal-logo.png'"),
        "{config}"
    );
    // The portal serves it, as an image that cannot run script.
    let resp = crate::portal::web::router(portal.clone())
        .oneshot(Request::get("/logo").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "image/png");
    assert!(
        resp.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let served = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(served.to_vec(), png);

    let resp = send(&f, multipart("/portal/logo", &cookie, "remove", b"1")).await;
    assert_eq!(location(&resp), "/portal?done=settings");
    assert!(portal.settings().logo.is_none());
}

#[tokio::test]
async fn the_bluetooth_page_says_what_bluez_offers_or_why_not() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let html = body(send(&f, authed_get("/bluetooth", &cookie)).await).await;
    // `<!>`: Leptos' hydration markers after text (erase_components).
    assert!(
        html.replace("<!>", "").contains("<h1>Bluetooth</h1>"),
        "{html}"
    );
    // This machine has no BlueZ (no system bus in the sandbox); a machine with BlueZ and a
    // powered adapter gets the other sentence. Either way the reason is BlueZ's own.
    let unavailable = html.contains("Bluetooth is unavailable here: ");
    let available = html.contains("Bluetooth is available");
    assert!(unavailable ^ available, "{html}");
    if unavailable {
        let reason = html
            .split("Bluetooth is unavailable here: ")
            .nth(1)
            .unwrap();
        assert!(!reason.starts_with('<'), "a reason is given: {html}");
    }
}

#[tokio::test]
async fn the_peer_view_shows_the_link_its_peers_and_their_traffic() {
    use crate::ble::{Ble, Generation, test_message};
    use qaul_ble::proto::ble::Message;

    let mut f = fixture(true);
    let cookie = set_up(&f).await;
    let settings = crate::config::BleSection {
        qaul_id: Some([0x4e, 0x1a, 0x77, 0x02, 0xc3, 0x90, 0x11, 0x5b]),
        ..crate::config::BleSection::default()
    };
    let ble = Ble::new(&f.root, settings);
    f.state.ble = Some(Arc::clone(&ble));
    let mut libqaul = ble.events();
    let (current, legacy) = ([0x9c; 8], [0x11; 8]);
    ble.peer_up(current, Generation::Current, "00:AA:01:01:00:01", Some(-42));
    ble.update(current, |p| p.role = Some("central"));
    ble.received(current, test_message::build(9, 500));
    ble.send_result(current, b"m-1".to_vec(), 61_440, Ok("delivered"));
    ble.peer_up(legacy, Generation::Legacy, "00:AA:01:02:00:02", None);
    ble.send_result(
        legacy,
        b"m-2".to_vec(),
        1,
        Ok("sent (legacy: no acknowledgement)"),
    );

    // libqaul heard all of it, in qaul.sys.ble terms.
    let mut heard = Vec::new();
    while let Ok(event) = libqaul.try_recv() {
        heard.push(event.message.unwrap());
    }
    assert!(
        matches!(&heard[0], Message::DeviceDiscovered(d) if d.qaul_id == current && d.rssi == -42)
    );
    assert!(
        matches!(&heard[1], Message::DirectReceived(r) if r.from == current && r.data.len() == 500)
    );
    assert!(matches!(&heard[2], Message::DirectSendResult(r) if r.id == b"m-1" && r.success));
    assert_eq!(heard.len(), 5);

    let html = body(send(&f, authed_get("/bluetooth", &cookie)).await)
        .await
        .replace("<!>", "");
    assert!(html.contains("<code>4e1a7702c390115b</code>"), "{html}");
    assert!(html.contains("<code>9c9c9c9c9c9c9c9c</code>"), "{html}");
    assert!(
        html.contains("current · connected (central) · 00:AA:01:01:00:01 · -42 dBm"),
        "{html}"
    );
    assert!(
        html.contains("test message 00000009: 500 B intact"),
        "{html}"
    );
    assert!(html.contains("61440 B delivered"), "{html}");
    assert!(html.contains("legacy · in range"), "{html}");
    assert!(
        html.contains("1 B sent (legacy: no acknowledgement)"),
        "legacy sends are never 'delivered'"
    );
    assert!(html.contains("Messages in 1, out 1"), "{html}");
    assert!(html.contains(r#"action="/bluetooth/send""#));

    // Scripts get the same table; the live view gets it as events.
    let (status, json) = json_of(send(&f, authed_get("/api/v1/ble/peers", &cookie)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["q8id"], "4e1a7702c390115b");
    assert_eq!(json["peers"][0]["q8id"], "1111111111111111");
    assert_eq!(json["peers"][1]["messages_in"], 1);
    let mut events = send(&f, authed_get("/api/v1/ble/events", &cookie))
        .await
        .into_body();
    let first = events.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = String::from_utf8_lossy(&first);
    assert!(first.starts_with("event: link\ndata: {"), "{first}");
    assert!(first.contains(r#""q8id":"9c9c9c9c9c9c9c9c""#), "{first}");

    // Sending needs a running link: the refusal says why, in the user's language.
    let resp = send(
        &f,
        authed_form("/bluetooth/send", &cookie, "peer=9c9c9c9c9c9c9c9c&size=500"),
    )
    .await;
    assert_eq!(
        location(&resp),
        "/bluetooth?error=The%20Bluetooth%20link%20is%20not%20running."
    );
    let resp = send(
        &f,
        authed_form("/bluetooth/send", &cookie, "peer=9c9c9c9c9c9c9c9c&size=0"),
    )
    .await;
    let html = body(send(&f, authed_get(location(&resp), &cookie)).await).await;
    assert!(html.contains("A test message has 1 to 204"), "{html}");
    let mut req = json_post(
        "/api/v1/ble/send",
        Some(&cookie),
        &serde_json::json!({"peer": "00", "size": 5}),
    );
    req.headers_mut()
        .insert(header::HOST, "router".parse().unwrap());
    let (status, json) = json_of(send(&f, req).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    assert_eq!(json["error"]["code"], "not_sent", "{json}");

    // Without a login none of it is there.
    let resp = send(&f, get("/api/v1/ble/peers").body(Body::empty()).unwrap()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
