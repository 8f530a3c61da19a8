//! The running portal: redeems codes for the device behind a connection, keeps the nftables
//! set equal to the voucher store — and, in the same step, the firewall offload's copy of it
//! (offload/gate.rs) — cuts a device's connections when it gets access and when that ends,
//! and keeps vouchers' time honest when the wall clock jumps.
//!
//! A device's connections are found without the neighbour table (which a guest can re-point):
//! the table stamps each authorised device's forwarded connections with the low 32 bits of
//! its MAC in the conntrack mark, and the offload finds its flows by the MAC the fast path
//! recorded. Whenever the table is (re)built, connections from the captive networks that no
//! authorised device stamped are cut.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::kernel::{addresses, conntrack, neighbours};
use crate::offload::PortalGate;
use crate::portal::Settings;
use crate::portal::nft::{self, Allowed, Layout};
use crate::portal::vouchers::{self, Grant, Refusal, Vouchers};

/// How often the portal looks at the clock, the store and expiries. Access itself ends on
/// the kernel's timer (the set's element timeouts); this only flushes conntrack after it.
const TICK: Duration = Duration::from_millis(500);
/// A wall-clock difference from the monotonic clock above this is a jump (seconds).
const JUMP: i64 = 5;

/// Why the portal could not give access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The voucher says no.
    Refused(Refusal),
    /// Too many wrong codes from this client: wait this long.
    Wait(Duration),
    /// The connection's address has no MAC address in the neighbour table.
    UnknownDevice,
    /// The store or the firewall failed (logged).
    Unavailable,
}

/// What a device has of the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing yet: captive.
    Captive,
    /// This many seconds left.
    Left(i64),
    /// A permanent voucher.
    Unlimited,
    /// The portal is switched off: nobody is captive.
    Open,
}

/// The settings in force and what follows from them.
struct Config {
    settings: Settings,
    layout: Layout,
    /// Wrong codes counted per device (MAC), as the settings say.
    limiter: crate::auth::LoginLimiter<String>,
    /// Whether the table was built captive (switched on and not open for everyone) when the
    /// settings were put in force: the watch rebuilds it when the open time ends.
    captive: bool,
}

/// The captive portal service. It runs whether or not the portal is switched on, so the
/// admin can switch it on and off without a restart.
/// What putting the portal's settings in force can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The voucher store could not be read.
    #[error(transparent)]
    Store(#[from] vouchers::Error),
    /// The kernel refused the table or the set.
    #[error("the portal's firewall table: {0}")]
    Firewall(#[source] std::io::Error),
    /// The portal's port could not be bound.
    #[error("binding the portal to {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The portal was started outside the server's runtime.
    #[error("the portal needs the server's runtime")]
    NoRuntime,
    /// Its watch thread could not be started.
    #[error("starting the portal's watch: {0}")]
    Thread(#[source] std::io::Error),
}

/// Serves the portal's pages on a bound listener: `web::serve`, handed in by whoever builds
/// the portal, so the service (which the pages call) does not import the pages.
pub type Pages = fn(
    tokio::net::TcpListener,
    Arc<Portal>,
) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

pub struct Portal {
    pages: Pages,
    pub vouchers: Vouchers,
    /// The state root (the logo setting is a path under it).
    root: PathBuf,
    /// Where the portal listens once it is switched on, and the admin UI's port (the firewall
    /// lets both through).
    listen: SocketAddr,
    admin_port: u16,
    /// The portal listener's address once it runs (it starts the first time the portal is
    /// switched on and then stays: never on a port nobody asked for).
    listening: Mutex<Option<SocketAddr>>,
    config: RwLock<Config>,
    /// False in the host namespace: pages work, nothing is enforced.
    enforcing: bool,
    /// The offload's copy of the authorised set (written with the nftables set).
    gate: Option<Arc<PortalGate>>,
    /// The devices in the set at the last sync and when their access ends.
    known: Mutex<HashMap<String, Option<i64>>>,
    /// The neighbour table as last read, for pages and captive checks (a guest's phone asks
    /// several times a second); redeeming always reads it afresh.
    neighbours: Mutex<(Option<Instant>, HashMap<IpAddr, String>)>,
    /// Services of this router that listen on an interface and port of their own (the mesh's
    /// sync): closed to devices when that interface is a captive one.
    closed: Vec<(String, u16)>,
}

/// Every this many ticks (5 s) the watch loop checks that the table is still there.
const TABLE_CHECK_TICKS: u32 = 10;

/// How long a read of the neighbour table serves pages and checks.
const NEIGHBOURS_FRESH: Duration = Duration::from_secs(1);

impl Portal {
    /// A portal that is off until [`Portal::configure`] switches it on.
    pub fn new(
        pages: Pages,
        vouchers: Vouchers,
        root: PathBuf,
        listen: SocketAddr,
        admin_port: u16,
        enforcing: bool,
        gate: Option<Arc<PortalGate>>,
    ) -> Portal {
        let ports = (listen.port(), admin_port);
        let settings = Settings::default();
        let layout = Self::layout_for(&settings, ports, &[]);
        Portal {
            pages,
            vouchers,
            root,
            listen,
            admin_port,
            listening: Mutex::default(),
            config: RwLock::new(Config {
                limiter: crate::auth::LoginLimiter::per_minute(settings.tries_per_minute),
                settings,
                layout,
                captive: false,
            }),
            enforcing,
            gate,
            known: Mutex::default(),
            neighbours: Mutex::default(),
            closed: Vec::new(),
        }
    }

    /// The portal with a service that listens on `interface` and `port` (closed to devices
    /// when that interface is captive).
    #[must_use]
    pub fn closing(mut self, interface: &str, port: u16) -> Portal {
        self.closed.push((interface.to_owned(), port));
        self
    }

    fn layout_for(
        settings: &Settings,
        (portal_port, admin_port): (u16, u16),
        closed: &[(String, u16)],
    ) -> Layout {
        Layout {
            closed: closed
                .iter()
                .filter(|(interface, _)| settings.interfaces.contains(interface))
                .map(|(_, port)| *port)
                .collect(),
            interfaces: settings.interfaces.clone(),
            portal_port,
            admin_port,
            walled_garden: settings
                .walled_garden
                .iter()
                .filter_map(|n| crate::section::parse_network(n))
                .collect(),
        }
    }

    fn config(&self) -> std::sync::RwLockReadGuard<'_, Config> {
        self.config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The settings in force (the logo as a path under the root).
    pub fn settings(&self) -> Settings {
        self.config().settings.clone()
    }

    /// The settings as they were given to [`Portal::configure`] (the logo as the router's path).
    fn settings_as_configured(&self) -> Settings {
        let mut settings = self.settings();
        settings.logo = settings.logo.map(|p| match p.strip_prefix(&self.root) {
            Ok(rel) => std::path::Path::new("/").join(rel),
            Err(_) => p,
        });
        settings
    }

    /// Whether guests must show a voucher now (switched on, and not opened for everyone).
    pub fn enabled(&self) -> bool {
        self.config().settings.captive_at(vouchers::now())
    }

    /// Whether the firewall is programmed (false: web pages only).
    pub fn enforcing(&self) -> bool {
        self.enforcing
    }

    /// Puts settings in force: switched on, the table is (re)built from the voucher store
    /// (start, crash, reboot, changed settings); switched off, it is removed.
    ///
    /// # Errors
    /// When the store cannot be read or the kernel refuses the table.
    pub fn configure(self: &Arc<Self>, mut settings: Settings) -> Result<(), Error> {
        settings.logo = settings
            .logo
            .map(|p| self.root.join(p.strip_prefix("/").unwrap_or(&p)));
        let port = if settings.enabled {
            self.ensure_listener()?.port()
        } else {
            self.listen.port()
        };
        let layout = Self::layout_for(&settings, (port, self.admin_port), &self.closed);
        // Opened for everyone: no table until the time is up (the watch puts it back).
        let enabled = settings.captive_at(vouchers::now());
        if settings.open_at(vouchers::now()) {
            tracing::info!(until = settings.open_until, "portal open for everyone");
        }
        {
            let mut config = self
                .config
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            config.limiter = crate::auth::LoginLimiter::per_minute(settings.tries_per_minute);
            config.settings = settings;
            config.layout = layout.clone();
            config.captive = enabled;
        }
        if enabled {
            let (allowed, since) = self.allowed_now()?;
            if self.enforcing {
                nft::install(&layout, &allowed).map_err(Error::Firewall)?;
                self.publish(&layout.interfaces, &allowed, since, true);
                tracing::info!(devices = allowed.len(), interfaces = ?layout.interfaces, "portal firewall installed");
                Self::cut_unstamped(&layout.interfaces, &allowed);
            }
        } else {
            self.known
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
            if self.enforcing {
                nft::remove().map_err(Error::Firewall)?;
                if let Some(gate) = &self.gate {
                    gate.off();
                }
            }
        }
        Ok(())
    }

    /// The offload's copy of the set, written right after the set itself; `since` is when
    /// the time left was computed (CLOCK_MONOTONIC ns).
    fn publish(&self, interfaces: &[String], allowed: &[Allowed], since: u64, recheck: bool) {
        if let Some(gate) = &self.gate {
            let devices: Vec<_> = allowed.iter().map(|a| (a.mac, a.timeout)).collect();
            gate.publish(interfaces, &devices, since, recheck);
        }
    }

    /// The table was just built (start, switched on, rebuilt after it went missing):
    /// forwarded connections from the captive networks that no authorised device stamped were
    /// made while nothing stood in their way, and are cut.
    fn cut_unstamped(interfaces: &[String], allowed: &[Allowed]) {
        let marks: HashSet<u32> = allowed.iter().map(|a| nft::device_mark(&a.mac)).collect();
        let networks = addresses::networks(interfaces);
        let local = addresses::local();
        let result = conntrack::delete_where(|e| {
            networks.iter().any(|n| n.contains(&e.orig.src))
                && !local.contains(&e.orig.dst)
                && !marks.contains(&e.mark)
        });
        match result {
            Ok(cut) if !cut.is_empty() => {
                tracing::info!(
                    connections = cut.len(),
                    "connections made without the portal cut"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "conntrack not readable"),
        }
    }

    /// Starts the portal's listener unless it runs; returns its address.
    fn ensure_listener(self: &Arc<Self>) -> Result<SocketAddr, Error> {
        let mut listening = self
            .listening
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(addr) = *listening {
            return Ok(addr);
        }
        let bind = |source| Error::Bind {
            address: self.listen,
            source,
        };
        let listener = std::net::TcpListener::bind(self.listen).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        let portal = Arc::clone(self);
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        handle.spawn(async move {
            let served = match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => (portal.pages)(listener, portal.clone()).await,
                Err(err) => Err(err),
            };
            if let Err(err) = served {
                tracing::error!(%err, "portal listener stopped");
            }
        });
        tracing::info!(%local, "captive portal listening");
        // The address line is read by tests and scripts.
        println!("portico: portal on http://{local}/");
        *listening = Some(local);
        Ok(local)
    }

    /// Puts `settings` in force and starts the watch loop (and, where the firewall is ours,
    /// the watch of the set's elements).
    ///
    /// # Errors
    /// As [`Portal::configure`].
    pub fn start(self: &Arc<Self>, settings: Settings) -> Result<(), Error> {
        self.configure(settings)?;
        let portal = Arc::clone(self);
        tokio::spawn(async move { portal.watch().await });
        if self.enforcing {
            let portal = Arc::clone(self);
            std::thread::Builder::new()
                .name("portal-set".into())
                .spawn(move || portal.watch_set())
                .map_err(Error::Thread)?;
        }
        Ok(())
    }

    /// Follows changes of the set's elements made by anyone (`nft delete element …`): a
    /// device the kernel no longer lets through loses its fast-path flows and connections at
    /// once, as when its access ends.
    fn watch_set(&self) {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let mut events = match crate::kernel::netlink::Socket::subscribe(
            nix::sys::socket::SockProtocol::NetlinkNetFilter,
            crate::kernel::nftables::GROUP,
        ) {
            Ok(socket) => socket,
            Err(err) => {
                tracing::warn!(%err, "changes of the portal's set by others are not followed");
                return;
            }
        };
        loop {
            let mut fds = [PollFd::new(events.fd(), PollFlags::POLLIN)];
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            let mut changed = false;
            loop {
                match events.receive_events() {
                    Ok(msgs) if msgs.is_empty() => break,
                    Ok(msgs) => {
                        changed |= msgs.iter().any(|m| nft::is_our_set_change(m.kind, &m.body));
                    }
                    Err(_) => {
                        changed = true;
                        break;
                    }
                }
            }
            if changed && self.enabled() {
                self.follow_kernel_set();
            }
        }
    }

    /// Devices the store authorises but the kernel's set no longer holds: their flows and
    /// connections are cut, and the offload's copy follows the kernel.
    fn follow_kernel_set(&self) {
        let kernel = match nft::allowed_elements() {
            Ok(set) => set,
            Err(err) => {
                tracing::debug!(%err, "the portal's set is not readable");
                return;
            }
        };
        let known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let missing: Vec<String> = known
            .keys()
            .filter(|mac| nft::mac_bytes(mac).is_some_and(|b| !kernel.contains(&b)))
            .cloned()
            .collect();
        if missing.is_empty() {
            return;
        }
        tracing::warn!(
            devices = missing.len(),
            "devices were removed from the portal's set by someone else: their connections are cut"
        );
        let since = crate::offload::fastpath::monotonic_ns();
        let now_ms = now_millis();
        let rest: std::collections::HashMap<String, Option<i64>> = known
            .into_iter()
            .filter(|(mac, _)| !missing.contains(mac))
            .collect();
        let allowed = allowed_list(&rest, now_ms);
        let interfaces = self.config().layout.interfaces.clone();
        self.publish(&interfaces, &allowed, since, false);
        self.flush(&missing, None);
    }

    /// The devices with access now, with the time each has left, and remembers them; with the
    /// monotonic clock's reading at the moment the time left was computed.
    fn allowed_now(&self) -> Result<(Vec<Allowed>, u64), Error> {
        let now = vouchers::now();
        let since = crate::offload::fastpath::monotonic_ns();
        let now_ms = now_millis();
        let list = self.vouchers.authorised(now)?;
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known.clear();
        known.extend(list);
        Ok((allowed_list(&known, now_ms), since))
    }

    /// Makes the set equal to the store (nothing while the portal is off).
    ///
    /// # Errors
    /// When the store cannot be read or the kernel refuses.
    pub fn sync(&self) -> Result<(), Error> {
        if !self.enabled() {
            return Ok(());
        }
        let (allowed, since) = self.allowed_now()?;
        if self.enforcing {
            nft::set_allowed(&allowed).map_err(Error::Firewall)?;
            let interfaces = self.config().layout.interfaces.clone();
            self.publish(&interfaces, &allowed, since, false);
        }
        Ok(())
    }

    /// After the store changed (expiry, an admin, the CLI): the set follows it, and devices
    /// that lost access lose their connections too.
    pub fn refresh(&self) {
        let keys = |portal: &Portal| -> HashSet<String> {
            portal
                .known
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .keys()
                .cloned()
                .collect()
        };
        let before = keys(self);
        if let Err(err) = self.sync() {
            tracing::error!(%err, "portal firewall update");
        }
        let after = keys(self);
        let gone: Vec<String> = before.difference(&after).cloned().collect();
        if !gone.is_empty() {
            self.flush(&gone, None);
        }
    }

    /// The MAC address behind a connection's address.
    fn mac_of(ip: IpAddr) -> Option<String> {
        match neighbours::mac_of(ip) {
            Ok(mac) => mac,
            Err(err) => {
                tracing::warn!(%err, "neighbour table unreadable");
                None
            }
        }
    }

    /// [`Portal::mac_of`] from a read of the neighbour table at most [`NEIGHBOURS_FRESH`]
    /// old; an address it does not know makes it read again (a device that just joined).
    fn cached_mac_of(&self, ip: IpAddr) -> Option<String> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        let mut cache = self
            .neighbours
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = cache.0.is_some_and(|t| t.elapsed() < NEIGHBOURS_FRESH);
        if fresh && let Some(mac) = cache.1.get(&ip) {
            return Some(mac.clone());
        }
        match neighbours::list() {
            Ok(list) => {
                *cache = (
                    Some(Instant::now()),
                    list.into_iter().map(|n| (n.ip, n.mac)).collect(),
                );
                cache.1.get(&ip).cloned()
            }
            Err(err) => {
                tracing::warn!(%err, "neighbour table unreadable");
                None
            }
        }
    }

    /// A device types a code. On success the device is in the set and its old connections
    /// (redirected to the portal) are gone, so its next request goes out.
    ///
    /// # Errors
    /// Why the device did not get access.
    pub fn redeem(&self, code: &str, ip: IpAddr) -> Result<Grant, Denied> {
        let now_mono = Instant::now();
        if !self.enabled() {
            return Err(Denied::Unavailable);
        }
        let limiter = self.config().limiter.clone();
        let mac = Self::mac_of(ip).ok_or(Denied::UnknownDevice)?;
        limiter.check(&mac, now_mono).map_err(Denied::Wait)?;
        let now = vouchers::now();
        let trusted = now >= vouchers::RELEASE_DATE;
        let grant = match self.vouchers.redeem(code, &mac, now, trusted) {
            Ok(Ok(grant)) => grant,
            Ok(Err(refusal)) => {
                let wait = limiter.fail(&mac, now_mono);
                if refusal == Refusal::Unknown && !wait.is_zero() {
                    return Err(Denied::Wait(wait));
                }
                return Err(Denied::Refused(refusal));
            }
            Err(err) => {
                tracing::error!(%err, "voucher store");
                return Err(Denied::Unavailable);
            }
        };
        limiter.succeed(&mac);
        if let Err(err) = self.sync() {
            tracing::error!(%err, "portal firewall update");
            return Err(Denied::Unavailable);
        }
        let mut leaving = vec![grant.mac.clone()];
        leaving.extend(grant.moved_from.clone());
        self.flush(&leaving, Some(ip));
        tracing::info!(
            voucher = grant.voucher,
            moved = grant.moved_from.is_some(),
            "device authorised"
        );
        Ok(grant)
    }

    /// A device accepts the page's text (the "read and accept" mode): access for the
    /// settings' minutes. Pressing again while the time runs changes nothing and counts
    /// against the per-minute limit, like a wrong code.
    ///
    /// # Errors
    /// Not in this mode or the store failed ([`Denied::Unavailable`]), the device has no MAC
    /// address, or it pressed too often.
    pub fn accept(&self, ip: IpAddr) -> Result<vouchers::Accepted, Denied> {
        let now_mono = Instant::now();
        let settings = self.settings();
        if !self.enabled() || settings.mode != crate::portal::settings::Mode::Accept {
            return Err(Denied::Unavailable);
        }
        let limiter = self.config().limiter.clone();
        let mac = Self::mac_of(ip).ok_or(Denied::UnknownDevice)?;
        limiter.check(&mac, now_mono).map_err(Denied::Wait)?;
        let seconds = i64::from(settings.accept_minutes) * 60;
        let accepted = match self.vouchers.accept(&mac, vouchers::now(), seconds) {
            Ok(Some(accepted)) => accepted,
            Ok(None) => return Err(Denied::UnknownDevice),
            Err(err) => {
                tracing::error!(%err, "portal store");
                return Err(Denied::Unavailable);
            }
        };
        if accepted.again {
            limiter.fail(&mac, now_mono);
            return Ok(accepted);
        }
        limiter.succeed(&mac);
        if let Err(err) = self.sync() {
            tracing::error!(%err, "portal firewall update");
            return Err(Denied::Unavailable);
        }
        self.flush(std::slice::from_ref(&mac), Some(ip));
        tracing::info!(
            minutes = settings.accept_minutes,
            "device accepted the portal's text"
        );
        Ok(accepted)
    }

    /// What the device behind a connection's address has of the internet.
    pub fn access_of(&self, ip: IpAddr) -> Access {
        if !self.enabled() {
            return Access::Open;
        }
        let Some(mac) = self.cached_mac_of(ip) else {
            return Access::Captive;
        };
        let now = vouchers::now();
        let known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match known.get(&mac) {
            Some(Some(e)) if *e > now => Access::Left(e - now),
            Some(None) => Access::Unlimited,
            _ => Access::Captive,
        }
    }

    /// Cuts the connections of these devices — those the table stamped with their mark, and
    /// their offloaded flows — plus every connection from `extra` (a device's address right
    /// now: its connections to the portal before it had access).
    fn flush(&self, macs: &[String], extra: Option<IpAddr>) {
        if !self.enforcing {
            return;
        }
        let bytes: Vec<[u8; 6]> = macs.iter().filter_map(|m| nft::mac_bytes(m)).collect();
        if let Some(gate) = &self.gate {
            gate.revoke(&bytes);
        }
        let marks: HashSet<u32> = bytes.iter().map(nft::device_mark).collect();
        let result = conntrack::delete_where(|e| {
            marks.contains(&e.mark) || extra.is_some_and(|ip| e.orig.src == ip)
        });
        if let Err(err) = result {
            tracing::warn!(%err, "conntrack flush failed");
        }
    }

    /// Every [`TICK`]: follow clock jumps, changes other processes made, and expiries.
    async fn watch(self: Arc<Self>) {
        let mut mono = Instant::now();
        let mut wall = vouchers::now();
        let mut version = self.vouchers.data_version().unwrap_or(0);
        let mut tick = tokio::time::interval(TICK);
        let mut ticks: u32 = 0;
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let portal = Arc::clone(&self);
            let (m, w, v) = (mono, wall, version);
            ticks = ticks.wrapping_add(1);
            let check_table = ticks.is_multiple_of(TABLE_CHECK_TICKS);
            let step = tokio::task::spawn_blocking(move || {
                if check_table {
                    portal.restore_table();
                }
                portal.follow_open_time();
                portal.step(m, w, v)
            })
            .await;
            if let Ok((m, w, v)) = step {
                (mono, wall, version) = (m, w, v);
            }
        }
    }

    /// Someone removed the table (`nft flush ruleset`, a firewall that replaces everything):
    /// it is built again from the store.
    fn restore_table(self: &Arc<Self>) {
        if !(self.enforcing && self.enabled()) {
            return;
        }
        match nft::table_exists() {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("the portal's nftables table was removed; rebuilding it");
                if let Err(err) = self.configure(self.settings_as_configured()) {
                    tracing::error!(%err, "portal firewall rebuild");
                }
            }
            Err(err) => tracing::warn!(%err, "cannot look at the portal's nftables table"),
        }
    }

    /// The admin's "open for everyone" time began or ended since the settings were put in
    /// force: put them in force again (the table goes, or comes back and cuts what was opened
    /// without access).
    fn follow_open_time(self: &Arc<Self>) {
        if self.enabled() == self.config().captive {
            return;
        }
        tracing::info!(captive = self.enabled(), "portal open time changed");
        if let Err(err) = self.configure(self.settings_as_configured()) {
            tracing::error!(%err, "portal firewall after the open time");
        }
    }

    /// One look: returns the new clock references and store version.
    fn step(&self, mono: Instant, wall: i64, version: i64) -> (Instant, i64, i64) {
        let now_mono = Instant::now();
        let now = vouchers::now();
        let elapsed = i64::try_from(now_mono.duration_since(mono).as_secs()).unwrap_or(0);
        let mut dirty = false;
        let delta = now - (wall + elapsed);
        if delta.abs() > JUMP {
            match self.vouchers.shift_clock(delta, now) {
                Ok(n) => tracing::warn!(
                    seconds = delta,
                    vouchers = n,
                    "wall clock jumped; vouchers in use keep their time left"
                ),
                Err(err) => tracing::error!(%err, "voucher store"),
            }
            dirty = true;
        }
        let new_version = self.vouchers.data_version().unwrap_or(version);
        dirty |= new_version != version;
        let ended: Vec<String> = {
            let known = self
                .known
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            known
                .iter()
                .filter(|(_, e)| e.is_some_and(|e| e <= now))
                .map(|(mac, _)| mac.clone())
                .collect()
        };
        if !ended.is_empty() {
            tracing::info!(devices = ended.len(), "access ended");
            dirty = true;
        }
        if dirty {
            self.refresh();
        }
        let (mono, wall) = if delta.abs() > JUMP {
            (now_mono, now)
        } else {
            (mono, wall)
        };
        (mono, wall, new_version)
    }
}

/// The wall clock to the millisecond, so the kernel ends access at the second the store says.
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The set's elements for devices and the end of their access (wall clock seconds).
fn allowed_list(known: &HashMap<String, Option<i64>>, now_ms: i64) -> Vec<Allowed> {
    known
        .iter()
        .filter_map(|(mac, expires)| {
            Some(Allowed {
                mac: nft::mac_bytes(mac)?,
                timeout: expires
                    .map(|e| Duration::from_millis(u64::try_from(e * 1000 - now_ms).unwrap_or(0))),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_port_is_closed_only_when_its_interface_is_captive() {
        let settings = Settings {
            interfaces: vec!["br-lan".into()],
            ..Settings::default()
        };
        let closed =
            |on: &str| Portal::layout_for(&settings, (8080, 80), &[(on.to_owned(), 4790)]).closed;
        assert_eq!(
            closed("bat0"),
            Vec::<u16>::new(),
            "the mesh on its own interface"
        );
        assert_eq!(closed("br-lan"), [4790], "the mesh chosen on the LAN");
    }
}
