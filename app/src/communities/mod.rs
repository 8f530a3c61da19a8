//! The communities site's pages (`serve --profile communities`): the overview (top-10 at a
//! date, network growth, routing protocols, map, hours of day and weekdays), one page per
//! community, and minimal embed pages for iframes.
//!
//! The server puts each page's data into [`SiteView`] (in the [`crate::PageContext`]), so
//! pages arrive complete and work without JavaScript: every control is a GET form the server
//! answers. Once hydrated, the same controls fetch through server functions instead.

pub mod map;

use communities::colors;
use communities::profile::{self, Profile};
use communities::query::{CommunitySummary, NetworkMetric, Resolution, RoutingSeries, Series, Top};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};
use serde::{Deserialize, Serialize};

use crate::charts::{self, Bar, Line, TimeChart, TimeData, TimeFormat};
use crate::{PageContext, t};

/// What a communities page shows, computed by the server for the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteView {
    /// This site's origin as the browser reached it (`http://host:port`), for embed codes.
    pub origin: String,
    /// First and last snapshot in the store (Unix seconds).
    pub first: i64,
    pub last: i64,
    pub communities: i64,
    pub page: SitePage,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SitePage {
    Overview(Box<Overview>),
    Community(Box<CommunityView>),
    Embed(Box<EmbedView>),
    /// An unknown community or chart.
    Missing,
}

/// The time window and resolution a page asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: i64,
    pub to: i64,
    /// `None`: chosen from the span.
    pub resolution: Option<Resolution>,
}

impl Window {
    /// The resolution used: the one asked for, else the one that suits the span.
    pub fn resolution(self) -> Resolution {
        self.resolution
            .unwrap_or_else(|| Resolution::for_span(self.to - self.from))
    }

    /// A named period ending at the last snapshot: `all`, `5y`, `1y`, `3m`, `1w`.
    pub fn period(name: &str, first: i64, last: i64) -> Option<Window> {
        let span = match name {
            "all" => last - first,
            "5y" => 5 * 365 * 86_400,
            "1y" => 365 * 86_400,
            "3m" => 92 * 86_400,
            "1w" => 7 * 86_400,
            _ => return None,
        };
        Some(Window {
            from: (last - span).max(first),
            to: last,
            resolution: None,
        })
    }

    /// Zoomed in (`direction` > 0: half the span) or out (double), around `at` (default: the
    /// middle), kept inside `first..=last`.
    #[must_use]
    pub fn zoom(self, direction: i32, at: Option<i64>, first: i64, last: i64) -> Window {
        let span = self.to - self.from;
        let new_span = if direction > 0 {
            (span / 2).max(6 * 3600)
        } else {
            span.saturating_mul(2)
        };
        let centre = at.unwrap_or(self.from + span / 2);
        let mut from = centre - new_span / 2;
        let mut to = from + new_span;
        if from < first {
            to += first - from;
            from = first;
        }
        if to > last {
            from -= to - last;
            to = last;
        }
        Window {
            from: from.max(first),
            to,
            resolution: None,
        }
    }
}

/// The overview's data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub window: Window,
    pub metric: NetworkMetric,
    pub growth: Series,
    pub routing: RoutingSeries,
    /// The top list and the time it was asked for.
    pub top: Option<Top>,
    pub top_at: Option<i64>,
    pub communities: Vec<CommunitySummary>,
    /// Communities whose API file is down, longest first.
    pub down: Vec<Down>,
    pub hours: Profile,
    pub weekdays: Profile,
}

/// A community whose API file the collector has not fetched since `since`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Down {
    pub key: String,
    pub name: String,
    pub since: i64,
}

/// A community page's data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommunityView {
    pub summary: CommunitySummary,
    pub snapshots: i64,
    pub stale_snapshots: i64,
    /// The latest node count and its snapshot, when the latest entry has none.
    #[serde(default)]
    pub last_count: Option<communities::query::LastCount>,
    /// The community's web site, from its latest entry.
    pub url: Option<String>,
    pub window: Window,
    pub series: Series,
    pub hours: Profile,
    /// Since when its API file has not been fetched (its data is carried forward), and the
    /// collector's error.
    pub down_since: Option<i64>,
    pub fetch_error: Option<String>,
}

/// An embeddable chart and its data.
#[allow(clippy::large_enum_variant, reason = "one per request, moved once")]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EmbedView {
    Growth {
        window: Window,
        metric: NetworkMetric,
        series: Series,
    },
    Routing {
        window: Window,
        series: RoutingSeries,
    },
    Top {
        top: Option<Top>,
    },
    Map {
        communities: Vec<CommunitySummary>,
    },
    Hours {
        profile: Profile,
    },
    Community {
        summary: CommunitySummary,
        window: Window,
        series: Series,
    },
}

impl EmbedView {
    /// The chart's name in `/embed/<name>`.
    pub fn name(&self) -> &'static str {
        match self {
            EmbedView::Growth { .. } => "growth",
            EmbedView::Routing { .. } => "routing",
            EmbedView::Top { .. } => "top",
            EmbedView::Map { .. } => "map",
            EmbedView::Hours { .. } => "hours",
            EmbedView::Community { .. } => "community",
        }
    }

    /// The chart answers the pointer and the keyboard (a cursor with values): its embed page
    /// hydrates. The others are pictures with links and load no WASM.
    pub fn interactive(&self) -> bool {
        matches!(
            self,
            EmbedView::Growth { .. } | EmbedView::Routing { .. } | EmbedView::Community { .. }
        )
    }
}

/// The script an embed page sends to the page that frames it: its height whenever it changes
/// (`{portico: "height", height}`), so the embed code's iframe fits it (see [`EmbedCode`]).
pub const EMBED_HEIGHT_SCRIPT: &str = "const tell = () => parent.postMessage({portico: 'height', \
height: Math.ceil(document.documentElement.getBoundingClientRect().height)}, '*'); \
new ResizeObserver(tell).observe(document.documentElement); tell();";

/// Where the server gets data for the server functions (hydrated pages refetching). Every
/// method fails with the store's error as text.
#[cfg(feature = "ssr")]
#[allow(clippy::missing_errors_doc, reason = "documented once, above")]
pub trait CommunitiesSource: Send + Sync {
    fn network_series(&self, metric: NetworkMetric, window: Window) -> Result<Series, String>;
    fn routing_series(&self, window: Window) -> Result<RoutingSeries, String>;
    fn top(&self, at: i64) -> Result<Option<Top>, String>;
    fn community_series(&self, key: &str, window: Window) -> Result<Option<Series>, String>;
}

#[cfg(feature = "ssr")]
fn source() -> Result<std::sync::Arc<dyn CommunitiesSource>, ServerFnError> {
    use_context::<std::sync::Arc<dyn CommunitiesSource>>()
        .ok_or_else(|| ServerFnError::new("communities source missing"))
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// A network series for a window.
#[server(prefix = "/api/fn", endpoint = "communities_network")]
pub async fn load_network(metric: NetworkMetric, window: Window) -> Result<Series, ServerFnError> {
    source()?
        .network_series(metric, window)
        .map_err(ServerFnError::new)
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// Routing protocols for a window.
#[server(prefix = "/api/fn", endpoint = "communities_routing")]
pub async fn load_routing(window: Window) -> Result<RoutingSeries, ServerFnError> {
    source()?.routing_series(window).map_err(ServerFnError::new)
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The top list at a time.
#[server(prefix = "/api/fn", endpoint = "communities_top")]
pub async fn load_top(at: i64) -> Result<Option<Top>, ServerFnError> {
    source()?.top(at).map_err(ServerFnError::new)
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// One community's series for a window.
#[server(prefix = "/api/fn", endpoint = "communities_community")]
pub async fn load_community(key: String, window: Window) -> Result<Option<Series>, ServerFnError> {
    source()?
        .community_series(&key, window)
        .map_err(ServerFnError::new)
}

fn time_format(resolution: Resolution) -> TimeFormat {
    match resolution {
        Resolution::Hour => TimeFormat::Hour,
        Resolution::Day => TimeFormat::Day,
        Resolution::Month => TimeFormat::Month,
    }
}

/// A single series as chart data.
pub fn series_data(series: &Series, label: String) -> TimeData {
    TimeData {
        t: series.points.iter().map(|p| p.t).collect(),
        lines: vec![Line {
            label,
            color: colors::PRIMARY.into(),
            values: series.points.iter().map(|p| p.value).collect(),
        }],
        stacked: false,
        time_format: time_format(series.resolution),
        stale: series.points.iter().map(|p| p.stale_share).collect(),
    }
}

/// Routing protocols as stacked chart data, in the colour table's order.
pub fn routing_data(series: &RoutingSeries) -> TimeData {
    TimeData {
        t: series.t.clone(),
        lines: series
            .protocols
            .iter()
            .map(|p| Line {
                label: p.label.clone(),
                color: p.color.clone(),
                values: p.values.iter().map(|v| Some(*v)).collect(),
            })
            .collect(),
        stacked: true,
        time_format: time_format(series.resolution),
        stale: Vec::new(),
    }
}

/// The top list as bars (stale entries noted).
pub fn top_bars(top: &Top) -> Vec<Bar> {
    top.communities
        .iter()
        .map(|c| Bar {
            label: c.name.clone(),
            #[allow(clippy::cast_precision_loss, reason = "node counts are small")]
            value: c.nodes as f64,
            color: colors::PRIMARY.into(),
            note: c.stale.then(|| t("charts-stale")),
            href: Some(format!("/community/{}", c.key)),
        })
        .collect()
}

/// A profile's slots (hours of day or weekdays).
fn profile_slots(profile: &Profile) -> Vec<charts::Slot> {
    let weekdays = [
        "weekday-mon",
        "weekday-tue",
        "weekday-wed",
        "weekday-thu",
        "weekday-fri",
        "weekday-sat",
        "weekday-sun",
    ];
    profile
        .values
        .iter()
        .zip(&profile.samples)
        .enumerate()
        .map(|(i, (value, samples))| charts::Slot {
            label: if profile.values.len() == 7 {
                t(weekdays[i])
            } else {
                format!("{i:02}")
            },
            value: *value,
            samples: *samples,
        })
        .collect()
}

/// A profile as a figure: the chart, a caption saying what it shows over which days or
/// weeks (or that there is not enough hourly data yet), and its table.
fn profile_figure(profile: &Profile) -> impl IntoView + use<> {
    let hours = profile.values.len() == 24;
    let slots = profile_slots(profile);
    let (title, what, samples) = if hours {
        (
            t("communities-hours"),
            t("communities-hour-utc"),
            t("communities-days"),
        )
    } else {
        (
            t("communities-weekdays"),
            t("communities-weekday"),
            t("communities-weeks"),
        )
    };
    let unit = t("communities-profile-unit");
    let min = ("min", profile::MIN_SAMPLES.into());
    let enough = (
        "hours",
        u32::try_from(profile::MIN_HOURS).unwrap_or(24).into(),
    );
    let caption = match (profile.from, profile.to) {
        (Some(from), Some(to)) if profile.has_data() => {
            let (key, count) = if hours {
                ("communities-hours-caption", "days")
            } else {
                ("communities-weekdays-caption", "weeks")
            };
            crate::lang().tr_args(
                key,
                &[
                    (count, profile.counted.into()),
                    ("from", TimeFormat::Day.format(from).into()),
                    ("to", TimeFormat::Day.format(to).into()),
                    min,
                    enough,
                ],
            )
        }
        _ => crate::lang().tr_args("communities-profile-none", &[min, enough]),
    };
    view! {
        <figure class="chart">
            {charts::profile(&slots, &title, &unit, &samples)}
            <figcaption class="muted">{caption}</figcaption>
            {charts::profile_table(&slots, &what, &unit, &samples)}
        </figure>
    }
}

fn metric_label(metric: NetworkMetric) -> String {
    t(match metric {
        NetworkMetric::Nodes => "communities-metric-nodes",
        NetworkMetric::NodesWithStale => "communities-metric-nodes-with-stale",
        NetworkMetric::Communities => "communities-metric-communities",
        NetworkMetric::StaleCommunities => "communities-metric-stale-communities",
    })
}

fn site() -> Option<SiteView> {
    use_context::<PageContext>().and_then(|p| p.communities)
}

/// A page's data comes with its HTML ([`PageContext`]), so going to another page is a full
/// load: when the router moves to another path in the browser (a link, Back), the page is
/// loaded from the server in place of the router's entry. (Changes of the query within a
/// page stay in the browser.)
#[component]
fn FullLoads() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        let first = location.pathname.get_untracked();
        Effect::new(move |_| {
            let path = location.pathname.get();
            if path != first
                && let Some(window) = web_sys::window()
            {
                // To the new address itself: the browser's may not show it yet.
                let search = location.search.get_untracked();
                let query = if search.is_empty() || search.starts_with('?') {
                    search
                } else {
                    format!("?{search}")
                };
                let _ = window.location().replace(&format!("{path}{query}"));
            }
        });
    }
}

/// The communities site's component tree under `<body>`.
#[component]
pub fn CommunitiesApp() -> impl IntoView {
    leptos_meta::provide_meta_context();
    view! {
        <Title text=t("communities-title") />
        <Router>
            <FullLoads />
            <a class="skip" href="#main">{t("skip-to-content")}</a>
            <header class="top">
                <a href="/" class="brand">{t("communities-title")}</a>
                <crate::LanguageSwitcher />
            </header>
            <main id="main" class="wide">
                <Routes fallback=|| view! { <crate::pages::NotFound /> }>
                    <Route ssr=SsrMode::Async path=path!("/") view=OverviewPage />
                    <Route ssr=SsrMode::Async path=path!("/community/:key") view=CommunityPage />
                    // Rendered by the server with [`EmbedApp`] as the root (see `PageContext::root`).
                    <Route ssr=SsrMode::Async path=path!("/embed/:chart") view=EmbedApp />
                </Routes>
            </main>
        </Router>
    }
}

/// An embed page's component tree: the chart and a link to the site, nothing else.
#[component]
pub fn EmbedApp() -> impl IntoView {
    let Some(SiteView {
        page: SitePage::Embed(embed),
        ..
    }) = site()
    else {
        return view! { <main class="embed"><p>{t("error-not-found")}</p></main> }.into_any();
    };
    let (heading, source) = embed_heading(&embed);
    let chart = match *embed {
        EmbedView::Growth { metric, series, .. } => {
            let data = Signal::stored(series_data(&series, metric_label(metric)));
            view! { <TimeChart data title=t("communities-growth") unit=metric_label(metric) /> }
                .into_any()
        }
        EmbedView::Routing { series, .. } => {
            let data = Signal::stored(routing_data(&series));
            view! { <TimeChart data title=t("communities-routing") unit=t("communities-metric-communities") /> }.into_any()
        }
        EmbedView::Top { top } => top_chart(top.as_ref()).into_any(),
        EmbedView::Map { communities } => {
            view! { <figure class="chart">{map::map(&communities, colors::PRIMARY, |k| format!("/community/{k}"))}</figure> }.into_any()
        }
        EmbedView::Hours { profile } => profile_figure(&profile).into_any(),
        EmbedView::Community {
            summary, series, ..
        } => {
            let data = Signal::stored(series_data(&series, summary.name.clone()));
            view! { <TimeChart data title=summary.name.clone() unit=t("communities-metric-nodes") /> }.into_any()
        }
    };
    view! {
        <Title text=format!("{heading} · {}", t("communities-title")) />
        <main class="embed">
            <h1 class="embed-title">{heading}</h1>
            {chart}
            <p class="source">{t("communities-embed-source")} " " <a href=source target="_top">{t("communities-title")}</a></p>
        </main>
    }
    .into_any()
}

/// What an embedded chart shows, in words (its metric, community or snapshot day), and the
/// page it comes from.
fn embed_heading(embed: &EmbedView) -> (String, String) {
    let lang = crate::lang();
    match embed {
        EmbedView::Growth { metric, .. } => (
            format!("{} · {}", t("communities-growth"), metric_label(*metric)),
            "/".into(),
        ),
        EmbedView::Routing { .. } => (t("communities-routing"), "/".into()),
        EmbedView::Top { top } => {
            let title = t("communities-top");
            let heading = match top {
                Some(top) => lang.tr_args(
                    "communities-embed-at",
                    &[
                        ("what", title.into()),
                        ("date", date_input(top.snapshot).into()),
                    ],
                ),
                None => title,
            };
            (heading, "/".into())
        }
        EmbedView::Map { .. } => (t("communities-map"), "/".into()),
        EmbedView::Hours { .. } => (t("communities-hours"), "/".into()),
        EmbedView::Community { summary, .. } => (
            format!("{} · {}", summary.name, t("communities-metric-nodes")),
            format!("/community/{}", summary.key),
        ),
    }
}

fn top_chart(top: Option<&Top>) -> impl IntoView + use<> {
    match top {
        Some(top) if !top.communities.is_empty() => {
            let bars = top_bars(top);
            view! {
                <figure class="chart">
                    {charts::hbars(&bars, &t("communities-top"))}
                    {charts::bar_table(&bars, &t("communities-community"), &t("communities-metric-nodes"))}
                </figure>
            }
            .into_any()
        }
        _ => view! { <p>{t("communities-no-data")}</p> }.into_any(),
    }
}

/// An embed's height in a 640 px wide iframe before it tells its own (about what it takes).
fn embed_height(chart: &str) -> u32 {
    match chart {
        "routing" => 620,
        "map" => 760,
        "top" => 860,
        "hours" => 560,
        _ => 520,
    }
}

/// The "embed this chart" disclosure: the iframe code, selectable, and a copy button.
#[component]
fn EmbedCode(
    /// The chart's name in `/embed/<chart>`.
    chart: &'static str,
    /// Its query string (without `?`).
    query: Signal<String>,
) -> impl IntoView {
    let origin = site().map(|s| s.origin).unwrap_or_default();
    let code = Signal::derive(move || {
        let query = query.get();
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        // The embed page tells its height; the script sizes the iframe that sent it.
        format!(
            "<iframe src=\"{origin}/embed/{chart}{q}\" width=\"640\" height=\"{}\" style=\"border:0;max-width:100%\" loading=\"lazy\" title=\"{chart}\" data-portico-embed></iframe>\n\
             <script>addEventListener('message', (e) => {{ if (e.origin !== '{origin}' || e.data?.portico !== 'height') return; \
             for (const f of document.querySelectorAll('iframe[data-portico-embed]')) if (f.contentWindow === e.source) f.height = e.data.height; }});</script>\n\
             <!-- {} <img src=\"{origin}/embed/{chart}.svg{q}\"> -->",
            embed_height(chart),
            t("communities-embed-svg")
        )
    });
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&code.get_untracked());
            copied.set(true);
        }
    };
    view! {
        <details class="embed-code">
            <summary>{t("communities-embed")}</summary>
            <textarea readonly rows="4" aria-label=t("communities-embed") prop:value=code>{code}</textarea>
            <button type="button" on:click=copy>{move || if copied.get() { t("communities-copied") } else { t("communities-copy") }}</button>
        </details>
    }
}

/// The period, resolution (and metric) controls: a GET form, answered by the server without
/// JavaScript; hydrated, `on_change` gets the new window instead.
#[component]
fn WindowControls(
    window: RwSignal<Window>,
    first: i64,
    last: i64,
    on_change: Callback<Window>,
    #[prop(optional)] metric: Option<RwSignal<NetworkMetric>>,
) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let periods = [
        ("all", "communities-period-all"),
        ("5y", "communities-period-5y"),
        ("1y", "communities-period-1y"),
        ("3m", "communities-period-3m"),
        ("1w", "communities-period-1w"),
    ];
    let buttons = periods
        .into_iter()
        .map(|(name, key)| {
            let click = move |ev: leptos::ev::MouseEvent| {
                if hydrated.get_untracked()
                    && let Some(w) = Window::period(name, first, last)
                {
                    ev.prevent_default();
                    on_change.run(w);
                }
            };
            view! { <button type="submit" name="period" value=name on:click=click>{t(key)}</button> }
        })
        .collect_view();
    let zoom = move |direction: i32| {
        move |ev: leptos::ev::MouseEvent| {
            if hydrated.get_untracked() {
                ev.prevent_default();
                on_change.run(window.get_untracked().zoom(direction, None, first, last));
            }
        }
    };
    let resolution_value = move || window.get().resolution.map_or("auto", Resolution::as_str);
    let on_resolution = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let mut w = window.get_untracked();
        w.resolution = value.parse().ok();
        on_change.run(w);
    };
    let metric_select = metric.map(|metric| {
        let on_metric = move |ev: leptos::ev::Event| {
            if let Ok(m) = event_target_value(&ev).parse() {
                metric.set(m);
                on_change.run(window.get_untracked());
            }
        };
        let options = NetworkMetric::ALL
            .into_iter()
            .map(|m| view! { <option value=m.as_str() selected=move || metric.get() == m>{metric_label(m)}</option> })
            .collect_view();
        view! {
            <label>{t("communities-metric")} " "
                <select name="metric" on:change=on_metric>{options}</select>
            </label>
        }
    });
    view! {
        <form method="get" class="controls">
            <input type="hidden" name="from" value=move || window.get().from />
            <input type="hidden" name="to" value=move || window.get().to />
            <div class="periods" role="group" aria-label=t("communities-period")>{buttons}</div>
            <div class="zoom" role="group" aria-label=t("communities-zoom")>
                <button type="submit" name="zoom" value="in" on:click=zoom(1) aria-label=t("communities-zoom-in")>"+"</button>
                <button type="submit" name="zoom" value="out" on:click=zoom(-1) aria-label=t("communities-zoom-out")>"−"</button>
            </div>
            <label>{t("communities-resolution")} " "
                <select name="resolution" on:change=on_resolution prop:value=resolution_value>
                    <option value="auto" selected=move || window.get().resolution.is_none()>{t("communities-resolution-auto")}</option>
                    <option value="hour" selected=move || window.get().resolution == Some(Resolution::Hour)>{t("communities-resolution-hour")}</option>
                    <option value="day" selected=move || window.get().resolution == Some(Resolution::Day)>{t("communities-resolution-day")}</option>
                    <option value="month" selected=move || window.get().resolution == Some(Resolution::Month)>{t("communities-resolution-month")}</option>
                </select>
            </label>
            {metric_select}
            <noscript><button type="submit">{t("communities-show")}</button></noscript>
        </form>
    }
}

fn date_input(ts: i64) -> String {
    let (y, m, d) = charts::civil(ts);
    format!("{y:04}-{m:02}-{d:02}")
}

fn query(window: Window) -> String {
    let mut q = format!("from={}&to={}", window.from, window.to);
    if let Some(r) = window.resolution {
        q.push_str("&resolution=");
        q.push_str(r.as_str());
    }
    q
}

#[component]
fn OverviewPage() -> impl IntoView {
    let Some(SiteView {
        first,
        last,
        communities: count,
        page: SitePage::Overview(overview),
        ..
    }) = site()
    else {
        return view! { <p>{t("communities-no-data")}</p> }.into_any();
    };
    let Overview {
        window: start,
        metric: start_metric,
        growth,
        routing,
        top,
        top_at,
        communities,
        down,
        hours,
        weekdays,
    } = *overview;
    let window = RwSignal::new(start);
    let metric = RwSignal::new(start_metric);
    let growth = RwSignal::new(series_data(&growth, metric_label(start_metric)));
    let routing = RwSignal::new(routing_data(&routing));
    let error = RwSignal::new(None::<String>);
    let refetch = Callback::new(move |w: Window| {
        window.set(w);
        let m = metric.get_untracked();
        leptos::task::spawn_local(async move {
            match (load_network(m, w).await, load_routing(w).await) {
                (Ok(g), Ok(r)) => {
                    growth.set(series_data(&g, metric_label(m)));
                    routing.set(routing_data(&r));
                    error.set(None);
                }
                _ => error.set(Some(t("communities-load-failed"))),
            }
        });
    });
    let zoom = Callback::new(move |(direction, at): (i32, Option<i64>)| {
        refetch.run(window.get_untracked().zoom(direction, at, first, last));
    });
    let top = RwSignal::new(top);
    let top_date = top_at.unwrap_or(last);
    let on_top = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast as _;
            let form = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok());
            let value = form
                .and_then(|f| f.elements().named_item("at"))
                .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
                .map(|i| i.value())
                .unwrap_or_default();
            if let Some(at) = parse_day(&value) {
                leptos::task::spawn_local(async move {
                    match load_top(at + 86_399).await {
                        Ok(found) => top.set(found),
                        Err(_) => error.set(Some(t("communities-load-failed"))),
                    }
                });
            }
        }
    };
    let growth_embed =
        Signal::derive(move || format!("{}&metric={}", query(window.get()), metric.get().as_str()));
    let routing_embed = Signal::derive(move || query(window.get()));
    let top_embed = Signal::derive(move || {
        top.with(|t| format!("at={}", t.as_ref().map_or(last, |t| t.snapshot)))
    });
    let list = communities
        .iter()
        .map(|c| {
            let href = format!("/community/{}", c.key);
            let nodes = c.nodes.map(charts::format_count).unwrap_or_default();
            let stale = c.stale.then(|| view! { <span class="tag">{t("charts-stale")}</span> });
            view! { <li><a href=href>{c.name.clone()}</a> " " <span class="muted">{nodes}</span> {stale}</li> }
        })
        .collect_view();
    view! {
        <h1>{t("communities-title")}</h1>
        <p class="muted">
            {crate::lang().tr_args("communities-extent", &[
                ("count", count.into()),
                ("from", date_input(first).into()),
                ("to", date_input(last).into()),
            ])}
        </p>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <section aria-labelledby="top-h" class="card">
            <h2 id="top-h">{t("communities-top")}</h2>
            <form method="get" class="controls" on:submit=on_top>
                <label>{t("communities-at")} " "
                    <input type="date" name="at" value=date_input(top_date) min=date_input(first) max=date_input(last) />
                </label>
                <button type="submit">{t("communities-show")}</button>
            </form>
            {move || top.with(|t| t.as_ref().map(|t| view! {
                <p class="muted">{crate::lang().tr_args("communities-snapshot", &[("time", TimeFormat::Hour.format(t.snapshot).into())])}</p>
            }))}
            {move || top.with(|t| top_chart(t.as_ref()))}
            <EmbedCode chart="top" query=top_embed />
        </section>
        <section aria-labelledby="growth-h" class="card">
            <h2 id="growth-h">{t("communities-growth")}</h2>
            <WindowControls window first last on_change=refetch metric />
            <TimeChart data=growth.into() title=t("communities-growth") unit=Signal::derive(move || metric_label(metric.get())) on_zoom=zoom />
            <p class="links"><a href=move || format!("/api/v1/network/series?{}&metric={}&format=csv", query(window.get()), metric.get().as_str())>{t("communities-csv")}</a></p>
            <EmbedCode chart="growth" query=growth_embed />
        </section>
        <section aria-labelledby="routing-h" class="card">
            <h2 id="routing-h">{t("communities-routing")}</h2>
            <p class="muted">{t("communities-routing-note")}</p>
            <TimeChart data=routing.into() title=t("communities-routing") unit=t("communities-metric-communities") on_zoom=zoom />
            <p class="links"><a href=move || format!("/api/v1/routing/series?{}&format=csv", query(window.get()))>{t("communities-csv")}</a></p>
            <EmbedCode chart="routing" query=routing_embed />
        </section>
        <section aria-labelledby="map-h" class="card">
            <h2 id="map-h">{t("communities-map")}</h2>
            <figure class="chart">{map::map(&communities, colors::PRIMARY, |k| format!("/community/{k}"))}</figure>
            <EmbedCode chart="map" query=Signal::stored(String::new()) />
        </section>
        <section aria-labelledby="hours-h" class="card">
            <h2 id="hours-h">{t("communities-hours")}</h2>
            {profile_figure(&hours)}
            <h3>{t("communities-weekdays")}</h3>
            {profile_figure(&weekdays)}
            <EmbedCode chart="hours" query=Signal::stored(String::new()) />
        </section>
        {down_list(&down)}
        <section aria-labelledby="list-h" class="card">
            <h2 id="list-h">{t("communities-all")}</h2>
            <details>
                <summary>{crate::lang().tr_args("communities-list", &[("count", count.into())])}</summary>
                <ul class="community-list">{list}</ul>
            </details>
            <p class="links"><a href="/api/v1/communities?format=csv">{t("communities-csv")}</a> " · " <a href="/api/v1/openapi.json">{t("communities-api")}</a></p>
        </section>
    }
    .into_any()
}

/// The communities whose API file is down, longest first, with since when (none: nothing).
fn down_list(down: &[Down]) -> Option<impl IntoView + use<>> {
    if down.is_empty() {
        return None;
    }
    let items = down
        .iter()
        .map(|d| {
            let since = crate::lang().tr_args("communities-down-since", &[("time", TimeFormat::Hour.format(d.since).into())]);
            view! { <li><a href=format!("/community/{}", d.key)>{d.name.clone()}</a> ": " {since}</li> }
        })
        .collect_view();
    Some(view! {
        <section aria-labelledby="down-h" class="card">
            <h2 id="down-h">{t("communities-down")}</h2>
            <p class="muted">{t("communities-down-note")}</p>
            <ul class="community-list">{items}</ul>
        </section>
    })
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.split('-').map(str::parse::<i64>);
    let (y, m, d) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| communities::query::midnight(y, m, d))
}

#[component]
fn CommunityPage() -> impl IntoView {
    let Some(SiteView {
        first,
        last,
        page: SitePage::Community(view),
        ..
    }) = site()
    else {
        return view! { <crate::pages::NotFound /> }.into_any();
    };
    let CommunityView {
        summary,
        snapshots,
        stale_snapshots,
        last_count,
        url,
        window: start,
        series,
        hours,
        down_since,
        fetch_error,
    } = *view;
    let key = summary.key.clone();
    let window = RwSignal::new(start);
    let data = RwSignal::new(series_data(&series, summary.name.clone()));
    let error = RwSignal::new(None::<String>);
    let name = summary.name.clone();
    let refetch = {
        let (key, name) = (key.clone(), name.clone());
        Callback::new(move |w: Window| {
            window.set(w);
            let (key, name) = (key.clone(), name.clone());
            leptos::task::spawn_local(async move {
                match load_community(key, w).await {
                    Ok(Some(s)) => {
                        data.set(series_data(&s, name));
                        error.set(None);
                    }
                    _ => error.set(Some(t("communities-load-failed"))),
                }
            });
        })
    };
    let zoom = Callback::new(move |(direction, at): (i32, Option<i64>)| {
        refetch.run(window.get_untracked().zoom(direction, at, first, last));
    });
    let embed = {
        let key = key.clone();
        Signal::derive(move || format!("key={key}&{}", query(window.get())))
    };
    let routing = summary
        .routing
        .iter()
        .map(|r| communities::model::routing_label(r).to_owned())
        .collect::<Vec<_>>()
        .join(", ");
    let place = [summary.city.clone(), summary.country.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let csv = format!("/api/v1/communities/{key}/series?format=csv");
    view! {
        <Title text=format!("{} · {}", summary.name, t("communities-title")) />
        <p><a href="/">{t("communities-back")}</a></p>
        <h1>{summary.name.clone()}</h1>
        {summary.stale.then(|| {
            let since = down_since.map(|s| crate::lang().tr_args("communities-down-since", &[("time", TimeFormat::Hour.format(s).into())]));
            let error = fetch_error.map(|e| crate::lang().tr_args("communities-down-error", &[("error", e.into())]));
            view! { <p class="notice">{t("communities-stale-latest")} {since.map(|s| format!(" {s}"))} {error.map(|e| format!(" {e}"))}</p> }
        })}
        <dl class="facts">
            <dt>{t("communities-nodes-latest")}</dt>
            <dd>{match (summary.nodes, last_count) {
                (Some(n), _) => charts::format_count(n),
                // The latest known count, with the day it is from.
                (None, Some(c)) => crate::lang().tr_args(
                    "communities-nodes-last-known",
                    &[("count", charts::format_count(c.nodes).into()), ("date", date_input(c.at).into())],
                ),
                (None, None) => t("communities-no-count"),
            }}</dd>
            <dt>{t("communities-place")}</dt><dd>{place}</dd>
            <dt>{t("communities-routing-protocols")}</dt><dd>{routing}</dd>
            <dt>{t("communities-api-version")}</dt><dd>{summary.api.clone().unwrap_or_default()}</dd>
            <dt>{t("communities-seen")}</dt><dd>{format!("{} – {}", date_input(summary.first_seen), date_input(summary.last_seen))}</dd>
            <dt>{t("communities-snapshots")}</dt>
            <dd>{crate::lang().tr_args("communities-snapshots-value", &[("count", snapshots.into()), ("stale", stale_snapshots.into())])}</dd>
            {url.map(|u| view! { <dt>{t("communities-website")}</dt><dd><a href=u.clone() rel="nofollow noopener">{u.clone()}</a></dd> })}
        </dl>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <section aria-labelledby="series-h" class="card">
            <h2 id="series-h">{t("communities-nodes-over-time")}</h2>
            <WindowControls window first last on_change=refetch />
            <TimeChart data=data.into() title=name unit=t("communities-metric-nodes") on_zoom=zoom />
            <p class="links"><a href=csv>{t("communities-csv")}</a></p>
            <EmbedCode chart="community" query=embed />
        </section>
        <section aria-labelledby="hours-h" class="card">
            <h2 id="hours-h">{t("communities-hours")}</h2>
            {profile_figure(&hours)}
        </section>
    }
    .into_any()
}

/// A chart as a standalone SVG document: the same components as the pages, with the styles
/// inside and a title, no script (`/embed/<chart>.svg`).
#[cfg(feature = "ssr")]
pub fn render_svg(embed: &EmbedView, lang: crate::i18n::Lang) -> String {
    let owner = Owner::new();
    owner.with(|| {
        provide_context(PageContext { lang, ..PageContext::default() });
        let time_svg = |data: &TimeData, unit: &str| {
            let (legend, extra) = if data.lines.len() > 1 {
                let (view, height) = charts::svg_legend(&data.lines, charts::HEIGHT);
                (Some(view), height)
            } else {
                (None, 0.0)
            };
            view! {
                <svg class="plot" viewBox=format!("0 0 {} {}", charts::WIDTH, charts::HEIGHT + extra)>
                    {charts::plot(data, None, unit)}
                    {legend}
                </svg>
            }
            .to_html()
        };
        let (title, body) = match embed {
            EmbedView::Growth { metric, series, .. } => {
                (t("communities-growth"), time_svg(&series_data(series, metric_label(*metric)), &metric_label(*metric)))
            }
            EmbedView::Routing { series, .. } => (t("communities-routing"), time_svg(&routing_data(series), &t("communities-metric-communities"))),
            EmbedView::Community { summary, series, .. } => {
                (summary.name.clone(), time_svg(&series_data(series, summary.name.clone()), &t("communities-metric-nodes")))
            }
            EmbedView::Top { top } => {
                let bars = top.as_ref().map(top_bars).unwrap_or_default();
                (t("communities-top"), charts::hbars(&bars, &t("communities-top")).to_html())
            }
            EmbedView::Map { communities } => {
                (t("communities-map"), map::map(communities, colors::PRIMARY, |k| format!("/community/{k}")).to_html())
            }
            EmbedView::Hours { profile } => {
                (t("communities-hours"), charts::profile(&profile_slots(profile), &t("communities-hours"), &t("communities-profile-unit"), &t("communities-days")).to_html())
            }
        };
        standalone(&body, &title)
    })
}

/// Turns an inline `<svg>` into a document of its own: namespace, styles, title; without the
/// renderer's hydration markers.
#[cfg(feature = "ssr")]
fn standalone(svg: &str, title: &str) -> String {
    let svg = svg.replace("<!>", "");
    let Some(rest) = svg.strip_prefix("<svg") else {
        return svg;
    };
    let Some(end) = rest.find('>') else {
        return svg;
    };
    let title = title.replace('&', "&amp;").replace('<', "&lt;");
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\"{}><title>{title}</title><style>{}</style>{}",
        &rest[..end],
        charts::SVG_STYLE,
        &rest[end + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_zoom_inside_the_data_and_days_parse() {
        let (first, last) = (1_388_534_400, 1_704_067_200);
        let all = Window::period("all", first, last).unwrap();
        let zoomed = all.zoom(1, Some(last), first, last);
        assert_eq!(zoomed.to, last);
        assert_eq!(zoomed.to - zoomed.from, (last - first) / 2);
        let out = zoomed.zoom(-1, None, first, last);
        assert_eq!((out.from, out.to), (first, last));
        assert_eq!(parse_day("2016-03-23"), Some(1_458_691_200));
        assert_eq!(date_input(1_458_691_200), "2016-03-23");
    }
}
