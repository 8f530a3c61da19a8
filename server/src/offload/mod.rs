//! Firewall offload: an eBPF fast path for established flows (XDP or TC), driven by conntrack
//! events, with per-flow counters and a watchdog that fails open.
//!
//! - `bpf/offload.c` + `bpf/offload.h`: the programs and their map types (the build script
//!   compiles them and generates [`abi`] from the header);
//! - [`fastpath`]: loading, attaching, the maps;
//! - [`manager`]: the flow manager thread (conntrack, link and nftables events) and the
//!   snapshot the dashboard shows.

pub mod abi;
pub mod devices;
pub mod fastpath;
pub mod gate;
pub mod manager;
mod settings;
pub mod snapshot;

pub use fastpath::{Counters, FastPath, FastPathError, Hook, Mode};
pub use gate::PortalGate;
pub use manager::Offload;
pub use settings::{KEYS, Settings};
pub use snapshot::Snapshot;

#[cfg(test)]
mod tests;

/// The offload as the server runs it: the manager when it runs, or why it does not.
pub struct Service {
    running: Option<Offload>,
    stopped: Snapshot,
}

impl Service {
    /// Starts the offload if it is switched on, configured and possible here; otherwise
    /// keeps the reason for the dashboard. `gate` carries the portal's decisions.
    pub fn start(
        settings: &Settings,
        network_functions: bool,
        gate: std::sync::Arc<PortalGate>,
    ) -> Service {
        let why_not = if !settings.enabled {
            Some("switched off (option enabled '0' in /etc/config/portico)".to_owned())
        } else if !network_functions {
            Some("network functions are disabled in the host's network namespace".to_owned())
        } else if settings.interfaces.is_empty() {
            Some("no interfaces configured (option interfaces in /etc/config/portico)".to_owned())
        } else {
            None
        };
        if let Some(problem) = why_not {
            return Service {
                running: None,
                stopped: snapshot::stopped(settings.hook, settings.flows, problem),
            };
        }
        match Offload::start(settings, gate) {
            Ok(offload) => Service {
                running: Some(offload),
                stopped: Snapshot::default(),
            },
            Err(e) => {
                tracing::warn!(error = %e, "offload not started");
                Service {
                    running: None,
                    stopped: snapshot::stopped(settings.hook, settings.flows, e.to_string()),
                }
            }
        }
    }

    /// The offload's state (the overview's summary).
    pub fn snapshot(&self) -> Snapshot {
        self.running
            .as_ref()
            .map_or_else(|| self.stopped.clone(), Offload::snapshot)
    }

    /// The dashboard's data: asking switches the programs' run-time statistics on for a while.
    pub fn dashboard(&self) -> Snapshot {
        self.running
            .as_ref()
            .map_or_else(|| self.stopped.clone(), Offload::dashboard)
    }
}
