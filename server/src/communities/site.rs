//! `portico serve --profile communities`: the public site. No login (everything is public and
//! read-only), the JSON API, and the security headers every response gets.

use std::net::SocketAddr;
use std::process::ExitCode;

use std::sync::Arc;

use app::communities::CommunitiesSource;
use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use http::{HeaderValue, header};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::LeptosRoutes;
use tower_http::set_header::SetResponseHeaderLayer;

use super::api::{self, Store};
use crate::cli::{GlobalArgs, ServeArgs};
use crate::http::{assets, forms, gate};

/// What the communities site's handlers share.
#[derive(Clone, FromRef)]
pub struct SiteState {
    pub leptos: LeptosOptions,
    pub store: Store,
}

/// The whole communities application: pages, embeds, the JSON API, assets.
pub fn app(store: Store) -> Router {
    let state = SiteState {
        leptos: crate::http::leptos_options(),
        store: store.clone(),
    };
    let source: Arc<dyn CommunitiesSource> = Arc::new(store.clone());
    let context = move || provide_context(source.clone());
    let server_fns = crate::http::server_fn_handler(context.clone());
    let routes = crate::http::route_lists().communities.clone();
    let options = state.leptos.clone();
    Router::new()
        .route("/pkg/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/lang", post(forms::set_language))
        .route("/api/fn/{*name}", post(server_fns))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/communities", get(api::list))
        .route("/api/v1/communities/{key}", get(api::community))
        .route("/api/v1/communities/{key}/series", get(api::community_series))
        .route("/api/v1/communities/{key}/entry", get(api::entry))
        .route("/api/v1/network/series", get(api::network_series))
        .route("/api/v1/top", get(api::top))
        .route("/api/v1/routing/series", get(api::routing_series))
        .route("/api/v1/hours-of-day", get(api::hours_of_day))
        .route("/api/v1/weekdays", get(api::weekdays))
        .route("/api/{*rest}", axum::routing::any(crate::http::api_not_found))
        .leptos_routes_with_context(&state, routes, context, move || app::shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<SiteState, _>(|| (), app::shell))
        .layer(axum::middleware::from_fn_with_state(store, super::pages::page_context))
        .layer(axum::middleware::from_fn(gate::cross_origin_protection))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(crate::http::BODY_LIMIT))
        .with_state(state)
        // Inside the header layers: a request that timed out is answered with them too.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(http::StatusCode::REQUEST_TIMEOUT, crate::http::REQUEST_TIMEOUT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Serves the communities site until SIGTERM/SIGINT.
///
/// # Errors
/// No store in the data directory, or the address cannot be bound.
pub fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let store = super::cli::open_store(global)?;
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 80)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let local = listener.local_addr()?;
        tracing::info!(%local, store = %store.describe(), "serving the communities site");
        println!("portico: listening on http://{local}/");
        axum::serve(listener, app(store))
            .with_graceful_shutdown(crate::serve::shutdown_signal())
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}
