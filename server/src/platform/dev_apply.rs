//! Dev apply (design.md): what "reload services" means on the dev platform, inside the lab's
//! router namespace — the part of netifd and firewall4 Portico's features need.
//!
//! * network: `lan` static on its device (`br-lan`), its IPv4 address replaced; `wan` static
//!   (address, gateway) or dhcp (busybox `udhcpc` with a script that touches only this
//!   namespace); pppoe, dhcpv6 and wireless are written and validated but not realised here;
//! * dhcp: the LAN's dnsmasq generated from UCI `dhcp` (range from `start`/`limit`, lease time,
//!   `ignore`, `dhcp_option`s such as 114), DNS forwarded to the WAN's DNS; it replaces the
//!   lab's own LAN dnsmasq and is restarted whenever network or dhcp change;
//! * firewall: one `inet portico_fw` table generated from UCI `firewall` (zones with their
//!   policies, forwardings, masquerading, rules, port forwards), replaced atomically by `nft -f`.
//!
//! Plans are computed from the files by pure functions (unit-tested on their exact output);
//! running them is the only part that touches the kernel, and it refuses the host namespace.
//! A rollback restores the files and calls the same code, so the kernel follows them back.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

use uci::{Package, Section};

use super::{Error, Result};

/// The nft table the dev platform's firewall lives in (Portico's portal and offload tables are
/// separate and untouched by a firewall reload).
pub const TABLE: &str = "portico_fw";

fn get(section: &Section, option: &str) -> Option<String> {
    section
        .get(option)
        .map(ToString::to_string)
        .filter(|v| !v.is_empty())
}

fn list(section: &Section, option: &str) -> Vec<String> {
    section
        .option(option)
        .map(|o| {
            o.value
                .items()
                .iter()
                .flat_map(|v| {
                    v.to_string()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn invalid(what: impl Into<String>) -> Error {
    Error::Unavailable(what.into())
}

/// The kernel device of a network interface (`lan` -> `br-lan`).
pub fn interface_device(network: &Package, interface: &str) -> Option<String> {
    let section = network
        .section(interface)
        .filter(|s| s.kind == "interface")?;
    get(section, "device")
        .or_else(|| get(section, "ifname"))
        .filter(|d| !d.starts_with('@'))
}

/// One `ipaddr` item (CIDR, or with the section's `netmask`) as `a.b.c.d/len`.
fn one_cidr(section: &Section, addr: &str) -> Result<String> {
    let (addr, len) = if let Some((a, l)) = addr.split_once('/') {
        let len = l
            .parse::<u8>()
            .map_err(|_| invalid(format!("bad prefix in {addr}")))?;
        (a.to_owned(), len)
    } else {
        let mask: Ipv4Addr = get(section, "netmask")
            .unwrap_or_else(|| "255.255.255.0".into())
            .parse()
            .map_err(|_| invalid("bad netmask"))?;
        let bits = u32::from(mask);
        if bits.leading_ones() + bits.trailing_zeros() != 32 {
            return Err(invalid(format!("netmask {mask} is not contiguous")));
        }
        (
            addr.to_owned(),
            u8::try_from(bits.leading_ones()).unwrap_or(32),
        )
    };
    addr.parse::<Ipv4Addr>()
        .map_err(|_| invalid(format!("bad address {addr}")))?;
    if len > 32 {
        return Err(invalid(format!("bad prefix length {len}")));
    }
    Ok(format!("{addr}/{len}"))
}

/// Every IPv4 address of an interface: `ipaddr` may be a list (netifd takes several, which is
/// how the old LAN address stays reachable while an address change waits for confirmation).
fn addresses(section: &Section) -> Result<Vec<String>> {
    section
        .items("ipaddr")
        .iter()
        .filter(|a| !a.is_empty())
        .map(|a| one_cidr(section, a))
        .collect()
}

/// The first IPv4 address of an interface.
fn cidr(section: &Section) -> Result<Option<String>> {
    Ok(addresses(section)?.into_iter().next())
}

/// One command of a plan: program and arguments.
pub type Step = Vec<String>;

fn step(words: &[&str]) -> Step {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// The commands that make the namespace's interfaces follow `network` (`udhcpc_script`: the
/// DHCP client's script, which configures only this namespace).
///
/// # Errors
/// An address, netmask or gateway that is not valid.
pub fn network_plan(network: &Package, udhcpc_script: &Path) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    for section in network.sections_of("interface") {
        let name = section.name.as_str();
        if name == "loopback" {
            continue;
        }
        let Some(device) = interface_device(network, name) else {
            continue;
        };
        match get(section, "proto").as_deref() {
            Some("static") => {
                let addresses = addresses(section)?;
                if addresses.is_empty() {
                    continue;
                }
                steps.push(step(&["ip", "-4", "addr", "flush", "dev", &device]));
                for address in &addresses {
                    steps.push(step(&["ip", "addr", "add", address, "dev", &device]));
                }
                steps.push(step(&["ip", "link", "set", &device, "up"]));
                if let Some(gateway) = get(section, "gateway") {
                    gateway
                        .parse::<Ipv4Addr>()
                        .map_err(|_| invalid(format!("bad gateway {gateway}")))?;
                    steps.push(step(&[
                        "ip", "route", "replace", "default", "via", &gateway, "dev", &device,
                    ]));
                }
            }
            Some("dhcp") => {
                steps.push(step(&["ip", "link", "set", &device, "up"]));
                steps.push(step(&[
                    "busybox",
                    "udhcpc",
                    "-q",
                    "-n",
                    "-f",
                    "-t",
                    "5",
                    "-T",
                    "1",
                    "-i",
                    &device,
                    "-s",
                    &udhcpc_script.to_string_lossy(),
                ]));
            }
            // An interface without addresses (a babel mesh port speaks link-local IPv6).
            Some("none") => steps.push(step(&["ip", "link", "set", &device, "up"])),
            // pppoe, dhcpv6: written and validated, not realised in the lab.
            _ => {}
        }
    }
    Ok(steps)
}

/// The commands that make the bridges' members follow `network`'s bridge `device` sections:
/// each listed port that exists (`links`: every link and the bridge it is a member of) joins
/// its bridge; a member no longer listed leaves it. VLAN devices (`8021q`, `8021ad`) are written
/// and validated but not realised: the sandbox kernel has no 8021q module.
pub fn bridge_plan(network: &Package, links: &[(String, Option<String>)]) -> Vec<Step> {
    let mut steps = Vec::new();
    for bridge in network.sections_of("device") {
        if get(bridge, "type").as_deref() != Some("bridge") {
            continue;
        }
        let Some(name) = get(bridge, "name") else {
            continue;
        };
        if !links.iter().any(|(l, _)| *l == name) {
            continue;
        }
        let ports = list(bridge, "ports");
        for port in &ports {
            match links.iter().find(|(l, _)| l == port) {
                Some((_, master)) if master.as_deref() != Some(name.as_str()) => {
                    steps.push(step(&["ip", "link", "set", port, "master", &name]));
                    steps.push(step(&["ip", "link", "set", port, "up"]));
                }
                _ => {}
            }
        }
        for (link, master) in links {
            if master.as_deref() == Some(name.as_str()) && !ports.contains(link) {
                steps.push(step(&["ip", "link", "set", link, "nomaster"]));
            }
        }
    }
    steps
}

/// The devices of a firewall zone: its `device` list and the devices of its `network`s.
fn zone_devices(zone: &Section, network: &Package) -> Vec<String> {
    let mut devices = list(zone, "device");
    for interface in list(zone, "network") {
        if let Some(device) = interface_device(network, &interface)
            && !devices.contains(&device)
        {
            devices.push(device);
        }
    }
    devices
}

fn set_of(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("{{ {} }}", quoted.join(", "))
}

fn verdict(target: &str) -> Option<&'static str> {
    match target.to_ascii_uppercase().as_str() {
        "ACCEPT" => Some("accept"),
        "REJECT" => Some("jump handle_reject"),
        "DROP" => Some("drop"),
        _ => None,
    }
}

fn nft_icmp_type(name: &str, v6: bool) -> Option<String> {
    if let Some((kind, _code)) = name.split_once('/') {
        return kind.parse::<u8>().ok().map(|n| n.to_string());
    }
    if name.parse::<u8>().is_ok() {
        return Some(name.to_owned());
    }
    let mapped = match name {
        "echo-request"
        | "echo-reply"
        | "destination-unreachable"
        | "time-exceeded"
        | "parameter-problem" => name,
        "packet-too-big" if v6 => name,
        "bad-header" | "unknown-header-type" if v6 => "parameter-problem",
        "router-solicitation" if v6 => "nd-router-solicit",
        "router-advertisement" if v6 => "nd-router-advert",
        "neighbour-solicitation" | "neighbor-solicitation" if v6 => "nd-neighbor-solicit",
        "neighbour-advertisement" | "neighbor-advertisement" if v6 => "nd-neighbor-advert",
        "router-solicitation" => "router-solicitation",
        "router-advertisement" => "router-advertisement",
        _ => return None,
    };
    Some(mapped.to_owned())
}

/// The match part of a `rule` or `redirect` (family, protocol, addresses, ports, ICMP types).
fn rule_match(section: &Section, port_option: &str) -> Option<String> {
    let family = get(section, "family").unwrap_or_default();
    let mut parts = Vec::new();
    match family.as_str() {
        "ipv4" => parts.push("meta nfproto ipv4".to_owned()),
        "ipv6" => parts.push("meta nfproto ipv6".to_owned()),
        _ => {}
    }
    let v6 = family == "ipv6";
    // A redirect's `dest_ip` is where it forwards to, not a match: its own destination is
    // `src_dip` (fw4's meaning).
    let addresses = if port_option == "src_dport" {
        [("src_ip", "saddr"), ("src_dip", "daddr")]
    } else {
        [("src_ip", "saddr"), ("dest_ip", "daddr")]
    };
    for (option, field) in addresses {
        if let Some(ip) = get(section, option) {
            let proto = if ip.contains(':') { "ip6" } else { "ip" };
            parts.push(format!("{proto} {field} {ip}"));
        }
    }
    let protos: Vec<String> = list(section, "proto")
        .into_iter()
        .filter(|p| p != "all" && p != "any")
        .collect();
    let port = get(section, port_option);
    match protos.as_slice() {
        [] => {}
        [p] if p == "icmp" => {
            let mut types: Vec<String> = Vec::new();
            for t in list(section, "icmp_type")
                .iter()
                .filter_map(|t| nft_icmp_type(t, v6))
            {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            let proto = if v6 { "icmpv6" } else { "icmp" };
            if types.is_empty() {
                parts.push(format!(
                    "meta l4proto {}",
                    if v6 { "ipv6-icmp" } else { "icmp" }
                ));
            } else {
                parts.push(format!("{proto} type {{ {} }}", types.join(", ")));
            }
        }
        [p] if port.is_some() && (p == "tcp" || p == "udp") => {
            parts.push(format!("{p} dport {}", port.clone().unwrap_or_default()));
        }
        protos => {
            parts.push(format!("meta l4proto {{ {} }}", protos.join(", ")));
            if let Some(port) = &port {
                parts.push(format!("th dport {port}"));
            }
        }
    }
    if let Some(limit) = get(section, "limit") {
        let (rate, unit) = limit.split_once('/').unwrap_or((&limit, "second"));
        let unit = match unit {
            "sec" | "second" => "second",
            "min" | "minute" => "minute",
            "hour" => "hour",
            "day" => "day",
            _ => return None,
        };
        parts.push(format!("limit rate {rate}/{unit}"));
    }
    Some(parts.join(" "))
}

/// A firewall zone: its name, its section, its devices.
struct Zone<'a> {
    name: String,
    section: &'a Section,
    devices: Vec<String>,
}

fn zones<'a>(firewall: &'a Package, network: &Package) -> Vec<Zone<'a>> {
    firewall
        .sections_of("zone")
        .filter(|z| get(z, "enabled").as_deref() != Some("0"))
        .filter_map(|z| {
            Some(Zone {
                name: get(z, "name")?,
                section: z,
                devices: zone_devices(z, network),
            })
        })
        .filter(|z| {
            z.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect()
}

fn enabled(section: &Section) -> bool {
    get(section, "enabled").as_deref() != Some("0")
}

/// A rule's verdict and match, or `None` when it cannot be expressed here.
fn rule_line(rule: &Section) -> Option<(&'static str, String)> {
    let verdict = verdict(&get(rule, "target").unwrap_or_else(|| "ACCEPT".into()))?;
    Some((verdict, rule_match(rule, "dest_port")?.trim().to_owned()))
}

/// The `inet portico_fw` ruleset for `firewall`, with zone devices from `network`, as one
/// `nft -f` script that replaces the table atomically.
pub fn firewall_ruleset(firewall: &Package, network: &Package) -> String {
    let zones = zones(firewall, network);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "table inet {TABLE}\ndelete table inet {TABLE}\ntable inet {TABLE} {{"
    );
    base_chains(&mut out, firewall, &zones);
    for zone in &zones {
        zone_chains(&mut out, firewall, &zones, zone);
    }
    nat_chains(&mut out, firewall, &zones);
    let _ = writeln!(out, "}}");
    out
}

/// The hooked chains: established traffic, then a jump per zone, then the default policy.
fn base_chains(out: &mut String, firewall: &Package, zones: &[Zone<'_>]) {
    let defaults = firewall.sections_of("defaults").next();
    let default = |chain: &str| {
        let target = defaults
            .and_then(|d| get(d, chain))
            .unwrap_or_else(|| "REJECT".into());
        verdict(&target).unwrap_or("drop")
    };
    for chain in ["input", "forward"] {
        let _ = writeln!(
            out,
            "\tchain {chain} {{\n\t\ttype filter hook {chain} priority filter; policy drop;"
        );
        if chain == "input" {
            let _ = writeln!(out, "\t\tiif \"lo\" accept");
        }
        let _ = writeln!(
            out,
            "\t\tct state vmap {{ established : accept, related : accept, invalid : drop }}"
        );
        for zone in zones.iter().filter(|z| !z.devices.is_empty()) {
            let _ = writeln!(
                out,
                "\t\tiifname {} jump {chain}_{}",
                set_of(&zone.devices),
                zone.name
            );
        }
        let _ = writeln!(out, "\t\t{}\n\t}}", default(chain));
    }
    let _ = writeln!(
        out,
        "\tchain output {{\n\t\ttype filter hook output priority filter; policy accept;\n\t}}"
    );
    let _ = writeln!(
        out,
        "\tchain handle_reject {{\n\t\tmeta l4proto tcp reject with tcp reset\n\t\treject\n\t}}"
    );
}

/// `input_<zone>` (rules from the zone to the router, then its input policy) and
/// `forward_<zone>` (forwardings and rules to other zones, then its forward policy).
fn zone_chains(out: &mut String, firewall: &Package, zones: &[Zone<'_>], zone: &Zone<'_>) {
    let policy = |chain: &str| {
        verdict(&get(zone.section, chain).unwrap_or_else(|| "DROP".into())).unwrap_or("drop")
    };
    let from_here =
        |s: &&Section| enabled(s) && get(s, "src").as_deref() == Some(zone.name.as_str());
    let devices_of = |name: Option<String>| {
        zones
            .iter()
            .find(|z| Some(&z.name) == name.as_ref())
            .map(|z| &z.devices)
    };

    let _ = writeln!(out, "\tchain input_{} {{", zone.name);
    for rule in firewall
        .sections_of("rule")
        .filter(from_here)
        .filter(|r| get(r, "dest").is_none())
    {
        if let Some((verdict, matches)) = rule_line(rule) {
            let comment = get(rule, "name")
                .map(|n| format!(" comment \"{}\"", n.replace('"', "'")))
                .unwrap_or_default();
            let _ = writeln!(out, "\t\t{matches} {verdict}{comment}");
        }
    }
    let _ = writeln!(out, "\t\t{}\n\t}}", policy("input"));

    let _ = writeln!(out, "\tchain forward_{} {{", zone.name);
    for forwarding in firewall.sections_of("forwarding").filter(from_here) {
        if let Some(devices) = devices_of(get(forwarding, "dest")).filter(|d| !d.is_empty()) {
            let _ = writeln!(out, "\t\toifname {} accept", set_of(devices));
        }
    }
    for rule in firewall.sections_of("rule").filter(from_here) {
        let (Some(devices), Some((verdict, matches))) =
            (devices_of(get(rule, "dest")), rule_line(rule))
        else {
            continue;
        };
        if !devices.is_empty() {
            let _ = writeln!(out, "\t\toifname {} {matches} {verdict}", set_of(devices));
        }
    }
    // Port forwards from this zone are accepted (the DNAT happens in dstnat).
    if firewall.sections_of("redirect").any(|r| from_here(&r)) {
        let _ = writeln!(out, "\t\tct status dnat accept");
    }
    let _ = writeln!(out, "\t\t{}\n\t}}", policy("forward"));
}

/// Masquerading out of zones with `masq`, port forwards (`redirect`, DNAT) in.
fn nat_chains(out: &mut String, firewall: &Package, zones: &[Zone<'_>]) {
    let _ = writeln!(
        out,
        "\tchain srcnat {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;"
    );
    for zone in zones
        .iter()
        .filter(|z| get(z.section, "masq").as_deref() == Some("1") && !z.devices.is_empty())
    {
        let _ = writeln!(
            out,
            "\t\tmeta nfproto ipv4 oifname {} masquerade",
            set_of(&zone.devices)
        );
    }
    let _ = writeln!(out, "\t}}");
    let _ = writeln!(
        out,
        "\tchain dstnat {{\n\t\ttype nat hook prerouting priority dstnat; policy accept;"
    );
    for redirect in firewall.sections_of("redirect").filter(|r| enabled(r)) {
        let (Some(src), Some(dest_ip)) = (get(redirect, "src"), get(redirect, "dest_ip")) else {
            continue;
        };
        if get(redirect, "target").is_some_and(|t| t != "DNAT")
            || dest_ip.parse::<Ipv4Addr>().is_err()
        {
            continue;
        }
        let Some(zone) = zones
            .iter()
            .find(|z| z.name == src && !z.devices.is_empty())
        else {
            continue;
        };
        let Some(matches) = rule_match(redirect, "src_dport") else {
            continue;
        };
        let to = get(redirect, "dest_port")
            .map_or_else(|| dest_ip.clone(), |port| format!("{dest_ip}:{port}"));
        let _ = writeln!(
            out,
            "\t\tiifname {} meta nfproto ipv4 {} dnat ip to {to}",
            set_of(&zone.devices),
            matches.trim()
        );
    }
    let _ = writeln!(out, "\t}}");
}

/// The LAN dnsmasq configuration for `dhcp` and `network` (`upstream`: DNS servers of the
/// WAN; `run_dir`: where its pid, lease and log files go).
///
/// # Errors
/// A LAN address or DHCP setting that is not valid.
pub fn dnsmasq_conf(
    dhcp: &Package,
    network: &Package,
    upstream: &[String],
    run_dir: &Path,
) -> Result<String> {
    let d = run_dir.display();
    let mut out = String::new();
    let lan = dhcp
        .sections_of("dhcp")
        .find(|s| get(s, "interface").as_deref() == Some("lan"));
    let device = interface_device(network, "lan").unwrap_or_else(|| "br-lan".into());
    let _ = writeln!(
        out,
        "interface={device}\nbind-dynamic\nexcept-interface=lo\nno-hosts\nno-resolv"
    );
    for server in upstream {
        let _ = writeln!(out, "server={server}");
    }
    let settings = dhcp.sections_of("dnsmasq").next();
    if let Some(domain) = settings.and_then(|s| get(s, "domain")).filter(|d| {
        d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    }) {
        let _ = writeln!(out, "domain={domain}\nlocal=/{domain}/");
    }
    if settings.and_then(|s| get(s, "authoritative")).as_deref() != Some("0") {
        let _ = writeln!(out, "dhcp-authoritative");
    }
    let _ = writeln!(
        out,
        "dhcp-leasefile={d}/lan.leases\npid-file={d}/lan-dnsmasq.pid\nlog-facility={d}/lan-dnsmasq.log"
    );
    let Some(lan) = lan.filter(|l| get(l, "ignore").as_deref() != Some("1")) else {
        return Ok(out);
    };
    let interface = network
        .section("lan")
        .ok_or_else(|| invalid("network has no lan interface"))?;
    let address = cidr(interface)?.ok_or_else(|| invalid("the lan interface has no address"))?;
    let (ip, len) = address.split_once('/').unwrap_or((&address, "24"));
    let ip = u32::from(
        ip.parse::<Ipv4Addr>()
            .map_err(|_| invalid("bad lan address"))?,
    );
    let len: u32 = len.parse().unwrap_or(24);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let (network_base, broadcast) = (ip & mask, (ip & mask) | !mask);
    let number = |option: &str, default: u32| -> Result<u32> {
        get(lan, option).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| invalid(format!("dhcp.lan.{option} is not a number")))
        })
    };
    let (start, limit) = (number("start", 100)?, number("limit", 150)?);
    let first = network_base.saturating_add(start);
    let last = first
        .saturating_add(limit.saturating_sub(1))
        .min(broadcast.saturating_sub(1));
    if limit == 0 || first >= broadcast || first > last {
        return Err(invalid("the dhcp range lies outside the lan network"));
    }
    let leasetime = get(lan, "leasetime").unwrap_or_else(|| "12h".into());
    if !leasetime.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid("bad dhcp lease time"));
    }
    let _ = writeln!(
        out,
        "dhcp-range={},{},{},{leasetime}",
        Ipv4Addr::from(first),
        Ipv4Addr::from(last),
        Ipv4Addr::from(mask)
    );
    for option in list(lan, "dhcp_option") {
        let _ = writeln!(out, "dhcp-option={option}");
    }
    // Static leases (`config host`): one MAC, one address, a name.
    for host in dhcp.sections_of("host") {
        let mac = get(host, "mac").and_then(|m| crate::section::parse_mac(&m));
        let ip = get(host, "ip").and_then(|a| a.parse::<Ipv4Addr>().ok());
        let (Some(mac), Some(ip)) = (mac, ip) else {
            continue;
        };
        match get(host, "name").filter(|n| crate::section::is_host_name(n)) {
            Some(name) => writeln!(out, "dhcp-host={mac},{ip},{name}"),
            None => writeln!(out, "dhcp-host={mac},{ip}"),
        }
        .ok();
    }
    Ok(out)
}

/// DNS servers the namespace uses upstream (its resolv.conf: on the lab's router, the isp).
fn upstream_dns() -> Vec<String> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .map(str::trim)
        .filter(|a| {
            a.parse::<std::net::IpAddr>()
                .is_ok_and(|a| !a.is_loopback())
        })
        .map(str::to_owned)
        .collect()
}

/// The LAN dnsmasqs running in this network namespace (the lab's or Portico's): processes
/// named dnsmasq, in our namespace, started with a `lan-dnsmasq.conf`. Their `/proc` folders
/// and command lines.
fn lan_dnsmasqs() -> Vec<(i32, std::path::PathBuf, String)> {
    let own = std::fs::read_link("/proc/self/ns/net").ok();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(std::result::Result::ok)
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let proc = entry.path();
            let comm = std::fs::read_to_string(proc.join("comm")).ok()?;
            if comm.trim() != "dnsmasq" || std::fs::read_link(proc.join("ns/net")).ok() != own {
                return None;
            }
            // Arguments separated by NUL.
            let cmdline =
                String::from_utf8_lossy(&std::fs::read(proc.join("cmdline")).ok()?).into_owned();
            cmdline
                .contains("lan-dnsmasq.conf")
                .then_some((pid, proc, cmdline))
        })
        .collect()
}

/// The lease file of the LAN dnsmasq running in this namespace (its configuration's
/// `dhcp-leasefile`).
pub fn lan_lease_file() -> Option<std::path::PathBuf> {
    lan_dnsmasqs().into_iter().find_map(|(_, _, cmdline)| {
        let conf = cmdline
            .split('\0')
            .find_map(|arg| arg.strip_prefix("--conf-file="))?;
        std::fs::read_to_string(conf)
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("dhcp-leasefile="))
            .map(std::path::PathBuf::from)
    })
}

/// Stops the LAN dnsmasq running in this network namespace (the lab's or our previous one).
fn stop_lan_dnsmasq() {
    for (pid, proc, _) in lan_dnsmasqs() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        // Gone, or a zombie (it has closed its sockets either way).
        for _ in 0..100 {
            let state = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
            if state.is_empty()
                || state
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// (Re)starts the LAN dnsmasq from the current files.
///
/// # Errors
/// A config that does not parse or is invalid, or dnsmasq failing to start.
pub fn apply_dhcp(root: &Path) -> Result<()> {
    let run_dir = root.join("var/run/portico");
    let conf = dnsmasq_conf(
        &load(root, "dhcp")?,
        &load(root, "network")?,
        &upstream_dns(),
        &run_dir,
    )?;
    let path = run_dir.join("lan-dnsmasq.conf");
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&run_dir).map_err(io)?;
    std::fs::write(&path, conf).map_err(io)?;
    // Taking over from another LAN dnsmasq (the lab's): its leases stay known, as they do
    // across dnsmasq restarts on a router (the devices keep their addresses meanwhile).
    let ours = run_dir.join("lan.leases");
    if let Some(theirs) = lan_lease_file().filter(|f| *f != ours && !ours.exists()) {
        let _ = std::fs::copy(theirs, &ours);
    }
    let start = [
        "dnsmasq".to_owned(),
        format!("--conf-file={}", path.display()),
    ];
    // The one it replaces may hold its sockets a moment past its exit on a busy machine (seen
    // in CI as "Address already in use"): stop it again and retry for up to five seconds.
    let mut tries = 0;
    loop {
        stop_lan_dnsmasq();
        match run(&start) {
            Err(Error::Command { detail, .. })
                if detail.contains("Address already in use") && tries < 10 =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            result => return result,
        }
    }
}

fn run(step: &[String]) -> Result<()> {
    let output = Command::new(&step[0])
        .args(&step[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            command: step.join(" "),
            detail: e.to_string(),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            command: step.join(" "),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn load(root: &Path, name: &str) -> Result<Package> {
    super::package_in(&super::store(root), name)
}

/// The lab's `udhcpc` script (it configures only the namespace it runs in), under the root.
fn udhcpc_script(root: &Path) -> Result<std::path::PathBuf> {
    let dir = root.join("var/run/portico");
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    netlab::lab::write_udhcpc_script(&dir).map_err(|e| invalid(e.to_string()))
}

/// Realises the network configuration in the current (lab) namespace.
///
/// # Errors
/// A config that does not parse or is invalid, or a command that fails.
pub fn apply_network(root: &Path) -> Result<()> {
    let script = udhcpc_script(root)?;
    let network = load(root, "network")?;
    let links = crate::kernel::links::list().map_err(|e| invalid(e.to_string()))?;
    let names: std::collections::HashMap<u32, String> =
        links.iter().map(|l| (l.index, l.name.clone())).collect();
    let members: Vec<(String, Option<String>)> = links
        .iter()
        .map(|l| {
            (
                l.name.clone(),
                l.master.and_then(|m| names.get(&m).cloned()),
            )
        })
        .collect();
    for step in bridge_plan(&network, &members) {
        run(&step)?;
    }
    for step in network_plan(&network, &script)? {
        run(&step)?;
    }
    Ok(())
}

/// (Re)starts the lab router's babeld on the interfaces UCI `babeld` lists (`config interface`
/// with `option ifname`); none listed: babeld stays stopped. Its pid and state files live under
/// the root.
///
/// # Errors
/// A config that does not parse, or babeld failing to start.
pub fn apply_babeld(root: &Path) -> Result<()> {
    let dir = root.join("var/run/portico");
    let pidfile = dir.join("babeld.pid");
    if let Some(pid) = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
    {
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        for _ in 0..100 {
            if nix::sys::signal::kill(pid, None).is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = std::fs::remove_file(&pidfile);
    }
    let babeld = load(root, "babeld")?;
    let interfaces: Vec<String> = babeld
        .sections_of("interface")
        .filter_map(|s| get(s, "ifname"))
        .collect();
    if interfaces.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let mut command = vec![
        "babeld".to_owned(),
        "-D".into(),
        "-I".into(),
        pidfile.to_string_lossy().into_owned(),
        "-S".into(),
        dir.join("babeld.state").to_string_lossy().into_owned(),
    ];
    command.extend(interfaces);
    run(&command)
}

/// Replaces the firewall table in the current (lab) namespace.
///
/// # Errors
/// A config that does not parse, or `nft` refusing the ruleset.
pub fn apply_firewall(root: &Path) -> Result<()> {
    let ruleset = firewall_ruleset(&load(root, "firewall")?, &load(root, "network")?);
    let path = root.join("var/run/portico/firewall.nft");
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(path.parent().unwrap_or(root)).map_err(io)?;
    std::fs::write(&path, &ruleset).map_err(io)?;
    run(&[
        "nft".to_owned(),
        "-f".to_owned(),
        path.to_string_lossy().into_owned(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_members_follow_the_ports_list() {
        let mut network = crate::platform::fresh::package("network");
        let links = |eth2: Option<&str>| {
            vec![
                ("br-lan".to_owned(), None),
                ("eth0".to_owned(), Some("br-lan".to_owned())),
                ("eth1".to_owned(), None),
                ("eth2".to_owned(), eth2.map(str::to_owned)),
            ]
        };
        assert!(bridge_plan(&network, &links(None)).is_empty(), "as it is");
        let bridge = network.sections_of("device").next().unwrap().name.clone();
        network
            .section_mut(&bridge)
            .unwrap()
            .add_list("ports", b"eth2");
        assert_eq!(
            bridge_plan(&network, &links(None)),
            [
                step(&["ip", "link", "set", "eth2", "master", "br-lan"]),
                step(&["ip", "link", "set", "eth2", "up"])
            ]
        );
        assert_eq!(
            bridge_plan(
                &crate::platform::fresh::package("network"),
                &links(Some("br-lan"))
            ),
            [step(&["ip", "link", "set", "eth2", "nomaster"])],
            "no longer listed"
        );
    }

    #[test]
    fn network_plan_of_a_fresh_router() {
        let plan = network_plan(
            &crate::platform::fresh::package("network"),
            Path::new("/r/udhcpc.script"),
        )
        .unwrap();
        let lines: Vec<String> = plan.iter().map(|s| s.join(" ")).collect();
        assert_eq!(
            lines,
            [
                "ip -4 addr flush dev br-lan",
                "ip addr add 192.168.1.1/24 dev br-lan",
                "ip link set br-lan up",
                "ip link set eth1 up",
                "busybox udhcpc -q -n -f -t 5 -T 1 -i eth1 -s /r/udhcpc.script",
            ]
        );
    }

    #[test]
    fn dnsmasq_for_a_fresh_router_and_a_moved_lan() {
        let conf = dnsmasq_conf(
            &crate::platform::fresh::package("dhcp"),
            &crate::platform::fresh::package("network"),
            &["100.64.0.1".into()],
            Path::new("/run/p"),
        )
        .unwrap();
        for line in [
            "interface=br-lan",
            "server=100.64.0.1",
            "domain=lan",
            "dhcp-range=192.168.1.100,192.168.1.249,255.255.255.0,12h",
            "pid-file=/run/p/lan-dnsmasq.pid",
        ] {
            assert!(conf.lines().any(|l| l == line), "missing {line} in\n{conf}");
        }
        let mut network = crate::platform::fresh::package("network");
        network
            .section_mut("lan")
            .unwrap()
            .set("ipaddr", b"10.0.0.1");
        let mut dhcp = crate::platform::fresh::package("dhcp");
        let lan = dhcp.sections.iter_mut().find(|s| s.name == "lan").unwrap();
        lan.set("limit", b"500");
        lan.add_list(
            "dhcp_option",
            b"114,http://10.0.0.1:8080/captive-portal/api",
        );
        let conf = dnsmasq_conf(&dhcp, &network, &[], Path::new("/run/p")).unwrap();
        assert!(
            conf.contains("dhcp-range=10.0.0.100,10.0.0.254,255.255.255.0,12h\n"),
            "clamped to the network: {conf}"
        );
        assert!(conf.contains("dhcp-option=114,http://10.0.0.1:8080/captive-portal/api\n"));
        // Static leases; one with a broken MAC is left out, a bad name is dropped.
        let hosts = uci::parse(
            "dhcp",
            b"config host\n\toption name 'nas'\n\toption mac '00:D0:EF:00:00:01'\n\toption ip '10.0.0.10'\n\
              config host\n\toption name 'x y'\n\toption mac '00:d0:ef:00:00:02'\n\toption ip '10.0.0.11'\n\
              config host\n\toption mac 'broken'\n\toption ip '10.0.0.12'\n",
        )
        .unwrap();
        dhcp.sections.extend(hosts.sections);
        let conf = dnsmasq_conf(&dhcp, &network, &[], Path::new("/run/p")).unwrap();
        assert!(
            conf.contains("dhcp-host=00:d0:ef:00:00:01,10.0.0.10,nas\n"),
            "{conf}"
        );
        assert!(
            conf.contains("dhcp-host=00:d0:ef:00:00:02,10.0.0.11\n"),
            "{conf}"
        );
        assert!(!conf.contains("10.0.0.12"), "{conf}");
        dhcp.sections
            .iter_mut()
            .find(|s| s.name == "lan")
            .unwrap()
            .set("ignore", b"1");
        assert!(
            !dnsmasq_conf(&dhcp, &network, &[], Path::new("/run/p"))
                .unwrap()
                .contains("dhcp-range")
        );
    }

    #[test]
    fn static_wan_and_cidr_addresses() {
        let network = uci::parse(
            "network",
            b"config interface 'lan'\n\toption device br-lan\n\toption proto static\n\toption ipaddr 10.0.0.1/16\n\
              config interface 'wan'\n\toption device eth1\n\toption proto static\n\toption ipaddr 100.64.0.9\n\toption netmask 255.255.255.0\n\toption gateway 100.64.0.1\n",
        )
        .unwrap();
        let lines: Vec<String> = network_plan(&network, Path::new("/s"))
            .unwrap()
            .iter()
            .map(|s| s.join(" "))
            .collect();
        assert!(lines.contains(&"ip addr add 10.0.0.1/16 dev br-lan".to_owned()));
        assert!(lines.contains(&"ip route replace default via 100.64.0.1 dev eth1".to_owned()));
        let two = uci::parse("network", b"config interface 'lan'\n\toption device br-lan\n\toption proto static\n\tlist ipaddr 10.0.0.1/24\n\tlist ipaddr 192.168.1.1/24\n").unwrap();
        let lines: Vec<String> = network_plan(&two, Path::new("/s"))
            .unwrap()
            .iter()
            .map(|s| s.join(" "))
            .collect();
        assert_eq!(
            lines[1..3],
            [
                "ip addr add 10.0.0.1/24 dev br-lan",
                "ip addr add 192.168.1.1/24 dev br-lan"
            ]
        );
        let bad = uci::parse("network", b"config interface 'lan'\n\toption device br-lan\n\toption proto static\n\toption ipaddr 10.0.0.1\n\toption netmask 255.0.255.0\n").unwrap();
        assert!(network_plan(&bad, Path::new("/s")).is_err());
    }

    /// Port forwards as the forwards page writes them: DNAT to `dest_ip`, matched on the WAN
    /// port (and `src_dip` when given), never on the address they forward to.
    #[test]
    fn port_forwards_translate_to_dnat() {
        let mut firewall = crate::platform::fresh::package("firewall");
        let forwards = uci::parse(
            "firewall",
            b"config redirect 'fwd_web'\n\toption target 'DNAT'\n\toption src 'wan'\n\toption dest 'lan'\n\tlist proto 'tcp'\n\toption src_dport '9090'\n\toption dest_ip '192.168.1.20'\n\toption dest_port '80'\n\
              config redirect\n\toption target 'DNAT'\n\toption src 'wan'\n\tlist proto 'tcp'\n\tlist proto 'udp'\n\toption src_dport '6000-6010'\n\toption src_dip '100.64.0.9'\n\toption dest_ip '192.168.1.30'\n",
        )
        .unwrap();
        firewall.sections.extend(forwards.sections);
        let ruleset = firewall_ruleset(&firewall, &crate::platform::fresh::package("network"));
        for expected in [
            "iifname { \"eth1\" } meta nfproto ipv4 tcp dport 9090 dnat ip to 192.168.1.20:80",
            "iifname { \"eth1\" } meta nfproto ipv4 ip daddr 100.64.0.9 meta l4proto { tcp, udp } th dport 6000-6010 dnat ip to 192.168.1.30",
            "ct status dnat accept",
        ] {
            assert!(
                ruleset.contains(expected),
                "missing `{expected}` in\n{ruleset}"
            );
        }
        assert!(!ruleset.contains("daddr 192.168.1.20"), "{ruleset}");
    }

    #[test]
    fn firewall_of_a_fresh_router() {
        let ruleset = firewall_ruleset(
            &crate::platform::fresh::package("firewall"),
            &crate::platform::fresh::package("network"),
        );
        for expected in [
            "iifname { \"br-lan\" } jump input_lan",
            "iifname { \"eth1\" } jump input_wan",
            "meta nfproto ipv4 udp dport 68 accept comment \"Allow-DHCP-Renew\"",
            "meta nfproto ipv4 icmp type { echo-request } accept comment \"Allow-Ping\"",
            "oifname { \"eth1\" } accept",
            "meta nfproto ipv4 oifname { \"eth1\" } masquerade",
        ] {
            assert!(
                ruleset.contains(expected),
                "missing `{expected}` in\n{ruleset}"
            );
        }
        // The wan zone rejects input and drops forwards; lan accepts.
        let input_wan = ruleset
            .split("chain input_wan {")
            .nth(1)
            .unwrap()
            .split("\n\t}")
            .next()
            .unwrap();
        assert!(
            input_wan.trim_end().ends_with("jump handle_reject"),
            "{input_wan}"
        );
    }

    /// `nft --check` accepts the generated ruleset. It runs in a new, empty network namespace
    /// (`unshare -n`), so not even a dry run reaches the host's firewall.
    #[test]
    fn nft_accepts_the_generated_ruleset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fw.nft");
        let real =
            std::fs::read(crate::test_shared().join("fixtures/uci/openwrt-defaults/firewall"))
                .unwrap();
        let ruleset = firewall_ruleset(
            &uci::parse("firewall", &real).unwrap(),
            &crate::platform::fresh::package("network"),
        );
        std::fs::write(&path, &ruleset).unwrap();
        let out = Command::new("unshare")
            .args(["-n", "nft", "--check", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{ruleset}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
