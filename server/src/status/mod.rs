//! The router's state for the overview: the uplink, IPv6, the LAN and its devices, Wi-Fi, the
//! interfaces' traffic, the machine's vital signs, and the connection test run on request.
//!
//! The kernel is read over rtnetlink (links, addresses, routes, neighbours, bridge ports) and
//! procfs; what it does not say comes from where the platform says ([`Platform::observed`]:
//! dnsmasq's lease file, the WAN's resolv.conf, the overlay, Wi-Fi clients through ubus on
//! `OpenWrt`). A sampler refreshes the overview every [`INTERVAL`] for the traffic history and
//! the live page; reads between two samples get the last one.

pub mod devices;
pub mod leases;
pub mod network;
pub mod system;
pub mod traffic;
pub mod vendors;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use app::status::{ConnectionTest, Overview, SystemStatus};
use tokio::sync::watch;

use crate::platform::{Kind, Platform};

/// How often the sampler refreshes the overview.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// The overview's source: the last refresh, the traffic history, the connection test.
pub struct Monitor {
    platform: Arc<dyn Platform>,
    started: Instant,
    test_url: String,
    state: Mutex<State>,
    /// The last overview; every refresh or test step sends a new one.
    last: watch::Sender<Arc<Overview>>,
}

struct State {
    traffic: traffic::History,
    seen: devices::Seen,
    vendors: vendors::Vendors,
    test: Option<ConnectionTest>,
    refreshed: Option<Instant>,
}

/// Why a connection test did not start.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TestError {
    #[error("a connection test is running")]
    Running,
    /// Outside the lab the dev platform shares the host's network: its tests would reach the
    /// internet from the development machine.
    #[error("the connection test cannot run here")]
    NotHere,
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl Monitor {
    /// A monitor of `platform`; `test_url` is the connection test's address.
    pub fn new(platform: Arc<dyn Platform>, started: Instant, test_url: &str) -> Arc<Monitor> {
        let vendors = vendors::Vendors::new(platform.observed().vendors);
        Arc::new(Monitor {
            platform,
            started,
            test_url: test_url.to_owned(),
            state: Mutex::new(State {
                traffic: traffic::History::default(),
                seen: devices::Seen::default(),
                vendors,
                test: None,
                refreshed: None,
            }),
            last: watch::channel(Arc::new(Overview::default())).0,
        })
    }

    /// Refreshes every [`INTERVAL`] until the process ends.
    pub fn spawn_sampler(self: &Arc<Self>) {
        let monitor = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let m = monitor.clone();
                if tokio::task::spawn_blocking(move || m.refresh())
                    .await
                    .is_err()
                {
                    tracing::warn!("status refresh failed");
                }
            }
        });
    }

    /// The overview now: the last refresh when it is recent, else a new one.
    pub fn overview(&self) -> Arc<Overview> {
        let fresh = self
            .lock()
            .refreshed
            .is_some_and(|t| t.elapsed() < INTERVAL);
        if fresh {
            self.last.borrow().clone()
        } else {
            self.refresh()
        }
    }

    /// Follows the overview: a new value after every refresh and test step.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Overview>> {
        self.last.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the connection test (the wizard's checks: gateway, DNS, the test address) in
    /// the background; its progress shows in the overview.
    ///
    /// # Errors
    /// When one is running, or the platform shares the host's network.
    pub fn test_now(self: &Arc<Self>) -> Result<(), TestError> {
        if !self.platform.network_functions_available() {
            return Err(TestError::NotHere);
        }
        {
            let mut state = self.lock();
            if state.test.as_ref().is_some_and(|t| t.running) {
                return Err(TestError::Running);
            }
            state.test = Some(ConnectionTest {
                running: true,
                checks: Vec::new(),
                started_ms: u64::try_from(unix_now().as_millis()).unwrap_or(u64::MAX),
            });
        }
        self.publish();
        let monitor = self.clone();
        std::thread::spawn(move || {
            let url = monitor.test_url.clone();
            crate::wizard::conntest::run(None, &url, Duration::from_secs(5), |check| {
                if let Some(test) = monitor.lock().test.as_mut() {
                    test.checks.push(check);
                }
                monitor.publish();
            });
            if let Some(test) = monitor.lock().test.as_mut() {
                test.running = false;
            }
            monitor.publish();
        });
        Ok(())
    }

    /// Records a connection test run elsewhere (the wizard's after Apply): the overview shows
    /// the last test, whichever started it.
    pub fn record_test(&self, test: ConnectionTest) {
        self.lock().test = Some(test);
        self.publish();
    }

    /// Sends the last overview again with the test's current state.
    fn publish(&self) {
        let test = self.lock().test.clone();
        let mut overview = (**self.last.borrow()).clone();
        overview.internet.test = test;
        self.last.send_replace(Arc::new(overview));
    }

    /// Reads everything anew (and takes a traffic sample).
    fn refresh(&self) -> Arc<Overview> {
        let observed = self.platform.observed();
        let uptime = system::read_small(Path::new("/proc/uptime"))
            .as_deref()
            .and_then(system::uptime);
        let kernel = network::Kernel::read(uptime);
        let package = |name: &str| {
            self.platform
                .package(name)
                .unwrap_or_else(|_| uci::Package::new(name))
        };
        let (net, wireless) = (package("network"), package("wireless"));
        let dns = system::read_small(&observed.resolv)
            .map(|text| network::dns_servers(&text))
            .unwrap_or_default();
        let mut internet = network::internet(&net, &kernel, dns);
        let (ipv6, lan) = network::ipv6_and_lan(&net, &kernel);
        let wifi = network::wifi(&wireless, self.platform.wifi_clients().as_ref());

        let wan_index = kernel.link(&internet.device).map(|l| l.index);
        let loopback: Vec<u32> = kernel
            .links
            .iter()
            .filter(|l| l.arphrd == 772)
            .map(|l| l.index)
            .collect();
        let neighbours: Vec<_> = crate::kernel::neighbours::list()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| Some(n.ifindex) != wan_index && !loopback.contains(&n.ifindex))
            .collect();
        let ports = crate::kernel::neighbours::bridge_ports().unwrap_or_default();
        let leases = observed
            .leases
            .as_deref()
            .map(leases::read)
            .unwrap_or_default();
        let now = Instant::now();
        let unix = unix_now();

        let mut state = self.lock();
        state
            .seen
            .update(neighbours.iter().map(|n| n.mac.as_str()), now);
        state.vendors.learn(
            leases
                .iter()
                .map(|l| l.mac.as_str())
                .chain(neighbours.iter().map(|n| n.mac.as_str())),
        );
        let sightings = devices::Sightings {
            links: &kernel.links,
            neighbours: &neighbours,
            ports: &ports,
        };
        let devices = devices::join(
            &leases,
            &sightings,
            &state.seen,
            &state.vendors,
            unix.as_secs(),
            now,
        );
        state.traffic.record(
            &kernel.links,
            now,
            i64::try_from(unix.as_secs()).unwrap_or(i64::MAX),
        );
        let traffic = state.traffic.series(&internet.device, &lan.device);
        internet.test.clone_from(&state.test);
        state.refreshed = Some(now);
        drop(state);

        let overview = Arc::new(Overview {
            system: self.system(&observed, uptime),
            internet,
            ipv6,
            lan,
            wifi,
            devices,
            traffic,
            capabilities: app::status::Capabilities::default(),
        });
        self.last.send_replace(overview.clone());
        overview
    }

    fn system(&self, observed: &crate::platform::Observed, uptime: Option<f64>) -> SystemStatus {
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
        let proc = |file: &str| system::read_small(Path::new(file));
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "seconds since boot, positive"
        )]
        let boot_seconds = uptime.map(|u| u as u64);
        SystemStatus {
            version: env!("CARGO_PKG_VERSION").into(),
            dev_root: match self.platform.kind() {
                Kind::Dev { root } => Some(root.display().to_string()),
                Kind::OpenWrt => None,
            },
            hostname,
            kernel: proc("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            uptime_seconds: self.started.elapsed().as_secs(),
            boot_seconds,
            load: proc("/proc/loadavg").as_deref().and_then(system::load),
            memory: proc("/proc/meminfo").as_deref().and_then(system::memory),
            storage: system::storage(&observed.storage),
            temperatures: observed
                .temperature
                .then(|| system::temperatures(Path::new("/sys/class/thermal"))),
            network_functions: self.platform.network_functions_available(),
        }
    }
}
