//! Ports: what each Ethernet cable is plugged into, from what arrives on it.
//!
//! Every physical port (plain Ethernet, a DSA switch's user ports, the lab's veths; never a
//! bridge, VLAN, wireless or tunnel device, nor a DSA conduit) gets a listening socket
//! ([`socket`]) and a thread that classifies each frame ([`frames`]) into the port's window.
//! Once a second the service reads every port's link state, sends its probes (a DHCPDISCOVER, a
//! PPPoE PADI, a router solicitation and the loop probe: at link-up and the four seconds after,
//! then every [`PROBE_EVERY`]) and judges the window ([`verdict`]). Observation never changes a
//! port's configuration; the probes are what a DHCP client, a PPPoE client and an IPv6 host send
//! anyway. A port's role changes only through [`apply`] (the page's button, or the port's
//! policy `auto`); a port whose policy is `off` is not listened to. Kernel-touching: refused in
//! the host's network namespace (design.md, rule 1).

pub mod apply;
pub mod cli;
pub mod community;
pub mod frames;
pub mod roles;
pub mod socket;
pub mod verdict;

use std::collections::{BTreeMap, VecDeque};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio::sync::watch;

use crate::kernel::links::{self, Link};
use crate::platform::Platform;
use community::Community;
use frames::{Probes, Sighting};
use verdict::{Evidence, Judgement, Kind, Role, Tracker, Window};

/// Probes after the first five seconds of a link.
pub const PROBE_EVERY: Duration = Duration::from_secs(10);
/// How often ports are judged.
pub const TICK: Duration = Duration::from_secs(1);
/// Verdict changes kept for the page's event log.
const MAX_EVENTS: usize = 100;
/// Makers listed per port.
pub const MAX_MAKERS: usize = 5;
/// How long a verdict holds before a port whose policy is `auto` gets its role.
pub const HOLD: Duration = Duration::from_secs(30);

/// The role a port has now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Current {
    /// A member of the LAN bridge (`br-lan`).
    Lan,
    /// The `wan` interface's device.
    Wan,
    /// A member of another bridge.
    Bridge(String),
    /// babel (and batman-adv) on the port's own interfaces.
    Mesh,
    /// babel only.
    Babel,
    /// A routed network of its own.
    Routed,
    /// In no bridge and no interface Portico knows.
    Unused,
}

impl Current {
    /// The role this is, to compare with a suggestion.
    fn role(&self) -> Option<Role> {
        match self {
            Current::Lan => Some(Role::Lan),
            Current::Wan => Some(Role::Wan),
            Current::Mesh => Some(Role::Mesh),
            Current::Babel => Some(Role::Babel),
            Current::Routed => Some(Role::Routed),
            Current::Bridge(_) | Current::Unused => None,
        }
    }

    /// What `network` and the kernel say port `name` is now.
    fn of(name: &str, bridge: Option<&String>, network: Option<&uci::Package>) -> Current {
        match network.and_then(|n| roles::routed_role(n, name)) {
            Some(Role::Wan) => return Current::Wan,
            Some(Role::Mesh) => return Current::Mesh,
            Some(Role::Babel) => return Current::Babel,
            Some(Role::Routed) => return Current::Routed,
            _ => {}
        }
        match bridge {
            Some(b) if b == "br-lan" => Current::Lan,
            Some(b) => Current::Bridge(b.clone()),
            None => Current::Unused,
        }
    }
}

/// One sighting as the page shows it (a loop names the port its probe came from).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvidenceView {
    #[serde(flatten)]
    pub evidence: Evidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// One port now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortReport {
    pub name: String,
    pub mac: String,
    pub carrier: bool,
    pub current: Current,
    #[serde(flatten)]
    pub judgement: Judgement,
    /// The role the stated verdict suggests.
    pub suggested: Option<Role>,
    /// Distinct devices heard within the window.
    pub devices: usize,
    /// Who made them (from their addresses' OUIs; at most [`MAX_MAKERS`]).
    pub makers: Vec<String>,
    pub evidence: Vec<EvidenceView>,
    pub policy: roles::Policy,
    /// An admin's connection comes through this port: Portico leaves its role alone.
    pub protected: bool,
    /// The latest role change.
    pub change: Option<apply::RoleChange>,
}

/// A verdict that changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Unix seconds.
    pub at: u64,
    pub port: String,
    pub from: Option<Kind>,
    pub to: Option<Kind>,
}

/// Every port and the recent verdict changes, newest first.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    pub running: bool,
    /// This router's community markers, when it has a community SSID.
    pub community: Option<Community>,
    pub ports: Vec<PortReport>,
    pub events: Vec<Event>,
}

struct Port {
    name: String,
    index: u32,
    mac: [u8; 6],
    fd: Arc<OwnedFd>,
    stop: Arc<AtomicBool>,
    window: Window,
    tracker: Tracker,
    carrier: bool,
    carrier_changes: Option<u64>,
    /// When the link last came up (probes are frequent for the first seconds).
    linked_at: Instant,
    probed_at: Option<Instant>,
    xid: u32,
    host_uniq: [u8; 4],
    report: Option<PortReport>,
    policy: roles::Policy,
    change: Option<apply::RoleChange>,
    /// The verdict and role `auto` tried last: not tried again until the verdict changes.
    tried: Option<(Kind, Role)>,
}

impl Port {
    /// The VLANs the neighbour's mesh frames came on.
    fn wire(&self) -> roles::Wire {
        let mut wire = roles::Wire::default();
        self.window.each(|s| match s {
            Sighting::Batman { vid: Some(vid), .. } => wire.batman_vid = Some(*vid),
            Sighting::Babel { vid: Some(vid), .. } => wire.babel_vid = Some(*vid),
            _ => {}
        });
        wire
    }
}

#[derive(Default)]
struct State {
    ports: BTreeMap<u32, Port>,
    events: VecDeque<Event>,
    /// Ports through which an admin reached this router lately.
    protected: std::collections::HashSet<u32>,
    /// Admins' addresses and when they were last seen.
    admins: Vec<(std::net::IpAddr, Instant)>,
}

struct Inner {
    state: Mutex<State>,
    changes: watch::Sender<u64>,
    probes: Probes,
    community: Option<Community>,
    platform: Arc<dyn Platform>,
    /// Applies roles (`None`: observe only, as `portico ports` does).
    applier: Option<crate::apply::Applier>,
    /// The runtime the applier arms its timers on (role changes start on plain threads).
    runtime: Option<tokio::runtime::Handle>,
    connection_test_url: String,
    /// Who made the devices heard (the IEEE OUI table, looked up once per OUI).
    vendors: Mutex<crate::status::vendors::Vendors>,
    stop: AtomicBool,
}

/// The running port observer; dropping the last handle stops it.
#[derive(Clone)]
pub struct Ports {
    inner: Arc<Inner>,
}

/// Whether a link is a port with a cable: Ethernet, and plain hardware, a DSA user port or a
/// veth (the lab's cables); a DSA conduit carries the switch's tagged traffic instead.
fn is_port(link: &Link) -> bool {
    let sys = format!("/sys/class/net/{}", link.name);
    link.arphrd == 1
        && link.name != "lo"
        && matches!(link.kind.as_deref(), None | Some("veth" | "dsa"))
        && !std::path::Path::new(&format!("{sys}/wireless")).exists()
        && !std::path::Path::new(&format!("{sys}/phy80211")).exists()
        && !std::path::Path::new(&format!("{sys}/dsa")).exists()
}

/// A unit enum value's serde name (`mesh_same`, `wan`): how the API, the CLI and the page name
/// verdicts and roles.
pub fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn carrier_changes(name: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/carrier_changes"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Ports {
    /// Starts observing every port, without applying roles.
    ///
    /// # Errors
    /// In the host's network namespace.
    pub fn start(platform: Arc<dyn Platform>) -> Result<Ports, netlab::Error> {
        Ports::start_applying(platform, None, String::new())
    }

    /// Starts observing every port; roles go through `applier` (policies `auto` and the
    /// page's button), an uplink's adjacency is checked against `connection_test_url`.
    ///
    /// # Errors
    /// In the host's network namespace.
    pub fn start_applying(
        platform: Arc<dyn Platform>,
        applier: Option<crate::apply::Applier>,
        connection_test_url: String,
    ) -> Result<Ports, netlab::Error> {
        netlab::refuse_host_namespace("observe the Ethernet ports")?;
        let ports = Ports {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                changes: watch::channel(0).0,
                probes: Probes {
                    nonce: rand::random(),
                },
                community: Community::of_router(platform.as_ref()),
                vendors: Mutex::new(crate::status::vendors::Vendors::new(
                    platform.observed().vendors,
                )),
                platform,
                applier,
                runtime: tokio::runtime::Handle::try_current().ok(),
                connection_test_url,
                stop: AtomicBool::new(false),
            }),
        };
        let weak = Arc::downgrade(&ports.inner);
        std::thread::Builder::new()
            .name("ports".into())
            .spawn(move || {
                while let Some(inner) = weak.upgrade() {
                    if inner.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    inner.tick(Instant::now());
                    drop(inner);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|source| netlab::Error::Io {
                path: "ports thread".into(),
                source,
            })?;
        Ok(ports)
    }

    /// Every port now.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.inner.lock();
        Snapshot {
            running: true,
            community: self.inner.community,
            ports: state
                .ports
                .values()
                .filter_map(|p| p.report.clone())
                .collect(),
            events: state.events.iter().rev().cloned().collect(),
        }
    }

    /// Ticks on every change of a port's report.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// An admin's request came from `ip`: the port it comes through keeps its role.
    pub fn admin_seen(&self, ip: std::net::IpAddr) {
        let mut state = self.inner.lock();
        state.admins.retain(|(seen, _)| *seen != ip);
        state.admins.push((ip, Instant::now()));
        if state.admins.len() > 16 {
            state.admins.remove(0);
        }
        let admins = state.admins.clone();
        drop(state);
        let protected = Inner::admin_ports(&admins);
        self.inner.lock().protected = protected;
    }

    /// Gives port `name` the role `role` (the page's button), checked and rolled back unless
    /// its adjacency appears.
    ///
    /// # Errors
    /// When the change is not started, saying why.
    pub fn change_role(&self, name: &str, role: Role) -> Result<(), apply::Refusal> {
        let index = self
            .inner
            .lock()
            .ports
            .iter()
            .find(|(_, p)| p.name == name)
            .map(|(i, _)| *i)
            .ok_or(apply::Refusal::NoSuchPort)?;
        self.inner.change_role(index, role, apply::By::Admin)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self
            .state
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for port in state.ports.values() {
            port.stop.store(true, Ordering::Relaxed);
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One second's work: find ports, read links, probe, judge.
    fn tick(self: &Arc<Self>, now: Instant) {
        let Ok(links) = links::list() else {
            return;
        };
        let network = self.platform.package("network").ok();
        let policies = self
            .platform
            .package("portico")
            .map(|p| roles::policies(&p))
            .unwrap_or_default();
        let names: BTreeMap<u32, String> =
            links.iter().map(|l| (l.index, l.name.clone())).collect();
        // A port whose policy is `off` is not listened to at all.
        let observed = |link: &Link| {
            is_port(link)
                && policies
                    .get(&link.name)
                    .is_none_or(|p| p.mode != roles::Mode::Off)
        };
        let mut state = self.lock();
        let before = state.ports.len();
        state.ports.retain(|index, port| {
            let keep = links.iter().any(|l| l.index == *index && observed(l));
            if !keep {
                port.stop.store(true, Ordering::Relaxed);
            }
            keep
        });
        let mut changed = state.ports.len() != before;
        let mut auto = Vec::new();
        for link in links.iter().filter(|l| observed(l)) {
            if let std::collections::btree_map::Entry::Vacant(entry) = state.ports.entry(link.index)
            {
                match self.watch(link, now) {
                    Ok(port) => {
                        entry.insert(port);
                    }
                    Err(err) => {
                        tracing::debug!(port = link.name, %err, "cannot listen on the port");
                        continue;
                    }
                }
            }
            let current = Current::of(
                &link.name,
                link.master.and_then(|m| names.get(&m)),
                network.as_ref(),
            );
            let protected = state.protected.contains(&link.index);
            let Some(port) = state.ports.get_mut(&link.index) else {
                continue;
            };
            port.policy = policies.get(&link.name).cloned().unwrap_or_default();
            let (before, report) = port.observe(link, current, now, self, &names);
            let report = PortReport {
                protected,
                ..report
            };
            if let (Some(role), Some(kind)) = (port.due(&report), report.judgement.kind) {
                auto.push((link.index, kind, role));
            }
            if port.report.as_ref() != Some(&report) {
                changed = true;
            }
            if before != report.judgement.kind {
                state.events.push_front(Event {
                    at: unix_now(),
                    port: link.name.clone(),
                    from: before,
                    to: report.judgement.kind,
                });
                state.events.truncate(MAX_EVENTS);
            }
            if let Some(port) = state.ports.get_mut(&link.index) {
                port.report = Some(report);
            }
        }
        drop(state);
        if changed {
            self.changes.send_modify(|n| *n += 1);
        }
        for (index, kind, role) in auto {
            let result = self.change_role(index, role, apply::By::Auto);
            match &result {
                Err(apply::Refusal::Busy) | Ok(()) => {}
                Err(refusal) => tracing::info!(%refusal, "a port's role was not changed"),
            }
            // Busy: another change is waiting; try again at a later tick.
            if result != Err(apply::Refusal::Busy)
                && let Some(port) = self.lock().ports.get_mut(&index)
            {
                port.tried = Some((kind, role));
            }
        }
    }

    /// Opens a port's socket and starts its listening thread.
    fn watch(self: &Arc<Self>, link: &Link, now: Instant) -> std::io::Result<Port> {
        let fd = Arc::new(socket::open(&link.name)?);
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_fd, thread_stop, index) = (fd.clone(), stop.clone(), link.index);
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name(format!("port {}", link.name))
            .spawn(move || listen(&thread_fd, &thread_stop, index, &weak))?;
        Ok(Port {
            name: link.name.clone(),
            index: link.index,
            mac: link.mac.unwrap_or_default(),
            fd,
            stop,
            window: Window::default(),
            tracker: Tracker::default(),
            carrier: false,
            carrier_changes: None,
            linked_at: now,
            probed_at: None,
            xid: rand::random(),
            host_uniq: rand::random(),
            report: None,
            policy: roles::Policy::default(),
            change: None,
            tried: None,
        })
    }
}

/// A port's listening thread: every frame into the port's window until told to stop.
fn listen(fd: &OwnedFd, stop: &AtomicBool, index: u32, inner: &std::sync::Weak<Inner>) {
    let mut buffer = vec![0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let (len, vlan) = match socket::receive(fd, &mut buffer) {
            Ok(Some(frame)) => frame,
            Ok(None) => continue,
            Err(err) => {
                tracing::debug!(%err, "port socket closed");
                return;
            }
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let frame = &buffer[..len];
        let Some(source) = frame.get(6..12).and_then(|s| <[u8; 6]>::try_from(s).ok()) else {
            continue;
        };
        let mut state = inner.lock();
        if let Some(port) = state.ports.get_mut(&index) {
            if source == port.mac {
                continue;
            }
            let sighting = frames::classify(frame, vlan, &inner.probes, port.mac);
            port.window.record(Instant::now(), source, sighting);
        }
    }
}

impl Port {
    /// Reads the link, probes when due and judges: (the verdict before, the report now).
    fn observe(
        &mut self,
        link: &Link,
        current: Current,
        now: Instant,
        inner: &Inner,
        names: &BTreeMap<u32, String>,
    ) -> (Option<Kind>, PortReport) {
        let before = self.report.as_ref().and_then(|r| r.judgement.kind);
        let changes = carrier_changes(&link.name);
        let flips = match (self.carrier_changes, changes) {
            (Some(old), Some(new)) => new.saturating_sub(old).min(16),
            _ => u64::from(self.carrier != link.running && self.report.is_some()),
        };
        for _ in 0..flips {
            self.tracker.link_changed(now);
        }
        if flips > 0 || (link.running && !self.carrier) {
            // A new link: whatever was heard before is someone else's.
            self.window.clear();
            self.linked_at = now;
            self.probed_at = None;
        }
        self.carrier_changes = changes;
        self.carrier = link.running;
        self.window.prune(now);
        if self.carrier && self.probe_due(now) {
            self.probe(inner);
            self.probed_at = Some(now);
        }
        let evidence = self.window.evidence(now);
        let (kind, strength) = if self.carrier {
            verdict::judge(&evidence, self.window.macs(), inner.community.as_ref())
        } else {
            (Kind::NoLink, 100)
        };
        let judgement =
            self.tracker
                .evaluate(now, now.duration_since(self.linked_at), kind, strength);
        let report = PortReport {
            name: link.name.clone(),
            mac: crate::kernel::neighbours::mac_text(&self.mac),
            carrier: self.carrier,
            current,
            suggested: judgement.kind.and_then(Kind::role),
            judgement,
            devices: self.window.macs(),
            makers: self.makers(inner),
            evidence: evidence
                .into_iter()
                .map(|evidence| EvidenceView {
                    port: match &evidence.sighting {
                        Sighting::Loop { from } => names.get(from).cloned(),
                        _ => None,
                    },
                    evidence,
                })
                .collect(),
            policy: self.policy.clone(),
            protected: false,
            change: self.change.clone(),
        };
        (before, report)
    }

    /// Who made the devices heard on the port: vendors by OUI (addresses set by software have
    /// none), at most [`MAX_MAKERS`], most common first.
    fn makers(&self, inner: &Inner) -> Vec<String> {
        let macs: Vec<String> = self
            .window
            .sources()
            .map(|m| crate::kernel::neighbours::mac_text(m))
            .collect();
        let mut vendors = inner
            .vendors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        vendors.learn(macs.iter().map(String::as_str));
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for mac in &macs {
            if let Some(maker) = vendors.of(mac) {
                *counts.entry(maker).or_default() += 1;
            }
        }
        let mut makers: Vec<(String, usize)> = counts.into_iter().collect();
        makers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        makers
            .into_iter()
            .take(MAX_MAKERS)
            .map(|(m, _)| m)
            .collect()
    }

    /// The role `auto` should give this port now, if any: the verdict held for [`HOLD`], it
    /// suggests a role the port does not have, the port is not frozen, pinned, protected or
    /// in the middle of a change, and this verdict's role was not tried already.
    fn due(&self, report: &PortReport) -> Option<Role> {
        let judgement = &report.judgement;
        let role = report.suggested?;
        let kind = judgement.kind?;
        (self.policy.mode == roles::Mode::Auto
            && self.policy.pinned.is_none()
            && !report.protected
            && judgement.frozen_secs.is_none()
            && judgement.held_secs >= HOLD.as_secs()
            && report.current.role() != Some(role)
            && self.tried != Some((kind, role))
            && self
                .change
                .as_ref()
                .is_none_or(|c| c.progress != apply::Progress::Waiting))
        .then_some(role)
    }

    fn probe_due(&self, now: Instant) -> bool {
        let Some(last) = self.probed_at else {
            return true;
        };
        let interval = if now.duration_since(self.linked_at) < Duration::from_secs(5) {
            TICK
        } else {
            PROBE_EVERY
        };
        now.duration_since(last) >= interval
    }

    fn probe(&self, inner: &Inner) {
        let frames = [
            frames::dhcp_discover(self.mac, self.xid),
            crate::wizard::detect::padi(self.mac, self.host_uniq),
            frames::router_solicitation(self.mac),
            frames::loop_probe(self.mac, inner.probes.nonce, self.index),
        ];
        for frame in &frames {
            if let Err(err) = crate::wizard::detect::send(&self.fd, frame) {
                tracing::debug!(port = self.name, %err, "probe not sent");
            }
        }
    }
}
