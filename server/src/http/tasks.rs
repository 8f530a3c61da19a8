//! The task pages' HTTP side (`/settings/forwards`, `/settings/leases`, `/settings/vpn`): their
//! data for the page (through `http::sources`) and their form posts. A post is `review`
//! (checked, then the page shows the diff), `apply` (checked again, applied with rollback),
//! `review-remove` and `remove`; the VPN page also `reissue` (a new OpenVPN file). A new VPN
//! device's key pair is made at `review` and kept in memory under a token until `apply`, so
//! the diff shown is the change applied; its configuration is shown once (`shown=<token>`). Refusals go back to the page with what was typed (`f.*`) and why (`err.<field>`).

use std::net::Ipv4Addr;

use app::i18n::Lang;
use app::portal::encode;
use app::tasks::{
    DeviceChoice, ForwardRow, LeaseRow, PeerRow, Review, Task, TaskView, VpnView, WireGuardView,
};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use crate::platform::Service;
use crate::tasks::{forwards, leases, vpn};
use crate::wizard::ClientConfig;

/// The fields each task's add form has.
fn fields(task: Task) -> &'static [&'static str] {
    match task {
        Task::Forwards => &["name", "proto", "external", "ip", "internal"],
        Task::Leases => &["name", "mac", "ip"],
        Task::Vpn => &["name", "endpoint", "key", "ovpn_endpoint"],
    }
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Back to the task's page with `query` (already encoded pairs).
fn back(task: Task, query: &[(String, String)]) -> Response {
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let sep = if query.is_empty() { "" } else { "?" };
    Redirect::to(&format!("{}{sep}{}", task.path(), query.join("&"))).into_response()
}

/// What was typed, as `f.<field>` pairs.
fn typed(task: Task, form: &[(String, String)]) -> Vec<(String, String)> {
    fields(task)
        .iter()
        .map(|f| (format!("f.{f}"), get(form, f).chars().take(200).collect()))
        .collect()
}

/// A change to `task`'s settings, ready to review or apply.
enum Change {
    /// The edits, and the configuration of a new VPN device they make.
    Edits(Vec<uci::Edit>, Option<ClientConfig>),
    /// Refused: `(field, reason)`.
    Refused(Vec<(&'static str, &'static str)>),
    /// The row to remove is gone (someone else removed it), or the VPN server is.
    Gone,
    /// The reviewed VPN keys are no longer kept (review again).
    Expired,
    Broken,
}

fn package(state: &AppState, name: &str) -> Option<uci::Package> {
    state
        .platform
        .package(name)
        .inspect_err(|e| tracing::warn!(%e, "a settings file is broken"))
        .ok()
}

/// The LAN's network from `network`.
fn lan(network: &uci::Package) -> (Ipv4Addr, u32) {
    crate::wizard::current_lan(network)
}

/// The edits adding what the form (plain field names) asks for.
fn adding(state: &AppState, task: Task, form: &[(String, String)]) -> Change {
    let Some(network) = package(state, "network") else {
        return Change::Broken;
    };
    match task {
        Task::Forwards => {
            let Some(firewall) = package(state, "firewall") else {
                return Change::Broken;
            };
            let existing = forwards::list(&firewall);
            let (mut tcp, mut udp) = forwards::listening_ports();
            // VPN servers configured here listen on the internet side too.
            for section in network.sections_of("interface") {
                if let Some(port) = uci::views::Interface(section).listen_port() {
                    udp.push(port);
                }
            }
            tcp.sort_unstable();
            udp.sort_unstable();
            let typed = forwards::Typed {
                name: get(form, "name").into(),
                proto: get(form, "proto").into(),
                external: get(form, "external").into(),
                ip: get(form, "ip").into(),
                internal: get(form, "internal").into(),
            };
            let router = forwards::Router {
                forwards: &existing,
                lan: lan(&network),
                own_tcp: &tcp,
                own_udp: &udp,
            };
            match forwards::check(&typed, &router) {
                Ok(forward) => Change::Edits(forwards::add(&forward, &firewall), None),
                Err(refused) => Change::Refused(refused),
            }
        }
        Task::Leases => {
            let Some(dhcp) = package(state, "dhcp") else {
                return Change::Broken;
            };
            let typed = leases::Typed {
                name: get(form, "name").into(),
                mac: get(form, "mac").into(),
                ip: get(form, "ip").into(),
            };
            match leases::check(&typed, &leases::list(&dhcp), lan(&network)) {
                Ok(lease) => Change::Edits(leases::add(&lease, &dhcp), None),
                Err(refused) => Change::Refused(refused),
            }
        }
        Task::Vpn => {
            let Some(server) = vpn::wireguard(&network) else {
                return Change::Gone;
            };
            let typed = vpn::Typed {
                name: get(form, "name").into(),
                endpoint: get(form, "endpoint").into(),
            };
            match vpn::check(&typed, &server, &network) {
                Ok(peer) => match state.vpn_keys.get(get(form, "key")) {
                    Some(keys) => {
                        let (edits, client) = vpn::add(&peer, &server, lan(&network), &keys);
                        Change::Edits(edits, Some(client))
                    }
                    None => Change::Expired,
                },
                Err(refused) => Change::Refused(refused),
            }
        }
    }
}

/// The edits removing the row `id` (its UCI path).
fn removing(state: &AppState, task: Task, id: &str) -> Change {
    let edits = match task {
        Task::Forwards => package(state, "firewall").map(|fw| {
            forwards::list(&fw)
                .into_iter()
                .find(|f| f.path() == id)
                .map(|f| forwards::remove(&f))
        }),
        Task::Leases => package(state, "dhcp").map(|dhcp| {
            leases::list(&dhcp)
                .into_iter()
                .find(|l| l.path() == id)
                .map(|l| leases::remove(&l))
        }),
        Task::Vpn => package(state, "network").map(|network| {
            vpn::wireguard(&network)?
                .peers
                .into_iter()
                .find(|p| p.path == id)
                .map(|p| vpn::remove(&p))
        }),
    };
    match edits {
        None => Change::Broken,
        Some(None) => Change::Gone,
        Some(Some(edits)) => Change::Edits(edits, None),
    }
}

/// `POST /settings/forwards` and `POST /settings/leases`.
async fn post(state: AppState, task: Task, mut form: Vec<(String, String)>) -> Response {
    let action = get(&form, "action").to_owned();
    let action = action.as_str();
    if task == Task::Vpn && action == "reissue" {
        return reissue(&state, &form).await;
    }
    if task == Task::Vpn && action == "review" {
        // Each review makes the device's key pair; the apply uses the same.
        let token = state.vpn_keys.put(crate::wizard::wireguard_keys());
        form.retain(|(k, _)| k != "key");
        form.push(("key".into(), token));
    }
    let typed = typed(task, &form);
    let id = get(&form, "id").to_owned();
    let change = match action {
        "review" | "apply" => adding(&state, task, &form),
        "review-remove" | "remove" => removing(&state, task, &id),
        _ => return back(task, &[]),
    };
    let (edits, client) = match change {
        Change::Edits(edits, client) => (edits, client),
        Change::Refused(refused) => {
            let mut query = typed;
            query.extend(
                refused
                    .into_iter()
                    .map(|(f, why)| (format!("err.{f}"), why.to_owned())),
            );
            return back(task, &query);
        }
        Change::Gone => return back(task, &[("error".into(), "gone".into())]),
        Change::Expired => return back(task, &[("error".into(), "expired".into())]),
        Change::Broken => return back(task, &[("error".into(), "broken".into())]),
    };
    match action {
        "review" => {
            let mut query = vec![("review".to_owned(), "add".to_owned())];
            query.extend(typed);
            back(task, &query)
        }
        "review-remove" => back(
            task,
            &[("review".into(), "remove".into()), ("id".into(), id)],
        ),
        _ => {
            tracing::info!(?task, action, "applying a task's change");
            let applier = state.applier.clone();
            match tokio::task::spawn_blocking(move || applier.apply(&edits, true)).await {
                Ok(Ok(_)) => {
                    let mut query = vec![("applied".to_owned(), "1".to_owned())];
                    if let Some(client) = client {
                        // The key pair is used; the configuration waits to be shown once.
                        state.vpn_keys.take(get(&form, "key"));
                        query.push(("shown".into(), state.vpn_shown.put(client.view())));
                    }
                    back(task, &query)
                }
                Ok(Err(crate::apply::Error::Pending)) => {
                    back(task, &[("error".into(), "pending".into())])
                }
                Ok(Err(e)) => {
                    tracing::warn!(%e, "a task's change was not applied");
                    back(task, &[("error".into(), "apply".into())])
                }
                Err(_) => back(task, &[("error".into(), "apply".into())]),
            }
        }
    }
}

/// `POST /settings/forwards`.
pub async fn forwards_form(
    State(state): State<AppState>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    post(state, Task::Forwards, form).await
}

/// `POST /settings/leases`.
pub async fn leases_form(
    State(state): State<AppState>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    post(state, Task::Leases, form).await
}

/// `POST /settings/vpn`.
pub async fn vpn_form(
    State(state): State<AppState>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    post(state, Task::Vpn, form).await
}

/// A new OpenVPN client file: a new certificate authority and server certificate (so every
/// earlier file stops working), the server restarted, the file shown once.
async fn reissue(state: &AppState, form: &[(String, String)]) -> Response {
    let endpoint = get(form, "ovpn_endpoint").trim().to_owned();
    if !app::wizard::valid_endpoint(&endpoint) {
        let query = [
            (
                "f.ovpn_endpoint".to_owned(),
                endpoint.chars().take(200).collect(),
            ),
            ("err.ovpn_endpoint".to_owned(), "endpoint".to_owned()),
        ];
        return back(Task::Vpn, &query);
    }
    let Some(server) = package(state, "openvpn").as_ref().and_then(vpn::openvpn) else {
        return back(Task::Vpn, &[("error".into(), "gone".into())]);
    };
    let router = package(state, "system")
        .and_then(|s| {
            let first = s.sections_of("system").next()?;
            uci::views::System(first).hostname()
        })
        .unwrap_or_else(|| "portico".into());
    let platform = state.platform.clone();
    let made = tokio::task::spawn_blocking(move || {
        let client = vpn::reissue_openvpn(platform.root(), &router, &endpoint, server)?;
        match platform.reload_services(&[Service::OpenVpn]) {
            Ok(()) | Err(crate::platform::Error::NotHere(_)) => {}
            Err(e) => tracing::warn!(%e, "OpenVPN did not restart with its new certificates"),
        }
        Ok::<_, vpn::ReissueError>(client)
    })
    .await;
    match made {
        Ok(Ok(client)) => {
            tracing::info!("a new OpenVPN client file was made");
            let token = state.vpn_shown.put(client.view());
            back(
                Task::Vpn,
                &[("reissued".into(), "1".into()), ("shown".into(), token)],
            )
        }
        Ok(Err(e)) => {
            tracing::warn!(%e, "a new OpenVPN client file could not be made");
            back(Task::Vpn, &[("error".into(), "reissue".into())])
        }
        Err(_) => back(Task::Vpn, &[("error".into(), "reissue".into())]),
    }
}

/// A message key suffix from the query: letters and hyphens only (never a key of another page).
fn word(text: &str) -> Option<&str> {
    (!text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
    .then_some(text)
}

/// A task page's data for its query.
pub fn view(state: &AppState, task: Task, query: &[(String, String)], lang: Lang) -> TaskView {
    let prefix = match task {
        Task::Forwards => "forwards",
        Task::Leases => "leases",
        Task::Vpn => "vpn",
    };
    let typed: Vec<(String, String)> = query
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f.")?.to_owned(), v.clone())))
        .filter(|(k, _)| fields(task).contains(&k.as_str()))
        .collect();
    let errors = query
        .iter()
        .filter_map(|(k, v)| {
            let field = k.strip_prefix("err.")?;
            fields(task).contains(&field).then_some(())?;
            Some((
                field.to_owned(),
                lang.tr(&format!("{prefix}-error-{}", word(v)?)),
            ))
        })
        .collect();
    let problem = match get(query, "error") {
        "" => None,
        other => word(other).map(|w| lang.tr(&format!("tasks-error-{w}"))),
    };
    let overview = state.status.overview();
    let devices: Vec<DeviceChoice> = overview
        .devices
        .iter()
        .filter(|d| d.online)
        .filter_map(|d| {
            Some(DeviceChoice {
                name: d.name.clone().unwrap_or_default(),
                mac: d.mac.clone(),
                ip: d.addresses.iter().find(|a| !a.contains(':'))?.clone(),
            })
        })
        .collect();
    let review = review(state, task, query, &typed);
    let mut view = TaskView {
        typed: typed.clone(),
        errors,
        problem,
        review,
        applied: !get(query, "applied").is_empty(),
        // Taken: a reload of the page does not show it again.
        shown: state
            .vpn_shown
            .take(get(query, "shown"))
            .into_iter()
            .collect(),
        ..TaskView::default()
    };
    match task {
        Task::Forwards => {
            view.forwards = forward_rows(state, &overview.devices);
            view.devices = devices;
        }
        Task::Leases => {
            let list = package(state, "dhcp")
                .map(|d| leases::list(&d))
                .unwrap_or_default();
            view.leases = list
                .iter()
                .map(|l| LeaseRow {
                    id: l.path(),
                    name: l.name.clone(),
                    mac: l.mac.clone(),
                    ip: l.ip.to_string(),
                    online: overview.devices.iter().any(|d| d.mac == l.mac && d.online),
                })
                .collect();
            // Devices that have a fixed address already are not offered again.
            view.devices = devices
                .into_iter()
                .filter(|d| !list.iter().any(|l| l.mac == d.mac))
                .collect();
        }
        Task::Vpn => {
            if !get(query, "reissued").is_empty() {
                view.note = Some(lang.tr("vpn-reissued"));
            }
            view.vpn = Some(vpn_view(state, &overview.internet));
        }
    }
    view
}

/// The change the page's query asks to review: its diff and the form that applies it.
fn review(
    state: &AppState,
    task: Task,
    query: &[(String, String)],
    typed: &[(String, String)],
) -> Option<Review> {
    match get(query, "review") {
        "add" => match adding(state, task, typed) {
            Change::Edits(edits, _) => Some(Review {
                diff: state.applier.preview(&edits).unwrap_or_default(),
                action: "apply".into(),
                fields: typed.to_vec(),
            }),
            _ => None,
        },
        "remove" => {
            let id = get(query, "id");
            match removing(state, task, id) {
                Change::Edits(edits, _) => Some(Review {
                    diff: state.applier.preview(&edits).unwrap_or_default(),
                    action: "remove".into(),
                    fields: vec![("id".into(), id.to_owned())],
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The port forwards as the page lists them, with the device at each address when known.
fn forward_rows(state: &AppState, devices: &[app::status::Device]) -> Vec<ForwardRow> {
    package(state, "firewall")
        .map(|fw| forwards::list(&fw))
        .unwrap_or_default()
        .into_iter()
        .map(|f| ForwardRow {
            id: f.path(),
            device: devices
                .iter()
                .find(|d| d.addresses.contains(&f.ip.to_string()))
                .and_then(|d| d.name.clone()),
            external: f.external_text(),
            name: f.name,
            proto: f.proto.word().into(),
            ip: f.ip.to_string(),
            internal: f.internal.map(|p| p.to_string()).unwrap_or_default(),
        })
        .collect()
}

/// The VPN servers as the page shows them.
fn vpn_view(state: &AppState, internet: &app::status::Internet) -> VpnView {
    let wireguard = package(state, "network")
        .as_ref()
        .and_then(vpn::wireguard)
        .map(|server| WireGuardView {
            port: server.port,
            address: format!("{}/{}", server.tunnel.0, server.tunnel.1),
            public_key: server.public_key,
            peers: server
                .peers
                .into_iter()
                .map(|p| PeerRow {
                    id: p.path,
                    name: p.name,
                    ip: p.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    public_key: p.public_key,
                })
                .collect(),
        });
    let openvpn = package(state, "openvpn")
        .as_ref()
        .and_then(vpn::openvpn)
        .map(|(port, proto)| (port, proto.to_owned()));
    VpnView {
        wireguard,
        openvpn,
        endpoint: internet
            .addresses
            .first()
            .and_then(|a| a.split('/').next())
            .unwrap_or_default()
            .to_owned(),
    }
}
