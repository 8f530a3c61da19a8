//! A port's listening socket: a packet socket bound to the port that receives, through a
//! classic BPF filter, only what can be evidence (broadcast and multicast frames, and PPPoE
//! discovery answers) and never this router's own outgoing frames, so bulk traffic through the
//! port is never copied to Portico. VLAN tags the kernel took off arrive beside each frame as
//! `PACKET_AUXDATA`.

use std::os::fd::{AsRawFd as _, OwnedFd};
use std::time::Duration;

use nix::libc;
use nix::sys::socket::{ControlMessageOwned, LinkAddr, MsgFlags, recvmsg, setsockopt};

use super::frames::Vlan;

use nix::{setsockopt_impl, sockopt_impl};

sockopt_impl!(
    /// `PACKET_AUXDATA`: VLAN tags (and more) beside every received frame.
    PacketAuxdata,
    SetOnly,
    libc::SOL_PACKET,
    libc::PACKET_AUXDATA,
    bool
);

/// `tp_status` bits of `struct tpacket_auxdata`.
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// `PACKET_OUTGOING`: a frame this host sent.
const OUTGOING: u8 = 4;

/// Keeps broadcast/multicast frames and PPPoE discovery (PADOs are unicast), drops frames this
/// host sends, and cuts each to 2 KiB.
fn filter() -> [socket2::SockFilter; 8] {
    use socket2::SockFilter as F;
    const SKF_AD_PKTTYPE: u32 = 0xffff_f000 + 4;
    [
        F::new(0x20, 0, 0, SKF_AD_PKTTYPE),      // ld pkttype
        F::new(0x15, 4, 0, u32::from(OUTGOING)), // jeq outgoing → drop
        F::new(0x30, 0, 0, 0),                   // ldb [0] (first byte of the destination)
        F::new(0x45, 3, 0, 1),                   // jset group bit → keep
        F::new(0x28, 0, 0, 12),                  // ldh [12] (ethertype)
        F::new(0x15, 1, 0, u32::from(crate::wizard::detect::ETH_P_PPP_DISC)), // → keep
        F::new(0x06, 0, 0, 0),                   // drop
        F::new(0x06, 0, 0, 2048),                // keep (2 KiB)
    ]
}

/// The listening socket of `device`.
///
/// # Errors
/// When the device is gone or the socket cannot be set up.
pub fn open(device: &str) -> std::io::Result<OwnedFd> {
    let fd = crate::wizard::detect::packet_socket(device, Duration::from_millis(250))?;
    let socket = socket2::SockRef::from(&fd);
    socket.attach_filter(&filter())?;
    setsockopt(&fd, PacketAuxdata, &true)?;
    Ok(fd)
}

/// One received frame's length and VLAN tag, `None` after the receive timeout.
///
/// # Errors
/// When the socket fails (the device was removed).
pub fn receive(fd: &OwnedFd, buffer: &mut [u8]) -> std::io::Result<Option<(usize, Option<Vlan>)>> {
    let mut space = nix::cmsg_space!([u8; 32]);
    let mut iov = [std::io::IoSliceMut::new(buffer)];
    let message = match recvmsg::<LinkAddr>(
        fd.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    ) {
        Ok(message) => message,
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if message.address.is_some_and(|a| a.pkttype() == OUTGOING) {
        return Ok(None);
    }
    let mut vlan = None;
    for cmsg in message.cmsgs()? {
        if let ControlMessageOwned::Unknown(unknown) = cmsg
            && unknown.cmsg_header.cmsg_level == libc::SOL_PACKET
            && unknown.cmsg_header.cmsg_type == libc::PACKET_AUXDATA
        {
            vlan = auxdata_vlan(&unknown.data_bytes);
        }
    }
    Ok(Some((message.bytes, vlan)))
}

/// The VLAN tag in a `struct tpacket_auxdata` (status, len, snaplen: u32; mac, net, vlan_tci,
/// vlan_tpid: u16; host byte order).
fn auxdata_vlan(data: &[u8]) -> Option<Vlan> {
    let u32_at = |at: usize| Some(u32::from_ne_bytes(data.get(at..at + 4)?.try_into().ok()?));
    let u16_at = |at: usize| Some(u16::from_ne_bytes(data.get(at..at + 2)?.try_into().ok()?));
    let status = u32_at(0)?;
    if status & TP_STATUS_VLAN_VALID == 0 {
        return None;
    }
    let tpid = if status & TP_STATUS_VLAN_TPID_VALID == 0 {
        0x8100
    } else {
        u16_at(18)?
    };
    Some(Vlan {
        tpid,
        vid: u16_at(16)? & 0x0fff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auxdata_gives_the_stripped_tag() {
        let mut data = Vec::new();
        data.extend_from_slice(&(TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID).to_ne_bytes());
        data.extend_from_slice(&[0; 8]);
        data.extend_from_slice(&[0; 4]);
        data.extend_from_slice(&0x203cu16.to_ne_bytes());
        data.extend_from_slice(&0x88a8u16.to_ne_bytes());
        assert_eq!(
            auxdata_vlan(&data),
            Some(Vlan {
                tpid: 0x88a8,
                vid: 60
            })
        );
        assert_eq!(auxdata_vlan(&data[..10]), None);
        data[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(auxdata_vlan(&data), None, "no tag");
    }
}
