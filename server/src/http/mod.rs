//! The HTTP edge: one axum router for pages, server functions, static assets and the API,
//! with the security layers every response passes through. Built by [`app`] so tests can call
//! `app(state).oneshot(request)`.

mod api;
pub(crate) mod assets;
mod ble;
mod config_source;
mod error;
pub(crate) mod forms;
pub(crate) mod gate;
mod offload;
mod status;
mod vouchers;
pub mod wizard;

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::{HeaderValue, header};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, generate_route_list, handle_server_fns_with_context,
};
use tower_http::set_header::SetResponseHeaderLayer;

pub use assets::manifest;
pub use error::{AppError, api_not_found};
pub use gate::request_lang;

use crate::apply::Applier;
use crate::auth::{Auth, LoginLimiter};
use crate::platform::Platform;

/// Everything a request handler may need.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub platform: Arc<dyn Platform>,
    pub auth: Auth,
    pub limiter: LoginLimiter,
    /// The admin listener is bound to the LAN device: every request arrived on the LAN side.
    pub lan_side: bool,
    pub started: Instant,
    pub applier: Applier,
    pub wizards: wizard::Wizards,
    /// What the wizard's connection test fetches (`option connection_test_url`).
    pub connection_test_url: String,
    /// The voucher store (the admin pages work whether the portal runs or not).
    pub vouchers: crate::portal::vouchers::Vouchers,
    /// The running portal, when it is switched on.
    pub portal: Option<Arc<crate::portal::service::Portal>>,
    /// The portal's port, for the links printed on vouchers.
    pub portal_port: u16,
    /// The qaul Bluetooth LE link, when this Portico runs one.
    pub ble: Option<Arc<crate::ble::Ble>>,
    /// The firewall offload (running, or why not).
    pub offload: Option<Arc<crate::offload::Service>>,
}

impl AppState {
    /// State for a platform, with Portico's Leptos options.
    ///
    /// # Errors
    /// When the wizards' table cannot be created in the state database.
    pub fn new(
        platform: Arc<dyn Platform>,
        auth: Auth,
        applier: Applier,
        lan_side: bool,
    ) -> anyhow::Result<AppState> {
        let wizards = wizard::Wizards::open(auth.db().clone())?;
        let vouchers = crate::portal::vouchers::Vouchers::open(auth.db().clone())?;
        Ok(AppState {
            leptos: leptos_options(),
            platform,
            auth,
            limiter: LoginLimiter::default(),
            lan_side,
            started: Instant::now(),
            applier,
            wizards,
            connection_test_url: crate::config::MainSection::default().connection_test_url,
            vouchers,
            portal: None,
            ble: None,
            offload: None,
            portal_port: crate::config::MainSection::default().portal_listen.port(),
        })
    }
}

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
/// Largest upload (the portal's logo, 512 KiB, with its form around it).
pub const UPLOAD_LIMIT: usize = 512 * 1024 + 16 * 1024;
/// A request that takes longer is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The route lists of the Leptos apps this binary serves.
pub(crate) struct RouteLists {
    pub router: Vec<AxumRouteListing>,
    #[cfg(feature = "communities")]
    pub communities: Vec<AxumRouteListing>,
}

/// Both apps' route lists, generated once per process and together: generating one stops every
/// resource in the process from loading while it runs (leptos_server's process-wide
/// `SuppressResourceLoad`), so a page rendered meanwhile would wait forever (leptos#4773).
pub(crate) fn route_lists() -> &'static RouteLists {
    static LISTS: OnceLock<RouteLists> = OnceLock::new();
    LISTS.get_or_init(|| RouteLists {
        router: generate_route_list(app::App),
        #[cfg(feature = "communities")]
        communities: generate_route_list(app::communities::CommunitiesApp),
    })
}

/// The handler of `/api/fn/*`: Leptos server functions, with `context` provided to each.
pub(crate) fn server_fn_handler(
    context: impl Fn() + Clone + Send + Sync + 'static,
) -> impl Fn(Request) -> Pin<Box<dyn Future<Output = axum::response::Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |req: Request| {
        let context = context.clone();
        Box::pin(async move {
            handle_server_fns_with_context(context, req)
                .await
                .into_response()
        })
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let status_source = status::source(&state);
    let config_source = config_source::source(&state.applier);
    let context = {
        let (status_source, config_source) = (status_source.clone(), config_source.clone());
        move || {
            provide_context(status_source.clone());
            provide_context(config_source.clone());
        }
    };
    let routes = route_lists().router.clone();
    let leptos_options = state.leptos.clone();
    let server_fns = server_fn_handler(context.clone());
    // Uploads get a larger body limit than everything else (layers added before a merge stay
    // with their own routes).
    let uploads = Router::new()
        .route("/portal/logo", post(vouchers::logo))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(UPLOAD_LIMIT));
    let pages = Router::new()
        .route("/healthz", get(healthz))
        .route("/pkg/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/login", post(forms::login))
        .route("/logout", post(forms::logout))
        .route("/setup/{step}", post(wizard::post))
        .route("/portal/vouchers", post(vouchers::create))
        .route("/portal/settings", post(vouchers::settings))
        .route("/portal/vouchers/{id}/{action}", post(vouchers::change))
        .route("/portal/vouchers.csv", get(vouchers::csv))
        .route("/portal/print", get(vouchers::print))
        .route("/lang", post(forms::set_language))
        .route("/bluetooth/send", post(ble::send_form))
        .route("/api/v1/ble/peers", get(ble::peers))
        .route("/api/v1/ble/send", post(ble::send))
        .route("/api/v1/ble/events", get(ble::events))
        .route("/api/v1/offload", get(offload::snapshot))
        .route("/api/v1/offload/events", get(offload::events))
        .route("/api/fn/{*name}", post(server_fns))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/config", get(api::list))
        .route("/api/v1/config/preview", post(api::preview))
        .route("/api/v1/config/apply", get(api::status).post(api::apply))
        .route("/api/v1/config/apply/confirm", post(api::confirm))
        .route("/api/v1/config/apply/rollback", post(api::rollback))
        .route("/api/v1/config/apply/events", get(api::events))
        .route("/api/v1/config/{name}", get(api::read))
        .route("/apply/confirm", post(forms::confirm_apply))
        .route("/apply/rollback", post(forms::rollback_apply))
        .route("/api/{*rest}", axum::routing::any(error::api_not_found))
        .leptos_routes_with_context(&state, routes, context, move || {
            app::shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(|| (), app::shell))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT));
    uploads
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate::gate))
        .layer(axum::middleware::from_fn(gate::cross_origin_protection))
        // Inside the header layers: a request that timed out is answered with them too.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(http::StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // Not `no-referrer`: with it Chromium sends `Origin: null` on same-origin form posts over
        // plain HTTP (where it sends no `Sec-Fetch-Site`), and cross-origin protection refuses them.
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let db_ok = state.auth.setup_needed().is_ok();
    let status = if db_ok {
        http::StatusCode::OK
    } else {
        http::StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        if db_ok {
            "ok\n"
        } else {
            "state database unavailable\n"
        },
    )
}

#[cfg(test)]
mod tests;
