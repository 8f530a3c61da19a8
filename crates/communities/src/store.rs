//! What every store offers: [`Sink`], what an import writes into, and [`Read`], the queries
//! the API and the pages ask. [`crate::sqlite`] is the embedded store; [`crate::mongo`] (cargo
//! feature `mongodb`) the one for a site at scale. Both hold the same rollups and answer the
//! same questions the same way (`tests/store.rs` runs one suite against both).

use std::path::PathBuf;

use crate::prepare::Prepared;
use crate::profile::{self, Profile};
use crate::query::{
    CommunityDetail, CommunitySummary, Extent, NetworkMetric, Resolution, RoutingSeries, Series,
    Top,
};

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// (Not the error's source as well: messages would say it twice.)
    #[cfg(feature = "mongodb")]
    #[error("MongoDB: {}", .0.kind)]
    Mongo(Box<mongodb::error::Error>),
    /// A MongoDB reply that is not what the command promises (a write error, a missing field).
    #[error("MongoDB: {0}")]
    Reply(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the store at {path} has schema version {found}; this Portico reads version {expected}"
    )]
    Version {
        path: PathBuf,
        found: i64,
        expected: i64,
    },
}

#[cfg(feature = "mongodb")]
impl From<mongodb::error::Error> for StoreError {
    fn from(e: mongodb::error::Error) -> StoreError {
        StoreError::Mongo(Box::new(e))
    }
}

/// What one [`Sink::write`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub snapshots: usize,
    /// Snapshots whose time was already in the store.
    pub already_present: usize,
    pub entries: usize,
}

/// A time range, inclusive of both ends (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
}

impl Range {
    pub const ALL: Range = Range {
        from: i64::MIN,
        to: i64::MAX,
    };
}

/// Where an import writes. A batch is written whole or not at all; a snapshot already present
/// (by time) is skipped, so an import run again, or after a kill, ends where an uninterrupted
/// one would.
pub trait Sink {
    /// Whether a snapshot taken at `ts` is already in the store.
    ///
    /// # Errors
    /// Store failures.
    fn contains(&self, ts: i64) -> Result<bool, StoreError>;

    /// Writes a batch of snapshots with every rollup.
    ///
    /// # Errors
    /// Store failures; then nothing of the batch counts.
    fn write(&mut self, batch: &[Prepared]) -> Result<Written, StoreError>;
}

/// The queries. Means are over the snapshots in a bucket; node counts and community counts
/// use fresh data (entries the collector carried forward are stale).
///
/// # Errors
/// Every query fails only with store failures; an unknown community is `Ok(None)`.
#[allow(clippy::missing_errors_doc, reason = "documented once, on the trait")]
pub trait Read {
    /// The first and last snapshot's time, and the number of communities: cheap, for every
    /// request ([`Read::extent`] also counts entries).
    fn span(&self) -> Result<(Option<i64>, Option<i64>, i64), StoreError>;
    /// What the store holds.
    fn extent(&self) -> Result<Extent, StoreError>;
    /// A hash of everything the store holds, independent of the order, batches or
    /// interruptions its imports went through (comparable within one kind of store).
    fn digest(&self) -> Result<String, StoreError>;
    /// Every community with its latest state, largest first.
    fn communities(&self) -> Result<Vec<CommunitySummary>, StoreError>;
    /// One community with its latest entry.
    fn community(&self, key: &str) -> Result<Option<CommunityDetail>, StoreError>;
    /// A community's entry at the latest snapshot at or before `at`, every field as it came.
    fn entry_at(&self, key: &str, at: i64) -> Result<Option<(i64, serde_json::Value)>, StoreError>;
    /// A community's node series.
    fn community_series(
        &self,
        key: &str,
        range: Range,
        res: Resolution,
    ) -> Result<Option<Series>, StoreError>;
    /// A network-wide series.
    fn network_series(
        &self,
        metric: NetworkMetric,
        range: Range,
        res: Resolution,
    ) -> Result<Series, StoreError>;
    /// The `n` largest communities by nodes at the latest snapshot at or before `at`; `None`
    /// when there is no snapshot that early.
    fn top(&self, at: i64, n: usize) -> Result<Option<Top>, StoreError>;
    /// Communities per routing protocol, protocols in the colour table's order.
    fn routing_series(&self, range: Range, res: Resolution) -> Result<RoutingSeries, StoreError>;
    /// Since when a community's API file has not been fetched: the first hour of the run of
    /// carried-forward entries its history ends with (`None` when its latest entry is fresh).
    /// Read backwards from its last snapshot, a week at first, twice as far each time.
    fn down_since(&self, c: &CommunitySummary) -> Result<Option<i64>, StoreError> {
        if !c.stale {
            return Ok(None);
        }
        let mut span: i64 = 7 * 86_400;
        loop {
            let from = c.last_seen.saturating_sub(span).max(c.first_seen);
            let range = Range {
                from,
                to: c.last_seen,
            };
            let Some(series) = self.community_series(&c.key, range, Resolution::Hour)? else {
                return Ok(None);
            };
            let mut since = None;
            for p in series.points.iter().rev() {
                if p.stale_share < 1.0 {
                    return Ok(since);
                }
                since = Some(p.t);
            }
            if from <= c.first_seen {
                return Ok(since);
            }
            span = span.saturating_mul(2);
        }
    }
    /// The rhythm by hour of day (UTC), for a community or (`None`) the network, from the
    /// hourly series in `range` ([`crate::profile`]).
    fn hours_of_day(
        &self,
        community: Option<&str>,
        range: Range,
    ) -> Result<Option<Profile>, StoreError> {
        Ok(hourly(self, community, range)?.map(|s| profile::hours_of_day(community, &s.points)))
    }
    /// The rhythm by weekday (Monday first), likewise.
    fn weekdays(
        &self,
        community: Option<&str>,
        range: Range,
    ) -> Result<Option<Profile>, StoreError> {
        Ok(hourly(self, community, range)?.map(|s| profile::weekdays(community, &s.points)))
    }
}

/// A community's (or the network's) node series by hour.
fn hourly<R: Read + ?Sized>(
    r: &R,
    community: Option<&str>,
    range: Range,
) -> Result<Option<Series>, StoreError> {
    match community {
        None => r
            .network_series(NetworkMetric::Nodes, range, Resolution::Hour)
            .map(Some),
        Some(key) => r.community_series(key, range, Resolution::Hour),
    }
}
