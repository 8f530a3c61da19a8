//! nf_tables messages in plain Rust: the tables, chains, rules, sets and set elements the
//! portal programs, framed as one nfnetlink batch (one transaction) and sent with
//! [`Socket::send_batch`]. No C library: the router build links no libnftnl or libmnl, so
//! it cross-builds as a static binary. Message and attribute numbers are the kernel's
//! (`linux/netfilter/nf_tables.h`, `linux/netfilter/nfnetlink.h`); integers inside nf_tables
//! attributes are big-endian, register values (`cmp`/`immediate` data) are raw bytes.

use std::ffi::CStr;
use std::io;

use nix::sys::socket::SockProtocol;

use super::netlink::{NLA_F_NESTED, NLM_F_ACK, NLM_F_REQUEST, Socket};

/// `NFNL_SUBSYS_NFTABLES`: the high byte of every nf_tables message type.
pub const SUBSYS: u16 = 10;
/// `NFNLGRP_NFTABLES` as a subscription mask (group 7): every ruleset change.
pub const GROUP: u32 = 1 << 6;
/// `NFPROTO_INET`: tables for IPv4 and IPv6 at once.
pub const FAMILY_INET: u8 = 1;
/// `NFNL_MSG_BATCH_BEGIN` / `_END`.
const BATCH_BEGIN: u16 = 0x10;
const BATCH_END: u16 = 0x11;
const NLM_F_CREATE: u16 = 0x400;
/// Rules go after the chain's last rule (without it, before the first).
const NLM_F_APPEND: u16 = 0x800;

/// `NFT_MSG_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Msg {
    NewTable = 0,
    GetTable = 1,
    DelTable = 2,
    NewChain = 3,
    NewRule = 6,
    NewSet = 9,
    NewSetElem = 12,
    GetSetElem = 13,
    DelSetElem = 14,
}

impl Msg {
    /// The netlink message type: subsystem and message.
    pub fn kind(self) -> u16 {
        SUBSYS << 8 | self as u16
    }
}

/// Netfilter hooks (`NF_INET_*`).
#[derive(Clone, Copy, Debug)]
pub enum Hook {
    PreRouting = 0,
    Input = 1,
    Forward = 2,
}

/// A chain's type (`nft add chain … { type T hook … }`).
#[derive(Clone, Copy, Debug)]
pub enum ChainType {
    Filter,
    Nat,
}

/// Payload bases (`NFT_PAYLOAD_*_HEADER`).
#[derive(Clone, Copy, Debug)]
pub enum Base {
    Link = 0,
    Network = 1,
    Transport = 2,
}

/// Meta keys (`NFT_META_*`) the portal reads.
#[derive(Clone, Copy, Debug)]
pub enum MetaKey {
    IifName = 6,
    IifType = 8,
    NfProto = 15,
    L4Proto = 16,
}

/// What a rule does at its end (`NF_DROP`, `NFT_RETURN`, `NFT_JUMP chain`).
#[derive(Clone, Debug)]
pub enum Verdict {
    Drop,
    Return,
    Jump(&'static CStr),
}

/// How `reject` answers.
#[derive(Clone, Copy, Debug)]
pub enum Reject {
    /// `reject with tcp reset`
    TcpReset,
    /// `reject with icmpx admin-prohibited`
    IcmpxAdminProhibited,
}

/// One expression of a rule; each reads or writes register 1 (`NFT_REG_1`).
#[derive(Clone, Debug)]
pub enum Expr {
    /// `meta KEY` into register 1.
    Meta(MetaKey),
    /// Register 1 equals these bytes.
    CmpEq(Vec<u8>),
    /// `LEN` bytes at `OFFSET` of a header into register 1.
    Payload {
        base: Base,
        offset: u32,
        len: u32,
    },
    /// Register 1 `& mask` (the xor is zero).
    And(Vec<u8>),
    /// Register 1 is an element of the named set (`set_id` names it inside the same batch).
    Lookup {
        set: &'static CStr,
        set_id: u32,
    },
    /// `fib` into register 1: `FLAGS` say which lookup, `result` what it yields.
    Fib {
        flags: u32,
        result: u32,
    },
    /// These bytes into register 1.
    Load(Vec<u8>),
    /// `redirect to :PORT`, the port in register 1.
    Redirect,
    /// `ct mark set` register 1.
    SetCtMark,
    Reject(Reject),
    Verdict(Verdict),
}

/// `NFTA_TABLE_NAME`.
const TABLE_NAME: u16 = 1;
/// `NFTA_SET_ELEM_LIST_TABLE`, `_SET`, `_ELEMENTS`, and `NFTA_SET_ELEM_KEY`, `_TIMEOUT`.
const ELEM_LIST_TABLE: u16 = 1;
const ELEM_LIST_SET: u16 = 2;
const ELEM_LIST_ELEMENTS: u16 = 3;
const ELEM_KEY: u16 = 1;
const ELEM_TIMEOUT: u16 = 4;

/// `NFT_REG_1` and `NFT_REG_VERDICT`.
const REG_1: u32 = 1;
const REG_VERDICT: u32 = 0;
/// `NFTA_LIST_ELEM`, `NFTA_DATA_VALUE`, `NFTA_DATA_VERDICT`.
const LIST_ELEM: u16 = 1;
const DATA_VALUE: u16 = 1;
const DATA_VERDICT: u16 = 2;
/// `NFT_SET_TIMEOUT`.
pub const SET_TIMEOUT: u32 = 0x10;

/// Netlink attributes being written, with nesting.
#[derive(Default)]
struct Attrs(Vec<u8>);

impl Attrs {
    fn put(&mut self, kind: u16, payload: &[u8]) -> &mut Self {
        super::netlink::put_attr(&mut self.0, kind, payload);
        self
    }

    fn str(&mut self, kind: u16, s: &CStr) -> &mut Self {
        self.put(kind, s.to_bytes_with_nul())
    }

    fn u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.put(kind, &v.to_be_bytes())
    }

    fn nest(&mut self, kind: u16, f: impl FnOnce(&mut Attrs)) -> &mut Self {
        let mut inner = Attrs::default();
        f(&mut inner);
        self.put(kind | NLA_F_NESTED, &inner.0)
    }

    /// `NFTA_DATA_VALUE` inside the nest `kind`.
    fn value(&mut self, kind: u16, bytes: &[u8]) -> &mut Self {
        self.nest(kind, |a| {
            a.put(DATA_VALUE, bytes);
        })
    }
}

impl Expr {
    fn name(&self) -> &'static CStr {
        match self {
            Expr::Meta(_) => c"meta",
            Expr::CmpEq(_) => c"cmp",
            Expr::Payload { .. } => c"payload",
            Expr::And(_) => c"bitwise",
            Expr::Lookup { .. } => c"lookup",
            Expr::Fib { .. } => c"fib",
            Expr::Load(_) | Expr::Verdict(_) => c"immediate",
            Expr::Redirect => c"redir",
            Expr::SetCtMark => c"ct",
            Expr::Reject(_) => c"reject",
        }
    }

    /// The expression's own attributes (`NFTA_<NAME>_*`).
    fn data(&self, a: &mut Attrs) {
        match self {
            Expr::Meta(key) => {
                a.u32(2, *key as u32).u32(1, REG_1);
            }
            Expr::CmpEq(bytes) => {
                a.u32(1, REG_1).u32(2, 0).value(3, bytes);
            }
            Expr::Payload { base, offset, len } => {
                a.u32(1, REG_1)
                    .u32(2, *base as u32)
                    .u32(3, *offset)
                    .u32(4, *len);
            }
            Expr::And(mask) => {
                let len = u32::try_from(mask.len()).unwrap_or(u32::MAX);
                a.u32(1, REG_1)
                    .u32(2, REG_1)
                    .u32(3, len)
                    .value(4, mask)
                    .value(5, &vec![0; mask.len()]);
            }
            Expr::Lookup { set, set_id } => {
                a.str(1, set).u32(2, REG_1).u32(4, *set_id);
            }
            Expr::Fib { flags, result } => {
                a.u32(1, REG_1).u32(2, *result).u32(3, *flags);
            }
            Expr::Load(bytes) => {
                a.u32(1, REG_1).value(2, bytes);
            }
            Expr::Verdict(verdict) => {
                let (code, chain): (i32, Option<&CStr>) = match verdict {
                    Verdict::Drop => (0, None),
                    Verdict::Return => (-5, None),
                    Verdict::Jump(chain) => (-3, Some(chain)),
                };
                a.u32(1, REG_VERDICT).nest(2, |data| {
                    data.nest(DATA_VERDICT, |v| {
                        v.put(1, &code.to_be_bytes());
                        if let Some(chain) = chain {
                            v.str(2, chain);
                        }
                    });
                });
            }
            Expr::Redirect => {
                a.u32(1, REG_1).u32(2, REG_1);
            }
            // NFTA_CT_KEY = NFT_CT_MARK, NFTA_CT_SREG.
            Expr::SetCtMark => {
                a.u32(2, 3).u32(4, REG_1);
            }
            Expr::Reject(Reject::TcpReset) => {
                a.u32(1, 1).put(2, &[0]);
            }
            Expr::Reject(Reject::IcmpxAdminProhibited) => {
                a.u32(1, 2).put(2, &[3]);
            }
        }
    }
}

/// One set element: its key and, for a set with timeouts, its time left in milliseconds.
#[derive(Clone, Debug)]
pub struct Element<'a> {
    pub key: &'a [u8],
    pub timeout_ms: Option<u64>,
}

/// A batch of nf_tables messages for one table, applied by the kernel as one transaction.
pub struct Batch {
    table: &'static CStr,
    bytes: Vec<u8>,
    seq: u32,
}

impl Batch {
    /// A batch about `table` (family inet).
    pub fn new(table: &'static CStr) -> Batch {
        let mut batch = Batch {
            table,
            bytes: Vec::new(),
            seq: 0,
        };
        batch.message(BATCH_BEGIN, 0, 0, &[]);
        batch
    }

    /// Appends one message: netlink header, nfgenmsg, attributes.
    fn message(&mut self, kind: u16, flags: u16, family: u8, attrs: &[u8]) {
        let len = 16 + 4 + attrs.len();
        self.bytes
            .extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes
            .extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        self.bytes.extend_from_slice(&self.seq.to_ne_bytes());
        self.bytes.extend_from_slice(&0u32.to_ne_bytes());
        // nfgenmsg: family, version 0, resource id (the subsystem, on batch messages).
        let res_id = if family == 0 { SUBSYS } else { 0 };
        self.bytes.push(family);
        self.bytes.push(0);
        self.bytes.extend_from_slice(&res_id.to_be_bytes());
        self.bytes.extend_from_slice(attrs);
        self.seq += 1;
    }

    fn add(&mut self, msg: Msg, attrs: &Attrs) -> &mut Self {
        let flags = match msg {
            Msg::DelTable | Msg::DelSetElem => 0,
            Msg::NewRule => NLM_F_CREATE | NLM_F_APPEND,
            _ => NLM_F_CREATE,
        };
        self.message(msg.kind(), NLM_F_ACK | flags, FAMILY_INET, &attrs.0);
        self
    }

    /// `add table` (a no-op when it exists).
    pub fn add_table(&mut self) -> &mut Self {
        let mut a = Attrs::default();
        a.str(1, self.table);
        self.add(Msg::NewTable, &a)
    }

    /// `delete table` with everything in it.
    pub fn delete_table(&mut self) -> &mut Self {
        let mut a = Attrs::default();
        a.str(1, self.table);
        self.add(Msg::DelTable, &a)
    }

    /// A regular chain (only jumped to).
    pub fn add_chain(&mut self, name: &CStr) -> &mut Self {
        let mut a = Attrs::default();
        a.str(1, self.table).str(3, name);
        self.add(Msg::NewChain, &a)
    }

    /// A base chain on `hook` at `priority`, policy accept.
    pub fn add_base_chain(
        &mut self,
        name: &CStr,
        hook: Hook,
        kind: ChainType,
        priority: i32,
    ) -> &mut Self {
        let mut a = Attrs::default();
        a.str(1, self.table).str(3, name).nest(4, |h| {
            h.u32(1, hook as u32).put(2, &priority.to_be_bytes());
        });
        // NF_ACCEPT
        a.u32(5, 1).str(
            7,
            match kind {
                ChainType::Filter => c"filter",
                ChainType::Nat => c"nat",
            },
        );
        self.add(Msg::NewChain, &a)
    }

    /// A rule appended to `chain`.
    pub fn add_rule(&mut self, chain: &CStr, exprs: &[Expr]) -> &mut Self {
        let mut a = Attrs::default();
        a.str(1, self.table).str(2, chain).nest(4, |list| {
            for expr in exprs {
                list.nest(LIST_ELEM, |e| {
                    e.str(1, expr.name()).nest(2, |data| expr.data(data));
                });
            }
        });
        self.add(Msg::NewRule, &a)
    }

    /// A set of `key_len`-byte keys of nft's data type `key_type`, with `flags`.
    pub fn add_set(
        &mut self,
        name: &CStr,
        id: u32,
        key_type: u32,
        key_len: u32,
        flags: u32,
    ) -> &mut Self {
        let mut a = Attrs::default();
        a.str(1, self.table)
            .str(2, name)
            .u32(3, flags)
            .u32(4, key_type)
            .u32(5, key_len)
            .u32(10, id);
        self.add(Msg::NewSet, &a)
    }

    /// Adds elements to a set (one message: keep it under 64 KiB).
    pub fn add_elements(&mut self, set: &CStr, elements: &[Element<'_>]) -> &mut Self {
        let a = element_list(self.table, set, elements);
        self.add(Msg::NewSetElem, &a)
    }

    /// Removes every element of a set (a delete without elements is a flush).
    pub fn flush_set(&mut self, set: &CStr) -> &mut Self {
        let a = element_list(self.table, set, &[]);
        self.add(Msg::DelSetElem, &a)
    }

    /// Sends the batch as one transaction and waits for every acknowledgement.
    ///
    /// # Errors
    /// A socket error, or the first error the kernel answered with (the whole transaction is
    /// then rolled back).
    pub fn send(mut self) -> io::Result<()> {
        let acked = 1..self.seq;
        self.message(BATCH_END, 0, 0, &[]);
        let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
        socket.send_batch(&self.bytes, acked)
    }
}

/// `NFTA_SET_ELEM_LIST_*`: the table, the set and its elements.
fn element_list(table: &CStr, set: &CStr, elements: &[Element<'_>]) -> Attrs {
    let mut a = Attrs::default();
    a.str(ELEM_LIST_TABLE, table).str(ELEM_LIST_SET, set);
    if !elements.is_empty() {
        a.nest(ELEM_LIST_ELEMENTS, |list| {
            for element in elements {
                list.nest(LIST_ELEM, |e| {
                    e.value(ELEM_KEY, element.key);
                    if let Some(ms) = element.timeout_ms {
                        e.put(ELEM_TIMEOUT, &ms.to_be_bytes());
                    }
                });
            }
        });
    }
    a
}

/// A request's nfgenmsg header (family inet, version 0) and its attributes.
fn request(attrs: &Attrs) -> Vec<u8> {
    let mut body = vec![FAMILY_INET, 0, 0, 0];
    body.extend_from_slice(&attrs.0);
    body
}

/// Whether the inet table `table` exists (`NFT_MSG_GETTABLE` by name).
///
/// # Errors
/// When nf_tables cannot be asked.
pub fn table_exists(table: &CStr) -> io::Result<bool> {
    let mut a = Attrs::default();
    a.str(TABLE_NAME, table);
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    match socket.request(Msg::GetTable.kind(), &request(&a))? {
        0 => Ok(true),
        errno if errno == nix::libc::ENOENT => Ok(false),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// The keys of a set's elements now (a dump of `NFT_MSG_GETSETELEM`).
///
/// # Errors
/// When the set does not exist or nf_tables cannot be asked.
pub fn set_keys(table: &CStr, set: &CStr) -> io::Result<Vec<Vec<u8>>> {
    use super::netlink::{attr, attrs};
    let mut a = Attrs::default();
    a.str(ELEM_LIST_TABLE, table).str(ELEM_LIST_SET, set);
    let mut socket = Socket::open(SockProtocol::NetlinkNetFilter)?;
    let messages = socket.dump(Msg::GetSetElem.kind(), &request(&a))?;
    let mut keys = Vec::new();
    for message in &messages {
        let Some(list) = message
            .body
            .get(4..)
            .and_then(|b| attr(b, ELEM_LIST_ELEMENTS))
        else {
            continue;
        };
        for (kind, element, _) in attrs(list) {
            if kind == LIST_ELEM
                && let Some(key) = attr(element, ELEM_KEY).and_then(|k| attr(k, DATA_VALUE))
            {
                keys.push(key.to_vec());
            }
        }
    }
    Ok(keys)
}

/// Whether an nf_tables event (a message from [`GROUP`]) added or removed elements of a set
/// in `table`.
pub fn is_set_change_in(kind: u16, body: &[u8], table: &CStr) -> bool {
    (kind == Msg::NewSetElem.kind() || kind == Msg::DelSetElem.kind())
        && body
            .get(4..)
            .and_then(|b| super::netlink::attr(b, ELEM_LIST_TABLE))
            .is_some_and(|name| name == table.to_bytes_with_nul())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::netlink::{attr, attrs};

    #[test]
    fn a_rule_nests_its_expressions_with_big_endian_integers() {
        let mut batch = Batch::new(c"t");
        batch.add_rule(c"c", &[Expr::Meta(MetaKey::L4Proto), Expr::CmpEq(vec![6])]);
        // begin (20 bytes), then the rule message.
        let rule = &batch.bytes[20..];
        assert_eq!(
            u16::from_ne_bytes([rule[4], rule[5]]),
            SUBSYS << 8 | 6,
            "NFT_MSG_NEWRULE"
        );
        let body = &rule[20..];
        assert_eq!(attr(body, 1), Some(&b"t\0"[..]));
        assert_eq!(attr(body, 2), Some(&b"c\0"[..]));
        let list = attr(body, 4).unwrap();
        let exprs: Vec<_> = attrs(list).map(|(_, e, _)| e).collect();
        assert_eq!(exprs.len(), 2);
        assert_eq!(attr(exprs[0], 1), Some(&b"meta\0"[..]));
        let meta = attr(exprs[0], 2).unwrap();
        assert_eq!(
            attr(meta, 2),
            Some(&16u32.to_be_bytes()[..]),
            "NFT_META_L4PROTO"
        );
        let cmp = attr(exprs[1], 2).unwrap();
        assert_eq!(attr(attr(cmp, 3).unwrap(), 1), Some(&[6u8][..]));
    }

    #[test]
    fn set_element_events_count_only_for_their_table() {
        let mut batch = Batch::new(c"mine");
        batch.flush_set(c"s");
        let message = &batch.bytes[20..];
        let kind = u16::from_ne_bytes([message[4], message[5]]);
        let body = &message[16..];
        assert!(is_set_change_in(kind, body, c"mine"));
        assert!(!is_set_change_in(kind, body, c"fw4"), "another table's set");
        assert!(
            !is_set_change_in(Msg::NewRule.kind(), body, c"mine"),
            "not an element"
        );
    }
}
