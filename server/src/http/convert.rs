//! The capabilities' state as the app shows it: the edge turns core types into the app's view
//! types, so no capability depends on how a page looks.

use std::time::{SystemTime, UNIX_EPOCH};

use app::i18n::Lang;

use crate::apply;

/// The applier's status as pages, the API and the event stream show it.
pub fn apply_status(status: &apply::Status) -> app::ApplyStatus {
    let millis = |t: SystemTime| {
        u64::try_from(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis())
            .unwrap_or(u64::MAX)
    };
    let now = millis(SystemTime::now());
    app::ApplyStatus {
        pending: status.is_pending(),
        seconds_left: status
            .pending
            .as_ref()
            .map_or(0, |p| millis(p.deadline).saturating_sub(now).div_ceil(1000)),
        deadline_ms: status.pending.as_ref().map(|p| millis(p.deadline)),
        files: status
            .pending
            .as_ref()
            .map(|p| p.files.clone())
            .unwrap_or_default(),
        last: status.last.map(|o| o.as_str().to_owned()),
        note: status.note.clone(),
    }
}

/// The ports as the page and its event stream show them: kinds and roles by name, each piece
/// of evidence as its sentence's key and arguments.
pub fn ports_view(snapshot: &crate::ports::Snapshot) -> app::ports::PortsView {
    use crate::ports::serde_name as name;
    use app::ports::{EventRow, PortRow, PortsView};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PortsView {
        running: snapshot.running,
        ports: snapshot
            .ports
            .iter()
            .map(|p| {
                let (current, bridge) = match &p.current {
                    crate::ports::Current::Bridge(b) => ("bridge".to_owned(), b.clone()),
                    other => (name(other), String::new()),
                };
                PortRow {
                    name: p.name.clone(),
                    mac: p.mac.clone(),
                    carrier: p.carrier,
                    current,
                    bridge,
                    kind: p.judgement.kind.map(|k| name(&k)),
                    confidence: p.judgement.confidence,
                    held_secs: p.judgement.held_secs,
                    flaps: u64::try_from(p.judgement.flaps).unwrap_or(u64::MAX),
                    frozen_secs: p.judgement.frozen_secs,
                    suggested: p.suggested.map(|r| name(&r)),
                    devices: u64::try_from(p.devices).unwrap_or(u64::MAX),
                    makers: p.makers.clone(),
                    evidence: p.evidence.iter().map(evidence_row).collect(),
                    mode: name(&p.policy.mode),
                    pinned: p.policy.pinned.map(|r| name(&r)),
                    protected: p.protected,
                    change: p.change.as_ref().map(|c| app::ports::ChangeRow {
                        role: name(&c.role),
                        by: name(&c.by),
                        progress: name(&c.progress),
                        ago_secs: now.saturating_sub(c.at),
                    }),
                }
            })
            .collect(),
        events: snapshot
            .events
            .iter()
            .map(|e| EventRow {
                ago_secs: now.saturating_sub(e.at),
                port: e.port.clone(),
                from: e.from.map(|k| name(&k)),
                to: e.to.map(|k| name(&k)),
            })
            .collect(),
    }
}

fn evidence_row(view: &crate::ports::EvidenceView) -> app::ports::EvidenceRow {
    use crate::ports::frames::Sighting;
    let e = &view.evidence;
    let arg = |k: &str, v: String| (k.to_owned(), v);
    let (kind, args) = match &e.sighting {
        Sighting::DhcpServer { server, offered } => (
            "dhcp_server",
            vec![
                arg("server", server.to_string()),
                arg("offered", offered.to_string()),
            ],
        ),
        Sighting::RouterAdvert { router } => {
            ("router_advert", vec![arg("router", router.to_string())])
        }
        Sighting::Pppoe { concentrator } => {
            ("pppoe", vec![arg("concentrator", concentrator.clone())])
        }
        Sighting::Babel {
            neighbour,
            hears_us: true,
            ..
        } => ("babel_both", vec![arg("neighbour", neighbour.to_string())]),
        Sighting::Babel {
            neighbour,
            vid: None,
            ..
        } => ("babel", vec![arg("neighbour", neighbour.to_string())]),
        Sighting::Babel {
            neighbour,
            vid: Some(vid),
            ..
        } => (
            "babel_vlan",
            vec![
                arg("neighbour", neighbour.to_string()),
                arg("vid", vid.to_string()),
            ],
        ),
        Sighting::Batman { originator, vid } => {
            let originator = arg(
                "originator",
                originator.clone().unwrap_or_else(|| "?".into()),
            );
            match vid {
                Some(vid) => ("batman", vec![originator, arg("vid", vid.to_string())]),
                None => ("batman_untagged", vec![originator]),
            }
        }
        Sighting::Anygw { id } => (
            "anygw",
            vec![arg(
                "mac",
                format!("aa:aa:aa:{:02x}:{:02x}:aa", id[0], id[1]),
            )],
        ),
        Sighting::Lldp {
            name,
            description,
            capabilities,
        } => (
            "lldp",
            vec![
                arg("name", name.clone()),
                arg("description", description.clone()),
                arg("capabilities", capabilities.join(", ")),
            ],
        ),
        Sighting::Mndp { identity } => ("mndp", vec![arg("identity", identity.clone())]),
        Sighting::Ubiquiti { name } => ("ubiquiti", vec![arg("name", name.clone())]),
        Sighting::Stp => ("stp", vec![]),
        Sighting::DhcpClient => ("dhcp_client", vec![]),
        Sighting::Mdns => ("mdns", vec![]),
        Sighting::Loop { from } => (
            "loop",
            vec![arg(
                "port",
                view.port.clone().unwrap_or_else(|| from.to_string()),
            )],
        ),
    };
    app::ports::EvidenceRow {
        kind: kind.into(),
        args,
        count: e.count,
        last_secs_ago: e.last_secs_ago,
    }
}

/// The offload's snapshot as the dashboard, the API and the event stream show it.
pub fn offload_view(snapshot: &crate::offload::Snapshot) -> app::offload::OffloadView {
    use crate::offload::snapshot::{FlowState, Nat};
    use app::offload::{Attachment, CounterRow, FlowRow, OffloadView, RatePoint};
    let c = snapshot.counters;
    OffloadView {
        running: snapshot.running,
        problem: snapshot.problem.clone(),
        hook: snapshot.hook.name().into(),
        attached: snapshot
            .attached
            .iter()
            .map(|(name, mode)| Attachment {
                name: name.clone(),
                mode: mode.name().into(),
            })
            .collect(),
        capacity: snapshot.capacity,
        used: snapshot.used,
        counters: CounterRow {
            fast_packets: c.fast_packets,
            fast_bytes: c.fast_bytes,
            slow_packets: c.slow_packets,
            redirect_errors: c.redirect_errors,
            map_full: c.map_full,
            watchdog: c.watchdog,
            finished: c.finished,
            portal: c.portal,
        },
        history: snapshot
            .history
            .iter()
            .map(|p| RatePoint {
                t: p.t,
                fast: p.fast,
                slow: p.slow,
            })
            .collect(),
        ns_per_packet: snapshot.ns_per_packet,
        flows: snapshot
            .flows
            .iter()
            .map(|f| FlowRow {
                proto: if f.proto == 6 { "tcp" } else { "udp" }.into(),
                src: f.src.to_string(),
                dst: f.dst.to_string(),
                in_if: f.in_if.clone(),
                out_if: f.out_if.clone().unwrap_or_default(),
                nat: f
                    .nat
                    .iter()
                    .map(|n| match n {
                        Nat::Source(to) => format!("SNAT {to}"),
                        Nat::Destination(to) => format!("DNAT {to}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                state: match f.state {
                    FlowState::Seen => "seen",
                    FlowState::Offloaded => "offloaded",
                    FlowState::Finished => "finished",
                }
                .into(),
                age_secs: f.age.as_secs(),
                idle_secs: f.idle.as_secs(),
                packets: f.packets,
                bytes: f.bytes,
                offload_delay_ms: f.offload_delay.map(|d| d.as_secs_f64() * 1e3),
            })
            .collect(),
        offloaded_total: snapshot.offloaded_total,
        flushes: snapshot.flushes,
    }
}

/// Why Bluetooth or the link is not available, in the user's language.
fn cause_text(cause: &crate::ble::Cause, lang: Lang) -> String {
    use crate::ble::Cause;
    match cause {
        Cause::NotBuilt => lang.tr("ble-why-not-built"),
        Cause::NoBluez => lang.tr("ble-why-no-bluez"),
        Cause::NoAdapter => lang.tr("ble-why-no-adapter"),
        Cause::PoweredOff => lang.tr("ble-why-powered-off"),
        Cause::NoAnswer => lang.tr("ble-why-no-answer"),
        Cause::SwitchedOff => lang.tr("ble-why-switched-off"),
        Cause::Ended => lang.tr("ble-why-ended"),
        Cause::Other(detail) => lang.tr_args("ble-why-other", &[("detail", detail.clone().into())]),
    }
}

/// What BlueZ offers, with the link when this Portico runs one, as the Bluetooth page shows it.
pub fn bluetooth_view(
    availability: &crate::ble::Availability,
    link: Option<&crate::ble::LinkState>,
    lang: Lang,
) -> app::bluetooth::BluetoothView {
    app::bluetooth::BluetoothView {
        available: availability.available,
        reason: availability
            .cause
            .as_ref()
            .map(|c| cause_text(c, lang))
            .unwrap_or_default(),
        adapters: availability
            .adapters
            .iter()
            .map(|a| app::bluetooth::AdapterRow {
                name: a.name.clone(),
                address: a.address.clone(),
                powered: a.powered,
            })
            .collect(),
        link: link.map(|l| link_view(l, lang)),
    }
}

/// The link and its peers as the page, the API and the event stream show them. A link that
/// waits for Bluetooth says so, rather than repeating why Bluetooth is unavailable.
pub fn link_view(link: &crate::ble::LinkState, lang: Lang) -> app::bluetooth::LinkView {
    use crate::ble::Generations;
    app::bluetooth::LinkView {
        running: link.running,
        reason: match &link.cause {
            Some(cause) if cause.is_bluetooth_missing() => lang.tr("ble-why-waiting"),
            Some(cause) => cause_text(cause, lang),
            None => String::new(),
        },
        q8id: hex::encode(link.q8id),
        adapter: link.adapter.clone(),
        address: link.address.clone(),
        generations: lang.tr(match link.generations {
            Generations::Both => "ble-generations-both",
            Generations::Current => "ble-generations-current",
            Generations::Legacy => "ble-generations-legacy",
        }),
        peers: link
            .peers
            .iter()
            .map(|(id, p)| app::bluetooth::PeerRow {
                q8id: hex::encode(id),
                generation: p.generation.as_str().into(),
                address: p.address.clone(),
                rssi: p.rssi,
                role: p.role.unwrap_or_default().into(),
                connected: p.role.is_some(),
                seen_secs_ago: p.last_seen.elapsed().as_secs(),
                counts: app::bluetooth::PeerCounts {
                    bytes_in: p.counts.bytes_in,
                    bytes_out: p.counts.bytes_out,
                    messages_in: p.counts.messages_in,
                    messages_out: p.counts.messages_out,
                    errors: p.counts.errors,
                },
                last_sent: p.last_sent.clone(),
                last_received: p.last_received.clone(),
            })
            .collect(),
    }
}
