//! Reading one section of `/etc/config/portico` into a capability's typed settings: each
//! option's values, the warnings for what was not used (with where, as `uci` names it), and
//! the value rules several capabilities share (switches, interface names, networks, MAC
//! addresses, host names). Each
//! capability owns its section type and its key list; `config` loads the file once.

use std::net::IpAddr;

use ipnet::IpNet;

/// A setting in `/etc/config/portico` that Portico did not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Where, as `uci` addresses it: `portico.main.colour`.
    pub at: String,
    pub message: String,
}

/// One option of a section being read.
pub struct Opt<'a> {
    /// The option's name.
    pub name: &'a str,
    /// Its values: one for `option`, each item for `list`.
    pub values: Vec<String>,
    at: String,
    warnings: &'a mut Vec<Warning>,
}

impl Opt<'_> {
    /// The (first) value; empty for an empty list.
    pub fn value(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }

    /// The value is not usable: `what` it should have been; the default stays.
    pub fn bad(&mut self, what: &str) {
        self.warnings.push(Warning {
            at: self.at.clone(),
            message: format!("{what}; the default is used"),
        });
    }

    /// One item of a list is not usable and is left out.
    pub fn bad_item(&mut self, item: &str, what: &str) {
        self.warnings.push(Warning {
            at: self.at.clone(),
            message: format!("{item:?} is not {what}; left out"),
        });
    }

    /// The option is not one of `known`.
    pub fn unknown(&mut self, known: &[&str]) {
        self.warnings.push(Warning {
            at: self.at.clone(),
            message: format!("unknown key ignored (known: {})", known.join(", ")),
        });
    }

    /// The value as a UCI boolean; a warning when it is none.
    pub fn switch(&mut self) -> Option<bool> {
        let on = parse_switch(self.value());
        if on.is_none() {
            self.bad("not 0 or 1");
        }
        on
    }

    /// The value as a number in `range`; a warning (saying the range) when it is not.
    pub fn number<T>(&mut self, range: std::ops::RangeInclusive<T>) -> Option<T>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display,
    {
        let n = self.value().parse::<T>().ok().filter(|n| range.contains(n));
        if n.is_none() {
            self.bad(&format!(
                "not a number from {} to {}",
                range.start(),
                range.end()
            ));
        }
        n
    }
}

/// Reads `config <kind> '<name>'` of `package` into `T` (its default when the section is
/// missing): `each` is called for every option and decides what it means.
pub fn read<T: Default>(
    package: &uci::Package,
    kind: &str,
    name: &str,
    mut each: impl FnMut(&mut T, Opt<'_>),
) -> (T, Vec<Warning>) {
    let mut value = T::default();
    let mut warnings = Vec::new();
    let Some(section) = package
        .sections
        .iter()
        .find(|s| s.kind == kind && s.name == name)
    else {
        return (value, warnings);
    };
    for option in &section.options {
        let values = match &option.value {
            uci::Value::List(items) => items.iter().map(ToString::to_string).collect(),
            uci::Value::Single(v) => vec![v.to_string()],
        };
        each(
            &mut value,
            Opt {
                name: &option.name,
                values,
                at: format!("{}.{name}.{}", package.name, option.name),
                warnings: &mut warnings,
            },
        );
    }
    (value, warnings)
}

/// A UCI boolean as OpenWrt reads it (`1`/`on`/`yes`/`true`, `0`/`off`/`no`/`false`).
pub fn parse_switch(value: &str) -> Option<bool> {
    match value {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// A Linux interface name: 1 to 15 bytes of letters, digits, `.`, `-`, `_`.
pub fn is_interface_name(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// `a.b.c.d[/len]` or an IPv6 address with an optional prefix length (a bare address is its
/// own /32 or /128).
pub fn parse_network(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// A device's MAC address in lower case with colons (`aa:bb:cc:dd:ee:ff`, also written with
/// dashes or in capitals); `None` for anything else, and for multicast or all-zero addresses.
pub fn parse_mac(text: &str) -> Option<String> {
    let parts: Vec<u8> = text
        .trim()
        .split([':', '-'])
        .map(|p| {
            (p.len() == 2)
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    (parts.len() == 6 && parts[0] & 1 == 0 && parts.iter().any(|b| *b != 0)).then(|| {
        parts
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    })
}

/// A host name label (DHCP, DNS): 1 to 63 letters, digits and inner hyphens.
pub fn is_host_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_host_names() {
        assert_eq!(
            parse_mac("00-D0-EF-12-34-56").as_deref(),
            Some("00:d0:ef:12:34:56")
        );
        for bad in [
            "01:00:5e:00:00:01",
            "00:00:00:00:00:00",
            "00:d0:ef:12:34",
            "zz:d0:ef:12:34:56",
            "0:d0:ef:12:34:56",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
        assert!(
            is_host_name("nas-2")
                && !is_host_name("-nas")
                && !is_host_name("a b")
                && !is_host_name("")
        );
    }

    #[test]
    fn networks_with_and_without_a_prefix() {
        assert_eq!(parse_network("10.0.0.0/8"), "10.0.0.0/8".parse().ok());
        assert_eq!(parse_network("fd00::1"), "fd00::1/128".parse().ok());
        assert_eq!(parse_network("192.0.2.1"), "192.0.2.1/32".parse().ok());
        for bad in ["example.org", "10.0.0.0/33", "10.0.0.0/", "/8", ""] {
            assert_eq!(parse_network(bad), None, "{bad}");
        }
    }
}
