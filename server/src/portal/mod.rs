//! The captive portal (design.md): vouchers in the state database; the portal pages, the
//! nftables enforcement and the RFC 8908 API build on them.

pub mod cli;
pub mod nft;
pub mod service;
pub mod vouchers;
pub mod web;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::config::PortalSection;
use crate::state::StateDb;

/// Starts the portal inside `serve`: the firewall table from the voucher store (when network
/// functions are available), the watch loop and the portal listener. Returns the portal and the
/// address it listens on.
///
/// # Errors
/// When the store cannot be opened, the kernel refuses the table or the port is taken.
pub async fn start(
    root: &Path,
    db: StateDb,
    mut settings: PortalSection,
    listen: SocketAddr,
    admin_port: u16,
    enforcing: bool,
) -> anyhow::Result<(Arc<service::Portal>, SocketAddr)> {
    // The logo is a file under the root (the setting is its path on the router).
    settings.logo = settings
        .logo
        .map(|p| root.join(p.strip_prefix("/").unwrap_or(&p)));
    let layout = nft::Layout {
        interfaces: settings.interfaces.clone(),
        portal_port: listen.port(),
        admin_port,
        walled_garden: settings
            .walled_garden
            .iter()
            .filter_map(|n| crate::config::parse_network(n))
            .collect(),
    };
    if !enforcing {
        tracing::warn!(
            "captive portal without enforcement: network functions are unavailable here"
        );
    }
    let portal = Arc::new(service::Portal::new(
        vouchers::Vouchers::open(db)?,
        settings,
        layout,
        enforcing,
    ));
    portal.start()?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    tracing::info!(%local, "captive portal listening");
    let serving = Arc::clone(&portal);
    tokio::spawn(async move {
        if let Err(err) = web::serve(listener, serving).await {
            tracing::error!(%err, "portal listener stopped");
        }
    });
    Ok((portal, local))
}
