//! The portal's decisions where the fast path reads them.
//!
//! The portal (portal/service.rs) decides who is authorised; it writes its nftables set and,
//! in the same step, [`PortalGate::publish`], which writes the fast path's `portal` map (each
//! device's MAC with the end of its access on the kernel's monotonic clock, the same end as
//! the set element's timeout). The flow manager plugs the map in when the offload starts and
//! is woken to do the rest: mark the captive interfaces in its device maps, and remove the
//! flows (and their conntrack entries) of devices that lost access.
//!
//! The gate never asks the neighbour table who a device is: the fast path records the MAC a
//! flow came from, and revocations go by that MAC and the flow's own tuples.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd as _, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aya::maps::{HashMap as BpfHashMap, MapData};

use super::abi::{MacKey, PortalAccess};
use super::fastpath::monotonic_ns;

/// A MAC address as the maps hold it.
pub type Mac = [u8; 6];

/// The fast path's `portal` map.
pub type PortalMap = BpfHashMap<MapData, MacKey, PortalAccess>;

/// What the manager has to do since it last looked.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// The captive interfaces changed (the portal was switched on or off, or its interfaces).
    pub links: bool,
    /// Devices that lost access: their flows go, with their conntrack entries.
    pub revoked: HashSet<Mac>,
    /// Every flow through a captive interface is checked against the authorised devices
    /// (the portal was switched on, its table rebuilt, or the offload just started).
    pub recheck: bool,
}

#[derive(Default)]
struct State {
    /// The captive devices' names; `None` while the portal is off.
    captive: Option<Vec<String>>,
    /// Authorised devices and the end of their access (CLOCK_MONOTONIC ns; `None`: no end).
    allowed: HashMap<Mac, Option<u64>>,
    map: Option<PortalMap>,
    work: Work,
}

/// Shared by the portal (writer) and the offload (reader of the work it leaves).
pub struct PortalGate {
    state: Mutex<State>,
    wake_tx: UnixDatagram,
    wake_rx: UnixDatagram,
}

impl PortalGate {
    /// A gate with the portal off.
    ///
    /// # Errors
    /// When the wake-up socket pair cannot be made.
    pub fn new() -> std::io::Result<PortalGate> {
        let (wake_tx, wake_rx) = UnixDatagram::pair()?;
        wake_tx.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        Ok(PortalGate {
            state: Mutex::default(),
            wake_tx,
            wake_rx,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The portal's set as it now is: the captive interfaces and each authorised device with
    /// its time left (`None`: permanent) as of `since` (CLOCK_MONOTONIC ns, read when the time
    /// left was computed, so the fast path ends access when the set element's timeout does).
    /// Devices no longer in it lose their flows; `recheck` makes the manager check every flow
    /// on a captive interface.
    pub fn publish(
        &self,
        captive: &[String],
        allowed: &[(Mac, Option<Duration>)],
        since: u64,
        recheck: bool,
    ) {
        let now = since;
        let mut state = self.lock();
        let next: HashMap<Mac, Option<u64>> = allowed
            .iter()
            .map(|(mac, left)| {
                let until = left.map(|d| {
                    now.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                        .max(1)
                });
                (*mac, until)
            })
            .collect();
        // Without a running offload there are no flows to remove (plugging in rechecks them
        // all), so nothing piles up.
        if state.map.is_some() {
            let revoked: Vec<Mac> = state
                .allowed
                .keys()
                .filter(|mac| !next.contains_key(*mac))
                .copied()
                .collect();
            state.work.revoked.extend(revoked);
        }
        if state.captive.as_deref() != Some(captive) {
            state.captive = Some(captive.to_vec());
            state.work.links = true;
        }
        state.work.recheck |= recheck;
        state.allowed = next;
        write_map(&mut state);
        drop(state);
        self.wake();
    }

    /// The portal was switched off: nobody is captive, the map is emptied.
    pub fn off(&self) {
        let mut state = self.lock();
        if state.captive.is_some() {
            state.work.links = true;
        }
        state.captive = None;
        state.allowed.clear();
        state.work.revoked.clear();
        write_map(&mut state);
        drop(state);
        self.wake();
    }

    /// Devices that lost access outside a publish (a voucher moved to another device): their
    /// flows go even if the device is authorised again at once.
    pub fn revoke(&self, macs: &[Mac]) {
        let mut state = self.lock();
        if state.map.is_none() {
            return;
        }
        state.work.revoked.extend(macs.iter().copied());
        drop(state);
        self.wake();
    }

    fn wake(&self) {
        // A full socket already holds a wake-up.
        let _ = self.wake_tx.send(&[1]);
    }

    /// The manager's map: written with the whole state now and at every publish after.
    pub(super) fn plug(&self, map: PortalMap) {
        let mut state = self.lock();
        state.map = Some(map);
        state.work.links = true;
        state.work.recheck = true;
        write_map(&mut state);
    }

    /// The offload stopped.
    pub(super) fn unplug(&self) {
        self.lock().map = None;
    }

    /// Readable when there is work; [`PortalGate::take_work`] empties it.
    pub(super) fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake_rx.as_fd()
    }

    /// The work left since the last call.
    pub(super) fn take_work(&self) -> Work {
        let mut buf = [0u8; 16];
        while self.wake_rx.recv(&mut buf).is_ok() {}
        std::mem::take(&mut self.lock().work)
    }

    /// The captive interfaces (empty while the portal is off).
    pub(super) fn captive(&self) -> Vec<String> {
        self.lock().captive.clone().unwrap_or_default()
    }

    /// Whether the portal is on.
    pub(super) fn portal_on(&self) -> bool {
        self.lock().captive.is_some()
    }

    /// Whether a device may use the internet now (as the fast path decides it).
    pub(super) fn authorised(&self, mac: Mac) -> bool {
        let state = self.lock();
        if state.captive.is_none() {
            return true;
        }
        match state.allowed.get(&mac) {
            Some(None) => true,
            Some(Some(until)) => monotonic_ns() < *until,
            None => false,
        }
    }
}

/// Makes the map equal to the state: stale devices out, every authorised one (re)written
/// with its end.
fn write_map(state: &mut State) {
    let State { allowed, map, .. } = state;
    let Some(map) = map.as_mut() else {
        return;
    };
    let gone: Vec<MacKey> = map
        .keys()
        .filter_map(Result::ok)
        .filter(|k| !allowed.contains_key(&k.mac))
        .collect();
    for key in gone {
        let _ = map.remove(&key);
    }
    for (mac, until) in allowed.iter() {
        let key = MacKey { mac: *mac, pad: 0 };
        let value = PortalAccess {
            until_ns: until.unwrap_or(0),
        };
        if let Err(e) = map.insert(&key, &value, 0) {
            // Full: the device's traffic takes the stack, where nftables lets it through.
            tracing::debug!(error = %e, "portal map: device not mirrored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_records_who_lost_access_and_what_changed() {
        let gate = PortalGate::new().unwrap();
        let a = [2, 0, 0, 0, 0, 1];
        let b = [2, 0, 0, 0, 0, 2];
        assert!(
            gate.authorised(a),
            "nobody is captive while the portal is off"
        );
        gate.publish(
            &["br-lan".into()],
            &[(a, None), (b, Some(Duration::from_secs(60)))],
            monotonic_ns(),
            true,
        );
        let work = gate.take_work();
        assert!(
            work.links && work.recheck && work.revoked.is_empty(),
            "{work:?}"
        );
        assert!(gate.authorised(a) && gate.authorised(b));
        assert!(!gate.authorised([2, 0, 0, 0, 0, 3]));

        gate.publish(&["br-lan".into()], &[(a, None)], monotonic_ns(), false);
        gate.revoke(&[a]);
        let work = gate.take_work();
        assert!(
            work.revoked.is_empty(),
            "no offload running: no flows to remove, nothing piles up"
        );
        assert!(!work.links && !work.recheck);
        assert!(!gate.authorised(b));

        gate.publish(
            &["br-lan".into()],
            &[(a, Some(Duration::ZERO))],
            monotonic_ns(),
            false,
        );
        assert!(!gate.authorised(a), "no time left");
        gate.off();
        assert!(gate.take_work().links);
        assert!(gate.captive().is_empty() && !gate.portal_on());
        assert_eq!(gate.take_work(), Work::default());
    }

    /// With the offload's map plugged in: the map follows every publish (ends on the
    /// monotonic clock), and devices that lost access are handed to the manager.
    #[test]
    fn the_map_follows_the_set_and_revocations_reach_the_manager() {
        let scratch = netlab::Scratch::new().expect("scratch namespace (tests run as root)");
        scratch.run(|| {
            let fast = super::super::FastPath::load(64).expect("load the BPF programs");
            let gate = PortalGate::new().unwrap();
            let (a, b) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
            gate.publish(&["br-lan".into()], &[(a, None)], monotonic_ns(), false);
            gate.plug(fast.portal_map().unwrap());
            let work = gate.take_work();
            assert!(
                work.links && work.recheck,
                "plugging in rechecks every flow"
            );
            let since = monotonic_ns();
            gate.publish(
                &["br-lan".into()],
                &[(a, None), (b, Some(Duration::from_secs(60)))],
                since,
                false,
            );
            let map = fast.portal_map().unwrap();
            let read = |mac: Mac| map.get(&MacKey { mac, pad: 0 }, 0).ok().map(|v| v.until_ns);
            assert_eq!(read(a), Some(0), "permanent");
            assert_eq!(read(b), Some(since + 60_000_000_000), "the element's end");
            gate.publish(&["br-lan".into()], &[(a, None)], monotonic_ns(), false);
            gate.revoke(&[a]);
            assert_eq!(read(b), None, "out of the map at once");
            assert_eq!(gate.take_work().revoked, HashSet::from([a, b]));
            gate.unplug();
        });
    }
}
