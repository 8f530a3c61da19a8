//! `portico serve`: settings, platform, state, listener; then serve until SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::apply::Applier;
use crate::auth::Auth;
use crate::cli::{GlobalArgs, Profile, ServeArgs};
use crate::config;
use crate::http::{AppState, app};
use crate::platform::Platform;
use crate::platform::dev::DevPlatform;
use crate::platform::openwrt::{OpenWrtPlatform, SystemRunner};
use crate::portal;
use crate::state::StateDb;

/// The state root: flag/environment, else `/` on OpenWrt, else `./var/dev-root`.
pub fn root(global: &GlobalArgs) -> PathBuf {
    global.root.clone().unwrap_or_else(|| {
        if OpenWrtPlatform::detect() {
            PathBuf::from("/")
        } else {
            PathBuf::from("var/dev-root")
        }
    })
}

/// The platform for a root: OpenWrt when running on it with root `/`, the dev platform otherwise.
///
/// # Errors
/// When the dev root cannot be created.
pub fn platform(root: &std::path::Path) -> anyhow::Result<Arc<dyn Platform>> {
    if OpenWrtPlatform::detect() && root == std::path::Path::new("/") {
        return Ok(Arc::new(OpenWrtPlatform::new(Box::new(SystemRunner))));
    }
    Ok(Arc::new(DevPlatform::open(root).with_context(|| {
        format!("preparing the dev root {}", root.display())
    })?))
}

/// Binds the admin listener; with a LAN device it is bound to that device (`SO_BINDTODEVICE`),
/// so every connection it accepts arrived on the LAN side. Returns whether it is so bound.
///
/// # Errors
/// When the address cannot be bound.
pub fn bind_admin(addr: SocketAddr, lan_device: &str) -> anyhow::Result<(TcpListener, bool)> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    let bound = if lan_device.is_empty() {
        false
    } else {
        match socket.bind_device(Some(lan_device.as_bytes())) {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(device = lan_device, %err, "not bound to the LAN device: first-boot setup is unavailable over the network");
                false
            }
        }
    };
    socket
        .bind(&addr.into())
        .with_context(|| format!("binding {addr}"))?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok((TcpListener::from_std(socket.into())?, bound))
}

/// Runs `portico serve`.
///
/// # Errors
/// Startup failures (bad config file, address in use, unwritable root).
pub fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    if args.profile.unwrap_or_default() == Profile::Communities {
        #[cfg(feature = "communities")]
        return crate::communities::site::run(global, args);
        #[cfg(not(feature = "communities"))]
        anyhow::bail!(
            "this is the router build of Portico: it has no communities site (build with --features communities)"
        );
    }
    let root = root(global);
    let platform = platform(&root)?;
    let (main, mut warnings) = config::load(&root)?;
    let (portal_settings, portal_warnings) = config::load_portal(&root)?;
    warnings.extend(portal_warnings);
    let (offload_settings, offload_warnings) = config::load_offload(&root)?;
    warnings.extend(offload_warnings);
    for w in &warnings {
        tracing::warn!(file = %config::portico_config_path(&root).display(), at = %w.at, "{}", w.message);
    }
    let listen = args.listen.unwrap_or(main.listen);
    let lan_device = std::env::var("PORTICO_LAN_DEVICE").unwrap_or(main.lan_device);
    if !platform.network_functions_available() {
        tracing::warn!(
            "running in the host's network namespace: network functions are disabled, serving the web UI only"
        );
    }
    let db = StateDb::open(&root)?;
    let auth = Auth::new(db.clone(), main.session_idle)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (listener, lan_side) = bind_admin(listen, &lan_device)?;
        let local = listener.local_addr()?;
        tracing::info!(%local, lan_device, lan_side, root = %root.display(), "serving");
        // The address line is read by tests and scripts.
        println!("portico: listening on http://{local}/");
        let portal_listen = args.portal_listen.unwrap_or(main.portal_listen);
        // The portal decides who is authorised; the offload's fast path reads it here.
        let gate = Arc::new(crate::offload::PortalGate::new()?);
        let portal = portal::start(
            &root,
            db.clone(),
            portal_settings,
            portal_listen,
            listen.port(),
            platform.network_functions_available(),
            gate.clone(),
        )?;
        let network_functions = platform.network_functions_available();
        let applier = Applier::start(platform.clone(), db, main.apply_timeout)?;
        let mut state = AppState::new(platform, auth, applier, lan_side)?;
        state.connection_test_url = main.connection_test_url.clone();
        state.portal = Some(portal);
        state.portal_port = portal_listen.port();
        state.ble = Some(crate::ble::start(&root)?);
        let offload = Arc::new(crate::offload::Service::start(
            &offload_settings,
            network_functions,
            gate,
        ));
        state.offload = Some(offload.clone());
        // On SIGTERM, requests in flight may finish; live views (Server-Sent Events) never
        // do, so after a grace period the remaining connections are closed.
        let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
        let server = axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stopping_tx.send(true);
        });
        tokio::select! {
            result = std::future::IntoFuture::into_future(server) => result?,
            () = async {
                let _ = stopping.changed().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => tracing::info!("closing the connections still open (live views)"),
        }
        // The last reference: the offload's thread stops and the programs are detached.
        drop(offload);
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// How long a stopping server waits for open connections.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

pub(crate) async fn shutdown_signal() {
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

/// Logs to stderr, filtered by `PORTICO_LOG` (`info`, `debug,tower_http=info`: a default
/// level and levels per module; without regular expressions, which would cost the router
/// binary a regex engine).
fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = std::env::var("PORTICO_LOG")
        .ok()
        .and_then(|spec| spec.parse::<tracing_subscriber::filter::Targets>().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        });
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // procd hands stderr to syslog: colours only on a terminal.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .try_init();
}
