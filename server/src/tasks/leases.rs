//! Static DHCP leases: dhcp `host` sections (a device's MAC always gets the same address and
//! name), as OpenWrt's dnsmasq init script reads them. Checked against the LAN and the other
//! static leases before they become edits.

use std::net::Ipv4Addr;

use uci::Package;

use crate::section::{is_host_name, parse_mac};

/// One static lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticLease {
    pub section: Option<String>,
    pub index: usize,
    pub name: String,
    /// Lower case with colons.
    pub mac: String,
    pub ip: Ipv4Addr,
}

impl StaticLease {
    pub fn path(&self) -> String {
        match &self.section {
            Some(name) => format!("dhcp.{name}"),
            None => format!("dhcp.@host[{}]", self.index),
        }
    }
}

/// The static leases of `dhcp` (hosts with one MAC and an address).
pub fn list(dhcp: &Package) -> Vec<StaticLease> {
    dhcp.sections_of("host")
        .enumerate()
        .filter_map(|(index, section)| {
            let text = |o: &str| section.get(o).map(ToString::to_string);
            Some(StaticLease {
                section: (!section.anonymous).then(|| section.name.clone()),
                index,
                name: text("name").unwrap_or_default(),
                mac: parse_mac(&text("mac")?)?,
                ip: text("ip")?.trim().parse().ok()?,
            })
        })
        .collect()
}

/// What the form asked for, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Typed {
    pub name: String,
    pub mac: String,
    pub ip: String,
}

/// A new static lease from the form, or every refusal (`leases-error-<reason>` per field).
///
/// # Errors
/// The fields that are not valid, and why.
pub fn check(
    typed: &Typed,
    leases: &[StaticLease],
    lan: (Ipv4Addr, u32),
) -> Result<StaticLease, Vec<(&'static str, &'static str)>> {
    let mut refused = Vec::new();
    let name = typed.name.trim();
    if !is_host_name(name) {
        refused.push(("name", "name"));
    }
    let mac = parse_mac(&typed.mac);
    match &mac {
        None => refused.push(("mac", "mac")),
        Some(mac) if leases.iter().any(|l| &l.mac == mac) => refused.push(("mac", "mac-taken")),
        Some(_) => {}
    }
    let ip = typed.ip.trim().parse::<Ipv4Addr>().ok();
    let (router, len) = lan;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    match ip {
        None => refused.push(("ip", "ip")),
        Some(ip) if u32::from(ip) & mask != u32::from(router) & mask => {
            refused.push(("ip", "not-lan"));
        }
        Some(ip)
            if ip == router || u32::from(ip) & !mask == 0 || u32::from(ip) | mask == u32::MAX =>
        {
            refused.push(("ip", "not-device"));
        }
        Some(ip) if leases.iter().any(|l| l.ip == ip) => refused.push(("ip", "ip-taken")),
        Some(_) => {}
    }
    match (refused.is_empty(), mac, ip) {
        (true, Some(mac), Some(ip)) => Ok(StaticLease {
            section: None,
            index: leases.len(),
            name: name.to_owned(),
            mac,
            ip,
        }),
        _ => Err(refused),
    }
}

/// The edits that add `lease` to `dhcp` (a section `host_<name>`, unique).
pub fn add(lease: &StaticLease, dhcp: &Package) -> Vec<uci::Edit> {
    let base = format!("host_{}", lease.name.to_ascii_lowercase().replace('-', "_"));
    let name = super::unique_name(&base, dhcp);
    let path = format!("dhcp.{name}");
    let set = |option: &str, value: &str| uci::Edit::Set {
        path: format!("{path}.{option}"),
        value: value.as_bytes().to_vec(),
    };
    vec![
        uci::Edit::Set {
            path: path.clone(),
            value: b"host".to_vec(),
        },
        set("name", &lease.name),
        set("mac", &lease.mac),
        set("ip", &lease.ip.to_string()),
    ]
}

/// The edits that remove `lease`.
pub fn remove(lease: &StaticLease) -> Vec<uci::Edit> {
    vec![uci::Edit::Delete { path: lease.path() }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_leases_are_read_checked_and_written() {
        let dhcp = uci::parse(
            "dhcp",
            b"config host 'host_nas'\n\toption name 'nas'\n\toption mac '00:D0:EF:00:00:01'\n\toption ip '192.168.1.10'\n\
              config host\n\toption name 'broken'\n\toption mac 'zz'\n\toption ip '192.168.1.11'\n",
        )
        .unwrap();
        let leases = list(&dhcp);
        assert_eq!(leases.len(), 1);
        assert_eq!(
            (leases[0].mac.as_str(), leases[0].path()),
            ("00:d0:ef:00:00:01", "dhcp.host_nas".to_owned())
        );
        let lan = (Ipv4Addr::new(192, 168, 1, 1), 24);
        let typed = |name: &str, mac: &str, ip: &str| Typed {
            name: name.into(),
            mac: mac.into(),
            ip: ip.into(),
        };
        let ok = check(
            &typed("printer", "00-d0-ef-00-00-02", "192.168.1.20"),
            &leases,
            lan,
        )
        .unwrap();
        assert_eq!(ok.mac, "00:d0:ef:00:00:02");
        let refused = |t: Typed| check(&t, &leases, lan).unwrap_err();
        assert_eq!(
            refused(typed("nas2", "00:d0:ef:00:00:01", "192.168.1.21")),
            [("mac", "mac-taken")]
        );
        assert_eq!(
            refused(typed("nas2", "00:d0:ef:00:00:03", "192.168.1.10")),
            [("ip", "ip-taken")]
        );
        assert_eq!(
            refused(typed("a b", "01:00:5e:00:00:01", "10.0.0.1")),
            [("name", "name"), ("mac", "mac"), ("ip", "not-lan")]
        );
        assert_eq!(
            refused(typed("x", "00:d0:ef:00:00:03", "192.168.1.1")),
            [("ip", "not-device")]
        );
        let edits = add(&ok, &dhcp);
        assert_eq!(edits.len(), 4);
        assert_eq!(
            remove(&leases[0]),
            [uci::Edit::Delete {
                path: "dhcp.host_nas".into()
            }]
        );
    }
}
