//! The mesh's settings: `config mesh 'mesh'` in `/etc/config/portico`.
//!
//! ```text
//! config mesh 'mesh'
//!     option interface 'bat0'     # sync only on this interface (never the WAN)
//!     option port '4790'          # TCP for sync, UDP for announcements
//!     list peer '10.13.0.2:4790'  # members to sync with besides those that announce
//! ```

use std::net::SocketAddr;

use crate::section::{self, Warning};

/// The `config mesh 'mesh'` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `option interface` — the only interface the sync listens and announces on (default
    /// `bat0`, batman-adv's, which carries a LibreMesh community's layer 2).
    pub interface: String,
    /// `option port` — TCP for the sync, UDP for announcements (default 4790).
    pub port: u16,
    /// `list peer` — members reached by address (another segment, or no multicast).
    pub peers: Vec<SocketAddr>,
    /// `option announce` — send and hear link-local announcements (default on).
    pub announce: bool,
}

/// The default sync port.
pub const PORT: u16 = 4790;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interface: "bat0".into(),
            port: PORT,
            peers: Vec::new(),
            announce: true,
        }
    }
}

/// Every key `config mesh 'mesh'` may hold.
pub const KEYS: [&str; 4] = ["interface", "port", "peer", "announce"];

/// A Linux interface name (1 to 15 characters, no slash, space or colon).
fn interface_name(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/:".contains(&b))
}

impl Settings {
    /// The mesh section of a parsed `portico` package.
    pub fn from_package(package: &uci::Package) -> (Settings, Vec<Warning>) {
        section::read(
            package,
            "mesh",
            "mesh",
            |mesh: &mut Settings, mut o| match o.name {
                "interface" if interface_name(o.value()) => {
                    o.value().clone_into(&mut mesh.interface);
                }
                "interface" => o.bad("not an interface name like bat0"),
                "port" => {
                    if let Some(port) = o.number(1..=65535u16) {
                        mesh.port = port;
                    }
                }
                "announce" => {
                    if let Some(on) = o.switch() {
                        mesh.announce = on;
                    }
                }
                "peer" => {
                    for item in o.values.clone() {
                        match item.parse() {
                            Ok(addr) => mesh.peers.push(addr),
                            Err(_) => o.bad_item(&item, "an address:port"),
                        }
                    }
                }
                _ => o.unknown(&KEYS),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_reads_with_defaults_and_names_bad_values() {
        let package = uci::parse(
            "portico",
            b"config mesh 'mesh'\n\toption interface 'br-lan'\n\toption port '5000'\n\tlist peer '10.0.0.2:4790'\n\tlist peer 'nowhere'\n\toption colour 'red'\n",
        )
        .unwrap();
        let (mesh, warnings) = Settings::from_package(&package);
        assert_eq!(mesh.interface, "br-lan");
        assert_eq!(mesh.port, 5000);
        assert_eq!(mesh.peers, ["10.0.0.2:4790".parse().unwrap()]);
        assert!(mesh.announce);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let (default, none) = Settings::from_package(&uci::parse("portico", b"").unwrap());
        assert_eq!((default, none.len()), (Settings::default(), 0));
    }
}
