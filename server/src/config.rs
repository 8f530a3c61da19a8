//! Portico's own settings, `/etc/config/portico`, loaded once: the `main` section here and each
//! capability's section by the capability (`portal::Settings`, `offload::Settings`,
//! `ble::Settings`). Flags and `PORTICO_*` variables (one overlay, from clap) win over the
//! file, the file over the defaults. Unknown sections and keys are warned about.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::platform;
use crate::section::{self, Warning};

/// Everything `/etc/config/portico` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub main: Main,
    pub portal: crate::portal::Settings,
    pub offload: crate::offload::Settings,
    pub ble: crate::ble::Settings,
    pub mesh: crate::mesh::Settings,
}

/// The `config portico 'main'` section: keys and their defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Main {
    /// `option listen` — admin UI address.
    pub listen: SocketAddr,
    /// `option portal_listen` — captive portal address.
    pub portal_listen: SocketAddr,
    /// `option lan_device` — the admin listener is bound to this device (`SO_BINDTODEVICE`), so
    /// every request it accepts arrived on the LAN side. Empty: not bound, nothing is LAN.
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

impl Default for Main {
    fn default() -> Self {
        Main {
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

/// What the command line (flags or `PORTICO_*` variables) sets over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub portal_listen: Option<SocketAddr>,
    pub lan_device: Option<String>,
}

impl Settings {
    /// Reads `<root>/etc/config/portico` (the defaults when it does not exist).
    ///
    /// # Errors
    /// When the file exists but cannot be read or parsed (the error has its line and byte).
    pub fn load(root: &Path) -> Result<(Settings, Vec<Warning>), platform::Error> {
        let package = platform::package_in(&platform::store(root), "portico")?;
        Ok(Settings::from_package(&package))
    }

    /// The settings of a parsed `portico` file, with warnings for what was not used.
    pub fn from_package(package: &uci::Package) -> (Settings, Vec<Warning>) {
        let mut warnings = Vec::new();
        for section in &package.sections {
            // `config port` sections (any name) are the ports' policies (`ports::roles`).
            let known = matches!(
                (section.kind.as_str(), section.name.as_str()),
                ("portico", "main")
                    | ("portal", "portal")
                    | ("offload", "offload")
                    | ("ble", "ble")
                    | ("mesh", "mesh")
                    | ("port", _)
            );
            if !known {
                warnings.push(Warning {
                    at: format!("portico.{}", section.name),
                    message: format!("unknown section of type {} ignored", section.kind),
                });
            }
        }
        let settings = Settings {
            main: take(&mut warnings, Main::from_package(package)),
            portal: take(
                &mut warnings,
                crate::portal::Settings::from_package(package),
            ),
            offload: take(
                &mut warnings,
                crate::offload::Settings::from_package(package),
            ),
            ble: take(&mut warnings, crate::ble::Settings::from_package(package)),
            mesh: take(&mut warnings, crate::mesh::Settings::from_package(package)),
        };
        (settings, warnings)
    }

    /// The settings with the command line's values over the file's.
    #[must_use]
    pub fn with(mut self, overrides: Overrides) -> Settings {
        if let Some(listen) = overrides.listen {
            self.main.listen = listen;
        }
        if let Some(listen) = overrides.portal_listen {
            self.main.portal_listen = listen;
        }
        if let Some(device) = overrides.lan_device {
            self.main.lan_device = device;
        }
        self
    }
}

/// A section's value, its warnings added to the file's.
fn take<T>(warnings: &mut Vec<Warning>, (value, more): (T, Vec<Warning>)) -> T {
    warnings.extend(more);
    value
}

impl Main {
    /// The main section of a parsed `portico` package.
    fn from_package(package: &uci::Package) -> (Main, Vec<Warning>) {
        section::read(
            package,
            "portico",
            "main",
            |main: &mut Main, mut o| match o.name {
                "listen" | "portal_listen" => match o.value().parse() {
                    Ok(a) if o.name == "listen" => main.listen = a,
                    Ok(a) => main.portal_listen = a,
                    Err(_) => o.bad("not an address:port"),
                },
                "lan_device" => o.value().clone_into(&mut main.lan_device),
                "session_idle_minutes" => match o.value().parse::<u64>() {
                    Ok(m) if m > 0 => main.session_idle = Duration::from_secs(m * 60),
                    _ => o.bad("not a positive number of minutes"),
                },
                "apply_timeout" => match o.value().parse::<u64>() {
                    Ok(s) if (10..=3600).contains(&s) => {
                        main.apply_timeout = Duration::from_secs(s);
                    }
                    _ => o.bad("not a number of seconds from 10 to 3600"),
                },
                "connection_test_url" => match crate::wizard::conntest::Target::parse(o.value()) {
                    Some(_) => o.value().clone_into(&mut main.connection_test_url),
                    None => o.bad("not an http:// address"),
                },
                _ => o.unknown(&MAIN_KEYS),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_and_unknown_keys() {
        let text = "config portico 'main'\n\toption listen '127.0.0.1:8000'\n\toption colour 'blue'\n\toption session_idle_minutes 'x'\n";
        let (settings, warnings) =
            Settings::from_package(&uci::parse("portico", text.as_bytes()).unwrap());
        assert_eq!(settings.main.listen, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(settings.main.session_idle, Main::default().session_idle);
        assert_eq!(warnings.len(), 2);
        assert_eq!(warnings[0].at, "portico.main.colour");
        assert_eq!(warnings[1].at, "portico.main.session_idle_minutes");
    }

    #[test]
    fn each_section_goes_to_its_capability_and_strangers_are_named() {
        let text = "config portico 'main'\n\toption listen '127.0.0.1:8000'\n\
                    config portal 'portal'\n\toption enabled '1'\n\
                    config offload 'offload'\n\toption hook 'tc'\n\
                    config ble 'ble'\n\toption enabled '0'\n\
                    config colours 'colours'\n";
        let (settings, warnings) =
            Settings::from_package(&uci::parse("portico", text.as_bytes()).unwrap());
        assert!(settings.portal.enabled);
        assert_eq!(settings.offload.hook, crate::offload::Hook::Tc);
        assert!(!settings.ble.enabled);
        assert_eq!(
            warnings,
            [Warning {
                at: "portico.colours".into(),
                message: "unknown section of type colours ignored".into()
            }]
        );
        let overridden = settings.with(Overrides {
            lan_device: Some("lan0".into()),
            ..Overrides::default()
        });
        assert_eq!(overridden.main.lan_device, "lan0");
        assert_eq!(overridden.main.listen, "127.0.0.1:8000".parse().unwrap());
    }

    #[test]
    fn a_broken_file_is_an_error_with_line_and_byte_never_the_defaults() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc/config")).unwrap();
        std::fs::write(
            root.path().join("etc/config/portico"),
            "config portico 'main'\n\toption listen '127.0.0.1:8000\n",
        )
        .unwrap();
        let error = Settings::load(root.path()).unwrap_err();
        let platform::Error::Config {
            source: uci::store::LoadError::Parse(parse),
            ..
        } = &error
        else {
            panic!("not a parse error: {error}");
        };
        assert_eq!(parse.line, 2);
        assert!(error.to_string().contains("etc/config/portico"), "{error}");
        let missing = tempfile::tempdir().unwrap();
        assert_eq!(
            Settings::load(missing.path()).unwrap(),
            (Settings::default(), Vec::new())
        );
    }
}
