//! The rollups both stores keep, computed the same way for each: a batch's additions gathered
//! in memory (sums, not means, so rollups grow by addition as snapshots arrive in any order),
//! and the answers assembled from the rows a store reads back.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use crate::colors;
use crate::prepare::PreparedEntry;
use crate::query::{Point, ProtocolSeries, Resolution, RoutingSeries};

/// One snapshot's network totals.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Totals {
    pub entries: i64,
    pub fresh: i64,
    pub nodes: i64,
    pub nodes_all: i64,
}

impl Totals {
    pub fn add(&mut self, e: &PreparedEntry) {
        self.entries += 1;
        let nodes = e.facts.nodes.unwrap_or(0);
        self.nodes_all += nodes;
        if !e.facts.stale {
            self.fresh += 1;
            self.nodes += nodes;
        }
    }
}

/// A batch's rollup additions, one per key; `C` names a community (a row id, or the key).
pub(crate) struct Sums<C> {
    /// Snapshot times already counted in this batch.
    pub seen: HashSet<i64>,
    /// (res, bucket) → [n, nodes, nodes_all, fresh, stale]
    pub net: HashMap<(i64, i64), [i64; 5]>,
    /// (community, res, bucket) → [n, n_nodes, nodes, n_stale], for days and months
    pub series: HashMap<(C, i64, i64), [i64; 4]>,
    /// (res, bucket, protocol) → communities using it
    pub routing: HashMap<(i64, i64, String), i64>,
}

impl<C> Default for Sums<C> {
    fn default() -> Self {
        Sums {
            seen: HashSet::new(),
            net: HashMap::new(),
            series: HashMap::new(),
            routing: HashMap::new(),
        }
    }
}

impl<C: Hash + Eq + Clone> Sums<C> {
    /// Counts a snapshot's totals.
    pub fn network(&mut self, ts: i64, t: &Totals) {
        for res in Resolution::ALL {
            let s = self.net.entry((res.code(), res.bucket(ts))).or_default();
            s[0] += 1;
            s[1] += t.nodes;
            s[2] += t.nodes_all;
            s[3] += t.fresh;
            s[4] += t.entries - t.fresh;
        }
    }

    /// Counts one community's entry in a snapshot, with the routing protocols it uses.
    pub fn community(&mut self, community: &C, ts: i64, e: &PreparedEntry) {
        let fresh_nodes = e.facts.nodes.filter(|_| !e.facts.stale);
        for res in [Resolution::Day, Resolution::Month] {
            let s = self
                .series
                .entry((community.clone(), res.code(), res.bucket(ts)))
                .or_default();
            s[0] += 1;
            if let Some(n) = fresh_nodes {
                s[1] += 1;
                s[2] += n;
            }
            s[3] += i64::from(e.facts.stale);
        }
        if !e.facts.stale {
            for protocol in &e.facts.routing {
                for res in Resolution::ALL {
                    *self
                        .routing
                        .entry((res.code(), res.bucket(ts), protocol.clone()))
                        .or_default() += 1;
                }
            }
        }
    }
}

#[allow(clippy::cast_precision_loss, reason = "node sums stay far below 2^52")]
pub(crate) fn mean(sum: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

/// Hourly points from a community's observations (time, nodes, stale) in time order: several
/// snapshots in one hour become one point, their mean.
pub(crate) fn hour_points(rows: impl IntoIterator<Item = (i64, Option<i64>, bool)>) -> Vec<Point> {
    // (bucket, node sum, counted snapshots, stale snapshots, snapshots)
    let mut points: Vec<(i64, i64, i64, i64, i64)> = Vec::new();
    for (ts, nodes, stale) in rows {
        let t = Resolution::Hour.bucket(ts);
        let (sum, n) = nodes.filter(|_| !stale).map_or((0, 0), |v| (v, 1));
        let stale = i64::from(stale);
        match points.last_mut() {
            Some(p) if p.0 == t => {
                p.1 += sum;
                p.2 += n;
                p.3 += stale;
                p.4 += 1;
            }
            _ => points.push((t, sum, n, stale, 1)),
        }
    }
    points
        .into_iter()
        .map(|(t, sum, n, stale, snapshots)| Point {
            t,
            value: mean(sum, n),
            stale: stale > 0,
            stale_share: crate::query::snapshots_share(stale, snapshots),
        })
        .collect()
}

/// The routing chart from the network rollup's (bucket, snapshots) in bucket order and the
/// routing rollup's (bucket, protocol, count) rows.
pub(crate) fn routing_series(
    res: Resolution,
    buckets: Vec<(i64, i64)>,
    counts: impl IntoIterator<Item = (i64, String, i64)>,
) -> RoutingSeries {
    let (t, n): (Vec<i64>, Vec<i64>) = buckets.into_iter().unzip();
    let index: HashMap<i64, usize> = t.iter().enumerate().map(|(i, b)| (*b, i)).collect();
    let mut by_protocol: HashMap<String, Vec<f64>> = HashMap::new();
    for (bucket, protocol, count) in counts {
        if let Some(&i) = index.get(&bucket) {
            let values = by_protocol
                .entry(protocol)
                .or_insert_with(|| vec![0.0; t.len()]);
            values[i] = mean(count, n[i]).unwrap_or(0.0);
        }
    }
    let mut protocols: Vec<ProtocolSeries> = by_protocol
        .into_iter()
        .map(|(protocol, values)| ProtocolSeries {
            label: crate::model::routing_label(&protocol).to_owned(),
            color: String::new(),
            protocol,
            values,
        })
        .collect();
    protocols.sort_by(|a, b| colors::order(&a.protocol, &b.protocol));
    // The colours of the protocols on this chart, told apart from each other.
    let names: Vec<&str> = protocols.iter().map(|p| p.protocol.as_str()).collect();
    let assigned = colors::assign(&names);
    for (p, color) in protocols.iter_mut().zip(assigned) {
        p.color = color;
    }
    RoutingSeries {
        resolution: res,
        t,
        protocols,
    }
}
