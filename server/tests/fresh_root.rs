//! The dev root Portico creates holds the same configuration as a fresh OpenWrt router:
//! every section, option and list of `shared/fixtures/uci/openwrt-defaults` (FRESH-ROUTER.md),
//! in order. Compared after parsing, so comments and quoting style do not matter.

use std::path::PathBuf;

use portico_server::uci_lite::{Section, parse};

fn shared() -> PathBuf {
    if let Ok(dir) = std::env::var("PORTICO_SHARED") {
        return PathBuf::from(dir);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("../shared");
        if candidate.join("fixtures").exists() {
            return candidate;
        }
        assert!(dir.pop(), "shared folder not found: set PORTICO_SHARED");
    }
}

/// What matters of a section: type, name, entries (kind, key, value) in order.
type Shape = Vec<(String, Option<String>, Vec<(bool, String, String)>)>;

fn shape(sections: Vec<Section>) -> Shape {
    sections
        .into_iter()
        .map(|s| {
            (
                s.section_type,
                s.name,
                s.entries
                    .into_iter()
                    .map(|e| (e.list, e.key, e.value))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn dev_root_matches_a_fresh_openwrt_router() {
    let defaults = shared().join("fixtures/uci/openwrt-defaults");
    let dir = tempfile::tempdir().unwrap();
    portico_server::platform::dev::create_fresh_root(dir.path()).unwrap();
    for (name, fixture) in [
        ("network", "config_generate-derived/network"),
        ("system", "config_generate-derived/system"),
        ("wireless", "mac80211-derived/wireless"),
        ("dhcp", "dhcp"),
        ("firewall", "firewall"),
    ] {
        let ours = std::fs::read_to_string(dir.path().join("etc/config").join(name)).unwrap();
        let theirs = std::fs::read_to_string(defaults.join(fixture)).unwrap();
        assert_eq!(
            shape(parse(&ours).unwrap()),
            shape(parse(&theirs).unwrap()),
            "etc/config/{name} differs from {fixture}"
        );
    }
    let shadow = std::fs::read_to_string(dir.path().join("etc/shadow")).unwrap();
    assert!(
        shadow.starts_with("root:::"),
        "a fresh router's root has no password"
    );
}
