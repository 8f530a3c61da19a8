//! Connection tracking over ctnetlink: the one place Portico reads and deletes conntrack
//! entries (design.md, "Kernel plumbing"). The portal flushes a client's entries when it is
//! authorised or expires; the offload will subscribe to events here.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nix::sys::socket::SockProtocol;

use super::netlink::{self, Socket};

const SUBSYS_CTNETLINK: u16 = 1;
const MSG_GET: u16 = 1;
const MSG_DELETE: u16 = 2;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_IP: u16 = 1;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V6_SRC: u16 = 3;

/// The source address of an entry's original direction.
fn original_source(body: &[u8]) -> Option<IpAddr> {
    let attrs = body.get(4..)?;
    let tuple = netlink::attr(attrs, CTA_TUPLE_ORIG)?;
    let ip = netlink::attr(tuple, CTA_TUPLE_IP)?;
    if let Some(v4) = netlink::attr(ip, CTA_IP_V4_SRC) {
        return <[u8; 4]>::try_from(v4)
            .ok()
            .map(|b| IpAddr::V4(Ipv4Addr::from(b)));
    }
    netlink::attr(ip, CTA_IP_V6_SRC)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
}

/// Deletes every conntrack entry whose original direction comes from one of `sources`
/// (what `conntrack -D -s ADDR` does: a dump, then a delete per matching tuple). Returns how
/// many were deleted; entries that vanished meanwhile are not errors.
///
/// # Errors
/// When ctnetlink cannot be reached (no `nf_conntrack_netlink`, no permission).
pub fn flush_sources<S: std::hash::BuildHasher>(sources: &HashSet<IpAddr, S>) -> io::Result<usize> {
    if sources.is_empty() {
        return Ok(0);
    }
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    // nfgenmsg: family AF_UNSPEC (every family), version 0, resource id 0.
    let entries = socket.dump(SUBSYS_CTNETLINK << 8 | MSG_GET, &[0, 0, 0, 0])?;
    let mut deleted = 0;
    for entry in entries {
        if !original_source(&entry.body).is_some_and(|ip| sources.contains(&ip)) {
            continue;
        }
        let Some(attrs) = entry.body.get(4..) else {
            continue;
        };
        let mut request = vec![entry.body[0], 0, 0, 0];
        for (kind, _, whole) in netlink::attrs(attrs) {
            if kind == CTA_TUPLE_ORIG || kind == CTA_ZONE {
                request.extend_from_slice(whole);
                request.resize(request.len().next_multiple_of(4), 0);
            }
        }
        match socket.request(SUBSYS_CTNETLINK << 8 | MSG_DELETE, &request)? {
            0 => deleted += 1,
            errno if errno == nix::libc::ENOENT => {}
            errno => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
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
            assert_eq!(flush_sources(&sources).expect("flush"), 3);
            let left = conntrack(&["-L"]) + &conntrack(&["-L", "-f", "ipv6"]);
            assert!(left.contains("src=10.0.0.9"), "{left}");
            assert!(!left.contains("src=10.0.0.2"), "{left}");
            assert!(!left.contains("src=fd00::2"), "{left}");
            assert_eq!(flush_sources(&sources).expect("flush again"), 0);
        });
    }
}
