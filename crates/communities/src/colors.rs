//! The one colour table every chart uses (issue: colours must not change between loads).
//!
//! Known categories have a fixed place, in the order of their overall popularity in the
//! Freifunk data, and take Paul Tol's "muted" scheme in that order (distinguishable with the
//! common colour-vision deficiencies). Names not in the table, shown on the same chart, take
//! the [`RESERVE`] colours in name order. Every pair of [`PALETTE`] and [`RESERVE`] colours
//! differs by CIEDE2000 ΔE ≥ 15 (tested), so any two categories on one chart can be told
//! apart, up to fifteen unknown names; only past that does a name's hash pick its colour.

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

/// Colours for names outside [`ROUTING_ORDER`], in the order they are needed: each the colour
/// farthest (CIEDE2000) from the palette and the ones before it, among sRGB colours readable
/// on white (L* 25–72).
pub const RESERVE: [&str; 15] = [
    "#774400", "#ee7700", "#006677", "#cc99ff", "#2277ff", "#888888", "#00cc44", "#cc0000",
    "#555566", "#444433", "#666600", "#7733ff", "#ff00ff", "#bb9977", "#8877aa",
];

/// The colour of a single-series chart (network totals, one community).
pub const PRIMARY: &str = "#332288";

/// A known category's colour.
pub fn known(name: &str) -> Option<&'static str> {
    ROUTING_ORDER
        .iter()
        .position(|n| *n == name)
        .map(|i| PALETTE[i])
}

/// The colours of categories shown together, in the order given: known ones their own, the
/// others the [`RESERVE`] in name order (the same names always get the same colours).
pub fn assign(names: &[&str]) -> Vec<String> {
    let mut unknown: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| known(n).is_none())
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    names
        .iter()
        .map(|name| {
            if let Some(color) = known(name) {
                return color.to_owned();
            }
            let place = unknown.binary_search(name).unwrap_or_default();
            RESERVE
                .get(place)
                .map_or_else(|| hashed(name), |c| (*c).to_owned())
        })
        .collect()
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

    fn lab(hex: &str) -> palette::Lab {
        use palette::IntoColor as _;
        let v = u32::from_str_radix(&hex[1..], 16).unwrap();
        let [_, r, g, b] = v.to_be_bytes();
        palette::Srgb::new(r, g, b)
            .into_format::<f32>()
            .into_linear()
            .into_color()
    }

    /// Issue 22, item 5: any two colours shown together differ by CIEDE2000 ΔE ≥ 15.
    #[test]
    fn every_pair_of_colours_differs_by_at_least_15_ciede2000() {
        use palette::color_difference::Ciede2000 as _;
        let all: Vec<&str> = PALETTE.iter().chain(RESERVE.iter()).copied().collect();
        let mut closest = (f32::MAX, "", "");
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let d = lab(a).difference(lab(b));
                if d < closest.0 {
                    closest = (d, a, b);
                }
            }
        }
        assert!(closest.0 >= 15.0, "{closest:?}");
        // BMX and OLSRv2, the pair once too alike, are far apart now.
        let [olsrv2, bmx6] = [known("olsrv2").unwrap(), known("bmx6").unwrap()];
        assert!(lab(olsrv2).difference(lab(bmx6)) >= 15.0);
    }

    #[test]
    fn colours_are_fixed_and_unknown_ones_stable() {
        assert_eq!(known("batman-adv"), Some("#332288"));
        assert_eq!(known("olsr"), Some("#88ccee"));
        let names = ["olsr", "meshtastic", "batman-adv", "meshcore"];
        let colors = assign(&names);
        assert_eq!(colors[0], "#88ccee");
        // Unknown names take the reserve in name order, wherever they stand.
        assert_eq!(
            (colors[3].as_str(), colors[1].as_str()),
            (RESERVE[0], RESERVE[1])
        );
        assert_eq!(
            assign(&["meshtastic", "meshcore"]),
            [RESERVE[1], RESERVE[0]]
        );
        let many: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let colors = assign(&many);
        assert_eq!(colors[14], RESERVE[14]);
        assert!(colors[15].starts_with("hsl("), "past the reserve: hashed");
        let mut names = vec!["zeta", "olsr", "alpha", "batman-adv"];
        names.sort_by(|a, b| order(a, b));
        assert_eq!(names, ["batman-adv", "olsr", "alpha", "zeta"]);
    }
}
