//! What the offload shows about itself (dashboard, API, event stream): its own types, built by
//! the manager once a second; the HTTP edge turns them into the app's view.

use std::net::SocketAddr;
use std::time::Duration;

use super::fastpath::{Counters, Hook, Mode};

/// The offload's state at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub running: bool,
    /// Why the offload is not running (empty while it runs).
    pub problem: String,
    pub hook: Hook,
    /// The devices the programs are attached to, by name, and how.
    pub attached: Vec<(String, Mode)>,
    /// Flow map entries (one per direction) and how many are in use.
    pub capacity: u32,
    pub used: u64,
    pub counters: Counters,
    /// Fast-path and slow-path packets per second, oldest first.
    pub history: Vec<RatePoint>,
    /// The programs' average run time per packet (kernel BPF statistics).
    pub ns_per_packet: Option<f64>,
    /// The flows, biggest first.
    pub flows: Vec<Flow>,
    /// Flow directions offloaded since start.
    pub offloaded_total: u64,
    /// Flow map flushes after firewall changes.
    pub flushes: u64,
}

/// Packets in one second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RatePoint {
    /// Unix time, seconds.
    pub t: i64,
    pub fast: u64,
    pub slow: u64,
}

/// Where a flow direction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowState {
    /// The fast path saw it; conntrack has not confirmed it yet.
    Seen,
    /// Forwarded by the fast path.
    Offloaded,
    /// FIN or RST seen; removed soon.
    Finished,
}

/// An address translation a flow direction gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nat {
    Source(SocketAddr),
    Destination(SocketAddr),
}

/// One direction of a flow.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// 6 (TCP) or 17 (UDP).
    pub proto: u8,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// The devices it comes in on and leaves by (by name; `None`: not known yet).
    pub in_if: String,
    pub out_if: Option<String>,
    pub nat: Vec<Nat>,
    pub state: FlowState,
    pub age: Duration,
    pub idle: Duration,
    pub packets: u64,
    pub bytes: u64,
    /// How long after its first packet the fast path took it over.
    pub offload_delay: Option<Duration>,
}

/// The snapshot of an offload that is not running, and why.
pub fn stopped(hook: Hook, capacity: u32, problem: String) -> Snapshot {
    Snapshot {
        problem,
        hook,
        capacity,
        ..Snapshot::default()
    }
}
