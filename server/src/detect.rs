//! WAN detection for the wizard's "Detect" action: link state, then a DHCPDISCOVER on the WAN
//! port (three tries, one second apart) — what answers pre-selects the internet type.
//!
//! The DISCOVER goes out as a UDP broadcast from port 68 bound to the WAN device with the
//! BROADCAST flag set, so the server's OFFER comes back as a broadcast the same socket receives;
//! no raw socket and no address on the port are needed. Kernel-touching: refused in the host's
//! network namespace (design.md, rule 1).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// What answered on the WAN port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Detected {
    /// The cable is not plugged in (or the device is down).
    NoLink,
    /// A DHCP server offered an address.
    Dhcp { server: Ipv4Addr, offered: Ipv4Addr },
    /// Nothing answered.
    NoAnswer,
}

/// Why detection could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Refused(String),
    #[error("{device}: {source}")]
    Io {
        device: String,
        #[source]
        source: std::io::Error,
    },
}

const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// A DHCPDISCOVER (RFC 2131) from `mac` with transaction id `xid`, BROADCAST flag set.
pub fn discover(mac: [u8; 6], xid: u32) -> Vec<u8> {
    let mut packet = vec![0u8; 236];
    packet[0] = 1; // BOOTREQUEST
    packet[1] = 1; // Ethernet
    packet[2] = 6; // hardware address length
    packet[4..8].copy_from_slice(&xid.to_be_bytes());
    packet[10] = 0x80; // flags: BROADCAST
    packet[28..34].copy_from_slice(&mac);
    packet.extend_from_slice(&MAGIC_COOKIE);
    packet.extend_from_slice(&[53, 1, 1]); // DHCP message type: DISCOVER
    packet.extend_from_slice(&[55, 3, 1, 3, 6]); // parameters: netmask, router, DNS
    packet.push(255);
    packet
}

/// The offer in `packet` if it is a DHCPOFFER for `xid`: (server identifier, offered address).
pub fn parse_offer(packet: &[u8], xid: u32) -> Option<(Ipv4Addr, Ipv4Addr)> {
    if packet.len() < 240
        || packet[0] != 2
        || packet[4..8] != xid.to_be_bytes()
        || packet[236..240] != MAGIC_COOKIE
    {
        return None;
    }
    let offered = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    let (mut kind, mut server) = (None, None);
    let mut i = 240;
    while i < packet.len() {
        let code = packet[i];
        if code == 255 {
            break;
        }
        if code == 0 {
            i += 1;
            continue;
        }
        let len = usize::from(*packet.get(i + 1)?);
        let value = packet.get(i + 2..i + 2 + len)?;
        match (code, value) {
            (53, &[message_type]) => kind = Some(message_type),
            (54, &[o1, o2, o3, o4]) => server = Some(Ipv4Addr::new(o1, o2, o3, o4)),
            _ => {}
        }
        i += 2 + len;
    }
    (kind == Some(2)).then_some((server.unwrap_or(Ipv4Addr::UNSPECIFIED), offered))
}

fn mac_of(device: &str) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{device}/address")).ok()?;
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    bytes.try_into().ok()
}

fn has_link(device: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{device}/carrier"))
        .is_ok_and(|c| c.trim() == "1")
}

/// Probes `device`: link, then up to `tries` DHCPDISCOVERs `interval` apart.
///
/// # Errors
/// In the host's network namespace, or when the socket cannot be set up.
pub fn probe(device: &str, tries: u32, interval: Duration) -> Result<Detected, Error> {
    netlab::refuse_host_namespace("WAN detection").map_err(|e| Error::Refused(e.to_string()))?;
    if !has_link(device) {
        return Ok(Detected::NoLink);
    }
    let io = |source| Error::Io {
        device: device.to_owned(),
        source,
    };
    let mac = mac_of(device).ok_or_else(|| io(std::io::Error::other("no hardware address")))?;
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .map_err(io)?;
    socket.set_reuse_address(true).map_err(io)?;
    socket.set_broadcast(true).map_err(io)?;
    socket.bind_device(Some(device.as_bytes())).map_err(io)?;
    socket
        .bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 68)).into())
        .map_err(io)?;
    let socket: UdpSocket = socket.into();
    let xid: u32 = rand::random();
    let mut buffer = [0u8; 1500];
    for _ in 0..tries {
        socket
            .send_to(&discover(mac, xid), (Ipv4Addr::BROADCAST, 67))
            .map_err(io)?;
        let until = Instant::now() + interval;
        while let Some(left) = until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        {
            socket.set_read_timeout(Some(left)).map_err(io)?;
            match socket.recv_from(&mut buffer) {
                Ok((n, _)) => {
                    if let Some((server, offered)) = parse_offer(&buffer[..n], xid) {
                        return Ok(Detected::Dhcp { server, offered });
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(e) => return Err(io(e)),
            }
        }
    }
    Ok(Detected::NoAnswer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_and_offer_round_trip() {
        let packet = discover([2, 0, 0, 0, 0, 1], 0x1234_5678);
        assert_eq!(
            (packet[0], packet[10], &packet[236..240]),
            (1, 0x80, &MAGIC_COOKIE[..])
        );
        let mut offer = packet.clone();
        offer[0] = 2;
        offer[16..20].copy_from_slice(&[100, 64, 0, 150]);
        offer.truncate(240);
        offer.extend_from_slice(&[53, 1, 2, 54, 4, 100, 64, 0, 1, 255]);
        assert_eq!(
            parse_offer(&offer, 0x1234_5678),
            Some((Ipv4Addr::new(100, 64, 0, 1), Ipv4Addr::new(100, 64, 0, 150)))
        );
        assert_eq!(parse_offer(&offer, 1), None, "another transaction");
        assert_eq!(parse_offer(&offer[..100], 0x1234_5678), None);
        let mut truncated = offer.clone();
        truncated.truncate(244);
        assert_eq!(
            parse_offer(&truncated, 0x1234_5678),
            None,
            "an option running past the end"
        );
    }

    #[test]
    fn refused_in_the_host_namespace() {
        if netlab::in_host_namespace() {
            assert!(matches!(
                probe("eth0", 1, Duration::from_millis(10)),
                Err(Error::Refused(_))
            ));
        }
    }
}
