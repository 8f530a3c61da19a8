//! A simulated link for tests and benchmarks: two ends of the current generation ([`Sender`]
//! and [`Receiver`]) over a link that drops, duplicates, reorders and truncates writes in both
//! directions, with the MTU changing over time; deterministic for a seed. It also counts the
//! bytes that crossed the link, for goodput.

use crate::flc::{self, Flc};
use crate::link::{Config, Outcome, Receiver, Sender};

/// xorshift64*: deterministic faults from a seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn draw(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.draw() % 100 < percent
    }
}

/// One direction of the link: `loss` percent of writes dropped, half as many truncated,
/// duplicated and swapped with their neighbour.
pub fn carry(writes: Vec<Vec<u8>>, rng: &mut Rng, loss: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for mut w in writes {
        if rng.chance(loss) {
            continue;
        }
        if rng.chance(loss / 2) && w.len() > 1 {
            let keep = usize::try_from(rng.draw() % (w.len() as u64)).unwrap_or(0);
            w.truncate(keep.max(1));
        }
        if rng.chance(loss / 2) {
            out.push(w.clone());
        }
        out.push(w);
    }
    for i in 1..out.len() {
        if rng.chance(loss / 2) {
            out.swap(i - 1, i);
        }
    }
    out
}

/// What a run produced.
pub struct Run {
    pub sent: Vec<Vec<u8>>,
    /// The sender's outcomes (ids count from 1 in sending order).
    pub outcomes: Vec<Outcome>,
    /// What the receiver delivered, in order.
    pub delivered: Vec<Vec<u8>>,
    /// The most bytes the receiver held at once.
    pub max_pending: usize,
    /// Bytes written onto the link, both directions.
    pub link_bytes: usize,
}

/// Sends `messages` from one end to the other in 50 ms steps until every message has an
/// outcome (or 30 simulated minutes pass). `mtus` cycles every 2 s.
pub fn run(messages: &[Vec<u8>], loss: u64, seed: u64, mtus: &[usize]) -> Run {
    const OWN: [u8; 8] = [0x9c, 0x3e, 0x01, 0x7a, 0x55, 0xd2, 0x08, 0xf4];
    let config = Config::default();
    let mut sender = Sender::new(OWN, config.clone());
    let mut rx = Receiver::new(config);
    let mut rng = Rng(seed | 1);
    for m in messages {
        sender.send(m.clone());
    }
    let mut run = Run {
        sent: messages.to_vec(),
        outcomes: Vec::new(),
        delivered: Vec::new(),
        max_pending: 0,
        link_bytes: 0,
    };
    let mut now = 0u64;
    let mut back: Vec<Vec<u8>> = Vec::new();
    while (sender.pending() > 0 || !back.is_empty()) && now < 30 * 60 * 1000 {
        let step = usize::try_from(now / 2000).unwrap_or(0);
        if let Some(&mtu) = mtus.get(step % mtus.len().max(1)) {
            sender.set_chunk_size(mtu - 3);
        }
        run.link_bytes += back.iter().map(Vec::len).sum::<usize>();
        let mut forward = Vec::new();
        for w in carry(std::mem::take(&mut back), &mut rng, loss) {
            if let Ok(f) = Flc::decode(&w) {
                forward.extend(sender.on_flc(&f, now));
            }
        }
        forward.extend(sender.poll(now));
        run.link_bytes += forward.iter().map(Vec::len).sum::<usize>();
        for w in carry(forward, &mut rng, loss) {
            if w.first().is_some_and(|b| flc::is_flc(*b)) {
                continue;
            }
            back.extend(rx.on_chunk(&w, now));
            run.max_pending = run.max_pending.max(rx.pending_bytes());
        }
        back.extend(rx.poll(now));
        run.delivered.extend(rx.messages());
        run.outcomes.extend(sender.outcomes());
        now += 50;
    }
    run.outcomes.extend(sender.outcomes());
    run
}
