//! WAN detection for the wizard's "Detect" action: link state, then a DHCPDISCOVER and a PPPoE
//! PADI on the WAN port (three tries each, one second apart) — what answers pre-selects the
//! internet type. When an access concentrator answers, PPPoE wins: a line that offers both
//! expects PPPoE from a router (the DHCP server is then usually the modem's own).
//!
//! The PADI goes out from a packet socket bound to the WAN device; the PADO (RFC 2516) names
//! the access concentrator.
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
    /// A PPPoE access concentrator answered the discovery (PADO).
    Pppoe { concentrator: String },
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

/// PPPoE discovery's ethertype.
pub const ETH_P_PPP_DISC: u16 = 0x8863;
const PADI: u8 = 0x09;
const PADO: u8 = 0x07;
const TAG_SERVICE_NAME: u16 = 0x0101;
const TAG_AC_NAME: u16 = 0x0102;
const TAG_HOST_UNIQ: u16 = 0x0103;

fn pppoe_frame(dst: [u8; 6], src: [u8; 6], code: u8, tags: &[(u16, &[u8])]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(64);
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&ETH_P_PPP_DISC.to_be_bytes());
    frame.extend_from_slice(&[0x11, code, 0, 0]);
    let payload: Vec<u8> = tags
        .iter()
        .flat_map(|(tag, value)| {
            let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
            [tag.to_be_bytes().as_slice(), &len.to_be_bytes(), value].concat()
        })
        .collect();
    let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// A PADI (PPPoE Active Discovery Initiation) broadcast from `mac`, any service, tagged with
/// `host_uniq` so the answer can be matched.
pub fn padi(mac: [u8; 6], host_uniq: [u8; 4]) -> Vec<u8> {
    pppoe_frame(
        [0xff; 6],
        mac,
        PADI,
        &[(TAG_SERVICE_NAME, &[]), (TAG_HOST_UNIQ, &host_uniq)],
    )
}

/// A PPPoE discovery tag: type and value.
type Tag<'a> = (u16, &'a [u8]);

/// The tags of a PPPoE discovery frame with `code`: `(source MAC, tags)`.
fn discovery_tags(frame: &[u8], code: u8) -> Option<([u8; 6], Vec<Tag<'_>>)> {
    if frame.len() < 20
        || frame[12..14] != ETH_P_PPP_DISC.to_be_bytes()
        || frame[14] != 0x11
        || frame[15] != code
    {
        return None;
    }
    let source: [u8; 6] = frame[6..12].try_into().ok()?;
    let len = usize::from(u16::from_be_bytes([frame[18], frame[19]]));
    let mut payload = frame.get(20..20 + len)?;
    let mut tags = Vec::new();
    while payload.len() >= 4 {
        let tag = u16::from_be_bytes([payload[0], payload[1]]);
        let n = usize::from(u16::from_be_bytes([payload[2], payload[3]]));
        tags.push((tag, payload.get(4..4 + n)?));
        payload = &payload[4 + n..];
    }
    Some((source, tags))
}

/// The access concentrator's name if `frame` is a PADO answering `host_uniq`.
pub fn parse_pado(frame: &[u8], host_uniq: [u8; 4]) -> Option<String> {
    let (_, tags) = discovery_tags(frame, PADO)?;
    let ours = tags
        .iter()
        .any(|(t, v)| *t == TAG_HOST_UNIQ && *v == host_uniq);
    ours.then(|| pado_name(frame)).flatten()
}

/// The access concentrator's name if `frame` is a PADO (whoever it answers).
pub fn pado_name(frame: &[u8]) -> Option<String> {
    let (_, tags) = discovery_tags(frame, PADO)?;
    let name = tags.iter().find(|(t, _)| *t == TAG_AC_NAME)?.1;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// A packet socket bound to `device` (receiving every protocol; callers filter).
pub(crate) fn packet_socket(
    device: &str,
    timeout: Duration,
) -> std::io::Result<std::os::fd::OwnedFd> {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockProtocol, SockType, SockaddrLike as _, bind, setsockopt,
        socket, sockopt,
    };
    use std::os::fd::AsRawFd as _;
    let link = nix::ifaddrs::getifaddrs()?
        .filter(|a| a.interface_name == device)
        .find_map(|a| a.address.and_then(|s| s.as_link_addr().copied()))
        .ok_or_else(|| std::io::Error::other("no such device"))?;
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::EthAll,
    )?;
    debug_assert!(link.family().is_some());
    bind(fd.as_raw_fd(), &link)?;
    let tv = nix::sys::time::TimeVal::new(
        i64::try_from(timeout.as_secs()).unwrap_or(1),
        i64::from(timeout.subsec_micros()),
    );
    setsockopt(&fd, sockopt::ReceiveTimeout, &tv)?;
    Ok(fd)
}

/// One frame from a packet socket, or `None` after its receive timeout.
fn receive(fd: &std::os::fd::OwnedFd, buffer: &mut [u8]) -> std::io::Result<Option<usize>> {
    use std::os::fd::AsRawFd as _;
    match nix::sys::socket::recv(fd.as_raw_fd(), buffer, nix::sys::socket::MsgFlags::empty()) {
        Ok(n) => Ok(Some(n)),
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn send(fd: &std::os::fd::OwnedFd, frame: &[u8]) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    nix::sys::socket::send(fd.as_raw_fd(), frame, nix::sys::socket::MsgFlags::empty())?;
    Ok(())
}

/// Up to `tries` PADIs `interval` apart: the first access concentrator's name.
fn probe_pppoe(
    device: &str,
    mac: [u8; 6],
    tries: u32,
    interval: Duration,
) -> std::io::Result<Option<String>> {
    let fd = packet_socket(device, Duration::from_millis(100))?;
    let host_uniq: [u8; 4] = rand::random();
    let mut buffer = [0u8; 1600];
    for _ in 0..tries {
        send(&fd, &padi(mac, host_uniq))?;
        let until = Instant::now() + interval;
        while Instant::now() < until {
            if let Some(n) = receive(&fd, &mut buffer)?
                && let Some(name) = parse_pado(&buffer[..n], host_uniq)
            {
                return Ok(Some(name));
            }
        }
    }
    Ok(None)
}

/// A PPPoE access concentrator that only answers discovery: every PADI on `device` gets a PADO
/// naming `ac_name` (for the lab; the sandbox kernel has no PPP for a real `pppoe-server`).
///
/// # Errors
/// When the device has no packet socket.
pub fn answer_padis(device: &str, ac_name: &str) -> std::io::Result<()> {
    netlab::refuse_host_namespace("a PPPoE responder").map_err(std::io::Error::other)?;
    let mac = mac_of(device).ok_or_else(|| std::io::Error::other("no hardware address"))?;
    let fd = packet_socket(device, Duration::from_secs(1))?;
    let mut buffer = [0u8; 1600];
    loop {
        // A cable unplugged (or never plugged in) is waited out, as a real concentrator does.
        let n = match receive(&fd, &mut buffer) {
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(err) if err.raw_os_error() == Some(nix::libc::ENETDOWN) => {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            Err(err) => return Err(err),
        };
        let Some((client, tags)) = discovery_tags(&buffer[..n], PADI) else {
            continue;
        };
        let mut answer: Vec<(u16, &[u8])> =
            vec![(TAG_AC_NAME, ac_name.as_bytes()), (TAG_SERVICE_NAME, &[])];
        answer.extend(tags.into_iter().filter(|(t, _)| *t == TAG_HOST_UNIQ));
        if let Err(err) = send(&fd, &pppoe_frame(client, mac, PADO, &answer)) {
            tracing::debug!(%err, "PADO not sent");
        }
    }
}

pub(crate) fn mac_of(device: &str) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{device}/address")).ok()?;
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    bytes.try_into().ok()
}

pub(crate) fn has_link(device: &str) -> bool {
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
    let pppoe = {
        let device = device.to_owned();
        std::thread::spawn(move || probe_pppoe(&device, mac, tries, interval))
    };
    let dhcp = probe_dhcp(device, mac, tries, interval);
    match pppoe.join() {
        Ok(Ok(Some(concentrator))) => return Ok(Detected::Pppoe { concentrator }),
        Ok(Err(e)) => return Err(io(e)),
        Ok(Ok(None)) | Err(_) => {}
    }
    dhcp
}

fn probe_dhcp(
    device: &str,
    mac: [u8; 6],
    tries: u32,
    interval: Duration,
) -> Result<Detected, Error> {
    let io = |source| Error::Io {
        device: device.to_owned(),
        source,
    };
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
    fn padi_and_pado() {
        let mac = [2, 0, 0, 0, 0, 1];
        let frame = padi(mac, [1, 2, 3, 4]);
        assert_eq!(&frame[..6], &[0xff; 6]);
        assert_eq!(&frame[12..16], &[0x88, 0x63, 0x11, PADI]);
        let (source, tags) = discovery_tags(&frame, PADI).unwrap();
        assert_eq!(source, mac);
        assert_eq!(
            tags,
            [
                (TAG_SERVICE_NAME, &[][..]),
                (TAG_HOST_UNIQ, &[1, 2, 3, 4][..])
            ]
        );
        let pado = pppoe_frame(
            mac,
            [2, 0, 0, 0, 0, 2],
            PADO,
            &[(TAG_AC_NAME, b"isp-bras-1"), (TAG_HOST_UNIQ, &[1, 2, 3, 4])],
        );
        assert_eq!(
            parse_pado(&pado, [1, 2, 3, 4]).as_deref(),
            Some("isp-bras-1")
        );
        assert_eq!(
            parse_pado(&pado, [9, 9, 9, 9]),
            None,
            "someone else's answer"
        );
        for cut in 0..pado.len() {
            let _ = parse_pado(&pado[..cut], [1, 2, 3, 4]);
        }
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
