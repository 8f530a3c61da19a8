//! The captive portal's admin page: vouchers made in batches, found, renamed, invalidated,
//! extended, exported and printed. Every action is a plain form posted to the server, which
//! answers with a redirect back here (it works without JavaScript); the list comes from the
//! server in the page context.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{PageHeading, lang, t};

/// Which vouchers the list shows (also the CSV export's and the print sheet's selection).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherFilter {
    /// Part of a code or name.
    pub q: String,
    /// `unused`, `active`, `expired`, `invalidated` or empty for all.
    pub state: String,
    /// A batch: the first and last id.
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl VoucherFilter {
    /// The filter as a query string (without `?`), for links and redirects.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", encode(&self.q)));
        }
        if !self.state.is_empty() {
            parts.push(format!("state={}", encode(&self.state)));
        }
        if let Some(first) = self.first {
            parts.push(format!("first={first}"));
        }
        if let Some(last) = self.last {
            parts.push(format!("last={last}"));
        }
        parts.join("&")
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One voucher as the list shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// `unused`, `active`, `expired`, `invalidated`.
    pub state: String,
    /// Seconds of access; `None`: permanent.
    pub duration: Option<i64>,
    /// Seconds left while active.
    pub left: Option<i64>,
    /// The activation deadline (`YYYY-MM-DD`).
    pub deadline: Option<String>,
    /// The devices using it, oldest first.
    pub devices: Vec<String>,
    pub max_devices: u32,
    /// The mesh node that made it, when another one did (its name, or its id).
    pub made_on: Option<String>,
    /// The mesh node where it was first used, when another one (its name, or its id).
    pub used_on: Option<String>,
}

/// Another node of the community mesh as this router last knew it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshPeerRow {
    /// Its host name (or its address before a round went through).
    pub name: String,
    pub address: String,
    /// Seconds since the last round that went through.
    pub synced_ago: Option<i64>,
    /// The last round went through: both held the same vouchers after it.
    pub in_sync: bool,
    /// Its clock minus this router's, in seconds (shown when it matters).
    pub skew_s: Option<i64>,
    /// Why the last round failed: `member`, `unreachable`, `timeout`, `version`, `other`.
    pub error: Option<String>,
}

/// The community mesh part of the page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshView {
    /// The community this router is in.
    pub community: Option<String>,
    /// This router's id in the mesh (16 hex digits).
    pub node: String,
    /// The join code and its QR code (a `data:` URL), while in a community.
    pub join_code: Option<String>,
    pub join_qr: Option<String>,
    /// The sync's interface and port.
    pub interface: String,
    pub port: u16,
    pub peers: Vec<MeshPeerRow>,
}

/// The portal's settings as the form shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSettingsView {
    pub enabled: bool,
    pub title: String,
    pub text: String,
    /// One destination per line.
    pub walled_garden: String,
    pub tries_per_minute: u32,
    /// Guests get access by reading and accepting, not with a voucher.
    pub accept: bool,
    /// Minutes of access after accepting.
    pub accept_minutes: u32,
    /// Seconds left of the admin's "open for everyone" time, while it runs.
    pub open_left: Option<i64>,
}

/// Everything the page shows, from the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherAdminView {
    /// The portal is switched on in `/etc/config/portico`.
    pub enabled: bool,
    /// A logo is set.
    pub has_logo: bool,
    pub settings: PortalSettingsView,
    pub filter: VoucherFilter,
    /// The matching vouchers (at most [`VoucherAdminView::SHOWN`]).
    pub rows: Vec<VoucherRow>,
    /// How many match.
    pub matching: usize,
    /// What the last action did (already in the page's language).
    pub notice: Option<String>,
    /// Why the last action failed (already in the page's language).
    pub error: Option<String>,
    pub mesh: MeshView,
}

impl VoucherAdminView {
    /// Rows the page lists at most; CSV and print take every match.
    pub const SHOWN: usize = 500;
}

/// `2 h 30 min`, `3 d`, `45 min`.
pub fn duration_text(seconds: i64) -> String {
    // Whole minutes, rounded up: 59 min 30 s left reads "1 h", never "0 min".
    let minutes = (seconds.max(0) + 59) / 60;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} d"));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(format!("{m} min"));
    }
    parts.join(" ")
}

/// Where the server gets [`VoucherAdminView`] from: the page's query (filters, and what the
/// last form did) in, the view out, in the request's language.
#[cfg(feature = "ssr")]
pub trait VoucherSource: Send + Sync {
    fn voucher_view(
        &self,
        query: &std::collections::HashMap<String, String>,
        lang: crate::i18n::Lang,
    ) -> VoucherAdminView;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The admin page's data for a query (login required, enforced by the server before this
/// runs).
#[server(prefix = "/api/fn", endpoint = "voucher_view")]
pub async fn load_vouchers(
    query: Vec<(String, String)>,
) -> Result<VoucherAdminView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn VoucherSource>>()
        .ok_or_else(|| ServerFnError::new("voucher source missing"))?;
    Ok(source.voucher_view(&query.into_iter().collect(), crate::request_lang()))
}

/// `/portal`.
#[component]
pub fn PortalAdmin() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let data = Resource::new_blocking(move || query.with(crate::query_pairs), load_vouchers);
    view! {
        <PageHeading text=t("vouchers-title") />
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Vouchers view /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// The admin page for one view of the vouchers.
#[component]
fn Vouchers(view: VoucherAdminView) -> impl IntoView {
    let query = view.filter.query();
    let suffix = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let lang = lang();
    let shown = if view.matching > view.rows.len() {
        lang.tr_args(
            "vouchers-shown-some",
            &[
                ("shown", view.rows.len().into()),
                ("matching", view.matching.into()),
            ],
        )
    } else {
        lang.tr_args("vouchers-shown", &[("matching", view.matching.into())])
    };
    view! {
        {(!view.enabled).then(|| view! { <p class="notice" role="status">{t("vouchers-portal-off")}</p> })}
        {view.notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
        {view.error.map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <CreateForm />
        <SettingsForm settings=view.settings.clone() has_logo=view.has_logo />
        {view.enabled.then(|| view! { <OpenForm left=view.settings.open_left /> })}
        <Mesh mesh=view.mesh.clone() />
        <section aria-labelledby="list-heading">
            <h2 id="list-heading">{t("vouchers-list")}</h2>
            <FilterForm filter=view.filter.clone() />
            <p>
                {shown} " "
                <a href=format!("/portal/vouchers.csv{suffix}") download="vouchers.csv">{t("vouchers-csv")}</a>
                " · "
                <a href=format!("/portal/print{suffix}") rel="external">{t("vouchers-print")}</a>
            </p>
            <ul class="vouchers">
                {view.rows.into_iter().map(|row| view! { <Row row back=query.clone() /> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn CreateForm() -> impl IntoView {
    // After a refusal the server sends the values back as `c.*`: the form shows what was typed.
    let query = leptos_router::hooks::use_query_map();
    let typed = move |name: &str, default: &str| {
        query.with_untracked(|q| {
            q.get(&format!("c.{name}"))
                .unwrap_or_else(|| default.to_owned())
        })
    };
    view! {
        <details class="card wide" open>
            <summary><h2 class="inline">{t("vouchers-create")}</h2></summary>
            <form method="post" action="/portal/vouchers" class="grid">
                <label for="v-qty">{t("vouchers-quantity")}</label>
                <input id="v-qty" name="quantity" type="number" min="1" max="1000" value=typed("quantity", "10") required />
                <label for="v-duration">{t("vouchers-duration")}</label>
                <input id="v-duration" name="duration" type="text" value=typed("duration", "2h") aria-describedby="v-duration-hint" />
                <p class="hint" id="v-duration-hint">{t("vouchers-duration-hint")}</p>
                <label class="check"><input name="permanent" type="checkbox" value="1" checked=typed("permanent", "") == "1" />" " {t("vouchers-permanent")}</label>
                <label for="v-deadline">{t("vouchers-deadline")}</label>
                <input id="v-deadline" name="deadline" type="date" value=typed("deadline", "") />
                <label for="v-name">{t("vouchers-name")}</label>
                <input id="v-name" name="name" type="text" maxlength="100" value=typed("name", "") />
                <label for="v-devices">{t("vouchers-devices")}</label>
                <input id="v-devices" name="max_devices" type="number" min="1" max="100" value=typed("max_devices", "1") required />
                <button type="submit" class="primary">{t("vouchers-create-button")}</button>
            </form>
        </details>
    }
}

#[component]
fn SettingsForm(settings: PortalSettingsView, has_logo: bool) -> impl IntoView {
    // After a refusal the server sends the values back as `s.*`: the form shows what was typed.
    let query = leptos_router::hooks::use_query_map();
    let refused = query.with_untracked(|q| q.get("s.tries_per_minute").is_some());
    let settings = query.with_untracked(|q| {
        if !refused {
            return settings;
        }
        let text = |name: &str| q.get(&format!("s.{name}")).unwrap_or_default();
        PortalSettingsView {
            enabled: text("enabled") == "1",
            title: text("title"),
            text: text("text"),
            walled_garden: text("walled_garden"),
            accept: text("mode") == "accept",
            ..settings
        }
    });
    let tries = query
        .with_untracked(|q| q.get("s.tries_per_minute"))
        .unwrap_or_else(|| settings.tries_per_minute.to_string());
    let minutes = query
        .with_untracked(|q| q.get("s.accept_minutes"))
        .unwrap_or_else(|| settings.accept_minutes.to_string());
    view! {
        <details class="card wide" open=!settings.enabled || refused>
            <summary><h2 class="inline">{t("portal-settings")}</h2></summary>
            <form method="post" action="/portal/settings" class="grid">
                <label class="check">
                    <input name="enabled" type="checkbox" value="1" checked=settings.enabled />" "
                    {t("portal-settings-enabled")}
                </label>
                <p class="hint">{t("portal-settings-enabled-hint")}</p>
                <label for="p-title">{t("portal-settings-title")}</label>
                <input id="p-title" name="title" type="text" maxlength="100" value=settings.title />
                <label for="p-text">{t("portal-settings-text")}</label>
                <textarea id="p-text" name="text" rows="3" maxlength="1000">{settings.text}</textarea>
                <label for="p-garden">{t("portal-settings-garden")}</label>
                <textarea id="p-garden" name="walled_garden" rows="3" aria-describedby="p-garden-hint">{settings.walled_garden}</textarea>
                <p class="hint" id="p-garden-hint">{t("portal-settings-garden-hint")}</p>
                <fieldset class="modes">
                    <legend>{t("portal-settings-mode")}</legend>
                    <label class="check"><input type="radio" name="mode" value="voucher" checked=!settings.accept />" " {t("portal-settings-mode-voucher")}</label>
                    <label class="check"><input type="radio" name="mode" value="accept" checked=settings.accept />" " {t("portal-settings-mode-accept")}</label>
                </fieldset>
                <label for="p-minutes">{t("portal-settings-accept-minutes")}</label>
                <input id="p-minutes" name="accept_minutes" type="number" min="1" max="10080" value=minutes required aria-describedby="p-minutes-hint" />
                <p class="hint" id="p-minutes-hint">{t("portal-settings-accept-minutes-hint")}</p>
                <label for="p-tries">{t("portal-settings-tries")}</label>
                <input id="p-tries" name="tries_per_minute" type="number" min="1" max="60" value=tries required />
                <button type="submit" class="primary">{t("portal-settings-save")}</button>
            </form>
            <form method="post" action="/portal/logo" enctype="multipart/form-data" class="grid">
                <label for="p-logo">{t("portal-settings-logo")}</label>
                <input id="p-logo" name="logo" type="file" accept="image/png,image/jpeg,image/webp,image/svg+xml" aria-describedby="p-logo-hint" />
                <p class="hint" id="p-logo-hint">{t("portal-settings-logo-hint")}</p>
                <button type="submit">{t("portal-settings-logo-upload")}</button>
                {has_logo.then(|| view! {
                    <button type="submit" name="remove" value="1" class="danger">{t("portal-settings-logo-remove")}</button>
                })}
            </form>
        </details>
    }
}

#[component]
fn FilterForm(filter: VoucherFilter) -> impl IntoView {
    let states = [
        ("", "vouchers-state-all"),
        ("unused", "vouchers-state-unused"),
        ("active", "vouchers-state-active"),
        ("expired", "vouchers-state-expired"),
        ("invalidated", "vouchers-state-invalidated"),
    ];
    view! {
        <form method="get" action="/portal" class="filters" role="search">
            <label for="v-q">{t("vouchers-search")}</label>
            <input id="v-q" name="q" type="search" value=filter.q />
            <label for="v-state">{t("vouchers-state")}</label>
            <select id="v-state" name="state">
                {states
                    .into_iter()
                    .map(|(value, key)| {
                        let selected = filter.state == value;
                        view! { <option value=value selected=selected>{t(key)}</option> }
                    })
                    .collect_view()}
            </select>
            <button type="submit">{t("vouchers-filter")}</button>
        </form>
    }
}

/// The emergency switch: everyone through for a time that ends by itself, or ended now.
#[component]
fn OpenForm(left: Option<i64>) -> impl IntoView {
    let lang = lang();
    let query = leptos_router::hooks::use_query_map();
    let typed = query.with_untracked(|q| q.get("o.duration").unwrap_or_else(|| "2h".into()));
    view! {
        <section class="card wide" aria-labelledby="open-heading">
            <h2 id="open-heading">{t("open-title")}</h2>
            {match left {
                Some(left) => view! {
                    <p class="notice" role="status">{lang.tr_args("open-running", &[("time", duration_text(left).into())])}</p>
                    <form method="post" action="/portal/open">
                        <input type="hidden" name="end" value="1" />
                        <button type="submit" class="danger">{t("open-end")}</button>
                    </form>
                }.into_any(),
                None => view! {
                    <p>{t("open-intro")}</p>
                    <form method="post" action="/portal/open" class="grid">
                        <label for="o-duration">{t("open-duration")}</label>
                        <input id="o-duration" name="duration" type="text" required value=typed aria-describedby="o-duration-hint" />
                        <p class="hint" id="o-duration-hint">{t("open-duration-hint")}</p>
                        <button type="submit">{t("open-button")}</button>
                    </form>
                }.into_any(),
            }}
        </section>
    }
}

/// The community mesh: create or join one, or the join code and the other members.
#[component]
fn Mesh(mesh: MeshView) -> impl IntoView {
    let lang = lang();
    let query = leptos_router::hooks::use_query_map();
    let typed = query.with_untracked(|q| q.get("m.community").unwrap_or_default());
    let body = match mesh.community.clone() {
        None => view! {
            <p>{t("mesh-intro")}</p>
            <form method="post" action="/portal/mesh" class="grid">
                <input type="hidden" name="action" value="create" />
                <label for="m-community">{t("mesh-community")}</label>
                <input id="m-community" name="community" type="text" required maxlength="64"
                    pattern="[A-Za-z0-9._\\-]{1,64}" value=typed aria-describedby="m-community-hint" />
                <p class="hint" id="m-community-hint">{t("mesh-community-hint")}</p>
                <button type="submit" class="primary">{t("mesh-create")}</button>
            </form>
            <form method="post" action="/portal/mesh" class="grid">
                <input type="hidden" name="action" value="join" />
                <label for="m-code">{t("mesh-code")}</label>
                // The code is a secret: the browser checks its shape before it is sent, and a
                // refused one is not sent back in the address.
                <input id="m-code" name="code" type="text" required autocomplete="off" spellcheck="false"
                    pattern="portico-mesh:[A-Za-z0-9._\\-]{1,64}:[A-Za-z0-9_\\-]{43}" aria-describedby="m-code-hint" />
                <p class="hint" id="m-code-hint">{t("mesh-code-hint")}</p>
                <button type="submit">{t("mesh-join")}</button>
            </form>
        }
        .into_any(),
        Some(community) => {
            let peers = mesh.peers.clone();
            view! {
                <p>{lang.tr_args("mesh-member", &[("community", community.into()), ("interface", mesh.interface.clone().into()), ("port", mesh.port.into())])}</p>
                <details class="join-code">
                    <summary>{t("mesh-show-code")}</summary>
                    <p class="hint">{t("mesh-code-secret")}</p>
                    {mesh.join_qr.clone().filter(|q| !q.is_empty()).map(|q| view! {
                        <img src=q alt=t("mesh-qr-alt") width="200" height="200" />
                    })}
                    <p><code class="join" data-testid="join-code">{mesh.join_code.clone()}</code></p>
                </details>
                <h3>{t("mesh-members")}</h3>
                {if peers.is_empty() {
                    view! { <p>{t("mesh-no-members")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="peers" data-testid="mesh-peers">
                            {peers.into_iter().map(|p| view! { <Peer peer=p /> }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                <p class="hint">{lang.tr_args("mesh-node", &[("node", mesh.node.clone().into())])}</p>
                <form method="post" action="/portal/mesh">
                    <input type="hidden" name="action" value="leave" />
                    <button type="submit" class="danger">{t("mesh-leave")}</button>
                </form>
            }
            .into_any()
        }
    };
    view! {
        <section class="card wide" aria-labelledby="mesh-heading">
            <h2 id="mesh-heading">{t("mesh-title")}</h2>
            {body}
        </section>
    }
}

/// One other member: its name, when it was last in touch and whether both hold the same.
#[component]
fn Peer(peer: MeshPeerRow) -> impl IntoView {
    let lang = lang();
    let when = peer.synced_ago.map_or_else(
        || t("mesh-never"),
        |s| lang.tr_args("mesh-synced-ago", &[("time", duration_text(s).into())]),
    );
    let state = match (&peer.error, peer.in_sync) {
        (Some(e), _) => t(&format!("mesh-error-{e}")),
        (None, true) => t("mesh-in-sync"),
        (None, false) => t("mesh-waiting"),
    };
    // A clock more than a minute off is worth saying: activations are stamped with it.
    let skew = peer
        .skew_s
        .filter(|s| s.abs() >= 60)
        .map(|s| lang.tr_args("mesh-skew", &[("seconds", s.into())]));
    view! {
        <li class=if peer.error.is_some() { "peer failing" } else { "peer" }>
            <strong>{peer.name}</strong> " " <span class="hint">{peer.address}</span>
            <p class="meta">{when} " · " {state} {skew.map(|s| view! { " · " {s} })}</p>
        </li>
    }
}

#[component]
fn Row(row: VoucherRow, back: String) -> impl IntoView {
    let lang = lang();
    let id = row.id;
    let duration = row
        .duration
        .map_or_else(|| t("vouchers-permanent-short"), duration_text);
    let state = t(&format!("vouchers-state-{}", row.state));
    let left = row
        .left
        .map(|s| lang.tr_args("vouchers-left", &[("time", duration_text(s).into())]));
    let devices = if row.devices.is_empty() {
        lang.tr_args("vouchers-no-devices", &[("max", row.max_devices.into())])
    } else {
        lang.tr_args(
            "vouchers-device-list",
            &[
                ("devices", row.devices.join(", ").into()),
                ("max", row.max_devices.into()),
            ],
        )
    };
    let action = move |what: &str| format!("/portal/vouchers/{id}/{what}");
    let can_change = row.state != "invalidated";
    view! {
        <li class=format!("voucher {}", row.state)>
            <div class="voucher-head">
                <code class="code">{row.code.clone()}</code>
                <span class="badge">{state}</span>
            </div>
            <p class="meta">
                {(!row.name.is_empty()).then(|| view! { <strong>{row.name.clone()}</strong>" · " })}
                {duration}
                {left.map(|l| view! { " · " {l} })}
                {row.deadline.clone().map(|d| view! { " · " {lang.tr_args("vouchers-deadline-on", &[("date", d.into())])} })}
            </p>
            <p class="meta">{devices}</p>
            {(row.made_on.is_some() || row.used_on.is_some()).then(|| view! {
                <p class="meta">
                    {row.made_on.clone().map(|n| lang.tr_args("vouchers-made-on", &[("node", n.into())]))}
                    {(row.made_on.is_some() && row.used_on.is_some()).then_some(" · ")}
                    {row.used_on.clone().map(|n| lang.tr_args("vouchers-used-on", &[("node", n.into())]))}
                </p>
            })}
            <details>
                <summary>{t("vouchers-manage")}</summary>
                <form method="post" action=action("rename") class="row-form">
                    <input type="hidden" name="back" value=back.clone() />
                    <label for=format!("n-{id}")>{t("vouchers-name")}</label>
                    <input id=format!("n-{id}") name="name" type="text" maxlength="100" value=row.name.clone() />
                    <button type="submit">{t("vouchers-rename")}</button>
                </form>
                {can_change.then(|| view! {
                    <form method="post" action=action("extend") class="row-form">
                        <input type="hidden" name="back" value=back.clone() />
                        <label for=format!("e-{id}")>{t("vouchers-extend-by")}</label>
                        <input id=format!("e-{id}") name="duration" type="text" value="1h" />
                        <button type="submit">{t("vouchers-extend")}</button>
                    </form>
                    <form method="post" action=action("invalidate") class="row-form">
                        <input type="hidden" name="back" value=back.clone() />
                        <button type="submit" class="danger">{t("vouchers-invalidate")}</button>
                    </form>
                })}
            </details>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_as_query_strings() {
        let f = VoucherFilter {
            q: "Café & co".into(),
            state: "active".into(),
            first: Some(3),
            last: Some(9),
        };
        assert_eq!(
            f.query(),
            "q=Caf%C3%A9%20%26%20co&state=active&first=3&last=9"
        );
        assert_eq!(VoucherFilter::default().query(), "");
        assert_eq!(duration_text(7200), "2 h");
        assert_eq!(duration_text(90_000), "1 d 1 h");
        assert_eq!(duration_text(59), "1 min");
        assert_eq!(duration_text(3599), "1 h");
        assert_eq!(duration_text(3540), "59 min");
    }
}
