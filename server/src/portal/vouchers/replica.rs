//! Vouchers as replicated state (issue 23): what every node of a community mesh holds about
//! every voucher, and the one merge that brings two nodes' states together.
//!
//! Each field has its written rule, so that merging is commutative, associative and
//! idempotent (a state-based CRDT; the property tests below check all three on arbitrary
//! states, and the rules' meaning on concurrent operations):
//!
//! | field | rule |
//! |---|---|
//! | the voucher itself (code, duration, deadline, device cap) | grow-only set: once created anywhere, it exists everywhere; two creations of one code (a 50-bit collision) keep the earlier (`at`, then node id) |
//! | invalidation | wins: once invalidated anywhere, invalid everywhere; the earliest invalidation is kept |
//! | duration extension | the largest extension wins |
//! | activation | the first activation (earliest `at`, then node id), an activation stamped by a right clock before any stamped by a wrong one (earlier than [`RELEASE_DATE`]: a router without a battery-backed clock boots in 1970) |
//! | device bindings | per device its latest binding and its latest release (a slot moved to another device releases it); a device is bound while its binding is later than its release; the voucher admits its first `max_devices` bound devices in (bound at, node id, MAC) order, so two nodes binding concurrently beyond the cap agree which devices are in |
//! | name | last writer wins by hybrid logical clock (`millis`, `counter`, node id) |
//!
//! Nothing here does I/O: the store keeps a node's replicas, the mesh moves them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The day this version was released (Unix seconds, 2026-11-27): a wall clock before it is
/// wrong (a router without a battery-backed clock boots in 1970 and keeps such a time until
/// NTP answers).
pub const RELEASE_DATE: i64 = 1_795_737_600;

/// A node of the mesh (8 bytes of its public key's hash).
pub type NodeId = [u8; 8];

/// A hybrid logical clock reading: wall-clock milliseconds, a counter for events within one
/// millisecond (or when the wall clock lags a peer's), and the node, which breaks ties. Totally
/// ordered by (millis, counter, node).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
    pub node: NodeId,
}

impl Hlc {
    /// The clock's next reading on `node` at wall time `now_ms`, after `self` (the last
    /// reading this node made or saw): never earlier than anything seen, whatever the wall
    /// clock says.
    #[must_use]
    pub fn next(self, node: NodeId, now_ms: u64) -> Hlc {
        if now_ms > self.millis {
            Hlc {
                millis: now_ms,
                counter: 0,
                node,
            }
        } else {
            Hlc {
                millis: self.millis,
                counter: self.counter.saturating_add(1),
                node,
            }
        }
    }
}

/// A value whose last write (by [`Hlc`]) wins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lww<T> {
    pub value: T,
    pub stamp: Hlc,
}

impl<T: Clone + Ord> Lww<T> {
    /// The later write; two writes with one stamp (one node cannot make them, a corrupted peer
    /// could) are ordered by value, so every node still keeps the same one.
    fn merge(&mut self, other: &Lww<T>) {
        if (other.stamp, &other.value) > (self.stamp, &self.value) {
            *self = other.clone();
        }
    }
}

/// When and where something happened (Unix seconds, node).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Event {
    pub at: i64,
    pub node: NodeId,
}

impl Event {
    /// Stamped by a clock that was right (not before [`RELEASE_DATE`]).
    pub fn trusted(&self) -> bool {
        self.at >= RELEASE_DATE
    }
}

/// A voucher's creation: the facts that never change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Created {
    pub event: Event,
    /// Who made it (the admin page's user, or `pirania` for imported ones).
    pub author: String,
    /// Seconds of access from the first use (`None`: until the deadline).
    pub duration: Option<i64>,
    /// Unix seconds after which the voucher cannot be used.
    pub deadline: Option<i64>,
    pub max_devices: u32,
}

/// One voucher as every node holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Replica {
    pub created: Created,
    pub invalidated: Option<Event>,
    /// Seconds added to the duration (the largest extension any node made).
    pub extension: i64,
    pub activated: Option<Event>,
    /// Devices (MAC, lower case with colons) and when and where each was bound and released.
    pub devices: BTreeMap<String, Binding>,
    pub name: Lww<String>,
}

/// A device on a voucher: its latest binding, and its latest release (its slot went to
/// another device).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Binding {
    pub bound: Event,
    pub released: Option<Event>,
}

impl Binding {
    /// Bound now: bound again after its last release, or never released.
    pub fn holds(&self) -> bool {
        self.released.is_none_or(|r| self.bound > r)
    }

    fn merge(&mut self, other: Binding) {
        self.bound = self.bound.max(other.bound);
        self.released = self.released.max(other.released);
    }
}

/// The earlier of two optional events (`None` is "not yet").
fn earliest(a: Option<Event>, b: Option<Event>) -> Option<Event> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The first of two activations: one stamped by a right clock before one stamped by a wrong
/// clock, then the earlier.
fn first_activation(a: Option<Event>, b: Option<Event>) -> Option<Event> {
    match (a, b) {
        (Some(a), Some(b)) => Some(std::cmp::min_by_key(a, b, |e| (!e.trusted(), *e))),
        (a, b) => a.or(b),
    }
}

impl Replica {
    /// A voucher created at `event`.
    pub fn new(created: Created, name: Lww<String>) -> Replica {
        Replica {
            created,
            name,
            ..Replica::default()
        }
    }

    /// Brings `other`'s knowledge of the same voucher into this one (the rules above).
    pub fn merge(&mut self, other: &Replica) {
        // A code created twice: the earlier creation is the voucher (then any fixed order).
        if other.created < self.created {
            self.created = other.created.clone();
        }
        self.invalidated = earliest(self.invalidated, other.invalidated);
        self.extension = self.extension.max(other.extension);
        self.activated = first_activation(self.activated, other.activated);
        for (mac, binding) in &other.devices {
            self.devices
                .entry(mac.clone())
                .and_modify(|mine| mine.merge(*binding))
                .or_insert(*binding);
        }
        self.name.merge(&other.name);
    }

    /// The devices the voucher admits: its first `max_devices` bound devices in (bound at,
    /// node, MAC) order.
    pub fn admitted(&self) -> Vec<&str> {
        let mut bound: Vec<(&Event, &String)> = self
            .devices
            .iter()
            .filter(|(_, b)| b.holds())
            .map(|(mac, b)| (&b.bound, mac))
            .collect();
        bound.sort();
        bound
            .into_iter()
            .take(usize::try_from(self.created.max_devices).unwrap_or(usize::MAX))
            .map(|(_, mac)| mac.as_str())
            .collect()
    }

    /// The duration with every extension.
    pub fn duration(&self) -> Option<i64> {
        self.created
            .duration
            .map(|d| d.saturating_add(self.extension))
    }
}

impl PartialOrd for Created {
    fn partial_cmp(&self, other: &Created) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Created {
    fn cmp(&self, other: &Created) -> std::cmp::Ordering {
        (
            self.event,
            self.duration,
            self.deadline,
            self.max_devices,
            &self.author,
        )
            .cmp(&(
                other.event,
                other.duration,
                other.deadline,
                other.max_devices,
                &other.author,
            ))
    }
}

/// A node's replicas, by voucher code (normalised).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replicas(pub BTreeMap<String, Replica>);

impl Replicas {
    /// Brings every voucher `other` knows into this state.
    pub fn merge(&mut self, other: &Replicas) {
        for (code, replica) in &other.0 {
            match self.0.get_mut(code) {
                Some(mine) => mine.merge(replica),
                None => {
                    self.0.insert(code.clone(), replica.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node() -> impl Strategy<Value = NodeId> {
        // Few nodes, so that ties between them happen.
        (0u8..3).prop_map(|n| [n; 8])
    }

    fn event() -> impl Strategy<Value = Event> {
        // Times from wrong clocks (1970) and from right ones.
        (
            prop_oneof![0i64..3, RELEASE_DATE - 1..RELEASE_DATE + 2],
            node(),
        )
            .prop_map(|(at, node)| Event { at, node })
    }

    fn hlc() -> impl Strategy<Value = Hlc> {
        (0u64..4, 0u32..3, node()).prop_map(|(millis, counter, node)| Hlc {
            millis,
            counter,
            node,
        })
    }

    fn replica() -> impl Strategy<Value = Replica> {
        (
            (
                event(),
                proptest::option::of(0i64..3),
                proptest::option::of(0i64..3),
                1u32..3,
            ),
            proptest::option::of(event()),
            0i64..3,
            proptest::option::of(event()),
            proptest::collection::btree_map(
                "[ab]",
                (event(), proptest::option::of(event()))
                    .prop_map(|(bound, released)| Binding { bound, released }),
                0..4,
            ),
            ("[xy]{0,1}", hlc()),
        )
            .prop_map(
                |(
                    (at, duration, deadline, max_devices),
                    invalidated,
                    extension,
                    activated,
                    devices,
                    (name, stamp),
                )| {
                    Replica {
                        created: Created {
                            event: at,
                            author: String::new(),
                            duration,
                            deadline,
                            max_devices,
                        },
                        invalidated,
                        extension,
                        activated,
                        devices,
                        name: Lww { value: name, stamp },
                    }
                },
            )
    }

    fn replicas() -> impl Strategy<Value = Replicas> {
        proptest::collection::btree_map("[pq]", replica(), 0..3).prop_map(Replicas)
    }

    fn merged(a: &Replicas, b: &Replicas) -> Replicas {
        let mut out = a.clone();
        out.merge(b);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn merge_is_commutative(a in replicas(), b in replicas()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        }

        #[test]
        fn merge_is_associative(a in replicas(), b in replicas(), c in replicas()) {
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        }

        #[test]
        fn merge_is_idempotent(a in replicas(), b in replicas()) {
            prop_assert_eq!(merged(&a, &a), a.clone());
            let ab = merged(&a, &b);
            prop_assert_eq!(merged(&ab, &b), ab.clone());
        }

        #[test]
        fn the_rules_hold_after_any_merge(a in replica(), b in replica()) {
            let mut m = a.clone();
            m.merge(&b);
            // Invalidation wins.
            prop_assert_eq!(m.invalidated.is_some(), a.invalidated.is_some() || b.invalidated.is_some());
            // The largest extension; the first activation by a right clock, or else the first.
            prop_assert_eq!(m.extension, a.extension.max(b.extension));
            let by_right_clocks = [a.activated, b.activated].into_iter().flatten().filter(Event::trusted).min();
            prop_assert_eq!(m.activated, by_right_clocks.or(earliest(a.activated, b.activated)));
            // Every device either side bound is known; the cap is never exceeded.
            prop_assert!(a.devices.keys().chain(b.devices.keys()).all(|d| m.devices.contains_key(d)));
            prop_assert!(m.admitted().len() <= usize::try_from(m.created.max_devices).unwrap());
            // The later name.
            let later = if (a.name.stamp, &a.name.value) >= (b.name.stamp, &b.name.value) { &a.name } else { &b.name };
            prop_assert_eq!(&m.name, later);
        }
    }

    const A: NodeId = [1; 8];
    const B: NodeId = [2; 8];

    fn voucher(max_devices: u32) -> Replica {
        Replica::new(
            Created {
                event: Event { at: 100, node: A },
                author: String::new(),
                duration: Some(3600),
                deadline: None,
                max_devices,
            },
            Lww::default(),
        )
    }

    #[test]
    fn two_nodes_binding_beyond_the_cap_agree_on_who_is_in() {
        let (mut on_a, mut on_b) = (voucher(1), voucher(1));
        on_a.devices
            .insert("02:00:00:00:00:0a".into(), bound(200, A));
        on_b.devices
            .insert("02:00:00:00:00:0b".into(), bound(200, B));
        let (mut a_then_b, mut b_then_a) = (on_a.clone(), on_b.clone());
        a_then_b.merge(&on_b);
        b_then_a.merge(&on_a);
        assert_eq!(
            a_then_b.admitted(),
            ["02:00:00:00:00:0a"],
            "same second: node A first"
        );
        assert_eq!(b_then_a.admitted(), a_then_b.admitted());
        // An earlier binding wins whatever the node.
        let mut earlier = voucher(1);
        earlier
            .devices
            .insert("02:00:00:00:00:0b".into(), bound(150, B));
        on_a.merge(&earlier);
        assert_eq!(on_a.admitted(), ["02:00:00:00:00:0b"]);
    }

    fn bound(at: i64, node: NodeId) -> Binding {
        Binding {
            bound: Event { at, node },
            released: None,
        }
    }

    #[test]
    fn a_moved_slot_stays_moved_everywhere_and_a_device_can_come_back() {
        let phone = "02:00:00:00:00:01";
        let laptop = "02:00:00:00:00:02";
        let mut on_a = voucher(1);
        on_a.devices.insert(phone.into(), bound(200, A));
        let mut on_b = on_a.clone();
        // On B a new device takes the slot: the phone is released there.
        on_b.devices.get_mut(phone).unwrap().released = Some(Event { at: 900, node: B });
        on_b.devices.insert(laptop.into(), bound(900, B));
        on_a.merge(&on_b);
        assert_eq!(on_a.admitted(), [laptop]);
        // Later the phone takes it back on A.
        on_a.devices.get_mut(laptop).unwrap().released = Some(Event { at: 1900, node: A });
        on_a.devices.get_mut(phone).unwrap().bound = Event { at: 1900, node: A };
        on_b.merge(&on_a);
        assert_eq!(on_b.admitted(), [phone]);
        assert_eq!(on_b, on_a);
    }

    #[test]
    fn invalidation_wins_over_a_later_extension_and_the_first_activation_stays() {
        let (mut on_a, mut on_b) = (voucher(2), voucher(2));
        on_a.invalidated = Some(Event { at: 300, node: A });
        on_b.extension = 1800;
        on_b.activated = Some(Event { at: 250, node: B });
        on_a.activated = Some(Event { at: 260, node: A });
        on_a.merge(&on_b);
        assert!(on_a.invalidated.is_some());
        assert_eq!(on_a.duration(), Some(5400));
        assert_eq!(on_a.activated, Some(Event { at: 250, node: B }));
    }

    #[test]
    fn the_clock_never_goes_back() {
        let seen = Hlc {
            millis: 5_000,
            counter: 3,
            node: B,
        };
        let next = seen.next(A, 4_000);
        assert!(next > seen, "a wall clock behind the peer's");
        assert_eq!((next.millis, next.counter), (5_000, 4));
        assert_eq!(next.next(A, 6_000).counter, 0);
    }
}
