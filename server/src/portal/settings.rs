//! The captive portal's settings: `config portal 'portal'` in `/etc/config/portico`.

use std::path::PathBuf;

use crate::section::{self, Warning, parse_network};

/// The `config portal 'portal'` section: the captive portal's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
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
    /// `option open_until` — Unix seconds until which the portal lets everyone through (the
    /// admin's "open for everyone" switch; it ends by itself). `0` or absent: not open.
    pub open_until: Option<i64>,
    /// `option mode` — `voucher` (default): a code gives access; `accept`: reading the page
    /// and pressing its button gives [`Settings::accept_minutes`] of access, no code.
    pub mode: Mode,
    /// `option accept_minutes` — access after accepting (1 to 10080, default 60).
    pub accept_minutes: u32,
}

/// How a guest gets access.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// With a voucher's code.
    #[default]
    Voucher,
    /// By reading the page and accepting (Pirania's "read for access").
    Accept,
}

impl Mode {
    /// The UCI value.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Voucher => "voucher",
            Mode::Accept => "accept",
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: false,
            interfaces: vec!["br-lan".into()],
            title: String::new(),
            text: String::new(),
            logo: None,
            walled_garden: Vec::new(),
            tries_per_minute: 5,
            open_until: None,
            mode: Mode::Voucher,
            accept_minutes: 60,
        }
    }
}

/// Every key `config portal 'portal'` may hold.
pub const KEYS: [&str; 10] = [
    "open_until",
    "mode",
    "accept_minutes",
    "enabled",
    "interface",
    "title",
    "text",
    "logo",
    "walled_garden",
    "tries_per_minute",
];

impl Settings {
    /// Whether the admin opened the portal for everyone and that time has not ended at `now`.
    pub fn open_at(&self, now: i64) -> bool {
        self.open_until.is_some_and(|until| now < until)
    }

    /// Whether guests must show a voucher at `now`: switched on and not opened for everyone.
    pub fn captive_at(&self, now: i64) -> bool {
        self.enabled && !self.open_at(now)
    }

    /// The portal's section of `<root>/etc/config/portico` as it is now (after a change was
    /// applied; at start `config::Settings::load` reads every section at once).
    ///
    /// # Errors
    /// When the file exists but cannot be read or parsed.
    pub fn load(
        root: &std::path::Path,
    ) -> Result<(Settings, Vec<Warning>), crate::platform::Error> {
        let package = crate::platform::package_in(&crate::platform::store(root), "portico")?;
        Ok(Settings::from_package(&package))
    }

    /// The portal section of a parsed `portico` file, with warnings for what was not used.
    pub fn from_package(package: &uci::Package) -> (Settings, Vec<Warning>) {
        let mut interfaces = Vec::new();
        let (mut portal, warnings) = section::read(
            package,
            "portal",
            "portal",
            |portal: &mut Settings, mut o| match o.name {
                "enabled" => {
                    if let Some(on) = o.switch() {
                        portal.enabled = on;
                    }
                }
                "interface" => interfaces.extend(o.values.iter().cloned()),
                "title" => o.value().clone_into(&mut portal.title),
                "text" => o.value().clone_into(&mut portal.text),
                "logo" => {
                    let path = PathBuf::from(o.value());
                    if path.is_absolute() && !o.value().contains("..") {
                        portal.logo = Some(path);
                    } else {
                        o.bad("not an absolute path");
                    }
                }
                "walled_garden" => {
                    for item in o.values.clone() {
                        if parse_network(&item).is_some() {
                            portal.walled_garden.push(item);
                        } else {
                            o.bad_item(&item, "an address or network");
                        }
                    }
                }
                "tries_per_minute" => {
                    if let Some(n) = o.number(1..=60) {
                        portal.tries_per_minute = n;
                    }
                }
                "mode" => match o.value() {
                    "voucher" => portal.mode = Mode::Voucher,
                    "accept" => portal.mode = Mode::Accept,
                    _ => o.bad("not voucher or accept"),
                },
                "accept_minutes" => {
                    if let Some(m) = o.number(1..=10_080) {
                        portal.accept_minutes = m;
                    }
                }
                "open_until" => {
                    if let Some(t) = o.number(0..=i64::MAX) {
                        portal.open_until = (t > 0).then_some(t);
                    }
                }
                _ => o.unknown(&KEYS),
            },
        );
        if !interfaces.is_empty() {
            portal.interfaces = interfaces;
        }
        (portal, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_accept_minutes_and_the_open_time() {
        let text = "config portal 'portal'\n\toption enabled '1'\n\toption mode 'accept'\n\
                    \toption accept_minutes '30'\n\toption open_until '2000'\n";
        let (portal, warnings) =
            Settings::from_package(&uci::parse("portico", text.as_bytes()).unwrap());
        assert_eq!(warnings, []);
        assert_eq!((portal.mode, portal.accept_minutes), (Mode::Accept, 30));
        assert!(portal.open_at(1999) && !portal.captive_at(1999));
        assert!(
            !portal.open_at(2000) && portal.captive_at(2000),
            "it ends by itself"
        );
        let text = "config portal 'portal'\n\toption mode 'free'\n\toption accept_minutes '0'\n\toption open_until '0'\n";
        let (portal, warnings) =
            Settings::from_package(&uci::parse("portico", text.as_bytes()).unwrap());
        assert_eq!(
            (portal.mode, portal.accept_minutes, portal.open_until),
            (Mode::Voucher, 60, None)
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn portal_section_values_and_warnings() {
        let text = "config portico 'main'\n\toption listen '127.0.0.1:8000'\n\
                    config portal 'portal'\n\toption enabled '1'\n\tlist interface 'br-lan'\n\
                    \tlist interface 'br-guest'\n\toption title 'Plaza Wi-Fi'\n\
                    \tlist walled_garden '100.64.0.0/24'\n\tlist walled_garden 'fd00::1'\n\
                    \tlist walled_garden 'example.org'\n\toption tries_per_minute '500'\n\
                    \toption logo '../etc/shadow'\n\toption colour 'red'\n";
        let package = uci::parse("portico", text.as_bytes()).unwrap();
        let (portal, warnings) = Settings::from_package(&package);
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
        let (defaults, none) = Settings::from_package(&uci::Package::new("portico"));
        assert_eq!((defaults, none), (Settings::default(), Vec::new()));
    }
}

/// A settings form as the admin sent it (text as typed).
pub struct Change<'a> {
    pub enabled: bool,
    pub title: &'a str,
    pub text: &'a str,
    /// One address or network per line.
    pub walled_garden: &'a str,
    pub tries_per_minute: &'a str,
    /// `voucher` or `accept`.
    pub mode: &'a str,
    pub accept_minutes: &'a str,
}

/// Why a settings change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// `tries_per_minute` is not a number from 1 to 60.
    #[error("tries per minute must be a number from 1 to 60")]
    Tries,
    /// A walled-garden line is not an address or network.
    #[error("the walled garden holds something that is not an address or network")]
    Garden,
    /// `accept_minutes` is not a number from 1 to 10080 (a week).
    #[error("the access after accepting must be 1 to 10080 minutes")]
    Minutes,
}

/// The UCI edits for a settings change: `config portal 'portal'` in `portico`, and DHCP
/// option 114 (RFC 8910, the captive-portal API's URL) on the LAN's DHCP section while the
/// portal is on.
///
/// # Errors
/// [`Refused`] when a value breaks its rule (nothing is changed then).
pub fn edits(
    change: &Change<'_>,
    network: &uci::Package,
    dhcp: &uci::Package,
    portal_port: u16,
) -> Result<Vec<uci::Edit>, Refused> {
    let number = |text: &str, range: std::ops::RangeInclusive<u32>, refused: Refused| {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or(refused)
    };
    let tries = number(change.tries_per_minute, 1..=60, Refused::Tries)?;
    let garden: Vec<&str> = change
        .walled_garden
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if garden.iter().any(|g| parse_network(g).is_none()) {
        return Err(Refused::Garden);
    }
    let minutes = number(change.accept_minutes, 1..=10_080, Refused::Minutes)?;
    let mode = if change.mode == "accept" {
        Mode::Accept
    } else {
        Mode::Voucher
    };
    let set = |path: &str, value: &str| uci::Edit::Set {
        path: path.to_owned(),
        value: value.as_bytes().to_vec(),
    };
    let mut edits = vec![
        set("portico.portal", "portal"),
        set(
            "portico.portal.enabled",
            if change.enabled { "1" } else { "0" },
        ),
        set("portico.portal.title", change.title.trim()),
        set("portico.portal.text", change.text.trim()),
        set("portico.portal.tries_per_minute", &tries.to_string()),
        set("portico.portal.mode", mode.name()),
        set("portico.portal.accept_minutes", &minutes.to_string()),
    ];
    edits.push(if garden.is_empty() {
        set("portico.portal.walled_garden", "")
    } else {
        uci::Edit::SetList {
            path: "portico.portal.walled_garden".into(),
            items: garden.iter().map(|g| g.as_bytes().to_vec()).collect(),
        }
    });
    // The LAN's DHCP section: the one for interface `lan` (named `lan` on a fresh router).
    if let Some(section) = dhcp
        .sections
        .iter()
        .find(|s| s.kind == "dhcp" && s.get("interface").is_some_and(|i| i == "lan"))
        && !section.name.is_empty()
    {
        let path = format!("dhcp.{}.dhcp_option", section.name);
        let old = section.items("dhcp_option");
        let mut new: Vec<String> = old
            .iter()
            .filter(|o| !o.starts_with("114,"))
            .cloned()
            .collect();
        if change.enabled {
            new.push(format!(
                "114,http://{}:{portal_port}/captive-portal/api",
                lan_address(network)
            ));
        }
        if new != old {
            edits.push(if new.is_empty() {
                set(&path, "")
            } else {
                uci::Edit::SetList {
                    path,
                    items: new.iter().map(|o| o.as_bytes().to_vec()).collect(),
                }
            });
        }
    }
    Ok(edits)
}

/// The LAN address as guests see it (`network.lan.ipaddr`, the prefix dropped).
pub fn lan_address(network: &uci::Package) -> String {
    network
        .section("lan")
        // Not `views::Interface::ipaddr`: OpenWrt also writes `a.b.c.d/len` here.
        .and_then(|s| s.get("ipaddr").map(ToString::to_string))
        .map(|a| a.split('/').next().unwrap_or_default().to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "192.168.1.1".to_owned())
}

/// The first access point guests join: on the LAN, in AP mode, not disabled.
pub fn guest_wifi(wireless: &uci::Package) -> Option<app::wizard::Wifi> {
    use uci::views::{WifiIface, WifiMode};
    wireless
        .sections_of("wifi-iface")
        .map(WifiIface)
        .find(|w| {
            w.mode().is_none_or(|m| m == WifiMode::Ap)
                && w.network()
                    .is_none_or(|n| n.is_empty() || n.split_whitespace().any(|n| n == "lan"))
                && w.disabled() != Some(true)
        })
        .map(|w| app::wizard::Wifi {
            radio: w.device().unwrap_or_default(),
            ssid: w.ssid().unwrap_or_default(),
            key: w.key().unwrap_or_default(),
            encryption: w
                .0
                .get("encryption")
                .map(ToString::to_string)
                .unwrap_or_default(),
            country: None,
        })
}

/// The largest logo accepted (it is shown on a phone in a captive assistant).
pub const LOGO_MAX: usize = 512 * 1024;

/// The image type of an uploaded logo, from its first bytes (the name and the browser's word
/// are not trusted).
pub fn logo_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("jpg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        let head = head.trim_start_matches('\u{feff}').trim_start();
        (head.starts_with("<svg") || head.starts_with("<?xml") && head.contains("<svg"))
            .then_some("svg")
    }
}

/// Why a logo was not stored.
#[derive(Debug, thiserror::Error)]
pub enum LogoError {
    /// Larger than [`LOGO_MAX`], or not PNG, JPEG, WebP or SVG.
    #[error("not an image Portico shows (PNG, JPEG, WebP or SVG up to 512 KiB)")]
    NotAnImage,
    #[error("storing the logo: {0}")]
    Io(#[from] std::io::Error),
}

/// Stores an uploaded logo as `<root>/etc/portico/portal-logo.<type>`; returns the edits that
/// make it the portal's (`portico.portal.logo`, the path as the router sees it).
///
/// # Errors
/// [`LogoError`] when the bytes are no image or the file cannot be written.
pub fn store_logo(root: &std::path::Path, bytes: &[u8]) -> Result<Vec<uci::Edit>, LogoError> {
    let kind = logo_kind(bytes)
        .filter(|_| bytes.len() <= LOGO_MAX)
        .ok_or(LogoError::NotAnImage)?;
    let name = format!("portal-logo.{kind}");
    let dir = root.join("etc/portico");
    std::fs::create_dir_all(&dir)?;
    crate::state::write_atomically(&dir.join(&name), bytes, 0o644)?;
    Ok(logo_edits(&format!("/etc/portico/{name}")))
}

/// The edits that set (or with an empty path, remove) the portal's logo.
/// The edits that open the portal for everyone until `until` (Unix seconds), or end that now
/// (`None`).
pub fn open_edits(until: Option<i64>) -> Vec<uci::Edit> {
    vec![
        uci::Edit::Set {
            path: "portico.portal".into(),
            value: b"portal".to_vec(),
        },
        uci::Edit::Set {
            path: "portico.portal.open_until".into(),
            value: until.unwrap_or(0).to_string().into_bytes(),
        },
    ]
}

pub fn logo_edits(path: &str) -> Vec<uci::Edit> {
    vec![
        uci::Edit::Set {
            path: "portico.portal".into(),
            value: b"portal".to_vec(),
        },
        uci::Edit::Set {
            path: "portico.portal.logo".into(),
            value: path.as_bytes().to_vec(),
        },
    ]
}
