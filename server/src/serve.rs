//! `portico serve`: settings, platform, state, listener; then serve until SIGTERM/SIGINT.
//! The entry point that starts every capability; only `cli` calls it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::apply::Applier;
use crate::auth::Auth;
use crate::config::{Overrides, Settings};
use crate::http::{AppState, app};
use crate::platform;
use crate::portal;
use crate::state::StateDb;

/// What `portico serve` is told on the command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// The state root (`/` on a router).
    pub root: PathBuf,
    /// Flags and `PORTICO_*` variables over the settings file.
    pub overrides: Overrides,
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
pub fn run(options: Options) -> anyhow::Result<ExitCode> {
    let root = options.root;
    let platform =
        platform::open(&root).with_context(|| format!("preparing the root {}", root.display()))?;
    let (settings, warnings) = Settings::load(&root)?;
    for w in &warnings {
        tracing::warn!(file = %platform::store(&root).path("portico").display(), at = %w.at, "{}", w.message);
    }
    let Settings {
        main,
        portal: portal_settings,
        offload: offload_settings,
        ble: ble_settings,
        mesh: mesh_settings,
    } = settings.with(options.overrides);
    let (listen, lan_device) = (main.listen, main.lan_device.clone());
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
        let portal_listen = main.portal_listen;
        // The portal decides who is authorised; the offload's fast path reads it here.
        let gate = Arc::new(crate::offload::PortalGate::new()?);
        let portal = portal::start(
            &root,
            db.clone(),
            portal_settings,
            portal::Ports {
                listen: portal_listen,
                admin_port: listen.port(),
                closed: vec![(mesh_settings.interface.clone(), mesh_settings.port)],
            },
            platform.network_functions_available(),
            gate.clone(),
        )?;
        let network_functions = platform.network_functions_available();
        let applier = Applier::start(platform.clone(), db.clone(), main.apply_timeout)?;
        let mut state =
            AppState::new(platform, auth, applier, lan_side, &main.connection_test_url)?;
        // Vouchers from other nodes of the community: the portal follows each merge at once.
        let follower = Arc::clone(&portal);
        let hostname = hostname(&state.platform);
        state.mesh = mesh_settings.clone();
        let _mesh = crate::mesh::service::Mesh::start(
            &db,
            mesh_settings,
            hostname,
            Arc::new(move || follower.refresh()),
        )?;
        state.portal = Some(portal);
        state.portal_port = portal_listen.port();
        state.ble = Some(crate::ble::start(&root, ble_settings)?);
        let offload = Arc::new(crate::offload::Service::start(
            &offload_settings,
            network_functions,
            gate,
        ));
        state.offload = Some(offload.clone());
        if network_functions {
            match crate::ports::Ports::start_applying(
                state.platform.clone(),
                Some(state.applier.clone()),
                main.connection_test_url.clone(),
            ) {
                Ok(ports) => state.ports = Some(ports),
                Err(err) => tracing::warn!(%err, "port detection not started"),
            }
        }
        state.status.spawn_sampler();
        state.restart = Arc::new(restart_later);
        // On SIGTERM, requests in flight may finish; live views (Server-Sent Events) never
        // do, so after a grace period the remaining connections are closed.
        let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
        let server = axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            crate::web::shutdown_signal().await;
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

/// The router's host name (UCI `system`), as the mesh's other nodes see it.
fn hostname(platform: &Arc<dyn crate::platform::Platform>) -> String {
    platform
        .package("system")
        .ok()
        .and_then(|p| {
            p.sections_of("system")
                .next()
                .and_then(|s| uci::views::System(s).hostname())
        })
        .unwrap_or_else(|| "OpenWrt".into())
}

/// Restarts this process in two seconds (the page that waits for it loads first): the same
/// program with the same arguments, in place (`exec`), so the lab's `ip netns exec` or procd
/// still see one process. Sockets are closed on exec; the new process opens them again.
fn restart_later() {
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(2));
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let program = std::env::current_exe().unwrap_or_else(|_| args[0].clone().into());
        tracing::info!("restarting");
        let error = std::os::unix::process::CommandExt::exec(
            std::process::Command::new(program).args(&args[1..]),
        );
        tracing::error!(%error, "the restart failed");
    });
}

/// How long a stopping server waits for open connections.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);
