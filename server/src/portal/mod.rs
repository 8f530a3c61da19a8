//! The captive portal (design.md): vouchers in the state database; the portal pages, the
//! nftables enforcement and the RFC 8908 API build on them.
//!
//! `settings` (its section and the admin's changes), `vouchers` (store, codes, redemption,
//! Pirania), `service` (the settings in force, the firewall, the watch), `nft` (the table),
//! `web` (the guest's pages, handed to the service as a function), `cli`. It uses the kernel
//! plumbing, the offload's gate and the state database, never the HTTP edge.

pub mod cli;
pub mod nft;
pub mod service;
pub mod settings;
pub mod vouchers;
pub mod web;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::state::StateDb;
pub use settings::Settings;

/// The router's ports the portal's table knows of.
pub struct Ports {
    /// Where the portal listens once it is switched on.
    pub listen: SocketAddr,
    /// The admin UI's port (let through for everyone).
    pub admin_port: u16,
    /// Services of this router on an interface and port of their own, closed to devices when
    /// that interface is captive (the mesh's sync).
    pub closed: Vec<(String, u16)>,
}

/// Starts the portal inside `serve`: its settings in force (switched on: its listener, and the
/// firewall table built from the voucher store when network functions are available;
/// switched off: no listener and no table) and the watch loop. `gate` is the firewall
/// offload's copy of the authorised set, written with the table.
///
/// # Errors
/// When the store cannot be opened, the kernel refuses the table or the port is taken.
pub fn start(
    root: &Path,
    db: StateDb,
    settings: Settings,
    ports: Ports,
    enforcing: bool,
    gate: Arc<crate::offload::PortalGate>,
) -> Result<Arc<service::Portal>, service::Error> {
    let Ports {
        listen,
        admin_port,
        closed,
    } = ports;
    if !enforcing && settings.enabled {
        tracing::warn!(
            "captive portal without enforcement: network functions are unavailable here"
        );
    }
    let portal = closed.iter().fold(
        service::Portal::new(
            web::serve,
            vouchers::Vouchers::open(db).map_err(vouchers::Error::from)?,
            root.to_owned(),
            listen,
            admin_port,
            enforcing,
            Some(gate),
        ),
        |portal, (interface, port)| portal.closing(interface, *port),
    );
    let portal = Arc::new(portal);
    portal.start(settings)?;
    Ok(portal)
}
