//! WireGuard and OpenVPN for the LAN: the edits that make a server, its firewall openings, and
//! the client configurations shown once (`openvpn` makes the certificates).

use std::net::Ipv4Addr;

use app::wizard::subnet;
use uci::{Edit, Package};

use super::edits::set;

/// A WireGuard client's configuration, shown once (its private key is never stored).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub name: String,
    pub text: String,
}

impl ClientConfig {
    /// The configuration as a QR code for the WireGuard apps (Unicode half blocks).
    pub fn qr(&self) -> String {
        super::qr::terminal(&self.text)
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
