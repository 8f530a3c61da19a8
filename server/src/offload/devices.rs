//! Device planning: which devices the fast path attaches to and the maps that tell it, for
//! each ingress device, the layer 3 device behind it (bridge ports, VLANs, PPPoE sessions) —
//! pure functions of the links, the configured devices and the PPPoE sessions.

use super::abi::{self, EgressValue, IngressKey, IngressValue};
use crate::kernel::links::Link;

/// The device maps for the configured layer 3 devices.
#[derive(Debug, Default, PartialEq)]
pub struct DevicePlan {
    pub ingress: Vec<(IngressKey, IngressValue)>,
    pub egress: Vec<(u32, EgressValue)>,
    /// Where the program is attached: the devices frames really arrive on.
    pub ports: Vec<u32>,
}

/// One PPPoE session of the kernel's PPPoE driver (`/proc/net/pppoe`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PppoeSession {
    /// As the kernel prints it: the session id's bytes in network order read as a native
    /// integer, which is exactly the fast path's key.
    pub id: u16,
    pub peer: [u8; 6],
    /// The Ethernet device the session runs on.
    pub device: String,
}

/// Parses `/proc/net/pppoe` (`Id Address Device`, the id as `%08X`).
pub fn pppoe_sessions(text: &str) -> Vec<PppoeSession> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let id = u16::from_str_radix(words.next()?, 16).ok()?;
            let mut peer = [0u8; 6];
            let mac: Vec<u8> = words
                .next()?
                .split(':')
                .filter_map(|b| u8::from_str_radix(b, 16).ok())
                .collect();
            peer.copy_from_slice(mac.get(..6)?);
            Some(PppoeSession {
                id,
                peer,
                device: words.next()?.to_owned(),
            })
        })
        .collect()
}

/// `ARPHRD_PPP`.
const ARPHRD_PPP: u16 = 512;

/// A bridge's ports, a VLAN device's parent (with its tag), a PPPoE device's Ethernet device
/// (with its session, when the kernel runs exactly one), or the device itself. Devices named
/// in `captive` (the portal's) are flagged so the fast path checks the portal.
pub fn plan_devices(
    links: &[Link],
    names: &[String],
    sessions: &[PppoeSession],
    captive: &[String],
) -> DevicePlan {
    let mut plan = DevicePlan::default();
    for name in names {
        let Some(l3) = links.iter().find(|l| &l.name == name) else {
            continue;
        };
        let is_captive = captive.contains(name);
        let flags = if is_captive {
            abi::ingress_flags_INGRESS_CAPTIVE
        } else {
            0
        };
        let value = IngressValue {
            l3_ifindex: l3.index,
            flags,
        };
        let mut egress = EgressValue {
            ifindex: l3.index,
            flags: if is_captive {
                abi::egress_flags_EGRESS_CAPTIVE
            } else {
                0
            },
            ..EgressValue::default()
        };
        match (l3.kind.as_deref(), l3.parent, l3.vlan_id) {
            (Some("bridge"), _, _) => {
                egress.flags |= abi::egress_flags_EGRESS_BRIDGE;
                for port in links.iter().filter(|p| p.master == Some(l3.index)) {
                    let key = IngressKey {
                        ifindex: port.index,
                        vlan: 0,
                        pppoe: 0,
                    };
                    plan.ingress.push((key, value));
                    plan.ports.push(port.index);
                }
            }
            _ if l3.arphrd == ARPHRD_PPP => {
                // pppd does not say which ppp device a session belongs to: only a single
                // session is unambiguous; otherwise the stack keeps the PPPoE traffic.
                let [session] = sessions else { continue };
                let Some(lower) = links.iter().find(|l| l.name == session.device) else {
                    continue;
                };
                egress.ifindex = lower.index;
                egress.pppoe = session.id;
                egress.peer_mac = session.peer;
                egress.own_mac = lower.mac.unwrap_or_default();
                let key = IngressKey {
                    ifindex: lower.index,
                    vlan: 0,
                    pppoe: session.id,
                };
                plan.ingress.push((key, value));
                plan.ports.push(lower.index);
            }
            (Some("vlan"), Some(parent), Some(vid)) => {
                egress.ifindex = parent;
                egress.vlan = vid;
                plan.ingress.push((
                    IngressKey {
                        ifindex: parent,
                        vlan: vid,
                        pppoe: 0,
                    },
                    value,
                ));
                plan.ports.push(parent);
            }
            _ => {
                plan.ingress.push((
                    IngressKey {
                        ifindex: l3.index,
                        vlan: 0,
                        pppoe: 0,
                    },
                    value,
                ));
                plan.ports.push(l3.index);
            }
        }
        plan.egress.push((l3.index, egress));
    }
    plan.ports.sort_unstable();
    plan.ports.dedup();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, kind: Option<&str>) -> Link {
        Link {
            mac: Some([2, 0, 0, 0, 0, u8::try_from(index).unwrap()]),
            kind: kind.map(Into::into),
            ..Link::plain(index, name)
        }
    }

    #[test]
    fn devices_map_bridge_ports_vlan_parents_and_plain_links() {
        let bridge = link(10, "br-lan", Some("bridge"));
        let port_a = Link {
            master: Some(10),
            ..link(2, "lan1", None)
        };
        let port_b = Link {
            master: Some(10),
            ..link(3, "lan2", None)
        };
        let wan = link(4, "eth1", None);
        let vlan = Link {
            parent: Some(4),
            vlan_id: Some(7),
            ..link(11, "eth1.7", Some("vlan"))
        };
        let unrelated = link(5, "eth9", None);
        let links = [bridge, port_a, port_b, wan, vlan, unrelated];
        let names = ["br-lan", "eth1.7", "eth1", "missing0"].map(String::from);
        let plan = plan_devices(&links, &names, &[], &["br-lan".into()]);

        let ingress = |ifindex, vlan| {
            plan.ingress
                .iter()
                .find(|(k, _)| k.ifindex == ifindex && k.vlan == vlan)
                .map(|(_, v)| v.l3_ifindex)
        };
        let captive = |ifindex| {
            plan.ingress
                .iter()
                .find(|(k, _)| k.ifindex == ifindex)
                .is_some_and(|(_, v)| v.flags & abi::ingress_flags_INGRESS_CAPTIVE != 0)
        };
        assert!(
            captive(2) && captive(3),
            "the portal's bridge: its ports are captive"
        );
        assert!(!captive(4), "the WAN is not");
        assert_eq!(
            ingress(2, 0),
            Some(10),
            "a bridge port belongs to the bridge"
        );
        assert_eq!(ingress(3, 0), Some(10));
        assert_eq!(ingress(4, 7), Some(11), "tag 7 on eth1 belongs to eth1.7");
        assert_eq!(ingress(4, 0), Some(4), "untagged eth1 is eth1");
        assert_eq!(ingress(5, 0), None, "not configured");

        let egress = |l3| plan.egress.iter().find(|(i, _)| *i == l3).map(|(_, e)| *e);
        let bridge = egress(10).unwrap();
        assert_eq!(
            bridge.flags,
            abi::egress_flags_EGRESS_BRIDGE | abi::egress_flags_EGRESS_CAPTIVE,
            "the port comes from the fdb; the next hop is checked against the portal"
        );
        assert_eq!(egress(4).unwrap().flags, 0);
        let vlan = egress(11).unwrap();
        assert_eq!(
            (vlan.ifindex, vlan.vlan),
            (4, 7),
            "out of the parent with the tag"
        );
        assert_eq!(egress(4).unwrap().ifindex, 4);
        assert_eq!(
            plan.ports,
            [2, 3, 4],
            "attached where frames arrive, once each"
        );
    }

    #[test]
    fn a_single_pppoe_session_maps_its_ppp_device_onto_the_ethernet_device() {
        // As the kernel prints it on a little-endian machine for session 0x1234.
        let text = "Id       Address              Device\n00003412 00:11:22:33:44:55     eth1\n";
        let sessions = pppoe_sessions(text);
        assert_eq!(
            sessions,
            [PppoeSession {
                id: 0x3412,
                peer: [0, 0x11, 0x22, 0x33, 0x44, 0x55],
                device: "eth1".into()
            }]
        );
        assert_eq!(
            0x3412u16.to_ne_bytes(),
            [0x12, 0x34],
            "the key holds the wire's bytes"
        );
        let eth1 = link(4, "eth1", None);
        let ppp = Link {
            arphrd: ARPHRD_PPP,
            mac: None,
            ..link(12, "pppoe-wan", None)
        };
        let links = [eth1, ppp];
        let plan = plan_devices(&links, &["pppoe-wan".into()], &sessions, &[]);
        assert_eq!(
            plan.ingress,
            [(
                IngressKey {
                    ifindex: 4,
                    vlan: 0,
                    pppoe: 0x3412
                },
                IngressValue {
                    l3_ifindex: 12,
                    flags: 0
                }
            )]
        );
        let (l3, e) = plan.egress[0];
        assert_eq!(
            (l3, e.ifindex, e.pppoe, e.peer_mac),
            (12, 4, 0x3412, sessions[0].peer)
        );
        assert_eq!(e.own_mac, links[0].mac.unwrap());
        assert_eq!(plan.ports, [4]);
        let two = [
            sessions[0].clone(),
            PppoeSession {
                id: 1,
                ..sessions[0].clone()
            },
        ];
        assert_eq!(
            plan_devices(&links, &["pppoe-wan".into()], &two, &[]),
            DevicePlan::default()
        );
    }
}
