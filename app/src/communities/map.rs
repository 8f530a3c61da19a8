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

/// The map as SVG content; `href` makes each community's page link.
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
    let circles = located
        .into_iter()
        .map(|c| {
            let (x, y) = bounds.project(c.lat.unwrap_or_default(), c.lon.unwrap_or_default());
            #[allow(clippy::cast_precision_loss, reason = "node counts are small")]
            let r = 2.5 + 18.0 * (c.nodes.unwrap_or(0) as f64 / max as f64).sqrt();
            let title = format!(
                "{}: {}{}",
                c.name,
                c.nodes.map_or_else(|| crate::t("communities-no-count"), |n| format!("{} {}", format_count(n), crate::t("communities-nodes"))),
                if c.stale { format!(" ({})", crate::t("charts-stale")) } else { String::new() }
            );
            let class = if c.stale { "site stale" } else { "site" };
            let label = title.clone();
            view! {
                <a href=href(&c.key) aria-label=label>
                    <circle class=class cx=format!("{x:.1}") cy=format!("{y:.1}") r=format!("{r:.1}") fill=color.to_owned()>
                        <title>{title}</title>
                    </circle>
                </a>
            }
        })
        .collect_view();
    view! {
        <svg class="plot map" viewBox=format!("0 0 {WIDTH} {height:.0}") role="group" aria-label=crate::t("communities-map")>
            <g class="outline" transform=transform>{countries}</g>
            {circles}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
