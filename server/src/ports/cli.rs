//! `portico ports [--json] [--seconds N]`: observes every port until each has a verdict (or
//! for at most N seconds) and prints what is plugged in, the evidence and the suggested role.
//! `--watch` keeps observing for the N seconds and prints the ports as one JSON line (with the
//! time, `at_ms`) whenever a port's verdict changes: what the benchmark times link-up against.
//! Observing sends the ports' probes: refused in the host's network namespace.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::frames::Sighting;
use super::{EvidenceView, Ports, Snapshot};

/// What `portico ports` takes.
#[derive(Debug, clap::Args)]
pub struct PortsArgs {
    /// Print the ports as JSON (as `GET /api/v1/ports` answers).
    #[arg(long)]
    json: bool,
    /// Observe at most this long.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Keep observing for the whole time; a JSON line whenever a verdict changes.
    #[arg(long)]
    watch: bool,
}

/// Runs the command.
///
/// # Errors
/// In the host's network namespace, or when the router's files cannot be read.
pub fn run(root: &std::path::Path, args: &PortsArgs) -> anyhow::Result<ExitCode> {
    let platform = crate::platform::open(root)?;
    let ports = Ports::start(platform)?;
    let until = Instant::now() + Duration::from_secs(args.seconds);
    if args.watch {
        watch(&ports, until)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut snapshot = ports.snapshot();
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
        snapshot = ports.snapshot();
        if !snapshot.ports.is_empty() && snapshot.ports.iter().all(|p| p.judgement.kind.is_some()) {
            break;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else {
        print!("{}", text(&snapshot));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the ports as a JSON line whenever a port appears, goes or changes its verdict.
fn watch(ports: &Ports, until: Instant) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut last = Vec::new();
    while Instant::now() < until {
        let snapshot = ports.snapshot();
        let verdicts: Vec<(String, Option<super::verdict::Kind>)> = snapshot
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.judgement.kind))
            .collect();
        if verdicts != last {
            let at_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let mut line = serde_json::to_value(&snapshot)?;
            line["at_ms"] = serde_json::json!(at_ms);
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}")?;
            out.flush()?;
            last = verdicts;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The ports in words, one paragraph each.
pub fn text(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    for port in &snapshot.ports {
        let verdict = port.judgement.kind.map_or_else(
            || "not sure yet".to_owned(),
            |k| format!("{} ({} %)", name(k), port.judgement.confidence),
        );
        let role = port
            .suggested
            .map(|r| format!("; suggested role: {}", super::serde_name(&r)))
            .unwrap_or_default();
        let _ = writeln!(out, "{}: {verdict}{role}", port.name);
        if !port.makers.is_empty() {
            let _ = writeln!(out, "  devices made by {}", port.makers.join(", "));
        }
        for evidence in &port.evidence {
            let _ = writeln!(out, "  {}", describe(evidence));
        }
    }
    out
}

fn name(kind: super::verdict::Kind) -> String {
    super::serde_name(&kind).replace('_', " ")
}

/// One piece of evidence in English (the web page says it in the user's language).
pub fn describe(view: &EvidenceView) -> String {
    let e = &view.evidence;
    let what = match &e.sighting {
        Sighting::DhcpServer { server, offered } => {
            format!("DHCP server {server} answered (offered {offered})")
        }
        Sighting::RouterAdvert { router } => format!("IPv6 router {router} advertised itself"),
        Sighting::Pppoe { concentrator } => {
            format!("PPPoE access concentrator {concentrator} answered")
        }
        Sighting::Babel {
            neighbour,
            vid,
            hears_us,
        } => format!(
            "babel neighbour {neighbour}{}{}",
            vid.map(|v| format!(" on VLAN {v}")).unwrap_or_default(),
            if *hears_us { ", hears this router" } else { "" }
        ),
        Sighting::Batman { originator, vid } => format!(
            "batman-adv node {} on VLAN {}",
            originator.as_deref().unwrap_or("?"),
            vid.map_or_else(|| "none".to_owned(), |v| v.to_string())
        ),
        Sighting::Anygw { id } => {
            format!("LibreMesh gateway aa:aa:aa:{:02x}:{:02x}:aa", id[0], id[1])
        }
        Sighting::Lldp {
            name,
            description,
            capabilities,
        } => format!("LLDP: {name} ({description}) {}", capabilities.join(", ")),
        Sighting::Mndp { identity } => format!("MikroTik device {identity}"),
        Sighting::Ubiquiti { name } => format!("Ubiquiti device {name}"),
        Sighting::Stp => "spanning tree (a switch or bridge)".to_owned(),
        Sighting::DhcpClient => "a device asked for an address".to_owned(),
        Sighting::Mdns => "devices announced themselves (mDNS)".to_owned(),
        Sighting::Loop { .. } => format!(
            "this router's loop probe from {} came back",
            view.port.as_deref().unwrap_or("another port")
        ),
    };
    format!("{what} ({}×, last {} s ago)", e.count, e.last_secs_ago)
}
