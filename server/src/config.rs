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
    let path = portico_config_path(root);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
    };
    let package =
        uci::parse("portico", &text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(from_package(&package))
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
        // Later capabilities add their sections (portal, offload, ble, ...).
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
