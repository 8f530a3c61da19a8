//! The dev root Portico creates holds the same configuration as a fresh OpenWrt router: each
//! file is byte for byte what the C `uci` tool writes when it commits the corresponding file of
//! `shared/fixtures/uci/openwrt-defaults` (FRESH-ROUTER.md; the fixtures' `.import` outputs).

mod common;

use common::shared;

#[test]
fn dev_root_matches_a_fresh_openwrt_router() {
    let expected = shared().join("fixtures/uci/expected/openwrt-defaults");
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
        let theirs = std::fs::read_to_string(expected.join(format!("{fixture}.import"))).unwrap();
        assert_eq!(
            ours, theirs,
            "etc/config/{name} differs from what uci commits for {fixture}"
        );
    }
    let shadow = std::fs::read_to_string(dir.path().join("etc/shadow")).unwrap();
    assert!(
        shadow.starts_with("root:::"),
        "a fresh router's root has no password"
    );
}
