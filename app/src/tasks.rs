//! Everyday tasks after setup: `/settings/forwards` (port forwards), `/settings/leases`
//! (static DHCP leases) and `/settings/vpn` (the VPN's devices, a new OpenVPN file). Each lists what is set, with a form to add (a refused form keeps what
//! was typed and says why next to the field) and a button to remove; every change is first
//! shown as its diff, then applied with the automatic rollback (the page's banner counts down
//! to Keep or Revert). Plain forms: everything works without JavaScript.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{PageHeading, lang, t};

/// A port forward as the page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardRow {
    /// Its UCI path, the id the remove form sends.
    pub id: String,
    pub name: String,
    /// `tcp`, `udp` or `tcp udp`.
    pub proto: String,
    pub external: String,
    pub ip: String,
    /// The device at that address, when the router knows it.
    pub device: Option<String>,
    /// Empty: the same port as outside.
    pub internal: String,
}

/// A static lease as the page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRow {
    pub id: String,
    pub name: String,
    pub mac: String,
    pub ip: String,
    pub online: bool,
}

/// A device connected now, to pick.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceChoice {
    /// Its name, or empty.
    pub name: String,
    pub mac: String,
    pub ip: String,
}

/// A WireGuard device as the page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRow {
    pub id: String,
    pub name: String,
    /// Its tunnel address (empty when the section has none).
    pub ip: String,
    pub public_key: String,
}

/// The WireGuard server as the page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireGuardView {
    pub port: u16,
    /// The tunnel, e.g. `10.99.0.1/24`.
    pub address: String,
    pub public_key: String,
    pub peers: Vec<PeerRow>,
}

/// The VPN page's servers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnView {
    pub wireguard: Option<WireGuardView>,
    /// OpenVPN's port and protocol, when the wizard set it up.
    pub openvpn: Option<(u16, String)>,
    /// Where devices connect to, proposed (the WAN address).
    pub endpoint: String,
}

/// A change waiting to be applied: its diff, and the form that applies it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub diff: String,
    /// The form's `action` value that applies it (`apply` or `remove`).
    pub action: String,
    /// The fields the apply form sends again.
    pub fields: Vec<(String, String)>,
}

/// One task page's data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub forwards: Vec<ForwardRow>,
    pub leases: Vec<LeaseRow>,
    pub vpn: Option<VpnView>,
    pub devices: Vec<DeviceChoice>,
    /// Configurations made by the change just applied, shown once.
    pub shown: Vec<crate::wizard::form::ClientView>,
    /// The add form's values (what was typed, after a refusal).
    pub typed: Vec<(String, String)>,
    /// Refused fields: `(field, message)` in the page's language.
    pub errors: Vec<(String, String)>,
    /// A page-wide message (the apply failed, the file is broken, …).
    pub problem: Option<String>,
    /// A page-wide notice of what was done (a new OpenVPN file was made).
    pub note: Option<String>,
    pub review: Option<Review>,
    /// A change was applied and waits for Keep.
    pub applied: bool,
}

impl TaskView {
    fn typed(&self, name: &str) -> String {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn error(&self, name: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Which task page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    Forwards,
    Leases,
    Vpn,
}

impl Task {
    pub fn path(self) -> &'static str {
        match self {
            Task::Forwards => "/settings/forwards",
            Task::Leases => "/settings/leases",
            Task::Vpn => "/settings/vpn",
        }
    }

    /// The catalog key prefix of the page's words.
    fn key(self, suffix: &str) -> String {
        match self {
            Task::Forwards => format!("forwards-{suffix}"),
            Task::Leases => format!("leases-{suffix}"),
            Task::Vpn => format!("vpn-{suffix}"),
        }
    }
}

/// Where the server gets a task page's data; the server puts an implementation into the
/// Leptos context.
#[cfg(feature = "ssr")]
pub trait TaskSource: Send + Sync {
    fn task_view(
        &self,
        task: Task,
        query: &[(String, String)],
        lang: crate::i18n::Lang,
    ) -> TaskView;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// A task page's data for its query (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "task_view")]
pub async fn load_task(
    task: Task,
    query: Vec<(String, String)>,
) -> Result<TaskView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn TaskSource>>()
        .ok_or_else(|| ServerFnError::new("task source missing"))?;
    Ok(source.task_view(task, &query, crate::request_lang()))
}

/// `/settings/forwards` and `/settings/leases`.
#[component]
pub fn TaskPage(task: Task) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let data = Resource::new_blocking(
        move || query.with(crate::query_pairs),
        move |query| load_task(task, query),
    );
    view! {
        <PageHeading text=t(&task.key("title")) />
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Task task view /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
        <p><a href="/settings">{t("settings-back")}</a></p>
    }
}

#[component]
fn Task(task: Task, view: TaskView) -> impl IntoView {
    let review = view
        .review
        .clone()
        .map(|r| view! { <ReviewBox task review=r /> });
    let list = match task {
        Task::Forwards => forwards_list(&view.forwards).into_any(),
        Task::Leases => leases_list(&view.leases).into_any(),
        Task::Vpn => peers_list(view.vpn.as_ref()).into_any(),
    };
    let form = match task {
        Task::Forwards => view! { <ForwardForm view=view.clone() /> }.into_any(),
        Task::Leases => view! { <LeaseForm view=view.clone() /> }.into_any(),
        Task::Vpn => view! { <VpnForms view=view.clone() /> }.into_any(),
    };
    view! {
        <p class="hint">{t(&task.key("about"))}</p>
        {view.applied.then(|| view! { <p class="notice" role="status">{t("tasks-applied")}</p> })}
        {view.problem.clone().map(|p| view! { <p class="error" role="alert">{p}</p> })}
        {view.note.clone().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        {review}
        <crate::wizard::page::ClientConfigs clients=view.shown.clone() />
        <section aria-labelledby="task-list">
            <h2 id="task-list">{t(&task.key("list"))}</h2>
            {list}
        </section>
        {form}
    }
}

/// The change's diff and its Apply button.
#[component]
fn ReviewBox(task: Task, review: Review) -> impl IntoView {
    view! {
        <section class="card review" aria-labelledby="review-title">
            <h2 id="review-title">{t("tasks-review")}</h2>
            <p>{t("tasks-review-about")}</p>
            <pre data-testid="diff" tabindex="0">{review.diff}</pre>
            <form method="post" action=task.path() class="actions">
                {review.fields.into_iter().map(|(k, v)| view! { <input type="hidden" name=k value=v /> }).collect_view()}
                <button type="submit" name="action" value=review.action class="primary">{t("wizard-apply")}</button>
                <a href=task.path() class="button secondary">{t("tasks-cancel")}</a>
            </form>
        </section>
    }
}

/// A remove button for the row `id`: its review first.
fn remove_button(task: Task, id: &str, label: String) -> impl IntoView + use<> {
    view! {
        <form method="post" action=task.path() class="inline">
            <input type="hidden" name="id" value=id.to_owned() />
            <button type="submit" name="action" value="review-remove" class="secondary" aria-label=label>{t("tasks-remove")}</button>
        </form>
    }
}

fn forwards_list(rows: &[ForwardRow]) -> impl IntoView + use<> {
    if rows.is_empty() {
        return view! { <p>{t("forwards-none")}</p> }.into_any();
    }
    let lang = lang();
    let items = rows
        .iter()
        .map(|f| {
            let proto = t(&format!("forwards-proto-{}", f.proto.replace(' ', "-")));
            let target = match &f.device {
                Some(device) => format!("{device} ({})", f.ip),
                None => f.ip.clone(),
            };
            let internal = if f.internal.is_empty() {
                f.external.clone()
            } else {
                f.internal.clone()
            };
            let text = lang.tr_args(
                "forwards-row",
                &[
                    ("proto", proto.into()),
                    ("external", f.external.clone().into()),
                    ("target", target.into()),
                    ("internal", internal.into()),
                ],
            );
            let label = lang.tr_args("tasks-remove-named", &[("name", f.name.clone().into())]);
            view! {
                <li data-id=f.id.clone()>
                    <strong>{f.name.clone()}</strong>" " <span>{text}</span>" "
                    {remove_button(Task::Forwards, &f.id, label)}
                </li>
            }
        })
        .collect_view();
    view! { <ul class="tasks">{items}</ul> }.into_any()
}

fn leases_list(rows: &[LeaseRow]) -> impl IntoView + use<> {
    if rows.is_empty() {
        return view! { <p>{t("leases-none")}</p> }.into_any();
    }
    let lang = lang();
    let items = rows
        .iter()
        .map(|l| {
            let state = if l.online { t("home-online") } else { t("home-offline") };
            let label = lang.tr_args("tasks-remove-named", &[("name", l.name.clone().into())]);
            view! {
                <li data-id=l.id.clone()>
                    <strong>{l.name.clone()}</strong>" " {l.ip.clone()} " · " <code>{l.mac.clone()}</code> " · " {state} " "
                    {remove_button(Task::Leases, &l.id, label)}
                </li>
            }
        })
        .collect_view();
    view! { <ul class="tasks">{items}</ul> }.into_any()
}

fn peers_list(vpn: Option<&VpnView>) -> impl IntoView + use<> {
    let Some(server) = vpn.and_then(|v| v.wireguard.clone()) else {
        return view! {
            <p>{t("vpn-wireguard-off")} " " <a rel="external" href="/settings/services">{t("settings-services")}</a></p>
        }
        .into_any();
    };
    let lang = lang();
    let about = lang.tr_args(
        "vpn-wireguard-server",
        &[
            ("port", server.port.into()),
            ("address", server.address.clone().into()),
        ],
    );
    let items = server
        .peers
        .iter()
        .map(|p| {
            let label = lang.tr_args("tasks-remove-named", &[("name", p.name.clone().into())]);
            view! {
                <li data-id=p.id.clone()>
                    <strong>{p.name.clone()}</strong>" " {p.ip.clone()} " · " <code class="key">{p.public_key.clone()}</code> " "
                    {remove_button(Task::Vpn, &p.id, label)}
                </li>
            }
        })
        .collect_view();
    view! {
        <p>{about}</p>
        <p class="hint">{t("vpn-server-key")} " " <code class="key">{server.public_key}</code></p>
        {if server.peers.is_empty() {
            view! { <p>{t("vpn-none")}</p> }.into_any()
        } else {
            view! { <ul class="tasks">{items}</ul> }.into_any()
        }}
    }
    .into_any()
}

/// A labelled input of a task form, with its error.
fn input(
    view: &TaskView,
    name: &'static str,
    label: String,
    hint: Option<String>,
    list: Option<&'static str>,
) -> impl IntoView + use<> {
    let id = format!("t-{name}");
    let error = view.error(name);
    let described = format!(
        "{id}-error{}",
        if hint.is_some() {
            format!(" {id}-hint")
        } else {
            String::new()
        }
    );
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=format!("{id}-hint")>{h}</p> })}
            <input id=id.clone() name=name type="text" value=view.typed(name) list=list
                aria-invalid=error.is_some().then_some("true") aria-describedby=described />
            <p class="field-error" id=format!("{id}-error") aria-live="polite">{error}</p>
        </div>
    }
}

#[component]
fn ForwardForm(view: TaskView) -> impl IntoView {
    let proto = view.typed("proto");
    let protos = ["tcp", "udp", "tcp udp"].map(|p| {
        let selected = if proto.is_empty() { p == "tcp" } else { p == proto };
        view! { <option value=p selected=selected>{t(&format!("forwards-proto-{}", p.replace(' ', "-")))}</option> }
    });
    // Suggestions for the device's address: the devices connected now (works without JavaScript).
    let options = view
        .devices
        .iter()
        .map(|d| {
            let label = if d.name.is_empty() {
                d.mac.clone()
            } else {
                d.name.clone()
            };
            view! { <option value=d.ip.clone() label=label></option> }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="task-add">
            <h2 id="task-add">{t("forwards-add")}</h2>
            <form method="post" action=Task::Forwards.path()>
                {input(&view, "name", t("forwards-name"), None, None)}
                <div class="field">
                    <label for="t-proto">{t("forwards-proto")}</label>
                    <select id="t-proto" name="proto">{protos}</select>
                    <p class="field-error" aria-live="polite">{view.error("proto")}</p>
                </div>
                {input(&view, "external", t("forwards-external"), Some(t("forwards-external-hint")), None)}
                {input(&view, "ip", t("forwards-ip"), Some(t("forwards-ip-hint")), Some("t-devices"))}
                <datalist id="t-devices">{options}</datalist>
                {input(&view, "internal", t("forwards-internal"), Some(t("forwards-internal-hint")), None)}
                <button type="submit" name="action" value="review" class="primary">{t("settings-review")}</button>
            </form>
        </section>
    }
}

#[component]
fn LeaseForm(view: TaskView) -> impl IntoView {
    // Each connected device can be reserved as it is, with one button.
    let devices = view
        .devices
        .iter()
        .map(|d| {
            let name = if d.name.is_empty() { t("home-unnamed") } else { d.name.clone() };
            // A device without a name gets one from its MAC address (a valid host name).
            let given = if d.name.is_empty() {
                format!("device-{}", d.mac.replace(':', "").get(6..).unwrap_or_default())
            } else {
                d.name.clone()
            };
            view! {
                <li>
                    <form method="post" action=Task::Leases.path() class="inline">
                        <input type="hidden" name="name" value=given />
                        <input type="hidden" name="mac" value=d.mac.clone() />
                        <input type="hidden" name="ip" value=d.ip.clone() />
                        {name} " " {d.ip.clone()} " · " <code>{d.mac.clone()}</code> " "
                        <button type="submit" name="action" value="review" class="secondary">{t("leases-reserve")}</button>
                    </form>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="task-devices">
            <h2 id="task-devices">{t("leases-devices")}</h2>
            {if view.devices.is_empty() {
                view! { <p>{t("home-devices-none")}</p> }.into_any()
            } else {
                view! { <ul class="tasks">{devices}</ul> }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="task-add">
            <h2 id="task-add">{t("leases-add")}</h2>
            <form method="post" action=Task::Leases.path()>
                {input(&view, "name", t("leases-name"), Some(t("leases-name-hint")), None)}
                {input(&view, "mac", t("leases-mac"), None, None)}
                {input(&view, "ip", t("leases-ip"), None, None)}
                <button type="submit" name="action" value="review" class="primary">{t("settings-review")}</button>
            </form>
        </section>
    }
}

#[component]
fn VpnForms(view: TaskView) -> impl IntoView {
    let vpn = view.vpn.clone().unwrap_or_default();
    // What was typed, else where the router is reached from the internet now.
    let mut typed = view.clone();
    for field in ["endpoint", "ovpn_endpoint"] {
        if typed.typed(field).is_empty() {
            typed.typed.push((field.to_owned(), vpn.endpoint.clone()));
        }
    }
    let lang = lang();
    let wireguard = vpn.wireguard.is_some().then(|| view! {
        <section class="card" aria-labelledby="task-add">
            <h2 id="task-add">{t("vpn-add")}</h2>
            <form method="post" action=Task::Vpn.path()>
                {input(&typed, "name", t("vpn-name"), Some(t("vpn-name-hint")), None)}
                {input(&typed, "endpoint", t("vpn-endpoint"), Some(t("vpn-endpoint-hint")), None)}
                <button type="submit" name="action" value="review" class="primary">{t("settings-review")}</button>
            </form>
        </section>
    });
    let openvpn = vpn.openvpn.clone().map(|(port, proto)| {
        let about = lang.tr_args(
            "vpn-openvpn-server",
            &[("port", port.into()), ("proto", proto.to_uppercase().into())],
        );
        view! {
            <section class="card" aria-labelledby="vpn-openvpn">
                <h2 id="vpn-openvpn">{t("vpn-openvpn")}</h2>
                <p>{about}</p>
                <p class="notice">{t("vpn-reissue-about")}</p>
                <form method="post" action=Task::Vpn.path()>
                    {input(&typed, "ovpn_endpoint", t("vpn-endpoint"), Some(t("vpn-endpoint-hint")), None)}
                    <button type="submit" name="action" value="reissue" class="primary">{t("vpn-reissue")}</button>
                </form>
            </section>
        }
    });
    view! { {wireguard} {openvpn} }
}
