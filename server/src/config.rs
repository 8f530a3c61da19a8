//! Portico's own settings: one Rust type listing every key of `/etc/config/portico`, merged
//! with flags and `PORTICO_*` variables. Precedence: flag > environment > file > default
//! (clap already folds flag and environment into one `Option`). Unknown keys are warned about.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::uci_lite;

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
}

impl Default for MainSection {
    fn default() -> Self {
        MainSection {
            listen: SocketAddr::from(([0, 0, 0, 0], 80)),
            portal_listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            lan_device: "br-lan".into(),
            session_idle: Duration::from_secs(30 * 60),
        }
    }
}

/// Every key `config portico 'main'` may hold.
pub const MAIN_KEYS: [&str; 4] = [
    "listen",
    "portal_listen",
    "lan_device",
    "session_idle_minutes",
];

/// A setting in `/etc/config/portico` that Portico did not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// Reads `/etc/config/portico` under `root`. A missing file gives the defaults.
///
/// # Errors
/// When the file exists but cannot be read or parsed (with line and byte).
pub fn load(root: &Path) -> anyhow::Result<(MainSection, Vec<Warning>)> {
    let path = portico_config_path(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
    };
    let sections =
        uci_lite::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(from_sections(&sections))
}

/// `<root>/etc/config/portico`.
pub fn portico_config_path(root: &Path) -> PathBuf {
    root.join("etc/config/portico")
}

/// Builds the settings from parsed sections, collecting warnings for what was not used.
pub fn from_sections(sections: &[uci_lite::Section]) -> (MainSection, Vec<Warning>) {
    let mut main = MainSection::default();
    let mut warnings = Vec::new();
    for section in sections {
        // Later capabilities add their sections (portal, offload, ble, ...).
        if section.section_type != "portico" || section.name.as_deref() != Some("main") {
            warnings.push(Warning {
                line: section.line,
                message: format!(
                    "unknown section `{}` (type {}) ignored",
                    section.name.as_deref().unwrap_or("(anonymous)"),
                    section.section_type
                ),
            });
            continue;
        }
        for entry in &section.entries {
            let bad = |what: &str| Warning {
                line: entry.line,
                message: format!("`{}`: {what}; the default is used", entry.key),
            };
            match entry.key.as_str() {
                "listen" => match entry.value.parse() {
                    Ok(a) => main.listen = a,
                    Err(_) => warnings.push(bad("not an address:port")),
                },
                "portal_listen" => match entry.value.parse() {
                    Ok(a) => main.portal_listen = a,
                    Err(_) => warnings.push(bad("not an address:port")),
                },
                "lan_device" => main.lan_device.clone_from(&entry.value),
                "session_idle_minutes" => match entry.value.parse::<u64>() {
                    Ok(m) if m > 0 => main.session_idle = Duration::from_secs(m * 60),
                    _ => warnings.push(bad("not a positive number of minutes")),
                },
                other => warnings.push(Warning {
                    line: entry.line,
                    message: format!(
                        "unknown key `{other}` ignored (known: {})",
                        MAIN_KEYS.join(", ")
                    ),
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
        let (main, warnings) = from_sections(&uci_lite::parse(text).unwrap());
        assert_eq!(main.listen, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(main.session_idle, MainSection::default().session_idle);
        assert_eq!(warnings.len(), 2);
        assert_eq!(warnings[0].line, 3);
        assert!(warnings[0].message.contains("colour"));
    }
}
