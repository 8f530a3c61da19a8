//! The one colour table every chart uses (issue: colours must not change between loads).
//!
//! Known categories have a fixed place, in the order of their overall popularity in the
//! Freifunk data, and take Paul Tol's "muted" scheme in that order (distinguishable with the
//! common colour-vision deficiencies). Anything else gets a colour from a hash of its name:
//! the same name always gets the same colour, whatever else is on the chart.

use std::cmp::Ordering;

/// Routing protocols by overall popularity (most used first).
pub const ROUTING_ORDER: [&str; 9] = [
    "batman-adv",
    "olsr",
    "olsrv2",
    "802.11s",
    "babel",
    "bmx6",
    "bmxd",
    "cjdns",
    "bmx7",
];

/// Paul Tol's muted scheme.
pub const PALETTE: [&str; 9] = [
    "#332288", "#88ccee", "#44aa99", "#117733", "#999933", "#ddcc77", "#cc6677", "#882255",
    "#aa4499",
];

/// The colour of a single-series chart (network totals, one community).
pub const PRIMARY: &str = "#332288";

/// A category's colour.
pub fn color(name: &str) -> String {
    match ROUTING_ORDER.iter().position(|n| *n == name) {
        Some(i) => PALETTE[i].to_owned(),
        None => hashed(name),
    }
}

fn hashed(name: &str) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
    // Hue from the hash; saturation and lightness fixed so every hashed colour reads on white.
    let hue = h % 360;
    format!("hsl({hue} 45% 45%)")
}

/// The legend order: known categories in table order, then the rest by name.
pub fn order(a: &str, b: &str) -> Ordering {
    let place = |n: &str| {
        ROUTING_ORDER
            .iter()
            .position(|k| *k == n)
            .unwrap_or(usize::MAX)
    };
    place(a).cmp(&place(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_fixed_and_unknown_ones_stable() {
        assert_eq!(color("batman-adv"), "#332288");
        assert_eq!(color("olsr"), "#88ccee");
        assert_eq!(color("meshcore"), color("meshcore"));
        assert_ne!(color("meshcore"), color("meshtastic"));
        let mut names = vec!["zeta", "olsr", "alpha", "batman-adv"];
        names.sort_by(|a, b| order(a, b));
        assert_eq!(names, ["batman-adv", "olsr", "alpha", "zeta"]);
    }
}
