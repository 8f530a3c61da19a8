//! The routing table over rtnetlink: where this namespace's default routes go. Read-only.

use std::io;
use std::net::IpAddr;

use netlink_packet_core::Parseable as _;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use nix::sys::socket::SockProtocol;

use super::netlink::Socket;

const RTM_GETROUTE: u16 = 26;
/// `struct rtmsg`, the request of a dump (family `AF_UNSPEC`: both families).
const RTMSG_LEN: usize = 12;

/// A default route of the main table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultRoute {
    /// The next hop (`None` on a point-to-point link such as PPP).
    pub gateway: Option<IpAddr>,
    /// The interface it leaves through.
    pub ifindex: Option<u32>,
    pub v6: bool,
    pub metric: u32,
}

/// The default routes of the main table, both families, lowest metric first.
///
/// # Errors
/// When rtnetlink cannot be reached.
pub fn defaults() -> io::Result<Vec<DefaultRoute>> {
    let mut socket = Socket::open(SockProtocol::NetlinkRoute)?;
    let request = [0u8; RTMSG_LEN];
    let mut out: Vec<DefaultRoute> = socket
        .dump(RTM_GETROUTE, &request)?
        .iter()
        .filter_map(|m| {
            let message = RouteMessage::parse(&m.body).ok()?;
            let header = &message.header;
            let main = header.table == RouteHeader::RT_TABLE_MAIN;
            if !main || header.destination_prefix_length != 0 || header.kind != RouteType::Unicast {
                return None;
            }
            let mut route = DefaultRoute {
                gateway: None,
                ifindex: None,
                v6: header.address_family == netlink_packet_route::AddressFamily::Inet6,
                metric: 0,
            };
            for attribute in &message.attributes {
                match attribute {
                    RouteAttribute::Gateway(RouteAddress::Inet(a)) => {
                        route.gateway = Some((*a).into());
                    }
                    RouteAttribute::Gateway(RouteAddress::Inet6(a)) => {
                        route.gateway = Some((*a).into());
                    }
                    RouteAttribute::Oif(index) => route.ifindex = Some(*index),
                    RouteAttribute::Priority(metric) => route.metric = *metric,
                    _ => {}
                }
            }
            Some(route)
        })
        .collect();
    out.sort_by_key(|r| r.metric);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::sh;

    #[test]
    fn default_routes_of_both_families_are_found() {
        let scratch = netlab::Scratch::new().expect("scratch namespace (tests run as root)");
        scratch.run(|| {
            assert_eq!(defaults().unwrap(), Vec::new(), "a new namespace has none");
            sh("ip link add w0 type veth peer name w1
                ip link set w0 up; ip link set w1 up
                ip addr add 100.64.9.2/24 dev w0
                ip -6 addr add fd00:9::2/64 dev w0 nodad
                ip route add default via 100.64.9.1 dev w0 metric 10
                ip -6 route add default via fd00:9::1 dev w0");
            let routes = defaults().unwrap();
            let w0 = crate::kernel::links::list()
                .unwrap()
                .into_iter()
                .find(|l| l.name == "w0")
                .unwrap()
                .index;
            let v4 = routes.iter().find(|r| !r.v6).expect("IPv4 default");
            assert_eq!(v4.gateway, Some("100.64.9.1".parse().unwrap()));
            assert_eq!((v4.ifindex, v4.metric), (Some(w0), 10));
            let v6 = routes.iter().find(|r| r.v6).expect("IPv6 default");
            assert_eq!(v6.gateway, Some("fd00:9::1".parse().unwrap()));
            let addresses = crate::kernel::addresses::assigned().unwrap();
            let mine = addresses
                .iter()
                .find(|a| a.ip == "100.64.9.2".parse::<IpAddr>().unwrap())
                .expect("the address");
            assert_eq!((mine.ifindex, mine.prefix, mine.global), (w0, 24, true));
            assert!(
                mine.created_cs.is_some(),
                "cacheinfo says when it was added"
            );
        });
    }
}
