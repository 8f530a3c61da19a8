//! A minimal netlink request/dump socket: the framing that conntrack and the neighbour table
//! share (header, attributes, multi-part dumps, acknowledgements). No unsafe code: nix's safe
//! socket calls carry the messages, which are plain byte buffers built and parsed here.

use std::io;
use std::os::fd::{AsRawFd as _, OwnedFd};

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const HEADER_LEN: usize = 16;
/// Set on the type of a nested attribute.
pub const NLA_F_NESTED: u16 = 0x8000;

/// One open netlink socket of a protocol (route, netfilter).
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

/// A message received from the kernel: its type and the bytes after the netlink header.
pub struct Message {
    pub kind: u16,
    pub body: Vec<u8>,
}

impl Socket {
    /// Opens and binds a socket in the calling thread's network namespace.
    ///
    /// # Errors
    /// When the kernel refuses the socket (no such protocol, no permission).
    pub fn open(protocol: SockProtocol) -> io::Result<Socket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            protocol,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        Ok(Socket { fd, seq: 1 })
    }

    /// Opens a socket that receives the multicast `groups` (a bitmask: group n is bit n-1)
    /// of a protocol: conntrack or routing events. Its receive buffer is raised so a burst of
    /// events does not overflow it (root may; otherwise the default stands).
    ///
    /// # Errors
    /// When the kernel refuses the socket or the groups.
    pub fn subscribe(protocol: SockProtocol, groups: u32) -> io::Result<Socket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            protocol,
        )?;
        let size = 4 * 1024 * 1024;
        if setsockopt(&fd, sockopt::RcvBufForce, &size).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &size);
        }
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
        Ok(Socket { fd, seq: 1 })
    }

    /// The messages of one datagram, or none when nothing is waiting (a subscribed socket is
    /// non-blocking). An `ENOBUFS` error means events were lost: the caller resynchronises.
    ///
    /// # Errors
    /// A socket error other than "nothing to read".
    pub fn receive_events(&mut self) -> io::Result<Vec<Message>> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        let mut rest = &buf[..n];
        while rest.len() >= HEADER_LEN {
            let len = u32_at(rest, 0) as usize;
            if len < HEADER_LEN || len > rest.len() {
                break;
            }
            let kind = u16::from_ne_bytes([rest[4], rest[5]]);
            out.push(Message {
                kind,
                body: rest[HEADER_LEN..len].to_vec(),
            });
            rest = &rest[align(len).min(rest.len())..];
        }
        Ok(out)
    }

    /// The socket's descriptor, to wait on with poll.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd as _;
        self.fd.as_fd()
    }

    fn send(&mut self, kind: u16, flags: u16, payload: &[u8]) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let len = u32::try_from(HEADER_LEN + payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too long"))?;
        let mut msg = Vec::with_capacity(HEADER_LEN + payload.len());
        msg.extend_from_slice(&len.to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(payload);
        send(self.fd.as_raw_fd(), &msg, MsgFlags::empty())?;
        Ok(self.seq)
    }

    /// Sends a dump request and returns every message of the answer.
    ///
    /// # Errors
    /// A socket error or an error the kernel answered with.
    pub fn dump(&mut self, kind: u16, payload: &[u8]) -> io::Result<Vec<Message>> {
        let seq = self.send(kind, NLM_F_REQUEST | NLM_F_DUMP, payload)?;
        let mut out = Vec::new();
        self.receive(seq, |m| {
            out.push(m);
        })?;
        Ok(out)
    }

    /// Sends a request that the kernel answers with one message (a get): the message, or
    /// `None` when the kernel answered `ENOENT`.
    ///
    /// # Errors
    /// A socket error or another error the kernel answered with.
    pub fn get(&mut self, kind: u16, payload: &[u8]) -> io::Result<Option<Message>> {
        let seq = self.send(kind, NLM_F_REQUEST, payload)?;
        // The answer is one message (ctnetlink marks it multi-part yet sends no DONE).
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            let mut rest = &buf[..n];
            while rest.len() >= HEADER_LEN {
                let len = (u32_at(rest, 0) as usize).clamp(HEADER_LEN, rest.len());
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let msg_seq = u32_at(rest, 8);
                let body = &rest[HEADER_LEN..len];
                rest = &rest[align(len).min(rest.len())..];
                if msg_seq != seq {
                    continue;
                }
                if kind == NLMSG_ERROR {
                    let errno = body
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    return match -errno {
                        0 | nix::libc::ENOENT => Ok(None),
                        e => Err(io::Error::from_raw_os_error(e)),
                    };
                }
                return Ok(Some(Message {
                    kind,
                    body: body.to_vec(),
                }));
            }
        }
    }

    /// Sends a request that the kernel acknowledges; returns the kernel's errno (0 = done).
    ///
    /// # Errors
    /// A socket error.
    pub fn request(&mut self, kind: u16, payload: &[u8]) -> io::Result<i32> {
        let seq = self.send(kind, NLM_F_REQUEST | NLM_F_ACK, payload)?;
        match self.receive(seq, |_| {}) {
            Ok(()) => Ok(0),
            Err(e) => e.raw_os_error().ok_or(e),
        }
    }

    /// Sends an nfnetlink batch (begin, messages, end: already framed, as [`super::nftables::Batch`] builds it) in
    /// one datagram, so the kernel applies it as one transaction, then waits for the
    /// acknowledgement of every sequence number in `acked`.
    ///
    /// # Errors
    /// A socket error, or the first error the kernel answered with (the transaction is then
    /// rolled back by the kernel).
    pub fn send_batch(&mut self, bytes: &[u8], acked: std::ops::Range<u32>) -> io::Result<()> {
        // A batch of 10 000 set elements is ~0.5 MB: above the default send buffer. Root may
        // raise it (as nft does); otherwise the kernel's limit stands and says so.
        let size = bytes.len().saturating_mul(2).max(256 * 1024);
        if setsockopt(&self.fd, sockopt::SndBufForce, &size).is_err() {
            let _ = setsockopt(&self.fd, sockopt::SndBuf, &size);
        }
        send(self.fd.as_raw_fd(), bytes, MsgFlags::empty())?;
        let mut waiting: std::collections::HashSet<u32> = acked.collect();
        let mut buf = vec![0u8; 64 * 1024];
        while !waiting.is_empty() {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            let mut rest = &buf[..n];
            while rest.len() >= HEADER_LEN {
                let len = (u32_at(rest, 0) as usize).max(HEADER_LEN);
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let seq = u32_at(rest, 8);
                let body = &rest[HEADER_LEN..len.min(rest.len())];
                rest = &rest[align(len).min(rest.len())..];
                if kind == NLMSG_ERROR {
                    let errno = body
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if errno != 0 {
                        return Err(io::Error::from_raw_os_error(-errno));
                    }
                    waiting.remove(&seq);
                }
            }
        }
        Ok(())
    }

    /// Reads messages of sequence `seq` until the dump ends or the acknowledgement arrives.
    fn receive(&mut self, seq: u32, mut each: impl FnMut(Message)) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            let mut rest = &buf[..n];
            while rest.len() >= HEADER_LEN {
                let len = u32_at(rest, 0) as usize;
                if len < HEADER_LEN || len > rest.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "bad netlink length",
                    ));
                }
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let flags = u16::from_ne_bytes([rest[6], rest[7]]);
                let msg_seq = u32_at(rest, 8);
                let body = &rest[HEADER_LEN..len];
                rest = &rest[align(len).min(rest.len())..];
                if msg_seq != seq {
                    continue;
                }
                match kind {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let errno = body
                            .get(..4)
                            .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                        return if errno == 0 {
                            Ok(())
                        } else {
                            Err(io::Error::from_raw_os_error(-errno))
                        };
                    }
                    _ => each(Message {
                        kind,
                        body: body.to_vec(),
                    }),
                }
                // A single (non-multi-part) answer ends the exchange.
                if flags & 0x2 == 0 {
                    return Ok(());
                }
            }
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Appends an attribute (type, payload, padding).
pub fn put_attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(align(out.len()), 0);
}

/// The attributes in `bytes`: `(type without the nested flag, payload, the whole attribute)`.
/// Stops at the first malformed one.
pub fn attrs(bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8], &[u8])> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        if len < 4 || len > rest.len() {
            return None;
        }
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & !NLA_F_NESTED;
        let whole = &rest[..len];
        rest = &rest[align(len).min(rest.len())..];
        Some((kind, &whole[4..], whole))
    })
}

/// The payload of the first attribute of a type.
pub fn attr(bytes: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(bytes).find(|(k, _, _)| *k == kind).map(|(_, p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip_with_padding_and_stop_at_garbage() {
        let mut b = Vec::new();
        put_attr(&mut b, 1, &[1, 2, 3]);
        put_attr(&mut b, 2 | NLA_F_NESTED, &[9, 9, 9, 9]);
        assert_eq!(b.len(), 8 + 8);
        let got: Vec<_> = attrs(&b).map(|(k, p, _)| (k, p.to_vec())).collect();
        assert_eq!(got, vec![(1, vec![1, 2, 3]), (2, vec![9, 9, 9, 9])]);
        assert_eq!(attr(&b, 2), Some(&[9u8, 9, 9, 9][..]));
        // A lying length ends the walk instead of reading past the buffer.
        b.extend_from_slice(&[200, 0, 3, 0]);
        assert_eq!(attrs(&b).count(), 2);
    }
}
