//! The network half of the overview: uplink, IPv6, LAN and Wi-Fi, from the UCI files (what
//! is configured) and rtnetlink (what the kernel does now).

use std::net::IpAddr;

use app::status::{Internet, Ipv6, Lan, Wifi, WifiNetwork};
use uci::views::{Band, Interface, Proto, WifiDevice, WifiIface, WifiMode};

use crate::kernel::addresses::Assigned;
use crate::kernel::links::Link;
use crate::kernel::routes::DefaultRoute;

/// What the kernel says now, read once per refresh.
pub struct Kernel {
    pub links: Vec<Link>,
    pub addresses: Vec<Assigned>,
    pub routes: Vec<DefaultRoute>,
    /// Seconds since boot.
    pub uptime: Option<f64>,
}

impl Kernel {
    pub fn read(uptime: Option<f64>) -> Kernel {
        Kernel {
            links: crate::kernel::links::list().unwrap_or_default(),
            addresses: crate::kernel::addresses::assigned().unwrap_or_default(),
            routes: crate::kernel::routes::defaults().unwrap_or_default(),
            uptime,
        }
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    fn addresses_of(&self, name: &str) -> impl Iterator<Item = &Assigned> {
        let index = self.link(name).map(|l| l.index);
        self.addresses
            .iter()
            .filter(move |a| Some(a.ifindex) == index)
    }
}

/// The Linux device an interface of `network` uses: PPPoE's own device, else `device`.
pub fn device_of(network: &uci::Package, interface: &str) -> Option<String> {
    let section = Interface(network.section(interface)?);
    if section.proto() == Some(Proto::Pppoe) {
        return Some(format!("pppoe-{interface}"));
    }
    section.device()
}

fn cidr(a: &Assigned) -> String {
    format!("{}/{}", a.ip, a.prefix)
}

/// The uplink (the `wan` interface).
pub fn internet(network: &uci::Package, kernel: &Kernel, dns: Vec<String>) -> Internet {
    let Some(section) = network.section("wan") else {
        return Internet::default();
    };
    let proto = section
        .get("proto")
        .map(ToString::to_string)
        .unwrap_or_default();
    let device = device_of(network, "wan").unwrap_or_default();
    let link = kernel.link(&device);
    let v4: Vec<&Assigned> = kernel
        .addresses_of(&device)
        .filter(|a| a.ip.is_ipv4())
        .collect();
    let gateway = kernel
        .routes
        .iter()
        .find(|r| !r.v6 && link.is_some_and(|l| r.ifindex == Some(l.index)))
        .map(|r| r.gateway.map_or_else(|| device.clone(), |g| g.to_string()));
    let connected_seconds = match (kernel.uptime, v4.iter().filter_map(|a| a.created_cs).min()) {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "seconds since boot, positive and far below 2^52"
        )]
        (Some(uptime), Some(cs)) => Some((uptime - f64::from(cs) / 100.0).max(0.0) as u64),
        _ => None,
    };
    Internet {
        up: link.is_some_and(|l| l.running) && !v4.is_empty(),
        addresses: v4.iter().map(|a| cidr(a)).collect(),
        gateway,
        dns,
        connected_seconds,
        proto,
        device,
        test: None,
    }
}

/// IPv6 on the uplink and the LAN, and the LAN's addresses.
pub fn ipv6_and_lan(network: &uci::Package, kernel: &Kernel) -> (Ipv6, Lan) {
    let wan = device_of(network, "wan").unwrap_or_default();
    let lan_device = device_of(network, "lan").unwrap_or_default();
    let wan_index = kernel.link(&wan).map(|l| l.index);
    let wan_v6: Vec<String> = kernel
        .addresses_of(&wan)
        .filter(|a| a.ip.is_ipv6() && a.global)
        .map(cidr)
        .collect();
    let gateway = kernel
        .routes
        .iter()
        .find(|r| r.v6 && (r.ifindex == wan_index || wan_index.is_none()))
        .and_then(|r| r.gateway.map(|g| g.to_string()));
    let lan_addresses: Vec<&Assigned> = kernel
        .addresses_of(&lan_device)
        .filter(|a| a.global || a.ip.is_ipv4())
        .collect();
    let lan_v6 = lan_addresses.iter().any(|a| a.ip.is_ipv6());
    let state = match (!wan_v6.is_empty() && gateway.is_some(), lan_v6) {
        (true, _) => "connected",
        (false, true) => "local",
        (false, false) => "off",
    };
    let mut shown: Vec<&Assigned> = lan_addresses;
    shown.sort_by_key(|a| matches!(a.ip, IpAddr::V6(_)));
    (
        Ipv6 {
            state: state.into(),
            wan_addresses: wan_v6,
            gateway,
        },
        Lan {
            device: lan_device,
            addresses: shown.into_iter().map(cidr).collect(),
        },
    )
}

/// The access points of `wireless`, with their clients where the platform counts them.
pub fn wifi<S: std::hash::BuildHasher>(
    wireless: &uci::Package,
    clients: Option<&std::collections::HashMap<String, u32, S>>,
) -> Wifi {
    let networks = wireless
        .sections_of("wifi-iface")
        .map(WifiIface)
        .filter(|i| i.mode().is_none_or(|m| m == WifiMode::Ap))
        .map(|iface| {
            let radio = iface
                .device()
                .and_then(|d| wireless.section(&d))
                .map(WifiDevice);
            let band = radio
                .as_ref()
                .and_then(WifiDevice::band)
                .filter(|b| !matches!(b, Band::Other(_)))
                .map(|b| b.to_string())
                .unwrap_or_default();
            let enabled = iface.disabled() != Some(true)
                && radio.as_ref().and_then(WifiDevice::disabled) != Some(true);
            WifiNetwork {
                ssid: iface.ssid().unwrap_or_default(),
                band,
                enabled,
                clients: clients.map(|c| c.get(iface.name()).copied().unwrap_or(0)),
            }
        })
        .collect();
    Wifi {
        clients_known: clients.is_some(),
        networks,
    }
}

/// The DNS servers of a resolv.conf (loopback ones are the router's own resolver, not the
/// uplink's, and left out).
pub fn dns_servers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .filter(|a| !a.is_loopback())
        .map(|a| a.to_string())
        .take(8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_networks_read_band_state_and_clients() {
        let wireless = uci::parse(
            "wireless",
            b"config wifi-device 'radio0'\n\toption band '2g'\n\
              config wifi-device 'radio1'\n\toption band '5g'\n\toption disabled '1'\n\
              config wifi-iface 'default_radio0'\n\toption device 'radio0'\n\toption mode 'ap'\n\toption ssid 'Home'\n\
              config wifi-iface 'default_radio1'\n\toption device 'radio1'\n\toption mode 'ap'\n\toption ssid 'Home'\n\
              config wifi-iface 'mesh0'\n\toption device 'radio0'\n\toption mode 'mesh'\n\toption mesh_id 'm'\n",
        )
        .unwrap();
        let none = wifi::<std::hash::RandomState>(&wireless, None);
        assert!(!none.clients_known);
        assert_eq!(
            none.networks.len(),
            2,
            "the mesh interface is no network people join"
        );
        assert_eq!(
            (none.networks[0].band.as_str(), none.networks[0].enabled),
            ("2g", true)
        );
        assert!(!none.networks[1].enabled, "its radio is off");
        let counts = std::collections::HashMap::from([("default_radio0".to_owned(), 3)]);
        let some = wifi(&wireless, Some(&counts));
        assert_eq!(some.networks[0].clients, Some(3));
        assert_eq!(some.networks[1].clients, Some(0));
    }

    #[test]
    fn dns_servers_skip_loopback_and_garbage() {
        let text = "# generated\nnameserver 100.64.0.1\nnameserver 127.0.0.1\nnameserver ::1\nnameserver fd00::53\nnameserver bogus\nsearch lan\n";
        assert_eq!(dns_servers(text), ["100.64.0.1", "fd00::53"]);
    }
}
