//! The portal's nftables table, programmed with nftnl (design.md: one `inet` table owned by
//! Portico). In nft's own syntax, for `interface br-lan`, portal port 8080, admin port 80 and
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
#![allow(
    unsafe_code,
    reason = "libnftnl through nftnl-sys for what nftnl's safe API lacks: named MAC sets with element timeouts, lookup, fib and redirect expressions"
)]
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "bindgen gives libnftnl's small attribute and message constants as u32/i32; its API takes u16"
)]

use std::ffi::{CStr, CString};
use std::io;
use std::net::IpAddr;
use std::ptr::NonNull;
use std::time::Duration;

use nftnl::expr::{
    Bitwise, Cmp, CmpOp, Expression, IcmpCode, Immediate, InterfaceName, LLHeaderField, Meta,
    NetworkHeaderField, Payload, Register, RejectionType, TransportHeaderField, Verdict,
};
use nftnl::nftnl_sys::{self as sys, libc};
use nix::sys::socket::SockProtocol;

use crate::kernel::netlink::Socket;
use nftnl::{Batch, Chain, ChainType, Hook, MsgType, NlMsg, Policy, ProtoFamily, Rule, Table};

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
    pub walled_garden: Vec<(IpAddr, u8)>,
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
    let table = Table::new(TABLE, ProtoFamily::Inet);
    let mut batch = Batch::new();
    batch.add(&table, MsgType::Add);
    batch.add(&table, MsgType::Del);
    batch.add(&table, MsgType::Add);
    let set = MacSet::new(&table, &[]);
    batch.add(&set, MsgType::Add);

    let source_check = regular_chain(c"source_check", &table);
    let source = base_chain(c"source", &table, Hook::PreRouting, ChainType::Filter, -310);
    let to_portal = regular_chain(c"to_portal", &table);
    let gate = regular_chain(c"gate", &table);
    let gate_in = regular_chain(c"gate_in", &table);
    let prerouting = base_chain(
        c"prerouting",
        &table,
        Hook::PreRouting,
        ChainType::Nat,
        -110,
    );
    let forward = base_chain(c"forward", &table, Hook::Forward, ChainType::Filter, -10);
    let input = base_chain(c"input", &table, Hook::In, ChainType::Filter, -10);
    for chain in [
        &source_check,
        &to_portal,
        &gate,
        &gate_in,
        &source,
        &prerouting,
        &forward,
        &input,
    ] {
        batch.add(chain, MsgType::Add);
    }
    let mut rules = source_rules(&source_check);
    // to_portal
    rules.push(allowed_returns(&to_portal));
    rules.extend(garden_returns(&to_portal, &layout.walled_garden));
    let mut rule = Rule::new(&to_portal);
    rule.add_expr(&Fib::daddr_type());
    rule.add_expr(&Cmp::new(CmpOp::Eq, u32::from(libc::RTN_LOCAL)));
    rule.add_expr(&Verdict::Return);
    rules.push(rule);
    let mut rule = port_rule(&to_portal, libc::IPPROTO_TCP, 80);
    rule.add_expr(&Immediate::new(
        layout.portal_port.to_be_bytes(),
        Register::Reg1,
    ));
    rule.add_expr(&Redirect);
    rules.push(rule);
    // gate: an authorised device's connections carry its stamp
    rules.push(allowed_stamps(&gate));
    rules.extend(garden_returns(&gate, &layout.walled_garden));
    rules.extend(rejections(&gate));
    // gate_in
    rules.push(allowed_returns(&gate_in));
    for (proto, port) in [
        (libc::IPPROTO_UDP, 53),
        (libc::IPPROTO_UDP, 67),
        (libc::IPPROTO_UDP, 547),
        (libc::IPPROTO_TCP, 53),
        (libc::IPPROTO_TCP, layout.portal_port),
        (libc::IPPROTO_TCP, layout.admin_port),
    ] {
        let mut rule = port_rule(&gate_in, proto, port);
        rule.add_expr(&Verdict::Return);
        rules.push(rule);
    }
    for proto in [libc::IPPROTO_ICMP, libc::IPPROTO_ICMPV6] {
        let mut rule = Rule::new(&gate_in);
        rule.add_expr(&Meta::L4Proto);
        rule.add_expr(&Cmp::new(CmpOp::Eq, proto_byte(proto)));
        rule.add_expr(&Verdict::Return);
        rules.push(rule);
    }
    rules.extend(rejections(&gate_in));
    // The hooks jump for each captive device.
    for name in &layout.interfaces {
        let name = CString::new(name.as_str())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name"))?;
        for (chain, target) in [
            (&source, c"source_check"),
            (&prerouting, c"to_portal"),
            (&forward, c"gate"),
            (&input, c"gate_in"),
        ] {
            let mut rule = Rule::new(chain);
            rule.add_expr(&Meta::IifName);
            rule.add_expr(&Cmp::new(CmpOp::Eq, InterfaceName::Exact(name.clone())));
            rule.add_expr(&Verdict::Jump {
                chain: target.to_owned(),
            });
            rules.push(rule);
        }
    }
    for rule in &rules {
        batch.add(rule, MsgType::Add);
    }
    for chunk in allowed.chunks(ELEMENTS_PER_MESSAGE) {
        batch.add(&Elements(MacSet::new(&table, chunk)), MsgType::Add);
    }
    send(batch)
}

/// Replaces the set's elements with `allowed` in one transaction (a flush and the new
/// elements), so each element's timeout is the device's time left now.
///
/// # Errors
/// When the table does not exist or the kernel refuses the batch.
pub fn set_allowed(allowed: &[Allowed]) -> io::Result<()> {
    let table = Table::new(TABLE, ProtoFamily::Inet);
    let mut batch = Batch::new();
    batch.add(&Elements(MacSet::new(&table, &[])), MsgType::Del);
    for chunk in allowed.chunks(ELEMENTS_PER_MESSAGE) {
        batch.add(&Elements(MacSet::new(&table, chunk)), MsgType::Add);
    }
    send(batch)
}

/// Whether the table exists (`NFT_MSG_GETTABLE` by name).
///
/// # Errors
/// When nf_tables cannot be asked.
pub fn table_exists() -> io::Result<bool> {
    const NFNL_SUBSYS_NFTABLES: u16 = 10;
    const NFTA_TABLE_NAME: u16 = 1;
    let mut request = vec![ProtoFamily::Inet as u8, 0, 0, 0];
    crate::kernel::netlink::put_attr(&mut request, NFTA_TABLE_NAME, TABLE.to_bytes_with_nul());
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    let kind = NFNL_SUBSYS_NFTABLES << 8 | libc::NFT_MSG_GETTABLE as u16;
    match socket.request(kind, &request)? {
        0 => Ok(true),
        errno if errno == libc::ENOENT => Ok(false),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// `NFNL_SUBSYS_NFTABLES`, and the message types of set elements.
const SUBSYS_NFTABLES: u16 = 10;
const MSG_NEWSETELEM: u16 = 12;
const MSG_GETSETELEM: u16 = 13;
const MSG_DELSETELEM: u16 = 14;
/// `NFNLGRP_NFTABLES` as a subscription mask (group 7).
pub const GROUP_NFTABLES: u32 = 1 << 6;

/// The MAC addresses in the kernel's `allowed` set now (what is enforced, whoever wrote it).
///
/// # Errors
/// When the set does not exist or nf_tables cannot be asked.
pub fn allowed_elements() -> io::Result<std::collections::HashSet<[u8; 6]>> {
    const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
    const NFTA_SET_ELEM_LIST_SET: u16 = 2;
    const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
    const NFTA_LIST_ELEM: u16 = 1;
    const NFTA_SET_ELEM_KEY: u16 = 1;
    const NFTA_DATA_VALUE: u16 = 1;
    use crate::kernel::netlink::{attr, attrs, put_attr};
    let mut request = vec![ProtoFamily::Inet as u8, 0, 0, 0];
    put_attr(
        &mut request,
        NFTA_SET_ELEM_LIST_TABLE,
        TABLE.to_bytes_with_nul(),
    );
    put_attr(
        &mut request,
        NFTA_SET_ELEM_LIST_SET,
        SET.to_bytes_with_nul(),
    );
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    let messages = socket.dump(SUBSYS_NFTABLES << 8 | MSG_GETSETELEM, &request)?;
    let mut macs = std::collections::HashSet::new();
    for message in &messages {
        let Some(list) = message
            .body
            .get(4..)
            .and_then(|b| attr(b, NFTA_SET_ELEM_LIST_ELEMENTS))
        else {
            continue;
        };
        for (kind, element, _) in attrs(list) {
            let key = attr(element, NFTA_SET_ELEM_KEY).and_then(|k| attr(k, NFTA_DATA_VALUE));
            if kind == NFTA_LIST_ELEM
                && let Some(mac) = key.and_then(|k| <[u8; 6]>::try_from(k).ok())
            {
                macs.insert(mac);
            }
        }
    }
    Ok(macs)
}

/// Whether an nftables event message is about the elements of the portal's table's sets.
pub fn is_our_set_change(kind: u16, body: &[u8]) -> bool {
    const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
    kind >> 8 == SUBSYS_NFTABLES
        && matches!(kind & 0xff, MSG_NEWSETELEM | MSG_DELSETELEM)
        && body
            .get(4..)
            .and_then(|b| crate::kernel::netlink::attr(b, NFTA_SET_ELEM_LIST_TABLE))
            .is_some_and(|name| name == TABLE.to_bytes_with_nul())
}

/// Deletes the table (the portal was switched off).
///
/// # Errors
/// When the kernel refuses; a missing table is not an error.
pub fn remove() -> io::Result<()> {
    let table = Table::new(TABLE, ProtoFamily::Inet);
    let mut batch = Batch::new();
    batch.add(&table, MsgType::Add);
    batch.add(&table, MsgType::Del);
    send(batch)
}

/// Sends a batch as one transaction and waits for every acknowledgement.
fn send(batch: Batch) -> io::Result<()> {
    let batch = batch.finalize();
    // The pages of a batch are consecutive messages: one buffer, one datagram.
    let bytes: Vec<u8> = batch.iter().flatten().copied().collect();
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    socket.send_batch(&bytes, batch.sequence_numbers())
}

fn regular_chain<'a>(name: &CStr, table: &'a Table) -> Chain<'a> {
    Chain::new(name, table)
}

fn base_chain<'a>(
    name: &CStr,
    table: &'a Table,
    hook: Hook,
    kind: ChainType,
    priority: i32,
) -> Chain<'a> {
    let mut chain = Chain::new(name, table);
    chain.set_hook(hook, priority);
    chain.set_type(kind);
    chain.set_policy(Policy::Accept);
    chain
}

fn proto_byte(proto: i32) -> u8 {
    u8::try_from(proto).unwrap_or(u8::MAX)
}

/// `ether saddr @allowed return`
fn allowed_returns<'a>(chain: &'a Chain<'a>) -> Rule<'a> {
    let mut rule = Rule::new(chain);
    // The link layer is Ethernet (nft's own dependency for `ether saddr`).
    rule.add_expr(&Meta::IifType);
    rule.add_expr(&Cmp::new(CmpOp::Eq, &libc::ARPHRD_ETHER.to_ne_bytes()[..]));
    rule.add_expr(&Payload::LinkLayer(LLHeaderField::Saddr));
    rule.add_expr(&Lookup);
    rule.add_expr(&Verdict::Return);
    rule
}

/// `ether saddr @allowed ct mark set @ll,64,32 return`
fn allowed_stamps<'a>(chain: &'a Chain<'a>) -> Rule<'a> {
    let mut rule = Rule::new(chain);
    rule.add_expr(&Meta::IifType);
    rule.add_expr(&Cmp::new(CmpOp::Eq, &libc::ARPHRD_ETHER.to_ne_bytes()[..]));
    rule.add_expr(&Payload::LinkLayer(LLHeaderField::Saddr));
    rule.add_expr(&Lookup);
    // nftnl 0.9 passes these to the kernel as bytes, whatever their names say: bytes 8..12.
    rule.add_expr(&Payload::LinkLayer(LLHeaderField::Raw {
        offset_bits: 8,
        length_bits: 4,
    }));
    rule.add_expr(&nftnl::expr::Conntrack::Mark { set: true });
    rule.add_expr(&Verdict::Return);
    rule
}

/// The reverse-path check: a packet from a captive device must come from an address the
/// router routes to that interface; DHCP's `0.0.0.0`, IPv6's `::` and link-local sources (ND,
/// DHCPv6) are let through.
fn source_rules<'a>(chain: &'a Chain<'a>) -> Vec<Rule<'a>> {
    let mut rules = Vec::new();
    // ip saddr 0.0.0.0 udp dport 67 return
    let mut rule = Rule::new(chain);
    rule.add_expr(&Meta::NfProto);
    rule.add_expr(&Cmp::new(CmpOp::Eq, proto_byte(libc::NFPROTO_IPV4)));
    rule.add_expr(&Payload::Network(NetworkHeaderField::Ipv4(
        nftnl::expr::Ipv4HeaderField::Saddr,
    )));
    rule.add_expr(&Cmp::new(CmpOp::Eq, &[0u8; 4][..]));
    rule.add_expr(&Meta::L4Proto);
    rule.add_expr(&Cmp::new(CmpOp::Eq, proto_byte(libc::IPPROTO_UDP)));
    rule.add_expr(&Payload::Transport(TransportHeaderField::Udp(
        nftnl::expr::UdpHeaderField::Dport,
    )));
    rule.add_expr(&Cmp::new(CmpOp::Eq, &67u16.to_be_bytes()[..]));
    rule.add_expr(&Verdict::Return);
    rules.push(rule);
    // ip6 saddr :: return; ip6 saddr fe80::/10 return
    for (prefix, len) in [
        ([0u8; 16], 128u8),
        ([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 10),
    ] {
        let mut rule = Rule::new(chain);
        rule.add_expr(&Meta::NfProto);
        rule.add_expr(&Cmp::new(CmpOp::Eq, proto_byte(libc::NFPROTO_IPV6)));
        rule.add_expr(&Payload::Network(NetworkHeaderField::Ipv6(
            nftnl::expr::Ipv6HeaderField::Saddr,
        )));
        let mask = prefix_mask(16, len);
        rule.add_expr(&Bitwise::new(&mask[..], &[0u8; 16][..]));
        rule.add_expr(&Cmp::new(CmpOp::Eq, &prefix[..]));
        rule.add_expr(&Verdict::Return);
        rules.push(rule);
    }
    // fib saddr . iif oif missing drop
    let mut rule = Rule::new(chain);
    rule.add_expr(&Fib::saddr_iif_oif());
    rule.add_expr(&Cmp::new(CmpOp::Eq, 0u32));
    rule.add_expr(&Verdict::Drop);
    rules.push(rule);
    rules
}

/// `ip daddr NET return` / `ip6 daddr NET return` for each walled-garden entry.
fn garden_returns<'a>(chain: &'a Chain<'a>, garden: &[(IpAddr, u8)]) -> Vec<Rule<'a>> {
    garden
        .iter()
        .map(|&(address, prefix)| {
            let mut rule = Rule::new(chain);
            rule.add_expr(&Meta::NfProto);
            let (family, field, bytes) = match address {
                IpAddr::V4(a) => (
                    libc::NFPROTO_IPV4,
                    NetworkHeaderField::Ipv4(nftnl::expr::Ipv4HeaderField::Daddr),
                    a.octets().to_vec(),
                ),
                IpAddr::V6(a) => (
                    libc::NFPROTO_IPV6,
                    NetworkHeaderField::Ipv6(nftnl::expr::Ipv6HeaderField::Daddr),
                    a.octets().to_vec(),
                ),
            };
            rule.add_expr(&Cmp::new(CmpOp::Eq, proto_byte(family)));
            rule.add_expr(&Payload::Network(field));
            let mask = prefix_mask(bytes.len(), prefix);
            let network: Vec<u8> = bytes.iter().zip(&mask).map(|(b, m)| b & m).collect();
            rule.add_expr(&Bitwise::new(&mask[..], &vec![0u8; mask.len()][..]));
            rule.add_expr(&Cmp::new(CmpOp::Eq, &network[..]));
            rule.add_expr(&Verdict::Return);
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
fn port_rule<'a>(chain: &'a Chain<'a>, proto: i32, port: u16) -> Rule<'a> {
    let mut rule = Rule::new(chain);
    rule.add_expr(&Meta::L4Proto);
    rule.add_expr(&Cmp::new(CmpOp::Eq, proto_byte(proto)));
    let field = if proto == libc::IPPROTO_TCP {
        TransportHeaderField::Tcp(nftnl::expr::TcpHeaderField::Dport)
    } else {
        TransportHeaderField::Udp(nftnl::expr::UdpHeaderField::Dport)
    };
    rule.add_expr(&Payload::Transport(field));
    rule.add_expr(&Cmp::new(CmpOp::Eq, &port.to_be_bytes()[..]));
    rule
}

/// `meta l4proto tcp reject with tcp reset` then `reject with icmpx admin-prohibited`.
fn rejections<'a>(chain: &'a Chain<'a>) -> [Rule<'a>; 2] {
    let mut tcp = Rule::new(chain);
    tcp.add_expr(&Meta::L4Proto);
    tcp.add_expr(&Cmp::new(CmpOp::Eq, proto_byte(libc::IPPROTO_TCP)));
    tcp.add_expr(&Verdict::Reject(RejectionType::TcpRst));
    let mut rest = Rule::new(chain);
    rest.add_expr(&Verdict::Reject(RejectionType::Icmp(
        IcmpCode::AdminProhibited,
    )));
    [tcp, rest]
}

/// Allocates an expression; nftnl aborts on allocation failure the same way.
fn alloc_expr(name: &CStr) -> NonNull<sys::nftnl_expr> {
    // SAFETY: `name` is a valid NUL-terminated string; the result is checked for null.
    NonNull::new(unsafe { sys::nftnl_expr_alloc(name.as_ptr()) })
        .unwrap_or_else(|| std::alloc::handle_alloc_error(std::alloc::Layout::new::<u8>()))
}

/// `lookup reg 1 set allowed`
struct Lookup;

impl Expression for Lookup {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let expr = alloc_expr(c"lookup");
        // SAFETY: `expr` is a live lookup expression; these attributes are the ones libnftnl
        // defines for it and the string is copied by libnftnl.
        unsafe {
            let e = expr.as_ptr();
            sys::nftnl_expr_set_u32(
                e,
                sys::NFTNL_EXPR_LOOKUP_SREG as u16,
                Register::Reg1.to_raw(),
            );
            sys::nftnl_expr_set_str(e, sys::NFTNL_EXPR_LOOKUP_SET as u16, SET.as_ptr());
            sys::nftnl_expr_set_u32(e, sys::NFTNL_EXPR_LOOKUP_SET_ID as u16, SET_ID);
        }
        expr
    }
}

/// A `fib` lookup into register 1: `fib daddr type` or `fib saddr . iif oif`.
struct Fib {
    flags: u32,
    result: u32,
}

impl Fib {
    fn daddr_type() -> Fib {
        Fib {
            flags: FIB_F_DADDR,
            result: FIB_RESULT_ADDRTYPE,
        }
    }

    fn saddr_iif_oif() -> Fib {
        Fib {
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

impl Expression for Fib {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let expr = alloc_expr(c"fib");
        // SAFETY: `expr` is a live fib expression; plain integer attributes.
        unsafe {
            let e = expr.as_ptr();
            sys::nftnl_expr_set_u32(e, sys::NFTNL_EXPR_FIB_DREG as u16, Register::Reg1.to_raw());
            sys::nftnl_expr_set_u32(e, sys::NFTNL_EXPR_FIB_RESULT as u16, self.result);
            sys::nftnl_expr_set_u32(e, sys::NFTNL_EXPR_FIB_FLAGS as u16, self.flags);
        }
        expr
    }
}

/// `redirect to :PORT`, the port taken from register 1.
struct Redirect;

impl Expression for Redirect {
    fn to_expr(&self, _rule: &Rule) -> NonNull<sys::nftnl_expr> {
        let expr = alloc_expr(c"redir");
        // SAFETY: `expr` is a live redir expression; plain integer attributes.
        unsafe {
            let e = expr.as_ptr();
            let reg = Register::Reg1.to_raw();
            sys::nftnl_expr_set_u32(e, sys::NFTNL_EXPR_REDIR_REG_PROTO_MIN as u16, reg);
            sys::nftnl_expr_set_u32(e, sys::NFTNL_EXPR_REDIR_REG_PROTO_MAX as u16, reg);
        }
        expr
    }
}

/// The `allowed` set with some elements: as a message it creates the set; wrapped in
/// [`Elements`] it adds (or, when empty and deleted, flushes) elements.
struct MacSet {
    set: NonNull<sys::nftnl_set>,
}

// SAFETY: the set is owned exclusively by this value and libnftnl keeps no global state
// about it; moving it between threads is as safe as moving a Box.
unsafe impl Send for MacSet {}

impl MacSet {
    fn new(table: &Table, elements: &[Allowed]) -> MacSet {
        // SAFETY: allocation checked for null below.
        let set = NonNull::new(unsafe { sys::nftnl_set_alloc() })
            .unwrap_or_else(|| std::alloc::handle_alloc_error(std::alloc::Layout::new::<u8>()));
        // SAFETY: `set` is live; strings are copied by libnftnl; element keys point at 6
        // bytes that live through the call (libnftnl copies them); each element is handed to
        // the set, which frees it.
        unsafe {
            let s = set.as_ptr();
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_FAMILY as u16, ProtoFamily::Inet as u32);
            sys::nftnl_set_set_str(s, sys::NFTNL_SET_TABLE as u16, table.get_name().as_ptr());
            sys::nftnl_set_set_str(s, sys::NFTNL_SET_NAME as u16, SET.as_ptr());
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_ID as u16, SET_ID);
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_FLAGS as u16, libc::NFT_SET_TIMEOUT as u32);
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_KEY_TYPE as u16, TYPE_ETHER_ADDR);
            sys::nftnl_set_set_u32(s, sys::NFTNL_SET_KEY_LEN as u16, 6);
            for element in elements {
                let elem = sys::nftnl_set_elem_alloc();
                if elem.is_null() {
                    std::alloc::handle_alloc_error(std::alloc::Layout::new::<u8>());
                }
                sys::nftnl_set_elem_set(
                    elem,
                    sys::NFTNL_SET_ELEM_KEY as u16,
                    element.mac.as_ptr().cast(),
                    6,
                );
                if let Some(timeout) = element.timeout {
                    let ms = u64::try_from(timeout.as_millis())
                        .unwrap_or(u64::MAX)
                        .max(1);
                    sys::nftnl_set_elem_set_u64(elem, sys::NFTNL_SET_ELEM_TIMEOUT as u16, ms);
                }
                sys::nftnl_set_elem_add(s, elem);
            }
        }
        MacSet { set }
    }
}

impl Drop for MacSet {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`, freed once here (with its elements).
        unsafe { sys::nftnl_set_free(self.set.as_ptr()) };
    }
}

impl MacSet {
    /// Writes one message about this set: `NEWSET`/`DELSET`, or with `elements` its elements
    /// (`NEWSETELEM`/`DELSETELEM`).
    ///
    /// # Safety
    /// `buf` must have room for `nft_nlmsg_maxsize()` bytes.
    unsafe fn write_message(
        &self,
        buf: *mut std::ffi::c_void,
        seq: u32,
        kind: i32,
        elements: bool,
    ) {
        // SAFETY: the caller's buffer is large enough (the NlMsg contract); the set is live.
        unsafe {
            let header = sys::nftnl_nlmsg_build_hdr(
                buf.cast(),
                kind as u16,
                ProtoFamily::Inet as u16,
                (libc::NLM_F_CREATE | libc::NLM_F_ACK) as u16,
                seq,
            );
            if elements {
                sys::nftnl_set_elems_nlmsg_build_payload(header, self.set.as_ptr());
            } else {
                sys::nftnl_set_nlmsg_build_payload(header, self.set.as_ptr());
            }
        }
    }
}

// SAFETY: writes one NEWSET/DELSET message of a single set, far below the maximum size.
unsafe impl NlMsg for MacSet {
    unsafe fn write(&self, buf: *mut std::ffi::c_void, seq: u32, msg_type: MsgType) {
        let kind = match msg_type {
            MsgType::Add => libc::NFT_MSG_NEWSET,
            MsgType::Del => libc::NFT_MSG_DELSET,
        };
        // SAFETY: the trait's contract gives the buffer size `write_message` needs.
        unsafe { self.write_message(buf, seq, kind, false) }
    }
}

/// A set's elements as one NEWSETELEM (add) or DELSETELEM (delete; with no elements: flush)
/// message. At most [`ELEMENTS_PER_MESSAGE`] elements, which keeps it under 64 KiB.
struct Elements(MacSet);

// SAFETY: at most ELEMENTS_PER_MESSAGE elements of ~40 bytes: below the maximum size.
unsafe impl NlMsg for Elements {
    unsafe fn write(&self, buf: *mut std::ffi::c_void, seq: u32, msg_type: MsgType) {
        let kind = match msg_type {
            MsgType::Add => libc::NFT_MSG_NEWSETELEM,
            MsgType::Del => libc::NFT_MSG_DELSETELEM,
        };
        // SAFETY: the trait's contract gives the buffer size `write_message` needs.
        unsafe { self.0.write_message(buf, seq, kind, true) }
    }
}

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
                ("10.9.0.0".parse().unwrap(), 16),
                ("fd00:1::".parse().unwrap(), 32),
            ],
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
