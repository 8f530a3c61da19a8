//! Giving a port its role: through the checked apply (every touched file snapshotted), kept
//! only when the role's adjacency appears, otherwise rolled back byte for byte.
//!
//! The adjacency each role waits for:
//! * `wan`: an IPv4 address on the port's interface (a DHCP lease) and a passing connection
//!   test (gateway, DNS, HTTP, as the wizard's);
//! * `lan`: a device behind the port holding a lease from the router's DHCP server;
//! * `babel`, `mesh`: a babel neighbour on the port whose hellos say it hears this router;
//! * `routed`: a device on the port's own network holding a lease;
//! * `blocked`: the loop probe no longer comes back.
//!
//! Never touched: a port whose policy is `off` or pins a role, and a port through which an admin
//! reached this router in the last [`ADMIN_SEEN`] (the session would be cut).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::frames::Sighting;
use super::roles::{self, Files};
use super::verdict::Role;
use super::{Inner, unix_now};

/// How long a port that carried an admin's request stays protected.
pub const ADMIN_SEEN: Duration = Duration::from_secs(600);
/// How often the adjacency is looked for.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Who asked for a role change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// The port's policy is `auto` and the verdict held.
    Auto,
    /// An admin pressed the button.
    Admin,
}

/// Where a role change is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// Applied; waiting for the adjacency.
    Waiting,
    /// The adjacency appeared: kept.
    Kept,
    /// No adjacency in time: the files were put back.
    RolledBack,
}

/// A port's latest role change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleChange {
    pub role: Role,
    pub by: By,
    pub progress: Progress,
    /// Unix seconds.
    pub at: u64,
}

/// Why a role change was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such port")]
    NoSuchPort,
    #[error("this Portico does not apply roles")]
    NoApplier,
    #[error("the port's role is pinned or its policy is off")]
    Pinned,
    #[error("an admin's connection comes through this port")]
    AdminPort,
    #[error("another change is waiting for confirmation")]
    Busy,
    #[error("the port has this role already")]
    Unchanged,
    #[error("{0}")]
    Failed(String),
}

impl Inner {
    /// Applies `role` to the port with interface index `index` and waits, on a thread of its
    /// own, for the role's adjacency.
    pub(super) fn change_role(
        self: &Arc<Self>,
        index: u32,
        role: Role,
        by: By,
    ) -> Result<(), Refusal> {
        let applier = self.applier.as_ref().ok_or(Refusal::NoApplier)?;
        let _runtime = self.runtime.as_ref().ok_or(Refusal::NoApplier)?.enter();
        let (name, wire) = {
            let state = self.lock();
            let port = state.ports.get(&index).ok_or(Refusal::NoSuchPort)?;
            if state.protected.contains(&index) {
                return Err(Refusal::AdminPort);
            }
            if port.policy.pinned.is_some() || port.policy.mode == roles::Mode::Off {
                return Err(Refusal::Pinned);
            }
            if state.ports.values().any(|p| {
                p.change
                    .as_ref()
                    .is_some_and(|c| c.progress == Progress::Waiting)
            }) {
                return Err(Refusal::Busy);
            }
            (port.name.clone(), port.wire())
        };
        let package = |name: &str| {
            self.platform
                .package(name)
                .map_err(|e| Refusal::Failed(e.to_string()))
        };
        let (network, firewall) = (package("network")?, package("firewall")?);
        let lime = self
            .platform
            .root()
            .join("etc/config/lime-node")
            .exists()
            .then(|| package("lime-node"))
            .transpose()?;
        let files = Files {
            network: &network,
            firewall: &firewall,
            lime: lime.as_ref(),
        };
        let edits = roles::change_set(&files, &name, role, wire);
        if edits.is_empty() {
            return Err(Refusal::Unchanged);
        }
        let waiting = applier.apply(&edits, true).map_err(|e| match e {
            crate::apply::Error::Pending => Refusal::Busy,
            e => Refusal::Failed(e.to_string()),
        })?;
        tracing::info!(
            port = name,
            role = super::serde_name(&role),
            ?by,
            "role applied, waiting for its adjacency"
        );
        let started = Instant::now();
        self.set_change(index, role, by, Progress::Waiting);
        let inner = Arc::downgrade(self);
        let token = waiting.token;
        std::thread::Builder::new()
            .name(format!("role {name}"))
            .spawn(move || {
                loop {
                    std::thread::sleep(CHECK_EVERY);
                    let Some(inner) = inner.upgrade() else {
                        return;
                    };
                    let (Some(applier), Some(runtime)) =
                        (inner.applier.as_ref(), inner.runtime.as_ref())
                    else {
                        return;
                    };
                    let _runtime = runtime.enter();
                    if !applier.status().is_pending() {
                        // The applier's window ran out (or an admin reverted): the files are back.
                        inner.set_change(index, role, by, Progress::RolledBack);
                        tracing::info!(port = name, "no adjacency in time: rolled back");
                        return;
                    }
                    if inner.adjacent(index, &name, role, started) {
                        let kept = applier.confirm(token.as_deref()).is_ok();
                        let progress = if kept {
                            Progress::Kept
                        } else {
                            Progress::RolledBack
                        };
                        tracing::info!(port = name, kept, "adjacency found");
                        inner.set_change(index, role, by, progress);
                        return;
                    }
                }
            })
            .map_err(|e| Refusal::Failed(e.to_string()))?;
        Ok(())
    }

    fn set_change(&self, index: u32, role: Role, by: By, progress: Progress) {
        let mut state = self.lock();
        if let Some(port) = state.ports.get_mut(&index) {
            port.change = Some(RoleChange {
                role,
                by,
                progress,
                at: unix_now(),
            });
        }
        drop(state);
        self.changes.send_modify(|n| *n += 1);
    }

    /// Whether `role`'s adjacency is there on port `name` (index `index`), looking at what
    /// arrived since `since`.
    fn adjacent(&self, index: u32, name: &str, role: Role, since: Instant) -> bool {
        match role {
            Role::Wan => {
                let addressed = crate::kernel::addresses::assigned().is_ok_and(|addresses| {
                    addresses
                        .iter()
                        .any(|a| a.ifindex == index && a.ip.is_ipv4() && a.global)
                });
                addressed && self.connection_test_passes()
            }
            Role::Lan | Role::Routed => self.leased_device_on(index),
            Role::Babel | Role::Mesh => self.heard_since(index, since, |s| {
                matches!(s, Sighting::Babel { hears_us: true, .. })
            }),
            Role::Blocked => {
                since.elapsed() > Duration::from_secs(10)
                    && !self.heard_since(
                        index,
                        since.max(
                            Instant::now()
                                .checked_sub(Duration::from_secs(10))
                                .unwrap_or(since),
                        ),
                        |s| matches!(s, Sighting::Loop { .. }),
                    )
            }
        }
        .then(|| tracing::debug!(port = name, "adjacency"))
        .is_some()
    }

    fn heard_since(&self, index: u32, since: Instant, what: impl Fn(&Sighting) -> bool) -> bool {
        self.lock()
            .ports
            .get(&index)
            .is_some_and(|p| p.window.heard_since(since, &what))
    }

    /// A device seen behind the port (bridge FDB, or the port's own neighbours) holds a lease.
    fn leased_device_on(&self, index: u32) -> bool {
        let Some(path) = self.platform.observed().leases else {
            return false;
        };
        let leases = crate::status::leases::read(&path);
        let behind: HashSet<String> = crate::kernel::neighbours::bridge_ports()
            .map(|fdb| {
                fdb.into_iter()
                    .filter(|(_, port)| *port == index)
                    .map(|(mac, _)| mac)
                    .collect()
            })
            .unwrap_or_default();
        let neighbours: HashSet<String> = crate::kernel::neighbours::list()
            .map(|n| {
                n.into_iter()
                    .filter(|n| n.ifindex == index)
                    .map(|n| n.mac)
                    .collect()
            })
            .unwrap_or_default();
        leases
            .iter()
            .any(|l| behind.contains(&l.mac) || neighbours.contains(&l.mac))
    }

    fn connection_test_passes(&self) -> bool {
        let mut passed = true;
        let mut ran = false;
        crate::wizard::conntest::run(
            None,
            &self.connection_test_url,
            Duration::from_secs(5),
            |check| {
                ran = true;
                passed &= check.ok;
            },
        );
        ran && passed
    }

    /// The ports through which an admin reached this router lately (resolved through the
    /// neighbour table and the bridges' forwarding databases).
    pub(super) fn admin_ports(admins: &[(IpAddr, Instant)]) -> HashSet<u32> {
        let recent: Vec<IpAddr> = admins
            .iter()
            .filter(|(_, at)| at.elapsed() < ADMIN_SEEN)
            .map(|(ip, _)| *ip)
            .collect();
        if recent.is_empty() {
            return HashSet::new();
        }
        let neighbours = crate::kernel::neighbours::list().unwrap_or_default();
        let fdb = crate::kernel::neighbours::bridge_ports().unwrap_or_default();
        neighbours
            .iter()
            .filter(|n| recent.contains(&n.ip))
            .map(|n| fdb.get(&n.mac).copied().unwrap_or(n.ifindex))
            .collect()
    }
}
