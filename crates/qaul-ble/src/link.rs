//! The current generation's message exchange over one connection (spec §5.8, §5.9): a
//! [`Sender`] turns messages into chunks and follows ACKs and chunk requests; a [`Receiver`]
//! reassembles chunks into messages with bounded memory, requests what is missing and
//! acknowledges. Both are sans-I/O: they take bytes and a time, and return bytes to write.
//!
//! Android's behaviour is kept where the wire demands it (queue indices 1–29, MISSING_CHUNKS in
//! batches of 9, ACK_SUCCESS/ACK_ERROR per message, resend flag on requested chunks) and
//! improved where the spec leaves room, each with a configurable rule ([`Config`]):
//! - the receiver also asks for chunk 0 and for trailing chunks when a message stalls
//!   (Android never does, D-N1);
//! - the sender has an ACK timeout: a message not acknowledged in time, or refused with
//!   ACK_ERROR, is sent again whole in a fresh queue slot, up to `attempts` times, and then
//!   reported as failed — the sender is always told;
//! - the receiver delivers a message at most once: a repeat of a message it delivered in the
//!   last `dedupe_window` (same size and CRC) is acknowledged again but not delivered.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use crate::Q8id;
use crate::chunk::{self, ChunkHeader, FirstHeader, LargeIndicator};
use crate::flc::{self, Flc};

/// Time as the caller counts it (monotonic), in milliseconds.
pub type Millis = u64;

/// The rules the spec leaves open.
#[derive(Clone, Debug)]
pub struct Config {
    /// Bytes a receiver holds for unfinished messages on one connection.
    pub max_pending_bytes: usize,
    /// A receiver asks again for what is missing of a stalled message after this long.
    pub request_after: Duration,
    /// A receiver forgets an unfinished message after this long without progress.
    pub give_up_after: Duration,
    /// A sender sends a message again when no ACK came within this time.
    pub ack_timeout: Duration,
    /// Times a message is sent in all before the sender reports failure.
    pub attempts: u32,
    /// How long a receiver remembers delivered messages to drop repeats.
    pub dedupe_window: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_pending_bytes: 4 * 65_535 + 4 * 4096,
            request_after: Duration::from_millis(500),
            give_up_after: Duration::from_secs(30),
            ack_timeout: Duration::from_secs(3),
            attempts: 4,
            dedupe_window: Duration::from_secs(120),
        }
    }
}

fn ms(d: Duration) -> Millis {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What happened to a message given to a [`Sender`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver acknowledged every part.
    Delivered(u64),
    /// Out of attempts (or the message cannot be sent at all).
    Failed(u64, String),
}

struct InFlight {
    id: u64,
    /// The whole message, for a fresh attempt.
    message: Vec<u8>,
    /// This part's chunks, for requests.
    chunks: Vec<Vec<u8>>,
    part: usize,
    parts: usize,
    large: Option<u8>,
    attempt: u32,
    sent_at: Millis,
    /// Written by [`Sender::poll`] or a request, not yet reported written by the caller.
    unflushed: bool,
}

/// The sending side of one connection.
pub struct Sender {
    own: Q8id,
    config: Config,
    chunk_size: usize,
    next_queue: u8,
    next_large: u8,
    next_id: u64,
    waiting: VecDeque<(u64, Vec<u8>, u32)>,
    in_flight: HashMap<u8, InFlight>,
    outcomes: Vec<Outcome>,
}

impl Sender {
    pub fn new(own: Q8id, config: Config) -> Sender {
        Sender {
            own,
            config,
            chunk_size: chunk::MIN_CHUNK,
            next_queue: 1,
            next_large: 1,
            next_id: 1,
            waiting: VecDeque::new(),
            in_flight: HashMap::new(),
            outcomes: Vec::new(),
        }
    }

    /// The chunk size for messages started from now on (`min(ATT_MTU − 3, 509)`).
    pub fn set_chunk_size(&mut self, size: usize) {
        self.chunk_size = size.clamp(chunk::MIN_CHUNK, chunk::MAX_CHUNK);
    }

    /// The caller has written everything returned so far (at `now`): the ACK timeout of what
    /// was in those writes counts from here, so a slow link does not count as a silent peer.
    /// Callers whose writes are instant need not call it.
    pub fn flushed(&mut self, now: Millis) {
        for f in self.in_flight.values_mut().filter(|f| f.unflushed) {
            f.sent_at = now;
            f.unflushed = false;
        }
    }

    /// Queues a message; returns its id for [`Outcome`]s.
    pub fn send(&mut self, message: Vec<u8>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.push_back((id, message, 1));
        id
    }

    /// Finished messages since the last call.
    pub fn outcomes(&mut self) -> Vec<Outcome> {
        std::mem::take(&mut self.outcomes)
    }

    /// Messages not yet delivered or failed.
    pub fn pending(&self) -> usize {
        self.waiting.len() + self.in_flight.values().filter(|f| f.part == 0).count()
    }

    fn take_queue(&mut self) -> Option<u8> {
        for _ in 0..chunk::MAX_QUEUE {
            let q = self.next_queue;
            self.next_queue = if q >= chunk::MAX_QUEUE { 1 } else { q + 1 };
            if !self.in_flight.contains_key(&q) {
                return Some(q);
            }
        }
        None
    }

    /// Starts waiting messages (one new message per call, as Android flushes) and returns
    /// the writes to make now.
    pub fn poll(&mut self, now: Millis) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        // Time-outs: the message starts again whole.
        let late: Vec<u8> = self
            .in_flight
            .iter()
            .filter(|(_, f)| now.saturating_sub(f.sent_at) >= ms(self.config.ack_timeout))
            .map(|(q, _)| *q)
            .collect();
        for q in late {
            if let Some(f) = self.in_flight.remove(&q) {
                self.retry(f.id, f.message, f.attempt, "no acknowledgement");
            }
        }
        if let Some((id, message, attempt)) = self.waiting.pop_front() {
            match self.start(id, message, attempt, now) {
                Ok(chunks) => out.extend(chunks),
                Err((id, message, attempt)) => self.waiting.push_front((id, message, attempt)),
            }
        }
        out
    }

    fn retry(&mut self, id: u64, message: Vec<u8>, attempt: u32, why: &str) {
        if attempt >= self.config.attempts {
            self.outcomes.push(Outcome::Failed(
                id,
                format!("{why} after {attempt} attempts"),
            ));
        } else {
            self.waiting.push_back((id, message, attempt + 1));
        }
    }

    /// Sends part 0 of a message (later parts follow their predecessor's ACK).
    fn start(
        &mut self,
        id: u64,
        message: Vec<u8>,
        attempt: u32,
        now: Millis,
    ) -> Result<Vec<Vec<u8>>, (u64, Vec<u8>, u32)> {
        let parts = match chunk::parts(&message, self.chunk_size) {
            Ok(p) => p.len(),
            Err(e) => {
                self.outcomes.push(Outcome::Failed(id, e.to_string()));
                return Ok(Vec::new());
            }
        };
        let large = (parts > 1).then(|| {
            let l = self.next_large;
            self.next_large = if l >= 15 { 1 } else { l + 1 };
            l
        });
        self.send_part(id, message, 0, parts, large, attempt, now)
    }

    #[allow(clippy::too_many_arguments, reason = "the state of one part in flight")]
    fn send_part(
        &mut self,
        id: u64,
        message: Vec<u8>,
        part: usize,
        parts: usize,
        large: Option<u8>,
        attempt: u32,
        now: Millis,
    ) -> Result<Vec<Vec<u8>>, (u64, Vec<u8>, u32)> {
        let Some(queue) = self.take_queue() else {
            return Err((id, message, attempt));
        };
        let size = chunk::max_part_size(self.chunk_size);
        let start = (part * size).min(message.len());
        let end = ((part + 1) * size).min(message.len());
        let indicator = large.map(|index| LargeIndicator {
            index,
            total: u8::try_from(parts).unwrap_or(4),
            part: u8::try_from(part).unwrap_or(0),
        });
        let chunks = match chunk::chunks(
            &message[start..end],
            self.chunk_size,
            queue,
            &self.own,
            indicator,
        ) {
            Ok(c) => c,
            Err(e) => {
                self.outcomes.push(Outcome::Failed(id, e.to_string()));
                return Ok(Vec::new());
            }
        };
        self.in_flight.insert(
            queue,
            InFlight {
                id,
                message,
                chunks: chunks.clone(),
                part,
                parts,
                large,
                attempt,
                sent_at: now,
                unflushed: true,
            },
        );
        Ok(chunks)
    }

    /// A flow-control message from the peer; returns writes to make now.
    pub fn on_flc(&mut self, flc: &Flc, now: Millis) -> Vec<Vec<u8>> {
        match flc {
            Flc::AckSuccess(q) => {
                let Some(f) = self.in_flight.remove(q) else {
                    return Vec::new();
                };
                if f.part + 1 < f.parts {
                    return match self.send_part(
                        f.id,
                        f.message,
                        f.part + 1,
                        f.parts,
                        f.large,
                        f.attempt,
                        now,
                    ) {
                        Ok(chunks) => chunks,
                        Err((id, message, attempt)) => {
                            self.waiting.push_front((id, message, attempt));
                            Vec::new()
                        }
                    };
                }
                self.outcomes.push(Outcome::Delivered(f.id));
                Vec::new()
            }
            Flc::AckError { queue, .. } => {
                if let Some(f) = self.in_flight.remove(queue) {
                    self.retry(f.id, f.message, f.attempt, "refused (size or CRC)");
                }
                Vec::new()
            }
            Flc::MissingChunks(list) => list
                .iter()
                .filter_map(|(q, i)| {
                    let f = self.in_flight.get_mut(q)?;
                    f.sent_at = now;
                    f.unflushed = true;
                    f.chunks.get(usize::from(*i)).map(|c| chunk::as_resend(c))
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The chunk size a sender used, from chunk 0's length; `None` when the length does not fit
/// the header (a damaged chunk). A one-chunk message says nothing about the size (any will do).
fn sender_chunk_size(first: &FirstHeader, len: usize) -> Option<usize> {
    let size = usize::from(first.size);
    if first.total <= 1 {
        return (first.total == 1 && len == chunk::FIRST_HEADER + size)
            .then_some(len.max(chunk::MIN_CHUNK));
    }
    ((chunk::MIN_CHUNK..=chunk::MAX_CHUNK).contains(&len)
        && chunk::total_chunks(size, len) == usize::from(first.total))
    .then_some(len)
}

/// The payload length chunk `index` must have (`None`: no such chunk).
fn payload_len(first: &FirstHeader, chunk_size: Option<usize>, index: u16) -> Option<usize> {
    let c = chunk_size?;
    let (size, total, index) = (
        usize::from(first.size),
        usize::from(first.total),
        usize::from(index),
    );
    let first_len = (c - chunk::FIRST_HEADER).min(size);
    match index {
        0 => Some(first_len),
        i if i + 1 < total => Some(c - chunk::HEADER),
        i if i + 1 == total => Some(size - first_len - (total - 2) * (c - chunk::HEADER)),
        _ => None,
    }
}

/// Whether two first headers describe the same message (a repeated chunk 0).
fn same_message(a: &FirstHeader, b: &FirstHeader) -> bool {
    (a.large, a.size, a.total, a.crc, a.sender) == (b.large, b.size, b.total, b.crc, b.sender)
}

struct Slot {
    first: Option<FirstHeader>,
    /// The sender's chunk size, from chunk 0's length.
    chunk_size: Option<usize>,
    chunks: BTreeMap<u16, Vec<u8>>,
    highest: u16,
    bytes: usize,
    progress_at: Millis,
    requested_at: Millis,
}

/// The parts of one large message received so far.
struct LargeMessage {
    total: u8,
    parts: BTreeMap<u8, Vec<u8>>,
    progress_at: Millis,
}

/// The receiving side of one connection.
pub struct Receiver {
    config: Config,
    slots: HashMap<u8, Slot>,
    /// Large messages by index.
    large: HashMap<u8, LargeMessage>,
    delivered_recently: VecDeque<(u32, usize, Millis)>,
    messages: Vec<Vec<u8>>,
}

impl Receiver {
    pub fn new(config: Config) -> Receiver {
        Receiver {
            config,
            slots: HashMap::new(),
            large: HashMap::new(),
            delivered_recently: VecDeque::new(),
            messages: Vec::new(),
        }
    }

    /// Complete messages since the last call.
    pub fn messages(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.messages)
    }

    /// Bytes held for unfinished messages.
    pub fn pending_bytes(&self) -> usize {
        self.slots.values().map(|s| s.bytes).sum::<usize>()
            + self
                .large
                .values()
                .flat_map(|p| p.parts.values())
                .map(Vec::len)
                .sum::<usize>()
    }

    /// One data chunk; returns flow-control writes to make (requests, ACKs).
    pub fn on_chunk(&mut self, bytes: &[u8], now: Millis) -> Vec<Vec<u8>> {
        let Ok(header) = ChunkHeader::decode(bytes) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let first = if header.index == 0 {
            // A damaged chunk 0 (its length does not fit what it says) is ignored: it will be
            // asked for again.
            match FirstHeader::decode(bytes) {
                Ok(f) if sender_chunk_size(&f, bytes.len()).is_some() => Some(f),
                _ => return out,
            }
        } else {
            None
        };
        let payload = &bytes[if first.is_some() {
            chunk::FIRST_HEADER
        } else {
            chunk::HEADER
        }..];
        // A first transmission starts a new message in an occupied slot when it is a
        // different chunk 0 or lies beyond the old message's end (the sender reused the slot).
        // Unlike Android, a late chunk inside the old message fills it in (links reorder).
        let starts_new = !header.resend
            && self
                .slots
                .get(&header.queue)
                .is_some_and(|s| match (first, s.first) {
                    (Some(new), Some(old)) => !same_message(&new, &old),
                    (None, Some(old)) => header.index >= old.total,
                    _ => false,
                });
        if starts_new {
            self.slots.remove(&header.queue);
        }
        if self.pending_bytes() + payload.len() > self.config.max_pending_bytes {
            // Over the cap: the oldest unfinished message goes.
            if let Some(oldest) = self
                .slots
                .iter()
                .min_by_key(|(_, s)| s.progress_at)
                .map(|(q, _)| *q)
            {
                self.slots.remove(&oldest);
            }
            if self.pending_bytes() + payload.len() > self.config.max_pending_bytes {
                return out;
            }
        }
        let slot = self.slots.entry(header.queue).or_insert(Slot {
            first: None,
            chunk_size: None,
            chunks: BTreeMap::new(),
            highest: 0,
            bytes: 0,
            progress_at: now,
            requested_at: now,
        });
        if let Some(f) = first {
            slot.first = first;
            slot.chunk_size = sender_chunk_size(&f, bytes.len());
            // Chunks that came before it and do not have the length it implies were damaged.
            let sizes = slot.chunk_size;
            let before = slot.chunks.len();
            slot.chunks
                .retain(|&i, p| i == 0 || payload_len(&f, sizes, i) == Some(p.len()));
            if slot.chunks.len() != before {
                slot.bytes = slot.chunks.values().map(Vec::len).sum();
            }
        }
        if slot.chunks.contains_key(&header.index) {
            return out;
        }
        // Every chunk's length follows from chunk 0: a truncated one is dropped (and asked for
        // again later) instead of spoiling the message.
        if header.index > 0
            && let Some(f) = slot.first
            && payload_len(&f, slot.chunk_size, header.index) != Some(payload.len())
        {
            return out;
        }
        if let Some(f) = slot.first
            && header.index >= f.total
        {
            return out;
        }
        let previous = slot.highest;
        slot.chunks.insert(header.index, payload.to_vec());
        slot.bytes += payload.len();
        slot.progress_at = now;
        if header.index > slot.highest {
            slot.highest = header.index;
        }
        // Gap detection on first transmissions, as Android does.
        if !header.resend && header.index > previous + 1 {
            let missing: Vec<(u8, u16)> = (previous + 1..header.index)
                .filter(|i| !slot.chunks.contains_key(i))
                .map(|i| (header.queue, i))
                .collect();
            out.extend(flc::missing_chunks(&missing).iter().map(Flc::encode));
            slot.requested_at = now;
        }
        out.extend(self.complete(header.queue, now));
        out
    }

    fn complete(&mut self, queue: u8, now: Millis) -> Vec<Vec<u8>> {
        let Some(slot) = self.slots.get(&queue) else {
            return Vec::new();
        };
        let Some(first) = slot.first else {
            return Vec::new();
        };
        if slot.chunks.len() < usize::from(first.total) {
            return Vec::new();
        }
        let Some(slot) = self.slots.remove(&queue) else {
            return Vec::new();
        };
        let payload: Vec<u8> = slot.chunks.into_values().flatten().collect();
        if payload.len() != usize::from(first.size) || chunk::crc32(&payload) != first.crc {
            return vec![Flc::AckError { queue, code: 0 }.encode()];
        }
        let ack = vec![Flc::AckSuccess(queue).encode()];
        match LargeIndicator::decode(first.large) {
            None => self.deliver(payload, now),
            Some(l) => {
                let entry = self.large.entry(l.index).or_insert(LargeMessage {
                    total: l.total,
                    parts: BTreeMap::new(),
                    progress_at: now,
                });
                entry.parts.insert(l.part, payload);
                entry.progress_at = now;
                if entry.parts.len() >= usize::from(entry.total)
                    && let Some(done) = self.large.remove(&l.index)
                {
                    let whole: Vec<u8> = done.parts.into_values().flatten().collect();
                    self.deliver(whole, now);
                }
            }
        }
        ack
    }

    fn deliver(&mut self, message: Vec<u8>, now: Millis) {
        let window = ms(self.config.dedupe_window);
        while self
            .delivered_recently
            .front()
            .is_some_and(|(_, _, t)| now.saturating_sub(*t) > window)
        {
            self.delivered_recently.pop_front();
        }
        let key = (chunk::crc32(&message), message.len());
        if self
            .delivered_recently
            .iter()
            .any(|(c, l, _)| (*c, *l) == key)
        {
            return;
        }
        self.delivered_recently.push_back((key.0, key.1, now));
        self.messages.push(message);
    }

    /// Time passes: stalled messages are asked for again (chunk 0 and trailing chunks too),
    /// abandoned ones forgotten. Returns flow-control writes.
    pub fn poll(&mut self, now: Millis) -> Vec<Vec<u8>> {
        let give_up = ms(self.config.give_up_after);
        self.slots
            .retain(|_, s| now.saturating_sub(s.progress_at) < give_up);
        self.large
            .retain(|_, p| now.saturating_sub(p.progress_at) < give_up);
        let again = ms(self.config.request_after);
        let mut requests = Vec::new();
        for (q, slot) in &mut self.slots {
            if now.saturating_sub(slot.requested_at) < again
                || now.saturating_sub(slot.progress_at) < again
            {
                continue;
            }
            slot.requested_at = now;
            let known = slot.first.map_or(slot.highest + 1, |f| f.total);
            requests.extend(
                (0..known)
                    .filter(|i| !slot.chunks.contains_key(i))
                    .map(|i| (*q, i)),
            );
        }
        flc::missing_chunks(&requests)
            .iter()
            .map(Flc::encode)
            .collect()
    }
}
