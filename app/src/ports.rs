//! `/ports`: what each Ethernet cable is plugged into. A strip of the router's ports coloured by
//! verdict, then one card per port: the role it has now, the verdict with how sure and for how
//! long, the suggested role, and the evidence in words; below, the recent verdict changes.
//! Live through Server-Sent Events from `/api/v1/ports/events`; without JavaScript the page
//! shows the ports as of loading.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::status::format_duration;
use crate::{PageHeading, lang, t};

/// The ports as the page and its event stream show them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortsView {
    /// Port detection runs here (it never runs in a host's own network namespace).
    pub running: bool,
    pub ports: Vec<PortRow>,
    /// Verdict changes, newest first.
    pub events: Vec<EventRow>,
}

/// One port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRow {
    pub name: String,
    pub mac: String,
    pub carrier: bool,
    /// `lan`, `wan`, `bridge` (then `bridge` names it) or `unused`.
    pub current: String,
    pub bridge: String,
    /// The stated verdict (`uplink`, `mesh_same`, ...), `None` while not sure yet.
    pub kind: Option<String>,
    pub confidence: u8,
    pub held_secs: u64,
    pub flaps: u64,
    /// Seconds until a flapping port is judged again.
    pub frozen_secs: Option<u64>,
    /// `wan`, `lan`, `mesh`, `babel`, `routed` or `blocked`.
    pub suggested: Option<String>,
    pub devices: u64,
    /// Who made them (by their addresses' OUIs).
    pub makers: Vec<String>,
    pub evidence: Vec<EvidenceRow>,
    /// The port's policy: `auto`, `suggest` or `off`.
    pub mode: String,
    /// A role the admin pinned.
    pub pinned: Option<String>,
    /// An admin's connection comes through this port: its role is left alone.
    pub protected: bool,
    pub change: Option<ChangeRow>,
}

/// A port's latest role change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    pub role: String,
    /// `auto` or `admin`.
    pub by: String,
    /// `waiting`, `kept` or `rolled_back`.
    pub progress: String,
    pub ago_secs: u64,
}

/// One kind of sighting: its sentence's key suffix and arguments, how often and how long ago.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRow {
    pub kind: String,
    pub args: Vec<(String, String)>,
    pub count: u32,
    pub last_secs_ago: u64,
}

/// A verdict that changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    pub ago_secs: u64,
    pub port: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Where the page's live data comes from.
pub const PORTS_EVENTS: &str = "/api/v1/ports/events";

/// Where the server gets [`PortsView`] from; the server puts an implementation into the Leptos
/// context.
#[cfg(feature = "ssr")]
pub trait PortsSource: Send + Sync {
    fn ports_view(&self) -> PortsView;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The page's data (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "ports_view")]
pub async fn load_ports() -> Result<PortsView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn PortsSource>>()
        .ok_or_else(|| ServerFnError::new("ports source missing"))?;
    Ok(source.ports_view())
}

/// `/ports`.
#[component]
pub fn PortsPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |()| load_ports());
    let lang = lang();
    let query = leptos_router::hooks::use_query_map();
    let outcome = query.with_untracked(|q| {
        let outcome = q.get("role")?;
        let port = q.get("port").unwrap_or_default();
        let known = [
            "applied",
            "admin-port",
            "busy",
            "unchanged",
            "pinned",
            "failed",
        ];
        let outcome = known.into_iter().find(|k| *k == outcome)?;
        let text = lang.tr_args(
            &format!("ports-outcome-{outcome}"),
            &[("port", port.into())],
        );
        Some(if outcome == "applied" {
            view! { <p class="notice" role="status">{text}</p> }.into_any()
        } else {
            view! { <p class="error" role="alert">{text}</p> }.into_any()
        })
    });
    view! {
        <PageHeading text=t("ports-title") />
        {outcome}
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Ports view /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// The verdict's name, or "not sure yet".
fn kind_text(kind: Option<&str>) -> String {
    kind.map_or_else(|| t("ports-kind-unsure"), |k| t(&format!("ports-kind-{k}")))
}

/// The ports, following the live view.
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn Ports(view: PortsView) -> impl IntoView {
    let lang = lang();
    if !view.running {
        return view! { <p class="notice" role="status">{t("ports-not-running")}</p> }.into_any();
    }
    let state = RwSignal::new(view);
    #[cfg(feature = "hydrate")]
    crate::follow(PORTS_EVENTS, "ports", move |view: PortsView| {
        state.set(view);
    });
    let strip = move || {
        state
            .get()
            .ports
            .into_iter()
            .map(|p| {
                let class = format!("port-box kind-{}", p.kind.as_deref().unwrap_or("unsure"));
                let href = format!("#port-{}", p.name);
                view! {
                    <li class=class>
                        <a href=href>
                            <span class="port-name">{p.name.clone()}</span>
                            " "
                            <span class="port-kind">{kind_text(p.kind.as_deref())}</span>
                        </a>
                    </li>
                }
            })
            .collect_view()
    };
    let cards = move || {
        state
            .get()
            .ports
            .into_iter()
            .map(|port| view! { <PortCard port /> })
            .collect_view()
    };
    let events = move || {
        let events = state.get().events;
        if events.is_empty() {
            return view! { <p>{t("ports-no-changes")}</p> }.into_any();
        }
        let rows = events
            .into_iter()
            .map(|e| {
                let text = lang.tr_args(
                    "ports-change",
                    &[
                        ("port", e.port.clone().into()),
                        ("from", kind_text(e.from.as_deref()).into()),
                        ("to", kind_text(e.to.as_deref()).into()),
                        ("ago", format_duration(e.ago_secs).into()),
                    ],
                );
                view! { <li>{text}</li> }
            })
            .collect_view();
        view! { <ol class="port-events">{rows}</ol> }.into_any()
    };
    view! {
        <p>{t("ports-intro")}</p>
        <ol class="port-strip" aria-label=t("ports-strip")>{strip}</ol>
        <div aria-live="polite" class="port-cards">{cards}</div>
        <section aria-labelledby="port-changes">
            <h2 id="port-changes">{t("ports-changes")}</h2>
            {events}
        </section>
    }
    .into_any()
}

#[component]
fn PortCard(port: PortRow) -> impl IntoView {
    let lang = lang();
    let current = if port.current == "bridge" {
        lang.tr_args(
            "ports-current-bridge",
            &[("bridge", port.bridge.clone().into())],
        )
    } else {
        t(&format!("ports-current-{}", port.current))
    };
    let verdict = match (&port.kind, port.frozen_secs) {
        (_, Some(secs)) => lang.tr_args(
            "ports-frozen",
            &[("flaps", port.flaps.into()), ("seconds", secs.into())],
        ),
        (Some(kind), None) => lang.tr_args(
            "ports-verdict",
            &[
                ("kind", t(&format!("ports-kind-{kind}")).into()),
                ("confidence", port.confidence.into()),
                ("held", format_duration(port.held_secs).into()),
            ],
        ),
        (None, None) => t("ports-listening"),
    };
    let suggested = port.suggested.as_ref().map(|role| {
        view! {
            <dt>{t("ports-suggested")}</dt>
            <dd class="suggested">{t(&format!("ports-role-{role}"))}</dd>
        }
    });
    let evidence = port
        .evidence
        .iter()
        .map(|e| {
            let args: Vec<(&str, fluent_bundle::FluentValue<'_>)> = e
                .args
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone().into()))
                .collect();
            let sentence = lang.tr_args(&format!("ports-ev-{}", e.kind), &args);
            let seen = lang.tr_args(
                "ports-seen",
                &[
                    ("count", e.count.into()),
                    ("ago", format_duration(e.last_secs_ago).into()),
                ],
            );
            view! { <li>{sentence} " " <span class="muted">{seen}</span></li> }
        })
        .collect_view();
    let heard = if port.evidence.is_empty() {
        Some(view! { <p class="muted">{t("ports-nothing-heard")}</p> })
    } else {
        None
    };
    let policy = match &port.pinned {
        Some(role) => lang.tr_args(
            "ports-pinned",
            &[("role", t(&format!("ports-role-{role}")).into())],
        ),
        None => t(&format!("ports-mode-{}", port.mode)),
    };
    let waiting = port
        .change
        .as_ref()
        .is_some_and(|c| c.progress == "waiting");
    let change = port.change.as_ref().map(|c| {
        let text = lang.tr_args(
            &format!("ports-change-{}", c.progress),
            &[
                ("role", t(&format!("ports-role-{}", c.role)).into()),
                ("by", t(&format!("ports-by-{}", c.by)).into()),
                ("ago", format_duration(c.ago_secs).into()),
            ],
        );
        view! { <p class="role-change" role="status">{text}</p> }
    });
    let protected = port
        .protected
        .then(|| view! { <p class="muted">{t("ports-protected")}</p> });
    let button = port
        .suggested
        .clone()
        .filter(|role| {
            *role != port.current
                && port.mode != "off"
                && port.pinned.is_none()
                && !port.protected
                && !waiting
        })
        .map(|role| {
            let label = lang.tr_args(
                "ports-apply",
                &[("role", t(&format!("ports-role-{role}")).into())],
            );
            view! {
                <form method="post" action="/ports/role" class="inline">
                    <input type="hidden" name="port" value=port.name.clone() />
                    <input type="hidden" name="role" value=role />
                    <button type="submit">{label}</button>
                </form>
            }
        });
    let id = format!("port-{}", port.name);
    let kind_class = format!(
        "card port kind-{}",
        port.kind.as_deref().unwrap_or("unsure")
    );
    let devices = lang.tr_args("ports-devices", &[("count", port.devices.into())]);
    view! {
        <section class=kind_class id=id.clone() aria-labelledby=format!("{id}-h")>
            <h2 id=format!("{id}-h")>{port.name.clone()}</h2>
            <p class="verdict" role="status">{verdict}</p>
            <dl class="facts">
                <dt>{t("ports-now")}</dt><dd class="current">{current}</dd>
                {suggested}
                <dt>{t("ports-link")}</dt>
                <dd>{if port.carrier { t("ports-link-up") } else { t("ports-link-down") }}</dd>
                <dt>{t("ports-mac")}</dt><dd><code>{port.mac.clone()}</code></dd>
                <dt>{t("ports-heard")}</dt><dd>{devices}</dd>
                {(!port.makers.is_empty()).then(|| view! {
                    <dt>{t("ports-makers")}</dt><dd class="makers">{port.makers.join(", ")}</dd>
                })}
                <dt>{t("ports-policy")}</dt><dd class="policy">{policy}</dd>
            </dl>
            {change}
            {protected}
            {button}
            <h3>{t("ports-evidence")}</h3>
            {heard}
            <ul class="evidence">{evidence}</ul>
        </section>
    }
}
