//! The devices on the LAN: DHCP leases joined with the neighbour table (who answers now) and
//! the bridges' forwarding tables (which port, so wired or wireless).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use app::status::Device;

use super::leases::Lease;
use super::vendors::{Vendors, is_private};
use crate::kernel::links::Link;
use crate::kernel::neighbours::Neighbour;

/// The most devices shown (a LAN of a community network has far fewer).
const MAX_DEVICES: usize = 500;

/// When each device was first seen online, without a break since (bounded like the list).
#[derive(Default)]
pub struct Seen {
    since: HashMap<String, Instant>,
}

impl Seen {
    /// Remembers who is online now and forgets who is not.
    pub fn update<'a>(&mut self, online: impl IntoIterator<Item = &'a str>, now: Instant) {
        let online: std::collections::HashSet<&str> = online.into_iter().collect();
        self.since.retain(|mac, _| online.contains(mac.as_str()));
        for mac in online {
            if self.since.len() >= MAX_DEVICES * 2 {
                break;
            }
            self.since.entry(mac.to_owned()).or_insert(now);
        }
    }

    fn online_for(&self, mac: &str, now: Instant) -> Option<Duration> {
        self.since
            .get(mac)
            .map(|t| now.saturating_duration_since(*t))
    }
}

/// Whether the interface `name` is a Wi-Fi device (`/sys/class/net/<name>/phy80211` or
/// `wireless`).
fn is_wireless(name: &str) -> bool {
    let dir = std::path::Path::new("/sys/class/net").join(name);
    dir.join("phy80211").exists() || dir.join("wireless").exists()
}

/// What the kernel knows about the LAN's devices now.
pub struct Sightings<'a> {
    pub links: &'a [Link],
    /// Neighbours on the LAN side (not the uplink's).
    pub neighbours: &'a [Neighbour],
    /// MAC → the bridge port it was last seen on.
    pub ports: &'a HashMap<String, u32>,
}

/// One row per MAC address: its lease (name, addresses, time left), its neighbour entries
/// (online, more addresses), where it is plugged in, its vendor. Online devices first, then
/// by name.
pub fn join(
    leases: &[Lease],
    seen_now: &Sightings<'_>,
    seen: &Seen,
    vendors: &Vendors,
    now_unix: u64,
    now: Instant,
) -> Vec<Device> {
    let mut rows: HashMap<&str, Device> = HashMap::new();
    for lease in leases {
        let device = rows.entry(lease.mac.as_str()).or_insert_with(|| Device {
            mac: lease.mac.clone(),
            ..Device::default()
        });
        device.name = device.name.take().or_else(|| lease.hostname.clone());
        push_address(&mut device.addresses, lease.ip);
        device.lease_seconds = lease.expires.map(|e| e.saturating_sub(now_unix));
    }
    let name_of = |index: u32| {
        seen_now
            .links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.name.as_str())
    };
    for n in seen_now.neighbours {
        let device = rows.entry(n.mac.as_str()).or_insert_with(|| Device {
            mac: n.mac.clone(),
            ..Device::default()
        });
        device.online = true;
        push_address(&mut device.addresses, n.ip);
        let port = seen_now.ports.get(&n.mac).copied().unwrap_or(n.ifindex);
        if let Some(name) = name_of(port) {
            device.link = if is_wireless(name) {
                "wireless"
            } else {
                "wired"
            }
            .into();
        }
    }
    let mut out: Vec<Device> = rows
        .into_values()
        .map(|mut d| {
            d.private_mac = is_private(&d.mac);
            d.vendor = vendors.of(&d.mac);
            d.online_seconds = d
                .online
                .then(|| seen.online_for(&d.mac, now).map(|t| t.as_secs()))
                .flatten();
            // Link-local IPv6 addresses are noise beside the others.
            if d.addresses.iter().any(|a| !a.starts_with("fe80:")) {
                d.addresses.retain(|a| !a.starts_with("fe80:"));
            }
            d
        })
        .collect();
    out.sort_by(|a, b| {
        b.online
            .cmp(&a.online)
            .then_with(|| a.name.is_none().cmp(&b.name.is_none()))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.mac.cmp(&b.mac))
    });
    out.truncate(MAX_DEVICES);
    out
}

/// Adds `ip` (IPv4 before IPv6, no duplicates).
fn push_address(list: &mut Vec<String>, ip: IpAddr) {
    let text = ip.to_string();
    if list.contains(&text) || list.len() >= 8 {
        return;
    }
    if ip.is_ipv4() {
        let at = list.iter().take_while(|a| !a.contains(':')).count();
        list.insert(at, text);
    } else {
        list.push(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_and_neighbours_join_by_mac() {
        let leases = super::super::leases::parse(
            "1000 00:d0:ef:12:34:56 192.168.1.120 laptop *\n\
             0 02:00:00:00:00:07 192.168.1.7 * *\n",
        );
        let neighbours = [
            Neighbour {
                ip: "fe80::1".parse().unwrap(),
                mac: "00:d0:ef:12:34:56".into(),
                ifindex: 5,
            },
            Neighbour {
                ip: "192.168.1.120".parse().unwrap(),
                mac: "00:d0:ef:12:34:56".into(),
                ifindex: 5,
            },
            Neighbour {
                ip: "fd00::9".parse().unwrap(),
                mac: "00:d0:ef:12:34:56".into(),
                ifindex: 5,
            },
            Neighbour {
                ip: "192.168.1.50".parse().unwrap(),
                mac: "00:11:22:33:44:55".into(),
                ifindex: 5,
            },
        ];
        let links = [Link::plain(5, "br-lan"), Link::plain(6, "lan1")];
        let ports = HashMap::from([("00:d0:ef:12:34:56".to_owned(), 6)]);
        let now = Instant::now();
        let mut seen = Seen::default();
        seen.update(
            ["00:d0:ef:12:34:56"],
            now.checked_sub(Duration::from_secs(90)).unwrap(),
        );
        let sightings = Sightings {
            links: &links,
            neighbours: &neighbours,
            ports: &ports,
        };
        let rows = join(&leases, &sightings, &seen, &Vendors::new(None), 400, now);
        assert_eq!(rows.len(), 3);
        let laptop = &rows[0];
        assert_eq!(laptop.name.as_deref(), Some("laptop"));
        assert_eq!(
            laptop.addresses,
            ["192.168.1.120", "fd00::9"],
            "link-local left out"
        );
        assert_eq!((laptop.online, laptop.link.as_str()), (true, "wired"));
        assert_eq!(laptop.online_seconds, Some(90));
        assert_eq!(laptop.lease_seconds, Some(600));
        assert!(!laptop.private_mac);
        let unnamed = &rows[1];
        assert_eq!(
            (unnamed.mac.as_str(), unnamed.online),
            ("00:11:22:33:44:55", true)
        );
        let offline = &rows[2];
        assert_eq!(
            (offline.online, offline.lease_seconds, offline.private_mac),
            (false, None, true)
        );
        assert_eq!(offline.link, "", "not seen: unknown");
    }

    #[test]
    fn seen_forgets_who_left() {
        let mut seen = Seen::default();
        let t0 = Instant::now();
        seen.update(["a", "b"], t0);
        seen.update(["b"], t0 + Duration::from_secs(5));
        seen.update(["a", "b"], t0 + Duration::from_secs(10));
        let now = t0 + Duration::from_secs(12);
        assert_eq!(seen.online_for("a", now), Some(Duration::from_secs(2)));
        assert_eq!(seen.online_for("b", now), Some(Duration::from_secs(12)));
    }
}
