//! Realistic history from one real snapshot (the 2014–2024 archive is not available here).
//!
//! Every community gets a plan drawn from a seeded generator: when it appears (and maybe
//! leaves), a logistic growth towards a plateau (its node count in the real snapshot, or a
//! derived one), for some a stall and decline, when it starts reporting node counts, its
//! schema history (routing as a string under 0.3.0, a list from 0.4, `location.geoCode` from
//! 0.5), sometimes a change of routing protocol, and episodes when the collector could not
//! fetch it (the previous entry carried forward with `etime` and `error`). Node counts follow
//! a daily rhythm (more in the evening) and a weekend bump. The network's total follows the
//! published one ([`network_total`]): each day's counts are scaled so that their sum is that
//! day's total, whatever the plans add up to, so a real snapshot mixed in is not a spike. Snapshot `i` is a pure function of
//! the seed, the base snapshot and `i`, so it can be made in parallel and is the same on every
//! run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::model::Entry;

/// What to make.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub years: u32,
    /// One snapshot an hour (else one a day, as the previous attempt's daily collection).
    pub hourly: bool,
    pub seed: u64,
    /// Communities in all (the real ones, then derived districts).
    pub communities: usize,
    /// The first snapshot's day (Unix seconds; the collector ran at minute 1, second 1).
    pub start: i64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            years: 1,
            hourly: false,
            seed: 1,
            communities: 400,
            start: 1_388_534_400,
        } // 2014-01-01
    }
}

const YEAR: f64 = 365.25 * 86_400.0;
/// 0.3.0 → 0.4.x switch window, and the 0.5.3 upgrades.
const SCHEMA_04: (f64, f64) = (1_420_070_400.0, 1_483_228_800.0); // 2015 – 2017
const SCHEMA_05: (f64, f64) = (1_577_836_800.0, 1_672_531_200.0); // 2020 – 2023

const DISTRICTS: [&str; 8] = [
    "Nord", "Süd", "Ost", "West", "Mitte", "Land", "Altstadt", "Hafen",
];

#[derive(Debug, Clone)]
struct Plan {
    key: String,
    base: Map<String, Value>,
    appear: f64,
    leave: f64,
    plateau: f64,
    half: f64,
    width: f64,
    /// Decline from this time to `decline_to` × plateau over two years.
    stall: f64,
    decline_to: f64,
    reports_nodes_from: f64,
    schema_04: f64,
    schema_05: f64,
    /// Routing switches to Babel at this time (OLSR communities only).
    switch_to_babel: f64,
    /// (start, end) of failed fetches.
    failures: Vec<(f64, f64)>,
}

/// The generator.
pub struct Synth {
    plans: Vec<Plan>,
    options: Options,
    count: usize,
    /// Per day from the start: the factor that brings the plans' sum to [`network_total`].
    scale: Vec<f64>,
}

/// Nodes in the whole network at `t` (Unix seconds), as published: 2,669 on 2014-03-10 and
/// 29,770 on 2016-03-23 (the sum of the counts in that day's real snapshot), on a logistic
/// curve through both that levels off at 42,000 (the network's size in its later years).
pub fn network_total(t: f64) -> f64 {
    const CEILING: f64 = 42_000.0;
    const FIRST: (f64, f64) = (1_394_409_600.0, 2_669.0); // 2014-03-10
    const SECOND: (f64, f64) = (1_458_691_200.0, 29_770.0); // 2016-03-23
    let logit = |n: f64| (n / (CEILING - n)).ln();
    let width = (SECOND.0 - FIRST.0) / (logit(SECOND.1) - logit(FIRST.1));
    let middle = SECOND.0 - logit(SECOND.1) * width;
    CEILING / (1.0 + (-(t - middle) / width).exp())
}

impl Synth {
    /// Plans the history from a real snapshot's top-level object.
    pub fn new(base: &Map<String, Value>, options: Options) -> Synth {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        #[allow(clippy::cast_precision_loss, reason = "small counts")]
        let (start, end) = (
            options.start as f64,
            options.start as f64 + f64::from(options.years) * YEAR,
        );
        let mut originals: Vec<(&String, &Map<String, Value>)> = base
            .iter()
            .filter_map(|(k, v)| v.as_object().map(|o| (k, o)))
            .collect();
        originals.sort_by(|a, b| a.0.cmp(b.0));
        let mut plans = Vec::with_capacity(options.communities.max(originals.len()));
        for i in 0..options.communities.max(1) {
            let Some(&(key, entry)) = originals.get(i % originals.len().max(1)) else {
                break;
            };
            let (key, entry) = if i < originals.len() {
                (key.clone(), entry.clone())
            } else {
                derive(key, entry, i / originals.len(), &mut rng)
            };
            plans.push(plan(key, entry, start, end, &mut rng));
        }
        let step = if options.hourly { 3600.0 } else { 86_400.0 };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "positive and small"
        )]
        let count = ((end - start) / step).floor() as usize;
        let scale = calibrate(&plans, start, end);
        Synth {
            plans,
            options,
            count,
            scale,
        }
    }

    /// The day's factor for the node counts at `t`.
    fn scale_at(&self, t: f64) -> f64 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a day index"
        )]
        let day = ((t - self.start()) / 86_400.0).floor().max(0.0) as usize;
        self.scale
            .get(day.min(self.scale.len().saturating_sub(1)))
            .copied()
            .unwrap_or(1.0)
    }

    #[allow(clippy::cast_precision_loss, reason = "Unix seconds fit")]
    fn start(&self) -> f64 {
        self.options.start as f64
    }

    /// Snapshots in the history.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// When snapshot `i` was taken (Unix seconds).
    pub fn ts(&self, i: usize) -> i64 {
        let step: i64 = if self.options.hourly { 3600 } else { 86_400 };
        self.options.start + i64::try_from(i).unwrap_or(0) * step + 61
    }

    /// Snapshot `i`: the summary file's top-level object.
    pub fn snapshot(&self, i: usize) -> Map<String, Value> {
        let ts = self.ts(i);
        #[allow(clippy::cast_precision_loss, reason = "Unix seconds fit")]
        let t = ts as f64;
        let mut top = Map::new();
        for (c, plan) in self.plans.iter().enumerate() {
            if t < plan.appear || t >= plan.leave {
                continue;
            }
            let entry = match plan.failures.iter().find(|(a, b)| t >= *a && t < *b) {
                Some(&(failed_at, _)) if failed_at > plan.appear => {
                    // Carried forward: the entry of the last good fetch, plus the error.
                    let last_good = self.last_good(failed_at);
                    #[allow(clippy::cast_possible_truncation, reason = "Unix seconds")]
                    let mut e = self.entry(plan, c, last_good, (last_good.max(0.0)) as i64);
                    e.insert("etime".into(), Value::String(mtime(ts, 0)));
                    e.insert(
                        "error".into(),
                        Value::String("could not fetch the API file (timeout)".into()),
                    );
                    e
                }
                _ => self.entry(plan, c, t, ts),
            };
            top.insert(plan.key.clone(), Value::Object(entry));
        }
        top
    }

    /// The time of the snapshot before `t`.
    fn last_good(&self, t: f64) -> f64 {
        let step = if self.options.hourly {
            3600.0
        } else {
            86_400.0
        };
        t - step
    }

    #[allow(
        clippy::cast_possible_truncation,
        reason = "offsets of seconds and microseconds"
    )]
    fn entry(&self, plan: &Plan, index: usize, at: f64, ts: i64) -> Map<String, Value> {
        let mut e = plan.base.clone();
        let noise = |salt: u64| {
            let h = xxhash_rust::xxh3::xxh3_64_with_seed(
                &ts.to_le_bytes(),
                self.options.seed ^ (index as u64) << 8 ^ salt,
            );
            #[allow(clippy::cast_precision_loss, reason = "a unit-interval sample")]
            let u = (h >> 11) as f64 / (1_u64 << 53) as f64;
            u
        };
        e.insert(
            "mtime".into(),
            Value::String(mtime(ts, (noise(1) * 60e6) as i64)),
        );
        let state = e.entry("state").or_insert_with(|| json!({}));
        if let Value::Object(state) = state {
            state.remove("nodes");
            if at >= plan.reports_nodes_from {
                let n = nodes(plan, at, noise(2), self.scale_at(at));
                state.insert("nodes".into(), json!(n));
                let changed = ts - (noise(3) * 1800.0) as i64;
                state.insert("lastchange".into(), Value::String(lastchange(changed)));
            }
        }
        let routing = routing(plan, at);
        e.entry("techDetails").or_insert_with(|| json!({}));
        if at < plan.schema_04 {
            e.insert("api".into(), json!("0.3.0"));
            if let Some(Value::Object(tech)) = e.get_mut("techDetails") {
                let old = routing.first().map_or("", |r| match r.as_str() {
                    "batman-adv" => "BATMAN",
                    "olsr" => "OLSR",
                    "olsrv2" => "OLSRv2",
                    "babel" => "Babel",
                    other => other,
                });
                tech.insert("routing".into(), json!(old));
            }
        } else {
            if let Some(Value::Object(tech)) = e.get_mut("techDetails") {
                tech.insert("routing".into(), json!(routing));
            }
            if at >= plan.schema_05 {
                e.insert("api".into(), json!("0.5.3"));
                if let Some(Value::Object(location)) = e.get_mut("location")
                    && let (Some(lat), Some(lon)) = (location.remove("lat"), location.remove("lon"))
                {
                    location.insert("geoCode".into(), json!({"lat": lat, "lon": lon}));
                }
            }
        }
        e
    }
}

fn routing(plan: &Plan, t: f64) -> Vec<String> {
    let mut names: Vec<String> = Entry::parse("", Value::Object(plan.base.clone()))
        .map(|e| e.facts.routing)
        .unwrap_or_default();
    if names.is_empty() {
        names.push("batman-adv".into());
    }
    if t >= plan.switch_to_babel {
        names = vec!["babel".into()];
    }
    names
        .into_iter()
        .map(|n| match n.as_str() {
            "olsr" => "OLSR".into(),
            "olsrv2" => "OLSRv2".into(),
            "babel" => "Babel".into(),
            _ => n,
        })
        .collect()
}

/// A plan's nodes at `t` before the rhythm and the day's scale: its growth and decline.
fn trend(plan: &Plan, t: f64) -> f64 {
    let growth = 1.0 / (1.0 + (-(t - plan.half) / plan.width).exp());
    let decline = if t > plan.stall {
        let k = ((t - plan.stall) / (2.0 * YEAR)).min(1.0);
        1.0 - k * (1.0 - plan.decline_to)
    } else {
        1.0
    };
    plan.plateau * growth * decline
}

/// For each day from `start` to `end`, the factor that makes the reporting plans' trends add
/// up to [`network_total`] at noon (1 where nothing reports yet).
fn calibrate(plans: &[Plan], start: f64, end: f64) -> Vec<f64> {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a day count"
    )]
    let days = ((end - start) / 86_400.0).ceil().max(1.0) as usize;
    (0..days)
        .map(|day| {
            #[allow(clippy::cast_precision_loss, reason = "a day index")]
            let t = start + (day as f64 + 0.5) * 86_400.0;
            let sum: f64 = plans
                .iter()
                .filter(|p| t >= p.appear && t < p.leave && t >= p.reports_nodes_from)
                .map(|p| trend(p, t))
                .sum();
            if sum > 1.0 {
                network_total(t) / sum
            } else {
                1.0
            }
        })
        .collect()
}

fn nodes(plan: &Plan, t: f64, noise: f64, scale: f64) -> i64 {
    // Evening peak (20:00 UTC), a weekend bump, a little noise.
    let hour = (t.rem_euclid(86_400.0)) / 3600.0;
    let daily = 1.0 + 0.06 * ((hour - 20.0) / 24.0 * std::f64::consts::TAU).cos();
    let weekday = ((t / 86_400.0).floor() + 3.0).rem_euclid(7.0);
    let weekend = if weekday >= 5.0 { 1.02 } else { 1.0 };
    let value = trend(plan, t) * scale * daily * weekend * (0.985 + 0.03 * noise);
    #[allow(clippy::cast_possible_truncation, reason = "node counts are small")]
    let n = value.round().max(0.0) as i64;
    n
}

fn mtime(ts: i64, extra_us: i64) -> String {
    crate::source::format_mtime(ts * 1_000_000 + extra_us)
}

fn lastchange(ts: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

fn derive(
    key: &str,
    entry: &Map<String, Value>,
    generation: usize,
    rng: &mut ChaCha8Rng,
) -> (String, Map<String, Value>) {
    let district = DISTRICTS[(generation - 1) % DISTRICTS.len()];
    let suffix = if generation > DISTRICTS.len() {
        format!("{district}{generation}")
    } else {
        district.to_owned()
    };
    let key = format!("{key}-{}", suffix.to_lowercase().replace('ü', "ue"));
    let mut entry = entry.clone();
    let name = entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&key)
        .to_owned();
    entry.insert("name".into(), json!(format!("{name} {suffix}")));
    if let Some(Value::Object(location)) = entry.get_mut("location") {
        for (field, jitter) in [("lat", 0.2), ("lon", 0.3)] {
            if let Some(v) = location.get(field).and_then(Value::as_f64) {
                location.insert(field.into(), json!(v + rng.random_range(-jitter..jitter)));
            }
        }
    }
    if let Some(Value::Object(state)) = entry.get_mut("state")
        && let Some(n) = state.get("nodes").and_then(Value::as_f64)
    {
        #[allow(clippy::cast_possible_truncation, reason = "node counts are small")]
        let scaled = (n * rng.random_range(0.2..0.8)).round() as i64;
        state.insert("nodes".into(), json!(scaled));
    }
    (key, entry)
}

fn plan(key: String, base: Map<String, Value>, start: f64, end: f64, rng: &mut ChaCha8Rng) -> Plan {
    let span = end - start;
    let appear = if rng.random_bool(0.25) {
        start
    } else {
        rng.random_range(start..(end - span * 0.1).max(start + 1.0))
    };
    let leave = if rng.random_bool(0.08) {
        appear + YEAR + rng.random_range(0.0..span.max(1.0))
    } else {
        f64::INFINITY
    };
    let reported = base
        .get("state")
        .and_then(|s| s.get("nodes"))
        .and_then(Value::as_f64);
    #[allow(clippy::cast_precision_loss, reason = "small")]
    let plateau = reported
        .unwrap_or_else(|| rng.random_range(5.0_f64..120.0).round())
        .max(3.0)
        * rng.random_range(1.0..1.6);
    let reports = reported.is_some() || rng.random_bool(0.3);
    let olsr = Entry::parse("", Value::Object(base.clone()))
        .is_some_and(|e| e.facts.routing.iter().any(|r| r == "olsr"));
    // About two failure episodes a year.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small positive count"
    )]
    let episodes = rng.random_range(0..=((span / YEAR * 4.0).ceil() as u32).max(1));
    let mut failures = Vec::new();
    for _ in 0..episodes {
        let a = rng.random_range(appear..end.max(appear + 1.0));
        let length = match rng.random_range(0..100) {
            0..70 => rng.random_range(1.0..12.0) * 3600.0,
            70..95 => rng.random_range(1.0..7.0) * 86_400.0,
            _ => rng.random_range(14.0..56.0) * 86_400.0,
        };
        failures.push((a, a + length));
    }
    failures.sort_by(|a, b| a.0.total_cmp(&b.0));
    Plan {
        key,
        base,
        appear,
        leave,
        plateau,
        half: appear + rng.random_range(0.3..2.5) * YEAR,
        width: rng.random_range(0.1..0.5) * YEAR,
        stall: if rng.random_bool(0.3) {
            appear + rng.random_range(2.0..6.0) * YEAR
        } else {
            f64::INFINITY
        },
        decline_to: rng.random_range(0.4..0.85),
        reports_nodes_from: if reports {
            appear + rng.random_range(0.0..1.5) * YEAR
        } else {
            f64::INFINITY
        },
        schema_04: rng.random_range(SCHEMA_04.0..SCHEMA_04.1),
        schema_05: if rng.random_bool(0.4) {
            rng.random_range(SCHEMA_05.0..SCHEMA_05.1)
        } else {
            f64::INFINITY
        },
        switch_to_babel: if olsr && rng.random_bool(0.3) {
            rng.random_range(start..end.max(start + 1.0))
        } else {
            f64::INFINITY
        },
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22, item 12: the history's network total on the two days with published totals
    /// is within 10 % of them (hourly snapshots, the default number of communities).
    #[test]
    fn the_network_total_follows_the_published_one() {
        let base: Map<String, Value> = serde_json::from_slice(
            &std::fs::read(
                testdata::shared().join("fixtures/freifunk/20160323-19.01.01-ffSummarizedDir.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let synth = Synth::new(
            &base,
            Options {
                years: 3,
                hourly: true,
                ..Options::default()
            },
        );
        for (day, published) in [(1_394_409_600_i64, 2_669.0), (1_458_691_200, 29_770.0)] {
            let first = usize::try_from((day - synth.options.start) / 3600).unwrap();
            let totals: Vec<f64> = (first..first + 24)
                .map(|i| {
                    synth
                        .snapshot(i)
                        .values()
                        .filter_map(|e| e.get("state")?.get("nodes")?.as_f64())
                        .sum()
                })
                .collect();
            #[allow(clippy::cast_precision_loss, reason = "24")]
            let mean = totals.iter().sum::<f64>() / totals.len() as f64;
            eprintln!("day {day}: mean network total {mean:.0}, published {published}");
            assert!(
                (mean / published - 1.0).abs() < 0.1,
                "day {day}: {mean:.0} nodes against {published} published"
            );
            // The evening peak and the night's low stay.
            let (low, high) = totals
                .iter()
                .fold((f64::MAX, 0.0_f64), |(l, h), v| (l.min(*v), h.max(*v)));
            assert!(high > low * 1.05, "a daily rhythm: {low} .. {high}");
        }
    }
}
