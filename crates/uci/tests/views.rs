//! Typed views are lossless: on every real config in the fixtures, an edit through a view changes
//! exactly the one option it means — every other section, option, list and their order stay.

use testdata::shared;
use uci::views::{
    Device, DhcpPool, Forwarding, Interface, Ntp, PorticoMain, Redirect, Rule, System, Target,
    WifiDevice, WifiIface, WireguardPeer, Zone,
};
use uci::{Package, Section};

/// One typical edit per known section type: the option it touches, and the edit.
fn edit(section: &mut Section) -> Option<&'static str> {
    let kind = section.kind.clone();
    Some(match kind.as_str() {
        "interface" => {
            Interface(section).set_ipaddr(Some("10.1.2.3".parse().unwrap()));
            "ipaddr"
        }
        "device" => {
            Device(section).set_ports(&["eth7".into(), "eth8".into()]);
            "ports"
        }
        "wifi-device" => {
            WifiDevice(section).set_channel(Some("11"));
            "channel"
        }
        "wifi-iface" => {
            WifiIface(section).set_ssid(Some("portico 'test'"));
            "ssid"
        }
        "dhcp" => {
            DhcpPool(section).set_limit(Some(77));
            "limit"
        }
        "zone" => {
            Zone(section).set_input(Some(Target::Drop));
            "input"
        }
        "forwarding" => {
            Forwarding(section).set_dest(Some("guest"));
            "dest"
        }
        "rule" => {
            Rule(section).set_target(Some(Target::Reject));
            "target"
        }
        "redirect" => {
            Redirect(section).set_dest_port(Some("8080"));
            "dest_port"
        }
        "system" => {
            System(section).set_hostname(Some("portico-router"));
            "hostname"
        }
        "timeserver" => {
            Ntp(section).set_servers(&["ntp.invalid".into()]);
            "server"
        }
        "portico" => {
            PorticoMain(section).set_apply_timeout(Some(60));
            "apply_timeout"
        }
        k if k.starts_with("wireguard_") => {
            WireguardPeer(section).set_endpoint_port(Some(51820));
            "endpoint_port"
        }
        _ => return None,
    })
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let fixtures = shared().join("fixtures/uci");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures.join("expected/index.json")).unwrap())
            .unwrap();
    index
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["show_rc"] == 0)
        .map(|e| {
            let input = e["input"].as_str().unwrap();
            (
                input.to_owned(),
                std::fs::read(fixtures.join(input)).unwrap(),
            )
        })
        .collect()
}

#[test]
fn edits_through_views_change_only_their_option() {
    let mut edits = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for (input, bytes) in inputs() {
        let original = uci::parse("x", &bytes).unwrap();
        for index in 0..original.sections.len() {
            let mut package: Package = original.clone();
            let Some(option) = edit(&mut package.sections[index]) else {
                continue;
            };
            edits += 1;
            kinds.insert(package.sections[index].kind.clone());
            for (i, (before, after)) in original.sections.iter().zip(&package.sections).enumerate()
            {
                if i != index {
                    assert_eq!(
                        before, after,
                        "{input}: section {i} changed by an edit of section {index}"
                    );
                }
            }
            let (before, after) = (&original.sections[index], &package.sections[index]);
            assert_eq!(
                (&before.name, &before.kind, before.anonymous),
                (&after.name, &after.kind, after.anonymous)
            );
            let others = |s: &Section| {
                s.options
                    .iter()
                    .filter(|o| o.name != option)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                others(before),
                others(after),
                "{input}: {}.{option} touched other options",
                before.name
            );
            if let Some(at) = before.options.iter().position(|o| o.name == option) {
                assert_eq!(after.options[at].name, option, "{input}: {option} moved");
            }
            // The file written back parses to the same package.
            let written = uci::emit::to_file(&package);
            assert_eq!(
                uci::parse("x", &written).unwrap().sections,
                package.sections,
                "{input}"
            );
        }
    }
    assert!(edits > 300, "only {edits} edits were tried");
    for kind in [
        "interface",
        "device",
        "wifi-device",
        "wifi-iface",
        "dhcp",
        "zone",
        "forwarding",
        "rule",
        "redirect",
        "system",
    ] {
        assert!(kinds.contains(kind), "no fixture exercised `{kind}`");
    }
    assert!(
        kinds.iter().any(|k| k.starts_with("wireguard_")),
        "no WireGuard peer in the fixtures"
    );
}

#[test]
fn views_read_real_configs() {
    let bytes =
        std::fs::read(shared().join("fixtures/uci/openwrt-defaults/mac80211-derived/wireless"))
            .unwrap();
    let wireless = uci::parse("wireless", &bytes).unwrap();
    let bands: Vec<String> = wireless
        .sections_of("wifi-device")
        .filter_map(|s| WifiDevice(s).band())
        .map(|b| b.to_string())
        .collect();
    assert_eq!(bands, ["2g", "5g"]);
    let bytes = std::fs::read(shared().join("fixtures/uci/openwrt-defaults/firewall")).unwrap();
    let firewall = uci::parse("firewall", &bytes).unwrap();
    let wan = firewall.find_by("zone", "name", "wan").unwrap();
    let wan = Zone(&firewall.sections[wan]);
    assert_eq!(
        (wan.input(), wan.forward(), wan.masq()),
        (Some(Target::Reject), Some(Target::Drop), Some(true))
    );
    assert_eq!(wan.networks(), ["wan", "wan6"]);
}
