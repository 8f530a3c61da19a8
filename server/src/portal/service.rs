//! The running portal: redeems codes for the device behind a connection, keeps the nftables
//! set equal to the voucher store, flushes a client's conntrack entries when it gets access
//! and when that ends, and keeps vouchers' time honest when the wall clock jumps.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::PortalSection;
use crate::kernel::{conntrack, neighbours};
use crate::portal::nft::{self, Allowed, Layout};
use crate::portal::vouchers::{self, Grant, Refusal, Vouchers};

/// How often the portal looks at the clock, the store and expiries. Access itself ends on
/// the kernel's timer (the set's element timeouts); this only flushes conntrack after it.
const TICK: Duration = Duration::from_millis(500);
/// A wall-clock difference from the monotonic clock above this is a jump (seconds).
const JUMP: i64 = 5;
/// The day this version was released (Unix seconds, 2026-11-27): a wall clock before it is
/// wrong (a router without a battery-backed clock boots in 1970), so deadlines wait.
pub const RELEASE_DATE: i64 = 1_795_737_600;

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
}

/// The captive portal service.
pub struct Portal {
    pub vouchers: Vouchers,
    pub settings: PortalSection,
    layout: Layout,
    /// False in the host namespace: pages work, nothing is enforced.
    enforcing: bool,
    limiter: crate::auth::LoginLimiter,
    /// The devices in the set at the last sync and when their access ends.
    known: Mutex<HashMap<String, Option<i64>>>,
}

impl Portal {
    pub fn new(
        vouchers: Vouchers,
        settings: PortalSection,
        layout: Layout,
        enforcing: bool,
    ) -> Portal {
        let limiter = crate::auth::LoginLimiter::per_minute(settings.tries_per_minute);
        Portal {
            vouchers,
            settings,
            layout,
            enforcing,
            limiter,
            known: Mutex::default(),
        }
    }

    /// Whether the firewall is programmed (false: web pages only).
    pub fn enforcing(&self) -> bool {
        self.enforcing
    }

    /// Builds the table from the store (start, crash, reboot) and starts the watch loop.
    ///
    /// # Errors
    /// When the store cannot be read or the kernel refuses the table.
    pub fn start(self: &Arc<Self>) -> anyhow::Result<()> {
        if self.enforcing {
            let allowed = self.allowed_now()?;
            nft::install(&self.layout, &allowed)?;
            tracing::info!(
                devices = allowed.len(),
                interfaces = ?self.layout.interfaces,
                "portal firewall installed"
            );
        }
        let portal = Arc::clone(self);
        tokio::spawn(async move { portal.watch().await });
        Ok(())
    }

    /// The devices with access now, with the time each has left, and remembers them.
    fn allowed_now(&self) -> anyhow::Result<Vec<Allowed>> {
        let now = vouchers::now();
        let list = self.vouchers.authorised(now)?;
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known.clear();
        let mut allowed = Vec::with_capacity(list.len());
        for (mac, expires) in list {
            let Some(bytes) = nft::mac_bytes(&mac) else {
                continue;
            };
            allowed.push(Allowed {
                mac: bytes,
                timeout: expires.map(|e| Duration::from_secs(u64::try_from(e - now).unwrap_or(0))),
            });
            known.insert(mac, expires);
        }
        Ok(allowed)
    }

    /// Makes the set equal to the store.
    ///
    /// # Errors
    /// When the store cannot be read or the kernel refuses.
    pub fn sync(&self) -> anyhow::Result<()> {
        let allowed = self.allowed_now()?;
        if self.enforcing {
            nft::set_allowed(&allowed)?;
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

    /// A device types a code. On success the device is in the set and its old connections
    /// (redirected to the portal) are gone, so its next request goes out.
    ///
    /// # Errors
    /// Why the device did not get access.
    pub fn redeem(&self, code: &str, ip: IpAddr) -> Result<Grant, Denied> {
        let now_mono = Instant::now();
        self.limiter.check(ip, now_mono).map_err(Denied::Wait)?;
        let mac = Self::mac_of(ip).ok_or(Denied::UnknownDevice)?;
        let now = vouchers::now();
        let trusted = now >= RELEASE_DATE;
        let grant = match self.vouchers.redeem(code, &mac, now, trusted) {
            Ok(Ok(grant)) => grant,
            Ok(Err(refusal)) => {
                let wait = self.limiter.fail(ip, now_mono);
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
        self.limiter.succeed(ip);
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

    /// What the device behind a connection's address has of the internet.
    pub fn access_of(&self, ip: IpAddr) -> Access {
        let Some(mac) = Self::mac_of(ip) else {
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

    /// Deletes the conntrack entries of these devices (every address they use), plus `extra`.
    fn flush(&self, macs: &[String], extra: Option<IpAddr>) {
        if !self.enforcing {
            return;
        }
        let mut sources: HashSet<IpAddr> = extra.into_iter().collect();
        match neighbours::list() {
            Ok(list) => sources.extend(
                list.into_iter()
                    .filter(|n| macs.contains(&n.mac))
                    .map(|n| n.ip),
            ),
            Err(err) => tracing::warn!(%err, "neighbour table unreadable"),
        }
        if let Err(err) = conntrack::flush_sources(&sources) {
            tracing::warn!(%err, "conntrack flush failed");
        }
    }

    /// Every [`TICK`]: follow clock jumps, changes other processes made, and expiries.
    async fn watch(self: Arc<Self>) {
        let mut mono = Instant::now();
        let mut wall = vouchers::now();
        let mut version = self.vouchers.data_version().unwrap_or(0);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let portal = Arc::clone(&self);
            let (m, w, v) = (mono, wall, version);
            let step = tokio::task::spawn_blocking(move || portal.step(m, w, v)).await;
            if let Ok((m, w, v)) = step {
                (mono, wall, version) = (m, w, v);
            }
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
