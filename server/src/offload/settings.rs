//! The offload's settings: `config offload 'offload'` in `/etc/config/portico`.

use std::time::Duration;

use super::Hook;
use crate::section::{self, Warning, is_interface_name};

/// The `config offload 'offload'` section: the eBPF fast path for established flows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `option enabled` — `0` leaves every packet to the stack.
    pub enabled: bool,
    /// `option hook` — `xdp` (native, generic as fallback) or `tc`.
    pub hook: Hook,
    /// `option interfaces` (space-separated) or `list interface`: the layer 3 devices whose
    /// traffic is offloaded (`br-lan wan`); the fast path attaches to their ports.
    pub interfaces: Vec<String>,
    /// `option flows` — flow map entries (one per direction of a connection).
    pub flows: u32,
    /// `option watchdog_seconds` — without a heartbeat from Portico for this long, every
    /// packet goes to the stack.
    pub watchdog: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            hook: Hook::Xdp,
            interfaces: Vec::new(),
            flows: 16_384,
            watchdog: Duration::from_secs(5),
        }
    }
}

/// Every key `config offload 'offload'` may hold.
pub const KEYS: [&str; 6] = [
    "enabled",
    "hook",
    "interfaces",
    "interface",
    "flows",
    "watchdog_seconds",
];

impl Settings {
    /// The offload section of a parsed `portico` package.
    pub fn from_package(package: &uci::Package) -> (Settings, Vec<Warning>) {
        section::read(
            package,
            "offload",
            "offload",
            |offload: &mut Settings, mut o| match o.name {
                "enabled" => {
                    if let Some(on) = o.switch() {
                        offload.enabled = on;
                    }
                }
                "hook" => match o.value() {
                    "xdp" => offload.hook = Hook::Xdp,
                    "tc" => offload.hook = Hook::Tc,
                    _ => o.bad("not xdp or tc"),
                },
                "interfaces" | "interface" => {
                    let names: Vec<String> = o
                        .values
                        .iter()
                        .flat_map(|v| v.split_whitespace())
                        .map(ToOwned::to_owned)
                        .collect();
                    if names.iter().all(|n| is_interface_name(n)) {
                        offload.interfaces.extend(names);
                    } else {
                        o.bad("not interface names (at most 15 of a-z, 0-9, . - _)");
                    }
                }
                "flows" => {
                    if let Some(n) = o.number(64..=1_048_576) {
                        offload.flows = n;
                    }
                }
                "watchdog_seconds" => {
                    if let Some(n) = o.number(1..=600) {
                        offload.watchdog = Duration::from_secs(n);
                    }
                }
                _ => o.unknown(&KEYS),
            },
        )
    }
}
