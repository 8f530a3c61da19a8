//! The wizard's answers as UCI edits, and the checks that need the router's files (which
//! radios exist, the current LAN). Edits touch only the options the answers mean (an interface
//! switched from PPPoE to DHCP loses its PPPoE credentials, nothing else), so a router's other
//! settings survive the wizard.

use std::net::Ipv4Addr;

use app::wizard::{Answers, FieldError, Internet, posix_timezone, subnet, validate};
use uci::{Edit, Package};

pub(super) fn set(path: impl Into<String>, value: impl AsRef<str>) -> Edit {
    Edit::Set {
        path: path.into(),
        value: value.as_ref().as_bytes().to_vec(),
    }
}

/// Deleting an option that is not there is not an edit (uci would say "Entry not found").
pub(super) fn clear(package: &Package, section: &str, options: &[&str], edits: &mut Vec<Edit>) {
    let Some(s) = package.section(section) else {
        return;
    };
    for option in options {
        if s.option(option).is_some() {
            edits.push(Edit::Delete {
                path: format!("{}.{section}.{option}", package.name),
            });
        }
    }
}

fn dotted(netmask: &str, ipaddr: &str) -> String {
    subnet(ipaddr, netmask).map_or_else(
        || netmask.to_owned(),
        |(_, len)| Ipv4Addr::from(if len == 0 { 0 } else { u32::MAX << (32 - len) }).to_string(),
    )
}

/// The router's LAN address now, as `a.b.c.d/len` (first `ipaddr` item; CIDR or with netmask).
pub fn lan_cidr(network: &Package) -> Option<String> {
    let lan = network.section("lan")?;
    let first = lan.items("ipaddr").into_iter().next()?;
    let (addr, netmask) = match first.split_once('/') {
        Some((a, l)) => (a.to_owned(), l.to_owned()),
        None => (
            first,
            lan.get("netmask").map_or("24".into(), ToString::to_string),
        ),
    };
    subnet(&addr, &netmask).map(|(a, len)| format!("{a}/{len}"))
}

/// The LAN subnet the router has now.
pub fn current_lan(network: &Package) -> (Ipv4Addr, u32) {
    lan_cidr(network)
        .and_then(|c| c.split_once('/').and_then(|(a, l)| subnet(a, l)))
        .unwrap_or((Ipv4Addr::new(192, 168, 1, 1), 24))
}

/// When the answers move the LAN, the old address (`a.b.c.d/len`): it stays on the LAN as a
/// second address until the change is confirmed, so the browser that applied it keeps its
/// connection (the weak spot of LuCI's apply, luci #3398 and #7537).
pub fn lan_alias(answers: &Answers, network: &Package) -> Option<String> {
    let lan = answers.lan.as_ref()?;
    let (addr, len) = subnet(&lan.ipaddr, &lan.netmask)?;
    let old = lan_cidr(network)?;
    (old != format!("{addr}/{len}")).then_some(old)
}

/// Every rule broken, including those that need the router's files.
pub fn check(answers: &Answers, network: &Package, wireless: &Package) -> Vec<FieldError> {
    let mut errors = validate(answers, current_lan(network));
    errors.extend(router_checks(answers, wireless, &errors));
    errors
}

/// The rules only the router can check (the browser runs the others itself): the radios
/// exist, the password estimator (for a password that passed the plain rules in `found`), and
/// a join code's key.
pub fn router_checks(
    answers: &Answers,
    wireless: &Package,
    found: &[FieldError],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(password) = &answers.password
        && !found.iter().any(|e| e.field == "password")
    {
        let hostname = answers.system.as_ref().map_or("", |s| s.hostname.as_str());
        let inputs = [hostname, "openwrt", "portico", "router", "admin", "root"];
        errors.extend(app::wizard::password_strength(password, &inputs).1);
    }
    let radios: Vec<&str> = wireless
        .sections_of("wifi-device")
        .map(|s| s.name.as_str())
        .collect();
    let radio_error = |field: String, radio: &str| FieldError {
        field,
        key: "wizard-error-radio",
        args: vec![("radio", radio.to_owned())],
    };
    for (i, wifi) in answers.wifi.iter().enumerate() {
        if !radios.contains(&wifi.radio.as_str()) {
            errors.push(radio_error(format!("wifi.{i}.radio"), &wifi.radio));
        }
    }
    if let Some(mesh) = &answers.mesh
        && !radios.contains(&mesh.radio.as_str())
    {
        errors.push(radio_error("mesh.radio".into(), &mesh.radio));
    }
    // A join code of the right shape whose key does not decode (a character changed).
    if let Some(app::wizard::Community::Join { code }) = &answers.community
        && !found.iter().any(|e| e.field == "community.code")
        && crate::mesh::Membership::from_code(code).is_err()
    {
        errors.push(FieldError::new("community.code", "wizard-error-join-code"));
    }
    errors
}

const WAN_OPTIONS: [&str; 8] = [
    "ipaddr", "netmask", "gateway", "dns", "username", "password", "service", "mtu",
];

/// The UCI edits for valid answers (see [`check`]). With `keep_old_lan` (a checked apply) a
/// LAN address change keeps the old address as a second `ipaddr` until the confirm.
pub fn edits(
    answers: &Answers,
    network: &Package,
    wireless: &Package,
    keep_old_lan: bool,
) -> Vec<Edit> {
    let mut edits = Vec::new();
    if let Some(system) = &answers.system {
        edits.push(set("system.@system[0].hostname", &system.hostname));
        edits.push(set("system.@system[0].zonename", &system.zonename));
        if let Some(rule) = posix_timezone(&system.zonename) {
            edits.push(set("system.@system[0].timezone", rule));
        }
    }
    if let Some(internet) = &answers.internet {
        internet_edits(internet, network, &mut edits);
    }
    if let Some(lan) = &answers.lan {
        match (
            lan_alias(answers, network).filter(|_| keep_old_lan),
            subnet(&lan.ipaddr, &lan.netmask),
        ) {
            (Some(old), Some((addr, len))) => edits.push(Edit::SetList {
                path: "network.lan.ipaddr".into(),
                items: vec![format!("{addr}/{len}").into_bytes(), old.into_bytes()],
            }),
            _ => edits.push(set("network.lan.ipaddr", lan.ipaddr.trim())),
        }
        edits.push(set(
            "network.lan.netmask",
            dotted(&lan.netmask, &lan.ipaddr),
        ));
    }
    wifi_edits(answers, wireless, &mut edits);
    if let Some(dhcp) = &answers.dhcp {
        if dhcp.enabled {
            edits.push(set("dhcp.lan.start", dhcp.start.to_string()));
            edits.push(set("dhcp.lan.limit", dhcp.limit.to_string()));
            edits.push(set("dhcp.lan.leasetime", &dhcp.leasetime));
            edits.push(Edit::Set {
                path: "dhcp.lan.ignore".into(),
                value: Vec::new(),
            });
        } else {
            edits.push(set("dhcp.lan.ignore", "1"));
        }
    }
    edits
}

fn internet_edits(internet: &Internet, network: &Package, edits: &mut Vec<Edit>) {
    let (keep, ipv6): (&[&str], bool) = match internet {
        Internet::Dhcp { ipv6 } => (&[], *ipv6),
        Internet::Static { ipv6, .. } => (&["ipaddr", "netmask", "gateway", "dns"], *ipv6),
        Internet::Pppoe { ipv6, .. } => (&["username", "password", "service", "mtu"], *ipv6),
    };
    let stale: Vec<&str> = WAN_OPTIONS
        .iter()
        .copied()
        .filter(|o| !keep.contains(o))
        .collect();
    clear(network, "wan", &stale, edits);
    match internet {
        Internet::Dhcp { .. } => edits.push(set("network.wan.proto", "dhcp")),
        Internet::Static {
            ipaddr,
            netmask,
            gateway,
            dns,
            ..
        } => {
            edits.push(set("network.wan.proto", "static"));
            edits.push(set("network.wan.ipaddr", ipaddr.trim()));
            edits.push(set("network.wan.netmask", dotted(netmask, ipaddr)));
            edits.push(set("network.wan.gateway", gateway.trim()));
            if dns.is_empty() {
                clear(network, "wan", &["dns"], edits);
            } else {
                edits.push(Edit::SetList {
                    path: "network.wan.dns".into(),
                    items: dns.iter().map(|d| d.trim().as_bytes().to_vec()).collect(),
                });
            }
        }
        Internet::Pppoe {
            username,
            password,
            service,
            mtu,
            ..
        } => {
            edits.push(set("network.wan.proto", "pppoe"));
            edits.push(set("network.wan.username", username));
            edits.push(set("network.wan.password", password));
            match service.as_deref().filter(|s| !s.is_empty()) {
                Some(service) => edits.push(set("network.wan.service", service)),
                None => clear(network, "wan", &["service"], edits),
            }
            edits.push(set("network.wan.mtu", mtu.unwrap_or(1492).to_string()));
        }
    }
    if network.section("wan6").is_some() {
        if ipv6 {
            clear(network, "wan6", &["disabled"], edits);
        } else {
            edits.push(set("network.wan6.disabled", "1"));
        }
    } else if ipv6 {
        edits.push(set("network.wan6", "interface"));
        edits.push(set("network.wan6.device", "@wan"));
        edits.push(set("network.wan6.proto", "dhcpv6"));
    }
}

fn wifi_edits(answers: &Answers, wireless: &Package, edits: &mut Vec<Edit>) {
    // Where the router is decides the channels of every radio.
    if let Some(country) = answers.system.as_ref().and_then(|s| s.country.as_ref()) {
        for radio in wireless.sections_of("wifi-device") {
            edits.push(set(format!("wireless.{}.country", radio.name), country));
        }
    }
    let mut used: Vec<&str> = Vec::new();
    for wifi in &answers.wifi {
        if let Some(country) = &wifi.country {
            edits.push(set(format!("wireless.{}.country", wifi.radio), country));
        }
        used.push(&wifi.radio);
        let ap = wireless.sections.iter().find(|s| {
            s.kind == "wifi-iface"
                && s.get("device").is_some_and(|d| d == wifi.radio.as_str())
                && s.get("mode").is_none_or(|m| m == "ap")
        });
        let section = if let Some(s) = ap {
            s.name.clone()
        } else {
            let name = format!("default_{}", wifi.radio);
            edits.push(set(format!("wireless.{name}"), "wifi-iface"));
            edits.push(set(format!("wireless.{name}.device"), &wifi.radio));
            edits.push(set(format!("wireless.{name}.network"), "lan"));
            edits.push(set(format!("wireless.{name}.mode"), "ap"));
            name
        };
        edits.push(set(format!("wireless.{section}.ssid"), &wifi.ssid));
        edits.push(set(
            format!("wireless.{section}.encryption"),
            &wifi.encryption,
        ));
        edits.push(set(format!("wireless.{section}.key"), &wifi.key));
        if wifi.encryption == "sae" {
            // WPA3 requires management frame protection.
            edits.push(set(format!("wireless.{section}.ieee80211w"), "2"));
        }
        clear(wireless, &section, &["disabled"], edits);
    }
    if let Some(mesh) = &answers.mesh {
        let name = format!("mesh_{}", mesh.radio);
        edits.push(set(format!("wireless.{name}"), "wifi-iface"));
        edits.push(set(format!("wireless.{name}.device"), &mesh.radio));
        edits.push(set(format!("wireless.{name}.network"), "lan"));
        edits.push(set(format!("wireless.{name}.mode"), "mesh"));
        edits.push(set(format!("wireless.{name}.mesh_id"), &mesh.mesh_id));
        edits.push(set(format!("wireless.{name}.encryption"), "sae"));
        edits.push(set(format!("wireless.{name}.key"), &mesh.key));
        edits.push(set(
            format!("wireless.{name}.mesh_fwding"),
            if mesh.forwarding { "1" } else { "0" },
        ));
        used.push(&mesh.radio);
    }
    // A radio that carries a network is switched on (once, however many networks it carries).
    used.sort_unstable();
    used.dedup();
    for radio in used {
        clear(wireless, radio, &["disabled"], edits);
    }
}
