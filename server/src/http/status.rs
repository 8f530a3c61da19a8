//! The overview page's facts, read from the platform and the kernel.

use std::sync::Arc;
use std::time::Instant;

use app::status::{StatusSource, SystemStatus};

use super::AppState;
use crate::platform::{Kind, Platform};

struct PlatformStatus {
    platform: Arc<dyn Platform>,
    started: Instant,
}

pub(super) fn source(state: &AppState) -> Arc<dyn StatusSource> {
    Arc::new(PlatformStatus {
        platform: state.platform.clone(),
        started: state.started,
    })
}

impl StatusSource for PlatformStatus {
    fn system_status(&self) -> SystemStatus {
        let hostname = match self.platform.package("system") {
            Ok(system) => Some(
                system
                    .sections_of("system")
                    .next()
                    .and_then(|s| uci::views::System(s).hostname())
                    .unwrap_or_else(|| "OpenWrt".into()),
            ),
            Err(err) => {
                tracing::warn!(%err, "host name unknown");
                None
            }
        };
        SystemStatus {
            version: env!("CARGO_PKG_VERSION").into(),
            dev_root: match self.platform.kind() {
                Kind::Dev { root } => Some(root.display().to_string()),
                Kind::OpenWrt => None,
            },
            hostname,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            uptime_seconds: self.started.elapsed().as_secs(),
            network_functions: self.platform.network_functions_available(),
        }
    }
}
