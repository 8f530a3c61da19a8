//! dnsmasq's lease file (`/tmp/dhcp.leases` on OpenWrt): one lease a line,
//! `<expiry> <mac> <ip> <hostname|*> <client-id|*>`, expiry in Unix seconds (0: never).
//! Lines that do not parse are skipped; the file and the number of leases are bounded.

use std::io::Read as _;
use std::net::IpAddr;
use std::path::Path;

/// The most of a lease file read (dnsmasq's default limit is 1000 leases, ~100 bytes each).
const MAX_BYTES: u64 = 1024 * 1024;
/// The most leases kept.
pub const MAX_LEASES: usize = 4096;

/// One DHCP lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Unix seconds; `None` for an infinite lease.
    pub expires: Option<u64>,
    /// Lower case with colons.
    pub mac: String,
    pub ip: IpAddr,
    pub hostname: Option<String>,
}

/// The leases in a lease file's text.
pub fn parse(text: &str) -> Vec<Lease> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let expiry: u64 = fields.next()?.parse().ok()?;
            let mac = fields.next()?.to_ascii_lowercase();
            let octets = mac
                .split(':')
                .filter(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()))
                .count();
            if octets != 6 || mac.len() != 17 {
                return None;
            }
            let ip = fields.next()?.parse().ok()?;
            let hostname = fields
                .next()
                .filter(|h| *h != "*" && h.len() <= 63)
                .map(str::to_owned);
            Some(Lease {
                expires: (expiry != 0).then_some(expiry),
                mac,
                ip,
                hostname,
            })
        })
        .take(MAX_LEASES)
        .collect()
}

/// The leases in the file at `path` (none when it is missing or unreadable).
pub fn read(path: &Path) -> Vec<Lease> {
    let mut bytes = Vec::new();
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    if file.take(MAX_BYTES).read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    parse(&String::from_utf8_lossy(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_parse_and_garbage_is_skipped() {
        let text = "1733560000 00:D0:EF:12:34:56 192.168.1.120 laptop 01:00:d0:ef:12:34:56\n\
                    0 02:00:00:00:00:07 192.168.1.7 * *\n\
                    garbage line\n\
                    1733560000 zz:zz:zz:zz:zz:zz 192.168.1.9 x *\n\
                    1733560000 00:11:22:33:44:55 not-an-ip x *\n\
                    1733560000 00:11:22:33:44:56 fd00::9 phone *\n\n";
        let leases = parse(text);
        assert_eq!(leases.len(), 3, "{leases:?}");
        assert_eq!(leases[0].mac, "00:d0:ef:12:34:56");
        assert_eq!(leases[0].hostname.as_deref(), Some("laptop"));
        assert_eq!(leases[0].expires, Some(1_733_560_000));
        assert_eq!(
            (leases[1].expires, leases[1].hostname.clone()),
            (None, None)
        );
        assert!(leases[2].ip.is_ipv6());
    }

    #[test]
    fn a_huge_file_is_bounded() {
        let line = "1733560000 00:d0:ef:12:34:56 192.168.1.120 laptop *\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dhcp.leases");
        std::fs::write(&path, line.repeat(40_000)).unwrap();
        assert_eq!(read(&path).len(), MAX_LEASES);
        assert_eq!(read(&dir.path().join("missing")), Vec::new());
    }
}
