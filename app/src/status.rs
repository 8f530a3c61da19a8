//! The overview's data: is the internet there, who is connected, how busy the links are, how
//! the machine is doing, and the state of the portal, offload and Bluetooth. Read live by the
//! server (the platform says from where) and followed over Server-Sent Events from
//! [`STATUS_EVENTS`]; without JavaScript the page shows the state as of loading.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Everything the overview shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub system: SystemStatus,
    pub internet: Internet,
    pub ipv6: Ipv6,
    pub lan: Lan,
    pub wifi: Wifi,
    /// Devices on the LAN: DHCP leases and neighbours, online ones first.
    pub devices: Vec<Device>,
    /// Bits per second in and out of each interface, oldest first.
    pub traffic: Vec<Traffic>,
    pub capabilities: Capabilities,
}

/// Facts about the running Portico and the machine under it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub version: String,
    /// `None` on `OpenWrt`; the dev platform's root directory otherwise.
    pub dev_root: Option<String>,
    /// `None` when `/etc/config/system` is broken (the configuration list names it).
    pub hostname: Option<String>,
    pub kernel: String,
    /// How long Portico has been running.
    pub uptime_seconds: u64,
    /// How long the machine has been running (`/proc/uptime`).
    pub boot_seconds: Option<u64>,
    /// Load averages over 1, 5 and 15 minutes.
    pub load: Option<[f64; 3]>,
    pub memory: Option<Memory>,
    /// The space settings and packages are kept in (the overlay on `OpenWrt`).
    pub storage: Option<Storage>,
    /// `None` where the platform cannot report the router's temperature (the dev platform);
    /// an empty list where the kernel has no sensor.
    pub temperatures: Option<Vec<Sensor>>,
    /// Kernel-touching functions are allowed (own network namespace, or `OpenWrt`).
    pub network_functions: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub available_bytes: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// A thermal zone of the kernel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    pub name: String,
    pub celsius: f64,
}

/// The uplink.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Internet {
    /// `dhcp`, `static`, `pppoe`, ... as configured (empty: no WAN interface).
    pub proto: String,
    pub device: String,
    /// The device has carrier and an address.
    pub up: bool,
    /// IPv4 addresses with prefix length.
    pub addresses: Vec<String>,
    pub gateway: Option<String>,
    pub dns: Vec<String>,
    /// Since the WAN address was set.
    pub connected_seconds: Option<u64>,
    /// The last connection test (run at apply or with "Test now").
    pub test: Option<ConnectionTest>,
}

/// A connection test's result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTest {
    /// Still running: the checks so far.
    pub running: bool,
    pub checks: Vec<crate::wizard::form::Check>,
    /// When it started, milliseconds since the epoch.
    pub started_ms: u64,
}

/// IPv6 on the uplink and the LAN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv6 {
    /// `connected` (a global address and a default route), `local` (LAN addresses only) or
    /// `off`.
    pub state: String,
    pub wan_addresses: Vec<String>,
    pub gateway: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lan {
    pub device: String,
    /// Both families, with prefix length.
    pub addresses: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wifi {
    /// The platform can count clients per network (false on the dev platform).
    pub clients_known: bool,
    pub networks: Vec<WifiNetwork>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WifiNetwork {
    pub ssid: String,
    /// `2g`, `5g`, `6g`, `60g` or empty when the radio does not say.
    pub band: String,
    pub enabled: bool,
    pub clients: Option<u32>,
}

/// A device on the LAN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The name it gave in its DHCP request.
    pub name: Option<String>,
    pub addresses: Vec<String>,
    pub mac: String,
    /// The MAC's registered vendor (IEEE OUI table).
    pub vendor: Option<String>,
    /// A locally administered (often randomised, private) MAC address: it has no vendor.
    pub private_mac: bool,
    /// `wired`, `wireless`, or empty when unknown.
    pub link: String,
    /// In the neighbour table now.
    pub online: bool,
    /// Since Portico first saw it online without a break.
    pub online_seconds: Option<u64>,
    /// Seconds left on its DHCP lease (`None`: no lease, or one that does not expire).
    pub lease_seconds: Option<u64>,
}

/// One interface's traffic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    pub interface: String,
    /// `wan`, `lan` or empty.
    pub role: String,
    pub points: Vec<TrafficPoint>,
}

/// Bits per second over one sampling interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficPoint {
    /// Unix time, seconds.
    pub t: i64,
    pub rx: f64,
    pub tx: f64,
}

/// The state of the capabilities, each with a link to its page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The captive portal is switched on and runs.
    pub portal: bool,
    /// Vouchers in use now.
    pub portal_clients: u64,
    /// The offload runs; why not otherwise.
    pub offload: bool,
    pub offload_problem: String,
    /// The qaul Bluetooth link: `None` when this Portico runs none, else whether it runs.
    pub bluetooth: Option<bool>,
    pub bluetooth_peers: u64,
    /// Why the link does not run, in the page's language.
    pub bluetooth_problem: String,
}

/// The URL of the overview's event stream (`status` events).
pub const STATUS_EVENTS: &str = "/api/v1/status/events";

/// Where the server gets the overview from; the server puts an implementation into the
/// Leptos context.
#[cfg(feature = "ssr")]
pub trait StatusSource: Send + Sync {
    /// The overview; the capabilities' problems in `lang`.
    fn overview(&self, lang: crate::i18n::Lang) -> Overview;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// Reads the overview (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "overview")]
pub async fn load_overview() -> Result<Overview, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn StatusSource>>()
        .ok_or_else(|| ServerFnError::new("status source missing"))?;
    Ok(source.overview(crate::request_lang()))
}

/// Formats seconds as `2 d 3 h 4 min` (units are international).
pub fn format_duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h {m} min"),
    }
}

/// Formats bytes with binary units: `512 B`, `3.4 MiB` (units are international).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss, reason = "shown with one decimal")]
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::format_duration(5), "5 s");
        assert_eq!(super::format_duration(125), "2 min");
        assert_eq!(super::format_duration(3_725), "1 h 2 min");
        assert_eq!(super::format_duration(90_061), "1 d 1 h 1 min");
    }

    #[test]
    fn bytes() {
        assert_eq!(super::format_bytes(512), "512 B");
        assert_eq!(super::format_bytes(1536), "1.5 KiB");
        assert_eq!(super::format_bytes(128 * 1024 * 1024), "128.0 MiB");
    }
}
