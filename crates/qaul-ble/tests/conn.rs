//! Two whole connections talking: identities, messages both ways, pings and the timeouts.

use qaul_ble::conn::{Connection, Health, Timers};
use qaul_ble::flc::Flc;
use qaul_ble::link::{Config, Outcome};

const A: [u8; 8] = [0x9c, 0x3e, 0x01, 0x7a, 0x55, 0xd2, 0x08, 0xf4];
const B: [u8; 8] = [0x4e, 0x1a, 0x77, 0x02, 0xc3, 0x90, 0x11, 0x5b];

fn pair() -> (Connection, Connection) {
    let config = Config::default();
    (
        Connection::new(A, Some(B), config.clone(), Timers::default(), 0),
        Connection::new(B, None, config, Timers::default(), 0),
    )
}

/// Carries everything between the two ends in 50 ms steps until `until` ms.
fn exchange(a: &mut Connection, b: &mut Connection, from: u64, until: u64) {
    let mut to_b: Vec<Vec<u8>> = Vec::new();
    let mut to_a: Vec<Vec<u8>> = Vec::new();
    let mut now = from;
    while now < until {
        to_b.extend(a.poll(now));
        for w in std::mem::take(&mut to_b) {
            to_a.extend(b.on_bytes(&w, now));
        }
        to_a.extend(b.poll(now));
        for w in std::mem::take(&mut to_a) {
            to_b.extend(a.on_bytes(&w, now));
        }
        now += 50;
    }
}

#[test]
fn identities_first_then_messages_both_ways() {
    let (mut a, mut b) = pair();
    let first = a.poll(0);
    assert_eq!(
        first[0],
        Flc::SendQaulId(A).encode(),
        "a central's first write is its id"
    );
    for w in &first {
        b.on_bytes(w, 0);
    }
    assert_eq!(b.peer(), Some(A));
    let big: Vec<u8> = (0..61_440u32).map(|i| (i % 251) as u8).collect();
    a.set_chunk_size(244);
    b.set_chunk_size(20);
    let to_b = a.send(big.clone());
    let to_a = b.send(vec![7]);
    exchange(&mut a, &mut b, 0, 20_000);
    assert_eq!(b.messages(), vec![big]);
    assert_eq!(a.messages(), vec![vec![7]]);
    assert_eq!(a.outcomes(), vec![Outcome::Delivered(to_b)]);
    assert_eq!(b.outcomes(), vec![Outcome::Delivered(to_a)]);
    assert_eq!(a.counters().messages_in, 1);
    assert!(b.counters().bytes_in > 61_440);
    assert_eq!(a.counters().errors + b.counters().errors, 0);
}

#[test]
fn a_quiet_link_pings_and_stays_alive_until_the_peer_stops() {
    let (mut a, mut b) = pair();
    exchange(&mut a, &mut b, 0, 60_000);
    assert_eq!(
        a.health(60_000),
        Health::Alive,
        "pings keep a quiet link alive"
    );
    let pings = a.poll(70_000);
    assert_eq!(pings, vec![Flc::Ping.encode()]);
    // b goes away after its last ping (at 50 s): 30 s later a drops it.
    assert_eq!(a.health(79_999), Health::Alive);
    assert_eq!(a.health(80_000), Health::Silent);
}

#[test]
fn a_peer_that_never_says_who_it_is_is_dropped_after_8_s() {
    let mut b = Connection::new(B, None, Config::default(), Timers::default(), 1_000);
    b.on_bytes(&Flc::Ping.encode(), 5_000);
    assert_eq!(b.health(8_999), Health::Alive);
    assert_eq!(b.health(9_000), Health::Unresolved);
}

#[test]
fn odd_writes_count_as_errors_and_questions_get_answers() {
    let (mut a, _) = pair();
    let none: Vec<Vec<u8>> = Vec::new();
    assert_eq!(a.on_bytes(&[], 0), none);
    assert_eq!(
        a.on_bytes(&[0x02, 0x01], 0),
        none,
        "odd MISSING_CHUNKS length"
    );
    assert_eq!(
        a.on_bytes(&Flc::SendQaulId(A).encode(), 0),
        none,
        "a different id than READ_CHAR gave"
    );
    assert_eq!(a.counters().errors, 3);
    assert_eq!(a.peer(), Some(B));
    assert_eq!(a.on_bytes(&[0x00], 0), vec![Flc::SendQaulId(A).encode()]);
}
