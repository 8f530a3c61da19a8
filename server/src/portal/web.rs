//! The portal's own listener (design.md: port 8080; unauthorised clients' port-80 traffic is
//! redirected here): the code form rendered with askama (no JavaScript), the operating
//! systems' captive checks, the RFC 8908 API and the logo.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::net::TcpListener;

use app::i18n::Lang;

use super::service::{Access, Denied, Portal};
use super::vouchers::{Grant, Refusal};

/// Both ends of a portal connection: the local end is the router's address on the client's
/// network (the portal's own URL), the remote end the client.
#[derive(Clone, Copy, Debug)]
pub struct Ends {
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for Ends {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        let remote = *stream.remote_addr();
        Ends {
            local: stream.io().local_addr().unwrap_or(remote),
            remote,
        }
    }
}

impl Ends {
    /// The portal's address as this client reaches it.
    fn portal_url(&self) -> String {
        match self.local.ip() {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                format!("http://[{v6}]:{}/", self.local.port())
            }
            IpAddr::V6(v6) => format!(
                "http://{}:{}/",
                v6.to_ipv4_mapped()
                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                self.local.port()
            ),
            IpAddr::V4(v4) => format!("http://{v4}:{}/", self.local.port()),
        }
    }

    fn client(&self) -> IpAddr {
        match self.remote.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            ip @ IpAddr::V4(_) => ip,
        }
    }
}

/// The portal's routes.
pub fn router(portal: Arc<Portal>) -> Router {
    Router::new()
        .route("/", get(page).post(submit))
        .route("/generate_204", get(os_check))
        .route("/gen_204", get(os_check))
        .route("/hotspot-detect.html", get(os_check))
        .route("/library/test/success.html", get(os_check))
        .route("/connecttest.txt", get(os_check))
        .route("/ncsi.txt", get(os_check))
        .route("/captive-portal/api", get(api))
        .route("/logo", get(logo))
        .fallback(elsewhere)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(4 * 1024))
        .with_state(portal)
}

/// Serves the portal until the process ends.
///
/// # Errors
/// When the listener fails.
pub fn serve(
    listener: TcpListener,
    portal: Arc<Portal>,
) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(serve_until_stopped(listener, portal))
}

async fn serve_until_stopped(listener: TcpListener, portal: Arc<Portal>) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(portal).into_make_service_with_connect_info::<Ends>(),
    )
    .await
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    lang: &'static str,
    title: String,
    text: String,
    has_logo: bool,
    online: Option<String>,
    online_heading: String,
    error: Option<String>,
    code: String,
    code_label: String,
    code_hint: String,
    submit: String,
    /// The page the guest first asked for (plain HTTP), kept through the form.
    to: Option<String>,
    /// "Read and accept" mode: a button instead of the code field.
    accept: bool,
    accept_button: String,
    accept_hint: String,
    /// "Continue to news.example" once online.
    continue_to: String,
}

#[derive(Deserialize)]
struct PageQuery {
    code: Option<String>,
    lang: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    /// The "read and accept" button.
    accept: Option<String>,
    lang: Option<String>,
    to: Option<String>,
}

/// Longest original address the portal keeps.
const MAX_TO: usize = 2048;

/// The page a guest first asked for, when it is one to send them back to: a plain `http://`
/// address of another host than the portal (never the portal itself, nothing else).
fn original(to: Option<&str>, ends: Ends) -> Option<String> {
    let to = to?.trim();
    let uri: axum::http::Uri = to.parse().ok()?;
    let host = uri.host()?;
    let portal = ends.portal_url();
    (to.len() <= MAX_TO
        && uri.scheme_str() == Some("http")
        && !to.chars().any(char::is_control)
        && !portal.contains(&format!("//{host}:"))
        && !portal.contains(&format!("//[{host}]:")))
    .then(|| to.to_owned())
}

/// The host of an address, for "Continue to news.example".
fn host_of(to: &str) -> String {
    to.parse::<axum::http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_owned))
        .unwrap_or_default()
}

fn language(headers: &HeaderMap, chosen: Option<&str>) -> Lang {
    chosen.and_then(Lang::from_code).unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Lang::En, Lang::negotiate)
    })
}

/// "Time left: 1 h 59 min." in the client's language; `None` while captive.
fn time_left(lang: Lang, access: Access) -> Option<String> {
    Some(match access {
        Access::Captive => return None,
        Access::Unlimited => lang.tr("portal-unlimited"),
        Access::Open => lang.tr("portal-open"),
        // "59 min", "1 h", "2 d 3 h": never "0 h 59 min".
        Access::Left(s) => lang.tr_args(
            "portal-time-left",
            &[("time", app::portal::duration_text(s).into())],
        ),
    })
}

/// The page runs no script and loads nothing but its logo.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn render(
    portal: &Portal,
    lang: Lang,
    access: Access,
    error: Option<String>,
    (code, to): (String, Option<String>),
) -> Response {
    let settings = portal.settings();
    let continue_to = to.as_deref().map_or_else(String::new, |to| {
        lang.tr_args("portal-continue", &[("host", host_of(to).into())])
    });
    let page = PortalPage {
        lang: lang.code(),
        title: if settings.title.is_empty() {
            lang.tr("portal-title-default")
        } else {
            settings.title.clone()
        },
        text: settings.text.clone(),
        has_logo: settings.logo.is_some(),
        online: time_left(lang, access),
        online_heading: lang.tr("portal-online"),
        error,
        code,
        code_label: lang.tr("portal-code-label"),
        code_hint: lang.tr("portal-code-hint"),
        submit: lang.tr("portal-submit"),
        to,
        continue_to,
        accept: settings.mode == super::settings::Mode::Accept,
        accept_button: lang.tr("portal-accept"),
        accept_hint: lang.tr("portal-accept-hint"),
    };
    match page.render() {
        Ok(html) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(PAGE_POLICY),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            html,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(%err, "portal page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn access(portal: &Arc<Portal>, ends: Ends) -> Access {
    let portal = Arc::clone(portal);
    tokio::task::spawn_blocking(move || portal.access_of(ends.client()))
        .await
        .unwrap_or(Access::Captive)
}

async fn page(
    State(portal): State<Arc<Portal>>,
    ConnectInfo(ends): ConnectInfo<Ends>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let lang = language(&headers, q.lang.as_deref());
    let access = access(&portal, ends).await;
    let code = q.code.unwrap_or_default().chars().take(40).collect();
    let to = original(q.to.as_deref(), ends);
    render(&portal, lang, access, None, (code, to))
}

fn refusal_key(denied: Denied) -> &'static str {
    match denied {
        Denied::Refused(Refusal::Unknown) => "portal-error-unknown",
        Denied::Refused(Refusal::Invalidated) => "portal-error-invalidated",
        Denied::Refused(Refusal::Expired) => "portal-error-expired",
        Denied::Refused(Refusal::DeadlinePassed) => "portal-error-deadline",
        Denied::Refused(Refusal::SlotsFull) => "portal-error-slots",
        Denied::Wait(_) => "portal-error-wait",
        Denied::UnknownDevice => "portal-error-device",
        Denied::Unavailable => "portal-error-unavailable",
    }
}

async fn submit(
    State(portal): State<Arc<Portal>>,
    ConnectInfo(ends): ConnectInfo<Ends>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let lang = language(&headers, form.lang.as_deref());
    let code: String = form.code.chars().take(40).collect();
    let to = original(form.to.as_deref(), ends);
    let typed = code.clone();
    let p = Arc::clone(&portal);
    let accepting = form.accept.is_some();
    let result = tokio::task::spawn_blocking(move || {
        if accepting {
            p.accept(ends.client()).map(|a| Some(a.until))
        } else {
            p.redeem(&typed, ends.client())
                .map(|Grant { expires, .. }| expires)
        }
    })
    .await
    .unwrap_or(Err(Denied::Unavailable));
    match result {
        Ok(expires) => {
            let access = expires.map_or(Access::Unlimited, |e| {
                Access::Left(e - super::vouchers::now())
            });
            render(&portal, lang, access, None, (String::new(), to))
        }
        Err(denied) => {
            let message = match denied {
                Denied::Wait(wait) => lang.tr_args(
                    "portal-error-wait",
                    &[("seconds", wait.as_secs().max(1).into())],
                ),
                other => lang.tr(refusal_key(other)),
            };
            let status = match denied {
                Denied::Wait(_) => StatusCode::TOO_MANY_REQUESTS,
                Denied::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::FORBIDDEN,
            };
            let mut response = render(&portal, lang, Access::Captive, Some(message), (code, to));
            *response.status_mut() = status;
            response
        }
    }
}

/// Before access: a redirect to the portal (what every OS's check takes as "captive"), with
/// the page the guest asked for when there is one to come back to.
fn to_portal(ends: Ends, asked: Option<String>) -> Response {
    let url = match asked {
        Some(to) => format!("{}?to={}", ends.portal_url(), app::portal::encode(&to)),
        None => ends.portal_url(),
    };
    let mut response = Redirect::to(&url).into_response();
    // 302 is what captive assistants know best; Redirect::to gives 303.
    *response.status_mut() = StatusCode::FOUND;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The operating systems' captive checks: the portal's redirect before access, afterwards the
/// answer the real check host gives (the same table the lab's "internet" answers from).
async fn os_check(
    State(portal): State<Arc<Portal>>,
    ConnectInfo(ends): ConnectInfo<Ends>,
    uri: axum::http::Uri,
) -> Response {
    if access(&portal, ends).await == Access::Captive {
        return to_portal(ends, None);
    }
    let (status, content_type, body) = netlab::sink::answer(uri.path());
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

/// Any other page a captive client asked for (its port-80 request was redirected here, with
/// its own `Host`): the portal, which sends the guest back there once online.
async fn elsewhere(
    ConnectInfo(ends): ConnectInfo<Ends>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let asked = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| {
            format!(
                "http://{host}{}",
                uri.path_and_query().map_or("/", |p| p.as_str())
            )
        });
    to_portal(ends, original(asked.as_deref(), ends))
}

/// RFC 8908's API: whether this client is captive and for how long it is not.
async fn api(State(portal): State<Arc<Portal>>, ConnectInfo(ends): ConnectInfo<Ends>) -> Response {
    let access = access(&portal, ends).await;
    // Vouchers count time, not bytes: no `bytes-remaining` (RFC 8908 says to omit it then).
    let mut body = serde_json::json!({
        "captive": access == Access::Captive,
        "user-portal-url": ends.portal_url(),
        "venue-info-url": ends.portal_url(),
        "can-extend-session": false,
    });
    if let Access::Left(left) = access {
        body["seconds-remaining"] = left.into();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/captive+json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn logo(State(portal): State<Arc<Portal>>) -> Response {
    let Some(path) = portal.settings().logo else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let kind = match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) if bytes.len() <= 512 * 1024 => {
            (
                [
                    (header::CONTENT_TYPE, kind),
                    // An SVG opened on its own must not run script.
                    (
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; style-src 'unsafe-inline'",
                    ),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                bytes,
            )
                .into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_http_page_elsewhere_is_kept_to_return_to() {
        let ends = Ends {
            local: "192.168.1.1:8080".parse().unwrap(),
            remote: "192.168.1.20:50000".parse().unwrap(),
        };
        let kept = |to: &str| original(Some(to), ends);
        assert_eq!(
            kept("http://news.example/today?x=1").as_deref(),
            Some("http://news.example/today?x=1")
        );
        assert_eq!(kept("https://news.example/"), None, "not plain HTTP");
        assert_eq!(
            kept("http://192.168.1.1:8080/?to=x"),
            None,
            "the portal itself"
        );
        assert_eq!(kept("javascript:alert(1)"), None);
        assert_eq!(kept("/relative"), None);
        assert_eq!(
            kept(&format!("http://a.example/{}", "x".repeat(MAX_TO))),
            None
        );
        assert_eq!(original(None, ends), None);
        assert_eq!(host_of("http://news.example:81/a"), "news.example");
    }
}
