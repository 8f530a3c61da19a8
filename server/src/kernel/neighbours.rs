//! The neighbour table over rtnetlink: which IP addresses a MAC address uses and which MAC
//! address an IP address has (the portal knows clients by MAC, sockets by address); and the
//! bridges' forwarding databases: which port a MAC address is behind.

use std::io;
use std::net::IpAddr;

use netlink_packet_core::Parseable as _;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use nix::sys::socket::SockProtocol;

use super::netlink::Socket;

const RTM_GETNEIGH: u16 = 30;
/// `struct ndmsg`, the request of a dump (family `AF_UNSPEC`: both families).
const NDMSG_LEN: usize = 12;

/// One resolved neighbour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub ip: IpAddr,
    /// Lower case with colons, as the voucher store keeps it.
    pub mac: String,
    pub ifindex: u32,
}

/// Every neighbour with a (unicast) link-layer address, IPv4 and IPv6, in this namespace.
///
/// # Errors
/// When rtnetlink cannot be reached.
pub fn list() -> io::Result<Vec<Neighbour>> {
    let mut socket = Socket::open(SockProtocol::NetlinkRoute)?;
    let request = [0u8; NDMSG_LEN];
    let mut out = Vec::new();
    for message in socket.dump(RTM_GETNEIGH, &request)? {
        let Ok(neighbour) = NeighbourMessage::parse(&message.body) else {
            continue;
        };
        if matches!(
            neighbour.header.state,
            NeighbourState::Incomplete | NeighbourState::Failed
        ) {
            continue;
        }
        let (mut ip, mut mac): (Option<IpAddr>, Option<Vec<u8>>) = (None, None);
        for attribute in neighbour.attributes {
            match attribute {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => ip = Some(a.into()),
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => ip = Some(a.into()),
                NeighbourAttribute::LinkLayerAddress(l) if l.len() == 6 => mac = Some(l),
                _ => {}
            }
        }
        let (Some(ip), Some(mac)) = (ip, mac) else {
            continue;
        };
        // Multicast groups have neighbour entries too (33:33:… for ff02::…): no device.
        if ip.is_multicast() || mac[0] & 1 == 1 {
            continue;
        }
        let mac = mac_text(&mac);
        out.push(Neighbour {
            ip,
            mac,
            ifindex: neighbour.header.ifindex,
        });
    }
    Ok(out)
}

/// `aa:bb:cc:dd:ee:ff`.
pub(crate) fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `AF_BRIDGE`: a neighbour dump of this family lists the bridges' forwarding databases.
const AF_BRIDGE: u8 = 7;

/// Which bridge port each device's MAC address was last seen on (the bridges' forwarding
/// databases): MAC → the port's interface index. The bridges' and ports' own addresses and
/// multicast entries are left out.
///
/// # Errors
/// When rtnetlink cannot be reached.
pub fn bridge_ports() -> io::Result<std::collections::HashMap<String, u32>> {
    let mut socket = Socket::open(SockProtocol::NetlinkRoute)?;
    let mut request = [0u8; NDMSG_LEN];
    request[0] = AF_BRIDGE;
    let mut out = std::collections::HashMap::new();
    for message in socket.dump(RTM_GETNEIGH, &request)? {
        let Ok(entry) = NeighbourMessage::parse(&message.body) else {
            continue;
        };
        if entry.header.state == NeighbourState::Permanent {
            continue;
        }
        for attribute in entry.attributes {
            if let NeighbourAttribute::LinkLayerAddress(l) = attribute
                && l.len() == 6
                && l[0] & 1 == 0
            {
                out.insert(mac_text(&l), entry.header.ifindex);
            }
        }
    }
    Ok(out)
}

/// The MAC address of a neighbour's IP address (an IPv4-mapped IPv6 address counts as IPv4).
///
/// # Errors
/// When rtnetlink cannot be reached.
pub fn mac_of(ip: IpAddr) -> io::Result<Option<String>> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    Ok(list()?.into_iter().find(|n| n.ip == ip).map(|n| n.mac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn ip(args: &[&str]) {
        let out = Command::new("ip").args(args).output().expect("ip");
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn finds_the_mac_of_an_address_in_both_families() {
        let scratch = netlab::Scratch::new().expect("scratch namespace (tests run as root)");
        scratch.run(|| {
            ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
            ip(&["link", "set", "d0", "up"]);
            ip(&[
                "neigh",
                "add",
                "10.1.1.2",
                "lladdr",
                "02:00:00:00:00:05",
                "dev",
                "d0",
                "nud",
                "permanent",
            ]);
            ip(&[
                "neigh",
                "add",
                "fd00::5",
                "lladdr",
                "02:00:00:00:00:05",
                "dev",
                "d0",
                "nud",
                "permanent",
            ]);
            ip(&[
                "neigh",
                "add",
                "ff02::16",
                "lladdr",
                "33:33:00:00:00:16",
                "dev",
                "d0",
                "nud",
                "noarp",
            ]);
            let all = list().expect("dump");
            assert!(!all.iter().any(|n| n.mac.starts_with("33:33")), "{all:?}");
            assert_eq!(
                all.iter().filter(|n| n.mac == "02:00:00:00:00:05").count(),
                2,
                "{all:?}"
            );
            let v4: IpAddr = "10.1.1.2".parse().unwrap();
            assert_eq!(mac_of(v4).unwrap().as_deref(), Some("02:00:00:00:00:05"));
            let mapped: IpAddr = "::ffff:10.1.1.2".parse().unwrap();
            assert_eq!(
                mac_of(mapped).unwrap().as_deref(),
                Some("02:00:00:00:00:05")
            );
            assert_eq!(mac_of("10.1.1.3".parse().unwrap()).unwrap(), None);
        });
    }

    #[test]
    fn bridge_ports_say_where_a_device_was_seen() {
        let scratch = netlab::Scratch::new().expect("scratch namespace (tests run as root)");
        scratch.run(|| {
            ip(&["link", "add", "br9", "type", "bridge"]);
            ip(&["link", "add", "p9", "type", "veth", "peer", "name", "q9"]);
            ip(&["link", "set", "p9", "master", "br9"]);
            for device in ["br9", "p9", "q9"] {
                ip(&["link", "set", device, "up"]);
            }
            ip(&["link", "set", "q9", "address", "02:00:00:00:09:09"]);
            ip(&["link", "set", "p9", "address", "02:00:00:00:09:01"]);
            ip(&["addr", "add", "10.9.0.2/24", "dev", "q9"]);
            // The device behind the port speaks (ARP), the bridge learns where it is.
            let _ = Command::new("ping")
                .args(["-c", "2", "-i", "0.2", "-W", "1", "10.9.0.1"])
                .output();
            let ports = bridge_ports().unwrap();
            let p9 = crate::kernel::links::list()
                .unwrap()
                .into_iter()
                .find(|l| l.name == "p9")
                .unwrap()
                .index;
            assert_eq!(ports.get("02:00:00:00:09:09"), Some(&p9), "{ports:?}");
            assert!(
                !ports.contains_key("02:00:00:00:09:01"),
                "the port's own address is not a device"
            );
        });
    }
}
