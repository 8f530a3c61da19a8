//! The current generation's sender and receiver over a simulated link that drops, duplicates,
//! reorders and truncates writes in both directions and changes the MTU: every message is
//! delivered exactly once and intact, or its sender is told it failed; the receiver's memory
//! stays under its cap; hostile chunks never panic.

use proptest::prelude::*;
use qaul_ble::link::{Config, Outcome, Receiver};
use qaul_ble::sim::{Run, run};

fn check(r: &Run) -> Result<(), TestCaseError> {
    // Intact and at most once.
    for m in &r.delivered {
        prop_assert!(r.sent.contains(m), "a corrupted message was delivered");
    }
    for (i, m) in r.sent.iter().enumerate() {
        let times = r.delivered.iter().filter(|x| *x == m).count();
        let copies = r.sent.iter().filter(|x| *x == m).count();
        prop_assert!(times <= copies, "message {i} delivered {times} times");
    }
    // Every message has an outcome; "delivered" means the receiver has it.
    prop_assert_eq!(r.outcomes.len(), r.sent.len(), "every sender hears back");
    for o in &r.outcomes {
        if let Outcome::Delivered(id) = o {
            let m = &r.sent[usize::try_from(*id - 1).unwrap()];
            prop_assert!(
                r.delivered.contains(m),
                "reported delivered but not received"
            );
        }
    }
    prop_assert!(r.max_pending <= Config::default().max_pending_bytes);
    Ok(())
}

fn messages_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(
        (0usize..3000, any::<u8>()).prop_map(|(n, seed)| {
            (0..n)
                .map(|i| u8::try_from((i * 31 + usize::from(seed)) % 256).unwrap())
                .collect()
        }),
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_clean_link_delivers_everything(messages in messages_strategy(), mtu in 23usize..=517) {
        let r = run(&messages, 0, 7, &[mtu]);
        check(&r)?;
        prop_assert!(r.outcomes.iter().all(|o| matches!(o, Outcome::Delivered(_))), "{:?}", r.outcomes);
    }

    #[test]
    fn a_faulty_link_delivers_intact_once_or_says_so(
        messages in messages_strategy(),
        loss in 1u64..=20,
        seed in any::<u64>(),
        mtus in proptest::collection::vec(23usize..=517, 1..4),
    ) {
        check(&run(&messages, loss, seed, &mtus))?;
    }

    #[test]
    fn hostile_chunks_never_panic(writes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..50)) {
        let mut rx = Receiver::new(Config::default());
        for (t, w) in writes.iter().enumerate() {
            let _ = rx.on_chunk(w, u64::try_from(t).unwrap() * 100);
            let _ = rx.poll(u64::try_from(t).unwrap() * 100);
        }
        prop_assert!(rx.pending_bytes() <= Config::default().max_pending_bytes);
    }
}

#[test]
fn a_large_message_goes_in_four_parts() {
    // 60 000 bytes at chunk size 20: four parts, the count Android cannot encode (D-N2).
    let big: Vec<u8> = (0..60_000u32)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    let r = run(std::slice::from_ref(&big), 0, 3, &[23]);
    assert_eq!(r.outcomes, vec![Outcome::Delivered(1)]);
    assert_eq!(r.delivered, vec![big]);
}

#[test]
fn most_messages_get_through_ten_percent_loss() {
    let messages: Vec<Vec<u8>> = (0..20u8)
        .map(|i| vec![i; 500 + usize::from(i) * 40])
        .collect();
    let mut delivered = 0;
    for seed in 1..=10 {
        let r = run(&messages, 10, seed, &[185]);
        check(&r).unwrap();
        delivered += r
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Delivered(_)))
            .count();
    }
    assert!(
        delivered >= 190,
        "{delivered} of 200 delivered at 10 % loss"
    );
}

#[test]
fn the_ack_timeout_counts_from_when_the_writes_went_out() {
    use qaul_ble::link::Sender;
    let mut sender = Sender::new([1; 8], Config::default());
    sender.send(vec![7; 100]);
    let first = sender.poll(0);
    assert_eq!(
        first.len(),
        7,
        "100 bytes in 20-byte chunks before the MTU is known"
    );
    // A slow link took 5 s to write it all: no ACK is overdue until 3 s after that.
    sender.flushed(5_000);
    assert_eq!(sender.poll(7_999), Vec::<Vec<u8>>::new());
    assert_eq!(
        sender.poll(8_000).len(),
        first.len(),
        "then it goes again, whole"
    );
}
