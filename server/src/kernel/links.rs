//! Network interfaces over rtnetlink: what each link is (bridge, VLAN, plain), whose port
//! it is, whether it is up, how many bytes it moved, and events when any of that changes.

use std::io;

use nix::sys::socket::SockProtocol;

use netlink_packet_core::Parseable as _;
use netlink_packet_route::link::{
    InfoData, InfoVlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};

use super::netlink::Socket;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
/// `struct ifinfomsg`, the request of a dump (all zero: every link).
const IFINFOMSG_LEN: usize = 16;
/// RTNLGRP_LINK (group 1).
const GROUP_LINK: u32 = 1;

/// One interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// The link type (`ARPHRD_*`: 1 Ethernet, 512 PPP, 772 loopback).
    pub arphrd: u16,
    /// Administratively up and with carrier.
    pub running: bool,
    pub mac: Option<[u8; 6]>,
    /// The bridge (or bond) this link is a port of.
    pub master: Option<u32>,
    /// `bridge`, `vlan`, `veth`, ... (`None` for plain hardware).
    pub kind: Option<String>,
    /// A VLAN device's parent.
    pub parent: Option<u32>,
    pub vlan_id: Option<u16>,
    /// Bytes received and sent since the link was created (64-bit counters).
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

impl Link {
    /// A running Ethernet link with nothing else known (for tests of code that reads links).
    #[cfg(test)]
    pub fn plain(index: u32, name: &str) -> Link {
        Link {
            index,
            name: name.into(),
            arphrd: 1,
            running: true,
            mac: None,
            master: None,
            kind: None,
            parent: None,
            vlan_id: None,
            rx_bytes: 0,
            tx_bytes: 0,
        }
    }

    /// A link from an `RTM_NEWLINK`/`RTM_DELLINK` body (`None` when it is not one, or has no
    /// name).
    fn parse(body: &[u8]) -> Option<Link> {
        let message = LinkMessage::parse(body).ok()?;
        let header = &message.header;
        let mut link = Link {
            index: header.index,
            name: String::new(),
            arphrd: u16::from(header.link_layer_type),
            running: header.flags.contains(LinkFlags::Up | LinkFlags::Running),
            mac: None,
            master: None,
            kind: None,
            parent: None,
            vlan_id: None,
            rx_bytes: 0,
            tx_bytes: 0,
        };
        for attribute in message.attributes {
            match attribute {
                LinkAttribute::IfName(name) => link.name = name,
                LinkAttribute::Stats64(stats) => {
                    (link.rx_bytes, link.tx_bytes) = (stats.rx_bytes, stats.tx_bytes);
                }
                LinkAttribute::Address(mac) => link.mac = <[u8; 6]>::try_from(mac).ok(),
                LinkAttribute::Controller(master) if master != 0 => link.master = Some(master),
                LinkAttribute::Link(parent) if parent != 0 && parent != header.index => {
                    link.parent = Some(parent);
                }
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        match info {
                            LinkInfo::Kind(kind) => link.kind = Some(kind.to_string()),
                            LinkInfo::Data(InfoData::Vlan(vlan)) => {
                                link.vlan_id = vlan.iter().find_map(|v| match v {
                                    InfoVlan::Id(id) => Some(*id),
                                    _ => None,
                                });
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        (!link.name.is_empty()).then_some(link)
    }
}

/// Every link in this namespace.
///
/// # Errors
/// When rtnetlink cannot be reached.
pub fn list() -> io::Result<Vec<Link>> {
    let mut socket = Socket::open(SockProtocol::NetlinkRoute)?;
    let request = [0u8; IFINFOMSG_LEN];
    Ok(socket
        .dump(RTM_GETLINK, &request)?
        .iter()
        .filter_map(|m| Link::parse(&m.body))
        .collect())
}

/// A link appeared or changed, or went away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Changed(Link),
    Removed(Link),
}

/// A subscription to link events.
pub struct Events {
    socket: Socket,
}

impl Events {
    /// Subscribes to link events.
    ///
    /// # Errors
    /// When rtnetlink cannot be reached.
    pub fn subscribe() -> io::Result<Events> {
        Ok(Events {
            socket: Socket::subscribe(SockProtocol::NetlinkRoute, GROUP_LINK)?,
        })
    }

    /// The descriptor to wait on.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.fd()
    }

    /// The events waiting now (possibly none).
    ///
    /// # Errors
    /// `ENOBUFS` when events were lost (list the links again), or a socket error.
    pub fn receive(&mut self) -> io::Result<Vec<Event>> {
        Ok(self
            .socket
            .receive_events()?
            .into_iter()
            .filter_map(|m| match m.kind {
                RTM_NEWLINK => Link::parse(&m.body).map(Event::Changed),
                RTM_DELLINK => Link::parse(&m.body).map(Event::Removed),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::sh;

    #[test]
    fn bridges_vlans_and_carrier_are_seen_and_changes_arrive_as_events() {
        let scratch = netlab::Scratch::new().expect("scratch namespace (tests run as root)");
        scratch.run(|| {
            let mut events = Events::subscribe().unwrap();
            sh("ip link add br0 type bridge
                ip link add p0 type veth peer name p1
                ip link set p0 master br0
                for d in br0 p0 p1; do ip link set $d up; done");
            // This machine's kernel has no 8021q: VLAN devices are parsed (IFLA_INFO_DATA) but
            // cannot be created here.
            let links = list().unwrap();
            let by = |n: &str| links.iter().find(|l| l.name == n).cloned().unwrap();
            let (br, p0, p1) = (by("br0"), by("p0"), by("p1"));
            assert_eq!(br.kind.as_deref(), Some("bridge"));
            assert_eq!(p0.master, Some(br.index));
            assert_eq!(p1.kind.as_deref(), Some("veth"));
            assert_eq!(p1.arphrd, 1, "Ethernet");
            assert_eq!(p0.mac.map(|m| m[0] & 1), Some(0), "a unicast MAC");
            assert!(p0.running && p1.running);
            // ARP requests for a neighbour that does not answer leave through p1.
            sh("ip addr add 10.9.9.1/24 dev p1; ping -c 2 -i 0.2 -W 1 10.9.9.2 >/dev/null 2>&1 || true");
            let sent = list().unwrap().into_iter().find(|l| l.name == "p1").unwrap();
            assert!(sent.tx_bytes > 0, "counters are read: {sent:?}");

            sh("ip link set p1 down");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let got = events.receive().unwrap();
                if got
                    .iter()
                    .any(|e| matches!(e, Event::Changed(l) if l.name == "p0" && !l.running))
                {
                    break; // the peer lost its carrier
                }
                assert!(std::time::Instant::now() < deadline, "no carrier event");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    }
}
