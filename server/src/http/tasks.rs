//! The task pages' HTTP side (`/settings/forwards`, `/settings/leases`): their data for the
//! page (through `http::sources`) and their form posts. A post is `review` (checked, then the
//! page shows the diff), `apply` (checked again, applied with rollback), `review-remove` and
//! `remove`. Refusals go back to the page with what was typed (`f.*`) and why (`err.<field>`).

use std::net::Ipv4Addr;

use app::i18n::Lang;
use app::portal::encode;
use app::tasks::{DeviceChoice, ForwardRow, LeaseRow, Review, Task, TaskView};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use crate::tasks::{forwards, leases};

/// The fields each task's add form has.
fn fields(task: Task) -> &'static [&'static str] {
    match task {
        Task::Forwards => &["name", "proto", "external", "ip", "internal"],
        Task::Leases => &["name", "mac", "ip"],
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
    Edits(Vec<uci::Edit>),
    /// Refused: `(field, reason)`.
    Refused(Vec<(&'static str, &'static str)>),
    /// The row to remove is gone (someone else removed it).
    Gone,
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
                Ok(forward) => Change::Edits(forwards::add(&forward, &firewall)),
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
                Ok(lease) => Change::Edits(leases::add(&lease, &dhcp)),
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
    };
    match edits {
        None => Change::Broken,
        Some(None) => Change::Gone,
        Some(Some(edits)) => Change::Edits(edits),
    }
}

/// `POST /settings/forwards` and `POST /settings/leases`.
async fn post(state: AppState, task: Task, form: Vec<(String, String)>) -> Response {
    let action = get(&form, "action");
    let typed = typed(task, &form);
    let id = get(&form, "id").to_owned();
    let change = match action {
        "review" | "apply" => adding(&state, task, &form),
        "review-remove" | "remove" => removing(&state, task, &id),
        _ => return back(task, &[]),
    };
    let edits = match change {
        Change::Edits(edits) => edits,
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
                Ok(Ok(_)) => back(task, &[("applied".into(), "1".into())]),
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
    let review = match get(query, "review") {
        "add" => {
            let form: Vec<(String, String)> = typed.clone();
            match adding(state, task, &form) {
                Change::Edits(edits) => Some(Review {
                    diff: state.applier.preview(&edits).unwrap_or_default(),
                    action: "apply".into(),
                    fields: form,
                }),
                _ => None,
            }
        }
        "remove" => {
            let id = get(query, "id");
            match removing(state, task, id) {
                Change::Edits(edits) => Some(Review {
                    diff: state.applier.preview(&edits).unwrap_or_default(),
                    action: "remove".into(),
                    fields: vec![("id".into(), id.to_owned())],
                }),
                _ => None,
            }
        }
        _ => None,
    };
    let mut view = TaskView {
        typed: typed.clone(),
        errors,
        problem,
        review,
        applied: !get(query, "applied").is_empty(),
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
    }
    view
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
