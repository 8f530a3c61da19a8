//! The wizard's answers as UCI: validation that needs the router's files (which radios exist,
//! the current LAN), the edits they make, and `portico wizard schema|apply`.
//!
//! Edits touch only the options the answers mean (an interface switched from PPPoE to DHCP loses
//! its PPPoE credentials, nothing else), so a router's other settings survive the wizard.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use app::i18n::Lang;
use app::wizard::{Answers, FieldError, Internet, posix_timezone, subnet, validate};
use uci::{Edit, Package};

fn set(path: impl Into<String>, value: impl AsRef<str>) -> Edit {
    Edit::Set {
        path: path.into(),
        value: value.as_ref().as_bytes().to_vec(),
    }
}

/// Deleting an option that is not there is not an edit (uci would say "Entry not found").
fn clear(package: &Package, section: &str, options: &[&str], edits: &mut Vec<Edit>) {
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
/// exist, and the password estimator (for a password that passed the plain rules in `found`).
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

/// A WireGuard client's configuration, shown once (its private key is never stored).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub name: String,
    pub text: String,
}

impl ClientConfig {
    /// The configuration as a QR code for the WireGuard apps (Unicode half blocks).
    pub fn qr(&self) -> String {
        qrcode::QrCode::new(self.text.as_bytes()).map_or_else(
            |e| format!("(no QR code: {e})"),
            |code| {
                code.render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build()
            },
        )
    }
}

/// A fresh x25519 key pair, base64 as WireGuard writes keys: `(private, public)`.
pub fn wireguard_keys() -> (String, String) {
    use base64::Engine as _;
    let secret = x25519_dalek::StaticSecret::from(rand::random::<[u8; 32]>());
    let public = x25519_dalek::PublicKey::from(&secret);
    let b64 = base64::engine::general_purpose::STANDARD;
    (b64.encode(secret.to_bytes()), b64.encode(public.as_bytes()))
}

/// Key pairs handed out in order and made when needed: the browser wizard keeps its pool from
/// the summary to Apply, so what was shown is what is applied.
#[derive(Clone, Debug, Default)]
pub struct KeyPool {
    keys: Vec<(String, String)>,
    next: usize,
}

impl KeyPool {
    /// Starts handing out from the first key again.
    pub fn rewind(&mut self) {
        self.next = 0;
    }

    fn take(&mut self) -> (String, String) {
        if self.next == self.keys.len() {
            self.keys.push(wireguard_keys());
        }
        self.next += 1;
        self.keys[self.next - 1].clone()
    }
}

/// The WireGuard server (`wg0`), its peers with generated keys, the firewall opening, and the
/// clients' configurations.
pub fn wireguard_edits(
    wireguard: &app::wizard::WireGuard,
    lan: (Ipv4Addr, u32),
    firewall: &Package,
    keys: &mut KeyPool,
) -> (Vec<Edit>, Vec<ClientConfig>) {
    let mut edits = Vec::new();
    let (private, public) = keys.take();
    let port = wireguard.listen_port.to_string();
    edits.push(set("network.wg0", "interface"));
    edits.push(set("network.wg0.proto", "wireguard"));
    edits.push(set("network.wg0.private_key", &private));
    edits.push(set("network.wg0.listen_port", &port));
    edits.push(Edit::SetList {
        path: "network.wg0.addresses".into(),
        items: vec![wireguard.address.as_bytes().to_vec()],
    });
    let (address, prefix) = wireguard
        .address
        .split_once('/')
        .unwrap_or((&wireguard.address, "24"));
    let tunnel = subnet(address, prefix).unwrap_or((Ipv4Addr::new(10, 99, 0, 1), 24));
    let base = u32::from(tunnel.0) & (u32::MAX << (32 - tunnel.1));
    let server = u32::from(tunnel.0);
    let lan_net = Ipv4Addr::from(u32::from(lan.0) & (u32::MAX << (32 - lan.1)));
    let mut clients = Vec::new();
    let mut host = base;
    for peer in &wireguard.peers {
        host += 1;
        if host == server {
            host += 1;
        }
        let ip = Ipv4Addr::from(host);
        let (peer_private, peer_public) = keys.take();
        let section = format!("network.wgpeer_{}", peer.name);
        edits.push(set(&section, "wireguard_wg0"));
        edits.push(set(format!("{section}.description"), &peer.name));
        edits.push(set(format!("{section}.public_key"), &peer_public));
        edits.push(Edit::SetList {
            path: format!("{section}.allowed_ips"),
            items: vec![format!("{ip}/32").into_bytes()],
        });
        edits.push(set(format!("{section}.route_allowed_ips"), "1"));
        clients.push(ClientConfig {
            name: peer.name.clone(),
            text: format!(
                "[Interface]\nPrivateKey = {peer_private}\nAddress = {ip}/32\nDNS = {}\n\n[Peer]\nPublicKey = {public}\nEndpoint = {}:{port}\nAllowedIPs = {lan_net}/{}, {}/{}\nPersistentKeepalive = 25\n",
                lan.0,
                wireguard.endpoint,
                lan.1,
                Ipv4Addr::from(base),
                tunnel.1
            ),
        });
    }
    // VPN clients reach the LAN: wg0 joins the lan zone; the port opens from the internet.
    join_lan_zone(firewall, "network", "wg0", &mut edits);
    open_port(
        &mut edits,
        "allow_wireguard",
        "Allow-WireGuard",
        "udp",
        &port,
    );
    (edits, clients)
}

/// Adds `value` to the `option` list of the firewall's lan zone unless it is there.
fn join_lan_zone(firewall: &Package, option: &str, value: &str, edits: &mut Vec<Edit>) {
    let Some(zone) = firewall
        .sections_of("zone")
        .position(|z| z.get("name").is_some_and(|n| n == "lan"))
    else {
        return;
    };
    let has = firewall
        .sections_of("zone")
        .nth(zone)
        .is_some_and(|z| z.items(option).iter().any(|n| n == value));
    if !has {
        edits.push(Edit::AddList {
            path: format!("firewall.@zone[{zone}].{option}"),
            value: value.as_bytes().to_vec(),
        });
    }
}

/// A firewall rule accepting `proto` traffic to `port` from the internet.
fn open_port(edits: &mut Vec<Edit>, section: &str, name: &str, proto: &str, port: &str) {
    let rule = format!("firewall.{section}");
    edits.push(set(&rule, "rule"));
    edits.push(set(format!("{rule}.name"), name));
    edits.push(set(format!("{rule}.src"), "wan"));
    edits.push(set(format!("{rule}.proto"), proto));
    edits.push(set(format!("{rule}.dest_port"), port));
    edits.push(set(format!("{rule}.target"), "ACCEPT"));
}

/// Where the OpenVPN server's certificates and key live (made on the router at Apply).
pub const OPENVPN_DIR: &str = "etc/openvpn/portico";

/// The OpenVPN server: a routed `tun` server as OpenWrt's `openvpn` init script reads it
/// (options named like OpenVPN's own), the firewall opening and `tun+` in the lan zone.
pub fn openvpn_edits(
    openvpn: &app::wizard::OpenVpn,
    lan: (Ipv4Addr, u32),
    firewall: &Package,
) -> Vec<Edit> {
    let mut edits = Vec::new();
    let (net, len) = app::wizard::cidr(&openvpn.subnet).unwrap_or((Ipv4Addr::new(10, 8, 0, 0), 24));
    let netmask = |len: u32| Ipv4Addr::from(if len == 0 { 0 } else { u32::MAX << (32 - len) });
    let lan_net = Ipv4Addr::from(u32::from(lan.0) & u32::from(netmask(lan.1)));
    let s = "openvpn.portico";
    edits.push(set(s, "openvpn"));
    edits.push(set(format!("{s}.enabled"), "1"));
    edits.push(set(format!("{s}.dev"), "tun"));
    edits.push(set(format!("{s}.port"), openvpn.port.to_string()));
    edits.push(set(
        format!("{s}.proto"),
        if openvpn.proto == "tcp" {
            "tcp-server"
        } else {
            "udp"
        },
    ));
    edits.push(set(
        format!("{s}.server"),
        format!("{net} {}", netmask(len)),
    ));
    edits.push(set(format!("{s}.topology"), "subnet"));
    edits.push(set(format!("{s}.keepalive"), "10 120"));
    edits.push(set(format!("{s}.persist_key"), "1"));
    edits.push(set(format!("{s}.persist_tun"), "1"));
    edits.push(set(format!("{s}.ca"), format!("/{OPENVPN_DIR}/ca.crt")));
    edits.push(set(
        format!("{s}.cert"),
        format!("/{OPENVPN_DIR}/server.crt"),
    ));
    edits.push(set(
        format!("{s}.key"),
        format!("/{OPENVPN_DIR}/server.key"),
    ));
    edits.push(set(format!("{s}.dh"), "none"));
    edits.push(set(format!("{s}.verb"), "3"));
    edits.push(Edit::SetList {
        path: format!("{s}.push"),
        items: vec![format!("route {lan_net} {}", netmask(lan.1)).into_bytes()],
    });
    join_lan_zone(firewall, "device", "tun+", &mut edits);
    let proto = if openvpn.proto == "tcp" { "tcp" } else { "udp" };
    open_port(
        &mut edits,
        "allow_openvpn",
        "Allow-OpenVPN",
        proto,
        &openvpn.port.to_string(),
    );
    edits
}

/// Package `name` from the config folder (empty when the file does not exist).
pub(crate) fn load(dir: &Path, name: &str) -> anyhow::Result<Package> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => {
            uci::parse(name, &bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Package::new(name)),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// `portico wizard schema`: the JSON Schema of the answers file.
pub fn schema() -> ExitCode {
    let schema = schemars::schema_for!(Answers);
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    ExitCode::SUCCESS
}

/// The answers file, or `None` after printing where it is not valid JSON for [`Answers`].
fn read_answers(answers_file: &Path) -> anyhow::Result<Option<Answers>> {
    let text = std::fs::read_to_string(answers_file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", answers_file.display()))?;
    match serde_json::from_str(&text) {
        Ok(a) => Ok(Some(a)),
        Err(e) => {
            eprintln!(
                "{}: line {}, column {}: {e}",
                answers_file.display(),
                e.line(),
                e.column()
            );
            Ok(None)
        }
    }
}

/// What applying the answers takes.
pub struct Plan {
    pub edits: Vec<Edit>,
    pub clients: Vec<ClientConfig>,
    pub drop_on_confirm: Vec<(String, String)>,
    /// The OpenVPN server's certificates, written at Apply.
    pub pki: Option<crate::openvpn::Pki>,
}

impl Plan {
    /// What is not UCI: the OpenVPN server's certificate files.
    ///
    /// # Errors
    /// Any I/O error.
    pub fn write_files(&self, root: &Path) -> std::io::Result<()> {
        match &self.pki {
            Some(pki) => crate::openvpn::write_server_files(root, pki),
            None => Ok(()),
        }
    }
}

/// Checks the answers against the rules and the router's files and computes the edits; the
/// problems when the answers break a rule.
///
/// # Errors
/// When a config file cannot be read or parsed.
pub fn plan(
    answers: &Answers,
    config: &Path,
    unchecked: bool,
    keys: &mut KeyPool,
) -> anyhow::Result<Result<Plan, Vec<FieldError>>> {
    let (network, wireless) = (load(config, "network")?, load(config, "wireless")?);
    let problems = check(answers, &network, &wireless);
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let mut edits = edits(answers, &network, &wireless, !unchecked);
    let mut clients = Vec::new();
    let mut pki = None;
    let lan = answers
        .lan
        .as_ref()
        .and_then(|l| subnet(&l.ipaddr, &l.netmask))
        .unwrap_or_else(|| current_lan(&network));
    keys.rewind();
    if let Some(wireguard) = &answers.wireguard {
        let (more, configs) = wireguard_edits(wireguard, lan, &load(config, "firewall")?, keys);
        edits.extend(more);
        clients = configs;
    }
    if let Some(openvpn) = &answers.openvpn {
        edits.extend(openvpn_edits(openvpn, lan, &load(config, "firewall")?));
        let router = answers
            .system
            .as_ref()
            .map_or("portico", |s| s.hostname.as_str());
        let made = crate::openvpn::make_pki(router)?;
        clients.push(ClientConfig {
            name: "openvpn".into(),
            text: crate::openvpn::client_config(
                &made,
                &openvpn.endpoint,
                openvpn.port,
                &openvpn.proto,
            ),
        });
        pki = Some(made);
    }
    // Unchecked: nothing to wait for, the new address alone.
    let drop_on_confirm: Vec<(String, String)> = lan_alias(answers, &network)
        .filter(|_| !unchecked)
        .map(|old| ("network.lan.ipaddr".to_owned(), old))
        .into_iter()
        .collect();
    Ok(Ok(Plan {
        edits,
        clients,
        drop_on_confirm,
        pki,
    }))
}

/// `portico wizard apply --answers FILE [--unchecked]`: the browser wizard's validation, edits
/// and apply, for provisioning without a browser. Errors are printed as `field: message` in
/// the answers' language (exit 2). A checked apply waits for Enter to keep the change and rolls
/// back after the confirmation window.
///
/// # Errors
/// When the files cannot be read or the platform cannot be prepared.
pub fn apply(root: &Path, answers_file: &Path, unchecked: bool) -> anyhow::Result<ExitCode> {
    let Some(answers) = read_answers(answers_file)? else {
        return Ok(ExitCode::from(2));
    };
    let platform = crate::serve::platform(root)?;
    let plan = match plan(
        &answers,
        &platform.config_dir(),
        unchecked,
        &mut KeyPool::default(),
    )? {
        Ok(plan) => plan,
        Err(problems) => {
            let lang = answers
                .language
                .as_deref()
                .and_then(Lang::from_code)
                .unwrap_or_default();
            for problem in &problems {
                eprintln!("{}: {}", problem.field, problem.message(lang));
            }
            return Ok(ExitCode::from(2));
        }
    };
    let (main, _) = crate::config::load(root)?;
    let db = crate::state::StateDb::open(root)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let applier =
            crate::apply::Applier::start(platform.clone(), db.clone(), main.apply_timeout)?;
        // The certificates first: the services read them when they reload.
        plan.write_files(platform.root())?;
        let result = match applier.apply_keeping(&plan.edits, !unchecked, plan.drop_on_confirm) {
            Ok(result) => result,
            Err(crate::apply::Error::Empty) => {
                println!("nothing to change");
                set_password(&answers, &platform, &db, main.session_idle)?;
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) => return Err(anyhow::anyhow!("{e}")),
        };
        println!("changed: {}", result.files.join(", "));
        // The services reload after the holdoff; wait for it before deciding.
        tokio::time::sleep(crate::apply::HOLDOFF + Duration::from_millis(200)).await;
        if let Some(note) = applier.status().note {
            println!("note: {note}");
        }
        if !unchecked {
            print!(
                "Press Enter within {} s to keep the change; otherwise it is rolled back: ",
                result.seconds
            );
            let _ = std::io::stdout().flush();
            let enter = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0)
            });
            let kept = tokio::select! {
                pressed = enter => pressed.unwrap_or(false),
                () = tokio::time::sleep(Duration::from_secs(result.seconds)) => false,
            };
            if !kept {
                let _ = applier.rollback();
                println!("\nrolled back");
                return Ok(ExitCode::from(1));
            }
            applier.confirm(None)?;
            // Let the follow-up change (dropping the old LAN address) reload before exiting.
            tokio::time::sleep(crate::apply::HOLDOFF + Duration::from_secs(1)).await;
            println!("kept");
        }
        set_password(&answers, &platform, &db, main.session_idle)?;
        for client in &plan.clients {
            println!(
                "\nWireGuard client `{}` (shown once; its private key is not kept):\n{}\n{}",
                client.name,
                client.text,
                client.qr()
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The administrator password (web login) and root's password in `etc/shadow`.
fn set_password(
    answers: &Answers,
    platform: &Arc<dyn crate::platform::Platform>,
    db: &crate::state::StateDb,
    idle: Duration,
) -> anyhow::Result<()> {
    let Some(password) = &answers.password else {
        return Ok(());
    };
    crate::auth::Auth::new(db.clone(), idle)?.set_password(password)?;
    platform.set_root_password(password)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let read =
            |name: &str| uci::parse(name, &std::fs::read(store.path(name)).unwrap()).unwrap();
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
        let network =
            uci::parse("network", &std::fs::read(store.path("network")).unwrap()).unwrap();
        let wg0 = network.section("wg0").unwrap();
        assert_eq!(wg0.get("proto").unwrap(), "wireguard");
        assert_eq!(wg0.get("private_key").unwrap().len(), 44);
        let peers: Vec<_> = network.wireguard_peers("wg0").collect();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[1].allowed_ips(), ["10.99.0.3/32"]);
        let firewall =
            uci::parse("firewall", &std::fs::read(store.path("firewall")).unwrap()).unwrap();
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
        let plan = plan(&answers, &config, true, &mut KeyPool::default())
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
        let openvpn = load(&config, "openvpn").unwrap();
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
        let firewall = load(&config, "firewall").unwrap();
        let rule = firewall.section("allow_openvpn").unwrap();
        assert_eq!(rule.get("dest_port").unwrap(), "1194");
        let lan = firewall
            .sections_of("zone")
            .find(|z| z.get("name").is_some_and(|n| n == "lan"))
            .unwrap();
        assert!(lan.items("device").contains(&"tun+".to_owned()));
        assert!(lan.items("network").contains(&"wg0".to_owned()));
        let wireless = load(&config, "wireless").unwrap();
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
}
