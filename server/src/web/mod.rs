//! The web kit both sites are built from (the router's admin UI in `http`, the community data
//! site in `communities`): Leptos options and route lists, the embedded assets, the one error
//! type, the language cookie, cross-origin protection, the limits and security headers every
//! response passes, and a graceful stop. It imports no capability.

pub mod assets;
mod error;
pub mod lang;
pub mod live;

use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use leptos::config::LeptosOptions;
use leptos_axum::{AxumRouteListing, generate_route_list, handle_server_fns_with_context};
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::{AppError, api_not_found};
pub use lang::request_lang;

/// Leptos options; file names of the hashed bundle come from the asset manifest per request.
pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("portico")
        .site_pkg_dir("pkg")
        .site_root("target/site")
        .build()
}

/// Largest request body accepted (forms and server function calls are small).
pub const BODY_LIMIT: usize = 64 * 1024;
/// A request that takes longer is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The route lists of the Leptos apps this binary serves.
pub struct RouteLists {
    pub router: Vec<AxumRouteListing>,
    #[cfg(feature = "communities")]
    pub communities: Vec<AxumRouteListing>,
}

/// Both apps' route lists, generated once per process and together: generating one stops every
/// resource in the process from loading while it runs (leptos_server's process-wide
/// `SuppressResourceLoad`), so a page rendered meanwhile would wait forever (leptos#4773).
pub fn route_lists() -> &'static RouteLists {
    static LISTS: OnceLock<RouteLists> = OnceLock::new();
    LISTS.get_or_init(|| RouteLists {
        router: generate_route_list(app::App),
        #[cfg(feature = "communities")]
        communities: generate_route_list(app::communities::CommunitiesApp),
    })
}

/// The handler of `/api/fn/*`: Leptos server functions, with `context` provided to each.
pub fn server_fn_handler(
    context: impl Fn() + Clone + Send + Sync + 'static,
) -> impl Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + Sync + 'static
{
    move |req: Request| {
        let context = context.clone();
        Box::pin(async move {
            handle_server_fns_with_context(context, req)
                .await
                .into_response()
        })
    }
}

/// What every response of a site passes, innermost first: the request timeout (inside the
/// header layers, so a request that timed out is answered with them too), the site's headers
/// (`headers`, kept when a handler set its own), `nosniff`, gzip and the request trace.
pub fn secure<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    headers: &[(HeaderName, &'static str)],
) -> Router<S> {
    let mut router = router.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        REQUEST_TIMEOUT,
    ));
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name.clone(),
            HeaderValue::from_static(value),
        ));
    }
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Refuses cross-origin requests that change state, for pages, forms, server functions and
/// the API alike. The rule is the one of Go's `http.CrossOriginProtection`: safe methods pass;
/// otherwise `Sec-Fetch-Site` must be `same-origin` or `none` when present, else `Origin` (when
/// present) must name this host. Requests without either header do not come from a browser,
/// so no ambient cookie can be abused by them. Together with `SameSite=Strict` session cookies.
pub async fn cross_origin_protection(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let allowed = if let Some(site) = headers.get("sec-fetch-site") {
        matches!(site.as_bytes(), b"same-origin" | b"none")
    } else if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        host.is_some() && origin_host == host
    } else {
        true
    };
    if allowed {
        next.run(req).await
    } else {
        tracing::warn!(method = %req.method(), path = req.uri().path(), "cross-origin request refused");
        AppError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "error-csrf",
            request_lang(headers),
        )
        .into_response()
    }
}

/// `text` when it is a path on this site (`/…`, not `//host` or a backslash trick): where a
/// form may send the browser next without being an open redirect.
pub fn local_path(text: &str) -> Option<&str> {
    (text.starts_with('/') && !text.starts_with("//") && !text.contains('\\')).then_some(text)
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}
