//! The wizard in the browser: its steps, the form fields of each step and how they become
//! [`Answers`]. The server reads a posted step with [`read_step`]; the hydrated page runs the
//! same function on every keystroke, so both refuse the same input with the same message.
//!
//! Form fields are named like the answers they fill (`internet.gateway`, `wifi.radio0.ssid`), which
//! is also the `field` of a [`FieldError`]: an error finds its input by name.

use serde::{Deserialize, Serialize};

use super::{
    Answers, Community, DhcpServer, FieldError, Internet, Lan, Mesh, OpenVpn, SystemAnswers, Wifi,
    WireGuard, WireGuardPeer,
};

/// The wizard's steps, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    #[default]
    Language,
    System,
    Internet,
    Wifi,
    Services,
    Summary,
    /// After Apply: the countdown, the connection test and the confirmation.
    Applied,
}

impl Step {
    /// The steps a user walks through (not [`Step::Applied`]).
    pub const ALL: [Step; 6] = [
        Step::Language,
        Step::System,
        Step::Internet,
        Step::Wifi,
        Step::Services,
        Step::Summary,
    ];

    /// The step's path segment: `/setup/<slug>`.
    pub fn slug(self) -> &'static str {
        match self {
            Step::Language => "language",
            Step::System => "system",
            Step::Internet => "internet",
            Step::Wifi => "wifi",
            Step::Services => "services",
            Step::Summary => "summary",
            Step::Applied => "applied",
        }
    }

    /// Where the step is shown: `/setup/<slug>` in the wizard, `/settings/<slug>` when the step
    /// is a settings page of its own.
    pub fn path(self, settings: bool) -> String {
        let base = if settings { "settings" } else { "setup" };
        format!("/{base}/{}", self.slug())
    }

    /// The steps that are settings pages of their own (`/settings/<slug>`).
    pub const SETTINGS: [Step; 4] = [Step::System, Step::Internet, Step::Wifi, Step::Services];

    /// The catalog key of the step's settings page title.
    pub fn settings_key(self) -> &'static str {
        match self {
            Step::System => "settings-system",
            Step::Internet => "settings-internet",
            Step::Wifi => "settings-wifi",
            Step::Services => "settings-services",
            Step::Summary => "settings-summary",
            _ => "settings-applied",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Step> {
        Step::ALL
            .into_iter()
            .chain([Step::Applied])
            .find(|s| s.slug() == slug)
    }

    /// The catalog key of the step's title.
    pub fn title_key(self) -> &'static str {
        match self {
            Step::Language => "wizard-step-language",
            Step::System => "wizard-step-system",
            Step::Internet => "wizard-step-internet",
            Step::Wifi => "wizard-step-wifi",
            Step::Services => "wizard-step-services",
            Step::Summary => "wizard-step-summary",
            Step::Applied => "wizard-step-applied",
        }
    }

    fn index(self) -> usize {
        Step::ALL
            .iter()
            .position(|s| *s == self)
            .unwrap_or(Step::ALL.len())
    }

    #[must_use]
    pub fn next(self) -> Step {
        Step::ALL
            .get(self.index() + 1)
            .copied()
            .unwrap_or(Step::Summary)
    }

    #[must_use]
    pub fn previous(self) -> Step {
        self.index()
            .checked_sub(1)
            .and_then(|i| Step::ALL.get(i).copied())
            .unwrap_or(Step::Language)
    }

    /// Everything after the password step may be skipped: it then stays as it is.
    pub fn skippable(self) -> bool {
        matches!(self, Step::Internet | Step::Wifi | Step::Services)
    }

    /// The step that asks for `field`.
    pub fn of_field(field: &str) -> Step {
        let head = field.split('.').next().unwrap_or(field);
        match head {
            "language" => Step::Language,
            "system" | "password" | "password_repeat" | "password_current" => Step::System,
            "internet" => Step::Internet,
            "wifi" | "mesh" => Step::Wifi,
            "lan" | "dhcp" | "wireguard" | "openvpn" | "community" => Step::Services,
            _ => Step::Summary,
        }
    }
}

/// The name of the input that shows an error about `field`: list items (`internet.dns.1`,
/// `wireguard.peers.0.name`) are typed into one field.
pub fn input_for(field: &str) -> &str {
    for list in ["internet.dns", "wireguard.peers"] {
        if field.starts_with(list) {
            return list;
        }
    }
    field
}

/// What the browser sees in place of a secret the server holds (passwords and keys are never
/// sent back). It satisfies every rule, so the browser's checks accept a kept secret.
pub const KEPT: &str = "Kept-Secret-0";

/// The key part of a join code the server holds, in its place (43 characters, like a key).
pub const KEPT_KEY: &str = "KeptSecretKeptSecretKeptSecretKeptSecretKey";

/// One radio of the router (a `wifi-device` section).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Radio {
    pub name: String,
    /// `2g`, `5g`, `6g` or empty.
    pub band: String,
}

/// What Detect found on the internet port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Detection {
    NoLink,
    NoAnswer,
    Dhcp {
        server: String,
        offered: String,
    },
    Pppoe {
        concentrator: String,
    },
    /// The probe could not run (no such device, no permission).
    Failed {
        reason: String,
    },
}

impl Detection {
    /// The internet type to pre-select.
    pub fn suggested(&self) -> Option<&'static str> {
        match self {
            Detection::Dhcp { .. } => Some("dhcp"),
            Detection::Pppoe { .. } => Some("pppoe"),
            _ => None,
        }
    }
}

/// A Wi-Fi network as a QR code that phones join by scanning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WifiCode {
    pub ssid: String,
    /// `data:image/svg+xml;base64,…`
    pub image: String,
}

/// The summary's parts the server computes: the exact change per file and the QR codes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Unified diffs of the files the answers change.
    pub diff: String,
    pub wifi: Vec<WifiCode>,
    /// Rules the answers break (e.g. a secret lost in a restart): `(field, message)`.
    pub problems: Vec<(String, String)>,
}

/// A WireGuard client's configuration, shown once after Apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    pub name: String,
    pub text: String,
    /// The file name it is saved as (`phone.conf`, `gartenhaus.ovpn`).
    pub file: String,
    /// The configuration as a QR code image (`data:` URL).
    pub image: String,
}

/// One check of the connection test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// `gateway`, `dns` or `http`.
    pub what: String,
    pub ok: bool,
    /// What was tried and what came back, e.g. `100.64.0.1` or `HTTP 204`.
    pub detail: String,
}

/// After Apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent facts the page shows, not a state machine"
)]
pub struct AppliedView {
    /// The change waits for confirmation (false once confirmed or rolled back).
    pub pending: bool,
    pub outcome: Option<String>,
    /// The router's new LAN address, when it moved; the browser goes there to confirm.
    pub new_address: Option<String>,
    pub token: Option<String>,
    pub clients: Vec<ClientView>,
    /// The internet settings changed, so a connection test runs before the confirmation.
    pub test_needed: bool,
    /// Its checks so far; `test_done` once all have run.
    pub checks: Vec<Check>,
    pub test_done: bool,
    /// The platform cannot reload services here (development on the host), so nothing changed
    /// on the network.
    pub note: Option<String>,
    /// The Wi-Fi changed: a device on Wi-Fi must join the new network before it can keep it.
    #[serde(default)]
    pub wifi_changed: bool,
}

/// Everything a wizard page shows (from [`super::page::load_wizard`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WizardView {
    pub step: Step,
    /// The answers so far, secrets replaced by [`KEPT`].
    pub answers: Answers,
    /// The router's current settings: what a step shows before it is answered.
    pub defaults: Answers,
    pub radios: Vec<Radio>,
    /// No admin password exists yet, so this wizard must set one.
    pub password_required: bool,
    /// The values last posted for this step when they were refused (secrets left out).
    pub posted: Vec<(String, String)>,
    /// Refused answers of this step: `(field, message)` in the page's language.
    pub errors: Vec<(String, String)>,
    pub detection: Option<Detection>,
    pub summary: Option<Summary>,
    pub applied: Option<AppliedView>,
    /// The wizard was restored after a restart of Portico: secrets must be entered again.
    pub restored: bool,
    /// One step as a settings page (`/settings/<step>`): no other steps, straight to the
    /// summary.
    #[serde(default)]
    pub settings: bool,
    /// The VPN servers already set up: the step links to their page instead of offering to
    /// set them up again (which would give every device new keys).
    #[serde(default)]
    pub vpn: VpnSetUp,
    /// The community mesh this router is in already: the step links to the Portal page, where
    /// it is managed, instead of offering another.
    #[serde(default)]
    pub community: Option<String>,
}

/// Which VPN servers are set up on the router.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnSetUp {
    pub wireguard: bool,
    pub openvpn: bool,
}

impl WizardView {
    /// What the form of `step` shows: the answers, else the router's settings.
    pub fn shown(&self) -> Answers {
        merged(&self.answers, &self.defaults)
    }
}

/// Per part: the answer, else the default.
pub fn merged(answers: &Answers, defaults: &Answers) -> Answers {
    Answers {
        language: answers.language.clone().or(defaults.language.clone()),
        system: answers.system.clone().or(defaults.system.clone()),
        password: answers.password.clone(),
        internet: answers.internet.clone().or(defaults.internet.clone()),
        lan: answers.lan.clone().or(defaults.lan.clone()),
        wifi: if answers.wifi.is_empty() {
            defaults.wifi.clone()
        } else {
            answers.wifi.clone()
        },
        wifi_same: if answers.wifi.is_empty() {
            defaults.wifi_same
        } else {
            answers.wifi_same
        },
        mesh: answers.mesh.clone(),
        dhcp: answers.dhcp.clone().or(defaults.dhcp.clone()),
        wireguard: answers.wireguard.clone(),
        openvpn: answers.openvpn.clone(),
        community: answers.community.clone(),
    }
}

/// The answers with every secret replaced by [`KEPT`] (what may go to a browser).
pub fn without_secrets(answers: &Answers) -> Answers {
    let kept = |s: &String| {
        if s.is_empty() {
            String::new()
        } else {
            KEPT.to_owned()
        }
    };
    let mut out = answers.clone();
    out.password = answers.password.as_ref().map(kept);
    if let Some(Internet::Pppoe { password, .. }) = &mut out.internet {
        *password = kept(password);
    }
    for wifi in &mut out.wifi {
        wifi.key = kept(&wifi.key);
    }
    if let Some(mesh) = &mut out.mesh {
        mesh.key = kept(&mesh.key);
    }
    if let Some(Community::Join { code }) = &mut out.community {
        // The community's name stays readable (the summary says which one is joined).
        *code = match super::join_code_community(code) {
            Some(name) => format!("{}{name}:{KEPT_KEY}", super::JOIN_CODE_PREFIX),
            None => kept(code),
        };
    }
    out
}

/// The answers with every secret removed (what may be written to disk before Apply).
pub fn secrets_removed(answers: &Answers) -> Answers {
    let mut out = answers.clone();
    out.password = None;
    if let Some(Internet::Pppoe { password, .. }) = &mut out.internet {
        password.clear();
    }
    for wifi in &mut out.wifi {
        wifi.key.clear();
    }
    if let Some(mesh) = &mut out.mesh {
        mesh.key.clear();
    }
    if let Some(Community::Join { code }) = &mut out.community {
        code.clear();
    }
    out
}

/// A posted form: name/value pairs in order.
pub struct Form<'a>(pub &'a [(String, String)]);

impl Form<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A text field, trimmed; empty when missing.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    /// A checkbox: present means on.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn number<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
        errors: &mut Vec<FieldError>,
    ) -> T {
        let text = self.text(name);
        if text.is_empty() {
            return default;
        }
        text.parse().unwrap_or_else(|_| {
            errors.push(FieldError::new(name, "wizard-error-number"));
            default
        })
    }
}

/// Items of a list typed into one field, separated by spaces or commas.
fn items(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A secret field: a new value, or the kept one when left empty.
fn secret(form: &Form<'_>, name: &str, kept: Option<&String>) -> String {
    match form.get(name) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => kept.cloned().unwrap_or_default(),
    }
}

/// Reads step `step` of a posted form into `answers` and returns every rule it breaks (the
/// rules of [`super::validate`] for this step's fields, plus those only a form has, such as the
/// repeated password). `lan_now` is the router's LAN when the answers set none.
pub fn read_step(
    step: Step,
    form: &[(String, String)],
    answers: &mut Answers,
    password_required: bool,
    lan_now: (std::net::Ipv4Addr, u32),
) -> Vec<FieldError> {
    let form = Form(form);
    let mut errors = Vec::new();
    match step {
        Step::Language => answers.language = Some(form.text("language")),
        Step::System => read_system(&form, answers, password_required, &mut errors),
        Step::Internet => answers.internet = Some(read_internet(&form, answers, &mut errors)),
        Step::Wifi => read_wifi(&form, answers),
        Step::Services => read_services(&form, answers, &mut errors),
        Step::Summary | Step::Applied => {}
    }
    errors.extend(
        super::validate(answers, lan_now)
            .into_iter()
            .filter(|e| Step::of_field(&e.field) == step),
    );
    errors
}

fn read_system(
    form: &Form<'_>,
    answers: &mut Answers,
    password_required: bool,
    errors: &mut Vec<FieldError>,
) {
    let country = form.text("system.country").to_ascii_uppercase();
    answers.system = Some(SystemAnswers {
        hostname: form.text("system.hostname"),
        zonename: form.text("system.zonename"),
        country: (!country.is_empty()).then_some(country),
    });
    let typed = form.get("password").unwrap_or_default();
    if typed.is_empty() {
        if password_required && answers.password.as_deref().is_none_or(str::is_empty) {
            errors.push(FieldError::new(
                "password",
                "wizard-error-password-required",
            ));
        }
    } else {
        if form.get("password_repeat").unwrap_or_default() != typed {
            errors.push(FieldError::new("password_repeat", "setup-error-mismatch"));
        }
        answers.password = Some(typed.to_owned());
    }
}

fn read_internet(form: &Form<'_>, answers: &Answers, errors: &mut Vec<FieldError>) -> Internet {
    let ipv6 = form.checked("internet.ipv6");
    match form.text("internet.type").as_str() {
        "static" => Internet::Static {
            ipaddr: form.text("internet.ipaddr"),
            netmask: form.text("internet.netmask"),
            gateway: form.text("internet.gateway"),
            dns: items(&form.text("internet.dns")),
            ipv6,
        },
        "pppoe" => {
            let kept = match &answers.internet {
                Some(Internet::Pppoe { password, .. }) => Some(password),
                _ => None,
            };
            let service = form.text("internet.service");
            Internet::Pppoe {
                username: form.text("internet.username"),
                password: secret(form, "internet.password", kept),
                service: (!service.is_empty()).then_some(service),
                mtu: Some(form.number("internet.mtu", 1492, errors)),
                ipv6,
            }
        }
        _ => Internet::Dhcp { ipv6 },
    }
}

fn read_wifi(form: &Form<'_>, answers: &mut Answers) {
    // The radios the form has (hidden `wifi.radio` inputs, in order).
    let radios: Vec<&str> = form
        .0
        .iter()
        .filter(|(k, _)| k == "wifi.radio")
        .map(|(_, v)| v.as_str())
        .collect();
    let same = form.checked("wifi.same");
    let kept = |radio: &str| {
        answers
            .wifi
            .iter()
            .find(|w| w.radio == radio)
            .map(|w| &w.key)
    };
    let wifi = radios
        .iter()
        .filter_map(|radio| {
            // One name and password for every band, or each radio's own.
            let prefix = if same {
                "all".to_owned()
            } else {
                (*radio).to_owned()
            };
            let name = |field: &str| format!("wifi.{prefix}.{field}");
            if !form.checked(&name("enabled")) {
                return None;
            }
            let kept =
                kept(radio).or_else(|| answers.wifi.first().map(|w| &w.key).filter(|_| same));
            Some(Wifi {
                radio: (*radio).to_owned(),
                ssid: form.get(&name("ssid")).unwrap_or_default().to_owned(),
                key: secret(form, &name("key"), kept),
                encryption: form.text(&name("encryption")),
                country: None,
            })
        })
        .collect();
    answers.wifi = wifi;
    answers.wifi_same = same;
    answers.mesh = form.checked("mesh.enabled").then(|| Mesh {
        radio: form.text("mesh.radio"),
        mesh_id: form.get("mesh.mesh_id").unwrap_or_default().to_owned(),
        key: secret(form, "mesh.key", answers.mesh.as_ref().map(|m| &m.key)),
        forwarding: form.checked("mesh.forwarding"),
    });
}

fn read_services(form: &Form<'_>, answers: &mut Answers, errors: &mut Vec<FieldError>) {
    answers.lan = Some(Lan {
        ipaddr: form.text("lan.ipaddr"),
        netmask: form.text("lan.netmask"),
    });
    let enabled = form.checked("dhcp.enabled");
    answers.dhcp = Some(DhcpServer {
        enabled,
        start: form.number("dhcp.start", 100, errors),
        limit: form.number("dhcp.limit", 150, errors),
        leasetime: match form.text("dhcp.leasetime") {
            t if t.is_empty() => "12h".into(),
            t => t,
        },
    });
    answers.wireguard = form.checked("wireguard.enabled").then(|| WireGuard {
        listen_port: form.number("wireguard.listen_port", 51820, errors),
        address: form.text("wireguard.address"),
        endpoint: form.text("wireguard.endpoint"),
        peers: items(&form.text("wireguard.peers"))
            .into_iter()
            .map(|name| WireGuardPeer { name })
            .collect(),
    });
    answers.openvpn = form.checked("openvpn.enabled").then(|| OpenVpn {
        port: form.number("openvpn.port", 1194, errors),
        proto: form.text("openvpn.proto"),
        subnet: form.text("openvpn.subnet"),
        endpoint: form.text("openvpn.endpoint"),
    });
    let kept_code = match &answers.community {
        Some(Community::Join { code }) => Some(code),
        _ => None,
    };
    answers.community = match form.get("community.action") {
        Some("create") => Some(Community::Create {
            name: form.text("community.name"),
        }),
        Some("join") => Some(Community::Join {
            code: secret(form, "community.code", kept_code).trim().to_owned(),
        }),
        _ => None,
    };
}

/// The form values that show `answers` on step `step` (secret fields stay empty): the inverse
/// of [`read_step`].
pub fn fields(step: Step, answers: &Answers, radios: &[Radio]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: &str| out.push((k.to_owned(), v.to_owned()));
    match step {
        Step::Language => put("language", answers.language.as_deref().unwrap_or("en")),
        Step::System => {
            if let Some(s) = &answers.system {
                put("system.hostname", &s.hostname);
                put("system.zonename", &s.zonename);
                put("system.country", s.country.as_deref().unwrap_or_default());
            }
        }
        Step::Internet => internet_fields(answers, &mut put),
        Step::Wifi => {
            if answers.wifi_same {
                put("wifi.same", "on");
            }
            let mut shared_done = false;
            for radio in radios {
                put("wifi.radio", &radio.name);
                if let Some(w) = answers.wifi.iter().find(|w| w.radio == radio.name) {
                    if answers.wifi_same && std::mem::replace(&mut shared_done, true) {
                        continue;
                    }
                    let prefix = if answers.wifi_same {
                        "all"
                    } else {
                        radio.name.as_str()
                    };
                    put(&format!("wifi.{prefix}.enabled"), "on");
                    put(&format!("wifi.{prefix}.ssid"), &w.ssid);
                    put(&format!("wifi.{prefix}.encryption"), &w.encryption);
                }
            }
            if let Some(m) = &answers.mesh {
                put("mesh.enabled", "on");
                put("mesh.radio", &m.radio);
                put("mesh.mesh_id", &m.mesh_id);
                if m.forwarding {
                    put("mesh.forwarding", "on");
                }
            }
        }
        Step::Services => services_fields(answers, &mut put),
        Step::Summary | Step::Applied => {}
    }
    out
}

fn internet_fields(answers: &Answers, put: &mut impl FnMut(&str, &str)) {
    match &answers.internet {
        None => {
            put("internet.type", "dhcp");
            put("internet.ipv6", "on");
        }
        Some(Internet::Dhcp { ipv6 }) => {
            put("internet.type", "dhcp");
            if *ipv6 {
                put("internet.ipv6", "on");
            }
        }
        Some(Internet::Static {
            ipaddr,
            netmask,
            gateway,
            dns,
            ipv6,
        }) => {
            put("internet.type", "static");
            put("internet.ipaddr", ipaddr);
            put("internet.netmask", netmask);
            put("internet.gateway", gateway);
            put("internet.dns", &dns.join(" "));
            if *ipv6 {
                put("internet.ipv6", "on");
            }
        }
        Some(Internet::Pppoe {
            username,
            service,
            mtu,
            ipv6,
            ..
        }) => {
            put("internet.type", "pppoe");
            put("internet.username", username);
            put("internet.service", service.as_deref().unwrap_or_default());
            put("internet.mtu", &mtu.unwrap_or(1492).to_string());
            if *ipv6 {
                put("internet.ipv6", "on");
            }
        }
    }
}

fn services_fields(answers: &Answers, put: &mut impl FnMut(&str, &str)) {
    if let Some(lan) = &answers.lan {
        put("lan.ipaddr", &lan.ipaddr);
        put("lan.netmask", &lan.netmask);
    }
    if let Some(d) = &answers.dhcp {
        if d.enabled {
            put("dhcp.enabled", "on");
        }
        put("dhcp.start", &d.start.to_string());
        put("dhcp.limit", &d.limit.to_string());
        put("dhcp.leasetime", &d.leasetime);
    }
    if let Some(w) = &answers.wireguard {
        put("wireguard.enabled", "on");
        put("wireguard.listen_port", &w.listen_port.to_string());
        put("wireguard.address", &w.address);
        put("wireguard.endpoint", &w.endpoint);
        let peers: Vec<&str> = w.peers.iter().map(|p| p.name.as_str()).collect();
        put("wireguard.peers", &peers.join(" "));
    }
    if let Some(o) = &answers.openvpn {
        put("openvpn.enabled", "on");
        put("openvpn.port", &o.port.to_string());
        put("openvpn.proto", &o.proto);
        put("openvpn.subnet", &o.subnet);
        put("openvpn.endpoint", &o.endpoint);
    }
    match &answers.community {
        Some(Community::Create { name }) => {
            put("community.action", "create");
            put("community.name", name);
        }
        Some(Community::Join { .. }) => put("community.action", "join"),
        None => put("community.action", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LAN: (Ipv4Addr, u32) = (Ipv4Addr::new(192, 168, 1, 1), 24);

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn steps_walk_in_order_and_fields_find_their_step() {
        assert_eq!(Step::Language.next(), Step::System);
        assert_eq!(Step::Summary.next(), Step::Summary);
        assert_eq!(Step::System.previous(), Step::Language);
        assert_eq!(Step::of_field("wifi.radio1.key"), Step::Wifi);
        assert_eq!(Step::of_field("wifi.all.ssid"), Step::Wifi);
        assert_eq!(Step::of_field("password_repeat"), Step::System);
        assert_eq!(Step::of_field("openvpn.subnet"), Step::Services);
        assert_eq!(input_for("internet.dns.2"), "internet.dns");
        assert_eq!(input_for("wireguard.peers.0.name"), "wireguard.peers");
        for step in Step::ALL {
            assert_eq!(Step::from_slug(step.slug()), Some(step));
        }
    }

    #[test]
    fn every_step_reads_back_what_it_shows() {
        let radios = [
            Radio {
                name: "radio0".into(),
                band: "2g".into(),
            },
            Radio {
                name: "radio1".into(),
                band: "5g".into(),
            },
        ];
        let answers = Answers {
            language: Some("de".into()),
            system: Some(SystemAnswers {
                hostname: "gartenhaus".into(),
                zonename: "Europe/Berlin".into(),
                country: Some("DE".into()),
            }),
            password: Some("Gartenhaus-Kiwi-73!".into()),
            internet: Some(Internet::Pppoe {
                username: "kunde@isp".into(),
                password: "geheim".into(),
                service: Some("isp".into()),
                mtu: Some(1492),
                ipv6: false,
            }),
            lan: Some(Lan {
                ipaddr: "192.168.7.1".into(),
                netmask: "24".into(),
            }),
            wifi: vec![Wifi {
                radio: "radio1".into(),
                ssid: "Garten".into(),
                key: "kiwi-kiwi-kiwi".into(),
                encryption: "sae".into(),
                country: None,
            }],
            wifi_same: false,
            mesh: Some(Mesh {
                radio: "radio0".into(),
                mesh_id: "ff-mesh".into(),
                key: "mesh-mesh-mesh".into(),
                forwarding: true,
            }),
            dhcp: Some(DhcpServer {
                enabled: true,
                start: 10,
                limit: 50,
                leasetime: "1d".into(),
            }),
            wireguard: Some(WireGuard {
                listen_port: 51820,
                address: "10.99.0.1/24".into(),
                endpoint: "garten.example.org".into(),
                peers: vec![
                    WireGuardPeer {
                        name: "phone".into(),
                    },
                    WireGuardPeer {
                        name: "laptop".into(),
                    },
                ],
            }),
            openvpn: Some(OpenVpn {
                port: 1194,
                proto: "udp".into(),
                subnet: "10.8.0.0/24".into(),
                endpoint: "garten.example.org".into(),
            }),
            community: Some(Community::Join {
                code: format!("portico-mesh:ff-kiez:{}", "A".repeat(43)),
            }),
        };
        // Secrets are not in the form: they are kept from the answers already held.
        let mut read = answers.clone();
        for step in Step::ALL {
            let form = fields(step, &answers, &radios);
            assert!(form.iter().all(|(k, _)| !k.contains("key")
                && !k.contains("password")
                && k != "community.code"));
            let errors = read_step(step, &form, &mut read, true, LAN);
            assert_eq!(errors, [], "{step:?}");
        }
        assert_eq!(read, answers);
    }

    /// Issue 23: the community answer. A new community needs a good name, a join code its
    /// shape (the key's bytes are the server's to check); what goes to a browser names the
    /// community and holds no key, and still passes the checks.
    #[test]
    fn a_community_is_created_with_a_good_name_or_joined_with_a_code_of_the_right_shape() {
        let read = |pairs_: &[(&str, &str)]| {
            let mut answers = Answers::default();
            let errors = read_step(Step::Services, &pairs(pairs_), &mut answers, false, LAN);
            let fields: Vec<String> = errors
                .into_iter()
                .map(|e| e.field)
                .filter(|f| f.starts_with("community"))
                .collect();
            (answers.community, fields)
        };
        assert_eq!(
            read(&[
                ("community.action", "create"),
                ("community.name", "ff-kiez.1")
            ]),
            (
                Some(Community::Create {
                    name: "ff-kiez.1".into()
                }),
                vec![]
            )
        );
        for bad in ["", "Kiez Mitte", &"k".repeat(65)] {
            let (_, errors) = read(&[("community.action", "create"), ("community.name", bad)]);
            assert_eq!(errors, ["community.name"], "{bad:?}");
        }
        let key = "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMN-0";
        let code = format!("portico-mesh:kiez:{key}");
        let (joined, errors) = read(&[
            ("community.action", "join"),
            ("community.code", &format!("  {code} ")),
        ]);
        assert_eq!(
            (joined.clone(), errors),
            (Some(Community::Join { code: code.clone() }), vec![])
        );
        for bad in [
            "kiez",
            "portico-mesh:kiez",
            "portico-mesh::abc",
            &format!("portico-mesh:kiez:{}", &key[1..]),
            &format!("portico-mesh:kiez:{}+", &key[1..]),
            &format!("portico-mesh:kiez mitte:{key}"),
        ] {
            let (_, errors) = read(&[("community.action", "join"), ("community.code", bad)]);
            assert_eq!(errors, ["community.code"], "{bad:?}");
        }
        assert_eq!(read(&[("community.action", "")]), (None, vec![]));
        // What a browser holds: the community's name, no key; it passes the checks and an
        // empty field keeps the code the server holds.
        let held = Answers {
            community: joined,
            ..Answers::default()
        };
        let shown = without_secrets(&held);
        let Some(Community::Join { code: masked }) = &shown.community else {
            panic!("still a join")
        };
        assert!(!masked.contains(key) && masked.ends_with(KEPT_KEY));
        assert_eq!(super::super::join_code_community(masked), Some("kiez"));
        let mut browser = shown.clone();
        let form = pairs(&[("community.action", "join"), ("community.code", "")]);
        assert_eq!(
            read_step(Step::Services, &form, &mut browser, false, LAN)
                .iter()
                .filter(|e| e.field.starts_with("community"))
                .count(),
            0
        );
        let mut server = held.clone();
        read_step(Step::Services, &form, &mut server, false, LAN);
        assert_eq!(server.community, held.community);
        assert_eq!(
            secrets_removed(&held).community,
            Some(Community::Join {
                code: String::new()
            })
        );
    }

    /// Issue 20: one name and password for every band (the default) reads back as one network
    /// per radio; an error names the shared field.
    #[test]
    fn one_network_on_every_band() {
        let radios = ["radio0", "radio1"].map(|name| Radio {
            name: name.into(),
            band: String::new(),
        });
        let network = |radio: &str| Wifi {
            radio: radio.into(),
            ssid: "Garten".into(),
            key: "kiwi-kiwi-kiwi".into(),
            encryption: "sae".into(),
            country: None,
        };
        let answers = Answers {
            wifi: vec![network("radio0"), network("radio1")],
            wifi_same: true,
            ..Answers::default()
        };
        let form = fields(Step::Wifi, &answers, &radios);
        assert_eq!(form.iter().filter(|(k, _)| k == "wifi.all.ssid").count(), 1);
        let mut read = answers.clone();
        assert_eq!(read_step(Step::Wifi, &form, &mut read, false, LAN), []);
        assert_eq!(read, answers);
        // Typed once, set on both radios; a short password is one error, on the shared field.
        let typed = pairs(&[
            ("wifi.radio", "radio0"),
            ("wifi.radio", "radio1"),
            ("wifi.same", "on"),
            ("wifi.all.enabled", "on"),
            ("wifi.all.ssid", "Hof"),
            ("wifi.all.key", "short"),
            ("wifi.all.encryption", "sae"),
            // The hidden per-band fields are ignored.
            ("wifi.radio0.enabled", "on"),
            ("wifi.radio0.ssid", "ignored"),
        ]);
        let mut read = Answers::default();
        let errors = read_step(Step::Wifi, &typed, &mut read, false, LAN);
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["wifi.all.key"]
        );
        assert_eq!(read.wifi.len(), 2);
        assert!(read.wifi.iter().all(|w| w.ssid == "Hof"));
    }

    #[test]
    fn refusals_are_the_rules_of_the_step() {
        let mut answers = Answers::default();
        let form = pairs(&[
            ("system.hostname", "-bad"),
            ("system.zonename", "Europe/Berlin"),
            ("password", "Gartenhaus-Kiwi-73!"),
            ("password_repeat", "Gartenhaus-Kiwi-74!"),
        ]);
        let errors = read_step(Step::System, &form, &mut answers, true, LAN);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["password_repeat", "system.hostname"]);

        let mut answers = Answers::default();
        let form = pairs(&[("system.hostname", "ok"), ("system.zonename", "UTC")]);
        let errors = read_step(Step::System, &form, &mut answers, true, LAN);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].field.as_str(), errors[0].key),
            ("password", "wizard-error-password-required")
        );

        let form = pairs(&[
            ("internet.type", "static"),
            ("internet.ipaddr", "192.168.1.7"),
            ("internet.netmask", "24"),
            ("internet.gateway", "192.168.1.1"),
            ("internet.dns", "1.1.1.1 nonsense"),
        ]);
        let errors = read_step(Step::Internet, &form, &mut answers, true, LAN);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["internet.ipaddr", "internet.dns.1"]);
        // Issue 20: each message names its field and fits it (a DNS server's does not talk of a
        // netmask), in every language.
        for lang in crate::i18n::Lang::ALL {
            let dns = errors[1].message(lang);
            assert!(
                dns.contains("DNS") && !dns.to_lowercase().contains("mask"),
                "{lang:?}: {dns}"
            );
        }
        let mut answers = Answers::default();
        let form = pairs(&[("internet.type", "pppoe"), ("internet.username", " ")]);
        let errors = read_step(Step::Internet, &form, &mut answers, true, LAN);
        let messages: Vec<String> = errors
            .iter()
            .map(|e| e.message(crate::i18n::Lang::En))
            .collect();
        assert_eq!(
            messages,
            [
                "Enter the PPPoE user name your provider gave you.",
                "Enter the PPPoE password your provider gave you."
            ]
        );
    }

    #[test]
    fn secrets_never_leave_and_are_kept_when_left_empty() {
        let answers = Answers {
            password: Some("Gartenhaus-Kiwi-73!".into()),
            wifi: vec![Wifi {
                radio: "radio0".into(),
                ssid: "x".into(),
                key: "kiwi-kiwi-kiwi".into(),
                encryption: "sae".into(),
                country: None,
            }],
            ..Answers::default()
        };
        let shown = without_secrets(&answers);
        assert_eq!(shown.password.as_deref(), Some(KEPT));
        assert_eq!(shown.wifi[0].key, KEPT);
        let stored = secrets_removed(&answers);
        assert_eq!(stored.password, None);
        assert_eq!(stored.wifi[0].key, "");
        let json = serde_json::to_string(&stored).unwrap_or_default();
        assert!(!json.contains("kiwi") && !json.contains("Gartenhaus"));
    }
}
