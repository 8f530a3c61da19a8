//! The flow manager: user space of the fast path, driven by events rather than polling.
//!
//! One thread in the router's namespace waits (poll) on
//! - conntrack events: a TCP connection reaching ESTABLISHED, or a UDP flow getting its
//!   conntrack entry, is offloaded with the NAT conntrack chose; leaving ESTABLISHED or
//!   disappearing removes it;
//! - the fast path's ring buffer: a flow the fast path saw for the first time (with the
//!   interface, VLAN and PPPoE session it arrived on, which conntrack does not know) is
//!   matched to its conntrack entry, asked for directly when no event told us yet (flows older
//!   than Portico);
//! - link events: the device maps follow bridges and ports, new ports get the program, a link
//!   without carrier loses its flows;
//! - nftables events: a firewall reload flushes the flow map (flows come back through the
//!   stack and conntrack under the new rules);
//! - the portal's gate (offload/gate.rs): the captive interfaces changed, devices lost access
//!   (their flows go, found by the MAC the fast path recorded, with their conntrack entries),
//!   or every flow through a captive interface must be checked again;
//! - a one-second tick: the watchdog's heartbeat, rates for the dashboard, and every few
//!   seconds the idle scan (flows idle past their conntrack timeout go; conntrack entries of
//!   busy offloaded flows get their timeout refreshed, since their packets no longer pass
//!   the stack).
//!
//! Next hops are not kept here: the fast path asks the kernel's FIB on every packet, so a
//! route or neighbour change applies to the next packet.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::Settings;
use super::abi::{self, FlowKey, FlowValue};
use super::devices::{plan_devices, pppoe_sessions};
use super::fastpath::{Counters, FastPath, monotonic_ns};
use super::gate::{Mac, PortalGate};
use super::snapshot::{Flow, FlowState, Nat, RatePoint, Snapshot};
use crate::kernel::conntrack::{self, Entry, Tuple};
use crate::kernel::links;
use crate::kernel::netlink::Socket;

/// How long the dashboard's rate history reaches back, in one-second points.
const HISTORY: usize = 300;
/// How often the idle scan runs.
const SCAN_EVERY: Duration = Duration::from_secs(5);
/// A flow the fast path saw but conntrack never confirmed is forgotten after this.
const SEEN_TTL: Duration = Duration::from_secs(60);
/// A finished flow (FIN or RST seen) is removed after this if no event removed it first.
const FINISHED_TTL: Duration = Duration::from_secs(10);

/// Why the offload did not start (the dashboard shows it; every packet then takes the stack).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Portico runs in the host's network namespace (the dev platform): nothing is attached.
    #[error(transparent)]
    HostNamespace(#[from] netlab::Error),
    /// The programs or their maps could not be loaded or filled.
    #[error(transparent)]
    FastPath(#[from] super::FastPathError),
    /// Netlink (links, conntrack, nf_tables events) or the manager's thread is unavailable.
    #[error("{0}")]
    System(#[from] std::io::Error),
}

/// A running offload. Dropping it stops the thread, which detaches the programs.
pub struct Offload {
    snapshot: Arc<Mutex<Snapshot>>,
    /// When the dashboard (page, API, event stream) last asked: the kernel's BPF run-time
    /// statistics cost every packet tens of nanoseconds, so they are on only while watched.
    watched: Arc<Mutex<Option<Instant>>>,
    stop: OwnedFd,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Offload {
    /// Loads and attaches the fast path and starts the manager thread (in the calling
    /// thread's network namespace).
    ///
    /// # Errors
    /// When the programs cannot be loaded or attached, or netlink cannot be reached.
    pub fn start(settings: &Settings, gate: Arc<PortalGate>) -> Result<Offload, StartError> {
        netlab::refuse_host_namespace("attach the offload's BPF programs")?;
        let fast = FastPath::load(settings.flows)?;
        gate.plug(fast.portal_map()?);
        let (stop_read, stop_write) = nix::unistd::pipe().map_err(std::io::Error::from)?;
        let snapshot = Arc::new(Mutex::new(Snapshot {
            hook: settings.hook,
            capacity: settings.flows,
            ..Snapshot::default()
        }));
        let watched = Arc::new(Mutex::new(None));
        let mut manager = Manager::new(fast, settings.clone(), snapshot.clone(), gate)?;
        manager.watched = watched.clone();
        manager.portal_work();
        manager.sync_links()?;
        manager.resync_conntrack();
        manager.heartbeat();
        let thread = std::thread::Builder::new()
            .name("offload".into())
            .spawn(move || manager.run(&stop_read))?;
        Ok(Offload {
            snapshot,
            watched,
            stop: stop_write,
            thread: Some(thread),
        })
    }

    /// The latest state (for the overview's summary).
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The latest state for the dashboard, which shows the programs' time per packet: the
    /// statistics stay on for [`STATS_WATCHED`] after each call.
    pub fn dashboard(&self) -> Snapshot {
        if let Ok(mut watched) = self.watched.lock() {
            *watched = Some(Instant::now());
        }
        self.snapshot()
    }
}

/// How long the BPF run-time statistics stay on after the dashboard last asked.
pub const STATS_WATCHED: Duration = Duration::from_secs(30);

impl Drop for Offload {
    fn drop(&mut self) {
        let _ = nix::unistd::write(&self.stop, b"x");
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Manager {
    fast: FastPath,
    gate: Arc<PortalGate>,
    /// Ports whose frames belong to a captive layer 3 device (the portal is on).
    captive_ports: HashSet<u32>,
    settings: Settings,
    snapshot: Arc<Mutex<Snapshot>>,
    ct_events: conntrack::Events,
    link_events: links::Events,
    nft_events: Socket,
    /// Conntrack entries that may be offloaded, by both of their tuples.
    conns: HashMap<Tuple, Entry>,
    /// Flow keys the fast path recorded, by their tuple.
    keys: HashMap<Tuple, HashSet<FlowKey>>,
    /// Interface names by index (for the dashboard).
    names: HashMap<u32, String>,
    /// The router's own addresses (refreshed every tick): their traffic is the stack's.
    local: HashSet<IpAddr>,
    /// Packets of each offloaded flow at the last conntrack refresh.
    refreshed: HashMap<FlowKey, u64>,
    last_scan: Instant,
    last_counters: Counters,
    history: VecDeque<RatePoint>,
    offloaded_total: u64,
    flushes: u64,
    /// Held open while the dashboard is watched (see [`Offload::dashboard`]).
    stats: Option<OwnedFd>,
    watched: Arc<Mutex<Option<Instant>>>,
}

impl Manager {
    fn new(
        fast: FastPath,
        settings: Settings,
        snapshot: Arc<Mutex<Snapshot>>,
        gate: Arc<PortalGate>,
    ) -> std::io::Result<Manager> {
        let mut m = Manager {
            fast,
            gate,
            captive_ports: HashSet::new(),
            settings,
            snapshot,
            ct_events: conntrack::Events::subscribe()?,
            link_events: links::Events::subscribe()?,
            nft_events: Socket::subscribe(
                nix::sys::socket::SockProtocol::NetlinkNetFilter,
                crate::kernel::nftables::GROUP,
            )?,
            conns: HashMap::new(),
            keys: HashMap::new(),
            names: HashMap::new(),
            local: crate::kernel::addresses::local(),
            refreshed: HashMap::new(),
            last_scan: Instant::now(),
            last_counters: Counters::default(),
            history: VecDeque::new(),
            offloaded_total: 0,
            flushes: 0,
            stats: None,
            watched: Arc::new(Mutex::new(None)),
        };
        if let Err(e) = m.fast.watch_redirect_errors() {
            tracing::info!(error = %e, "failed XDP redirects are not counted (tracefs missing?)");
        }
        Ok(m)
    }

    fn run(mut self, stop: &OwnedFd) {
        let mut next_tick = Instant::now() + Duration::from_secs(1);
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            let ready = {
                let fds: [BorrowedFd<'_>; 6] = [
                    stop.as_fd(),
                    self.ct_events.fd(),
                    self.link_events.fd(),
                    self.nft_events.fd(),
                    self.fast.seen_fd(),
                    self.gate.wake_fd(),
                ];
                let mut polls: Vec<PollFd<'_>> = fds
                    .iter()
                    .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
                    .collect();
                let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
                match poll(&mut polls, timeout) {
                    Ok(_) => polls
                        .iter()
                        .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
                        .collect::<Vec<_>>(),
                    Err(nix::errno::Errno::EINTR) => vec![false; 6],
                    Err(e) => {
                        tracing::error!(error = %e, "offload: poll failed; stopping");
                        return;
                    }
                }
            };
            if ready[0] {
                tracing::info!("offload: stopping, detaching the fast path");
                self.gate.unplug();
                return; // dropping self.fast detaches
            }
            if ready[5] {
                self.portal_work();
            }
            if ready[1] {
                self.conntrack_events();
            }
            if ready[2] {
                self.link_changes();
            }
            if ready[3] {
                self.ruleset_changes();
            }
            if ready[4] {
                for key in self.fast.take_seen() {
                    self.seen(key);
                }
            }
            if Instant::now() >= next_tick {
                next_tick += Duration::from_secs(1);
                if next_tick < Instant::now() {
                    next_tick = Instant::now() + Duration::from_secs(1);
                }
                self.tick();
            }
        }
    }

    fn heartbeat(&mut self) {
        if let Err(e) = self.fast.heartbeat(self.settings.watchdog) {
            tracing::warn!(error = %e, "offload: heartbeat not written");
        }
    }

    // ----- conntrack -----

    fn conntrack_events(&mut self) {
        loop {
            match self.ct_events.receive() {
                Ok(events) if events.is_empty() => return,
                Ok(events) => {
                    for event in events {
                        match event {
                            conntrack::Event::Changed(e) => self.entry_changed(e),
                            conntrack::Event::Destroyed(e) => self.entry_gone(&e),
                        }
                    }
                }
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                    tracing::warn!("offload: conntrack events were lost; reading the table again");
                    self.resync_conntrack();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "offload: conntrack events");
                    return;
                }
            }
        }
    }

    /// Reads the whole conntrack table (at start and after lost events).
    fn resync_conntrack(&mut self) {
        match conntrack::dump() {
            Ok(entries) => {
                let live: HashSet<Tuple> = entries.iter().flat_map(|e| [e.orig, e.reply]).collect();
                let gone: Vec<Entry> = self
                    .conns
                    .values()
                    .filter(|e| !live.contains(&e.orig))
                    .cloned()
                    .collect();
                for e in gone {
                    self.entry_gone(&e);
                }
                for e in entries {
                    self.entry_changed(e);
                }
            }
            Err(e) => tracing::warn!(error = %e, "offload: conntrack table not readable"),
        }
    }

    /// Traffic to or from the router itself (not forwarded): the stack's.
    fn is_local(&self, entry: &Entry) -> bool {
        let to_router = self.local.contains(&entry.orig.dst) && entry.reply.src == entry.orig.dst;
        let from_router = self.local.contains(&entry.orig.src) && entry.reply.dst == entry.orig.src;
        to_router || from_router
    }

    /// Marks a recorded flow as the router's own, so the fast path stops announcing it.
    fn mark_local(&mut self, key: &FlowKey) {
        if let Some(mut v) = self.fast.flow(key)
            && v.state == abi::flow_state_FLOW_SEEN
        {
            v.state = abi::flow_state_FLOW_LOCAL;
            let _ = self.fast.set_flow(key, &v);
        }
    }

    #[allow(
        clippy::needless_pass_by_value,
        reason = "events hand over their entries"
    )]
    fn entry_changed(&mut self, entry: Entry) {
        if self.is_local(&entry) {
            for tuple in [entry.orig, entry.reply] {
                for key in self.keys.remove(&tuple).unwrap_or_default() {
                    self.mark_local(&key);
                }
            }
            return;
        }
        if !offloadable(&entry) {
            if self.conns.contains_key(&entry.orig) {
                self.entry_gone(&entry);
            }
            return;
        }
        if entry.orig.proto == 6
            && !self.conns.contains_key(&entry.orig)
            && let Err(e) = conntrack::be_liberal(&entry.orig)
        {
            tracing::warn!(error = %e, "offload: conntrack window tracking not relaxed");
        }
        self.conns.insert(entry.orig, entry.clone());
        self.conns.insert(entry.reply, entry.clone());
        for tuple in [entry.orig, entry.reply] {
            let keys: Vec<FlowKey> = self
                .keys
                .get(&tuple)
                .map(|k| k.iter().copied().collect())
                .unwrap_or_default();
            for key in keys {
                self.install(&key, &entry);
            }
        }
    }

    fn entry_gone(&mut self, entry: &Entry) {
        for tuple in [entry.orig, entry.reply] {
            self.conns.remove(&tuple);
            for key in self.keys.remove(&tuple).unwrap_or_default() {
                self.fast.remove_flow(&key);
                self.refreshed.remove(&key);
            }
        }
    }

    /// A flow the fast path saw for the first time.
    fn seen(&mut self, key: FlowKey) {
        let Some(tuple) = tuple_of(&key) else {
            return;
        };
        self.keys.entry(tuple).or_default().insert(key);
        if let Some(entry) = self.conns.get(&tuple).cloned() {
            self.install(&key, &entry);
            return;
        }
        // No event yet: the flow may predate us, or its entry may still be unconfirmed (then
        // the event follows).
        match conntrack::get(&tuple) {
            Ok(Some(entry)) if self.is_local(&entry) || offloadable(&entry) => {
                self.entry_changed(entry);
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "offload: conntrack get"),
        }
    }

    /// The captive-side device of a conntrack entry, as the fast path recorded it on one of
    /// the entry's flows (`None` when no flow of it arrived on a captive port).
    fn device_of(&self, entry: &Entry) -> Option<Mac> {
        [entry.orig, entry.reply]
            .iter()
            .filter_map(|t| self.keys.get(t))
            .flatten()
            .filter(|k| self.captive_ports.contains(&k.ifindex))
            .filter_map(|k| self.fast.flow(k))
            .map(|v| v.mac)
            .find(|mac| *mac != [0; 6])
    }

    /// Whether an entry passes through a captive interface.
    fn captive_entry(&self, entry: &Entry) -> bool {
        [entry.orig, entry.reply]
            .iter()
            .filter_map(|t| self.keys.get(t))
            .flatten()
            .any(|k| self.captive_ports.contains(&k.ifindex))
    }

    /// Fills a flow entry from its conntrack entry: the NAT for the key's direction. A flow
    /// through a captive interface is offloaded only for an authorised device (the fast path
    /// checks again on every packet).
    fn install(&mut self, key: &FlowKey, entry: &Entry) {
        let Some(tuple) = tuple_of(key) else {
            return;
        };
        let other = if tuple == entry.orig {
            entry.reply
        } else if tuple == entry.reply {
            entry.orig
        } else {
            return;
        };
        let mut value = self.fast.flow(key).unwrap_or_default();
        if value.state == abi::flow_state_FLOW_OFFLOADED {
            return;
        }
        let device = self.device_of(entry);
        if self.gate.portal_on() && self.captive_entry(entry) {
            match device {
                Some(mac) if self.gate.authorised(mac) => {}
                _ => return,
            }
        }
        if let Some(mac) = device {
            value.mac = mac;
        }
        // The packet leaves as the other direction's tuple reversed.
        let source = (other.dst, other.dport);
        let destination = (other.src, other.sport);
        value.nat = 0;
        value.nat_src = [0; 4];
        value.nat_dst = [0; 4];
        value.nat_sport = 0;
        value.nat_dport = 0;
        if source != (tuple.src, tuple.sport) {
            value.nat |= abi::nat_flags_NAT_SRC;
            value.nat_src = words(source.0);
            value.nat_sport = source.1.to_be();
        }
        if destination != (tuple.dst, tuple.dport) {
            value.nat |= abi::nat_flags_NAT_DST;
            value.nat_dst = words(destination.0);
            value.nat_dport = destination.1.to_be();
        }
        value.state = abi::flow_state_FLOW_OFFLOADED;
        if value.created_ns == 0 {
            value.created_ns = monotonic_ns();
        }
        match self.fast.set_flow(key, &value) {
            Ok(()) => {
                self.offloaded_total += 1;
                self.refreshed.insert(*key, value.packets);
                tracing::debug!(?tuple, "offloaded");
            }
            Err(e) => tracing::warn!(error = %e, "offload: flow not written"),
        }
    }

    // ----- links and rules -----

    fn link_changes(&mut self) {
        let mut down = Vec::new();
        let mut changed = false;
        loop {
            match self.link_events.receive() {
                Ok(events) if events.is_empty() => break,
                Ok(events) => {
                    changed = true;
                    for e in events {
                        match e {
                            links::Event::Changed(l) if !l.running => down.push(l.index),
                            links::Event::Removed(l) => down.push(l.index),
                            links::Event::Changed(_) => {}
                        }
                    }
                }
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => changed = true,
                Err(e) => {
                    tracing::warn!(error = %e, "offload: link events");
                    break;
                }
            }
        }
        if !down.is_empty() {
            self.remove_flows_of(&down);
        }
        if changed && let Err(e) = self.sync_links() {
            tracing::warn!(error = %e, "offload: device maps not updated");
        }
    }

    /// Removes every flow that arrived on or last left by one of `links`.
    fn remove_flows_of(&mut self, links: &[u32]) {
        for (key, value) in self.fast.flows() {
            if links.contains(&key.ifindex) || links.contains(&value.out_ifindex) {
                self.fast.remove_flow(&key);
                self.refreshed.remove(&key);
                if let Some(t) = tuple_of(&key) {
                    self.keys.remove(&t);
                }
                tracing::info!(
                    ifindex = key.ifindex,
                    "offload: link down, flow back to the stack"
                );
            }
        }
    }

    /// Rebuilds the ingress and egress maps from the links and attaches to new ports.
    fn sync_links(&mut self) -> Result<(), StartError> {
        let all = links::list()?;
        self.names = all.iter().map(|l| (l.index, l.name.clone())).collect();
        let sessions = std::fs::read_to_string("/proc/net/pppoe")
            .map(|t| pppoe_sessions(&t))
            .unwrap_or_default();
        let captive = self.gate.captive();
        let plan = plan_devices(&all, &self.settings.interfaces, &sessions, &captive);
        self.captive_ports = plan
            .ingress
            .iter()
            .filter(|(_, v)| v.flags & abi::ingress_flags_INGRESS_CAPTIVE != 0)
            .map(|(k, _)| k.ifindex)
            .collect();
        for k in self.fast.ingress_entries() {
            if !plan.ingress.iter().any(|(p, _)| p == &k) {
                self.fast.remove_ingress(&k);
            }
        }
        for k in self.fast.egress_entries() {
            if !plan.egress.iter().any(|(p, _)| *p == k) {
                self.fast.remove_egress(k);
            }
        }
        for (k, v) in &plan.ingress {
            self.fast.set_ingress(k, *v)?;
        }
        for (l3, e) in &plan.egress {
            self.fast.set_egress(*l3, e)?;
        }
        for port in plan.ports {
            if !self.fast.attached().contains_key(&port) {
                match self.fast.attach(port, self.settings.hook) {
                    Ok(mode) => {
                        tracing::info!(
                            port = self.names.get(&port).map_or("?", String::as_str),
                            ?mode,
                            "offload: attached"
                        );
                    }
                    Err(e) => tracing::warn!(port, error = %e, "offload: not attached"),
                }
            }
        }
        Ok(())
    }

    fn ruleset_changes(&mut self) {
        let mut reload = false;
        loop {
            match self.nft_events.receive_events() {
                Ok(msgs) if msgs.is_empty() => break,
                Ok(msgs) => {
                    // Tables, chains and rules (not set elements: the portal adds those).
                    reload |= msgs.iter().any(|m| {
                        m.kind >> 8 == crate::kernel::nftables::SUBSYS
                            && matches!(m.kind & 0xff, 0 | 2 | 3 | 5 | 6 | 8)
                    });
                }
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => reload = true,
                Err(_) => break,
            }
        }
        if reload {
            self.flush();
        }
    }

    /// Empties the flow map: every flow goes through the stack (and the new rules) again.
    fn flush(&mut self) {
        for (key, _) in self.fast.flows() {
            self.fast.remove_flow(&key);
        }
        self.keys.clear();
        self.refreshed.clear();
        self.flushes += 1;
        tracing::info!("offload: firewall changed, flow map flushed");
    }

    // ----- the portal -----

    /// What the portal's gate left: captive interfaces, revoked devices, a recheck.
    fn portal_work(&mut self) {
        let work = self.gate.take_work();
        if work.links
            && let Err(e) = self.sync_links()
        {
            tracing::warn!(error = %e, "offload: device maps not updated");
        }
        if !work.revoked.is_empty() {
            let flows = self.fast.flows();
            let doomed: Vec<FlowKey> = flows
                .iter()
                .filter(|(_, v)| work.revoked.contains(&v.mac))
                .map(|(k, _)| *k)
                .collect();
            let n = self.drop_flows(&doomed);
            tracing::info!(
                devices = work.revoked.len(),
                flows = n,
                "offload: access ended, flows removed"
            );
        }
        if work.recheck && self.gate.portal_on() {
            let flows = self.fast.flows();
            let doomed: Vec<FlowKey> = flows
                .iter()
                .filter(|(k, v)| {
                    let captive = self.captive_ports.contains(&k.ifindex)
                        || tuple_of(k)
                            .and_then(|t| self.conns.get(&t))
                            .is_some_and(|e| self.captive_entry(e));
                    captive && (v.mac == [0; 6] || !self.gate.authorised(v.mac))
                })
                .map(|(k, _)| *k)
                .collect();
            let n = self.drop_flows(&doomed);
            if n > 0 {
                tracing::info!(flows = n, "offload: flows of unauthorised devices removed");
            }
        }
    }

    /// Removes these flows, the other direction of each, and their conntrack entries (by the
    /// flows' own tuples). Returns how many conntrack entries went.
    fn drop_flows(&mut self, keys: &[FlowKey]) -> usize {
        let mut entries = Vec::new();
        for key in keys {
            self.fast.remove_flow(key);
            self.refreshed.remove(key);
            let Some(tuple) = tuple_of(key) else { continue };
            if let Some(entry) = self.conns.get(&tuple) {
                entries.push(entry.clone());
            } else {
                if let Some(set) = self.keys.get_mut(&tuple) {
                    set.remove(key);
                }
                // Not known as established: ask conntrack (the flow may be older than us).
                if let Ok(Some(entry)) = conntrack::get(&tuple) {
                    entries.push(entry);
                }
            }
        }
        entries.sort_by_key(|e| e.orig);
        entries.dedup_by_key(|e| e.orig);
        for entry in &entries {
            self.entry_gone(entry);
            if let Err(e) = conntrack::delete(entry) {
                tracing::warn!(error = %e, "offload: conntrack entry not deleted");
            }
        }
        entries.len()
    }

    // ----- the tick -----

    /// The BPF run-time statistics on while the dashboard is watched, off otherwise.
    fn follow_watchers(&mut self) {
        let watched = self
            .watched
            .lock()
            .is_ok_and(|w| w.is_some_and(|t| t.elapsed() < STATS_WATCHED));
        if watched && self.stats.is_none() {
            self.stats = aya::sys::enable_stats(aya::sys::Stats::RunTime).ok();
        } else if !watched {
            self.stats = None;
        }
    }

    fn tick(&mut self) {
        self.heartbeat();
        self.follow_watchers();
        self.local = crate::kernel::addresses::local();
        let counters = self.fast.counters();
        let point = RatePoint {
            t: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            fast: counters
                .fast_packets
                .saturating_sub(self.last_counters.fast_packets),
            slow: counters
                .slow_packets
                .saturating_sub(self.last_counters.slow_packets),
        };
        self.last_counters = counters;
        self.history.push_back(point);
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        let flows = self.fast.flows();
        if self.last_scan.elapsed() >= SCAN_EVERY {
            self.last_scan = Instant::now();
            self.scan(&flows);
        }
        self.publish(counters, &flows);
    }

    /// Idle expiry and conntrack refresh.
    fn scan(&mut self, flows: &[(FlowKey, FlowValue)]) {
        let now = monotonic_ns();
        let tcp = sysctl_secs("nf_conntrack_tcp_timeout_established", 432_000);
        let udp = sysctl_secs("nf_conntrack_udp_timeout_stream", 120);
        let mut refreshed_conns = HashSet::new();
        for (key, value) in flows {
            let idle =
                Duration::from_nanos(now.saturating_sub(value.last_ns.max(value.created_ns)));
            let gone = match value.state {
                abi::flow_state_FLOW_SEEN | abi::flow_state_FLOW_LOCAL => idle > SEEN_TTL,
                abi::flow_state_FLOW_FINISHED => idle > FINISHED_TTL,
                _ => idle > Duration::from_secs(u64::from(if key.proto == 6 { tcp } else { udp })),
            };
            if gone {
                self.fast.remove_flow(key);
                self.refreshed.remove(key);
                if let Some(t) = tuple_of(key)
                    && let Some(set) = self.keys.get_mut(&t)
                {
                    set.remove(key);
                }
                continue;
            }
            if value.state != abi::flow_state_FLOW_OFFLOADED {
                continue;
            }
            let before = self.refreshed.get(key).copied().unwrap_or(0);
            if value.packets > before {
                self.refreshed.insert(*key, value.packets);
                let Some(entry) = tuple_of(key).and_then(|t| self.conns.get(&t)) else {
                    continue;
                };
                if refreshed_conns.insert(entry.orig) {
                    let timeout = if key.proto == 6 { tcp } else { udp };
                    if let Err(e) = conntrack::refresh(&entry.orig, timeout) {
                        tracing::debug!(error = %e, "offload: conntrack refresh");
                    }
                }
            }
        }
    }

    fn publish(&mut self, counters: Counters, flows: &[(FlowKey, FlowValue)]) {
        let now = monotonic_ns();
        let name = |i: u32| self.names.get(&i).cloned().unwrap_or_else(|| i.to_string());
        let mut views: Vec<Flow> = flows
            .iter()
            .filter(|(_, v)| v.state != abi::flow_state_FLOW_LOCAL)
            .filter_map(|(k, v)| {
                let t = tuple_of(k)?;
                Some(Flow {
                    proto: k.proto,
                    src: SocketAddr::new(t.src, t.sport),
                    dst: SocketAddr::new(t.dst, t.dport),
                    in_if: name(k.ifindex),
                    out_if: (v.out_ifindex != 0).then(|| name(v.out_ifindex)),
                    nat: nat_of(v, k.family),
                    state: match v.state {
                        abi::flow_state_FLOW_OFFLOADED => FlowState::Offloaded,
                        abi::flow_state_FLOW_FINISHED => FlowState::Finished,
                        _ => FlowState::Seen,
                    },
                    age: Duration::from_nanos(now.saturating_sub(v.created_ns)),
                    idle: Duration::from_nanos(now.saturating_sub(v.last_ns.max(v.created_ns))),
                    packets: v.packets,
                    bytes: v.bytes,
                    offload_delay: (v.first_fast_ns > v.created_ns)
                        .then(|| Duration::from_nanos(v.first_fast_ns - v.created_ns)),
                })
            })
            .collect();
        views.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.src.cmp(&b.src)));
        let mut attached: Vec<(String, super::Mode)> = self
            .fast
            .attached()
            .iter()
            .map(|(i, mode)| (name(*i), *mode))
            .collect();
        attached.sort_by(|a, b| a.0.cmp(&b.0));
        let snapshot = Snapshot {
            running: true,
            problem: String::new(),
            hook: self.settings.hook,
            attached,
            capacity: self.fast.capacity(),
            used: flows.len() as u64,
            counters,
            history: self.history.iter().copied().collect(),
            ns_per_packet: self.stats.as_ref().and(self.fast.ns_per_packet()),
            flows: views,
            offloaded_total: self.offloaded_total,
            flushes: self.flushes,
        };
        if let Ok(mut s) = self.snapshot.lock() {
            *s = snapshot;
        }
    }
}

/// TCP once established, UDP once conntrack has confirmed it; never under a helper, never
/// for broadcast, multicast, link-local, loopback or unspecified addresses.
fn offloadable(entry: &Entry) -> bool {
    let ends = [
        entry.orig.src,
        entry.orig.dst,
        entry.reply.src,
        entry.reply.dst,
    ];
    if !ends.iter().all(|a| forwardable(*a)) {
        return false;
    }
    if entry.helper
        || entry.status & conntrack::STATUS_CONFIRMED == 0
        || entry.status & conntrack::STATUS_DYING != 0
        || entry.orig.src.is_ipv4() != entry.reply.src.is_ipv4()
    {
        return false;
    }
    match entry.orig.proto {
        6 => entry.tcp_state == Some(conntrack::TCP_ESTABLISHED),
        17 => true,
        _ => false,
    }
}

/// An address a forwarded flow may have at either end (what the fast path also checks).
fn forwardable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            !(a.is_unspecified()
                || a.octets()[0] == 0
                || a.is_loopback()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_broadcast()
                || a.octets()[0] >= 240)
        }
        IpAddr::V6(a) => {
            !(a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || a.is_unicast_link_local())
        }
    }
}

fn tuple_of(key: &FlowKey) -> Option<Tuple> {
    if key.family != 4 && key.family != 6 {
        return None;
    }
    Some(Tuple {
        src: address(&key.src, key.family),
        dst: address(&key.dst, key.family),
        proto: key.proto,
        sport: u16::from_be(key.sport),
        dport: u16::from_be(key.dport),
    })
}

/// An address from the map's words (the inverse of [`words`]).
fn address(w: &[u32; 4], family: u8) -> IpAddr {
    if family == 4 {
        IpAddr::V4(Ipv4Addr::from(w[0].to_ne_bytes()))
    } else {
        let mut b = [0u8; 16];
        for (i, word) in w.iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&word.to_ne_bytes());
        }
        IpAddr::V6(Ipv6Addr::from(b))
    }
}

/// An address as the map stores it (network order words).
pub fn words(ip: IpAddr) -> [u32; 4] {
    let mut w = [0u32; 4];
    match ip {
        IpAddr::V4(a) => w[0] = u32::from_ne_bytes(a.octets()),
        IpAddr::V6(a) => {
            for (i, c) in a.octets().as_chunks::<4>().0.iter().enumerate() {
                w[i] = u32::from_ne_bytes(*c);
            }
        }
    }
    w
}

fn nat_of(v: &FlowValue, family: u8) -> Vec<Nat> {
    let ip = |w: &[u32; 4]| address(w, family);
    let mut nat = Vec::new();
    if v.nat & abi::nat_flags_NAT_SRC != 0 {
        nat.push(Nat::Source(SocketAddr::new(
            ip(&v.nat_src),
            u16::from_be(v.nat_sport),
        )));
    }
    if v.nat & abi::nat_flags_NAT_DST != 0 {
        nat.push(Nat::Destination(SocketAddr::new(
            ip(&v.nat_dst),
            u16::from_be(v.nat_dport),
        )));
    }
    nat
}

fn sysctl_secs(name: &str, default: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/sys/net/netfilter/{name}"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::too_many_lines,
        reason = "one table of entries, each with its reason"
    )]
    fn the_nat_of_each_direction_comes_from_the_other_directions_tuple() {
        let entry = Entry {
            orig: Tuple {
                src: "192.168.1.100".parse().unwrap(),
                dst: "198.51.100.7".parse().unwrap(),
                proto: 17,
                sport: 40000,
                dport: 53,
            },
            reply: Tuple {
                src: "198.51.100.7".parse().unwrap(),
                dst: "100.64.0.2".parse().unwrap(),
                proto: 17,
                sport: 53,
                dport: 50000,
            },
            status: conntrack::STATUS_CONFIRMED,
            tcp_state: None,
            timeout: Some(30),
            helper: false,
            packets: None,
            mark: 0,
            zone: 0,
        };
        assert!(offloadable(&entry));
        assert!(
            !offloadable(&Entry {
                helper: true,
                ..entry.clone()
            }),
            "helpers watch the stack"
        );
        assert!(
            !offloadable(&Entry {
                status: 0,
                ..entry.clone()
            }),
            "unconfirmed"
        );
        let tcp = |state| Entry {
            orig: Tuple {
                proto: 6,
                ..entry.orig
            },
            reply: Tuple {
                proto: 6,
                ..entry.reply
            },
            tcp_state: Some(state),
            ..entry.clone()
        };
        assert!(offloadable(&tcp(conntrack::TCP_ESTABLISHED)));
        // A DHCP client's broadcast has a conntrack entry too: never offloaded.
        let dhcp = Entry {
            orig: Tuple {
                src: "0.0.0.0".parse().unwrap(),
                dst: "255.255.255.255".parse().unwrap(),
                proto: 17,
                sport: 68,
                dport: 67,
            },
            reply: Tuple {
                src: "255.255.255.255".parse().unwrap(),
                dst: "0.0.0.0".parse().unwrap(),
                proto: 17,
                sport: 67,
                dport: 68,
            },
            ..entry.clone()
        };
        assert!(!offloadable(&dhcp), "broadcast");
        for (src, dst) in [
            ("fe80::1", "fe80::2"),
            ("fd00::1", "ff02::1:2"),
            ("169.254.1.1", "198.51.100.7"),
            ("192.168.1.100", "224.0.0.251"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            let odd = Entry {
                orig: Tuple {
                    src: src.parse().unwrap(),
                    dst: dst.parse().unwrap(),
                    ..entry.orig
                },
                reply: Tuple {
                    src: dst.parse().unwrap(),
                    dst: src.parse().unwrap(),
                    ..entry.reply
                },
                ..entry.clone()
            };
            assert!(!offloadable(&odd), "{src} → {dst}");
        }
        assert!(!offloadable(&tcp(2)), "SYN_RECV is not established yet");

        let v = FlowValue {
            nat: abi::nat_flags_NAT_SRC,
            nat_src: words("100.64.0.2".parse().unwrap()),
            nat_sport: 50000u16.to_be(),
            ..FlowValue::default()
        };
        assert_eq!(
            nat_of(&v, 4),
            [Nat::Source("100.64.0.2:50000".parse().unwrap())]
        );
        let key = FlowKey {
            family: 4,
            proto: 17,
            sport: 40000u16.to_be(),
            dport: 53u16.to_be(),
            src: words(entry.orig.src),
            dst: words(entry.orig.dst),
            ..FlowKey::default()
        };
        assert_eq!(tuple_of(&key), Some(entry.orig));
    }
}
