//! The HTTP edge: one axum router for pages, server functions, static assets and the API,
//! with the security layers every response passes through. Built by [`app`] so tests can call
//! `app(state).oneshot(request)`.
//!
//! It only translates: a handler extracts, calls a capability and answers; `gate` decides
//! access, `sources` feed the pages' server functions, `convert` turns capability types into
//! the app's views. Domain rules live in the capabilities, never here; nothing but `serve`
//! imports this module.

mod api;
mod backup;
mod ble;
mod config_source;
mod convert;
mod error;
mod firmware;
mod forms;
mod gate;
mod log;
mod mesh;
mod offload;
mod ports;
mod sources;
mod status;
mod tasks;
mod vouchers;
pub mod wizard;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::header;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::LeptosRoutes;

use crate::web::{self, assets, leptos_options, route_lists, server_fn_handler};

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
    pub wizards: crate::wizard::session::Wizards,
    /// The voucher store (the admin pages work whether the portal runs or not).
    pub vouchers: crate::portal::vouchers::Vouchers,
    /// The running portal, when it is switched on.
    pub portal: Option<Arc<crate::portal::service::Portal>>,
    /// The portal's port, for the links printed on vouchers.
    pub portal_port: u16,
    /// The mesh's settings (its interface and port, for the page).
    pub mesh: crate::mesh::Settings,
    /// The qaul Bluetooth LE link, when this Portico runs one.
    pub ble: Option<Arc<crate::ble::Ble>>,
    /// The firewall offload (running, or why not).
    pub offload: Option<Arc<crate::offload::Service>>,
    /// The port observer, when this Portico runs one (never in the host's namespace).
    pub ports: Option<crate::ports::Ports>,
    /// The overview's facts (its sampler runs when `serve` starts it).
    pub status: Arc<crate::status::Monitor>,
    /// An uploaded backup waiting to be applied.
    pub restores: crate::backup::Waiting,
    /// VPN secrets between two requests (a key pair from review to apply; a configuration
    /// until its page shows it once): memory only.
    pub vpn_keys: Arc<crate::tasks::vpn::Secrets<(String, String)>>,
    pub vpn_shown: Arc<crate::tasks::vpn::Secrets<app::wizard::form::ClientView>>,
    /// The last uploaded firmware image's check.
    pub firmware: firmware::Uploaded,
    /// Restarts this Portico (the dev platform's reboot); `serve` sets the real one.
    pub restart: Arc<dyn Fn() + Send + Sync>,
}

impl AppState {
    /// State for a platform, with Portico's Leptos options.
    ///
    /// # Errors
    /// When the wizards' or the vouchers' table cannot be created in the state database.
    pub fn new(
        platform: Arc<dyn Platform>,
        auth: Auth,
        applier: Applier,
        lan_side: bool,
        connection_test_url: &str,
    ) -> rusqlite::Result<AppState> {
        let started = Instant::now();
        let status = crate::status::Monitor::new(platform.clone(), started, connection_test_url);
        // The wizard's test after Apply is the overview's last connection test too.
        let monitor = status.clone();
        let wizards = crate::wizard::session::Wizards::open(
            platform.clone(),
            applier.clone(),
            auth.clone(),
            connection_test_url,
            Arc::new(move |test| monitor.record_test(test)),
        )?;
        let vouchers = crate::portal::vouchers::Vouchers::open(auth.db().clone())?;
        Ok(AppState {
            leptos: leptos_options(),
            platform,
            auth,
            limiter: LoginLimiter::default(),
            lan_side,
            started,
            applier,
            wizards,
            vouchers,
            portal: None,
            ble: None,
            offload: None,
            ports: None,
            status,
            restores: crate::backup::Waiting::default(),
            vpn_keys: Arc::default(),
            vpn_shown: Arc::default(),
            firmware: firmware::Uploaded::default(),
            restart: Arc::new(|| {
                tracing::info!("a restart was asked for; this Portico cannot restart itself");
            }),
            portal_port: crate::config::Main::default().portal_listen.port(),
            mesh: crate::mesh::Settings::default(),
        })
    }
}

/// Largest upload (the portal's logo, 512 KiB, with its form around it).
pub const UPLOAD_LIMIT: usize = 512 * 1024 + 16 * 1024;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let status_source = status::source(&state);
    let config_source = config_source::source(&state.applier);
    let sources = sources::Sources::new(&state);
    let context = {
        let (status_source, config_source) = (status_source.clone(), config_source.clone());
        move || {
            provide_context(status_source.clone());
            provide_context(config_source.clone());
            provide_context::<Arc<dyn app::offload::OffloadSource>>(sources.clone());
            provide_context::<Arc<dyn app::bluetooth::BluetoothSource>>(sources.clone());
            provide_context::<Arc<dyn app::ports::PortsSource>>(sources.clone());
            provide_context::<Arc<dyn app::portal::VoucherSource>>(sources.clone());
            provide_context::<Arc<dyn app::wizard::page::WizardSource>>(sources.clone());
            provide_context::<Arc<dyn app::tasks::TaskSource>>(sources.clone());
            provide_context::<Arc<dyn app::backup::BackupSource>>(sources.clone());
            provide_context::<Arc<dyn app::log::LogSource>>(sources.clone());
            provide_context::<Arc<dyn app::maintenance::FirmwareSource>>(sources.clone());
        }
    };
    let routes = route_lists().router.clone();
    let leptos_options = state.leptos.clone();
    let server_fns = server_fn_handler(context.clone());
    let uploads = uploads();
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
        .route("/portal/mesh", post(mesh::post))
        .route("/portal/open", post(vouchers::open))
        .route("/lang", post(web::lang::set_language))
        .route("/bluetooth/send", post(ble::send_form))
        .route("/api/v1/ble/peers", get(ble::peers))
        .route("/api/v1/ble/send", post(ble::send))
        .route("/api/v1/ble/events", get(ble::events))
        .route("/status/test", post(status::test_form))
        .route("/settings/forwards", post(tasks::forwards_form))
        .route("/settings/leases", post(tasks::leases_form))
        .route("/settings/vpn", post(tasks::vpn_form))
        .route("/settings/backup.tar.gz", get(backup::download))
        .route("/settings/backup/apply", post(backup::apply))
        .route("/settings/reboot", post(forms::reboot))
        .route("/settings/firmware/flash", post(firmware::flash))
        .route("/api/v1/log/events", get(log::events))
        .route("/api/v1/status", get(status::snapshot))
        .route("/api/v1/status/events", get(status::events))
        .route("/api/v1/status/test", post(status::test_api))
        .route("/api/v1/offload", get(offload::snapshot))
        .route("/api/v1/offload/events", get(offload::events))
        .route("/ports/role", post(ports::role_form))
        .route("/api/v1/ports", get(ports::snapshot))
        .route("/api/v1/ports/events", get(ports::events))
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
        .route("/api/{*rest}", axum::routing::any(web::api_not_found))
        .leptos_routes_with_context(&state, routes, context, move || {
            app::shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(|| (), app::shell))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            web::BODY_LIMIT,
        ));
    let admin = uploads
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::gate,
        ))
        .layer(axum::middleware::from_fn(web::cross_origin_protection));
    web::secure(
        admin,
        &[
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
            // Not `no-referrer`: with it Chromium sends `Origin: null` on same-origin form posts
            // over plain HTTP (where it sends no `Sec-Fetch-Site`), and cross-origin protection
            // refuses them.
            (header::REFERRER_POLICY, "same-origin"),
        ],
    )
    .with_state(state)
}

/// The upload routes, each with its own body limit (layers added before a merge stay with their
/// own routes).
fn uploads() -> Router<AppState> {
    Router::new()
        .route("/portal/logo", post(vouchers::logo))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(UPLOAD_LIMIT))
        .merge(
            // The handler streams the image to a file and stops at its own bound (saying so on
            // the page); twice that is cut off here.
            Router::new()
                .route("/settings/firmware", post(firmware::upload))
                .layer(axum::extract::DefaultBodyLimit::disable())
                .layer(tower_http::limit::RequestBodyLimitLayer::new(
                    usize::try_from(crate::firmware::MAX_IMAGE * 2).unwrap_or(usize::MAX),
                )),
        )
        .merge(
            Router::new()
                .route("/settings/backup/restore", post(backup::restore))
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::backup::MAX_UPLOAD + 16 * 1024,
                ))
                .layer(tower_http::limit::RequestBodyLimitLayer::new(
                    crate::backup::MAX_UPLOAD + 16 * 1024,
                )),
        )
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
