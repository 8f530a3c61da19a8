//! VPN access after setup: the WireGuard server's devices one by one (add one with its own
//! keys, its configuration shown once; remove one) and a new OpenVPN client file (a new
//! certificate authority, so every earlier file stops working). The servers themselves are
//! set up by the wizard's *Local network, DHCP and VPN* step.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uci::Package;
use uci::views::{Interface, Proto};

use crate::wizard::{ClientConfig, vpn};

/// The WireGuard server `wg0` as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireGuard {
    pub port: u16,
    /// The server's tunnel address and the subnet's length.
    pub tunnel: (Ipv4Addr, u32),
    pub public_key: String,
    pub peers: Vec<Peer>,
}

/// One device (a `wireguard_wg0` section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its UCI path: the id the remove form sends.
    pub path: String,
    pub name: String,
    pub ip: Option<Ipv4Addr>,
    pub public_key: String,
}

/// The WireGuard server of `network`, if there is one.
pub fn wireguard(network: &Package) -> Option<WireGuard> {
    let wg0 = network.section("wg0")?;
    let server = Interface(wg0);
    if server.proto() != Some(Proto::Wireguard) {
        return None;
    }
    let address = wg0
        .items("addresses")
        .into_iter()
        .next()
        .unwrap_or_default();
    let peers = network
        .wireguard_peers("wg0")
        .enumerate()
        .map(|(index, peer)| {
            let section = peer.0;
            let path = if section.anonymous {
                format!("network.@wireguard_wg0[{index}]")
            } else {
                format!("network.{}", section.name)
            };
            Peer {
                path,
                name: section
                    .get("description")
                    .map_or_else(|| section.name.clone(), ToString::to_string),
                ip: peer
                    .allowed_ips()
                    .iter()
                    .find_map(|ip| ip.split('/').next()?.parse().ok()),
                public_key: peer.public_key().unwrap_or_default(),
            }
        })
        .collect();
    Some(WireGuard {
        port: server.listen_port().unwrap_or(51820),
        tunnel: vpn::tunnel(&address),
        public_key: server
            .private_key()
            .and_then(|k| vpn::public_key(&k))
            .unwrap_or_default(),
        peers,
    })
}

/// A new device as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Typed {
    pub name: String,
    pub endpoint: String,
}

/// A checked new device: its section and tunnel address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPeer {
    pub section: String,
    pub name: String,
    pub endpoint: String,
    pub ip: Ipv4Addr,
}

/// The first free address of the tunnel (not the network's, the server's, a device's or the
/// broadcast address).
fn free_address(server: &WireGuard) -> Option<Ipv4Addr> {
    let (address, len) = server.tunnel;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    let base = u32::from(address) & mask;
    (base + 1..base | !mask)
        .map(Ipv4Addr::from)
        .find(|ip| *ip != address && !server.peers.iter().any(|p| p.ip == Some(*ip)))
}

/// A new device from the form, or every refusal (`vpn-error-<reason>` per field).
///
/// # Errors
/// The fields that are not valid, and why.
pub fn check(
    typed: &Typed,
    server: &WireGuard,
    network: &Package,
) -> Result<NewPeer, Vec<(&'static str, &'static str)>> {
    let mut refused = Vec::new();
    let name = typed.name.trim();
    let section = format!("wgpeer_{name}");
    if !app::wizard::valid_peer_name(name) {
        refused.push(("name", "name"));
    } else if server
        .peers
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case(name))
        || network.section(&section).is_some()
    {
        refused.push(("name", "name-taken"));
    }
    let endpoint = typed.endpoint.trim();
    if !app::wizard::valid_endpoint(endpoint) {
        refused.push(("endpoint", "endpoint"));
    }
    let ip = free_address(server);
    if ip.is_none() {
        refused.push(("name", "full"));
    }
    match (refused.is_empty(), ip) {
        (true, Some(ip)) => Ok(NewPeer {
            section,
            name: name.to_owned(),
            endpoint: endpoint.to_owned(),
            ip,
        }),
        _ => Err(refused),
    }
}

/// The edits adding `peer` with its key pair `keys` (`(private, public)`), and the device's
/// configuration.
pub fn add(
    peer: &NewPeer,
    server: &WireGuard,
    lan: (Ipv4Addr, u32),
    keys: &(String, String),
) -> (Vec<uci::Edit>, ClientConfig) {
    let server = vpn::WireGuardServer {
        public_key: &server.public_key,
        endpoint: &peer.endpoint,
        port: server.port,
        lan,
        tunnel: server.tunnel,
    };
    server.peer(&peer.section, &peer.name, peer.ip, keys)
}

/// The edits removing `peer`.
pub fn remove(peer: &Peer) -> Vec<uci::Edit> {
    vec![uci::Edit::Delete {
        path: peer.path.clone(),
    }]
}

/// The OpenVPN server `openvpn.portico` made by the wizard: `(port, proto)`.
pub fn openvpn(openvpn: &Package) -> Option<(u16, &'static str)> {
    let server = openvpn.section("portico")?;
    let port = server.get("port")?.to_string().parse().ok()?;
    let proto = match server.get("proto").map(ToString::to_string).as_deref() {
        Some(p) if p.starts_with("tcp") => "tcp",
        _ => "udp",
    };
    Some((port, proto))
}

/// Why a new OpenVPN client file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReissueError {
    #[error("making the certificates: {0}")]
    Certificates(#[from] rcgen::Error),
    #[error("writing the server's certificates: {0}")]
    Io(#[from] std::io::Error),
}

/// A new OpenVPN client file for the server `(port, proto)`: a new certificate authority,
/// server certificate and client certificate, the server's files replaced under `root` (every
/// earlier client file stops working once the server restarts).
///
/// # Errors
/// When the certificates cannot be made or written.
pub fn reissue_openvpn(
    root: &std::path::Path,
    router: &str,
    endpoint: &str,
    (port, proto): (u16, &str),
) -> Result<ClientConfig, ReissueError> {
    let pki = crate::wizard::openvpn::make_pki(router)?;
    crate::wizard::openvpn::write_server_files(root, &pki)?;
    Ok(ClientConfig {
        name: router.to_owned(),
        text: crate::wizard::openvpn::client_config(&pki, endpoint, port, proto),
    })
}

/// Secrets kept in memory for a short while under a random token: a key pair between its
/// review and its apply, a configuration until its page shows it once. Bounded: the oldest
/// goes when it is full.
pub struct Secrets<T> {
    entries: Mutex<HashMap<String, (Instant, T)>>,
}

impl<T: Clone> Default for Secrets<T> {
    fn default() -> Self {
        Secrets {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

const SECRET_LIFETIME: Duration = Duration::from_secs(15 * 60);
const SECRETS_KEPT: usize = 32;

impl<T: Clone> Secrets<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, T)>> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|_, (at, _)| at.elapsed() < SECRET_LIFETIME);
        entries
    }

    /// Keeps `value`; its token.
    pub fn put(&self, value: T) -> String {
        let token = {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
        };
        let mut entries = self.lock();
        while entries.len() >= SECRETS_KEPT {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            entries.remove(&oldest);
        }
        entries.insert(token.clone(), (Instant::now(), value));
        token
    }

    /// The value under `token`, kept.
    pub fn get(&self, token: &str) -> Option<T> {
        self.lock().get(token).map(|(_, v)| v.clone())
    }

    /// The value under `token`, gone from here.
    pub fn take(&self, token: &str) -> Option<T> {
        self.lock().remove(token).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETWORK: &[u8] = b"config interface 'lan'\n\toption proto 'static'\n\toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n\n\
config interface 'wg0'\n\toption proto 'wireguard'\n\toption private_key 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk='\n\toption listen_port '51820'\n\tlist addresses '10.99.0.1/29'\n\n\
config wireguard_wg0 'wgpeer_phone'\n\toption description 'phone'\n\toption public_key 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='\n\tlist allowed_ips '10.99.0.2/32'\n\n\
config wireguard_wg0\n\toption description 'laptop'\n\toption public_key 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0='\n\tlist allowed_ips '10.99.0.4/32'\n";

    /// `package` with `edits` applied (as the checked apply stages them).
    fn edited(package: &Package, edits: &[uci::Edit]) -> Package {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::platform::store(dir.path());
        std::fs::create_dir_all(dir.path().join("etc/config")).unwrap();
        std::fs::write(store.path(&package.name), uci::emit::to_file(package)).unwrap();
        let mut changes = uci::ChangeSet::new(&store);
        for edit in edits {
            changes.edit(edit).unwrap();
        }
        changes.package(&package.name).unwrap().clone()
    }

    fn typed(name: &str, endpoint: &str) -> Typed {
        Typed {
            name: name.into(),
            endpoint: endpoint.into(),
        }
    }

    #[test]
    fn devices_are_read_added_with_their_own_keys_and_removed() {
        let network = uci::parse("network", NETWORK).unwrap();
        let server = wireguard(&network).unwrap();
        // The key pair of WireGuard's own documentation (`wg genkey`/`wg pubkey`).
        assert_eq!(
            server.public_key,
            "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
        );
        assert_eq!(server.tunnel, (Ipv4Addr::new(10, 99, 0, 1), 29));
        assert_eq!(
            server
                .peers
                .iter()
                .map(|p| (p.name.as_str(), p.path.as_str(), p.ip))
                .collect::<Vec<_>>(),
            [
                (
                    "phone",
                    "network.wgpeer_phone",
                    Some(Ipv4Addr::new(10, 99, 0, 2))
                ),
                (
                    "laptop",
                    "network.@wireguard_wg0[1]",
                    Some(Ipv4Addr::new(10, 99, 0, 4))
                )
            ]
        );

        // The first free address, between the others.
        let tablet = check(&typed("tablet", "vpn.example.org"), &server, &network).unwrap();
        assert_eq!(tablet.ip, Ipv4Addr::new(10, 99, 0, 3));
        let keys = vpn::wireguard_keys();
        let lan = (Ipv4Addr::new(192, 168, 1, 1), 24);
        let (edits, client) = add(&tablet, &server, lan, &keys);
        let changed = edited(&network, &edits);
        let again = wireguard(&changed).unwrap();
        let added = again.peers.iter().find(|p| p.name == "tablet").unwrap();
        // The server knows the device by the public half of the key in its configuration.
        let private = client
            .text
            .lines()
            .find_map(|l| l.strip_prefix("PrivateKey = "))
            .unwrap();
        assert_eq!(vpn::public_key(private).unwrap(), added.public_key);
        assert!(
            client
                .text
                .contains(&format!("PublicKey = {}\n", server.public_key))
        );
        assert!(client.text.contains("Address = 10.99.0.3/32\n"));
        assert!(client.text.contains("Endpoint = vpn.example.org:51820\n"));
        assert!(
            client
                .text
                .contains("AllowedIPs = 192.168.1.0/24, 10.99.0.0/29\n")
        );
        // The private key is nowhere in the settings.
        assert!(!String::from_utf8_lossy(&uci::emit::to_file(&changed)).contains(private));

        let refused = |t: Typed, n: &Package| {
            let s = wireguard(n).unwrap();
            check(&t, &s, n).unwrap_err()
        };
        assert_eq!(
            refused(typed("Phone", "vpn.example.org"), &network),
            [("name", "name-taken")]
        );
        assert_eq!(
            refused(typed("my phone", "vpn example"), &network),
            [("name", "name"), ("endpoint", "endpoint")]
        );
        // A /29 has six hosts: the server, phone, laptop, tablet, and two more.
        let mut full = changed.clone();
        for name in ["five", "six"] {
            let s = wireguard(&full).unwrap();
            let peer = check(&typed(name, "10.0.0.1"), &s, &full).unwrap();
            full = edited(&full, &add(&peer, &s, lan, &vpn::wireguard_keys()).0);
        }
        assert_eq!(
            refused(typed("seven", "10.0.0.1"), &full),
            [("name", "full")]
        );

        let removed = edited(&network, &remove(&server.peers[1]));
        let left = wireguard(&removed).unwrap();
        assert_eq!(left.peers.len(), 1);
        assert_eq!(left.peers[0].name, "phone");
    }

    #[test]
    fn no_wireguard_server_no_devices() {
        let network = uci::parse(
            "network",
            b"config interface 'wg0'\n\toption proto 'static'\n",
        )
        .unwrap();
        assert_eq!(wireguard(&network), None);
        let openvpn = uci::parse(
            "openvpn",
            b"config openvpn 'portico'\n\toption port '443'\n\toption proto 'tcp-server'\n",
        )
        .unwrap();
        assert_eq!(super::openvpn(&openvpn), Some((443, "tcp")));
    }

    #[test]
    fn secrets_are_kept_a_while_and_bounded() {
        let secrets = Secrets::<u32>::default();
        let first = secrets.put(1);
        assert_eq!(secrets.get(&first), Some(1));
        assert_eq!(secrets.take(&first), Some(1));
        assert_eq!(secrets.take(&first), None);
        let tokens: Vec<String> = (0..40).map(|n| secrets.put(n)).collect();
        assert_eq!(secrets.get(&tokens[0]), None, "the oldest went");
        assert_eq!(secrets.get(&tokens[39]), Some(39));
        assert_eq!(secrets.take("not a token"), None);
    }
}
