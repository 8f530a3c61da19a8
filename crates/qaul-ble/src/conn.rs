//! One current-generation connection as a whole (spec §5.4, §6): the identity exchange, the
//! liveness ping and timeout, and the message exchange of [`crate::link`] in both directions.
//! Sans-I/O like the rest of the crate: bytes in (writes or notifications from the peer), bytes
//! out (what to write or notify now), and a time.
//!
//! Rules, each from the spec unless said otherwise:
//! - both roles send `SEND_QAUL_ID` first (a central must, within 8 s; Android as peripheral
//!   does too, on its first flush);
//! - a ping every 10 s (Android's rate), so a quiet link stays alive at the peer;
//! - a connection whose peer has not said who it is within 8 s, or from which nothing has
//!   arrived for 30 s, is [`Health::Unresolved`] / [`Health::Silent`]: the caller drops it;
//! - `REQUEST_QAUL_ID` (which Android never sends) is answered with our id; `SEND_NEIGHBOURS`
//!   is accepted and ignored; malformed flow-control writes count as errors and are dropped.

use std::time::Duration;

use crate::Q8id;
use crate::flc::{self, Flc};
use crate::link::{Config, Millis, Outcome, Receiver, Sender};

/// The connection-level timers (§6).
#[derive(Clone, Debug)]
pub struct Timers {
    pub ping_every: Duration,
    /// Nothing received for this long: the peer is gone.
    pub silent_after: Duration,
    /// The peer's q8id must be known this long after the connection opened.
    pub resolve_within: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            ping_every: Duration::from_secs(10),
            silent_after: Duration::from_secs(30),
            resolve_within: Duration::from_secs(8),
        }
    }
}

/// Whether a connection should be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Alive,
    /// The peer never said who it is.
    Unresolved,
    /// Nothing arrived for too long.
    Silent,
}

/// Byte and message counts of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    /// Writes that were neither a valid flow-control message nor a chunk we could use.
    pub errors: u64,
}

/// One connection of the current generation.
pub struct Connection {
    own: Q8id,
    peer: Option<Q8id>,
    timers: Timers,
    sender: Sender,
    receiver: Receiver,
    sent_id: bool,
    opened_at: Millis,
    heard_at: Millis,
    pinged_at: Millis,
    counters: Counters,
    delivered: Vec<Vec<u8>>,
}

fn ms(d: Duration) -> Millis {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Connection {
    /// A connection opened at `now`; `peer` when its q8id is already known (a central read
    /// READ_CHAR).
    pub fn new(own: Q8id, peer: Option<Q8id>, config: Config, timers: Timers, now: Millis) -> Self {
        Connection {
            own,
            peer,
            timers,
            sender: Sender::new(own, config.clone()),
            receiver: Receiver::new(config),
            sent_id: false,
            opened_at: now,
            heard_at: now,
            pinged_at: now,
            counters: Counters::default(),
            delivered: Vec::new(),
        }
    }

    /// The peer's q8id, once known.
    pub fn peer(&self) -> Option<Q8id> {
        self.peer
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The chunk size for messages started from now on: `min(ATT_MTU − 3, 509)`.
    pub fn set_chunk_size(&mut self, size: usize) {
        self.sender.set_chunk_size(size);
    }

    /// Queues a message; its [`Outcome`] carries the returned id.
    pub fn send(&mut self, message: Vec<u8>) -> u64 {
        self.sender.send(message)
    }

    /// Everything returned so far has been written (see [`Sender::flushed`]).
    pub fn flushed(&mut self, now: Millis) {
        self.sender.flushed(now);
    }

    /// Messages waiting for an outcome.
    pub fn pending(&self) -> usize {
        self.sender.pending()
    }

    /// One write or notification from the peer; returns what to write back now.
    pub fn on_bytes(&mut self, bytes: &[u8], now: Millis) -> Vec<Vec<u8>> {
        self.heard_at = now;
        self.counters.bytes_in += bytes.len() as u64;
        let Some(&first) = bytes.first() else {
            self.counters.errors += 1;
            return Vec::new();
        };
        if !flc::is_flc(first) {
            let out = self.receiver.on_chunk(bytes, now);
            let messages = self.receiver.messages();
            self.counters.messages_in += messages.len() as u64;
            self.delivered.extend(messages);
            return self.count_out(out);
        }
        let out = match Flc::decode(bytes) {
            Err(_) => {
                self.counters.errors += 1;
                Vec::new()
            }
            Ok(Flc::SendQaulId(id)) => {
                match self.peer {
                    None => self.peer = Some(id),
                    Some(known) if known != id => self.counters.errors += 1,
                    Some(_) => {}
                }
                Vec::new()
            }
            Ok(Flc::RequestQaulId) => vec![Flc::SendQaulId(self.own).encode()],
            Ok(Flc::Ping | Flc::SendNeighbours(_) | Flc::MissingAckMessages(_)) => Vec::new(),
            Ok(flc @ (Flc::AckSuccess(_) | Flc::AckError { .. } | Flc::MissingChunks(_))) => {
                self.sender.on_flc(&flc, now)
            }
        };
        self.count_out(out)
    }

    /// What to write now: our identity first, then pings, requests and ACKs of the receiving
    /// side, resends and new messages.
    pub fn poll(&mut self, now: Millis) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if !self.sent_id {
            self.sent_id = true;
            self.pinged_at = now;
            out.push(Flc::SendQaulId(self.own).encode());
        }
        if now.saturating_sub(self.pinged_at) >= ms(self.timers.ping_every) {
            self.pinged_at = now;
            out.push(Flc::Ping.encode());
        }
        out.extend(self.receiver.poll(now));
        out.extend(self.sender.poll(now));
        self.count_out(out)
    }

    fn count_out(&mut self, out: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        self.counters.bytes_out += out.iter().map(|w| w.len() as u64).sum::<u64>();
        out
    }

    /// Messages received complete since the last call.
    pub fn messages(&mut self) -> Vec<Vec<u8>> {
        let late = self.receiver.messages();
        self.counters.messages_in += late.len() as u64;
        self.delivered.extend(late);
        std::mem::take(&mut self.delivered)
    }

    /// Outcomes of sent messages since the last call.
    pub fn outcomes(&mut self) -> Vec<Outcome> {
        self.sender.outcomes()
    }

    pub fn health(&self, now: Millis) -> Health {
        if self.peer.is_none()
            && now.saturating_sub(self.opened_at) >= ms(self.timers.resolve_within)
        {
            Health::Unresolved
        } else if now.saturating_sub(self.heard_at) >= ms(self.timers.silent_after) {
            Health::Silent
        } else {
            Health::Alive
        }
    }
}
