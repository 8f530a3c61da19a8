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

    /// As a page shows it: its QR code as an image (WireGuard's only) and the file name it is
    /// saved as.
    pub fn view(&self) -> app::wizard::form::ClientView {
        let openvpn = self.text.starts_with("client\n");
        app::wizard::form::ClientView {
            name: self.name.clone(),
            text: self.text.clone(),
            file: format!("{}.{}", self.name, if openvpn { "ovpn" } else { "conf" }),
            // The WireGuard apps scan a configuration; OpenVPN's import a file.
            image: if openvpn {
                String::new()
            } else {
                super::qr::svg_data_url(&self.text)
            },
        }
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

/// What a WireGuard client's configuration needs to know of the server.
pub struct WireGuardServer<'a> {
    /// The server's public key.
    pub public_key: &'a str,
    /// Where clients connect to: host name or address, and port.
    pub endpoint: &'a str,
    pub port: u16,
    /// The LAN the clients reach, and the tunnel's subnet (the server's address, length).
    pub lan: (Ipv4Addr, u32),
    pub tunnel: (Ipv4Addr, u32),
}

impl WireGuardServer<'_> {
    /// The peer section `section` for a device named `name` at `ip` with key pair `keys`
    /// (`(private, public)`), and the device's configuration (the private key is only there).
    pub fn peer(
        &self,
        section: &str,
        name: &str,
        ip: Ipv4Addr,
        keys: &(String, String),
    ) -> (Vec<Edit>, ClientConfig) {
        let (private, public) = keys;
        let section = format!("network.{section}");
        let edits = vec![
            set(&section, "wireguard_wg0"),
            set(format!("{section}.description"), name),
            set(format!("{section}.public_key"), public),
            Edit::SetList {
                path: format!("{section}.allowed_ips"),
                items: vec![format!("{ip}/32").into_bytes()],
            },
            set(format!("{section}.route_allowed_ips"), "1"),
        ];
        let network = |(address, len): (Ipv4Addr, u32)| {
            Ipv4Addr::from(u32::from(address) & u32::MAX.checked_shl(32 - len).unwrap_or(0))
        };
        let text = format!(
            "[Interface]\nPrivateKey = {private}\nAddress = {ip}/32\nDNS = {}\n\n[Peer]\nPublicKey = {}\nEndpoint = {}:{}\nAllowedIPs = {}/{}, {}/{}\nPersistentKeepalive = 25\n",
            self.lan.0,
            self.public_key,
            self.endpoint,
            self.port,
            network(self.lan),
            self.lan.1,
            network(self.tunnel),
            self.tunnel.1
        );
        let client = ClientConfig {
            name: name.to_owned(),
            text,
        };
        (edits, client)
    }
}

/// The tunnel written `a.b.c.d/len` (the server's address and the length), with the wizard's
/// default when it does not parse.
pub fn tunnel(address: &str) -> (Ipv4Addr, u32) {
    let (address, prefix) = address.split_once('/').unwrap_or((address, "24"));
    subnet(address, prefix).unwrap_or((Ipv4Addr::new(10, 99, 0, 1), 24))
}

/// The public key of a base64 private key, as `wg pubkey` prints it.
pub fn public_key(private: &str) -> Option<String> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let bytes: [u8; 32] = b64.decode(private.trim()).ok()?.try_into().ok()?;
    let secret = x25519_dalek::StaticSecret::from(bytes);
    Some(b64.encode(x25519_dalek::PublicKey::from(&secret).as_bytes()))
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
    edits.push(set("network.wg0", "interface"));
    edits.push(set("network.wg0.proto", "wireguard"));
    edits.push(set("network.wg0.private_key", &private));
    edits.push(set(
        "network.wg0.listen_port",
        wireguard.listen_port.to_string(),
    ));
    edits.push(Edit::SetList {
        path: "network.wg0.addresses".into(),
        items: vec![wireguard.address.as_bytes().to_vec()],
    });
    let tunnel = tunnel(&wireguard.address);
    let server = WireGuardServer {
        public_key: &public,
        endpoint: &wireguard.endpoint,
        port: wireguard.listen_port,
        lan,
        tunnel,
    };
    let base = u32::from(tunnel.0) & (u32::MAX << (32 - tunnel.1));
    let mut clients = Vec::new();
    let mut host = base;
    for peer in &wireguard.peers {
        host += 1;
        if host == u32::from(tunnel.0) {
            host += 1;
        }
        let section = format!("wgpeer_{}", peer.name);
        let (more, client) = server.peer(&section, &peer.name, Ipv4Addr::from(host), &keys.take());
        edits.extend(more);
        clients.push(client);
    }
    // VPN clients reach the LAN: wg0 joins the lan zone; the port opens from the internet.
    join_lan_zone(firewall, "network", "wg0", &mut edits);
    open_port(
        &mut edits,
        "allow_wireguard",
        "Allow-WireGuard",
        "udp",
        &wireguard.listen_port.to_string(),
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
