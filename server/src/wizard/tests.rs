use std::net::Ipv4Addr;

use app::i18n::Lang;
use app::wizard::{Answers, Internet};

use super::*;
use crate::platform::Platform as _;
use app::wizard::{DhcpServer, Lan, Mesh, SystemAnswers, Wifi};

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one answers file, every file it touches checked"
)]
fn answers_become_the_options_openwrt_reads() {
    let answers = Answers {
        system: Some(SystemAnswers {
            hostname: "gartenhaus".into(),
            zonename: "Europe/Berlin".into(),
            country: None,
        }),
        internet: Some(Internet::Pppoe {
            username: "u@isp".into(),
            password: "secret".into(),
            service: None,
            mtu: None,
            ipv6: true,
        }),
        lan: Some(Lan {
            ipaddr: "10.10.0.1".into(),
            netmask: "16".into(),
        }),
        wifi: vec![Wifi {
            radio: "radio1".into(),
            ssid: "Garten".into(),
            key: "correct horse".into(),
            encryption: "sae".into(),
            country: Some("DE".into()),
        }],
        mesh: Some(Mesh {
            radio: "radio0".into(),
            mesh_id: "ff-mesh".into(),
            key: "mesh key 123".into(),
            forwarding: true,
        }),
        dhcp: Some(DhcpServer {
            enabled: true,
            start: 10,
            limit: 200,
            leasetime: "1d".into(),
        }),
        ..Answers::default()
    };
    let (network, wireless) = (
        crate::platform::fresh::package("network"),
        crate::platform::fresh::package("wireless"),
    );
    assert_eq!(check(&answers, &network, &wireless), []);
    let dir = tempfile::tempdir().unwrap();
    crate::platform::dev::create_fresh_root(dir.path()).unwrap();
    let store = uci::Store::new(dir.path().join("etc/config"), dir.path().join("tmp/.uci"));
    let mut changes = uci::ChangeSet::new(&store);
    for edit in edits(&answers, &network, &wireless, true) {
        changes
            .edit(&edit)
            .unwrap_or_else(|e| panic!("{edit:?}: {e}"));
    }
    changes.commit().unwrap();
    let read = |name: &str| uci::parse(name, &std::fs::read(store.path(name)).unwrap()).unwrap();
    let network = read("network");
    let wan = network.section("wan").unwrap();
    assert_eq!(
        (
            wan.get("proto").unwrap(),
            wan.get("username").unwrap(),
            wan.get("mtu").unwrap()
        ),
        ("pppoe".into(), "u@isp".into(), "1492".into())
    );
    assert_eq!(
        network.section("lan").unwrap().get("netmask").unwrap(),
        "255.255.0.0"
    );
    assert_eq!(
        network.section("lan").unwrap().get("ip6assign").unwrap(),
        "60",
        "untouched options stay"
    );
    let system = read("system");
    assert_eq!(
        system.sections[0].get("timezone").unwrap(),
        "CET-1CEST,M3.5.0,M10.5.0/3"
    );
    let wireless = read("wireless");
    let ap = wireless
        .sections
        .iter()
        .find(|s| s.get("ssid").is_some_and(|v| v == "Garten"))
        .unwrap();
    assert_eq!(
        (
            ap.get("device").unwrap(),
            ap.get("encryption").unwrap(),
            ap.get("ieee80211w").unwrap()
        ),
        ("radio1".into(), "sae".into(), "2".into())
    );
    let mesh = wireless.section("mesh_radio0").unwrap();
    assert_eq!(
        (
            mesh.get("mode").unwrap(),
            mesh.get("mesh_id").unwrap(),
            mesh.get("mesh_fwding").unwrap()
        ),
        ("mesh".into(), "ff-mesh".into(), "1".into())
    );
    let dhcp = read("dhcp");
    let lan = dhcp.section("lan").unwrap();
    assert_eq!(
        (
            lan.get("start").unwrap(),
            lan.get("limit").unwrap(),
            lan.get("leasetime").unwrap()
        ),
        ("10".into(), "200".into(), "1d".into())
    );
}

#[test]
fn wireguard_server_peers_firewall_and_client_configs() {
    use base64::Engine as _;
    let wireguard = app::wizard::WireGuard {
        listen_port: 51820,
        address: "10.99.0.1/24".into(),
        endpoint: "router.example.invalid".into(),
        peers: vec![
            app::wizard::WireGuardPeer {
                name: "phone".into(),
            },
            app::wizard::WireGuardPeer {
                name: "laptop".into(),
            },
        ],
    };
    let (edits, clients) = wireguard_edits(
        &wireguard,
        (Ipv4Addr::new(192, 168, 1, 1), 24),
        &crate::platform::fresh::package("firewall"),
        &mut KeyPool::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    crate::platform::dev::create_fresh_root(dir.path()).unwrap();
    let store = uci::Store::new(dir.path().join("etc/config"), dir.path().join("tmp/.uci"));
    let mut changes = uci::ChangeSet::new(&store);
    for edit in &edits {
        changes
            .edit(edit)
            .unwrap_or_else(|e| panic!("{edit:?}: {e}"));
    }
    changes.commit().unwrap();
    let network = uci::parse("network", &std::fs::read(store.path("network")).unwrap()).unwrap();
    let wg0 = network.section("wg0").unwrap();
    assert_eq!(wg0.get("proto").unwrap(), "wireguard");
    assert_eq!(wg0.get("private_key").unwrap().len(), 44);
    let peers: Vec<_> = network.wireguard_peers("wg0").collect();
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[1].allowed_ips(), ["10.99.0.3/32"]);
    let firewall = uci::parse("firewall", &std::fs::read(store.path("firewall")).unwrap()).unwrap();
    let lan_zone = firewall.find_by("zone", "name", "lan").unwrap();
    assert!(
        firewall.sections[lan_zone]
            .items("network")
            .contains(&"wg0".to_owned())
    );
    assert_eq!(
        firewall
            .section("allow_wireguard")
            .unwrap()
            .get("dest_port")
            .unwrap(),
        "51820"
    );
    // The client's public key is the one the router knows; its address is the peer's.
    let phone = &clients[0].text;
    assert!(
        phone.contains("Address = 10.99.0.2/32")
            && phone.contains("Endpoint = router.example.invalid:51820"),
        "{phone}"
    );
    let private = phone
        .lines()
        .find_map(|l| l.strip_prefix("PrivateKey = "))
        .unwrap();
    let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(private)
        .unwrap()
        .try_into()
        .unwrap();
    let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(bytes));
    assert_eq!(
        peers[0].public_key().unwrap(),
        base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
    );
    assert!(clients[0].qr().lines().count() > 20, "a QR code");
}

#[test]
fn openvpn_server_section_firewall_and_certificates() {
    let dir = tempfile::tempdir().unwrap();
    crate::platform::dev::create_fresh_root(dir.path()).unwrap();
    let config = dir.path().join("etc/config");
    let answers = Answers {
        // Both VPNs and Wi-Fi plus mesh on one radio: every edit must apply in one go.
        system: Some(app::wizard::SystemAnswers {
            hostname: "gartenhaus".into(),
            zonename: "UTC".into(),
            country: Some("DE".into()),
        }),
        wifi: vec![Wifi {
            radio: "radio0".into(),
            ssid: "Garten".into(),
            key: "kiwi-kiwi-kiwi".into(),
            encryption: "sae".into(),
            country: None,
        }],
        mesh: Some(Mesh {
            radio: "radio0".into(),
            mesh_id: "ff".into(),
            key: "mesh-mesh-mesh".into(),
            forwarding: true,
        }),
        wireguard: Some(app::wizard::WireGuard {
            listen_port: 51820,
            address: "10.99.0.1/24".into(),
            endpoint: "vpn.example.org".into(),
            peers: Vec::new(),
        }),
        openvpn: Some(app::wizard::OpenVpn {
            port: 1194,
            proto: "udp".into(),
            subnet: "10.8.0.0/24".into(),
            endpoint: "vpn.example.org".into(),
        }),
        ..Answers::default()
    };
    let platform = crate::platform::dev::DevPlatform::open(dir.path()).unwrap();
    let plan = plan(&answers, &platform, true, &mut KeyPool::default())
        .unwrap()
        .unwrap();
    let store = uci::Store::new(config.clone(), dir.path().join("tmp/.uci"));
    let mut changes = uci::ChangeSet::new(&store);
    for edit in &plan.edits {
        changes
            .edit(edit)
            .unwrap_or_else(|e| panic!("{edit:?}: {e}"));
    }
    changes.commit().unwrap();
    plan.write_files(dir.path()).unwrap();
    let openvpn = platform.package("openvpn").unwrap();
    let server = openvpn.section("portico").unwrap();
    assert_eq!(server.kind, "openvpn");
    for (option, value) in [
        ("enabled", "1"),
        ("dev", "tun"),
        ("proto", "udp"),
        ("port", "1194"),
        ("server", "10.8.0.0 255.255.255.0"),
        ("dh", "none"),
        ("cert", "/etc/openvpn/portico/server.crt"),
    ] {
        assert_eq!(
            server.get(option).map(ToString::to_string).as_deref(),
            Some(value),
            "{option}"
        );
    }
    assert_eq!(server.items("push"), ["route 192.168.1.0 255.255.255.0"]);
    for file in ["ca.crt", "server.crt", "server.key"] {
        assert!(dir.path().join(OPENVPN_DIR).join(file).exists(), "{file}");
    }
    let firewall = platform.package("firewall").unwrap();
    let rule = firewall.section("allow_openvpn").unwrap();
    assert_eq!(rule.get("dest_port").unwrap(), "1194");
    let lan = firewall
        .sections_of("zone")
        .find(|z| z.get("name").is_some_and(|n| n == "lan"))
        .unwrap();
    assert!(lan.items("device").contains(&"tun+".to_owned()));
    assert!(lan.items("network").contains(&"wg0".to_owned()));
    let wireless = platform.package("wireless").unwrap();
    for radio in wireless.sections_of("wifi-device") {
        assert_eq!(radio.get("country").unwrap(), "DE", "{}", radio.name);
    }
    let client = plan.clients.iter().find(|c| c.name == "openvpn").unwrap();
    assert!(client.text.contains("remote vpn.example.org 1194"));
}

#[test]
fn unknown_radios_are_refused() {
    let answers = Answers {
        wifi: vec![Wifi {
            radio: "radio9".into(),
            ssid: "x".into(),
            key: "12345678".into(),
            encryption: "psk2".into(),
            country: None,
        }],
        ..Answers::default()
    };
    let errors = check(
        &answers,
        &crate::platform::fresh::package("network"),
        &crate::platform::fresh::package("wireless"),
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].message(Lang::De),
        "Dieser Router hat kein Funkmodul namens radio9."
    );
}
