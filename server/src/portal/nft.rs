//! The portal's nftables table, programmed over netlink in one transaction
//! ([`crate::kernel::nftables`]; design.md: one `inet` table owned by Portico). In nft's own syntax, for `interface br-lan`, portal port 8080, admin port 80 and
//! a walled garden of 10.9.0.0/16:
//!
//! ```text
//! table inet portico_portal {
//!   set allowed { type ether_addr; flags timeout; }      # element timeout = time left
//!   chain source { type filter hook prerouting priority raw - 10; iifname "br-lan" jump source_check }
//!   chain source_check {                                 # reverse path: no forged sources
//!     ip saddr 0.0.0.0 udp dport 67 return               # DHCP before an address
//!     ip6 saddr :: return                                # duplicate address detection, MLD
//!     ip6 saddr fe80::/10 return                         # neighbour discovery, DHCPv6
//!     fib saddr . iif oif missing drop
//!   }
//!   chain prerouting { type nat hook prerouting priority dstnat - 10; iifname "br-lan" jump to_portal }
//!   chain to_portal {
//!     ether saddr @allowed return
//!     ip daddr 10.9.0.0/16 return
//!     fib daddr type local return                       # never the router's own addresses
//!     meta l4proto tcp tcp dport 80 redirect to :8080
//!   }
//!   chain forward { type filter hook forward priority filter - 10; iifname "br-lan" jump gate }
//!   chain gate {                                         # every packet, so expiry ends flows
//!     ether saddr @allowed ct mark set @ll,64,32 return  # the device's stamp (low MAC bytes)
//!     ip daddr 10.9.0.0/16 return
//!     meta l4proto tcp reject with tcp reset
//!     reject with icmpx admin-prohibited
//!   }
//!   chain input { type filter hook input priority filter - 10; iifname "br-lan" jump gate_in }
//!   chain gate_in {
//!     tcp dport 4790 reject with tcp reset               # closed ports (the mesh's sync on a
//!     udp dport 4790 drop                                #   captive interface), even to guests in
//!     ether saddr @allowed return
//!     udp dport { 53, 67, 547 } return; tcp dport { 53, 8080, 80 } return
//!     meta l4proto { icmp, ipv6-icmp } return           # ping, neighbour discovery, RS
//!     meta l4proto tcp reject with tcp reset
//!     reject with icmpx admin-prohibited
//!   }
//! }
//! ```
//! Only this table is touched: fw4 (or the dev firewall) keeps its own. The conntrack mark of
//! connections from captive interfaces is the portal's: it says which device's they are
//! ([`device_mark`]), so they can be cut without asking the neighbour table.

use std::ffi::{CStr, CString};
use std::io;
use std::time::Duration;

use nix::libc;

use crate::kernel::nftables::{
    self, Base, Batch, ChainType, Element, Expr, Hook, MetaKey, Reject, SET_TIMEOUT, Verdict,
};

/// The table's name.
pub const TABLE: &CStr = c"portico_portal";
const SET: &CStr = c"allowed";
const SET_ID: u32 = 1;
/// nft's `ether_addr` data type and its length.
const TYPE_ETHER_ADDR: u32 = 9;
/// Elements per NEWSETELEM message (each message must stay under 64 KiB).
const ELEMENTS_PER_MESSAGE: usize = 1000;

/// What the table is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Devices whose clients are captive (`br-lan`).
    pub interfaces: Vec<String>,
    pub portal_port: u16,
    pub admin_port: u16,
    /// Destinations reachable before authorisation: address and prefix length.
    pub walled_garden: Vec<ipnet::IpNet>,
    /// This router's ports no device on a captive interface reaches, with access or not (the
    /// mesh's sync when the mesh interface is a captive one).
    pub closed: Vec<u16>,
}

/// One authorised device: its MAC address and how long it may stay (`None`: permanent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub mac: [u8; 6],
    pub timeout: Option<Duration>,
}

/// The conntrack mark the table stamps on an authorised device's connections: the MAC's low
/// four bytes, as the kernel reads them from the frame into the mark.
pub fn device_mark(mac: &[u8; 6]) -> u32 {
    u32::from_ne_bytes([mac[2], mac[3], mac[4], mac[5]])
}

/// `aa:bb:cc:dd:ee:ff` as bytes.
pub fn mac_bytes(mac: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = mac.split([':', '-']);
    for byte in &mut out {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Builds the whole table afresh in one transaction (start, reload, settings changed): the
/// old table, if any, goes in the same batch, so there is no moment without the rules.
///
/// # Errors
/// When the kernel refuses the batch (no nf_tables, a bad interface name, no permission).
pub fn install(layout: &Layout, allowed: &[Allowed]) -> io::Result<()> {
    let mut batch = Batch::new(TABLE);
    batch.add_table().delete_table().add_table();
    batch.add_set(SET, SET_ID, TYPE_ETHER_ADDR, 6, SET_TIMEOUT);
    for chain in [c"source_check", c"to_portal", c"gate", c"gate_in"] {
        batch.add_chain(chain);
    }
    batch
        .add_base_chain(c"source", Hook::PreRouting, ChainType::Filter, -310)
        .add_base_chain(c"prerouting", Hook::PreRouting, ChainType::Nat, -110)
        .add_base_chain(c"forward", Hook::Forward, ChainType::Filter, -10)
        .add_base_chain(c"input", Hook::Input, ChainType::Filter, -10);
    for rule in source_rules() {
        batch.add_rule(c"source_check", &rule);
    }
    // to_portal
    batch.add_rule(c"to_portal", &allowed_returns());
    for rule in garden_returns(&layout.walled_garden) {
        batch.add_rule(c"to_portal", &rule);
    }
    batch.add_rule(
        c"to_portal",
        &[
            Fib::daddr_type(),
            Expr::CmpEq(u32::from(libc::RTN_LOCAL).to_ne_bytes().to_vec()),
            Expr::Verdict(Verdict::Return),
        ],
    );
    let mut redirect = port_match(libc::IPPROTO_TCP, 80);
    redirect.extend([
        Expr::Load(layout.portal_port.to_be_bytes().to_vec()),
        Expr::Redirect,
    ]);
    batch.add_rule(c"to_portal", &redirect);
    // gate: an authorised device's connections carry its stamp
    batch.add_rule(c"gate", &allowed_stamps());
    for rule in garden_returns(&layout.walled_garden) {
        batch.add_rule(c"gate", &rule);
    }
    for rule in rejections() {
        batch.add_rule(c"gate", &rule);
    }
    // gate_in
    for port in &layout.closed {
        let mut tcp = port_match(libc::IPPROTO_TCP, *port);
        tcp.push(Expr::Reject(Reject::TcpReset));
        batch.add_rule(c"gate_in", &tcp);
        let mut udp = port_match(libc::IPPROTO_UDP, *port);
        udp.push(Expr::Verdict(Verdict::Drop));
        batch.add_rule(c"gate_in", &udp);
    }
    batch.add_rule(c"gate_in", &allowed_returns());
    for (proto, port) in [
        (libc::IPPROTO_UDP, 53),
        (libc::IPPROTO_UDP, 67),
        (libc::IPPROTO_UDP, 547),
        (libc::IPPROTO_TCP, 53),
        (libc::IPPROTO_TCP, layout.portal_port),
        (libc::IPPROTO_TCP, layout.admin_port),
    ] {
        let mut rule = port_match(proto, port);
        rule.push(Expr::Verdict(Verdict::Return));
        batch.add_rule(c"gate_in", &rule);
    }
    for proto in [libc::IPPROTO_ICMP, libc::IPPROTO_ICMPV6] {
        batch.add_rule(
            c"gate_in",
            &[
                Expr::Meta(MetaKey::L4Proto),
                Expr::CmpEq(vec![proto_byte(proto)]),
                Expr::Verdict(Verdict::Return),
            ],
        );
    }
    for rule in rejections() {
        batch.add_rule(c"gate_in", &rule);
    }
    // The hooks jump for each captive device.
    for name in &layout.interfaces {
        let name = CString::new(name.as_str())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name"))?;
        for (chain, target) in [
            (c"source", c"source_check"),
            (c"prerouting", c"to_portal"),
            (c"forward", c"gate"),
            (c"input", c"gate_in"),
        ] {
            batch.add_rule(
                chain,
                &[
                    Expr::Meta(MetaKey::IifName),
                    Expr::CmpEq(name.as_bytes_with_nul().to_vec()),
                    Expr::Verdict(Verdict::Jump(target)),
                ],
            );
        }
    }
    add_elements(&mut batch, allowed);
    batch.send()
}

/// The elements, [`ELEMENTS_PER_MESSAGE`] to a message.
fn add_elements(batch: &mut Batch, allowed: &[Allowed]) {
    for chunk in allowed.chunks(ELEMENTS_PER_MESSAGE) {
        let elements: Vec<Element<'_>> = chunk
            .iter()
            .map(|a| Element {
                key: &a.mac,
                timeout_ms: a
                    .timeout
                    .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1)),
            })
            .collect();
        batch.add_elements(SET, &elements);
    }
}

/// Replaces the set's elements with `allowed` in one transaction (a flush and the new
/// elements), so each element's timeout is the device's time left now.
///
/// # Errors
/// When the table does not exist or the kernel refuses the batch.
pub fn set_allowed(allowed: &[Allowed]) -> io::Result<()> {
    let mut batch = Batch::new(TABLE);
    batch.flush_set(SET);
    add_elements(&mut batch, allowed);
    batch.send()
}

/// Whether the table exists.
///
/// # Errors
/// When nf_tables cannot be asked.
pub fn table_exists() -> io::Result<bool> {
    nftables::table_exists(TABLE)
}

/// The MAC addresses in the kernel's `allowed` set now (what is enforced, whoever wrote it).
///
/// # Errors
/// When the set does not exist or nf_tables cannot be asked.
pub fn allowed_elements() -> io::Result<std::collections::HashSet<[u8; 6]>> {
    Ok(nftables::set_keys(TABLE, SET)?
        .iter()
        .filter_map(|key| <[u8; 6]>::try_from(key.as_slice()).ok())
        .collect())
}

/// Whether an nftables event message is about the elements of the portal's table's sets.
pub fn is_our_set_change(kind: u16, body: &[u8]) -> bool {
    nftables::is_set_change_in(kind, body, TABLE)
}

/// Deletes the table (the portal was switched off).
///
/// # Errors
/// When the kernel refuses; a missing table is not an error.
pub fn remove() -> io::Result<()> {
    let mut batch = Batch::new(TABLE);
    batch.add_table().delete_table();
    batch.send()
}

fn proto_byte(proto: i32) -> u8 {
    u8::try_from(proto).unwrap_or(u8::MAX)
}

/// The link layer is Ethernet (nft's own dependency for `ether saddr`), and the source MAC
/// is in the `allowed` set.
fn allowed_source() -> [Expr; 4] {
    [
        Expr::Meta(MetaKey::IifType),
        Expr::CmpEq(libc::ARPHRD_ETHER.to_ne_bytes().to_vec()),
        Expr::Payload {
            base: Base::Link,
            offset: 6,
            len: 6,
        },
        Expr::Lookup {
            set: SET,
            set_id: SET_ID,
        },
    ]
}

/// `ether saddr @allowed return`
fn allowed_returns() -> Vec<Expr> {
    let mut rule = allowed_source().to_vec();
    rule.push(Expr::Verdict(Verdict::Return));
    rule
}

/// `ether saddr @allowed ct mark set @ll,64,32 return`: link-layer bytes 8..12, the low four
/// bytes of the source MAC.
fn allowed_stamps() -> Vec<Expr> {
    let mut rule = allowed_source().to_vec();
    rule.extend([
        Expr::Payload {
            base: Base::Link,
            offset: 8,
            len: 4,
        },
        Expr::SetCtMark,
        Expr::Verdict(Verdict::Return),
    ]);
    rule
}

/// `ip saddr`/`ip daddr`, `ip6 saddr`/`ip6 daddr` (the family checked first, as nft does).
fn address(v6: bool, destination: bool) -> [Expr; 3] {
    let (family, offset, len) = match (v6, destination) {
        (false, false) => (libc::NFPROTO_IPV4, 12, 4),
        (false, true) => (libc::NFPROTO_IPV4, 16, 4),
        (true, false) => (libc::NFPROTO_IPV6, 8, 16),
        (true, true) => (libc::NFPROTO_IPV6, 24, 16),
    };
    [
        Expr::Meta(MetaKey::NfProto),
        Expr::CmpEq(vec![proto_byte(family)]),
        Expr::Payload {
            base: Base::Network,
            offset,
            len,
        },
    ]
}

/// The reverse-path check: a packet from a captive device must come from an address the
/// router routes to that interface; DHCP's `0.0.0.0`, IPv6's `::` and link-local sources (ND,
/// DHCPv6) are let through.
fn source_rules() -> Vec<Vec<Expr>> {
    let mut rules = Vec::new();
    // ip saddr 0.0.0.0 udp dport 67 return
    let mut rule = address(false, false).to_vec();
    rule.push(Expr::CmpEq(vec![0; 4]));
    rule.extend(port_match(libc::IPPROTO_UDP, 67));
    rule.push(Expr::Verdict(Verdict::Return));
    rules.push(rule);
    // ip6 saddr :: return; ip6 saddr fe80::/10 return
    for (prefix, len) in [
        ([0u8; 16], 128u8),
        ([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 10),
    ] {
        let mut rule = address(true, false).to_vec();
        rule.extend([
            Expr::And(prefix_mask(16, len)),
            Expr::CmpEq(prefix.to_vec()),
            Expr::Verdict(Verdict::Return),
        ]);
        rules.push(rule);
    }
    // fib saddr . iif oif missing drop
    rules.push(vec![
        Fib::saddr_iif_oif(),
        Expr::CmpEq(0u32.to_ne_bytes().to_vec()),
        Expr::Verdict(Verdict::Drop),
    ]);
    rules
}

/// `ip daddr NET return` / `ip6 daddr NET return` for each walled-garden entry.
fn garden_returns(garden: &[ipnet::IpNet]) -> Vec<Vec<Expr>> {
    garden
        .iter()
        .map(|net| {
            let (network, mask) = match net {
                ipnet::IpNet::V4(n) => {
                    (n.network().octets().to_vec(), n.netmask().octets().to_vec())
                }
                ipnet::IpNet::V6(n) => {
                    (n.network().octets().to_vec(), n.netmask().octets().to_vec())
                }
            };
            let mut rule = address(net.addr().is_ipv6(), true).to_vec();
            rule.extend([
                Expr::And(mask),
                Expr::CmpEq(network),
                Expr::Verdict(Verdict::Return),
            ]);
            rule
        })
        .collect()
}

fn prefix_mask(len: usize, prefix: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let bits = usize::from(prefix).saturating_sub(i * 8).min(8);
            if bits == 0 { 0 } else { 0xffu8 << (8 - bits) }
        })
        .collect()
}

/// `meta l4proto P th dport N` (the caller adds the verdict).
fn port_match(proto: i32, port: u16) -> Vec<Expr> {
    vec![
        Expr::Meta(MetaKey::L4Proto),
        Expr::CmpEq(vec![proto_byte(proto)]),
        Expr::Payload {
            base: Base::Transport,
            offset: 2,
            len: 2,
        },
        Expr::CmpEq(port.to_be_bytes().to_vec()),
    ]
}

/// `meta l4proto tcp reject with tcp reset` then `reject with icmpx admin-prohibited`.
fn rejections() -> [Vec<Expr>; 2] {
    [
        vec![
            Expr::Meta(MetaKey::L4Proto),
            Expr::CmpEq(vec![proto_byte(libc::IPPROTO_TCP)]),
            Expr::Reject(Reject::TcpReset),
        ],
        vec![Expr::Reject(Reject::IcmpxAdminProhibited)],
    ]
}

/// `fib` lookups into register 1: `fib daddr type` and `fib saddr . iif oif`.
struct Fib;

impl Fib {
    fn daddr_type() -> Expr {
        Expr::Fib {
            flags: FIB_F_DADDR,
            result: FIB_RESULT_ADDRTYPE,
        }
    }

    fn saddr_iif_oif() -> Expr {
        Expr::Fib {
            flags: FIB_F_SADDR | FIB_F_IIF,
            result: FIB_RESULT_OIF,
        }
    }
}

/// `NFTA_FIB_F_*` and `NFT_FIB_RESULT_*` (linux/netfilter/nf_tables.h).
const FIB_F_SADDR: u32 = 1 << 0;
const FIB_F_DADDR: u32 = 1 << 1;
const FIB_F_IIF: u32 = 1 << 3;
const FIB_RESULT_OIF: u32 = 1;
const FIB_RESULT_ADDRTYPE: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_macs() {
        assert_eq!(prefix_mask(4, 16), vec![255, 255, 0, 0]);
        assert_eq!(prefix_mask(4, 20), vec![255, 255, 0xf0, 0]);
        assert_eq!(prefix_mask(4, 32), vec![255; 4]);
        assert_eq!(prefix_mask(16, 0), vec![0; 16]);
        assert_eq!(mac_bytes("02:00:00:0a:0B:ff"), Some([2, 0, 0, 10, 11, 255]));
        assert_eq!(mac_bytes("02:00:00:0a:0b"), None);
        assert_eq!(mac_bytes("02:00:00:0a:0b:ff:00"), None);
    }
}

/// Kernel tests: each runs on a thread inside a scratch namespace of its own, so the table
/// never exists in the host's namespace; `nft` started from that thread sees it.
#[cfg(test)]
mod kernel_tests {
    use super::*;
    use std::process::Command;

    fn in_own_namespace<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        netlab::Scratch::new()
            .expect("a scratch namespace (tests run as root)")
            .run(f)
    }

    fn nft_list() -> String {
        let out = Command::new("nft")
            .args(["list", "table", "inet", "portico_portal"])
            .output()
            .expect("run nft");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn layout() -> Layout {
        Layout {
            interfaces: vec!["br-lan".into()],
            portal_port: 8080,
            admin_port: 80,
            walled_garden: vec![
                "10.9.0.0/16".parse().unwrap(),
                "fd00:1::/32".parse().unwrap(),
            ],
            closed: vec![4790],
        }
    }

    #[test]
    fn the_table_as_nft_reads_it() {
        let listed = in_own_namespace(|| {
            let allowed = [
                Allowed {
                    mac: [2, 0, 0, 0, 0, 1],
                    timeout: Some(Duration::from_secs(3600)),
                },
                Allowed {
                    mac: [2, 0, 0, 0, 0, 2],
                    timeout: None,
                },
            ];
            install(&layout(), &allowed).expect("install");
            // Installing again replaces it (one table, not two).
            install(&layout(), &allowed).expect("install again");
            nft_list()
        });
        // Element timeouts count down while nft lists them: the snapshot leaves their value out.
        let listed = regex_lite_timeouts(&listed);
        insta::assert_snapshot!(listed);
    }

    #[test]
    fn set_allowed_replaces_the_elements_and_ten_thousand_fit() {
        in_own_namespace(|| {
            install(&layout(), &[]).expect("install");
            let many: Vec<Allowed> = (0..10_000u32)
                .map(|i| {
                    let b = i.to_be_bytes();
                    Allowed {
                        mac: [2, 0xaa, b[0], b[1], b[2], b[3]],
                        timeout: Some(Duration::from_secs(600)),
                    }
                })
                .collect();
            set_allowed(&many[..3]).expect("3 elements");
            set_allowed(&many[..1500]).expect("1500 elements");
            set_allowed(&many).expect("10 000 elements");
            let count = nft_list().matches("02:aa:").count();
            assert_eq!(count, 10_000);
            assert_eq!(
                allowed_elements().unwrap().len(),
                10_000,
                "read back over netlink"
            );
            set_allowed(&many[..1]).expect("one element");
            assert_eq!(nft_list().matches("02:aa:").count(), 1);
            assert_eq!(
                allowed_elements().unwrap(),
                std::collections::HashSet::from([many[0].mac])
            );
            assert!(table_exists().unwrap());
            remove().expect("remove");
            assert!(!table_exists().unwrap());
            remove().expect("removing a missing table is fine");
        });
    }

    /// `expires 59m59s` → `expires …`
    fn regex_lite_timeouts(text: &str) -> String {
        text.split(" expires ")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part.to_owned()
                } else {
                    let end = part.find([',', ' ', '\n', '}']).unwrap_or(part.len());
                    format!(" expires …{}", &part[end..])
                }
            })
            .collect()
    }
}
