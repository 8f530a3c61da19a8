//! Typed, lossless views of the sections Portico edits.
//!
//! A view borrows one [`Section`] and reads or writes the options it knows, with types
//! (`Ipv4Addr`, `Proto`, `Target`, ...). It changes only the option it is asked to change —
//! in place, so option order, list order, section order and every option it does not know stay
//! as they were. Setting `None` (or an empty list) removes the option, as `uci set x=''` does.
//!
//! ```text
//! let mut network = uci::parse("network", &bytes)?;
//! let mut lan = Interface(network.section_mut("lan").unwrap());
//! lan.set_ipaddr(Some("10.0.0.1".parse()?));
//! assert_eq!(lan.proto(), Some(Proto::Static));
//! ```

use std::borrow::{Borrow, BorrowMut};
use std::fmt::Display;
use std::str::FromStr;

use crate::model::{Package, Section, Value};

impl Section {
    /// Sets an option to `value`, or removes it for `None`; position kept when it exists.
    pub fn set_opt(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) if !v.is_empty() => self.set(name, v.as_bytes()),
            _ => {
                self.delete(name);
            }
        }
    }

    /// Replaces a list's items in place (appends a new list; an empty list removes it).
    pub fn set_list(&mut self, name: &str, items: &[impl AsRef<[u8]>]) {
        if items.is_empty() {
            self.delete(name);
            return;
        }
        let value = Value::List(items.iter().map(|i| i.as_ref().into()).collect());
        match self.options.iter_mut().find(|o| o.name == name) {
            Some(option) => option.value = value,
            None => self.options.push(crate::model::Opt {
                name: name.to_owned(),
                value,
            }),
        }
    }

    /// An option's items as text (one for a single value, all for a list).
    pub fn items(&self, name: &str) -> Vec<String> {
        self.option(name)
            .map(|o| o.value.items().iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    fn typed<T: FromStr>(&self, name: &str) -> Option<T> {
        self.get(name).and_then(|v| v.to_string().parse().ok())
    }

    /// A uci boolean: `1/on/true/yes/enabled` or `0/off/false/no/disabled`.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name)?.to_string().as_str() {
            "1" | "on" | "true" | "yes" | "enabled" => Some(true),
            "0" | "off" | "false" | "no" | "disabled" => Some(false),
            _ => None,
        }
    }
}

/// Getters and setters for the options a view knows.
macro_rules! options {
    ($view:ident { $( $kind:ident $get:ident / $set:ident : $ty:ty = $name:literal; )* }) => {
        impl<S: Borrow<Section>> $view<S> {
            /// The section's name.
            pub fn name(&self) -> &str {
                &self.0.borrow().name
            }
            $( options!(@get $kind $get $ty = $name); )*
        }
        impl<S: BorrowMut<Section>> $view<S> {
            $( options!(@set $kind $set $ty = $name); )*
        }
    };
    (@get text $get:ident $ty:ty = $name:literal) => {
        #[doc = concat!("`option ", $name, "`")]
        pub fn $get(&self) -> Option<String> { self.0.borrow().get($name).map(|v| v.to_string()) }
    };
    (@set text $set:ident $ty:ty = $name:literal) => {
        #[doc = concat!("Sets or (with `None`) removes `option ", $name, "`.")]
        pub fn $set(&mut self, value: Option<&str>) { self.0.borrow_mut().set_opt($name, value) }
    };
    (@get typed $get:ident $ty:ty = $name:literal) => {
        #[doc = concat!("`option ", $name, "`, if it holds a valid value.")]
        pub fn $get(&self) -> Option<$ty> { self.0.borrow().typed($name) }
    };
    (@set typed $set:ident $ty:ty = $name:literal) => {
        #[doc = concat!("Sets or (with `None`) removes `option ", $name, "`.")]
        pub fn $set(&mut self, value: Option<$ty>) {
            self.0.borrow_mut().set_opt($name, value.map(|v| display(&v)).as_deref())
        }
    };
    (@get flag $get:ident $ty:ty = $name:literal) => {
        #[doc = concat!("`option ", $name, "` as a boolean.")]
        pub fn $get(&self) -> Option<bool> { self.0.borrow().flag($name) }
    };
    (@set flag $set:ident $ty:ty = $name:literal) => {
        #[doc = concat!("Sets `option ", $name, "` to `1`/`0`, or removes it.")]
        pub fn $set(&mut self, value: Option<bool>) {
            self.0.borrow_mut().set_opt($name, value.map(|v| if v { "1" } else { "0" }))
        }
    };
    (@get list $get:ident $ty:ty = $name:literal) => {
        #[doc = concat!("`list ", $name, "` (a single `option` counts as one item).")]
        pub fn $get(&self) -> Vec<String> { self.0.borrow().items($name) }
    };
    (@set list $set:ident $ty:ty = $name:literal) => {
        #[doc = concat!("Replaces `list ", $name, "` in place; empty removes it.")]
        pub fn $set(&mut self, items: &[String]) { self.0.borrow_mut().set_list($name, items) }
    };
}

fn display(value: &impl Display) -> String {
    value.to_string()
}

/// A uci enumeration: known words, anything else kept as written.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $( $variant:ident = $word:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $( $variant, )*
            /// A value this version does not know, kept as it was written.
            Other(String),
        }
        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(match text { $( $word => $name::$variant, )* other => $name::Other(other.to_owned()) })
            }
        }
        impl Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self { $( $name::$variant => $word, )* $name::Other(other) => other })
            }
        }
    };
}

words!(
    /// `network.<interface>.proto`.
    Proto { Static = "static", Dhcp = "dhcp", Dhcpv6 = "dhcpv6", Pppoe = "pppoe", Wireguard = "wireguard", None = "none" }
);
words!(
    /// Firewall zone policies and rule targets.
    Target { Accept = "ACCEPT", Reject = "REJECT", Drop = "DROP", Dnat = "DNAT", Snat = "SNAT" }
);
words!(
    /// `wireless.<iface>.encryption`.
    Encryption { None = "none", Owe = "owe", Psk2 = "psk2", PskMixed = "psk-mixed", Sae = "sae", SaeMixed = "sae-mixed" }
);
words!(
    /// `wireless.<iface>.mode`.
    WifiMode { Ap = "ap", Sta = "sta", Mesh = "mesh", Adhoc = "adhoc", Monitor = "monitor" }
);
words!(
    /// `wireless.<device>.band`.
    Band { G2 = "2g", G5 = "5g", G6 = "6g", G60 = "60g" }
);

/// `config system` (system).
pub struct System<S>(pub S);
options!(System {
    text hostname / set_hostname: String = "hostname";
    text timezone / set_timezone: String = "timezone";
    text zonename / set_zonename: String = "zonename";
});

/// `config timeserver 'ntp'` (system).
pub struct Ntp<S>(pub S);
options!(Ntp {
    flag enabled / set_enabled: bool = "enabled";
    flag enable_server / set_enable_server: bool = "enable_server";
    list servers / set_servers: Vec<String> = "server";
});

/// `config interface` (network).
pub struct Interface<S>(pub S);
options!(Interface {
    typed proto / set_proto: Proto = "proto";
    text device / set_device: String = "device";
    typed ipaddr / set_ipaddr: std::net::Ipv4Addr = "ipaddr";
    typed netmask / set_netmask: std::net::Ipv4Addr = "netmask";
    typed gateway / set_gateway: std::net::Ipv4Addr = "gateway";
    list dns / set_dns: Vec<String> = "dns";
    text username / set_username: String = "username";
    text password / set_password: String = "password";
    text service / set_service: String = "service";
    typed mtu / set_mtu: u16 = "mtu";
    text private_key / set_private_key: String = "private_key";
    typed listen_port / set_listen_port: u16 = "listen_port";
    list addresses / set_addresses: Vec<String> = "addresses";
});

/// `config device` (network): bridges and their ports.
pub struct Device<S>(pub S);
options!(Device {
    text device_name / set_device_name: String = "name";
    text kind / set_kind: String = "type";
    list ports / set_ports: Vec<String> = "ports";
});

/// `config wifi-device` (wireless).
pub struct WifiDevice<S>(pub S);
options!(WifiDevice {
    text kind / set_kind: String = "type";
    typed band / set_band: Band = "band";
    text channel / set_channel: String = "channel";
    text htmode / set_htmode: String = "htmode";
    text country / set_country: String = "country";
    flag disabled / set_disabled: bool = "disabled";
});

/// `config wifi-iface` (wireless).
pub struct WifiIface<S>(pub S);
options!(WifiIface {
    text device / set_device: String = "device";
    text network / set_network: String = "network";
    typed mode / set_mode: WifiMode = "mode";
    text ssid / set_ssid: String = "ssid";
    text key / set_key: String = "key";
    typed encryption / set_encryption: Encryption = "encryption";
    text ieee80211w / set_ieee80211w: String = "ieee80211w";
    text mesh_id / set_mesh_id: String = "mesh_id";
    flag mesh_fwding / set_mesh_fwding: bool = "mesh_fwding";
    flag disabled / set_disabled: bool = "disabled";
});

/// `config dhcp` (dhcp): a DHCP pool per interface.
pub struct DhcpPool<S>(pub S);
options!(DhcpPool {
    text interface / set_interface: String = "interface";
    typed start / set_start: u32 = "start";
    typed limit / set_limit: u32 = "limit";
    text leasetime / set_leasetime: String = "leasetime";
    flag ignore / set_ignore: bool = "ignore";
    list dhcp_options / set_dhcp_options: Vec<String> = "dhcp_option";
});

/// `config zone` (firewall).
pub struct Zone<S>(pub S);
options!(Zone {
    text zone_name / set_zone_name: String = "name";
    list networks / set_networks: Vec<String> = "network";
    typed input / set_input: Target = "input";
    typed output / set_output: Target = "output";
    typed forward / set_forward: Target = "forward";
    flag masq / set_masq: bool = "masq";
    flag mtu_fix / set_mtu_fix: bool = "mtu_fix";
});

/// `config forwarding` (firewall).
pub struct Forwarding<S>(pub S);
options!(Forwarding {
    text src / set_src: String = "src";
    text dest / set_dest: String = "dest";
});

/// `config rule` (firewall).
pub struct Rule<S>(pub S);
options!(Rule {
    text rule_name / set_rule_name: String = "name";
    text src / set_src: String = "src";
    text dest / set_dest: String = "dest";
    list proto / set_proto: Vec<String> = "proto";
    text dest_port / set_dest_port: String = "dest_port";
    text family / set_family: String = "family";
    typed target / set_target: Target = "target";
    flag enabled / set_enabled: bool = "enabled";
});

/// `config redirect` (firewall): port forwards.
pub struct Redirect<S>(pub S);
options!(Redirect {
    text redirect_name / set_redirect_name: String = "name";
    text src / set_src: String = "src";
    text src_dport / set_src_dport: String = "src_dport";
    text dest / set_dest: String = "dest";
    typed dest_ip / set_dest_ip: std::net::Ipv4Addr = "dest_ip";
    text dest_port / set_dest_port: String = "dest_port";
    list proto / set_proto: Vec<String> = "proto";
    typed target / set_target: Target = "target";
});

/// `config wireguard_<interface>` (network): a WireGuard peer.
pub struct WireguardPeer<S>(pub S);
options!(WireguardPeer {
    text public_key / set_public_key: String = "public_key";
    text preshared_key / set_preshared_key: String = "preshared_key";
    list allowed_ips / set_allowed_ips: Vec<String> = "allowed_ips";
    flag route_allowed_ips / set_route_allowed_ips: bool = "route_allowed_ips";
    text endpoint_host / set_endpoint_host: String = "endpoint_host";
    typed endpoint_port / set_endpoint_port: u16 = "endpoint_port";
    typed persistent_keepalive / set_persistent_keepalive: u32 = "persistent_keepalive";
});

/// `config portico 'main'` (portico).
pub struct PorticoMain<S>(pub S);
options!(PorticoMain {
    text listen / set_listen: String = "listen";
    text portal_listen / set_portal_listen: String = "portal_listen";
    text lan_device / set_lan_device: String = "lan_device";
    typed session_idle_minutes / set_session_idle_minutes: u64 = "session_idle_minutes";
    typed apply_timeout / set_apply_timeout: u64 = "apply_timeout";
});

impl Package {
    /// The first section of `kind` whose option `key` is `value` (a zone by its `name`, a DHCP
    /// pool by its `interface`, ...).
    pub fn find_by(&self, kind: &str, key: &str, value: &str) -> Option<usize> {
        self.sections
            .iter()
            .position(|s| s.kind == kind && s.get(key).is_some_and(|v| v == value))
    }

    /// The WireGuard peers of `interface` (sections of type `wireguard_<interface>`).
    pub fn wireguard_peers<'a>(
        &'a self,
        interface: &str,
    ) -> impl Iterator<Item = WireguardPeer<&'a Section>> + 'a {
        let kind = format!("wireguard_{interface}");
        self.sections
            .iter()
            .filter(move |s| s.kind == kind)
            .map(WireguardPeer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    #[test]
    fn views_read_types_and_write_in_place() {
        let mut network = parse(
            "network",
            b"config interface 'lan'\n\toption device br-lan\n\toption proto static\n\toption ipaddr 192.168.1.1\n\toption custom keep\n\tlist dns 1.1.1.1\n\toption netmask 255.255.255.0\n",
        )
        .unwrap();
        let mut lan = Interface(network.section_mut("lan").unwrap());
        assert_eq!(lan.proto(), Some(Proto::Static));
        lan.set_ipaddr(Some("10.0.0.1".parse().unwrap()));
        lan.set_dns(&["9.9.9.9".into(), "149.112.112.112".into()]);
        lan.set_gateway(None);
        lan.set_mtu(Some(1400));
        let names: Vec<&str> = network.sections[0]
            .options
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "device", "proto", "ipaddr", "custom", "dns", "netmask", "mtu"
            ]
        );
        assert_eq!(crate::emit::to_file(&network), b"\nconfig interface 'lan'\n\toption device 'br-lan'\n\toption proto 'static'\n\toption ipaddr '10.0.0.1'\n\toption custom 'keep'\n\tlist dns '9.9.9.9'\n\tlist dns '149.112.112.112'\n\toption netmask '255.255.255.0'\n\toption mtu '1400'\n\n");
        let unknown = parse(
            "network",
            b"config interface 'x'\n\toption proto batadv_hardif\n",
        )
        .unwrap();
        assert_eq!(
            Interface(&unknown.sections[0]).proto(),
            Some(Proto::Other("batadv_hardif".into()))
        );
    }
}
