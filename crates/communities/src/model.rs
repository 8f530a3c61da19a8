//! One community's entry in a summary file, read tolerantly across every schema version
//! (`shared/fixtures/freifunk/specs/`): routing as a string (before 0.3.1) or a list, lat/lon
//! in `location` or `location.geoCode` (0.5.0 on), `state.nodes` missing, a string or not a
//! number at all. Entries the collector carried forward after a failed fetch (`etime` or
//! `error` present) are stale: kept, shown, but never counted as fresh data.

use serde_json::{Map, Value};

/// What Portico reads out of one community entry: the fields the rollups, the latest state and
/// the lists use.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The key in the summary file (`"berlin"`).
    pub key: String,
    pub name: Option<String>,
    /// `state.nodes` when it is a non-negative whole number (or a string holding one).
    pub nodes: Option<i64>,
    /// Carried forward by the collector (`etime` or `error` present).
    pub stale: bool,
    /// Normalised routing protocol names, sorted, without duplicates.
    pub routing: Vec<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub city: Option<String>,
    pub country: Option<String>,
    /// The schema version the community declared (`"0.4.8"`).
    pub api: Option<String>,
}

/// One community at one snapshot: its facts, and the whole entry kept as it came.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub facts: Facts,
    /// The entry exactly as in the file, unknown fields included.
    pub raw: Map<String, Value>,
}

impl Entry {
    /// Reads one entry; `None` when the value is not a JSON object (nothing can be said of it).
    pub fn parse(key: &str, value: Value) -> Option<Entry> {
        let Value::Object(raw) = value else {
            return None;
        };
        let state = raw.get("state").and_then(Value::as_object);
        let location = raw.get("location").and_then(Value::as_object);
        let geo = location
            .and_then(|l| l.get("geoCode"))
            .and_then(Value::as_object);
        let coordinate = |name: &str, limit: f64| {
            geo.and_then(|g| g.get(name))
                .or_else(|| location.and_then(|l| l.get(name)))
                .and_then(number)
                .filter(|v| v.is_finite() && v.abs() <= limit)
        };
        let (lat, lon) = match (coordinate("lat", 90.0), coordinate("lon", 180.0)) {
            // 0/0 is the schema's placeholder, not a community in the Gulf of Guinea.
            (Some(lat), Some(lon)) if lat != 0.0 || lon != 0.0 => (Some(lat), Some(lon)),
            _ => (None, None),
        };
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some(Entry {
            facts: Facts {
                key: key.to_owned(),
                name: text(raw.get("name")),
                nodes: state.and_then(|s| s.get("nodes")).and_then(node_count),
                stale: raw.contains_key("etime") || raw.contains_key("error"),
                routing: routing(raw.get("techDetails").and_then(|t| t.get("routing"))),
                lat,
                lon,
                city: text(location.and_then(|l| l.get("city"))),
                country: text(location.and_then(|l| l.get("country"))),
                api: text(raw.get("api")),
            },
            raw,
        })
    }

    /// `state.nodes` as written, when there is one (not null) that is not a count.
    pub fn unreadable_count(&self) -> Option<String> {
        let value = self.raw.get("state")?.get("nodes")?;
        (self.facts.nodes.is_none() && !value.is_null()).then(|| value.to_string())
    }

    /// The name to show: the community's own, else its key.
    pub fn display_name(&self) -> &str {
        self.facts.name.as_deref().unwrap_or(&self.facts.key)
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn node_count(v: &Value) -> Option<i64> {
    let n = number(v)?;
    // Whole, non-negative and below a bound no community network comes near.
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n < 1e9).then(|| {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "checked above: whole and below 1e9"
        )]
        let n = n as i64;
        n
    })
}

/// Normalised routing names from a string, a list of strings, or anything else (nothing).
fn routing(v: Option<&Value>) -> Vec<String> {
    let mut names: Vec<String> = match v {
        Some(Value::String(s)) => s
            .split([',', ';', '/'])
            .filter_map(normalise_routing)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(normalise_routing)
            .collect(),
        _ => Vec::new(),
    };
    names.sort();
    names.dedup();
    names
}

/// One routing protocol name as the API's users wrote it → the name Portico counts it under
/// (`B.A.T.M.A.N. advanced`, `BATMAN`, `batman_adv` → `batman-adv`; `olsrd` → `olsr`).
/// Unknown names are kept, lower-cased; empty ones are dropped.
pub fn normalise_routing(name: &str) -> Option<String> {
    let folded: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let known = match folded.as_str() {
        "" => return None,
        "batman" | "batmanadv" | "batmanadvanced" | "batadv" | "batmanadvance" => "batman-adv",
        "olsr" | "olsrd" | "olsrv1" | "olsr1" => "olsr",
        "olsrv2" | "olsr2" | "olsrd2" => "olsrv2",
        "babel" | "babeld" => "babel",
        "80211s" => "802.11s",
        "bmx6" => "bmx6",
        "bmx7" => "bmx7",
        "bmxd" => "bmxd",
        "bmx" => "bmx",
        "cjdns" => "cjdns",
        "yggdrasil" => "yggdrasil",
        _ => {
            let trimmed = name.trim().to_lowercase();
            return (!trimmed.is_empty()).then_some(trimmed);
        }
    };
    Some(known.to_owned())
}

/// How a normalised routing name is shown.
pub fn routing_label(name: &str) -> &str {
    match name {
        "batman-adv" => "B.A.T.M.A.N. advanced",
        "olsr" => "OLSR",
        "olsrv2" => "OLSRv2",
        "babel" => "Babel",
        "bmx6" => "BMX6",
        "bmx7" => "BMX7",
        "bmxd" => "BMXd",
        "bmx" => "BMX",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn routing_names_from_every_schema_are_normalised() {
        for (written, counted) in [
            ("B.A.T.M.A.N. advanced", "batman-adv"),
            ("BATMAN", "batman-adv"),
            ("batman-adv", "batman-adv"),
            ("Batman_Adv", "batman-adv"),
            ("OLSR", "olsr"),
            ("olsrd", "olsr"),
            ("OLSRv2", "olsrv2"),
            ("802.11s", "802.11s"),
            ("Babel", "babel"),
            ("Hyperboria", "hyperboria"),
        ] {
            assert_eq!(
                normalise_routing(written).as_deref(),
                Some(counted),
                "{written}"
            );
        }
        assert_eq!(normalise_routing(" "), None);
        let e = Entry::parse("x", json!({"techDetails": {"routing": "OLSR"}})).unwrap();
        assert_eq!(e.facts.routing, ["olsr"]);
        let e = Entry::parse(
            "x",
            json!({"techDetails": {"routing": ["BATMAN", "batman-adv", "", "Babel"]}}),
        )
        .unwrap();
        assert_eq!(e.facts.routing, ["babel", "batman-adv"]);
    }

    #[test]
    fn location_comes_from_either_place_and_nodes_only_when_a_count() {
        let old = Entry::parse("a", json!({"location": {"lat": 52.5, "lon": "13.4"}})).unwrap();
        assert_eq!((old.facts.lat, old.facts.lon), (Some(52.5), Some(13.4)));
        let new = Entry::parse(
            "b",
            json!({"location": {"geoCode": {"lat": 48.1, "lon": 11.6}, "city": "München"}}),
        )
        .unwrap();
        assert_eq!(
            (new.facts.lat, new.facts.lon, new.facts.city.as_deref()),
            (Some(48.1), Some(11.6), Some("München"))
        );
        let placeholder = Entry::parse("c", json!({"location": {"lat": 0, "lon": 0}})).unwrap();
        assert_eq!(placeholder.facts.lat, None);
        for (nodes, read) in [
            (json!(42), Some(42)),
            (json!("17"), Some(17)),
            (json!(3.0), Some(3)),
            (json!(3.5), None),
            (json!(-1), None),
            (json!("many"), None),
            (json!(null), None),
        ] {
            let e = Entry::parse("d", json!({"state": {"nodes": nodes}})).unwrap();
            assert_eq!(e.facts.nodes, read, "{nodes}");
        }
        assert!(Entry::parse("e", json!([1, 2])).is_none());
    }

    #[test]
    fn carried_forward_entries_are_stale_and_unknown_fields_kept() {
        let e = Entry::parse(
            "f",
            json!({"name": "F", "etime": "2020-01-01 00:00:00", "error": "timeout", "futureField": {"x": 1}}),
        )
        .unwrap();
        assert!(e.facts.stale);
        assert_eq!(e.raw["futureField"], json!({"x": 1}));
    }
}
