//! Which community a mesh neighbour belongs to. LibreMesh derives a community's network id
//! from its shared SSID (`lime-community` `wifi.ap_ssid`): the MD5 of the SSID with a newline
//! (`echo "$ssid" | md5sum`). Its first byte N1 picks the 802.1ad VLAN batman-adv runs on,
//! `29 + (N1 − 13) mod 256`; its first two bytes are the middle of the anycast gateway MAC
//! `aa:aa:aa:N1:N2:aa`. Two nodes with the same SSID meet on the same VLAN; a neighbour on
//! another VLAN, or with another anygw MAC, belongs to another community.

use md5::{Digest as _, Md5};

/// The markers of one community on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Community {
    /// The 802.1ad VLAN id batman-adv runs on.
    pub batman_vid: u16,
    /// The anygw MAC's bytes 4 and 5.
    pub anygw: [u8; 2],
}

/// The VLAN babel runs on between LibreMesh nodes (any community).
pub const BABEL_VID: u16 = 17;

impl Community {
    /// The community whose nodes share the SSID `ssid`.
    pub fn of_ssid(ssid: &str) -> Community {
        let id = Md5::new()
            .chain_update(ssid.as_bytes())
            .chain_update(b"\n")
            .finalize();
        let n1 = i32::from(id[0]);
        let vid = 29 + (n1 - 13).rem_euclid(256);
        Community {
            batman_vid: u16::try_from(vid).unwrap_or(29),
            anygw: [id[0], id[1]],
        }
    }

    /// The community this router belongs to: LibreMesh's `ap_ssid` (`lime-node` over
    /// `lime-community`), else the SSID of the router's first access point.
    pub fn of_router(platform: &dyn crate::platform::Platform) -> Option<Community> {
        let lime = ["lime-node", "lime-community", "lime-defaults"]
            .into_iter()
            .filter_map(|name| platform.package(name).ok())
            .find_map(|package| Some(package.section("wifi")?.get("ap_ssid")?.to_string()));
        let ssid = lime.or_else(|| {
            let wireless = platform.package("wireless").ok()?;
            wireless
                .sections_of("wifi-iface")
                .filter(|s| s.get("mode").is_some_and(|m| m == "ap"))
                .find_map(|s| Some(s.get("ssid")?.to_string()))
        })?;
        Some(Community::of_ssid(&ssid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_id_matches_libremesh() {
        // `echo LibreMesh.org | md5sum` = 0dfe468c…: N1 = 13, N2 = 0xfe.
        assert_eq!(
            Community::of_ssid("LibreMesh.org"),
            Community {
                batman_vid: 29,
                anygw: [0x0d, 0xfe]
            }
        );
        // a1fbef77…: N1 = 161 → 29 + 148.
        assert_eq!(
            Community::of_ssid("quintana.libre.org.ar"),
            Community {
                batman_vid: 177,
                anygw: [0xa1, 0xfb]
            }
        );
    }
}
