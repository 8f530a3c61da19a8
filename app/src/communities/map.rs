//! The map of communities: the outline shipped with the app (Natural Earth, see
//! `outline.tsv`), one circle per community sized by its nodes, each a link to its page.

use communities::query::CommunitySummary;
use leptos::prelude::*;

use crate::charts::format_count;

const OUTLINE: &str = include_str!("outline.tsv");
const WIDTH: f64 = 640.0;

/// The part of the world the map shows: the communities' extent with a margin, never smaller
/// than 4° × 3°, in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Bounds {
    pub fn around(points: &[CommunitySummary]) -> Bounds {
        let mut b = Bounds {
            west: f64::MAX,
            south: f64::MAX,
            east: f64::MIN,
            north: f64::MIN,
        };
        for c in points {
            if let (Some(lat), Some(lon)) = (c.lat, c.lon) {
                b.west = b.west.min(lon);
                b.east = b.east.max(lon);
                b.south = b.south.min(lat);
                b.north = b.north.max(lat);
            }
        }
        if b.west > b.east {
            // Nobody has a location: Central Europe, where Freifunk is.
            return Bounds {
                west: 5.0,
                south: 47.0,
                east: 16.0,
                north: 55.5,
            };
        }
        let (cx, cy) = (
            f64::midpoint(b.west, b.east),
            f64::midpoint(b.south, b.north),
        );
        let (w, h) = (
            ((b.east - b.west) * 1.1).max(4.0),
            ((b.north - b.south) * 1.1).max(3.0),
        );
        Bounds {
            west: cx - w / 2.0,
            east: cx + w / 2.0,
            south: cy - h / 2.0,
            north: cy + h / 2.0,
        }
    }

    /// Horizontal degrees shrink with latitude (equirectangular, true at the centre).
    fn x_factor(self) -> f64 {
        f64::midpoint(self.south, self.north).to_radians().cos()
    }

    fn scale(self) -> f64 {
        WIDTH / ((self.east - self.west) * self.x_factor())
    }

    pub fn height(self) -> f64 {
        (self.north - self.south) * self.scale()
    }

    fn project(self, lat: f64, lon: f64) -> (f64, f64) {
        let s = self.scale();
        (
            (lon - self.west) * self.x_factor() * s,
            (self.north - lat) * s,
        )
    }
}

/// A circle's radius for `nodes` of a largest `max` (its area grows with the count).
fn radius(nodes: i64, max: i64) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "node counts are small")]
    let share = nodes as f64 / max.max(1) as f64;
    2.5 + 18.0 * share.sqrt()
}

/// The smallest tap area around a community, across, in map units: 22 px where the map is
/// drawn on a phone (about half a pixel a unit), however small its circle.
const TAP: f64 = 44.0;

/// Room under the map for the size legend.
const LEGEND: f64 = 56.0;

/// Round counts for the size legend: the largest, about a tenth and a hundredth of it (1, 2 or
/// 5 times a power of ten), the ones a circle can still tell apart.
fn legend_counts(max: i64) -> Vec<i64> {
    let nice = |v: i64| {
        if v < 1 {
            return 0;
        }
        let mut p = 1;
        while p * 10 <= v {
            p *= 10;
        }
        [5, 2, 1]
            .into_iter()
            .map(|m| m * p)
            .find(|n| *n <= v)
            .unwrap_or(1)
    };
    let mut out = vec![nice(max), nice(max / 10), nice(max / 100)];
    out.retain(|v| *v >= 1);
    out.dedup();
    out
}

/// The map as SVG content; `href` makes each community's page link. Each community is a
/// circle sized by its nodes in a link (with a tap area of at least [`TAP`] under all circles,
/// and its name shown while it has the focus); the size legend is under the map.
pub fn map(
    points: &[CommunitySummary],
    color: &str,
    href: fn(&str) -> String,
) -> impl IntoView + use<> {
    let bounds = Bounds::around(points);
    let s = bounds.scale();
    let height = bounds.height();
    // The outline's degrees → SVG units in one transform.
    let transform = format!(
        "matrix({:.5} 0 0 {:.5} {:.3} {:.3})",
        bounds.x_factor() * s,
        -s,
        -bounds.west * bounds.x_factor() * s,
        bounds.north * s
    );
    let countries = OUTLINE
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(name, d)| view! { <path class="country" d=d.to_owned()><title>{name.to_owned()}</title></path> })
        .collect_view();
    let max = points
        .iter()
        .filter_map(|c| c.nodes)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut located: Vec<&CommunitySummary> = points
        .iter()
        .filter(|c| c.lat.is_some() && c.lon.is_some())
        .collect();
    // Large circles first, so small ones stay visible (and clickable) on top.
    located.sort_by(|a, b| b.nodes.cmp(&a.nodes).then_with(|| a.key.cmp(&b.key)));
    let place = |c: &CommunitySummary| {
        let (x, y) = bounds.project(c.lat.unwrap_or_default(), c.lon.unwrap_or_default());
        (x, y, radius(c.nodes.unwrap_or(0), max))
    };
    // The tap areas, under every circle: a finger near a small circle reaches it, one on a
    // circle reaches that one. The same links again, out of the tab order and hidden from
    // screen readers (the circles' links are the ones they meet).
    let taps = located
        .iter()
        .map(|c| {
            let (x, y, r) = place(c);
            view! {
                <a href=href(&c.key) tabindex="-1" aria-hidden="true">
                    <circle class="tap" cx=format!("{x:.1}") cy=format!("{y:.1}") r=format!("{:.1}", r.max(TAP / 2.0)) />
                </a>
            }
        })
        .collect_view();
    let circles = located
        .iter()
        .map(|c| {
            let (x, y, r) = place(c);
            let title = format!(
                "{}: {}{}",
                c.name,
                c.nodes.map_or_else(|| crate::t("communities-no-count"), |n| format!("{} {}", format_count(n), crate::t("communities-nodes"))),
                if c.stale { format!(" ({})", crate::t("charts-stale")) } else { String::new() }
            );
            let class = if c.stale { "site stale" } else { "site" };
            let label = title.clone();
            // The name beside the circle, on the side with room.
            let (lx, anchor) = if x < WIDTH * 0.6 { (x + r + 4.0, "start") } else { (x - r - 4.0, "end") };
            view! {
                <a href=href(&c.key) aria-label=label>
                    <circle class=class cx=format!("{x:.1}") cy=format!("{y:.1}") r=format!("{r:.1}") fill=color.to_owned()>
                        <title>{title}</title>
                    </circle>
                    <text class="site-label" x=format!("{lx:.1}") y=format!("{:.1}", y + 5.0) text-anchor=anchor>{c.name.clone()}</text>
                </a>
            }
        })
        .collect_view();
    // The size legend: reference circles on one line under the map, each with its count.
    let mut left = 8.0;
    let legend = legend_counts(max)
        .into_iter()
        .map(|n| {
            let r = radius(n, max);
            let cx = left + r;
            let text = format!("{} {}", format_count(n), crate::t("communities-nodes"));
            #[allow(clippy::cast_precision_loss, reason = "a short label")]
            let width = text.chars().count() as f64 * 13.0;
            left = cx + r + 8.0 + width + 16.0;
            view! {
                <circle class="site" cx=format!("{cx:.1}") cy=format!("{:.1}", height + LEGEND / 2.0) r=format!("{r:.1}") fill=color.to_owned() />
                <text class="legend-label" x=format!("{:.1}", cx + r + 8.0) y=format!("{:.1}", height + LEGEND / 2.0 + 6.0)>{text}</text>
            }
        })
        .collect_view();
    view! {
        <svg class="plot map" viewBox=format!("0 0 {WIDTH} {:.0}", height + LEGEND) role="group" aria-label=crate::t("communities-map")>
            <g class="outline" transform=transform>{countries}</g>
            <g class="taps">{taps}</g>
            {circles}
            <g class="size-legend" role="group" aria-label=crate::t("communities-map-sizes")>{legend}</g>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_legend_shows_round_counts_and_small_circles_get_a_larger_tap_area() {
        assert_eq!(legend_counts(3953), [2000, 200, 20]);
        assert_eq!(legend_counts(12), [10, 1]);
        assert_eq!(legend_counts(1), [1]);
        assert!((radius(3953, 3953) - 20.5).abs() < 1e-9);
        assert!(
            radius(1, 3953) < TAP / 2.0,
            "a small circle's tap area is larger"
        );
    }

    #[test]
    fn the_outline_ships_germany_and_projects_berlin_inside_the_map() {
        assert!(OUTLINE.lines().any(|l| l.starts_with("Germany\tM")));
        let berlin = CommunitySummary {
            key: "berlin".into(),
            name: "Berlin".into(),
            nodes: Some(1),
            stale: false,
            routing: vec![],
            lat: Some(52.52),
            lon: Some(13.4),
            city: None,
            country: None,
            api: None,
            first_seen: 0,
            last_seen: 0,
        };
        let munich = CommunitySummary {
            key: "m".into(),
            lat: Some(48.14),
            lon: Some(11.58),
            ..berlin.clone()
        };
        let b = Bounds::around(&[berlin, munich]);
        let (x, y) = b.project(52.52, 13.4);
        assert!(
            (0.0..=WIDTH).contains(&x) && (0.0..=b.height()).contains(&y),
            "{x} {y}"
        );
    }
}
