//! Bits per second in and out of each interface, sampled from the kernel's byte counters and
//! kept for the last minutes (a bounded ring per interface).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use app::status::{Traffic, TrafficPoint};

use crate::kernel::links::Link;

/// Points kept per interface (five minutes at one sample every two seconds).
pub const POINTS: usize = 150;
/// Interfaces followed at most.
const MAX_INTERFACES: usize = 8;
/// Samples closer together than this are skipped (a page load between two ticks).
const MIN_INTERVAL_MS: u128 = 900;

struct Counter {
    index: u32,
    at: Instant,
    rx: u64,
    tx: u64,
}

/// The interfaces' recent traffic.
#[derive(Default)]
pub struct History {
    last: HashMap<String, Counter>,
    series: HashMap<String, VecDeque<TrafficPoint>>,
}

/// Interfaces worth a chart: up, not loopback, not a bridge's port (the bridge counts it).
fn followed(link: &Link) -> bool {
    link.running && link.arphrd != 772 && link.master.is_none()
}

impl History {
    /// Takes a sample of `links` at `now` (`unix`: the same moment in Unix seconds).
    pub fn record(&mut self, links: &[Link], now: Instant, unix: i64) {
        let live: Vec<&Link> = links
            .iter()
            .filter(|l| followed(l))
            .take(MAX_INTERFACES)
            .collect();
        self.last
            .retain(|name, _| live.iter().any(|l| &l.name == name));
        self.series
            .retain(|name, _| live.iter().any(|l| &l.name == name));
        for link in live {
            let current = Counter {
                index: link.index,
                at: now,
                rx: link.rx_bytes,
                tx: link.tx_bytes,
            };
            let Some(previous) = self.last.get(&link.name) else {
                self.last.insert(link.name.clone(), current);
                continue;
            };
            let elapsed = now.saturating_duration_since(previous.at);
            if elapsed.as_millis() < MIN_INTERVAL_MS {
                continue;
            }
            // A recreated link (new index) or counters that went back start afresh.
            let continuous = previous.index == link.index
                && link.rx_bytes >= previous.rx
                && link.tx_bytes >= previous.tx;
            if continuous {
                let seconds = elapsed.as_secs_f64();
                #[allow(clippy::cast_precision_loss, reason = "rates, drawn")]
                let rate = |now: u64, then: u64| (now - then) as f64 * 8.0 / seconds;
                let points = self.series.entry(link.name.clone()).or_default();
                if points.len() == POINTS {
                    points.pop_front();
                }
                points.push_back(TrafficPoint {
                    t: unix,
                    rx: rate(link.rx_bytes, previous.rx),
                    tx: rate(link.tx_bytes, previous.tx),
                });
            }
            self.last.insert(link.name.clone(), current);
        }
    }

    /// The series, the uplink's first, then the LAN's, then the others by name.
    pub fn series(&self, wan: &str, lan: &str) -> Vec<Traffic> {
        let mut out: Vec<Traffic> = self
            .series
            .iter()
            .map(|(name, points)| Traffic {
                interface: name.clone(),
                role: if name == wan {
                    "wan"
                } else if name == lan {
                    "lan"
                } else {
                    ""
                }
                .into(),
                points: points.iter().copied().collect(),
            })
            .collect();
        let rank = |t: &Traffic| match t.role.as_str() {
            "wan" => 0,
            "lan" => 1,
            _ => 2,
        };
        out.sort_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then_with(|| a.interface.cmp(&b.interface))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn link(index: u32, name: &str, rx: u64, tx: u64) -> Link {
        Link {
            rx_bytes: rx,
            tx_bytes: tx,
            ..Link::plain(index, name)
        }
    }

    #[test]
    fn rates_are_bits_per_second_between_samples() {
        let mut history = History::default();
        let t0 = Instant::now();
        let mut port = link(3, "lan1", 0, 0);
        port.master = Some(2);
        history.record(
            &[link(1, "wan", 0, 0), link(2, "br-lan", 5, 5), port.clone()],
            t0,
            100,
        );
        history.record(
            &[
                link(1, "wan", 1000, 500),
                link(2, "br-lan", 5, 5),
                port.clone(),
            ],
            t0 + Duration::from_secs(2),
            102,
        );
        // Too soon after the last sample: skipped.
        history.record(
            &[link(1, "wan", 9000, 500), link(2, "br-lan", 5, 5)],
            t0 + Duration::from_millis(2100),
            102,
        );
        // The link was recreated: no point from the old counters.
        history.record(
            &[link(9, "wan", 10, 10), link(2, "br-lan", 5, 5)],
            t0 + Duration::from_secs(4),
            104,
        );
        history.record(
            &[link(9, "wan", 260, 10), link(2, "br-lan", 5, 5)],
            t0 + Duration::from_secs(6),
            106,
        );
        let series = history.series("wan", "br-lan");
        assert_eq!(
            series
                .iter()
                .map(|s| s.interface.as_str())
                .collect::<Vec<_>>(),
            ["wan", "br-lan"],
            "a bridge port has no chart of its own"
        );
        let wan = &series[0].points;
        assert_eq!(wan.len(), 2);
        assert_eq!((wan[0].t, wan[0].rx, wan[0].tx), (102, 4000.0, 2000.0));
        assert_eq!((wan[1].t, wan[1].rx), (106, 1000.0));
        assert_eq!(series[1].points[0].rx, 0.0);
    }

    #[test]
    fn the_history_is_bounded() {
        let mut history = History::default();
        let t0 = Instant::now();
        for i in 0..(POINTS as u64 + 20) {
            history.record(
                &[link(1, "wan", i * 10, 0)],
                t0 + Duration::from_secs(i * 2),
                i64::try_from(i).unwrap(),
            );
        }
        assert_eq!(history.series("wan", "")[0].points.len(), POINTS);
        let many: Vec<Link> = (0..20).map(|i| link(i, &format!("eth{i}"), 0, 0)).collect();
        history.record(&many, t0, 0);
        history.record(&many, t0 + Duration::from_secs(2), 2);
        assert_eq!(history.series("", "").len(), 8);
    }
}
