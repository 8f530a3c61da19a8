//! Goodput of both qaul BLE generations over the simulated link (`bench/ble.sh`): payload
//! bytes delivered per byte written on the link at MTU 23, 185 and 247, and the share of
//! messages delivered at 0 %, 5 % and 10 % loss (drops, plus half as many truncations,
//! duplicates and swaps, both directions). Not a test: figures for the closing note.

use qaul_ble::legacy::{self, Reassembler};
use qaul_ble::link::Outcome;
use qaul_ble::sim::{self, Rng};

const SIZES: [usize; 3] = [1, 500, 60 * 1024];

fn messages(size: usize, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            (0..size)
                .map(|j| u8::try_from((i * 7 + j * 13) % 256).unwrap_or(0))
                .collect()
        })
        .collect()
}

/// The current generation: (payload / link bytes, delivered share).
fn current(size: usize, mtu: usize, loss: u64) -> (f64, f64) {
    let count = if size > 10_000 { 4 } else { 40 };
    let msgs = messages(size, count);
    let (mut payload, mut link, mut delivered, mut total) = (0usize, 0usize, 0usize, 0usize);
    for seed in 1..=5 {
        let run = sim::run(&msgs, loss, seed, &[mtu]);
        payload += run.delivered.iter().map(Vec::len).sum::<usize>();
        link += run.link_bytes;
        delivered += run
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Delivered(_)))
            .count();
        total += msgs.len();
    }
    (ratio(payload, link), ratio(delivered, total))
}

/// The legacy generation: 20-byte writes of the JSON frame, no recovery.
fn legacy_run(size: usize, loss: u64) -> (f64, f64) {
    let count = if size > 10_000 { 4 } else { 40 };
    let msgs = messages(size, count);
    let (mut payload, mut link, mut delivered, mut total) = (0usize, 0usize, 0usize, 0usize);
    for seed in 1..=5 {
        let mut rng = Rng(seed | 1);
        let mut rx = Reassembler::new(1 << 20);
        for m in &msgs {
            let writes = legacy::writes(&legacy::encode_frame(&[0x9c; 8], m));
            link += writes.iter().map(Vec::len).sum::<usize>();
            for w in sim::carry(writes, &mut rng, loss) {
                if let Some(Ok(frame)) = rx.push(&w)
                    && frame.message == *m
                {
                    payload += m.len();
                    delivered += 1;
                }
            }
            // A legacy sender connects per message: what is left of a frame is dropped.
            rx.reset();
            total += 1;
        }
    }
    (ratio(payload, link), ratio(delivered, total))
}

fn ratio(a: usize, b: usize) -> f64 {
    let (a, b) = (
        u32::try_from(a).map_or(f64::MAX, f64::from),
        u32::try_from(b).map_or(f64::MAX, f64::from),
    );
    if b == 0.0 { 0.0 } else { a / b }
}

fn main() {
    println!("# qaul BLE goodput over the simulated link\n");
    println!("Payload bytes delivered / bytes written on the link (both directions), no loss.\n");
    println!("| message | generation | MTU 23 | MTU 185 | MTU 247 |\n|---|---|---|---|---|");
    for size in SIZES {
        let cur: Vec<String> = [23, 185, 247]
            .iter()
            .map(|&mtu| format!("{:.3}", current(size, mtu, 0).0))
            .collect();
        println!("| {size} B | current | {} |", cur.join(" | "));
        let (legacy_goodput, _) = legacy_run(size, 0);
        println!(
            "| {size} B | legacy (20-byte writes at any MTU) | {legacy_goodput:.3} | {legacy_goodput:.3} | {legacy_goodput:.3} |"
        );
    }
    println!("\nShare of messages delivered (MTU 185; legacy: 20-byte writes, no recovery).\n");
    println!("| message | generation | 0 % loss | 5 % loss | 10 % loss |\n|---|---|---|---|---|");
    for size in SIZES {
        let cur: Vec<String> = [0, 5, 10]
            .iter()
            .map(|&loss| format!("{:.1} %", 100.0 * current(size, 185, loss).1))
            .collect();
        println!("| {size} B | current | {} |", cur.join(" | "));
        let leg: Vec<String> = [0, 5, 10]
            .iter()
            .map(|&loss| format!("{:.1} %", 100.0 * legacy_run(size, loss).1))
            .collect();
        println!("| {size} B | legacy | {} |", leg.join(" | "));
    }
}
