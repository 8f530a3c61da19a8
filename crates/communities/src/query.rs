//! What the store answers: the types every store returns and the API serialises.

use serde::{Deserialize, Serialize};

/// The width of a series' buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Hour,
    Day,
    Month,
}

impl Resolution {
    /// All of them, finest first.
    pub const ALL: [Resolution; 3] = [Resolution::Hour, Resolution::Day, Resolution::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Hour => "hour",
            Resolution::Day => "day",
            Resolution::Month => "month",
        }
    }

    /// The stored code (kept stable: it is in the database).
    pub fn code(self) -> i64 {
        match self {
            Resolution::Hour => 0,
            Resolution::Day => 1,
            Resolution::Month => 2,
        }
    }

    /// The start of the bucket `ts` falls in (Unix seconds, UTC).
    pub fn bucket(self, ts: i64) -> i64 {
        match self {
            Resolution::Hour => ts.div_euclid(3600) * 3600,
            Resolution::Day => ts.div_euclid(86_400) * 86_400,
            Resolution::Month => month_start(ts),
        }
    }

    /// The resolution that keeps a chart over `span` seconds readable (at most ~400 points).
    pub fn for_span(span: i64) -> Resolution {
        if span <= 16 * 86_400 {
            Resolution::Hour
        } else if span <= 400 * 86_400 {
            Resolution::Day
        } else {
            Resolution::Month
        }
    }
}

impl std::str::FromStr for Resolution {
    type Err = ();
    fn from_str(s: &str) -> Result<Resolution, ()> {
        match s {
            "hour" => Ok(Resolution::Hour),
            "day" => Ok(Resolution::Day),
            "month" => Ok(Resolution::Month),
            _ => Err(()),
        }
    }
}

/// Unix seconds → (year, month, day), UTC (Howard Hinnant's `civil_from_days`).
pub fn civil(ts: i64) -> (i64, i64, i64) {
    let z = ts.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day), UTC → the Unix second it starts (`days_from_civil`).
pub fn midnight(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

/// The first second of the UTC month `ts` is in.
pub fn month_start(ts: i64) -> i64 {
    let (y, m, _) = civil(ts);
    midnight(y, m, 1)
}

/// The first second of the month after the one `ts` is in.
pub fn next_month(ts: i64) -> i64 {
    let (y, m, _) = civil(ts);
    if m == 12 {
        midnight(y + 1, 1, 1)
    } else {
        midnight(y, m + 1, 1)
    }
}

/// A network-wide metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMetric {
    /// Nodes reported by communities whose data was fresh.
    Nodes,
    /// Nodes including values the collector carried forward.
    NodesWithStale,
    /// Communities with fresh data.
    Communities,
    /// Communities whose entry was carried forward.
    StaleCommunities,
}

impl NetworkMetric {
    pub const ALL: [NetworkMetric; 4] = [
        NetworkMetric::Nodes,
        NetworkMetric::NodesWithStale,
        NetworkMetric::Communities,
        NetworkMetric::StaleCommunities,
    ];

    /// The network rollup's field (column) that sums it.
    pub fn rollup_field(self) -> &'static str {
        match self {
            NetworkMetric::Nodes => "nodes",
            NetworkMetric::NodesWithStale => "nodes_all",
            NetworkMetric::Communities => "fresh",
            NetworkMetric::StaleCommunities => "stale",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMetric::Nodes => "nodes",
            NetworkMetric::NodesWithStale => "nodes_with_stale",
            NetworkMetric::Communities => "communities",
            NetworkMetric::StaleCommunities => "stale_communities",
        }
    }
}

impl std::str::FromStr for NetworkMetric {
    type Err = ();
    fn from_str(s: &str) -> Result<NetworkMetric, ()> {
        NetworkMetric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or(())
    }
}

/// One bucket of a series. `value` is the mean over the bucket's snapshots; `None` when the
/// bucket has no fresh value (only carried-forward data, or no number reported).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Start of the bucket, Unix seconds.
    pub t: i64,
    pub value: Option<f64>,
    /// Some of the bucket's data was carried forward by the collector.
    pub stale: bool,
    /// How much of it: the share (0 to 1) of the bucket's nodes (network series) or snapshots
    /// (one community's series) that were carried forward.
    #[serde(default)]
    pub stale_share: f64,
}

/// From this share of carried-forward data on, a point is marked on charts (their legends say
/// so) and left out of the profiles ([`crate::profile`]).
pub const STALE_MATERIAL: f64 = 0.10;

/// The share of nodes carried forward in a network bucket: `nodes` fresh of `nodes_all`.
pub fn nodes_share(nodes: i64, nodes_all: i64) -> f64 {
    if nodes_all <= 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss, reason = "a share")]
    let share = (nodes_all - nodes).max(0) as f64 / nodes_all as f64;
    share.clamp(0.0, 1.0)
}

/// The share of snapshots carried forward in a community's bucket.
pub fn snapshots_share(stale: i64, snapshots: i64) -> f64 {
    if snapshots <= 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss, reason = "a share")]
    let share = stale.max(0) as f64 / snapshots as f64;
    share.clamp(0.0, 1.0)
}

/// A time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub metric: String,
    pub resolution: Resolution,
    pub points: Vec<Point>,
}

/// A community as listed (its latest state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommunitySummary {
    pub key: String,
    pub name: String,
    /// Nodes in its latest entry.
    pub nodes: Option<i64>,
    /// Its latest entry was carried forward.
    pub stale: bool,
    pub routing: Vec<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub api: Option<String>,
    /// First and latest snapshot it appears in (Unix seconds).
    pub first_seen: i64,
    pub last_seen: i64,
}

/// A community with its latest entry as the collector stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommunityDetail {
    #[serde(flatten)]
    pub summary: CommunitySummary,
    /// Snapshots it appears in, and how many of them were carried forward.
    pub snapshots: i64,
    pub stale_snapshots: i64,
    /// The latest entry, every field as it came.
    pub latest: serde_json::Value,
    /// The latest snapshot that had a node count, and the count: a community that reports
    /// now and then has one even when its latest entry has none.
    #[serde(default)]
    pub last_count: Option<LastCount>,
}

/// A node count and the snapshot it is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastCount {
    /// Unix seconds.
    pub at: i64,
    pub nodes: i64,
}

/// One line of a top list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    pub key: String,
    pub name: String,
    pub nodes: i64,
    pub stale: bool,
}

/// The largest communities at one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Top {
    /// The snapshot used: the latest at or before the time asked for.
    pub snapshot: i64,
    pub communities: Vec<Ranked>,
}

/// Communities per routing protocol over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingSeries {
    pub resolution: Resolution,
    /// Bucket starts, shared by every protocol.
    pub t: Vec<i64>,
    /// Protocols in the order of the colour table, each with one mean count per bucket.
    pub protocols: Vec<ProtocolSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolSeries {
    pub protocol: String,
    /// How the protocol is shown (`B.A.T.M.A.N. advanced`).
    pub label: String,
    /// From the one colour table ([`crate::colors`]).
    pub color: String,
    pub values: Vec<f64>,
}

/// What the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extent {
    pub snapshots: i64,
    pub communities: i64,
    pub community_snapshots: i64,
    /// First and last snapshot (Unix seconds), when there is any.
    pub first: Option<i64>,
    pub last: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_where_they_should() {
        let t = 1_458_759_661; // 2016-03-23T19:01:01Z
        assert_eq!(Resolution::Hour.bucket(t), 1_458_759_600);
        assert_eq!(Resolution::Day.bucket(t), 1_458_691_200);
        assert_eq!(Resolution::Month.bucket(t), 1_456_790_400); // 2016-03-01
        assert_eq!(next_month(t), 1_459_468_800); // 2016-04-01
        assert_eq!(next_month(1_481_000_000), 1_483_228_800); // December → January
        assert_eq!(civil(t), (2016, 3, 23));
        assert_eq!(midnight(2016, 3, 23), 1_458_691_200);
        for day in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil(day * 86_400);
            assert_eq!(midnight(y, m, d), day * 86_400);
        }
    }
}
