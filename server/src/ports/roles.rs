//! A port's role as configuration: the policy an admin sets per port (`config port` sections
//! in `/etc/config/portico`) and the UCI change set that gives a port a role.
//!
//! On plain OpenWrt a role is written to `network`, `firewall`, `dhcp` and `babeld`: the port
//! leaves every bridge and every interface Portico made for it before, then
//! * `lan` joins the `br-lan` bridge;
//! * `wan` gets an interface `wan_<port>` (DHCP) in the `wan` firewall zone (the router's own
//!   `wan` interface is left alone when the port is already its device);
//! * `babel` gets an interface `mesh_<port>` (no address: babel speaks over link-local IPv6),
//!   on VLAN 17 when the neighbour's hellos came tagged (LibreMesh), a babeld interface and the
//!   `mesh` firewall zone;
//! * `mesh` adds batman-adv on the community's 802.1ad VLAN (`bat_<port>`, master `bat0`) to
//!   babel on VLAN 17;
//! * `routed` gets a network of its own (`seg_<port>`, 172.31.N.1/24, DHCP) in the `segments`
//!   zone, which may reach the internet but not the LAN;
//! * `blocked` leaves the port in no bridge and no interface.
//!
//! On LibreMesh (a `lime-node` file exists) the role is one `config net 'port_<port>'` section
//! with `linux_name` and `protocols`, as LibreMesh documents it; `lime-config` realises it.

use std::collections::HashMap;

use uci::{Edit, Package};

use super::community::BABEL_VID;
use super::verdict::Role;

/// What Portico may do with a port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Apply the suggested role by itself once the verdict has held for 30 s.
    Auto,
    /// Suggest it; the admin applies it with one button.
    #[default]
    Suggest,
    /// Neither listen to the port nor suggest anything for it.
    Off,
}

/// One port's policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Policy {
    pub mode: Mode,
    /// A role the admin pinned: never changed by Portico.
    pub pinned: Option<Role>,
}

/// The policies in `/etc/config/portico`: `config port` sections with `option name` (the
/// port), `option mode` (`auto`, `suggest`, `off`) and `option role` (a pinned role). Unknown
/// values are ignored with the default kept.
pub fn policies(portico: &Package) -> HashMap<String, Policy> {
    portico
        .sections_of("port")
        .filter_map(|section| {
            let name = section.get("name")?.to_string();
            let mode = match section.get("mode").map(ToString::to_string).as_deref() {
                Some("auto") => Mode::Auto,
                Some("off") => Mode::Off,
                _ => Mode::Suggest,
            };
            let pinned = section.get("role").and_then(|r| parse_role(&r.to_string()));
            Some((name, Policy { mode, pinned }))
        })
        .collect()
}

/// A role by its name (`wan`, `lan`, ...).
pub fn parse_role(name: &str) -> Option<Role> {
    Some(match name {
        "wan" => Role::Wan,
        "lan" => Role::Lan,
        "mesh" => Role::Mesh,
        "babel" => Role::Babel,
        "routed" => Role::Routed,
        "blocked" => Role::Blocked,
        _ => return None,
    })
}

/// The router's configuration files a role change reads.
pub struct Files<'a> {
    pub network: &'a Package,
    pub firewall: &'a Package,
    /// `lime-node`, on LibreMesh.
    pub lime: Option<&'a Package>,
}

/// How to reach a port's neighbour: the VLANs its frames came on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wire {
    /// batman-adv's 802.1ad VLAN (the community's).
    pub batman_vid: Option<u16>,
    /// The VLAN babel hellos came on (17 between LibreMesh nodes), `None` untagged.
    pub babel_vid: Option<u16>,
}

fn set(path: String, value: &str) -> Edit {
    Edit::Set {
        path,
        value: value.as_bytes().to_vec(),
    }
}

fn add_list(path: String, value: &str) -> Edit {
    Edit::AddList {
        path,
        value: value.as_bytes().to_vec(),
    }
}

fn del_list(path: String, value: &str) -> Edit {
    Edit::DelList {
        path,
        value: value.as_bytes().to_vec(),
    }
}

fn has_item(package: &Package, section: &str, option: &str, value: &str) -> bool {
    package
        .section(section)
        .and_then(|s| s.option(option))
        .is_some_and(|o| o.value.items().iter().any(|v| v == value))
}

/// A UCI name for the port in section names (`eth0.1` → `eth0_1`).
fn ident(port: &str) -> String {
    port.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The sections Portico makes for a port, by role.
const MADE: [&str; 4] = ["wan", "mesh", "bat", "seg"];

/// The role `network` gives `port` through an interface of its own: the router's `wan`/`wan6`
/// device, or a section made by [`change_set`] (`wan_`, `bat_`, `mesh_`, `seg_<port>`).
/// `None` for a port that is only a bridge member or unused.
pub fn routed_role(network: &Package, port: &str) -> Option<Role> {
    let id = ident(port);
    let made = |kind: &str| network.section(&format!("{kind}_{id}")).is_some();
    let own_wan = ["wan", "wan6"].into_iter().any(|i| {
        network
            .section(i)
            .and_then(|s| s.get("device"))
            .is_some_and(|d| d == port)
    });
    if own_wan || made("wan") {
        Some(Role::Wan)
    } else if made("bat") {
        Some(Role::Mesh)
    } else if made("mesh") {
        Some(Role::Babel)
    } else if made("seg") {
        Some(Role::Routed)
    } else {
        None
    }
}

/// The edits that give `port` the role `role`. Empty when the port has it already.
pub fn change_set(files: &Files<'_>, port: &str, role: Role, wire: Wire) -> Vec<Edit> {
    if let Some(lime) = files.lime {
        return lime_change_set(lime, port, role, wire);
    }
    let Some(mut edits) = detach(files, port, role) else {
        return Vec::new();
    };
    let mut out = Attach {
        firewall: files.firewall,
        port,
        id: ident(port),
        edits: &mut edits,
    };
    match role {
        Role::Lan => {
            if let Some(bridge) = files
                .network
                .sections_of("device")
                .find(|d| d.get("name").is_some_and(|n| n == "br-lan"))
            {
                out.edits
                    .push(add_list(format!("network.{}.ports", bridge.name), port));
            }
        }
        Role::Wan => {
            let id = out.id.clone();
            out.interface(&format!("wan_{id}"), port, &[("proto", "dhcp")]);
            out.join_zone("wan", &format!("wan_{id}"), ["REJECT", "ACCEPT", "REJECT"]);
        }
        Role::Babel => out.babel(wire.babel_vid),
        Role::Mesh => out.mesh(files.network, wire.batman_vid.unwrap_or(29)),
        Role::Routed => out.routed(files.network),
        Role::Blocked => {}
    }
    edits
}

/// The edits that take `port` out of every bridge and out of the interfaces (and their zones)
/// made for it before; `None` when the port has `role` already.
fn detach(files: &Files<'_>, port: &str, role: Role) -> Option<Vec<Edit>> {
    let (network, firewall) = (files.network, files.firewall);
    let id = ident(port);
    let mut edits = Vec::new();
    for bridge in network.sections_of("device") {
        if has_item(network, &bridge.name, "ports", port) {
            if role == Role::Lan && bridge.get("name").is_some_and(|n| n == "br-lan") {
                return None;
            }
            edits.push(del_list(format!("network.{}.ports", bridge.name), port));
        }
    }
    for made in MADE {
        let name = format!("{made}_{id}");
        if network.section(&name).is_some() {
            edits.push(Edit::Delete {
                path: format!("network.{name}"),
            });
            for zone in firewall.sections_of("zone") {
                if has_item(firewall, &zone.name, "network", &name) {
                    edits.push(del_list(format!("firewall.{}.network", zone.name), &name));
                }
            }
        }
    }
    for vlan in [format!("vlan_{id}"), format!("vlan17_{id}")] {
        if network.section(&vlan).is_some() {
            edits.push(Edit::Delete {
                path: format!("network.{vlan}"),
            });
        }
    }
    let own_wan: Vec<&str> = ["wan", "wan6"]
        .into_iter()
        .filter(|i| {
            network
                .section(i)
                .and_then(|s| s.get("device"))
                .is_some_and(|d| d == port)
        })
        .collect();
    if role == Role::Wan && !own_wan.is_empty() {
        return None;
    }
    for interface in own_wan {
        edits.push(Edit::Delete {
            path: format!("network.{interface}.device"),
        });
    }
    Some(edits)
}

/// Adds a port's new interfaces, zones and daemons' sections.
struct Attach<'a> {
    firewall: &'a Package,
    port: &'a str,
    id: String,
    edits: &'a mut Vec<Edit>,
}

impl Attach<'_> {
    fn set(&mut self, path: String, value: &str) {
        self.edits.push(set(path, value));
    }

    /// A `config interface` on `device` with `options`.
    fn interface(&mut self, name: &str, device: &str, options: &[(&str, &str)]) {
        self.set(format!("network.{name}"), "interface");
        self.set(format!("network.{name}.device"), device);
        for (option, value) in options {
            self.set(format!("network.{name}.{option}"), value);
        }
    }

    /// A VLAN device `<port>_<vid>` of `kind` (`8021q`, `8021ad`) in section `section`.
    fn vlan(&mut self, section: &str, kind: &str, vid: u16) -> String {
        let name = format!("{}_{vid}", self.port);
        self.set(format!("network.{section}"), "device");
        self.set(format!("network.{section}.type"), kind);
        self.set(format!("network.{section}.ifname"), self.port);
        self.set(format!("network.{section}.vid"), &vid.to_string());
        self.set(format!("network.{section}.name"), &name);
        name
    }

    /// `interface` joins the firewall zone named `zone`, created with `policies` (input,
    /// output, forward) when missing.
    fn join_zone(&mut self, zone: &str, interface: &str, policies: [&str; 3]) {
        let existing = self
            .firewall
            .sections_of("zone")
            .find(|z| z.get("name").is_some_and(|n| n == zone))
            .map(|z| z.name.clone());
        let section = existing.unwrap_or_else(|| {
            self.set(format!("firewall.{zone}"), "zone");
            self.set(format!("firewall.{zone}.name"), zone);
            for (option, policy) in ["input", "output", "forward"].into_iter().zip(policies) {
                self.set(format!("firewall.{zone}.{option}"), policy);
            }
            zone.to_owned()
        });
        self.edits
            .push(add_list(format!("firewall.{section}.network"), interface));
    }

    /// babel on the port (on VLAN `vid` when given), its babeld interface and the `mesh` zone.
    fn babel(&mut self, vid: Option<u16>) {
        let id = self.id.clone();
        let device = match vid {
            Some(vid) => self.vlan(&format!("vlan17_{id}"), "8021q", vid),
            None => self.port.to_owned(),
        };
        self.interface(&format!("mesh_{id}"), &device, &[("proto", "none")]);
        self.set(format!("babeld.mesh_{id}"), "interface");
        self.set(format!("babeld.mesh_{id}.ifname"), &device);
        self.join_zone(
            "mesh",
            &format!("mesh_{id}"),
            ["ACCEPT", "ACCEPT", "REJECT"],
        );
    }

    /// batman-adv on the community's 802.1ad VLAN `vid` (master `bat0`), and babel beside it
    /// on VLAN 17 as between LibreMesh nodes.
    fn mesh(&mut self, network: &Package, vid: u16) {
        let id = self.id.clone();
        let vlan = self.vlan(&format!("vlan_{id}"), "8021ad", vid);
        if network.section("bat0").is_none() {
            self.set("network.bat0".into(), "interface");
            self.set("network.bat0.proto".into(), "batadv");
        }
        self.set(format!("network.bat_{id}"), "interface");
        self.set(format!("network.bat_{id}.proto"), "batadv_hardif");
        self.set(format!("network.bat_{id}.master"), "bat0");
        self.set(format!("network.bat_{id}.device"), &vlan);
        self.babel(Some(BABEL_VID));
    }

    /// A network of its own, 172.31.N.1/24 with the first free N, its DHCP pool, and the
    /// `segments` zone that may reach the internet.
    fn routed(&mut self, network: &Package) {
        let id = self.id.clone();
        let used: Vec<String> = network
            .sections
            .iter()
            .filter(|s| s.name.starts_with("seg_"))
            .filter_map(|s| s.get("ipaddr").map(ToString::to_string))
            .collect();
        let n = (1..=254)
            .find(|n| !used.contains(&format!("172.31.{n}.1")))
            .unwrap_or(254);
        let address = format!("172.31.{n}.1");
        self.interface(
            &format!("seg_{id}"),
            self.port,
            &[
                ("proto", "static"),
                ("ipaddr", &address),
                ("netmask", "255.255.255.0"),
            ],
        );
        self.set(format!("dhcp.seg_{id}"), "dhcp");
        self.set(format!("dhcp.seg_{id}.interface"), &format!("seg_{id}"));
        self.set(format!("dhcp.seg_{id}.start"), "100");
        self.set(format!("dhcp.seg_{id}.limit"), "150");
        self.set(format!("dhcp.seg_{id}.leasetime"), "12h");
        let new_zone = !self
            .firewall
            .sections_of("zone")
            .any(|z| z.get("name").is_some_and(|n| n == "segments"));
        self.join_zone(
            "segments",
            &format!("seg_{id}"),
            ["ACCEPT", "ACCEPT", "REJECT"],
        );
        if new_zone {
            self.set("firewall.segments_wan".into(), "forwarding");
            self.set("firewall.segments_wan.src".into(), "segments");
            self.set("firewall.segments_wan.dest".into(), "wan");
        }
    }
}

/// LibreMesh: one `config net` section per port in `lime-node`.
fn lime_change_set(lime: &Package, port: &str, role: Role, wire: Wire) -> Vec<Edit> {
    let section = format!("port_{}", ident(port));
    let protocols: Vec<String> = match role {
        Role::Wan => vec!["wan".into()],
        Role::Lan => vec!["lan".into()],
        Role::Mesh => vec!["batadv:%N1".into(), format!("babeld:{BABEL_VID}")],
        Role::Babel => vec![format!("babeld:{}", wire.babel_vid.unwrap_or(BABEL_VID))],
        Role::Routed => vec!["static".into()],
        Role::Blocked => vec!["manual".into()],
    };
    let current: Vec<String> = lime
        .section(&section)
        .and_then(|s| s.option("protocols"))
        .map(|o| o.value.items().iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    if current == protocols {
        return Vec::new();
    }
    vec![
        set(format!("lime-node.{section}"), "net"),
        set(format!("lime-node.{section}.linux_name"), port),
        Edit::SetList {
            path: format!("lime-node.{section}.protocols"),
            items: protocols.into_iter().map(String::into_bytes).collect(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(name: &str) -> Package {
        crate::platform::fresh::package(name)
    }

    /// The files after `edits`, as UCI text.
    fn after(edits: &[Edit]) -> std::collections::BTreeMap<String, String> {
        let dir = tempfile::tempdir().unwrap();
        let store = uci::Store::new(dir.path().join("etc/config"), dir.path().join("tmp/.uci"));
        std::fs::create_dir_all(dir.path().join("etc/config")).unwrap();
        for name in ["network", "firewall", "dhcp"] {
            std::fs::write(
                dir.path().join("etc/config").join(name),
                uci::emit::to_file(&fresh(name)),
            )
            .unwrap();
        }
        let mut changes = uci::ChangeSet::new(&store);
        for edit in edits {
            changes.edit(edit).unwrap();
        }
        changes.commit().unwrap();
        std::fs::read_dir(dir.path().join("etc/config"))
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    entry.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(entry.path()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn policies_read_mode_and_pinned_role() {
        let portico = uci::parse(
            "portico",
            b"config port\n\toption name 'eth2'\n\toption mode 'auto'\n\
              config port\n\toption name 'eth3'\n\toption role 'lan'\n\
              config port\n\toption name 'eth4'\n\toption mode 'nonsense'\n",
        )
        .unwrap();
        let policies = policies(&portico);
        assert_eq!(policies["eth2"].mode, Mode::Auto);
        assert_eq!(policies["eth3"].pinned, Some(Role::Lan));
        assert_eq!(policies["eth4"], Policy::default());
    }

    #[test]
    fn a_port_joins_the_lan_and_leaves_it_for_the_internet() {
        let (network, firewall) = (fresh("network"), fresh("firewall"));
        let files = Files {
            network: &network,
            firewall: &firewall,
            lime: None,
        };
        assert!(
            change_set(&files, "eth0", Role::Lan, Wire::default()).is_empty(),
            "already in br-lan"
        );
        assert!(
            change_set(&files, "eth1", Role::Wan, Wire::default()).is_empty(),
            "already the WAN"
        );
        let to_lan = change_set(&files, "eth2", Role::Lan, Wire::default());
        let files_after = after(&to_lan);
        assert!(
            files_after["network"].contains("\tlist ports 'eth0'\n\tlist ports 'eth2'\n"),
            "{}",
            files_after["network"]
        );
        let uplink = change_set(&files, "eth0", Role::Wan, Wire::default());
        let files_after = after(&uplink);
        assert!(!files_after["network"].contains("list ports 'eth0'"));
        assert!(
            files_after["network"].contains(
                "config interface 'wan_eth0'\n\toption device 'eth0'\n\toption proto 'dhcp'\n"
            ),
            "{}",
            files_after["network"]
        );
        assert!(
            files_after["firewall"].contains("\tlist network 'wan_eth0'\n"),
            "{}",
            files_after["firewall"]
        );
    }

    #[test]
    #[allow(clippy::too_many_lines, reason = "one fresh router, every role")]
    fn babel_mesh_routed_and_blocked() {
        let (network, firewall) = (fresh("network"), fresh("firewall"));
        let files = Files {
            network: &network,
            firewall: &firewall,
            lime: None,
        };
        let babel = after(&change_set(&files, "eth2", Role::Babel, Wire::default()));
        assert!(
            babel["network"].contains(
                "config interface 'mesh_eth2'\n\toption device 'eth2'\n\toption proto 'none'\n"
            ),
            "{}",
            babel["network"]
        );
        assert_eq!(
            babel["babeld"],
            "\nconfig interface 'mesh_eth2'\n\toption ifname 'eth2'\n\n"
        );
        assert!(babel["firewall"].contains("config zone 'mesh'\n\toption name 'mesh'\n\toption input 'ACCEPT'\n\toption output 'ACCEPT'\n\toption forward 'REJECT'\n\tlist network 'mesh_eth2'\n"), "{}", babel["firewall"]);
        let mesh = after(&change_set(
            &files,
            "eth2",
            Role::Mesh,
            Wire {
                batman_vid: Some(186),
                babel_vid: None,
            },
        ));
        assert!(mesh["network"].contains("config device 'vlan_eth2'\n\toption type '8021ad'\n\toption ifname 'eth2'\n\toption vid '186'\n\toption name 'eth2_186'\n"), "{}", mesh["network"]);
        assert!(mesh["network"].contains("config interface 'bat_eth2'\n\toption proto 'batadv_hardif'\n\toption master 'bat0'\n\toption device 'eth2_186'\n"));
        let routed = after(&change_set(&files, "eth3", Role::Routed, Wire::default()));
        assert!(
            routed["network"].contains("option ipaddr '172.31.1.1'"),
            "{}",
            routed["network"]
        );
        assert!(routed["dhcp"].contains("config dhcp 'seg_eth3'\n\toption interface 'seg_eth3'\n"));
        assert!(routed["firewall"].contains(
            "config forwarding 'segments_wan'\n\toption src 'segments'\n\toption dest 'wan'\n"
        ));
        let blocked = change_set(&files, "eth0", Role::Blocked, Wire::default());
        assert_eq!(blocked.len(), 1, "{blocked:?}");
        assert!(!after(&blocked)["network"].contains("list ports 'eth0'"));
    }

    #[test]
    fn libremesh_gets_a_net_section() {
        let (network, firewall) = (fresh("network"), fresh("firewall"));
        let lime = uci::parse("lime-node", b"config lime 'system'\n").unwrap();
        let files = Files {
            network: &network,
            firewall: &firewall,
            lime: Some(&lime),
        };
        assert_eq!(
            change_set(&files, "eth1", Role::Mesh, Wire::default()),
            vec![
                set("lime-node.port_eth1".into(), "net"),
                set("lime-node.port_eth1.linux_name".into(), "eth1"),
                Edit::SetList {
                    path: "lime-node.port_eth1.protocols".into(),
                    items: vec![b"batadv:%N1".to_vec(), b"babeld:17".to_vec()],
                },
            ]
        );
    }
}
