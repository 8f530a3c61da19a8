//! `portico serve --profile communities`: the public site. No login (everything is public and
//! read-only), the JSON API, and the security headers every response gets.

use std::net::SocketAddr;
use std::process::ExitCode;

use std::sync::Arc;

use app::communities::CommunitiesSource;
use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use http::header;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::LeptosRoutes;

use super::api::{self, Store};
use super::cli::StoreLocation;
use crate::web::{self, assets};

/// What the communities site's handlers share.
#[derive(Clone, FromRef)]
pub struct SiteState {
    pub leptos: LeptosOptions,
    pub store: Store,
}

/// The whole communities application: pages, embeds, the JSON API, assets.
pub fn app(store: Store) -> Router {
    let state = SiteState {
        leptos: web::leptos_options(),
        store: store.clone(),
    };
    let source: Arc<dyn CommunitiesSource> = Arc::new(store.clone());
    let context = move || provide_context(source.clone());
    let server_fns = web::server_fn_handler(context.clone());
    let routes = web::route_lists().communities.clone();
    let options = state.leptos.clone();
    let site = Router::new()
        .route("/pkg/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/lang", post(web::lang::set_language))
        .route("/api/fn/{*name}", post(server_fns))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/communities", get(api::list))
        .route("/api/v1/communities/{key}", get(api::community))
        .route(
            "/api/v1/communities/{key}/series",
            get(api::community_series),
        )
        .route("/api/v1/communities/{key}/entry", get(api::entry))
        .route("/api/v1/network/series", get(api::network_series))
        .route("/api/v1/top", get(api::top))
        .route("/api/v1/routing/series", get(api::routing_series))
        .route("/api/v1/hours-of-day", get(api::hours_of_day))
        .route("/api/v1/weekdays", get(api::weekdays))
        .route("/api/{*rest}", axum::routing::any(web::api_not_found))
        .leptos_routes_with_context(&state, routes, context, move || app::shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            SiteState,
            _,
        >(|| (), app::shell))
        .layer(axum::middleware::from_fn_with_state(
            store,
            super::pages::page_context,
        ))
        .layer(axum::middleware::from_fn(web::cross_origin_protection))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            web::BODY_LIMIT,
        ));
    web::secure(
        site,
        &[
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
            ),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
    )
    .with_state(state)
}

/// Serves the communities site until SIGTERM/SIGINT; with `fetch` (the live file's URL and
/// the period, default an hour) it keeps itself current beside serving.
///
/// # Errors
/// No store in the data directory, or the address cannot be bound.
pub fn run(
    location: &StoreLocation,
    listen: Option<SocketAddr>,
    fetch: Option<(&str, Option<std::time::Duration>)>,
) -> anyhow::Result<ExitCode> {
    let store = super::cli::open_store(location)?;
    if let Some((url, every)) = fetch {
        keep_current(location, url, every)?;
    }
    let listen = listen.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 80)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let local = listener.local_addr()?;
        tracing::info!(%local, store = %store.describe(), "serving the communities site");
        println!("portico: listening on http://{local}/");
        axum::serve(listener, app(store))
            .with_graceful_shutdown(web::shutdown_signal())
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Fetches the live summary file round after round beside the site, on a thread of its own
/// (the client blocks; the store has its own writer connection).
fn keep_current(
    location: &StoreLocation,
    url: &str,
    every: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let mut fetcher = super::fetch::Fetcher::new(url)?;
    let every = every.unwrap_or(std::time::Duration::from_secs(3600));
    let location = location.clone();
    std::thread::Builder::new()
        .name("fetch".into())
        .spawn(move || {
            // The store's writer lives on this thread (a SQLite connection is not `Send`).
            let mut sink = match super::cli::open_sink(&location) {
                Ok(sink) => sink,
                Err(e) => return tracing::error!("fetch: {e:#}; not keeping the site current"),
            };
            loop {
                let outcome = fetcher.once(sink.as_mut());
                let line = super::fetch::describe(&outcome);
                if outcome.is_ok() {
                    tracing::info!(url = %fetcher.url(), "fetch: {line}");
                } else {
                    tracing::warn!(url = %fetcher.url(), "fetch: {line}");
                }
                std::thread::sleep(every);
            }
        })?;
    Ok(())
}
