//! The addresses of this namespace's interfaces: the router's own addresses and the networks
//! it is on (getifaddrs), and each address with its scope and age (rtnetlink). Read-only.

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;

use netlink_packet_core::Parseable as _;
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use nix::sys::socket::SockProtocol;

use super::netlink::Socket;

const RTM_GETADDR: u16 = 22;
/// `struct ifaddrmsg`, the request of a dump (family `AF_UNSPEC`: both families).
const IFADDRMSG_LEN: usize = 8;

/// An address on an interface, as rtnetlink reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assigned {
    pub ifindex: u32,
    pub ip: IpAddr,
    pub prefix: u8,
    /// Reachable beyond this link (not link-local, not host).
    pub global: bool,
    /// When the address was added, in hundredths of a second since boot (`ifa_cacheinfo`).
    pub created_cs: Option<u32>,
}

/// Every address of this namespace, with its scope and when it was added.
///
/// # Errors
/// When rtnetlink cannot be reached.
pub fn assigned() -> io::Result<Vec<Assigned>> {
    let mut socket = Socket::open(SockProtocol::NetlinkRoute)?;
    let request = [0u8; IFADDRMSG_LEN];
    Ok(socket
        .dump(RTM_GETADDR, &request)?
        .iter()
        .filter_map(|m| {
            let message = AddressMessage::parse(&m.body).ok()?;
            let (mut ip, mut created_cs) = (None, None);
            for attribute in message.attributes {
                match attribute {
                    // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS
                    // is the peer's there and the same as IFA_LOCAL elsewhere.
                    AddressAttribute::Local(a) => ip = Some(a),
                    AddressAttribute::Address(a) if ip.is_none() => ip = Some(a),
                    AddressAttribute::CacheInfo(info) => created_cs = Some(info.cstamp),
                    _ => {}
                }
            }
            Some(Assigned {
                ifindex: message.header.index,
                ip: ip?,
                prefix: message.header.prefix_len,
                global: message.header.scope == AddressScope::Universe,
                created_cs,
            })
        })
        .collect())
}

/// A network the router is on: one of its addresses and the prefix.
pub struct Network {
    pub address: IpAddr,
    pub prefix: u8,
}

impl Network {
    /// Whether `ip` is on this network.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(*a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(*a) & mask
            }
            _ => false,
        }
    }
}

/// The networks of these interfaces (their addresses and prefixes).
pub fn networks(interfaces: &[String]) -> Vec<Network> {
    let Ok(all) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    all.filter(|a| interfaces.contains(&a.interface_name))
        .filter_map(|a| {
            let (address, mask) = (a.address?, a.netmask?);
            if let (Some(ip), Some(m)) = (address.as_sockaddr_in(), mask.as_sockaddr_in()) {
                let prefix = u8::try_from(m.ip().to_bits().count_ones()).unwrap_or(32);
                Some(Network {
                    address: IpAddr::V4(ip.ip()),
                    prefix,
                })
            } else {
                let (ip, m) = (address.as_sockaddr_in6()?, mask.as_sockaddr_in6()?);
                let prefix = u8::try_from(m.ip().to_bits().count_ones()).unwrap_or(128);
                Some(Network {
                    address: IpAddr::V6(ip.ip()),
                    prefix,
                })
            }
        })
        .collect()
}

/// Every address of this namespace's interfaces.
pub fn local() -> HashSet<IpAddr> {
    nix::ifaddrs::getifaddrs()
        .map(|all| {
            all.filter_map(|a| {
                let addr = a.address?;
                if let Some(v4) = addr.as_sockaddr_in() {
                    Some(IpAddr::V4(v4.ip()))
                } else {
                    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
                }
            })
            .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses_only() {
        let lan = Network {
            address: "192.168.1.1".parse().unwrap(),
            prefix: 24,
        };
        assert!(lan.contains(&"192.168.1.200".parse().unwrap()));
        assert!(!lan.contains(&"192.168.2.1".parse().unwrap()));
        assert!(!lan.contains(&"fd00::1".parse().unwrap()));
        let v6 = Network {
            address: "fd70:7274:0:1::1".parse().unwrap(),
            prefix: 64,
        };
        assert!(v6.contains(&"fd70:7274:0:1:abcd::9".parse().unwrap()));
        assert!(!v6.contains(&"fd70:7274:0:2::9".parse().unwrap()));
        let all = Network {
            address: "10.0.0.1".parse().unwrap(),
            prefix: 0,
        };
        assert!(all.contains(&"203.0.113.9".parse().unwrap()));
    }
}
