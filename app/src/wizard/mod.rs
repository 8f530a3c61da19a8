//! The first-boot wizard's answers and their rules, shared by the browser (inline errors as the
//! user types) and the server (which refuses the same input sent directly, and applies it).
//! `portico wizard apply --answers FILE.json` takes the same [`Answers`] (`portico wizard
//! schema` prints their JSON Schema).

pub mod form;
pub mod page;

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use form::{Step, WizardView};

/// Everything the wizard asks. Every part after the password may be left out (skipped): what is
/// not answered stays as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// UI language (`en`, `de`, `es`, `fr`, `pt-BR`, `it`).
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub system: Option<SystemAnswers>,
    /// The administrator password, also root's password.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub internet: Option<Internet>,
    /// The LAN address of the router.
    #[serde(default)]
    pub lan: Option<Lan>,
    /// One entry per radio to configure.
    #[serde(default)]
    pub wifi: Vec<Wifi>,
    /// The networks were set as one: the same name and password on every band (the form's
    /// default; errors then name the shared fields, `wifi.all.*`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wifi_same: bool,
    #[serde(default)]
    pub mesh: Option<Mesh>,
    #[serde(default)]
    pub dhcp: Option<DhcpServer>,
    #[serde(default)]
    pub wireguard: Option<WireGuard>,
    #[serde(default)]
    pub openvpn: Option<OpenVpn>,
    /// Vouchers shared with the other routers of a community mesh.
    #[serde(default)]
    pub community: Option<Community>,
}

/// The community mesh this router shares vouchers with (its portal's vouchers work on every
/// router of the community): a new one, or one joined with another router's join code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum Community {
    /// A new community: 1 to 64 letters, digits, dots, dashes or underscores.
    Create { name: String },
    /// The join code another router of the community shows (`portico mesh code`, or its
    /// Portal page): `portico-mesh:NAME:KEY`. A secret.
    Join { code: String },
}

/// What a join code starts with.
pub const JOIN_CODE_PREFIX: &str = "portico-mesh:";

/// A community name: 1 to 64 of `[A-Za-z0-9._-]`.
pub fn valid_community_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The community's name in a join code of the right shape (`portico-mesh:NAME:` and 43
/// characters of base64url, the 32-byte key); whether the key decodes is the server's to say.
pub fn join_code_community(code: &str) -> Option<&str> {
    let (community, key) = code
        .trim()
        .strip_prefix(JOIN_CODE_PREFIX)?
        .rsplit_once(':')?;
    (valid_community_name(community)
        && key.len() == 43
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(community)
}

/// A basic OpenVPN server (`openvpn.portico`): routed `tun`, certificates made on the router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OpenVpn {
    /// Default 1194; the firewall accepts it from the internet.
    #[serde(default = "openvpn_port")]
    pub port: u16,
    /// `udp` (default) or `tcp`.
    #[serde(default = "udp")]
    pub proto: String,
    /// The clients' subnet, e.g. `10.8.0.0/24`.
    pub subnet: String,
    /// Host name or address clients connect to (their `.ovpn` file needs it).
    pub endpoint: String,
}

fn openvpn_port() -> u16 {
    1194
}

fn udp() -> String {
    "udp".into()
}

/// A WireGuard server on the router; keys are generated on the router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WireGuard {
    /// UDP port (default 51820); the firewall accepts it from the internet.
    #[serde(default = "wireguard_port")]
    pub listen_port: u16,
    /// The router's tunnel address with prefix, e.g. `10.99.0.1/24`.
    pub address: String,
    /// Host name or address clients connect to (their config needs it).
    pub endpoint: String,
    /// Peers to create, each with its own generated key pair.
    #[serde(default)]
    pub peers: Vec<WireGuardPeer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WireGuardPeer {
    /// Letters, digits and `_`.
    pub name: String,
}

fn wireguard_port() -> u16 {
    51820
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SystemAnswers {
    /// Device name: letters, digits and `-`, up to 63 characters.
    pub hostname: String,
    /// IANA time zone (`Europe/Berlin`); the POSIX rule OpenWrt needs is derived from it.
    pub zonename: String,
    /// Where the router is (two letters, `DE`): the regulatory country of every radio.
    #[serde(default)]
    pub country: Option<String>,
}

/// How the router reaches the internet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Internet {
    Dhcp {
        /// IPv6 through `wan6` (dhcpv6); on unless turned off.
        #[serde(default = "yes")]
        ipv6: bool,
    },
    Static {
        ipaddr: String,
        /// Dotted netmask (`255.255.255.0`) or prefix length (`24`).
        netmask: String,
        gateway: String,
        #[serde(default)]
        dns: Vec<String>,
        #[serde(default = "yes")]
        ipv6: bool,
    },
    Pppoe {
        username: String,
        password: String,
        #[serde(default)]
        service: Option<String>,
        /// Default 1492.
        #[serde(default)]
        mtu: Option<u16>,
        #[serde(default = "yes")]
        ipv6: bool,
    },
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Lan {
    pub ipaddr: String,
    /// Dotted netmask or prefix length.
    pub netmask: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Wifi {
    /// The `wifi-device` section (`radio0`).
    pub radio: String,
    pub ssid: String,
    /// 8 to 63 characters.
    pub key: String,
    /// `sae` (WPA3, recommended), `sae-mixed` (WPA2/WPA3) or `psk2` (WPA2).
    pub encryption: String,
    /// Two-letter country code for the radio.
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    pub radio: String,
    pub mesh_id: String,
    /// SAE key, 8 to 63 characters.
    pub key: String,
    /// Layer-2 forwarding in the mesh (`mesh_fwding`); on unless turned off.
    #[serde(default = "yes")]
    pub forwarding: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DhcpServer {
    pub enabled: bool,
    #[serde(default = "start")]
    pub start: u32,
    #[serde(default = "limit")]
    pub limit: u32,
    /// `12h`, `30m`, `1d`, or `infinite`.
    #[serde(default = "leasetime")]
    pub leasetime: String,
}

fn start() -> u32 {
    100
}
fn limit() -> u32 {
    150
}
fn leasetime() -> String {
    "12h".into()
}

/// An answer the rules refuse: where (`internet.gateway`) and which message (catalog key and
/// its arguments), so every language shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: &str, key: &'static str) -> Self {
        FieldError {
            field: field.to_owned(),
            key,
            args: Vec::new(),
        }
    }

    #[must_use]
    pub fn arg(mut self, name: &'static str, value: &impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The message in `lang`.
    pub fn message(&self, lang: crate::i18n::Lang) -> String {
        let args: Vec<(&str, fluent_bundle::FluentValue<'_>)> = self
            .args
            .iter()
            .map(|(k, v)| (*k, fluent_bundle::FluentValue::from(v.as_str())))
            .collect();
        lang.tr_args(self.key, &args)
    }
}

/// The POSIX TZ rule for an IANA zone (from tzdata), as `system.timezone` needs it.
pub fn posix_timezone(zonename: &str) -> Option<&'static str> {
    include_str!("zones.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            l.split_once('\t')
                .filter(|(name, _)| *name == zonename)
                .map(|(_, rule)| rule)
        })
}

/// A valid host name: 1–63 letters, digits and inner hyphens.
pub fn valid_hostname(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The password rules (the strength estimate is checked on the server as well).
pub fn password_problems(password: &str) -> Vec<FieldError> {
    let mut problems = Vec::new();
    let count = password.chars().count();
    if count < 10 {
        problems.push(FieldError::new("password", "wizard-error-password-short").arg("min", &10));
    }
    if count > 128 {
        problems.push(FieldError::new("password", "setup-error-long").arg("max", &128));
    }
    let classes = [
        password.chars().any(char::is_uppercase),
        password.chars().any(char::is_lowercase),
        password.chars().any(|c| c.is_ascii_digit()),
        password
            .chars()
            .any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
    ];
    if classes.iter().any(|c| !c) {
        problems.push(FieldError::new("password", "wizard-error-password-classes"));
    }
    if password.chars().any(char::is_control) {
        problems.push(FieldError::new("password", "setup-error-control"));
    }
    problems
}

/// The zxcvbn estimate (0–4) and, below 3, the refusal. `inputs` are words an attacker would
/// try first (the device name, "openwrt", ...). Server-side for now: the estimator's word lists
/// would more than double the browser bundle.
#[cfg(feature = "ssr")]
pub fn password_strength(password: &str, inputs: &[&str]) -> (u8, Option<FieldError>) {
    let score = u8::from(zxcvbn::zxcvbn(password, inputs).score());
    let refusal = (score < 3).then(|| FieldError::new("password", "wizard-error-password-weak"));
    (score, refusal)
}

/// A subnet: `(address, prefix length)` from an address and a dotted netmask or prefix.
pub fn subnet(ipaddr: &str, netmask: &str) -> Option<(Ipv4Addr, u32)> {
    let addr: Ipv4Addr = ipaddr.trim().parse().ok()?;
    let len = match netmask
        .trim()
        .strip_prefix('/')
        .unwrap_or(netmask.trim())
        .parse::<u32>()
    {
        Ok(len) if (1..=32).contains(&len) => len,
        Ok(_) => return None,
        Err(_) => {
            let bits = u32::from(netmask.trim().parse::<Ipv4Addr>().ok()?);
            if bits == 0 || bits.leading_ones() + bits.trailing_zeros() != 32 {
                return None;
            }
            bits.leading_ones()
        }
    };
    Some((addr, len))
}

fn mask(len: u32) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

/// Whether two subnets share any address.
pub fn overlaps(a: (Ipv4Addr, u32), b: (Ipv4Addr, u32)) -> bool {
    let m = mask(a.1.min(b.1));
    u32::from(a.0) & m == u32::from(b.0) & m
}

/// A usable host address of its subnet (not the network or broadcast address, for /30 and up).
fn usable_host(addr: Ipv4Addr, len: u32) -> bool {
    let (a, m) = (u32::from(addr), mask(len));
    len >= 31 || (a & !m != 0 && a & !m != !m)
}

fn wifi_key_ok(key: &str) -> bool {
    (8..=63).contains(&key.len()) && key.bytes().all(|c| (32..=126).contains(&c))
}

/// Every rule the answers break. `lan_now` is the LAN subnet when the answers do not set one.
pub fn validate(answers: &Answers, lan_now: (Ipv4Addr, u32)) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(language) = &answers.language
        && crate::i18n::Lang::from_code(language).is_none()
    {
        errors.push(FieldError::new("language", "wizard-error-language"));
    }
    if let Some(system) = &answers.system {
        if !valid_hostname(&system.hostname) {
            errors.push(FieldError::new("system.hostname", "wizard-error-hostname"));
        }
        if posix_timezone(&system.zonename).is_none() {
            errors.push(FieldError::new("system.zonename", "wizard-error-timezone"));
        }
        if system.country.as_deref().is_some_and(|c| !valid_country(c)) {
            errors.push(FieldError::new("system.country", "wizard-error-country"));
        }
    }
    if let Some(password) = &answers.password {
        errors.extend(password_problems(password));
    }
    let lan = match &answers.lan {
        Some(lan) => match subnet(&lan.ipaddr, &lan.netmask) {
            Some(s) if usable_host(s.0, s.1) && s.1 <= 30 => s,
            _ => {
                errors.push(FieldError::new("lan.ipaddr", "wizard-error-lan-address"));
                lan_now
            }
        },
        None => lan_now,
    };
    if let Some(internet) = &answers.internet {
        check_internet(internet, lan, &mut errors);
    }
    check_radios(answers, &mut errors);
    if let Some(dhcp) = answers.dhcp.as_ref().filter(|d| d.enabled) {
        check_dhcp(dhcp, lan, &mut errors);
    }
    if let Some(wireguard) = &answers.wireguard {
        check_wireguard(wireguard, lan, &mut errors);
    }
    if let Some(openvpn) = &answers.openvpn {
        check_openvpn(openvpn, answers, lan, &mut errors);
    }
    errors
}

/// A host name or address VPN clients can be told to connect to.
pub fn valid_endpoint(endpoint: &str) -> bool {
    !endpoint.is_empty()
        && endpoint.len() <= 253
        && endpoint
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".-:".contains(&c))
}

/// A two-letter country code in capitals.
pub fn valid_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// A subnet written `a.b.c.d/len`.
pub fn cidr(text: &str) -> Option<(Ipv4Addr, u32)> {
    let (address, len) = text.trim().split_once('/')?;
    subnet(address, len)
}

fn check_openvpn(
    openvpn: &OpenVpn,
    answers: &Answers,
    lan: (Ipv4Addr, u32),
    errors: &mut Vec<FieldError>,
) {
    if openvpn.port == 0 {
        errors.push(FieldError::new("openvpn.port", "wizard-error-port"));
    }
    if answers
        .wireguard
        .as_ref()
        .is_some_and(|w| w.listen_port == openvpn.port && openvpn.proto == "udp")
    {
        errors.push(FieldError::new("openvpn.port", "wizard-error-port-taken"));
    }
    if !valid_endpoint(&openvpn.endpoint) {
        errors.push(FieldError::new("openvpn.endpoint", "wizard-error-endpoint"));
    }
    if !["udp", "tcp"].contains(&openvpn.proto.as_str()) {
        errors.push(FieldError::new("openvpn.proto", "wizard-error-proto"));
    }
    match cidr(&openvpn.subnet) {
        Some(net) if net.1 <= 29 && u32::from(net.0) & !mask(net.1) == 0 => {
            let tunnel = answers.wireguard.as_ref().and_then(|w| cidr(&w.address));
            if overlaps(net, lan) || tunnel.is_some_and(|t| overlaps(net, t)) {
                errors.push(FieldError::new(
                    "openvpn.subnet",
                    "wizard-error-tunnel-overlaps",
                ));
            }
        }
        _ => errors.push(FieldError::new("openvpn.subnet", "wizard-error-subnet")),
    }
}

fn check_internet(internet: &Internet, lan: (Ipv4Addr, u32), errors: &mut Vec<FieldError>) {
    match internet {
        Internet::Static {
            ipaddr,
            netmask,
            gateway,
            dns,
            ..
        } => match subnet(ipaddr, netmask) {
            None => errors.push(FieldError::new(
                "internet.ipaddr",
                "wizard-error-wan-address",
            )),
            Some(wan) => {
                if !usable_host(wan.0, wan.1) {
                    errors.push(FieldError::new(
                        "internet.ipaddr",
                        "wizard-error-wan-address",
                    ));
                }
                match gateway.trim().parse::<Ipv4Addr>() {
                    Ok(gw) if gw != wan.0 && overlaps((gw, 32), wan) && usable_host(gw, wan.1) => {}
                    _ => errors.push(FieldError::new(
                        "internet.gateway",
                        "wizard-error-gateway-outside",
                    )),
                }
                if overlaps(wan, lan) {
                    errors.push(
                        FieldError::new("internet.ipaddr", "wizard-error-wan-overlaps-lan").arg(
                            "lan",
                            &format!(
                                "{}/{}",
                                Ipv4Addr::from(u32::from(lan.0) & mask(lan.1)),
                                lan.1
                            ),
                        ),
                    );
                }
                for (i, server) in dns.iter().enumerate() {
                    if server.trim().parse::<std::net::IpAddr>().is_err() {
                        errors.push(FieldError::new(
                            &format!("internet.dns.{i}"),
                            "wizard-error-dns",
                        ));
                    }
                }
            }
        },
        Internet::Pppoe {
            username,
            password,
            mtu,
            ..
        } => {
            if username.trim().is_empty() {
                errors.push(FieldError::new(
                    "internet.username",
                    "wizard-error-pppoe-user",
                ));
            }
            if password.is_empty() {
                errors.push(FieldError::new(
                    "internet.password",
                    "wizard-error-pppoe-password",
                ));
            }
            if mtu.is_some_and(|m| !(576..=1500).contains(&m)) {
                errors.push(FieldError::new("internet.mtu", "wizard-error-mtu"));
            }
        }
        Internet::Dhcp { .. } => {}
    }
}

fn check_radios(answers: &Answers, errors: &mut Vec<FieldError>) {
    // Each error names the field it belongs to: the shared one when the networks were set as
    // one, else the radio's own (`wifi.<radio>.<field>`).
    let field = |wifi: &Wifi, name: &str| {
        if answers.wifi_same {
            format!("wifi.all.{name}")
        } else {
            format!("wifi.{}.{name}", wifi.radio)
        }
    };
    let mut named = std::collections::HashSet::new();
    let mut push = |errors: &mut Vec<FieldError>, field: String, key: &'static str| {
        if named.insert(field.clone()) {
            errors.push(FieldError::new(&field, key));
        }
    };
    for wifi in &answers.wifi {
        if wifi.ssid.is_empty() || wifi.ssid.len() > 32 {
            push(errors, field(wifi, "ssid"), "wizard-error-ssid");
        }
        if !wifi_key_ok(&wifi.key) {
            push(errors, field(wifi, "key"), "wizard-error-wifi-key");
        }
        if !["sae", "sae-mixed", "psk2"].contains(&wifi.encryption.as_str()) {
            push(errors, field(wifi, "encryption"), "wizard-error-encryption");
        }
        if wifi.country.as_deref().is_some_and(|c| !valid_country(c)) {
            push(errors, field(wifi, "country"), "wizard-error-country");
        }
    }
    match &answers.community {
        Some(Community::Create { name }) if !valid_community_name(name) => {
            errors.push(FieldError::new(
                "community.name",
                "wizard-error-community-name",
            ));
        }
        Some(Community::Join { code }) if join_code_community(code).is_none() => {
            errors.push(FieldError::new("community.code", "wizard-error-join-code"));
        }
        _ => {}
    }
    if let Some(mesh) = &answers.mesh {
        if mesh.mesh_id.is_empty() || mesh.mesh_id.len() > 32 {
            errors.push(FieldError::new("mesh.mesh_id", "wizard-error-ssid"));
        }
        if !wifi_key_ok(&mesh.key) {
            errors.push(FieldError::new("mesh.key", "wizard-error-wifi-key"));
        }
    }
}

fn check_dhcp(dhcp: &DhcpServer, lan: (Ipv4Addr, u32), errors: &mut Vec<FieldError>) {
    let hosts = (!mask(lan.1)).saturating_sub(1);
    if dhcp.start == 0
        || dhcp.limit == 0
        || u64::from(dhcp.start) + u64::from(dhcp.limit) - 1 > u64::from(hosts)
    {
        errors.push(FieldError::new("dhcp.limit", "wizard-error-dhcp-range").arg("hosts", &hosts));
    }
    let lease_ok = dhcp.leasetime == "infinite"
        || dhcp
            .leasetime
            .strip_suffix(['s', 'm', 'h', 'd', 'w'])
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
    if !lease_ok {
        errors.push(FieldError::new("dhcp.leasetime", "wizard-error-leasetime"));
    }
}

/// A WireGuard device's name: letters, digits and underscores (it names its UCI section).
pub fn valid_peer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

fn check_wireguard(wireguard: &WireGuard, lan: (Ipv4Addr, u32), errors: &mut Vec<FieldError>) {
    if wireguard.listen_port == 0 {
        errors.push(FieldError::new(
            "wireguard.listen_port",
            "wizard-error-port",
        ));
    }
    let (address, netmask) = wireguard
        .address
        .split_once('/')
        .unwrap_or((&wireguard.address, ""));
    match subnet(address, netmask) {
        Some(tunnel) if usable_host(tunnel.0, tunnel.1) && tunnel.1 <= 30 => {
            if overlaps(tunnel, lan) {
                errors.push(FieldError::new(
                    "wireguard.address",
                    "wizard-error-tunnel-overlaps",
                ));
            }
            let room = (!mask(tunnel.1)).saturating_sub(2);
            if wireguard.peers.len() > usize::try_from(room).unwrap_or(usize::MAX) {
                errors.push(
                    FieldError::new("wireguard.peers", "wizard-error-peers-room")
                        .arg("hosts", &room),
                );
            }
        }
        _ => errors.push(FieldError::new(
            "wireguard.address",
            "wizard-error-tunnel-address",
        )),
    }
    if !valid_endpoint(&wireguard.endpoint) {
        errors.push(FieldError::new(
            "wireguard.endpoint",
            "wizard-error-endpoint",
        ));
    }
    let mut seen = Vec::new();
    for (i, peer) in wireguard.peers.iter().enumerate() {
        if !valid_peer_name(&peer.name) || seen.contains(&&peer.name) {
            errors.push(FieldError::new(
                &format!("wireguard.peers.{i}.name"),
                "wizard-error-peer-name",
            ));
        }
        seen.push(&peer.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAN: (Ipv4Addr, u32) = (Ipv4Addr::new(192, 168, 1, 1), 24);

    fn fields(answers: &Answers) -> Vec<String> {
        validate(answers, LAN)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn time_zones_map_to_posix_rules() {
        assert_eq!(
            posix_timezone("Europe/Berlin"),
            Some("CET-1CEST,M3.5.0,M10.5.0/3")
        );
        assert_eq!(posix_timezone("UTC"), Some("UTC0"));
        assert_eq!(posix_timezone("Mars/Olympus"), None);
    }

    #[test]
    fn passwords_need_length_and_four_kinds_of_character() {
        assert_eq!(password_problems("Correct-Horse-9"), []);
        assert_eq!(password_problems("short1A!").len(), 1);
        assert_eq!(password_problems("alllowercaseletters").len(), 1);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn common_passwords_are_refused_even_when_they_follow_the_rules() {
        assert_eq!(password_problems("Password123!"), []);
        assert!(password_strength("Password123!", &[]).1.is_some());
        assert!(password_strength("Qwerty123456!", &[]).1.is_some());
        assert!(
            password_strength("Gartenhaus2024!", &["gartenhaus"])
                .1
                .is_some()
        );
        assert_eq!(
            password_strength("Gartenhaus-Kiwi-73!", &["gartenhaus"]).1,
            None
        );
    }

    #[test]
    fn static_internet_rules() {
        let static_wan = |ip: &str, mask: &str, gw: &str| Answers {
            internet: Some(Internet::Static {
                ipaddr: ip.into(),
                netmask: mask.into(),
                gateway: gw.into(),
                dns: vec!["9.9.9.9".into()],
                ipv6: true,
            }),
            ..Answers::default()
        };
        assert_eq!(
            fields(&static_wan("100.64.0.9", "255.255.255.0", "100.64.0.1")),
            Vec::<String>::new()
        );
        assert_eq!(
            fields(&static_wan("100.64.0.9", "24", "100.64.0.1")),
            Vec::<String>::new()
        );
        assert_eq!(
            fields(&static_wan("100.64.0.9", "24", "100.64.1.1")),
            ["internet.gateway"]
        );
        assert_eq!(
            fields(&static_wan("192.168.1.9", "24", "192.168.1.254")),
            ["internet.ipaddr"]
        );
        assert_eq!(
            fields(&static_wan("100.64.0.9", "255.0.255.0", "100.64.0.1")),
            ["internet.ipaddr"]
        );
    }

    #[test]
    fn wifi_dhcp_and_names() {
        let answers = Answers {
            system: Some(SystemAnswers {
                hostname: "-bad".into(),
                zonename: "Europe/Nowhere".into(),
                country: None,
            }),
            wifi: vec![Wifi {
                radio: "radio0".into(),
                ssid: String::new(),
                key: "short".into(),
                encryption: "wep".into(),
                country: Some("de".into()),
            }],
            dhcp: Some(DhcpServer {
                enabled: true,
                start: 200,
                limit: 100,
                leasetime: "12x".into(),
            }),
            ..Answers::default()
        };
        assert_eq!(
            fields(&answers),
            [
                "system.hostname",
                "system.zonename",
                "wifi.radio0.ssid",
                "wifi.radio0.key",
                "wifi.radio0.encryption",
                "wifi.radio0.country",
                "dhcp.limit",
                "dhcp.leasetime"
            ]
        );
    }
}
