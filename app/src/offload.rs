//! `/offload`: the firewall offload's dashboard — where the fast path is attached, how full
//! its flow map is, fast-path versus slow-path packets as a live chart, the kernel's cost per
//! packet, redirect errors, and the flows themselves. Live through Server-Sent Events from
//! `/api/v1/offload/events`; without JavaScript the page shows the state as of loading.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::charts::{Line, TimeChart, TimeData, TimeFormat, format_count};
use crate::{PageHeading, lang, t};

/// The offload as the dashboard, the API and the event stream show it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OffloadView {
    pub running: bool,
    /// Why the offload is not running (empty while it runs).
    pub problem: String,
    /// `xdp` or `tc`.
    pub hook: String,
    pub attached: Vec<Attachment>,
    /// Flow map entries (one per direction) and how many are in use.
    pub capacity: u32,
    pub used: u64,
    pub counters: CounterRow,
    /// Fast-path and slow-path packets per second, oldest first.
    pub history: Vec<RatePoint>,
    /// The programs' average run time per packet (kernel BPF statistics).
    pub ns_per_packet: Option<f64>,
    pub flows: Vec<FlowRow>,
    /// Flow directions offloaded since start.
    pub offloaded_total: u64,
    /// Flow map flushes after firewall changes.
    pub flushes: u64,
}

/// An interface the fast path is attached to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    /// `native`, `generic` (XDP) or `tc`.
    pub mode: String,
}

/// The fast path's global counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterRow {
    pub fast_packets: u64,
    pub fast_bytes: u64,
    pub slow_packets: u64,
    pub redirect_errors: u64,
    pub map_full: u64,
    pub watchdog: u64,
    pub finished: u64,
    /// Frames left to the stack because the captive portal has not authorised their device.
    #[serde(default)]
    pub portal: u64,
}

/// Packets in one second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatePoint {
    /// Unix time, seconds.
    pub t: i64,
    pub fast: u64,
    pub slow: u64,
}

/// One direction of a flow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowRow {
    /// `tcp` or `udp`.
    pub proto: String,
    pub src: String,
    pub dst: String,
    pub in_if: String,
    pub out_if: String,
    /// `SNAT 100.64.0.2:50000`, `DNAT …` or empty.
    pub nat: String,
    /// `seen`, `offloaded` or `finished`.
    pub state: String,
    pub age_secs: u64,
    pub idle_secs: u64,
    pub packets: u64,
    pub bytes: u64,
    /// From the flow's first packet to its first fast-path packet.
    pub offload_delay_ms: Option<f64>,
}

/// Where the page's live data comes from.
pub const OFFLOAD_EVENTS: &str = "/api/v1/offload/events";

/// The fast path's colour and the stack's, in every chart and legend.
const FAST: &str = "#332288";
const SLOW: &str = "#cc6677";

/// Where the server gets [`OffloadView`] from; the server puts an implementation into the
/// Leptos context.
#[cfg(feature = "ssr")]
pub trait OffloadSource: Send + Sync {
    fn offload_view(&self) -> OffloadView;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The dashboard's data (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "offload_view")]
pub async fn load_offload() -> Result<OffloadView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn OffloadSource>>()
        .ok_or_else(|| ServerFnError::new("offload source missing"))?;
    Ok(source.offload_view())
}

/// `/offload`.
#[component]
pub fn OffloadPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |()| load_offload());
    view! {
        <PageHeading text=t("offload-title") />
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Dashboard view /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// The dashboard, following the live view.
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn Dashboard(view: OffloadView) -> impl IntoView {
    let state = RwSignal::new(view);
    #[cfg(feature = "hydrate")]
    follow(state);
    view! {
        {move || status(&state.get())}
        <section aria-labelledby="offload-rates">
            <h2 id="offload-rates">{t("offload-rates")}</h2>
            <TimeChart data=Signal::derive(move || rates(&state.get())) title=t("offload-rates") unit=t("offload-packets-per-second") />
        </section>
        {move || facts(&state.get())}
        <section aria-labelledby="offload-flows">
            <h2 id="offload-flows">{t("offload-flows")}</h2>
            <div aria-live="polite">{move || flows(&state.get().flows)}</div>
        </section>
    }
}

fn status(v: &OffloadView) -> impl IntoView + use<> {
    let lang = lang();
    if v.running {
        let attached = v
            .attached
            .iter()
            .map(|a| format!("{} ({})", a.name, a.mode))
            .collect::<Vec<_>>()
            .join(", ");
        let text = lang.tr_args(
            "offload-running",
            &[
                ("hook", v.hook.clone().into()),
                ("interfaces", attached.into()),
            ],
        );
        view! { <p class="notice" role="status" data-running="1">{text}</p> }.into_any()
    } else {
        let text = lang.tr_args("offload-stopped", &[("reason", v.problem.clone().into())]);
        view! { <p class="notice" role="status" data-running="0">{text}</p> }.into_any()
    }
}

/// The chart's data: packets per second on each path.
fn rates(v: &OffloadView) -> TimeData {
    #[allow(clippy::cast_precision_loss, reason = "packet rates, drawn")]
    let series = |f: fn(&RatePoint) -> u64| v.history.iter().map(|p| Some(f(p) as f64)).collect();
    TimeData {
        t: v.history.iter().map(|p| p.t).collect(),
        lines: vec![
            Line {
                label: t("offload-fast-path"),
                color: FAST.into(),
                values: series(|p| p.fast),
            },
            Line {
                label: t("offload-slow-path"),
                color: SLOW.into(),
                values: series(|p| p.slow),
            },
        ],
        stacked: false,
        time_format: TimeFormat::Clock,
        stale: Vec::new(),
    }
}

fn count(n: u64) -> String {
    format_count(i64::try_from(n).unwrap_or(i64::MAX))
}

fn facts(v: &OffloadView) -> impl IntoView + use<> {
    let lang = lang();
    let c = v.counters;
    let fill = lang.tr_args(
        "offload-map-fill",
        &[
            ("used", count(v.used).into()),
            ("capacity", count(u64::from(v.capacity)).into()),
        ],
    );
    let cost = v.ns_per_packet.map_or_else(
        || t("offload-unknown"),
        |ns| lang.tr_args("offload-ns", &[("ns", format!("{ns:.0}").into())]),
    );
    view! {
        <dl class="facts">
            <dt>{t("offload-map")}</dt>
            <dd>
                <meter min="0" max=v.capacity.to_string() value=v.used.to_string()>{fill.clone()}</meter>
                " " {fill}
            </dd>
            <dt>{t("offload-fast-packets")}</dt><dd data-counter="fast_packets">{count(c.fast_packets)}</dd>
            <dt>{t("offload-slow-packets")}</dt><dd data-counter="slow_packets">{count(c.slow_packets)}</dd>
            <dt>{t("offload-cost")}</dt><dd>{cost}</dd>
            <dt>{t("offload-redirect-errors")}</dt><dd data-counter="redirect_errors">{count(c.redirect_errors)}</dd>
            <dt>{t("offload-watchdog")}</dt><dd data-counter="watchdog">{count(c.watchdog)}</dd>
            <dt>{t("offload-map-full")}</dt><dd data-counter="map_full">{count(c.map_full)}</dd>
            <dt>{t("offload-portal")}</dt><dd data-counter="portal">{count(c.portal)}</dd>
            <dt>{t("offload-flushes")}</dt><dd>{count(v.flushes)}</dd>
        </dl>
    }
}

/// Rows shown at most (the busiest first); the API has them all.
const SHOWN: usize = 50;

fn flows(rows: &[FlowRow]) -> impl IntoView + use<> {
    if rows.is_empty() {
        return view! { <p>{t("offload-no-flows")}</p> }.into_any();
    }
    let lang = lang();
    let more = (rows.len() > SHOWN).then(|| {
        let text = lang.tr_args(
            "offload-more-flows",
            &[("count", (rows.len() - SHOWN).into())],
        );
        view! { <p>{text}</p> }
    });
    let body = rows
        .iter()
        .take(SHOWN)
        .map(|f| {
            let state = t(&format!("offload-state-{}", f.state));
            let age = lang.tr_args("offload-seconds", &[("seconds", f.age_secs.into())]);
            view! {
                <tr data-state=f.state.clone()>
                    <th scope="row">{f.proto.to_uppercase()} " " {f.src.clone()} " → " {f.dst.clone()}</th>
                    <td>{f.in_if.clone()} " → " {f.out_if.clone()}</td>
                    <td>{f.nat.clone()}</td>
                    <td>{state}</td>
                    <td class="num">{age}</td>
                    <td class="num">{count(f.packets)}</td>
                    <td class="num">{count(f.bytes)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        // Focusable so the keyboard can scroll it sideways.
        <div class="table-scroll" tabindex="0" role="region" aria-label=t("offload-flows")>
            <table class="flows">
                <thead>
                    <tr>
                        <th scope="col">{t("offload-flow")}</th>
                        <th scope="col">{t("offload-interfaces")}</th>
                        <th scope="col">{t("offload-nat")}</th>
                        <th scope="col">{t("offload-state")}</th>
                        <th scope="col">{t("offload-age")}</th>
                        <th scope="col">{t("offload-packets")}</th>
                        <th scope="col">{t("offload-bytes")}</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
        {more}
    }
    .into_any()
}

/// Follows the event stream: one `offload` event a second.
#[cfg(feature = "hydrate")]
fn follow(state: RwSignal<OffloadView>) {
    crate::follow(OFFLOAD_EVENTS, "offload", move |v: OffloadView| {
        state.set(v);
    });
}
