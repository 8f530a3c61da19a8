//! The pages of the app shell. Each page renders what the server provides; none invents data.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::charts::{Line, TimeChart, TimeData, TimeFormat};
use crate::status::{self, load_overview};
use crate::{PageHeading, lang, t};

/// Overview: internet, IPv6, LAN, Wi-Fi, connected devices, traffic, the machine, and the
/// capabilities' state — live over Server-Sent Events once hydrated.
#[component]
pub fn Home() -> impl IntoView {
    let overview = Resource::new_blocking(|| (), |()| load_overview());
    let files = Resource::new_blocking(|| (), |()| crate::config::config_files());
    // The answer to "Test now" (`?test=`), shown under the internet state.
    let test = use_query_map().with_untracked(|q| q.get("test"));
    view! {
        <PageHeading text=t("home-title") />
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                overview.get().map(|result| match result {
                    Ok(overview) => view! { <Overview overview test=test.clone() /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
            {move || {
                files.get().map(|result| match result {
                    Ok(files) => view! { <ConfigFiles files /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// The overview's sections, following the event stream.
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn Overview(overview: status::Overview, test: Option<String>) -> impl IntoView {
    let state = RwSignal::new(overview);
    #[cfg(feature = "hydrate")]
    follow(state);
    let tested = match test.as_deref() {
        Some("not-here") => {
            Some(view! { <p class="error" role="alert">{t("home-test-not-here")}</p> }.into_any())
        }
        Some(_) => Some(view! { <p role="status">{t("home-test-started")}</p> }.into_any()),
        None => None,
    };
    view! {
        {move || state.with(|o| o.system.dev_root.clone()).map(|root| view! {
            <p class="notice" role="note">{lang().tr_args("home-platform-dev", &[("root", root.into())])}</p>
        })}
        <section aria-labelledby="home-internet" class="card">
            <h2 id="home-internet">{t("home-internet")}</h2>
            <div aria-live="polite">{move || internet(&state.get().internet)}</div>
            <form method="post" action="/status/test">
                <button type="submit" class="secondary">{t("home-test-now")}</button>
            </form>
            {tested}
        </section>
        <section aria-labelledby="home-ipv6" class="card">
            <h2 id="home-ipv6">{t("home-ipv6")}</h2>
            {move || ipv6(&state.get())}
        </section>
        <section aria-labelledby="home-wifi" class="card">
            <h2 id="home-wifi">{t("home-wifi")}</h2>
            {move || wifi(&state.get().wifi)}
        </section>
        <section aria-labelledby="home-devices">
            <h2 id="home-devices">{t("home-devices")}</h2>
            <div aria-live="polite">{move || devices(&state.get().devices)}</div>
        </section>
        <section aria-labelledby="home-traffic">
            <h2 id="home-traffic">{t("home-traffic")}</h2>
            <Traffic state />
        </section>
        <section aria-labelledby="home-services" class="card">
            <h2 id="home-services">{t("home-services")}</h2>
            {move || capabilities(&state.get().capabilities)}
        </section>
        <section aria-labelledby="home-system" class="card">
            <h2 id="home-system">{t("home-system")}</h2>
            {move || system(&state.get().system)}
        </section>
    }
}

/// One row of a facts list.
fn fact(term: String, value: impl IntoView + 'static) -> impl IntoView {
    view! { <dt>{term}</dt><dd>{value}</dd> }
}

/// A list of addresses, or "none".
fn addresses(list: &[String]) -> String {
    if list.is_empty() {
        t("home-none")
    } else {
        list.join(", ")
    }
}

fn internet(i: &status::Internet) -> impl IntoView + use<> {
    let lang = lang();
    let state = match (i.proto.is_empty(), i.up) {
        (true, _) => view! { <p class="notice" data-up="0">{t("home-internet-none")}</p> },
        (false, true) => view! { <p class="notice ok" data-up="1">{t("home-internet-up")}</p> },
        (false, false) => {
            view! { <p class="notice error" data-up="0">{t("home-internet-down")}</p> }
        }
    };
    let connected = i
        .connected_seconds
        .map_or_else(|| t("home-unknown"), status::format_duration);
    let test = i.test.as_ref().map(|test| {
        let items = test
            .checks
            .iter()
            .map(|c| {
                let text = lang.tr_args(
                    &format!("wizard-check-{}", c.what),
                    &[("detail", c.detail.clone().into())],
                );
                let mark = if c.ok { "✓ " } else { "✗ " };
                view! { <li class=if c.ok { "ok" } else { "error" }><span aria-hidden="true">{mark}</span>{text}</li> }
            })
            .collect_view();
        let heading = if test.running {
            t("home-test-running")
        } else if test.checks.iter().all(|c| c.ok) {
            t("home-test-passed")
        } else {
            t("home-test-failed")
        };
        view! { <p data-testid="conntest">{heading}</p><ul class="checks">{items}</ul> }
    });
    view! {
        {state}
        <dl class="facts">
            {fact(t("home-wan-proto"), format!("{} ({})", t(&proto_key(&i.proto)), i.device))}
            {fact(t("home-wan-address"), addresses(&i.addresses))}
            {fact(t("home-gateway"), i.gateway.clone().unwrap_or_else(|| t("home-none")))}
            {fact(t("home-dns"), addresses(&i.dns))}
            {fact(t("home-connected-for"), connected)}
        </dl>
        {test}
    }
}

/// The message key naming a WAN protocol.
fn proto_key(proto: &str) -> String {
    match proto {
        "dhcp" | "static" | "pppoe" | "dhcpv6" | "" => format!(
            "home-proto-{}",
            if proto.is_empty() { "none" } else { proto }
        ),
        _ => "home-proto-other".into(),
    }
}

fn ipv6(o: &status::Overview) -> impl IntoView + use<> {
    let state = match o.ipv6.state.as_str() {
        "connected" => t("home-ipv6-connected"),
        "local" => t("home-ipv6-local"),
        _ => t("home-ipv6-off"),
    };
    view! {
        <p data-ipv6=o.ipv6.state.clone()>{state}</p>
        <dl class="facts">
            {fact(t("home-wan-address"), addresses(&o.ipv6.wan_addresses))}
            {fact(t("home-gateway"), o.ipv6.gateway.clone().unwrap_or_else(|| t("home-none")))}
            {fact(lang().tr_args("home-lan-address", &[("device", o.lan.device.clone().into())]), addresses(&o.lan.addresses))}
        </dl>
    }
}

fn wifi(w: &status::Wifi) -> impl IntoView + use<> {
    if w.networks.is_empty() {
        return view! { <p>{t("home-wifi-none")}</p> }.into_any();
    }
    let lang = lang();
    let rows = w
        .networks
        .iter()
        .map(|n| {
            let band = if n.band.is_empty() {
                t("home-unknown")
            } else {
                t(&format!("home-band-{}", n.band))
            };
            let clients = match (n.enabled, n.clients) {
                (false, _) => t("home-wifi-off"),
                (true, Some(c)) => lang.tr_args("home-wifi-clients", &[("count", c.into())]),
                (true, None) => t("home-not-here"),
            };
            view! { <dt>{n.ssid.clone()} " · " {band}</dt><dd>{clients}</dd> }
        })
        .collect_view();
    view! {
        <dl class="facts">{rows}</dl>
        {(!w.clients_known).then(|| view! { <p class="hint">{t("home-wifi-clients-not-here")}</p> })}
    }
    .into_any()
}

fn devices(list: &[status::Device]) -> impl IntoView + use<> {
    if list.is_empty() {
        return view! { <p>{t("home-devices-none")}</p> }.into_any();
    }
    let lang = lang();
    let rows = list
        .iter()
        .map(|d| {
            let vendor = match (&d.vendor, d.private_mac) {
                (Some(v), _) => v.clone(),
                (None, true) => t("home-mac-private"),
                (None, false) => t("home-unknown"),
            };
            let link = if d.link.is_empty() {
                t("home-unknown")
            } else {
                t(&format!("home-link-{}", d.link))
            };
            let online = match (d.online, d.online_seconds) {
                (true, Some(s)) => lang.tr_args(
                    "home-online-for",
                    &[("duration", status::format_duration(s).into())],
                ),
                (true, None) => t("home-online"),
                (false, _) => t("home-offline"),
            };
            let lease = d.lease_seconds.map_or_else(
                || t("home-lease-none"),
                |s| {
                    lang.tr_args(
                        "home-lease-left",
                        &[("duration", status::format_duration(s).into())],
                    )
                },
            );
            view! {
                <tr data-mac=d.mac.clone() data-online=if d.online { "1" } else { "0" }>
                    <th scope="row">{d.name.clone().unwrap_or_else(|| t("home-unnamed"))}</th>
                    <td>{d.addresses.join(", ")}</td>
                    <td><code>{d.mac.clone()}</code><br />{vendor}</td>
                    <td>{link}</td>
                    <td>{online}</td>
                    <td>{lease}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        // Focusable so the keyboard can scroll it sideways.
        <div class="table-scroll" tabindex="0" role="region" aria-label=t("home-devices")>
            <table class="devices">
                <thead>
                    <tr>
                        <th scope="col">{t("home-device-name")}</th>
                        <th scope="col">{t("home-device-address")}</th>
                        <th scope="col">{t("home-device-mac")}</th>
                        <th scope="col">{t("home-device-link")}</th>
                        <th scope="col">{t("home-device-online")}</th>
                        <th scope="col">{t("home-device-lease")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Received and sent bits per second of each interface, one chart each.
#[component]
fn Traffic(state: RwSignal<status::Overview>) -> impl IntoView {
    let names = Memo::new(move |_| {
        state.with(|o| {
            o.traffic
                .iter()
                .map(|t| (t.interface.clone(), t.role.clone()))
                .collect::<Vec<_>>()
        })
    });
    move || {
        names
            .get()
            .into_iter()
            .map(|(name, role)| {
                let title = if role.is_empty() {
                    name.clone()
                } else {
                    format!("{} ({name})", t(&format!("home-role-{role}")))
                };
                let data = {
                    let name = name.clone();
                    Signal::derive(move || state.with(|o| traffic_data(o, &name)))
                };
                // The highest rate shown, for scripts and tests reading the page.
                let peak = {
                    let name = name.clone();
                    move || {
                        state.with(|o| {
                            o.traffic
                                .iter()
                                .filter(|s| s.interface == name)
                                .flat_map(|s| s.points.iter().map(|p| p.rx.max(p.tx)))
                                .fold(0.0_f64, f64::max)
                                .round()
                                .to_string()
                        })
                    }
                };
                view! {
                    <figure class="traffic" data-interface=name.clone() data-peak=peak>
                        <figcaption>{title.clone()}</figcaption>
                        <TimeChart data title unit=t("home-bits-per-second") />
                    </figure>
                }
            })
            .collect_view()
    }
}

/// One interface's chart data: received and sent.
fn traffic_data(o: &status::Overview, name: &str) -> TimeData {
    let Some(series) = o.traffic.iter().find(|s| s.interface == name) else {
        return TimeData::default();
    };
    TimeData {
        t: series.points.iter().map(|p| p.t).collect(),
        lines: vec![
            Line {
                label: t("home-received"),
                color: "#332288".into(),
                values: series.points.iter().map(|p| Some(p.rx)).collect(),
            },
            Line {
                label: t("home-sent"),
                color: "#cc6677".into(),
                values: series.points.iter().map(|p| Some(p.tx)).collect(),
            },
        ],
        stacked: false,
        time_format: TimeFormat::Clock,
        stale: Vec::new(),
    }
}

fn capabilities(c: &status::Capabilities) -> impl IntoView + use<> {
    let lang = lang();
    let portal = if c.portal {
        lang.tr_args("home-portal-on", &[("count", c.portal_clients.into())])
    } else {
        t("home-portal-off")
    };
    let offload = if c.offload {
        t("home-offload-on")
    } else {
        lang.tr_args(
            "home-offload-off",
            &[("reason", c.offload_problem.clone().into())],
        )
    };
    let bluetooth = match c.bluetooth {
        None => t("home-bluetooth-off"),
        Some(true) => lang.tr_args("home-bluetooth-on", &[("count", c.bluetooth_peers.into())]),
        Some(false) => lang.tr_args(
            "home-bluetooth-waiting",
            &[("reason", c.bluetooth_problem.clone().into())],
        ),
    };
    view! {
        <dl class="facts">
            <dt><a href="/portal">{t("nav-portal")}</a></dt><dd data-capability="portal">{portal}</dd>
            <dt><a href="/offload">{t("nav-offload")}</a></dt><dd data-capability="offload">{offload}</dd>
            <dt><a href="/bluetooth">{t("nav-bluetooth")}</a></dt><dd data-capability="bluetooth">{bluetooth}</dd>
        </dl>
    }
}

fn system(s: &status::SystemStatus) -> impl IntoView + use<> {
    let lang = lang();
    let platform = match &s.dev_root {
        Some(_) => t("home-platform-dev-short"),
        None => t("home-platform-openwrt"),
    };
    let network = if s.network_functions {
        t("home-network-ready")
    } else {
        t("home-network-unavailable")
    };
    let load = s.load.map_or_else(
        || t("home-unknown"),
        |[a, b, c]| format!("{a:.2} · {b:.2} · {c:.2}"),
    );
    let used = |total: u64, free: u64| {
        let text = lang.tr_args(
            "home-used-of",
            &[
                (
                    "used",
                    status::format_bytes(total.saturating_sub(free)).into(),
                ),
                ("total", status::format_bytes(total).into()),
            ],
        );
        view! {
            <meter min="0" max=total.to_string() value=total.saturating_sub(free).to_string()>{text.clone()}</meter>
            " " {text}
        }
    };
    let memory = s.memory.map(|m| used(m.total_bytes, m.available_bytes));
    let storage = s.storage.map(|m| used(m.total_bytes, m.free_bytes));
    let temperature = match &s.temperatures {
        None => t("home-not-here"),
        Some(list) if list.is_empty() => t("home-temperature-none"),
        Some(list) => list
            .iter()
            .map(|s| format!("{}: {:.1} °C", s.name, s.celsius))
            .collect::<Vec<_>>()
            .join(", "),
    };
    view! {
        <dl class="facts">
            {fact(t("home-hostname"), s.hostname.clone().unwrap_or_else(|| t("home-hostname-unknown")))}
            {fact(t("home-boot-uptime"), s.boot_seconds.map_or_else(|| t("home-unknown"), status::format_duration))}
            {fact(t("home-load"), load)}
            {fact(t("home-memory"), memory.map_or_else(|| t("home-unknown").into_any(), IntoAny::into_any))}
            {fact(t("home-storage"), storage.map_or_else(|| t("home-unknown").into_any(), IntoAny::into_any))}
            {fact(t("home-temperature"), temperature)}
            {fact(t("home-version"), s.version.clone())}
            {fact(t("home-platform"), platform)}
            {fact(t("home-kernel"), s.kernel.clone())}
            {fact(t("home-uptime"), status::format_duration(s.uptime_seconds))}
            {fact(t("home-network"), network)}
        </dl>
    }
}

/// Follows the event stream: a `status` event every two seconds.
#[cfg(feature = "hydrate")]
fn follow(state: RwSignal<status::Overview>) {
    crate::follow(
        status::STATUS_EVENTS,
        "status",
        move |o: status::Overview| state.set(o),
    );
}

/// The files under `/etc/config`: each parses (with its section count) or shows where and why
/// it does not — Portico never rewrites such a file.
#[component]
fn ConfigFiles(files: Vec<crate::config::ConfigFile>) -> impl IntoView {
    let lang = lang();
    let rows = files
        .into_iter()
        .map(|file| {
            let detail = match (&file.sections, &file.problem) {
                (_, Some(p)) => view! {
                    <span class="error" role="alert">
                        {lang.tr_args("home-config-broken", &[
                            ("line", p.line.into()),
                            ("byte", p.byte.into()),
                            ("reason", p.reason.clone().into()),
                        ])}
                    </span>
                }
                .into_any(),
                (Some(n), None) => view! { <span>{lang.tr_args("home-config-ok", &[("sections", (*n).into())])}</span> }.into_any(),
                (None, None) => view! { <span>{t("home-config-unreadable")}</span> }.into_any(),
            };
            view! { <dt>{file.name}</dt><dd>{detail}</dd> }
        })
        .collect_view();
    view! {
        <h2>{t("home-config-title")}</h2>
        <dl class="facts">{rows}</dl>
    }
}

/// Login: a plain form (POST /login) that works without JavaScript; with the hydrated app
/// the password can be shown while typing.
#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        let q = query.read();
        match q.get("error").as_deref() {
            Some("failed") => Some(t("login-failed")),
            Some("expired") => Some(t("login-expired")),
            Some("rate") => {
                let seconds: u64 = q.get("wait").and_then(|w| w.parse().ok()).unwrap_or(1);
                Some(lang().tr_args("login-rate-limited", &[("seconds", seconds.into())]))
            }
            _ => None,
        }
    };
    view! {
        <PageHeading text=t("login-title") />
        {move || message().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        <form method="post" action="/login" class="card">
            // Where the browser was when it had to log in: it returns there.
            {move || query.read().get("next").map(|next| view! { <input type="hidden" name="next" value=next /> })}
            <label for="user">{t("login-user")}</label>
            <input id="user" name="user" type="text" value="root" autocomplete="username" required />
            <label for="password">{t("login-password")}</label>
            <PasswordInput id="password".to_owned() name="password".to_owned() autocomplete="current-password".to_owned() />
            <button type="submit" class="primary">{t("login-submit")}</button>
        </form>
    }
}

/// A password field with a show/hide button that works once the island is hydrated.
#[cfg_attr(shell_island, island)]
#[cfg_attr(not(shell_island), component)]
fn PasswordInput(id: String, name: String, autocomplete: String) -> impl IntoView {
    let (visible, set_visible) = signal(false);
    view! {
        <span class="password">
            <input
                id=id.clone()
                name=name
                type=move || if visible.get() { "text" } else { "password" }
                autocomplete=autocomplete
                required
            />
            <button
                type="button"
                class="reveal"
                aria-controls=id
                aria-pressed=move || visible.get().to_string()
                on:click=move |_| set_visible.update(|v| *v = !*v)
            >
                {move || if visible.get() { t("login-hide-password") } else { t("login-show-password") }}
            </button>
        </span>
    }
}

/// 404 inside the app.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageHeading text=t("error-not-found") />
        <p>{t("error-not-found")}</p>
    }
}
