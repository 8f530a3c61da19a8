//! The configuration of a fresh OpenWrt router, as Portico writes it into a new dev root.
//!
//! Same sections, options and lists as OpenWrt's generators and stock files produce for a
//! dual-band board with `eth0` (LAN) and `eth1` (WAN): `config_generate` (network, system),
//! the mac80211 detection (wireless), and the stock `dhcp` and `firewall` (firewall4) files. A
//! test compares every file with `shared/fixtures/uci/openwrt-defaults` (FRESH-ROUTER.md).

/// One table row: `(type, name, entries)`; an entry key starting with `+` is a `list` item.
type Row = (
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

fn build(rows: &[Row]) -> String {
    let mut package = uci::Package::new("fresh");
    for (kind, name, entries) in rows {
        let index = match name {
            Some(name) => package.set_section(name, kind),
            None => package.add_section(kind),
        };
        let section = &mut package.sections[index];
        for (key, value) in *entries {
            match key.strip_prefix('+') {
                Some(list) => section.add_list(list, value.as_bytes()),
                None => section.set(key, value.as_bytes()),
            }
        }
    }
    String::from_utf8(uci::emit::to_file(&package)).expect("the tables are ASCII")
}

/// One file of a fresh router, parsed (`network`, `firewall`, ...).
///
/// # Panics
/// For a name that is not one of [`files`] (the tables are compiled in and tested).
pub fn package(name: &str) -> uci::Package {
    let (_, text) = files()
        .into_iter()
        .find(|(n, _)| *n == name)
        .expect("a fresh-router file");
    uci::parse(name, text.as_bytes()).expect("the fresh-router tables parse")
}

/// `(file name under etc/config, contents)` of every file of a fresh router.
pub fn files() -> Vec<(&'static str, String)> {
    vec![
        ("network", build(NETWORK)),
        ("system", build(SYSTEM)),
        ("wireless", build(WIRELESS)),
        ("dhcp", build(DHCP)),
        ("firewall", build(FIREWALL)),
        ("portico", build(PORTICO)),
    ]
}

const NETWORK: &[Row] = &[
    (
        "interface",
        Some("loopback"),
        &[
            ("device", "lo"),
            ("proto", "static"),
            ("ipaddr", "127.0.0.1"),
            ("netmask", "255.0.0.0"),
        ],
    ),
    ("globals", Some("globals"), &[("ula_prefix", "auto")]),
    (
        "device",
        None,
        &[("name", "br-lan"), ("type", "bridge"), ("+ports", "eth0")],
    ),
    (
        "interface",
        Some("lan"),
        &[
            ("device", "br-lan"),
            ("proto", "static"),
            ("ipaddr", "192.168.1.1"),
            ("netmask", "255.255.255.0"),
            ("ip6assign", "60"),
        ],
    ),
    (
        "interface",
        Some("wan"),
        &[("device", "eth1"), ("proto", "dhcp")],
    ),
    (
        "interface",
        Some("wan6"),
        &[("device", "eth1"), ("proto", "dhcpv6")],
    ),
];

const SYSTEM: &[Row] = &[
    (
        "system",
        None,
        &[
            ("hostname", "OpenWrt"),
            ("timezone", "GMT0"),
            ("zonename", "UTC"),
            ("ttylogin", "0"),
            ("log_size", "128"),
            ("urandom_seed", "0"),
        ],
    ),
    (
        "timeserver",
        Some("ntp"),
        &[
            ("enabled", "1"),
            ("enable_server", "0"),
            ("+server", "0.openwrt.pool.ntp.org"),
            ("+server", "1.openwrt.pool.ntp.org"),
            ("+server", "2.openwrt.pool.ntp.org"),
            ("+server", "3.openwrt.pool.ntp.org"),
        ],
    ),
];

const WIRELESS: &[Row] = &[
    (
        "wifi-device",
        Some("radio0"),
        &[
            ("type", "mac80211"),
            ("path", "platform/soc/18000000.wifi"),
            ("band", "2g"),
            ("channel", "1"),
            ("htmode", "HE20"),
            ("disabled", "1"),
        ],
    ),
    (
        "wifi-iface",
        Some("default_radio0"),
        &[
            ("device", "radio0"),
            ("network", "lan"),
            ("mode", "ap"),
            ("ssid", "OpenWrt"),
            ("encryption", "none"),
        ],
    ),
    (
        "wifi-device",
        Some("radio1"),
        &[
            ("type", "mac80211"),
            ("path", "platform/soc/18000000.wifi+1"),
            ("band", "5g"),
            ("channel", "36"),
            ("htmode", "HE80"),
            ("disabled", "1"),
        ],
    ),
    (
        "wifi-iface",
        Some("default_radio1"),
        &[
            ("device", "radio1"),
            ("network", "lan"),
            ("mode", "ap"),
            ("ssid", "OpenWrt"),
            ("encryption", "none"),
        ],
    ),
];

const DHCP: &[Row] = &[
    (
        "dnsmasq",
        None,
        &[
            ("domainneeded", "1"),
            ("boguspriv", "1"),
            ("filterwin2k", "0"),
            ("localise_queries", "1"),
            ("rebind_protection", "1"),
            ("rebind_localhost", "1"),
            ("local", "/lan/"),
            ("domain", "lan"),
            ("expandhosts", "1"),
            ("nonegcache", "0"),
            ("cachesize", "1000"),
            ("authoritative", "1"),
            ("readethers", "1"),
            ("leasefile", "/tmp/dhcp.leases"),
            ("resolvfile", "/tmp/resolv.conf.d/resolv.conf.auto"),
            ("nonwildcard", "1"),
            ("localservice", "1"),
            ("fast_dns_retry", "0"),
            ("ednspacket_max", "1232"),
            ("filter_aaaa", "0"),
            ("filter_a", "0"),
        ],
    ),
    (
        "dhcp",
        Some("lan"),
        &[
            ("interface", "lan"),
            ("start", "100"),
            ("limit", "150"),
            ("leasetime", "12h"),
        ],
    ),
    (
        "dhcp",
        Some("wan"),
        &[("interface", "wan"), ("ignore", "1")],
    ),
];

const ICMPV6_COMMON: [(&str, &str); 7] = [
    ("+icmp_type", "echo-request"),
    ("+icmp_type", "echo-reply"),
    ("+icmp_type", "destination-unreachable"),
    ("+icmp_type", "packet-too-big"),
    ("+icmp_type", "time-exceeded"),
    ("+icmp_type", "bad-header"),
    ("+icmp_type", "unknown-header-type"),
];

const FIREWALL: &[Row] = &[
    (
        "defaults",
        None,
        &[
            ("syn_flood", "1"),
            ("input", "REJECT"),
            ("output", "ACCEPT"),
            ("forward", "REJECT"),
        ],
    ),
    (
        "zone",
        None,
        &[
            ("name", "lan"),
            ("+network", "lan"),
            ("input", "ACCEPT"),
            ("output", "ACCEPT"),
            ("forward", "ACCEPT"),
        ],
    ),
    (
        "zone",
        None,
        &[
            ("name", "wan"),
            ("+network", "wan"),
            ("+network", "wan6"),
            ("input", "REJECT"),
            ("output", "ACCEPT"),
            ("forward", "DROP"),
            ("masq", "1"),
            ("mtu_fix", "1"),
        ],
    ),
    ("forwarding", None, &[("src", "lan"), ("dest", "wan")]),
    (
        "rule",
        None,
        &[
            ("name", "Allow-DHCP-Renew"),
            ("src", "wan"),
            ("proto", "udp"),
            ("dest_port", "68"),
            ("target", "ACCEPT"),
            ("family", "ipv4"),
        ],
    ),
    (
        "rule",
        None,
        &[
            ("name", "Allow-Ping"),
            ("src", "wan"),
            ("proto", "icmp"),
            ("icmp_type", "echo-request"),
            ("family", "ipv4"),
            ("target", "ACCEPT"),
        ],
    ),
    (
        "rule",
        None,
        &[
            ("name", "Allow-IGMP"),
            ("src", "wan"),
            ("proto", "igmp"),
            ("family", "ipv4"),
            ("target", "ACCEPT"),
        ],
    ),
    (
        "rule",
        None,
        &[
            ("name", "Allow-DHCPv6"),
            ("src", "wan"),
            ("proto", "udp"),
            ("dest_port", "546"),
            ("family", "ipv6"),
            ("target", "ACCEPT"),
        ],
    ),
    (
        "rule",
        None,
        &[
            ("name", "Allow-MLD"),
            ("src", "wan"),
            ("proto", "icmp"),
            ("src_ip", "fe80::/10"),
            ("+icmp_type", "130/0"),
            ("+icmp_type", "131/0"),
            ("+icmp_type", "132/0"),
            ("+icmp_type", "143/0"),
            ("family", "ipv6"),
            ("target", "ACCEPT"),
        ],
    ),
    (
        "rule",
        None,
        &[
            ("name", "Allow-ICMPv6-Input"),
            ("src", "wan"),
            ("proto", "icmp"),
            ICMPV6_COMMON[0],
            ICMPV6_COMMON[1],
            ICMPV6_COMMON[2],
            ICMPV6_COMMON[3],
            ICMPV6_COMMON[4],
            ICMPV6_COMMON[5],
            ICMPV6_COMMON[6],
            ("+icmp_type", "router-solicitation"),
            ("+icmp_type", "neighbour-solicitation"),
            ("+icmp_type", "router-advertisement"),
            ("+icmp_type", "neighbour-advertisement"),
            ("limit", "1000/sec"),
            ("family", "ipv6"),
            ("target", "ACCEPT"),
        ],
    ),
    (
        "rule",
        None,
        &[
            ("name", "Allow-ICMPv6-Forward"),
            ("src", "wan"),
            ("dest", "*"),
            ("proto", "icmp"),
            ICMPV6_COMMON[0],
            ICMPV6_COMMON[1],
            ICMPV6_COMMON[2],
            ICMPV6_COMMON[3],
            ICMPV6_COMMON[4],
            ICMPV6_COMMON[5],
            ICMPV6_COMMON[6],
            ("limit", "1000/sec"),
            ("family", "ipv6"),
            ("target", "ACCEPT"),
        ],
    ),
    (
        "rule",
        None,
        &[
            ("name", "Allow-IPSec-ESP"),
            ("src", "wan"),
            ("dest", "lan"),
            ("proto", "esp"),
            ("target", "ACCEPT"),
        ],
    ),
    (
        "rule",
        None,
        &[
            ("name", "Allow-ISAKMP"),
            ("src", "wan"),
            ("dest", "lan"),
            ("dest_port", "500"),
            ("proto", "udp"),
            ("target", "ACCEPT"),
        ],
    ),
];

/// Portico's own settings, with the defaults spelled out so people see what they can change.
const PORTICO: &[Row] = &[
    (
        "portico",
        Some("main"),
        &[
            ("listen", "0.0.0.0:80"),
            ("portal_listen", "0.0.0.0:8080"),
            ("lan_device", "br-lan"),
            ("session_idle_minutes", "30"),
        ],
    ),
    (
        "offload",
        Some("offload"),
        &[
            ("enabled", "1"),
            ("hook", "xdp"),
            ("+interface", "br-lan"),
            ("+interface", "eth1"),
            ("flows", "16384"),
            ("watchdog_seconds", "5"),
        ],
    ),
];
