//! Port forwards: firewall `redirect` sections (DNAT from the WAN zone to a LAN device), as
//! fw4 reads them. A new forward is checked against the LAN, the other forwards and the
//! router's own ports before it becomes edits; the edits go through the checked apply.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use uci::Package;
use uci::views::Redirect;

/// The protocols a forward can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    Both,
}

impl Proto {
    pub fn parse(text: &str) -> Option<Proto> {
        match text {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "tcp udp" | "tcpudp" | "both" => Some(Proto::Both),
            _ => None,
        }
    }

    /// The form's word (and fw4's list, space-separated).
    pub fn word(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Both => "tcp udp",
        }
    }

    fn carries(self, tcp: bool) -> bool {
        matches!(
            (self, tcp),
            (Proto::Both, _) | (Proto::Tcp, true) | (Proto::Udp, false)
        )
    }

    fn overlaps(self, other: Proto) -> bool {
        [true, false]
            .iter()
            .any(|&t| self.carries(t) && other.carries(t))
    }
}

/// One port forward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    /// The `redirect` section's name (`None` for an anonymous one).
    pub section: Option<String>,
    /// Its index among the `redirect` sections (anonymous sections are addressed by it).
    pub index: usize,
    pub name: String,
    pub proto: Proto,
    /// The port (or range) on the router's internet side.
    pub external: RangeInclusive<u16>,
    pub ip: Ipv4Addr,
    /// The port on the device (`None`: the same as outside).
    pub internal: Option<u16>,
    pub enabled: bool,
}

impl Forward {
    /// The UCI path of the section (`firewall.<name>` or `firewall.@redirect[<index>]`).
    pub fn path(&self) -> String {
        match &self.section {
            Some(name) => format!("firewall.{name}"),
            None => format!("firewall.@redirect[{}]", self.index),
        }
    }

    /// The external ports as written (`8080`, `6000-6010`).
    pub fn external_text(&self) -> String {
        port_text(&self.external)
    }
}

fn port_text(range: &RangeInclusive<u16>) -> String {
    if range.start() == range.end() {
        range.start().to_string()
    } else {
        format!("{}-{}", range.start(), range.end())
    }
}

/// A port (`8080`) or a range (`6000-6010`, also fw4's `6000:6010`).
pub fn parse_ports(text: &str) -> Option<RangeInclusive<u16>> {
    let text = text.trim();
    let (a, b) = text.split_once(['-', ':']).unwrap_or((text, text));
    let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a >= 1 && a <= b).then_some(a..=b)
}

/// The port forwards of `firewall` (DNAT redirects from the `wan` zone to an IPv4 address).
pub fn list(firewall: &Package) -> Vec<Forward> {
    firewall
        .sections_of("redirect")
        .enumerate()
        .filter_map(|(index, section)| {
            let r = Redirect(section);
            if r.target().is_some_and(|t| t.to_string() != "DNAT")
                || r.src().as_deref() != Some("wan")
            {
                return None;
            }
            let protos = r.proto().join(" ");
            Some(Forward {
                section: (!section.anonymous).then(|| section.name.clone()),
                index,
                name: r.redirect_name().unwrap_or_default(),
                proto: if protos.is_empty() {
                    Some(Proto::Both)
                } else {
                    Proto::parse(&protos)
                }?,
                external: parse_ports(&r.src_dport()?)?,
                ip: r.dest_ip()?,
                internal: r.dest_port().and_then(|p| p.trim().parse().ok()),
                enabled: section.get("enabled").is_none_or(|v| *v != "0"),
            })
        })
        .collect()
}

/// What the form asked for, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Typed {
    pub name: String,
    pub proto: String,
    pub external: String,
    pub ip: String,
    pub internal: String,
}

/// Why a forward is refused: the field and the reason (`forwards-error-<reason>`).
pub type Refusal = (&'static str, &'static str);

/// The router's side of the checks.
pub struct Router<'a> {
    pub forwards: &'a [Forward],
    /// The LAN's network (address, prefix length): the device must be on it.
    pub lan: (Ipv4Addr, u32),
    /// Ports the router itself listens on (TCP, UDP), its services on the internet side.
    pub own_tcp: &'a [u16],
    pub own_udp: &'a [u16],
}

/// A new forward from the form, or every refusal (each field once).
///
/// # Errors
/// The fields that are not valid, and why.
pub fn check(typed: &Typed, router: &Router<'_>) -> Result<Forward, Vec<Refusal>> {
    let mut refused = Vec::new();
    let name = typed.name.trim();
    if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        refused.push(("name", "name"));
    }
    let proto = Proto::parse(typed.proto.trim());
    if proto.is_none() {
        refused.push(("proto", "proto"));
    }
    let external = parse_ports(&typed.external);
    if external.is_none() {
        refused.push(("external", "port"));
    }
    let ip = typed.ip.trim().parse::<Ipv4Addr>().ok();
    let (lan, len) = router.lan;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    match ip {
        None => refused.push(("ip", "ip")),
        Some(ip) if u32::from(ip) & mask != u32::from(lan) & mask => {
            refused.push(("ip", "not-lan"));
        }
        Some(ip) if ip == lan || u32::from(ip) & !mask == 0 || u32::from(ip) | mask == u32::MAX => {
            refused.push(("ip", "not-device"));
        }
        Some(_) => {}
    }
    let internal = match typed.internal.trim() {
        "" => None,
        text => match text.parse::<u16>() {
            Ok(port) if port >= 1 => Some(port),
            _ => {
                refused.push(("internal", "port"));
                None
            }
        },
    };
    if let (Some(range), Some(_)) = (&external, internal)
        && range.start() != range.end()
    {
        refused.push(("internal", "range"));
    }
    if let (Some(proto), Some(range)) = (proto, &external) {
        let overlaps =
            |r: &RangeInclusive<u16>| r.start() <= range.end() && range.start() <= r.end();
        if router
            .forwards
            .iter()
            .any(|f| f.proto.overlaps(proto) && overlaps(&f.external))
        {
            refused.push(("external", "taken"));
        } else if (proto.carries(true) && router.own_tcp.iter().any(|p| range.contains(p)))
            || (proto.carries(false) && router.own_udp.iter().any(|p| range.contains(p)))
        {
            refused.push(("external", "router"));
        }
    }
    match (refused.is_empty(), proto, external, ip) {
        (true, Some(proto), Some(external), Some(ip)) => Ok(Forward {
            section: None,
            index: router.forwards.len(),
            name: name.to_owned(),
            proto,
            external,
            ip,
            internal,
            enabled: true,
        }),
        _ => Err(refused),
    }
}

/// A section name for a new forward: `fwd_<name in letters and digits>`, unique in `firewall`.
fn section_name(name: &str, firewall: &Package) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    let base = format!("fwd_{}", slug.trim_matches('_'));
    let base = if base == "fwd_" {
        "fwd".to_owned()
    } else {
        base
    };
    super::unique_name(&base, firewall)
}

/// The edits that add `forward` to `firewall`.
pub fn add(forward: &Forward, firewall: &Package) -> Vec<uci::Edit> {
    let path = format!("firewall.{}", section_name(&forward.name, firewall));
    let set = |option: &str, value: &str| uci::Edit::Set {
        path: format!("{path}.{option}"),
        value: value.as_bytes().to_vec(),
    };
    let mut edits = vec![
        uci::Edit::Set {
            path: path.clone(),
            value: b"redirect".to_vec(),
        },
        set("name", &forward.name),
        set("target", "DNAT"),
        set("src", "wan"),
        set("dest", "lan"),
        uci::Edit::SetList {
            path: format!("{path}.proto"),
            items: forward
                .proto
                .word()
                .split(' ')
                .map(|p| p.as_bytes().to_vec())
                .collect(),
        },
        set("src_dport", &forward.external_text()),
        set("dest_ip", &forward.ip.to_string()),
    ];
    if let Some(port) = forward.internal {
        edits.push(set("dest_port", &port.to_string()));
    }
    edits
}

/// The edits that remove `forward`.
pub fn remove(forward: &Forward) -> Vec<uci::Edit> {
    vec![uci::Edit::Delete {
        path: forward.path(),
    }]
}

/// The ports this namespace listens on (`/proc/net/tcp*` in LISTEN, `/proc/net/udp*` bound),
/// loopback-only sockets left out: what a forward on the internet side would hide.
pub fn listening_ports() -> (Vec<u16>, Vec<u16>) {
    let read = |files: &[&str], tcp: bool| -> Vec<u16> {
        let mut ports: Vec<u16> = files
            .iter()
            .filter_map(|f| crate::status::system::read_small(std::path::Path::new(f)))
            .flat_map(|text| {
                text.lines()
                    .skip(1)
                    .filter_map(|line| {
                        let fields: Vec<&str> = line.split_whitespace().collect();
                        let (local, state) = (fields.get(1)?, fields.get(3)?);
                        if tcp && *state != "0A" {
                            return None;
                        }
                        let (address, port) = local.rsplit_once(':')?;
                        // 127.0.0.1 and ::1, as the kernel prints them.
                        if address == "0100007F" || address == "00000000000000000000000001000000" {
                            return None;
                        }
                        u16::from_str_radix(port, 16).ok()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    };
    (
        read(&["/proc/net/tcp", "/proc/net/tcp6"], true),
        read(&["/proc/net/udp", "/proc/net/udp6"], false),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firewall() -> Package {
        uci::parse(
            "firewall",
            b"config redirect 'fwd_web'\n\toption name 'Web'\n\toption target 'DNAT'\n\toption src 'wan'\n\toption dest 'lan'\n\tlist proto 'tcp'\n\toption src_dport '8080'\n\toption dest_ip '192.168.1.20'\n\toption dest_port '80'\n\
              config redirect\n\toption name 'Game'\n\toption src 'wan'\n\toption src_dport '6000-6010'\n\toption dest_ip '192.168.1.30'\n\
              config redirect\n\toption name 'Broken'\n\toption src 'wan'\n\toption src_dport 'x'\n\toption dest_ip '192.168.1.30'\n\
              config redirect\n\toption target 'SNAT'\n\toption src 'lan'\n",
        )
        .unwrap()
    }

    fn typed(proto: &str, external: &str, ip: &str, internal: &str) -> Typed {
        Typed {
            name: "Camera".into(),
            proto: proto.into(),
            external: external.into(),
            ip: ip.into(),
            internal: internal.into(),
        }
    }

    #[test]
    fn forwards_are_read_as_fw4_writes_them() {
        let list = list(&firewall());
        assert_eq!(list.len(), 2, "garbage and SNAT are no forwards: {list:?}");
        assert_eq!(list[0].path(), "firewall.fwd_web");
        assert_eq!((list[0].proto, list[0].internal), (Proto::Tcp, Some(80)));
        assert_eq!(list[1].path(), "firewall.@redirect[1]");
        assert_eq!(
            (list[1].proto, list[1].external_text()),
            (Proto::Both, "6000-6010".to_owned())
        );
    }

    #[test]
    fn a_forward_is_checked_against_the_lan_the_others_and_the_router() {
        let existing = list(&firewall());
        let router = Router {
            forwards: &existing,
            lan: (Ipv4Addr::new(192, 168, 1, 1), 24),
            own_tcp: &[22, 80],
            own_udp: &[51820],
        };
        let ok = check(&typed("tcp", "8443", "192.168.1.50", "443"), &router).unwrap();
        assert_eq!((ok.external, ok.internal), (8443..=8443, Some(443)));
        let fields = |t: Typed| check(&t, &router).unwrap_err();
        assert_eq!(
            fields(typed("tcp", "8080", "192.168.1.50", "")),
            [("external", "taken")]
        );
        assert_eq!(
            fields(typed("udp", "6005", "192.168.1.50", "")),
            [("external", "taken")],
            "inside a range"
        );
        assert!(
            check(&typed("udp", "8080", "192.168.1.50", ""), &router).is_ok(),
            "another protocol"
        );
        assert_eq!(
            fields(typed("tcp", "22", "192.168.1.50", "")),
            [("external", "router")]
        );
        assert_eq!(
            fields(typed("both", "51820", "192.168.1.50", "")),
            [("external", "router")]
        );
        assert!(
            check(&typed("tcp", "51820", "192.168.1.50", ""), &router).is_ok(),
            "UDP only"
        );
        assert_eq!(
            fields(typed("tcp", "9000", "10.0.0.5", "")),
            [("ip", "not-lan")]
        );
        assert_eq!(
            fields(typed("tcp", "9000", "192.168.1.1", "")),
            [("ip", "not-device")],
            "the router"
        );
        assert_eq!(
            fields(typed("tcp", "9000", "192.168.1.255", "")),
            [("ip", "not-device")]
        );
        assert_eq!(
            fields(typed("tcp", "9000-9010", "192.168.1.50", "80")),
            [("internal", "range")]
        );
        assert_eq!(
            fields(typed("icmp", "0", "x", "70000")),
            [
                ("proto", "proto"),
                ("external", "port"),
                ("ip", "ip"),
                ("internal", "port")
            ]
        );
        let mut nameless = typed("tcp", "9000", "192.168.1.50", "");
        nameless.name = "  ".into();
        assert_eq!(check(&nameless, &router).unwrap_err(), [("name", "name")]);
    }

    #[test]
    fn edits_add_a_named_section_and_remove_by_path() {
        let fw = firewall();
        let forward = Forward {
            name: "Web".into(),
            ..list(&fw)[0].clone()
        };
        let edits = add(&forward, &fw);
        let uci::Edit::Set { path, value } = &edits[0] else {
            panic!()
        };
        assert_eq!(
            (path.as_str(), value.as_slice()),
            ("firewall.fwd_web_1", b"redirect".as_slice()),
            "unique"
        );
        let dir = tempfile::tempdir().unwrap();
        let store = crate::platform::store(dir.path());
        std::fs::create_dir_all(dir.path().join("etc/config")).unwrap();
        std::fs::write(store.path("firewall"), uci::emit::to_file(&fw)).unwrap();
        let mut changes = uci::ChangeSet::new(&store);
        for edit in &edits {
            changes.edit(edit).unwrap();
        }
        let again = list(changes.package("firewall").unwrap());
        assert_eq!(again.len(), 3);
        assert_eq!(again[2].name, "Web");
        assert_eq!(
            remove(&list(&fw)[1]),
            [uci::Edit::Delete {
                path: "firewall.@redirect[1]".into()
            }]
        );
    }

    #[test]
    fn this_namespaces_listening_ports_are_read() {
        let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tcp, _) = listening_ports();
        assert!(tcp.contains(&port));
        let local = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(
            !listening_ports()
                .0
                .contains(&local.local_addr().unwrap().port()),
            "loopback only"
        );
    }
}
