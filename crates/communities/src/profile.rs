//! Hours-of-day and weekday profiles: the rhythm of a community (or the network), from hourly
//! data only, with growth taken out.
//!
//! A plain mean per hour over every snapshot lies twice: hours that happen to have snapshots
//! only in a later, larger year look busier, and days with a snapshot or two (one a day in
//! early history) weigh in as if they were whole. So each value is relative to its own day:
//!
//! - **Hours of day** (UTC): a day counts when at least [`MIN_HOURS`] of its hours have a
//!   fresh value; each of its hours is divided by the mean of that day's hours (1 = the
//!   day's mean). An hour's profile value is the mean of those ratios over the days that
//!   have it, shown only when [`MIN_SAMPLES`] days do.
//! - **Weekdays** (Monday first, UTC days): a week (Monday to Sunday) counts when all seven
//!   of its days count as above; each day's mean is divided by the week's mean. A weekday's
//!   value is the mean over those weeks, shown when [`MIN_SAMPLES`] weeks have it.
//!
//! Growth within one day or week is small beside the rhythm, and dividing by the day's (the
//! week's) own mean takes out the growth between them. Values count fresh nodes only (the
//! stores' series leave carried-forward data out); a community that stops reporting for a
//! week lowers the network's level for that week, which the division takes out too, but one
//! that stops or starts within a day would be a step inside it: a day whose carried-forward
//! share of nodes changes by [`STALE_MATERIAL`] or more does not count.

use serde::{Deserialize, Serialize};

use crate::query::{Point, STALE_MATERIAL};

/// Hours with a fresh value a day needs to count.
pub const MIN_HOURS: usize = 20;
/// Days (weeks) a profile value needs to be shown.
pub const MIN_SAMPLES: u32 = 3;

const DAY: i64 = 86_400;

/// A profile: one value per hour of day (24) or weekday (7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The community, or `None` for the whole network.
    pub community: Option<String>,
    /// Each slot relative to its day's (week's) mean: 1 is the mean, 1.05 five percent above.
    /// `None` where fewer than [`MIN_SAMPLES`] days (weeks) have the slot.
    pub values: Vec<Option<f64>>,
    /// The days (hours profile) or weeks (weekday profile) behind each value.
    pub samples: Vec<u32>,
    /// The days (weeks) that counted.
    pub counted: u32,
    /// The first and the last day that counted (Unix seconds, midnight UTC), if any did.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Profile {
    /// A profile with no data (`slots` gaps).
    pub fn empty(community: Option<&str>, slots: usize) -> Profile {
        Profile {
            community: community.map(str::to_owned),
            values: vec![None; slots],
            samples: vec![0; slots],
            counted: 0,
            from: None,
            to: None,
        }
    }

    /// Whether any slot has a value.
    pub fn has_data(&self) -> bool {
        self.values.iter().any(Option::is_some)
    }
}

/// One UTC day's fresh hourly values, and the range of its carried-forward shares.
struct Day {
    start: i64,
    hours: [Option<f64>; 24],
    stale_low: f64,
    stale_high: f64,
}

impl Day {
    fn new(start: i64) -> Day {
        Day {
            start,
            hours: [None; 24],
            stale_low: 1.0,
            stale_high: 0.0,
        }
    }

    /// The day's mean, when the day counts.
    fn mean(&self) -> Option<f64> {
        let values: Vec<f64> = self.hours.iter().flatten().copied().collect();
        if values.len() < MIN_HOURS || self.stale_high - self.stale_low >= STALE_MATERIAL {
            return None;
        }
        #[allow(clippy::cast_precision_loss, reason = "at most 24 values")]
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        (mean > 0.0).then_some(mean)
    }
}

/// The days of hourly points (in time order, as a store's hourly series gives them).
fn days(points: &[Point]) -> Vec<Day> {
    let mut days: Vec<Day> = Vec::new();
    for p in points {
        let start = p.t.div_euclid(DAY) * DAY;
        if days.last().is_none_or(|d| d.start != start) {
            days.push(Day::new(start));
        }
        let Some(day) = days.last_mut() else { break };
        let hour = usize::try_from((p.t - start) / 3600).unwrap_or(0).min(23);
        day.hours[hour] = p.value;
        day.stale_low = day.stale_low.min(p.stale_share);
        day.stale_high = day.stale_high.max(p.stale_share);
    }
    days
}

/// Means of ratios per slot, with the samples behind each.
struct Slots {
    sums: Vec<f64>,
    samples: Vec<u32>,
    counted: u32,
    from: Option<i64>,
    to: Option<i64>,
}

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            sums: vec![0.0; n],
            samples: vec![0; n],
            counted: 0,
            from: None,
            to: None,
        }
    }

    fn add(&mut self, slot: usize, ratio: f64) {
        self.sums[slot] += ratio;
        self.samples[slot] += 1;
    }

    /// A day (week) from `first_day` to `last_day` counted.
    fn counted(&mut self, first_day: i64, last_day: i64) {
        self.counted += 1;
        self.from = Some(self.from.map_or(first_day, |f| f.min(first_day)));
        self.to = Some(self.to.map_or(last_day, |t| t.max(last_day)));
    }

    fn profile(self, community: Option<&str>) -> Profile {
        Profile {
            community: community.map(str::to_owned),
            values: self
                .sums
                .iter()
                .zip(&self.samples)
                .map(|(sum, &n)| (n >= MIN_SAMPLES).then(|| sum / f64::from(n)))
                .collect(),
            samples: self.samples,
            counted: self.counted,
            from: self.from,
            to: self.to,
        }
    }
}

/// The hours-of-day profile of hourly points.
pub fn hours_of_day(community: Option<&str>, points: &[Point]) -> Profile {
    let mut slots = Slots::new(24);
    for day in days(points) {
        let Some(mean) = day.mean() else { continue };
        for (hour, value) in day.hours.iter().enumerate() {
            if let Some(v) = value {
                slots.add(hour, v / mean);
            }
        }
        slots.counted(day.start, day.start);
    }
    slots.profile(community)
}

/// The weekday profile of hourly points.
pub fn weekdays(community: Option<&str>, points: &[Point]) -> Profile {
    let mut slots = Slots::new(7);
    let mut week: Vec<(i64, f64)> = Vec::new();
    let flush = |week: &mut Vec<(i64, f64)>, slots: &mut Slots| {
        if week.len() == 7 {
            let mean = week.iter().map(|(_, m)| m).sum::<f64>() / 7.0;
            for (i, (_, m)) in week.iter().enumerate() {
                slots.add(i, m / mean);
            }
            slots.counted(week[0].0, week[6].0);
        }
        week.clear();
    };
    for day in days(points) {
        let Some(mean) = day.mean() else { continue };
        let weekday = weekday(day.start);
        // A day that does not follow the last one in the same week starts a new week (an
        // incomplete one is passed over).
        let follows = week
            .last()
            .is_some_and(|(start, _)| day.start == start + DAY && weekday > 0);
        if !follows {
            flush(&mut week, &mut slots);
        }
        if weekday == week.len() {
            week.push((day.start, mean));
        }
    }
    flush(&mut week, &mut slots);
    slots.profile(community)
}

/// Monday = 0 (1970-01-01 was a Thursday).
fn weekday(day_start: i64) -> usize {
    usize::try_from((day_start.div_euclid(DAY) + 3).rem_euclid(7)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2016-02-01, a Monday.
    const MONDAY: i64 = 1_454_284_800;

    fn point(t: i64, value: f64) -> Point {
        Point {
            t,
            value: Some(value),
            stale: false,
            stale_share: 0.0,
        }
    }

    /// A community that grows by 1 % a day, is twice as busy at 20:00 as at 08:00 (a
    /// sine around the day's level) and a fifth busier on Saturdays and Sundays.
    fn rhythm(days: i64) -> Vec<Point> {
        let mut points = Vec::new();
        for d in 0..days {
            #[allow(clippy::cast_precision_loss, reason = "test")]
            let level = 100.0 * 1.01_f64.powf(d as f64);
            let weekend = if weekday(MONDAY + d * DAY) >= 5 {
                1.2
            } else {
                1.0
            };
            for h in 0..24 {
                #[allow(clippy::cast_precision_loss, reason = "test")]
                let daily = 1.0 + (std::f64::consts::TAU * (h as f64 - 14.0) / 24.0).sin() / 3.0;
                points.push(point(MONDAY + d * DAY + h * 3600, level * weekend * daily));
            }
        }
        points
    }

    #[test]
    fn hours_are_relative_to_their_day_and_growth_does_not_show() {
        let p = hours_of_day(Some("x"), &rhythm(28));
        assert_eq!(p.samples, vec![28; 24]);
        assert_eq!(p.counted, 28);
        let v: Vec<f64> = p.values.iter().map(|v| v.unwrap()).collect();
        // Every day's hours are the same shape around 1: the profile is that shape exactly,
        // whatever the growth.
        assert!((v[20] - (1.0 + 1.0 / 3.0)).abs() < 1e-9, "{v:?}");
        assert!((v[8] - (1.0 - 1.0 / 3.0)).abs() < 1e-9, "{v:?}");
        assert!((v.iter().sum::<f64>() / 24.0 - 1.0).abs() < 1e-9);
        assert_eq!((p.from, p.to), (Some(MONDAY), Some(MONDAY + 27 * DAY)));
    }

    #[test]
    fn the_weekend_shows_and_growth_does_not() {
        let p = weekdays(None, &rhythm(28));
        assert_eq!(p.samples, vec![4; 7]);
        assert_eq!(p.counted, 4);
        let v: Vec<f64> = p.values.iter().map(|v| v.unwrap()).collect();
        // Saturday and Sunday above the week's mean, the working days below, by about the
        // weekend's fifth (growth within a week tilts the week by a few percent at most).
        assert!(v[5] > 1.1 && v[6] > 1.1, "{v:?}");
        assert!(v[..5].iter().all(|x| *x < 0.97), "{v:?}");
        assert!((v[6] / v[5] - 1.01).abs() < 1e-6, "one day's growth: {v:?}");
    }

    #[test]
    fn thin_days_and_weeks_are_gaps_with_their_samples() {
        // A day with a snapshot at noon only, like early history: it does not count.
        let mut points = vec![point(MONDAY - 7 * DAY + 12 * 3600, 50.0)];
        // Two whole days, then a day missing its evening hours (19 of 24: not enough).
        points.extend(rhythm(2));
        points.extend((0..19).map(|h| point(MONDAY + 2 * DAY + h * 3600, 100.0)));
        let p = hours_of_day(None, &points);
        assert_eq!(p.samples, vec![2; 24]);
        assert_eq!(p.counted, 2);
        assert!(!p.has_data(), "2 days < {MIN_SAMPLES}: {p:?}");
        assert_eq!((p.from, p.to), (Some(MONDAY), Some(MONDAY + DAY)));
        // No whole week: every weekday a gap, no period.
        let w = weekdays(None, &points);
        assert_eq!(w, Profile::empty(None, 7));
    }

    #[test]
    fn carried_forward_hours_and_missing_counts_are_left_out() {
        let mut points = rhythm(7);
        // A Wednesday on which half the network stops reporting at 17:00 (a step down).
        for p in &mut points[2 * 24 + 17..2 * 24 + 24] {
            p.value = p.value.map(|v| v / 2.0);
            p.stale_share = 0.5;
        }
        // A Friday on which a third of it is carried forward all day: the level is lower
        // all day, the day's rhythm the same.
        for p in &mut points[4 * 24..5 * 24] {
            p.value = p.value.map(|v| v * 2.0 / 3.0);
            p.stale_share = 1.0 / 3.0;
        }
        points[3 * 24 + 5].value = None;
        let p = hours_of_day(None, &points);
        // Wednesday does not count; Friday does; Thursday lost one hour but counts.
        assert_eq!(p.samples[4], 6);
        assert_eq!(p.samples[5], 5);
        assert_eq!(p.samples[20], 6);
        // Friday's lower level does not show; Thursday's missing hour moves its mean by 1 %.
        let exact = hours_of_day(None, &rhythm(7));
        assert!(
            (p.values[20].unwrap() - exact.values[20].unwrap()).abs() < 0.005,
            "{p:?}"
        );
        // The week is incomplete without Wednesday.
        assert!(!weekdays(None, &points).has_data());
    }

    #[test]
    fn nothing_at_all() {
        assert_eq!(hours_of_day(Some("k"), &[]), Profile::empty(Some("k"), 24));
        assert_eq!(weekdays(None, &[]), Profile::empty(None, 7));
    }
}
