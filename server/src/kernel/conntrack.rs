//! Connection tracking over ctnetlink: the one place Portico reads, changes and deletes
//! conntrack entries and listens to their events (design.md, "Kernel plumbing"). The portal
//! flushes a client's entries when it is authorised or expires; the offload follows events to
//! know when a flow is established and what its NAT is, and keeps offloaded entries alive.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nix::sys::socket::SockProtocol;

use super::netlink::{self, Socket};

const SUBSYS_CTNETLINK: u16 = 1;
const MSG_NEW: u16 = 0;
const MSG_GET: u16 = 1;
const MSG_DELETE: u16 = 2;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_PROTOINFO: u16 = 4;
const CTA_HELP: u16 = 5;
const CTA_TIMEOUT: u16 = 7;
const CTA_MARK: u16 = 8;
const CTA_COUNTERS_ORIG: u16 = 9;
const CTA_COUNTERS_REPLY: u16 = 10;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTOINFO_TCP: u16 = 1;
const CTA_PROTOINFO_TCP_STATE: u16 = 1;
const CTA_COUNTERS_PACKETS: u16 = 1;
/// Multicast groups (bit n-1 for group n): NFNLGRP_CONNTRACK_NEW, _UPDATE, _DESTROY.
const GROUPS_CONNTRACK: u32 = 0b111;
/// `TCP_CONNTRACK_ESTABLISHED`.
pub const TCP_ESTABLISHED: u8 = 3;
/// `IPS_CONFIRMED`: the entry is in the table (its first packet left the stack).
pub const STATUS_CONFIRMED: u32 = 1 << 3;
/// `IPS_DYING`.
pub const STATUS_DYING: u32 = 1 << 9;

/// One direction of a connection: addresses, protocol and ports (0 for portless protocols).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

impl Tuple {
    /// The tuple as ctnetlink nests it (`CTA_TUPLE_IP` + `CTA_TUPLE_PROTO`).
    fn encode(&self) -> Vec<u8> {
        let mut ip = Vec::new();
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                netlink::put_attr(&mut ip, CTA_IP_V4_SRC, &s.octets());
                netlink::put_attr(&mut ip, CTA_IP_V4_DST, &d.octets());
            }
            (s, d) => {
                netlink::put_attr(&mut ip, CTA_IP_V6_SRC, &v6(s).octets());
                netlink::put_attr(&mut ip, CTA_IP_V6_DST, &v6(d).octets());
            }
        }
        let mut proto = Vec::new();
        netlink::put_attr(&mut proto, CTA_PROTO_NUM, &[self.proto]);
        netlink::put_attr(&mut proto, CTA_PROTO_SRC_PORT, &self.sport.to_be_bytes());
        netlink::put_attr(&mut proto, CTA_PROTO_DST_PORT, &self.dport.to_be_bytes());
        let mut out = Vec::new();
        netlink::put_attr(&mut out, CTA_TUPLE_IP | netlink::NLA_F_NESTED, &ip);
        netlink::put_attr(&mut out, CTA_TUPLE_PROTO | netlink::NLA_F_NESTED, &proto);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Tuple> {
        let ip = netlink::attr(bytes, CTA_TUPLE_IP)?;
        let (src, dst) = if let (Some(s), Some(d)) = (
            netlink::attr(ip, CTA_IP_V4_SRC),
            netlink::attr(ip, CTA_IP_V4_DST),
        ) {
            (
                IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(s).ok()?)),
                IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(d).ok()?)),
            )
        } else {
            let s = netlink::attr(ip, CTA_IP_V6_SRC)?;
            let d = netlink::attr(ip, CTA_IP_V6_DST)?;
            (
                IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(s).ok()?)),
                IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(d).ok()?)),
            )
        };
        let proto = netlink::attr(bytes, CTA_TUPLE_PROTO)?;
        let port = |kind| {
            netlink::attr(proto, kind)
                .and_then(|b| <[u8; 2]>::try_from(b).ok())
                .map_or(0, u16::from_be_bytes)
        };
        Some(Tuple {
            src,
            dst,
            proto: *netlink::attr(proto, CTA_PROTO_NUM)?.first()?,
            sport: port(CTA_PROTO_SRC_PORT),
            dport: port(CTA_PROTO_DST_PORT),
        })
    }

    fn family(&self) -> u8 {
        if self.src.is_ipv4() { 2 } else { 10 }
    }
}

/// The start of a request about one entry: nfgenmsg and the tuple as direction `kind`
/// (`CTA_TUPLE_ORIG` or `CTA_TUPLE_REPLY`).
fn request_for(kind: u16, tuple: &Tuple) -> Vec<u8> {
    let mut request = vec![tuple.family(), 0, 0, 0];
    netlink::put_attr(&mut request, kind | netlink::NLA_F_NESTED, &tuple.encode());
    request
}

/// Changes the entry whose original direction a request names; a vanished entry is not an
/// error.
fn update(request: &[u8]) -> io::Result<()> {
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    match socket.request(SUBSYS_CTNETLINK << 8 | MSG_NEW, request)? {
        0 => Ok(()),
        errno if errno == nix::libc::ENOENT => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

/// A conntrack entry, as much of it as Portico uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub orig: Tuple,
    pub reply: Tuple,
    /// `IPS_*` bits.
    pub status: u32,
    /// The TCP state (`TCP_CONNTRACK_*`) for TCP entries.
    pub tcp_state: Option<u8>,
    /// Seconds left.
    pub timeout: Option<u32>,
    /// A connection-tracking helper (FTP, SIP ...) watches this entry.
    pub helper: bool,
    /// Packets seen by the stack in each direction (when `nf_conntrack_acct` is on).
    pub packets: Option<(u64, u64)>,
    /// The connection's mark (`ct mark`; the portal stamps its device's there).
    pub mark: u32,
    /// The conntrack zone (0: the default one), part of what identifies the entry.
    pub zone: u16,
}

impl Entry {
    /// Parses a ctnetlink entry message's body (nfgenmsg + attributes).
    pub fn parse(body: &[u8]) -> Option<Entry> {
        let attrs = body.get(4..)?;
        let be32 = |kind| {
            netlink::attr(attrs, kind)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
        };
        let tcp_state = netlink::attr(attrs, CTA_PROTOINFO)
            .and_then(|p| netlink::attr(p, CTA_PROTOINFO_TCP))
            .and_then(|t| netlink::attr(t, CTA_PROTOINFO_TCP_STATE))
            .and_then(|s| s.first().copied());
        let packets = |kind| {
            netlink::attr(attrs, kind)
                .and_then(|c| netlink::attr(c, CTA_COUNTERS_PACKETS))
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
        };
        Some(Entry {
            orig: Tuple::decode(netlink::attr(attrs, CTA_TUPLE_ORIG)?)?,
            reply: Tuple::decode(netlink::attr(attrs, CTA_TUPLE_REPLY)?)?,
            status: be32(CTA_STATUS).unwrap_or(0),
            tcp_state,
            timeout: be32(CTA_TIMEOUT),
            helper: netlink::attr(attrs, CTA_HELP).is_some(),
            packets: packets(CTA_COUNTERS_ORIG).zip(packets(CTA_COUNTERS_REPLY)),
            mark: be32(CTA_MARK).unwrap_or(0),
            zone: netlink::attr(attrs, CTA_ZONE)
                .and_then(|b| <[u8; 2]>::try_from(b).ok())
                .map_or(0, u16::from_be_bytes),
        })
    }
}

/// What happened to an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Created or changed (state, NAT, timeout).
    Changed(Entry),
    /// Gone.
    Destroyed(Entry),
}

/// A subscription to conntrack events in this namespace.
pub struct Events {
    socket: Socket,
}

impl Events {
    /// Subscribes to new, update and destroy events.
    ///
    /// # Errors
    /// When ctnetlink cannot be reached.
    pub fn subscribe() -> io::Result<Events> {
        Ok(Events {
            socket: Socket::subscribe(SockProtocol::NetlinkNetFilter, GROUPS_CONNTRACK)?,
        })
    }

    /// The descriptor to wait on.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.fd()
    }

    /// The events waiting now (possibly none).
    ///
    /// # Errors
    /// `ENOBUFS` when events were lost (dump the table to resynchronise), or a socket error.
    pub fn receive(&mut self) -> io::Result<Vec<Event>> {
        Ok(self
            .socket
            .receive_events()?
            .into_iter()
            .filter_map(|m| {
                let entry = Entry::parse(&m.body)?;
                match m.kind & 0xff {
                    MSG_DELETE => Some(Event::Destroyed(entry)),
                    MSG_NEW => Some(Event::Changed(entry)),
                    _ => None,
                }
            })
            .collect())
    }
}

/// The entry one of whose directions is `tuple`, if the table has one.
///
/// # Errors
/// When ctnetlink cannot be reached.
pub fn get(tuple: &Tuple) -> io::Result<Option<Entry>> {
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    // The kernel looks the tuple up in the direction the request names: try both.
    for direction in [CTA_TUPLE_ORIG, CTA_TUPLE_REPLY] {
        let answer = socket.get(
            SUBSYS_CTNETLINK << 8 | MSG_GET,
            &request_for(direction, tuple),
        )?;
        if let Some(entry) = answer.and_then(|m| Entry::parse(&m.body)) {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

/// Every entry of both families.
///
/// # Errors
/// When ctnetlink cannot be reached.
pub fn dump() -> io::Result<Vec<Entry>> {
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    Ok(socket
        .dump(SUBSYS_CTNETLINK << 8 | MSG_GET, &[0, 0, 0, 0])?
        .iter()
        .filter_map(|m| Entry::parse(&m.body))
        .collect())
}

/// Makes conntrack accept any TCP sequence numbers for this connection in both directions
/// (`IP_CT_TCP_FLAG_BE_LIBERAL`), as the kernel's own flowtable offload does: packets that
/// bypassed the stack leave its window tracking behind, and without this the FIN or RST that
/// comes back through the stack would be out of window, invalid, and left un-NATed.
///
/// # Errors
/// When ctnetlink cannot be reached or refuses.
pub fn be_liberal(orig: &Tuple) -> io::Result<()> {
    const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL: u16 = 4;
    const CTA_PROTOINFO_TCP_FLAGS_REPLY: u16 = 5;
    const IP_CT_TCP_FLAG_BE_LIBERAL: u8 = 0x08;
    let mut request = request_for(CTA_TUPLE_ORIG, orig);
    // struct nf_ct_tcp_flags { flags, mask }
    let flags = [IP_CT_TCP_FLAG_BE_LIBERAL, IP_CT_TCP_FLAG_BE_LIBERAL];
    let mut tcp = Vec::new();
    netlink::put_attr(&mut tcp, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, &flags);
    netlink::put_attr(&mut tcp, CTA_PROTOINFO_TCP_FLAGS_REPLY, &flags);
    let mut info = Vec::new();
    netlink::put_attr(&mut info, CTA_PROTOINFO_TCP | netlink::NLA_F_NESTED, &tcp);
    netlink::put_attr(&mut request, CTA_PROTOINFO | netlink::NLA_F_NESTED, &info);
    update(&request)
}

/// Sets the timeout of the entry whose original direction is `orig` (keeps an offloaded
/// connection alive while its packets bypass the stack). A vanished entry is not an error.
///
/// # Errors
/// When ctnetlink cannot be reached or refuses.
pub fn refresh(orig: &Tuple, timeout_secs: u32) -> io::Result<()> {
    let mut request = request_for(CTA_TUPLE_ORIG, orig);
    netlink::put_attr(&mut request, CTA_TIMEOUT, &timeout_secs.to_be_bytes());
    update(&request)
}

/// Deletes an entry, named by its original direction and zone. Returns whether it was still
/// there.
///
/// # Errors
/// When ctnetlink cannot be reached or refuses.
pub fn delete(entry: &Entry) -> io::Result<bool> {
    let mut request = request_for(CTA_TUPLE_ORIG, &entry.orig);
    if entry.zone != 0 {
        netlink::put_attr(&mut request, CTA_ZONE, &entry.zone.to_be_bytes());
    }
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    match socket.request(SUBSYS_CTNETLINK << 8 | MSG_DELETE, &request)? {
        0 => Ok(true),
        errno if errno == nix::libc::ENOENT => Ok(false),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Deletes every entry `doomed` picks (a dump, then a delete per entry by its own tuple, as
/// `conntrack -D` does) and returns them; entries that vanished meanwhile are not errors.
///
/// # Errors
/// When ctnetlink cannot be reached (no `nf_conntrack_netlink`, no permission).
pub fn delete_where(doomed: impl Fn(&Entry) -> bool) -> io::Result<Vec<Entry>> {
    let mut deleted = Vec::new();
    for entry in dump()?.into_iter().filter(|e| doomed(e)) {
        if delete(&entry)? {
            deleted.push(entry);
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::process::Command;

    fn conntrack(args: &[&str]) -> String {
        let out = Command::new("conntrack")
            .args(args)
            .output()
            .expect("conntrack");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn insert(src: &str, dst: &str, sport: &str) {
        let out = Command::new("conntrack")
            .args([
                "-I", "-s", src, "-d", dst, "-p", "tcp", "--sport", sport, "--dport", "80",
            ])
            .args(["--state", "ESTABLISHED", "-t", "600", "-u", "SEEN_REPLY"])
            .output()
            .expect("conntrack -I");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn flushes_exactly_the_clients_entries_in_both_families() {
        let scratch = netlab::Scratch::new().expect("scratch namespace (tests run as root)");
        scratch.run(|| {
            insert("10.0.0.2", "100.64.0.1", "1000");
            insert("10.0.0.2", "100.64.0.1", "1001");
            insert("fd00::2", "fd00::1", "1002");
            insert("10.0.0.9", "100.64.0.1", "1003");
            let sources: HashSet<IpAddr> =
                ["10.0.0.2".parse().unwrap(), "fd00::2".parse().unwrap()].into();
            let flush = || {
                delete_where(|e| sources.contains(&e.orig.src))
                    .expect("flush")
                    .len()
            };
            assert_eq!(flush(), 3);
            let left = conntrack(&["-L"]) + &conntrack(&["-L", "-f", "ipv6"]);
            assert!(left.contains("src=10.0.0.9"), "{left}");
            assert!(!left.contains("src=10.0.0.2"), "{left}");
            assert!(!left.contains("src=fd00::2"), "{left}");
            assert_eq!(flush(), 0, "flushed again: nothing left");
        });
    }

    #[test]
    fn events_get_and_refresh_follow_an_entry_with_nat() {
        let scratch = netlab::Scratch::new().expect("scratch namespace (tests run as root)");
        scratch.run(|| {
            let mut events = Events::subscribe().expect("subscribe");
            // A masqueraded connection: the reply comes back to the router's public address.
            let out = Command::new("conntrack")
                .args([
                    "-I",
                    "-p",
                    "tcp",
                    "-s",
                    "192.168.1.100",
                    "-d",
                    "198.51.100.50",
                ])
                .args(["--sport", "40000", "--dport", "443"])
                .args(["-r", "198.51.100.50", "-q", "100.64.0.2"])
                .args(["--reply-port-src", "443", "--reply-port-dst", "50000"])
                .args([
                    "--state",
                    "ESTABLISHED",
                    "-t",
                    "600",
                    "-u",
                    "SEEN_REPLY,ASSURED",
                ])
                .output()
                .expect("conntrack -I");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let orig = Tuple {
                src: "192.168.1.100".parse().unwrap(),
                dst: "198.51.100.50".parse().unwrap(),
                proto: 6,
                sport: 40000,
                dport: 443,
            };
            let reply = Tuple {
                src: "198.51.100.50".parse().unwrap(),
                dst: "100.64.0.2".parse().unwrap(),
                proto: 6,
                sport: 443,
                dport: 50000,
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let changed = loop {
                let got = events.receive().expect("receive");
                if let Some(Event::Changed(e)) =
                    got.into_iter().find(|e| matches!(e, Event::Changed(_)))
                {
                    break e;
                }
                assert!(std::time::Instant::now() < deadline, "no event");
                std::thread::sleep(std::time::Duration::from_millis(20));
            };
            assert_eq!((changed.orig, changed.reply), (orig, reply));
            assert_eq!(changed.tcp_state, Some(TCP_ESTABLISHED));

            let by_orig = get(&orig)
                .unwrap()
                .expect("found by the original direction");
            let by_reply = get(&reply).unwrap().expect("found by the reply direction");
            assert_eq!(by_orig, by_reply);
            assert!(get(&Tuple { sport: 1, ..orig }).unwrap().is_none());

            refresh(&orig, 5000).expect("refresh");
            let t = get(&orig).unwrap().unwrap().timeout.unwrap();
            assert!((4000..=5000).contains(&t), "timeout {t}");
            assert_eq!(dump().unwrap().len(), 1);

            delete_where(|e| e.orig.src == orig.src).unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let got = events.receive().expect("receive");
                if got
                    .iter()
                    .any(|e| matches!(e, Event::Destroyed(d) if d.orig == orig))
                {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "no destroy event");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            refresh(&orig, 10).expect("a vanished entry is not an error");
        });
    }
}
