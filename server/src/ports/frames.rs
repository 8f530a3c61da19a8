//! What one frame arriving on a port says about the far end of its cable, and the probe frames
//! a port sends to make the far end speak.
//!
//! [`classify`] reads a frame as the packet socket delivers it (a VLAN tag the kernel took off
//! is passed beside it, from `PACKET_AUXDATA`) and returns the [`Sighting`] it is evidence of, if
//! any. It never trusts a length field: every read is bounds-checked, strings are cut to
//! [`MAX_TEXT`] characters and stripped of control characters.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::wizard::detect;

/// A VLAN tag: its protocol (0x8100 802.1Q, 0x88a8 802.1ad) and VLAN id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Vlan {
    pub tpid: u16,
    pub vid: u16,
}

/// Longest text kept from a frame (LLDP names and descriptions, discovery identities).
pub const MAX_TEXT: usize = 120;

/// `ETH_P_*` and ports the classifier knows.
const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_8021Q: u16 = 0x8100;
const ETH_8021AD: u16 = 0x88a8;
const ETH_BATMAN: u16 = 0x4305;
const ETH_LLDP: u16 = 0x88cc;
/// IEEE 802 "local experimental" ethertype, used by the loop probe.
pub const ETH_LOOP: u16 = 0x88b5;
const UDP: u8 = 17;
const ICMPV6: u8 = 58;
const BABEL_PORT: u16 = 6696;
const MNDP_PORT: u16 = 5678;
const UBNT_PORT: u16 = 10001;
const MDNS_PORT: u16 = 5353;

/// The loop probe's multicast destination (locally administered group address): flooded by
/// switches and bridges, so a frame sent on one port and heard on another means the two are
/// joined behind the router.
pub const LOOP_DESTINATION: [u8; 6] = [0x03, 0x50, 0x4f, 0x52, 0x54, 0x4c];
const LOOP_MAGIC: &[u8; 8] = b"PORTICO1";

/// What a frame is evidence of.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sighting {
    /// A DHCP server answered (an OFFER); `offered` is the address it offered.
    DhcpServer { server: Ipv4Addr, offered: Ipv4Addr },
    /// A router advertised itself as a default router (lifetime > 0).
    RouterAdvert { router: Ipv6Addr },
    /// A PPPoE access concentrator answered the discovery.
    Pppoe { concentrator: String },
    /// A babel routing daemon said hello (`vid`: the VLAN it came on); `hears_us` when its
    /// packet carries an "I heard you" for this port's link-local address: the adjacency is
    /// up both ways.
    Babel {
        neighbour: Ipv6Addr,
        vid: Option<u16>,
        hears_us: bool,
    },
    /// A batman-adv frame (`originator` when the packet type names one).
    Batman {
        originator: Option<String>,
        vid: Option<u16>,
    },
    /// LibreMesh's anycast gateway MAC `aa:aa:aa:NN:NN:aa` (`id`: the two community bytes).
    Anygw { id: [u8; 2] },
    /// An LLDP announcement.
    Lldp {
        name: String,
        description: String,
        /// Enabled capabilities: `bridge`, `router`, `wlan-ap`, `station`, ...
        capabilities: Vec<&'static str>,
    },
    /// A MikroTik neighbour discovery announcement.
    Mndp { identity: String },
    /// A Ubiquiti discovery packet.
    Ubiquiti { name: String },
    /// A spanning tree BPDU: a switch or bridge with STP on.
    Stp,
    /// Another host asking for an address (DHCP DISCOVER or REQUEST): a client.
    DhcpClient,
    /// Multicast DNS: phones, laptops and printers announcing themselves.
    Mdns,
    /// This router's own loop probe, sent from port `from` (an interface index).
    Loop { from: u32 },
}

/// The one VLAN id in a frame's tags (the kernel's stripped tag first, then in-frame tags).
fn vid_of(auxdata: Option<Vlan>, tags: &[Vlan]) -> Option<u16> {
    auxdata.or_else(|| tags.first().copied()).map(|v| v.vid)
}

/// What to compare answers with: this router's probes carry these values.
#[derive(Clone, Copy, Debug)]
pub struct Probes {
    /// The loop probe's nonce.
    pub nonce: u64,
}

/// The interface id of the link-local address the kernel gives a port with `mac` (modified
/// EUI-64, RFC 4291): what a babel neighbour's "I heard you" names.
pub fn interface_id(mac: [u8; 6]) -> [u8; 8] {
    [
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ]
}

/// Classifies one received frame on the port with address `own` (this router's side).
/// `None` for frames that say nothing about the far end.
pub fn classify(
    frame: &[u8],
    auxdata: Option<Vlan>,
    probes: &Probes,
    own: [u8; 6],
) -> Option<Sighting> {
    let source: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let destination = frame.get(0..6)?;
    if source[..3] == [0xaa; 3] && source[5] == 0xaa {
        return Some(Sighting::Anygw {
            id: [source[3], source[4]],
        });
    }
    let mut ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let mut offset = 14;
    let mut tags = Vec::new();
    while matches!(ethertype, ETH_8021Q | ETH_8021AD) && tags.len() < 2 {
        let tci = u16::from_be_bytes([*frame.get(offset)?, *frame.get(offset + 1)?]);
        tags.push(Vlan {
            tpid: ethertype,
            vid: tci & 0x0fff,
        });
        ethertype = u16::from_be_bytes([*frame.get(offset + 2)?, *frame.get(offset + 3)?]);
        offset += 4;
    }
    let vid = vid_of(auxdata, &tags);
    let payload = frame.get(offset..)?;
    if ethertype < 0x0600 {
        // An 802.3 length: LLC follows. 0x42 0x42 is spanning tree.
        return (destination == [0x01, 0x80, 0xc2, 0, 0, 0] && payload.starts_with(&[0x42, 0x42]))
            .then_some(Sighting::Stp);
    }
    match ethertype {
        ETH_IPV4 => ipv4(payload),
        ETH_IPV6 => ipv6(payload, vid, interface_id(own)),
        ETH_BATMAN => Some(batman(payload, vid)),
        ETH_LLDP => lldp(payload),
        detect::ETH_P_PPP_DISC => detect::pado_name(frame).map(|concentrator| Sighting::Pppoe {
            concentrator: text(concentrator.as_bytes()),
        }),
        ETH_LOOP => (payload.get(..8)? == LOOP_MAGIC
            && payload.get(8..16)? == probes.nonce.to_be_bytes())
        .then(|| {
            let from = u32::from_be_bytes(payload.get(16..20)?.try_into().ok()?);
            Some(Sighting::Loop { from })
        })
        .flatten(),
        _ => None,
    }
}

/// Text from the wire: valid UTF-8 (lossy), no control characters, at most [`MAX_TEXT`] chars.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// (source port, destination port, payload) of a UDP datagram.
fn udp(segment: &[u8]) -> Option<(u16, u16, &[u8])> {
    let source = u16::from_be_bytes(segment.get(0..2)?.try_into().ok()?);
    let destination = u16::from_be_bytes(segment.get(2..4)?.try_into().ok()?);
    Some((source, destination, segment.get(8..)?))
}

fn ipv4(packet: &[u8]) -> Option<Sighting> {
    let header = usize::from(packet.first()? & 0x0f) * 4;
    if packet.first()? >> 4 != 4 || header < 20 || packet.get(9)? != &UDP {
        return None;
    }
    let (source_port, destination_port, payload) = udp(packet.get(header..)?)?;
    match (source_port, destination_port) {
        (67, 68) => {
            let xid = u32::from_be_bytes(payload.get(4..8)?.try_into().ok()?);
            let (server, offered) = detect::parse_offer(payload, xid)?;
            let server = if server.is_unspecified() {
                Ipv4Addr::from(<[u8; 4]>::try_from(packet.get(12..16)?).ok()?)
            } else {
                server
            };
            Some(Sighting::DhcpServer { server, offered })
        }
        (68, 67) => (payload.first()? == &1).then_some(Sighting::DhcpClient),
        (_, MDNS_PORT) => Some(Sighting::Mdns),
        (MNDP_PORT, MNDP_PORT) => Some(Sighting::Mndp {
            identity: mndp_identity(payload).unwrap_or_default(),
        }),
        (UBNT_PORT, _) => Some(Sighting::Ubiquiti {
            name: ubiquiti_name(payload).unwrap_or_default(),
        }),
        _ => None,
    }
}

fn ipv6(packet: &[u8], vid: Option<u16>, own: [u8; 8]) -> Option<Sighting> {
    if packet.first()? >> 4 != 6 {
        return None;
    }
    let next = *packet.get(6)?;
    let source = Ipv6Addr::from(<[u8; 16]>::try_from(packet.get(8..24)?).ok()?);
    let body = packet.get(40..)?;
    match next {
        ICMPV6 => {
            // A router advertisement (type 134) with a router lifetime: a default router.
            let lifetime = u16::from_be_bytes(body.get(6..8)?.try_into().ok()?);
            (body.first()? == &134 && lifetime > 0)
                .then_some(Sighting::RouterAdvert { router: source })
        }
        UDP => {
            let (_, destination_port, payload) = udp(body)?;
            match destination_port {
                // A babel packet starts with magic 42 and version 2.
                BABEL_PORT => payload.starts_with(&[42, 2]).then(|| Sighting::Babel {
                    neighbour: source,
                    vid,
                    hears_us: babel_hears(payload, own),
                }),
                MDNS_PORT => Some(Sighting::Mdns),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether a babel packet (RFC 8966: magic, version, body length, then TLVs) carries an IHU
/// ("I heard you", type 5) for the link-local interface id `own` (address encoding 3, or a
/// whole fe80::/64 address, encoding 2).
fn babel_hears(packet: &[u8], own: [u8; 8]) -> bool {
    let Some(len) = packet
        .get(2..4)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
    else {
        return false;
    };
    let mut body = packet
        .get(4..4 + len)
        .unwrap_or(packet.get(4..).unwrap_or_default());
    while let Some(&kind) = body.first() {
        if kind == 0 {
            body = &body[1..];
            continue;
        }
        let Some(len) = body.get(1).map(|&l| usize::from(l)) else {
            return false;
        };
        let Some(value) = body.get(2..2 + len) else {
            return false;
        };
        if kind == 5 {
            let address = value.get(6..);
            let ours = match (value.first(), address) {
                (Some(3), Some(id)) => id.get(..8) == Some(&own[..]),
                (Some(2), Some(a)) => {
                    a.get(..8) == Some(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0][..])
                        && a.get(8..16) == Some(&own[..])
                }
                _ => false,
            };
            if ours {
                return true;
            }
        }
        body = &body[2 + len..];
    }
    false
}

/// batman-adv's packet types that carry an originator address, and where it sits.
fn batman(packet: &[u8], vid: Option<u16>) -> Sighting {
    const VERSION: u8 = 15;
    let at = match (packet.first(), packet.get(1)) {
        // BATADV_IV_OGM and BATADV_OGM2: type, version, ttl, flags, seqno (4), orig.
        (Some(0x00 | 0x04), Some(&VERSION)) => Some(8),
        // BATADV_ELP: type, version, orig.
        (Some(0x03), Some(&VERSION)) => Some(2),
        _ => None,
    };
    let originator = at
        .and_then(|at| packet.get(at..at + 6))
        .map(crate::kernel::neighbours::mac_text);
    Sighting::Batman { originator, vid }
}

/// LLDP capability bits (IEEE 802.1AB, table 8-4).
const CAPABILITIES: [&str; 8] = [
    "other",
    "repeater",
    "bridge",
    "wlan-ap",
    "router",
    "telephone",
    "docsis",
    "station",
];

fn lldp(mut payload: &[u8]) -> Option<Sighting> {
    let (mut name, mut description, mut capabilities) = (String::new(), String::new(), vec![]);
    while payload.len() >= 2 {
        let header = u16::from_be_bytes([payload[0], payload[1]]);
        let (kind, len) = (header >> 9, usize::from(header & 0x01ff));
        let value = payload.get(2..2 + len)?;
        match kind {
            0 => break,
            5 => name = text(value),
            6 => description = text(value),
            7 if value.len() >= 4 => {
                let enabled = u16::from_be_bytes([value[2], value[3]]);
                capabilities = CAPABILITIES
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| enabled & (1 << bit) != 0)
                    .map(|(_, c)| *c)
                    .collect();
            }
            _ => {}
        }
        payload = &payload[2 + len..];
    }
    Some(Sighting::Lldp {
        name,
        description,
        capabilities,
    })
}

/// MikroTik MNDP: a 4-byte header, then TLVs (type and length 16 bits each); 5 is the identity.
fn mndp_identity(payload: &[u8]) -> Option<String> {
    let mut rest = payload.get(4..)?;
    while rest.len() >= 4 {
        let kind = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        if kind == 5 {
            return Some(text(value));
        }
        rest = &rest[4 + len..];
    }
    None
}

/// Ubiquiti discovery (version 1): a 4-byte header, then TLVs (type 8 bits, length 16 bits);
/// 0x0b is the host name.
fn ubiquiti_name(payload: &[u8]) -> Option<String> {
    let mut rest = payload.get(4..)?;
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        let value = rest.get(3..3 + len)?;
        if rest[0] == 0x0b {
            return Some(text(value));
        }
        rest = &rest[3 + len..];
    }
    None
}

/// The Internet checksum (RFC 1071) over `chunks`.
fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for chunk in chunks {
        for pair in chunk.chunks(2) {
            let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(u16::try_from(sum).unwrap_or(u16::MAX))
}

/// A DHCPDISCOVER from `mac` as a whole broadcast frame (0.0.0.0:68 → 255.255.255.255:67), for
/// a port that may be a bridge's member and so has no socket of its own.
pub fn dhcp_discover(mac: [u8; 6], xid: u32) -> Vec<u8> {
    let bootp = detect::discover(mac, xid);
    let udp_len = u16::try_from(8 + bootp.len()).unwrap_or(u16::MAX);
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, UDP, 0, 0, 0, 0, 0, 0];
    ip.extend_from_slice(&[255; 4]);
    ip[2..4].copy_from_slice(&(udp_len + 20).to_be_bytes());
    let sum = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut frame = ethernet([0xff; 6], mac, ETH_IPV4);
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&68u16.to_be_bytes());
    frame.extend_from_slice(&67u16.to_be_bytes());
    frame.extend_from_slice(&udp_len.to_be_bytes());
    frame.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4)
    frame.extend_from_slice(&bootp);
    frame
}

/// An ICMPv6 router solicitation from the unspecified address to all routers, so a router
/// answers now instead of at its next periodic advertisement (minutes, by default).
pub fn router_solicitation(mac: [u8; 6]) -> Vec<u8> {
    let all_routers = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2).octets();
    let mut icmp = vec![133, 0, 0, 0, 0, 0, 0, 0];
    let len = u32::try_from(icmp.len()).unwrap_or(0);
    let pseudo = [
        &[0u8; 16][..],
        &all_routers,
        &len.to_be_bytes(),
        &[0, 0, 0, ICMPV6],
    ]
    .concat();
    let sum = checksum(&[&pseudo, &icmp]);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut frame = ethernet([0x33, 0x33, 0, 0, 0, 2], mac, ETH_IPV6);
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&u16::try_from(icmp.len()).unwrap_or(0).to_be_bytes());
    frame.extend_from_slice(&[ICMPV6, 255]);
    frame.extend_from_slice(&[0u8; 16]);
    frame.extend_from_slice(&all_routers);
    frame.extend_from_slice(&icmp);
    frame
}

/// The loop probe sent from port `from`: heard on another port, the two are joined.
pub fn loop_probe(mac: [u8; 6], nonce: u64, from: u32) -> Vec<u8> {
    let mut frame = ethernet(LOOP_DESTINATION, mac, ETH_LOOP);
    frame.extend_from_slice(LOOP_MAGIC);
    frame.extend_from_slice(&nonce.to_be_bytes());
    frame.extend_from_slice(&from.to_be_bytes());
    frame.resize(60, 0);
    frame
}

/// A batman-adv ELP (echo location) frame from `mac` with sequence number `seqno`, in an
/// 802.1ad tag with `vid`: what a LibreMesh node sends on its mesh VLAN every second.
pub fn batman_elp(mac: [u8; 6], vid: u16, seqno: u32) -> Vec<u8> {
    let mut frame = ethernet([0xff; 6], mac, ETH_8021AD);
    frame.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    frame.extend_from_slice(&ETH_BATMAN.to_be_bytes());
    frame.extend_from_slice(&[0x03, 15]); // BATADV_ELP, compatibility version 15
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&seqno.to_be_bytes());
    frame.extend_from_slice(&500u32.to_be_bytes()); // ELP interval, ms
    frame.resize(60, 0);
    frame
}

/// Sends [`batman_elp`] on `device` every second, forever (the lab's batman-adv neighbour).
///
/// # Errors
/// In the host's network namespace, or when the device has no packet socket.
pub fn send_batman_elp(device: &str, vid: u16) -> std::io::Result<std::convert::Infallible> {
    netlab::refuse_host_namespace("send batman-adv frames").map_err(std::io::Error::other)?;
    let mac = detect::mac_of(device).ok_or_else(|| std::io::Error::other("no hardware address"))?;
    let fd = detect::packet_socket(device, std::time::Duration::from_secs(1))?;
    let mut seqno: u32 = 0;
    loop {
        // While the cable is unplugged the send fails; a node keeps trying, as batman-adv does.
        if let Err(err) = detect::send(&fd, &batman_elp(mac, vid, seqno)) {
            tracing::debug!(%err, "batman-adv frame not sent");
        }
        seqno = seqno.wrapping_add(1);
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

fn ethernet(destination: [u8; 6], source: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut frame = Vec::with_capacity(342);
    frame.extend_from_slice(&destination);
    frame.extend_from_slice(&source);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBES: Probes = Probes {
        nonce: 0x0102_0304_0506_0708,
    };
    const PEER: [u8; 6] = [2, 0, 0, 0, 0, 9];

    const OWN: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn classify(frame: &[u8]) -> Option<Sighting> {
        super::classify(frame, None, &PROBES, OWN)
    }

    /// Every prefix of `frame` classifies without panicking.
    fn survives_truncation(frame: &[u8]) {
        for cut in 0..frame.len() {
            let _ = classify(&frame[..cut]);
        }
    }

    fn ipv4_udp(source_port: u16, destination_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut frame = ethernet([0xff; 6], PEER, ETH_IPV4);
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, UDP, 0, 0, 10, 0, 0, 1];
        ip.extend_from_slice(&[255; 4]);
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&source_port.to_be_bytes());
        frame.extend_from_slice(&destination_port.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        frame
    }

    fn ipv6(next: u8, source: Ipv6Addr, body: &[u8]) -> Vec<u8> {
        let mut frame = ethernet([0x33, 0x33, 0, 0, 0, 1], PEER, ETH_IPV6);
        frame.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, next, 255]);
        frame.extend_from_slice(&source.octets());
        frame.extend_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        frame.extend_from_slice(body);
        frame
    }

    #[test]
    fn a_dhcp_offer_names_its_server_and_address() {
        let mut offer = detect::discover(PEER, 7);
        offer[0] = 2;
        offer[16..20].copy_from_slice(&[100, 64, 0, 150]);
        offer.truncate(240);
        offer.extend_from_slice(&[53, 1, 2, 54, 4, 100, 64, 0, 1, 255]);
        let frame = ipv4_udp(67, 68, &offer);
        assert_eq!(
            classify(&frame),
            Some(Sighting::DhcpServer {
                server: Ipv4Addr::new(100, 64, 0, 1),
                offered: Ipv4Addr::new(100, 64, 0, 150)
            })
        );
        survives_truncation(&frame);
        let discover = ipv4_udp(68, 67, &detect::discover(PEER, 8));
        assert_eq!(classify(&discover), Some(Sighting::DhcpClient));
    }

    #[test]
    fn our_discover_frame_is_a_valid_ipv4_broadcast() {
        let frame = dhcp_discover(PEER, 9);
        assert_eq!(&frame[..6], &[0xff; 6]);
        assert_eq!(checksum(&[&frame[14..34]]), 0, "IPv4 header checksum");
        assert_eq!(
            usize::from(u16::from_be_bytes([frame[16], frame[17]])),
            frame.len() - 14
        );
        assert_eq!(classify(&frame), Some(Sighting::DhcpClient));
    }

    #[test]
    fn router_advertisements_count_only_with_a_lifetime() {
        let router: Ipv6Addr = "fe80::1".parse().unwrap();
        let mut ra = vec![134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        let frame = ipv6(ICMPV6, router, &ra);
        assert_eq!(classify(&frame), Some(Sighting::RouterAdvert { router }));
        survives_truncation(&frame);
        ra[6..8].copy_from_slice(&[0, 0]);
        assert_eq!(
            classify(&ipv6(ICMPV6, router, &ra)),
            None,
            "not a default router"
        );
        let rs = router_solicitation(PEER);
        let icmp = &rs[54..];
        let pseudo = [
            &[0u8; 16][..],
            &rs[38..54],
            &u32::try_from(icmp.len()).unwrap().to_be_bytes(),
            &[0, 0, 0, ICMPV6],
        ]
        .concat();
        assert_eq!(checksum(&[&pseudo, icmp]), 0, "ICMPv6 checksum");
    }

    #[test]
    fn babel_hellos_carry_their_vlan_and_whom_they_hear() {
        let neighbour: Ipv6Addr = "fe80::2".parse().unwrap();
        let mut udp = vec![0x1a, 0x28, 0x1a, 0x28, 0, 12, 0, 0];
        // A hello (type 4), then a pad.
        udp.extend_from_slice(&[42, 2, 0, 9, 4, 6, 0, 0, 0, 1, 1, 144, 0]);
        let frame = ipv6(UDP, neighbour, &udp);
        let vlan = Some(Vlan {
            tpid: ETH_8021Q,
            vid: 17,
        });
        assert_eq!(
            super::classify(&frame, vlan, &PROBES, OWN),
            Some(Sighting::Babel {
                neighbour,
                vid: Some(17),
                hears_us: false,
            })
        );
        survives_truncation(&frame);
        // An IHU for someone else, then one for us (link-local encoding).
        let mut heard = udp.clone();
        let ihu = |id: [u8; 8]| [&[5u8, 14, 3, 0, 0, 96, 1, 144][..], &id].concat();
        let tlvs = [ihu([9; 8]), ihu(interface_id(OWN))].concat();
        heard.extend_from_slice(&tlvs);
        heard[10..12].copy_from_slice(&u16::try_from(9 + tlvs.len()).unwrap().to_be_bytes());
        let frame = ipv6(UDP, neighbour, &heard);
        assert!(matches!(
            classify(&frame),
            Some(Sighting::Babel { hears_us: true, .. })
        ));
        survives_truncation(&frame);
        udp[8] = 41;
        assert_eq!(
            classify(&ipv6(UDP, neighbour, &udp)),
            None,
            "not babel's magic"
        );
    }

    #[test]
    fn batman_frames_in_an_8021ad_tag() {
        let frame = batman_elp([2, 0xba, 0x7e, 0, 0, 1], 60, 1);
        assert_eq!(
            classify(&frame),
            Some(Sighting::Batman {
                originator: Some("02:ba:7e:00:00:01".into()),
                vid: Some(60)
            })
        );
        survives_truncation(&frame);
    }

    #[test]
    fn the_anygw_mac_gives_the_community_bytes() {
        let mut frame = ethernet([0xff; 6], [0xaa, 0xaa, 0xaa, 0x12, 0x34, 0xaa], 0x0806);
        frame.resize(60, 0);
        assert_eq!(classify(&frame), Some(Sighting::Anygw { id: [0x12, 0x34] }));
    }

    #[test]
    fn lldp_names_the_switch_and_its_capabilities() {
        let mut frame = ethernet([0x01, 0x80, 0xc2, 0, 0, 0x0e], PEER, ETH_LLDP);
        let tlv = |kind: u16, value: &[u8]| {
            let header = (kind << 9) | u16::try_from(value.len()).unwrap();
            [&header.to_be_bytes()[..], value].concat()
        };
        frame.extend(tlv(1, &[4, 2, 0, 0, 0, 0, 9]));
        frame.extend(tlv(5, b"lab-switch\x07"));
        frame.extend(tlv(6, b"Debian lldpd"));
        frame.extend(tlv(7, &[0, 0x14, 0, 0x04]));
        frame.extend(tlv(0, &[]));
        assert_eq!(
            classify(&frame),
            Some(Sighting::Lldp {
                name: "lab-switch".into(),
                description: "Debian lldpd".into(),
                capabilities: vec!["bridge"],
            })
        );
        survives_truncation(&frame);
    }

    #[test]
    fn stp_mndp_ubiquiti_and_mdns() {
        let mut bpdu = ethernet([0x01, 0x80, 0xc2, 0, 0, 0], PEER, 38);
        bpdu.extend_from_slice(&[0x42, 0x42, 0x03, 0, 0, 0, 0]);
        assert_eq!(classify(&bpdu), Some(Sighting::Stp));
        let mndp = ipv4_udp(
            5678,
            5678,
            &[0, 0, 0, 1, 0, 5, 0, 4, b'h', b'A', b'P', b'1'],
        );
        assert_eq!(
            classify(&mndp),
            Some(Sighting::Mndp {
                identity: "hAP1".into()
            })
        );
        survives_truncation(&mndp);
        let ubnt = ipv4_udp(
            10001,
            40000,
            &[1, 0, 0, 7, 0x0b, 0, 4, b'N', b'a', b'n', b'o'],
        );
        assert_eq!(
            classify(&ubnt),
            Some(Sighting::Ubiquiti {
                name: "Nano".into()
            })
        );
        survives_truncation(&ubnt);
        assert_eq!(
            classify(&ipv4_udp(5353, 5353, &[0; 12])),
            Some(Sighting::Mdns)
        );
    }

    #[test]
    fn only_our_own_loop_probe_is_a_loop() {
        let frame = loop_probe(PEER, PROBES.nonce, 7);
        assert_eq!(frame.len(), 60);
        assert_eq!(classify(&frame), Some(Sighting::Loop { from: 7 }));
        assert_eq!(
            super::classify(&frame, None, &Probes { nonce: 1 }, OWN),
            None,
            "another router's probe"
        );
        survives_truncation(&frame);
    }

    #[test]
    fn garbage_is_nothing() {
        assert_eq!(classify(&[]), None);
        assert_eq!(classify(&[0xff; 13]), None);
        let mut stacked = ethernet([0xff; 6], PEER, ETH_8021Q);
        for _ in 0..100 {
            stacked.extend_from_slice(&[0, 1, 0x81, 0x00]);
        }
        assert_eq!(classify(&stacked), None, "endless VLAN tags");
    }
}
