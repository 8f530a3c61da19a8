//! The overview page's data: what Portico and the machine under it are, read live.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Facts about the running Portico and its platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub version: String,
    /// `None` on `OpenWrt`; the dev platform's root directory otherwise.
    pub dev_root: Option<String>,
    /// `None` when `/etc/config/system` is broken (the configuration list names it).
    pub hostname: Option<String>,
    pub kernel: String,
    pub uptime_seconds: u64,
    /// Kernel-touching functions are allowed (own network namespace, or `OpenWrt`).
    pub network_functions: bool,
}

/// Where the server gets [`SystemStatus`] from; the server puts an implementation into the
/// Leptos context.
#[cfg(feature = "ssr")]
pub trait StatusSource: Send + Sync {
    fn system_status(&self) -> SystemStatus;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// Reads the system status (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "system_status")]
pub async fn load_system_status() -> Result<SystemStatus, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn StatusSource>>()
        .ok_or_else(|| ServerFnError::new("status source missing"))?;
    Ok(source.system_status())
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

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::format_duration(5), "5 s");
        assert_eq!(super::format_duration(125), "2 min");
        assert_eq!(super::format_duration(3_725), "1 h 2 min");
        assert_eq!(super::format_duration(90_061), "1 d 1 h 1 min");
    }
}
