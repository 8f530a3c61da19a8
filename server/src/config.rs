//! Portico's own settings: one Rust type listing every key of `/etc/config/portico`, merged
//! with flags and `PORTICO_*` variables. Precedence: flag > environment > file > default
//! (clap already folds flag and environment into one `Option`). Unknown keys are warned about.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `config portico 'main'` section: keys and their defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MainSection {
    /// `option listen` — admin UI address.
    pub listen: SocketAddr,
    /// `option portal_listen` — captive portal address.
    pub portal_listen: SocketAddr,
    /// `option lan_device` — the admin listener is bound to this device (`SO_BINDTODEVICE`), so
    /// every request it accepts arrived on the LAN side. Empty: not bound, nothing is LAN.
    /// Environment: `PORTICO_LAN_DEVICE`.
    pub lan_device: String,
    /// `option session_idle_minutes` — a session unused this long ends.
    pub session_idle: Duration,
    /// `option apply_timeout` — seconds a checked apply waits for confirmation before it is
    /// rolled back (default 90, as LuCI).
    pub apply_timeout: Duration,
    /// `option connection_test_url` — the plain-HTTP address the wizard's connection test
    /// fetches after the internet settings changed (any 2xx or 3xx answer passes).
    pub connection_test_url: String,
}

impl Default for MainSection {
    fn default() -> Self {
        MainSection {
            listen: SocketAddr::from(([0, 0, 0, 0], 80)),
            portal_listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            lan_device: "br-lan".into(),
            session_idle: Duration::from_secs(30 * 60),
            apply_timeout: crate::apply::DEFAULT_TIMEOUT,
            connection_test_url: "http://connectivitycheck.gstatic.com/generate_204".into(),
        }
    }
}

/// Every key `config portico 'main'` may hold.
pub const MAIN_KEYS: [&str; 6] = [
    "listen",
    "portal_listen",
    "lan_device",
    "session_idle_minutes",
    "apply_timeout",
    "connection_test_url",
];

/// The `config portal 'portal'` section: the captive portal's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalSection {
    /// `option enabled` — `1` turns the portal on (default off).
    pub enabled: bool,
    /// `list interface` — the captive devices (default `br-lan`).
    pub interfaces: Vec<String>,
    /// `option title` / `option text` — what the portal page says.
    pub title: String,
    pub text: String,
    /// `option logo` — an image file under the root shown on the portal page.
    pub logo: Option<PathBuf>,
    /// `list walled_garden` — destinations reachable before authorisation (`a.b.c.d[/len]`,
    /// IPv6 too).
    pub walled_garden: Vec<String>,
    /// `option tries_per_minute` — code guesses a client may make per minute (default 5).
    pub tries_per_minute: u32,
}

impl Default for PortalSection {
    fn default() -> Self {
        PortalSection {
            enabled: false,
            interfaces: vec!["br-lan".into()],
            title: String::new(),
            text: String::new(),
            logo: None,
            walled_garden: Vec::new(),
            tries_per_minute: 5,
        }
    }
}

/// Every key `config portal 'portal'` may hold.
pub const PORTAL_KEYS: [&str; 7] = [
    "enabled",
    "interface",
    "title",
    "text",
    "logo",
    "walled_garden",
    "tries_per_minute",
];

/// The portal's settings from `<root>/etc/config/portico` (defaults when the file or the
/// section is missing).
///
/// # Errors
/// When the file exists but cannot be read or parsed.
pub fn load_portal(root: &Path) -> anyhow::Result<(PortalSection, Vec<Warning>)> {
    Ok(portal_from_package(&read_package(root)?))
}

/// `a.b.c.d[/len]` or an IPv6 address with an optional prefix length: address and length
/// (a bare address is its own /32 or /128).
pub fn parse_network(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let (address, len) = text.split_once('/').unwrap_or((text, ""));
    let address = address.parse::<std::net::IpAddr>().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let len = if len.is_empty() {
        max
    } else {
        len.parse::<u8>().ok().filter(|l| *l <= max)?
    };
    Some((address, len))
}

fn is_network(text: &str) -> bool {
    parse_network(text).is_some()
}

/// The portal section of a parsed `portico` file, with warnings for what was not used.
pub fn portal_from_package(package: &uci::Package) -> (PortalSection, Vec<Warning>) {
    let mut portal = PortalSection::default();
    let mut warnings = Vec::new();
    let Some(section) = package
        .sections
        .iter()
        .find(|s| s.kind == "portal" && s.name == "portal")
    else {
        return (portal, warnings);
    };
    let mut interfaces = Vec::new();
    for option in &section.options {
        let at = format!("portico.portal.{}", option.name);
        let bad = |what: &str| Warning {
            at: at.clone(),
            message: format!("{what}; the default is used"),
        };
        let items: Vec<String> = match &option.value {
            uci::Value::List(items) => items.iter().map(ToString::to_string).collect(),
            uci::Value::Single(value) => vec![value.to_string()],
        };
        let value = items.first().cloned().unwrap_or_default();
        match option.name.as_str() {
            "enabled" => match parse_switch(&value) {
                Some(on) => portal.enabled = on,
                None => warnings.push(bad("not 0 or 1")),
            },
            "interface" => interfaces.extend(items),
            "title" => portal.title = value,
            "text" => portal.text = value,
            "logo" => {
                let path = PathBuf::from(&value);
                if path.is_absolute() && !value.contains("..") {
                    portal.logo = Some(path);
                } else {
                    warnings.push(bad("not an absolute path"));
                }
            }
            "walled_garden" => {
                for item in items {
                    if is_network(&item) {
                        portal.walled_garden.push(item);
                    } else {
                        warnings.push(Warning {
                            at: at.clone(),
                            message: format!("{item:?} is not an address or network; left out"),
                        });
                    }
                }
            }
            "tries_per_minute" => match value.parse::<u32>() {
                Ok(n) if (1..=60).contains(&n) => portal.tries_per_minute = n,
                _ => warnings.push(bad("not a number from 1 to 60")),
            },
            _ => warnings.push(Warning {
                at,
                message: format!("unknown key ignored (known: {})", PORTAL_KEYS.join(", ")),
            }),
        }
    }
    if !interfaces.is_empty() {
        portal.interfaces = interfaces;
    }
    (portal, warnings)
}

/// Which qaul BLE generations the link speaks (`option generations`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Generations {
    /// Both services, both framings (what a Linux peer for today's qaul network needs).
    #[default]
    Both,
    /// Current Android's chunk protocol only.
    Current,
    /// The legacy `$$` framing only (as a legacy qaul node).
    Legacy,
}

impl Generations {
    pub fn current(self) -> bool {
        self != Generations::Legacy
    }

    pub fn legacy(self) -> bool {
        self != Generations::Current
    }
}

/// The `config ble 'ble'` section: the Bluetooth LE link for qaul.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BleSection {
    /// `option enabled` — `0` keeps the radio off (default on where BlueZ runs).
    pub enabled: bool,
    /// `option adapter` — the BlueZ adapter (`hci0`); empty: BlueZ's default.
    pub adapter: String,
    /// `option generations` — `both`, `current` or `legacy`.
    pub generations: Generations,
    /// `option qaul_id` — the node's q8id (16 hex digits) until libqaul starts the module with
    /// its own; empty: a random one kept in `/etc/portico/ble-q8id`.
    pub qaul_id: Option<[u8; 8]>,
}

impl Default for BleSection {
    fn default() -> Self {
        BleSection {
            enabled: true,
            adapter: String::new(),
            generations: Generations::Both,
            qaul_id: None,
        }
    }
}

/// Every key `config ble 'ble'` may hold.
pub const BLE_KEYS: [&str; 4] = ["enabled", "adapter", "generations", "qaul_id"];

/// `16 hex digits` as 8 bytes.
pub fn parse_q8id(text: &str) -> Option<[u8; 8]> {
    let mut id = [0u8; 8];
    hex::decode_to_slice(text.trim(), &mut id).ok()?;
    Some(id)
}

/// The BLE settings from `<root>/etc/config/portico`.
///
/// # Errors
/// When the file exists but cannot be read or parsed.
pub fn load_ble(root: &Path) -> anyhow::Result<(BleSection, Vec<Warning>)> {
    let package = read_package(root)?;
    let mut ble = BleSection::default();
    let mut warnings = Vec::new();
    let Some(section) = package
        .sections
        .iter()
        .find(|s| s.kind == "ble" && s.name == "ble")
    else {
        return Ok((ble, warnings));
    };
    for option in &section.options {
        let at = format!("portico.ble.{}", option.name);
        let value = option
            .value
            .as_single()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut bad = |what: &str| {
            warnings.push(Warning {
                at: at.clone(),
                message: format!("{what}; the default is used"),
            });
        };
        match option.name.as_str() {
            "enabled" => match parse_switch(&value) {
                Some(on) => ble.enabled = on,
                None => bad("not 0 or 1"),
            },
            "adapter" if value.chars().all(|c| c.is_ascii_alphanumeric()) => ble.adapter = value,
            "adapter" => bad("not an adapter name like hci0"),
            "generations" => match value.as_str() {
                "both" => ble.generations = Generations::Both,
                "current" => ble.generations = Generations::Current,
                "legacy" => ble.generations = Generations::Legacy,
                _ => bad("not both, current or legacy"),
            },
            "qaul_id" => match parse_q8id(&value) {
                Some(id) => ble.qaul_id = Some(id),
                None => bad("not 16 hex digits"),
            },
            _ => warnings.push(Warning {
                at,
                message: format!("unknown key ignored (known: {})", BLE_KEYS.join(", ")),
            }),
        }
    }
    Ok((ble, warnings))
}

/// The `config offload 'offload'` section: the eBPF fast path for established flows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffloadSection {
    /// `option enabled` — `0` leaves every packet to the stack.
    pub enabled: bool,
    /// `option hook` — `xdp` (native, generic as fallback) or `tc`.
    pub hook: crate::offload::Hook,
    /// `option interfaces` (space-separated) or `list interface`: the layer 3 devices whose
    /// traffic is offloaded (`br-lan wan`); the fast path attaches to their ports.
    pub interfaces: Vec<String>,
    /// `option flows` — flow map entries (one per direction of a connection).
    pub flows: u32,
    /// `option watchdog_seconds` — without a heartbeat from Portico for this long, every
    /// packet goes to the stack.
    pub watchdog: Duration,
}

impl Default for OffloadSection {
    fn default() -> Self {
        OffloadSection {
            enabled: true,
            hook: crate::offload::Hook::Xdp,
            interfaces: Vec::new(),
            flows: 16_384,
            watchdog: Duration::from_secs(5),
        }
    }
}

/// Every key `config offload 'offload'` may hold.
pub const OFFLOAD_KEYS: [&str; 6] = [
    "enabled",
    "hook",
    "interfaces",
    "interface",
    "flows",
    "watchdog_seconds",
];

/// The offload settings from `<root>/etc/config/portico`.
///
/// # Errors
/// When the file exists but cannot be read or parsed.
pub fn load_offload(root: &Path) -> anyhow::Result<(OffloadSection, Vec<Warning>)> {
    Ok(offload_from_package(&read_package(root)?))
}

/// The offload section of a parsed `portico` package.
pub fn offload_from_package(package: &uci::Package) -> (OffloadSection, Vec<Warning>) {
    let mut offload = OffloadSection::default();
    let mut warnings = Vec::new();
    let Some(section) = package
        .sections
        .iter()
        .find(|s| s.kind == "offload" && s.name == "offload")
    else {
        return (offload, warnings);
    };
    for option in &section.options {
        let at = format!("portico.offload.{}", option.name);
        let values: Vec<String> = match &option.value {
            uci::Value::List(items) => items.iter().map(ToString::to_string).collect(),
            uci::Value::Single(v) => vec![v.to_string()],
        };
        let value = values.first().cloned().unwrap_or_default();
        let mut bad = |what: &str| {
            warnings.push(Warning {
                at: at.clone(),
                message: format!("{what}; the default is used"),
            });
        };
        match option.name.as_str() {
            "enabled" => match parse_switch(&value) {
                Some(on) => offload.enabled = on,
                None => bad("not 0 or 1"),
            },
            "hook" => match value.as_str() {
                "xdp" => offload.hook = crate::offload::Hook::Xdp,
                "tc" => offload.hook = crate::offload::Hook::Tc,
                _ => bad("not xdp or tc"),
            },
            "interfaces" | "interface" => {
                let names: Vec<String> = values
                    .iter()
                    .flat_map(|v| v.split_whitespace())
                    .map(ToOwned::to_owned)
                    .collect();
                if names.iter().all(|n| is_interface_name(n)) {
                    offload.interfaces.extend(names);
                } else {
                    bad("not interface names (at most 15 of a-z, 0-9, . - _)");
                }
            }
            "flows" => match value.parse::<u32>() {
                Ok(n) if (64..=1_048_576).contains(&n) => offload.flows = n,
                _ => bad("not a number from 64 to 1048576"),
            },
            "watchdog_seconds" => match value.parse::<u64>() {
                Ok(n) if (1..=600).contains(&n) => offload.watchdog = Duration::from_secs(n),
                _ => bad("not a number of seconds from 1 to 600"),
            },
            _ => warnings.push(Warning {
                at,
                message: format!("unknown key ignored (known: {})", OFFLOAD_KEYS.join(", ")),
            }),
        }
    }
    (offload, warnings)
}

/// A UCI boolean as OpenWrt reads it (`1`/`on`/`yes`/`true`, `0`/`off`/`no`/`false`).
fn parse_switch(value: &str) -> Option<bool> {
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

/// A setting in `/etc/config/portico` that Portico did not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Where, as `uci` addresses it: `portico.main.colour`.
    pub at: String,
    pub message: String,
}

/// Reads `/etc/config/portico` under `root`. A missing file gives the defaults.
///
/// # Errors
/// When the file exists but cannot be read or parsed (with line and byte).
pub fn load(root: &Path) -> anyhow::Result<(MainSection, Vec<Warning>)> {
    Ok(from_package(&read_package(root)?))
}

/// `<root>/etc/config/portico` parsed; empty when the file does not exist.
fn read_package(root: &Path) -> anyhow::Result<uci::Package> {
    let path = portico_config_path(root);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
    };
    uci::parse("portico", &text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `<root>/etc/config/portico`.
pub fn portico_config_path(root: &Path) -> PathBuf {
    root.join("etc/config/portico")
}

/// Builds the settings from the parsed file, collecting warnings for what was not used.
pub fn from_package(package: &uci::Package) -> (MainSection, Vec<Warning>) {
    let mut main = MainSection::default();
    let mut warnings = Vec::new();
    for section in &package.sections {
        // Each capability reads its own section (`portal_from_package`, ...).
        if (section.kind == "portal" && section.name == "portal")
            || (section.kind == "ble" && section.name == "ble")
            || (section.kind == "offload" && section.name == "offload")
        {
            continue;
        }
        if section.kind != "portico" || section.name != "main" {
            warnings.push(Warning {
                at: format!("portico.{}", section.name),
                message: format!("unknown section of type {} ignored", section.kind),
            });
            continue;
        }
        for option in &section.options {
            let at = format!("portico.main.{}", option.name);
            let bad = |what: &str| Warning {
                at: at.clone(),
                message: format!("{what}; the default is used"),
            };
            let value = option
                .value
                .as_single()
                .map(ToString::to_string)
                .unwrap_or_default();
            match option.name.as_str() {
                "listen" => match value.parse() {
                    Ok(a) => main.listen = a,
                    Err(_) => warnings.push(bad("not an address:port")),
                },
                "portal_listen" => match value.parse() {
                    Ok(a) => main.portal_listen = a,
                    Err(_) => warnings.push(bad("not an address:port")),
                },
                "lan_device" => main.lan_device = value,
                "session_idle_minutes" => match value.parse::<u64>() {
                    Ok(m) if m > 0 => main.session_idle = Duration::from_secs(m * 60),
                    _ => warnings.push(bad("not a positive number of minutes")),
                },
                "apply_timeout" => match value.parse::<u64>() {
                    Ok(s) if (10..=3600).contains(&s) => {
                        main.apply_timeout = Duration::from_secs(s);
                    }
                    _ => warnings.push(bad("not a number of seconds from 10 to 3600")),
                },
                "connection_test_url" => match crate::conntest::Target::parse(&value) {
                    Some(_) => main.connection_test_url = value,
                    None => warnings.push(bad("not an http:// address")),
                },
                _ => warnings.push(Warning {
                    at: at.clone(),
                    message: format!("unknown key ignored (known: {})", MAIN_KEYS.join(", ")),
                }),
            }
        }
    }
    (main, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_section_values_and_warnings() {
        let text = "config portico 'main'\n\toption listen '127.0.0.1:8000'\n\
                    config portal 'portal'\n\toption enabled '1'\n\tlist interface 'br-lan'\n\
                    \tlist interface 'br-guest'\n\toption title 'Plaza Wi-Fi'\n\
                    \tlist walled_garden '100.64.0.0/24'\n\tlist walled_garden 'fd00::1'\n\
                    \tlist walled_garden 'example.org'\n\toption tries_per_minute '500'\n\
                    \toption logo '../etc/shadow'\n\toption colour 'red'\n";
        let package = uci::parse("portico", text.as_bytes()).unwrap();
        let (_, main_warnings) = from_package(&package);
        assert_eq!(
            main_warnings,
            [],
            "the portal section is not the main section's business"
        );
        let (portal, warnings) = portal_from_package(&package);
        assert!(portal.enabled);
        assert_eq!(portal.interfaces, ["br-lan", "br-guest"]);
        assert_eq!(portal.title, "Plaza Wi-Fi");
        assert_eq!(portal.walled_garden, ["100.64.0.0/24", "fd00::1"]);
        assert_eq!(portal.tries_per_minute, 5);
        assert_eq!(portal.logo, None);
        let at: Vec<&str> = warnings.iter().map(|w| w.at.as_str()).collect();
        assert_eq!(
            at,
            [
                "portico.portal.walled_garden",
                "portico.portal.tries_per_minute",
                "portico.portal.logo",
                "portico.portal.colour"
            ]
        );
        let (defaults, none) = portal_from_package(&uci::Package::new("portico"));
        assert_eq!((defaults, none), (PortalSection::default(), Vec::new()));
    }

    #[test]
    fn file_values_and_unknown_keys() {
        let text = "config portico 'main'\n\toption listen '127.0.0.1:8000'\n\toption colour 'blue'\n\toption session_idle_minutes 'x'\n";
        let (main, warnings) = from_package(&uci::parse("portico", text.as_bytes()).unwrap());
        assert_eq!(main.listen, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(main.session_idle, MainSection::default().session_idle);
        assert_eq!(warnings.len(), 2);
        assert_eq!(warnings[0].at, "portico.main.colour");
        assert_eq!(warnings[1].at, "portico.main.session_idle_minutes");
    }
}
