//! `/bluetooth`: the Bluetooth LE link for the qaul messenger: what BlueZ offers here (or why
//! Bluetooth is unavailable), the link's own identity, and the live peer table (Server-Sent
//! Events from `/api/v1/ble/events`) with a "send test message" form per peer. The page works
//! without JavaScript (the table as of loading, plain forms); with it, the table follows.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{PageHeading, lang, t};

/// One Bluetooth adapter as BlueZ reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterRow {
    /// `hci0`.
    pub name: String,
    pub address: String,
    pub powered: bool,
}

/// What the server found out about Bluetooth for this page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BluetoothView {
    /// A powered adapter is there.
    pub available: bool,
    /// Why not, in BlueZ's or D-Bus's words (empty when available).
    pub reason: String,
    pub adapters: Vec<AdapterRow>,
    /// The qaul link, when this Portico runs one.
    pub link: Option<LinkView>,
}

/// The qaul link as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub running: bool,
    /// Why not running.
    pub reason: String,
    /// Our q8id, 16 hex digits.
    pub q8id: String,
    pub adapter: String,
    pub address: String,
    /// `both`, `current` or `legacy`.
    pub generations: String,
    pub peers: Vec<PeerRow>,
}

/// One qaul peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRow {
    pub q8id: String,
    /// `current` or `legacy`.
    pub generation: String,
    pub address: String,
    pub rssi: Option<i16>,
    /// `central` or `peripheral` (our side) while connected.
    pub role: String,
    pub connected: bool,
    pub seen_secs_ago: u64,
    #[serde(flatten)]
    pub counts: PeerCounts,
    /// The last send's outcome and the last received message, in words.
    pub last_sent: String,
    pub last_received: String,
}

/// A peer's traffic: link bytes and whole messages each way, and writes that were refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCounts {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub errors: u64,
}

/// Where the page's live table comes from.
pub const BLE_EVENTS: &str = "/api/v1/ble/events";

/// Where the server gets [`BluetoothView`] from (asking BlueZ takes a D-Bus round trip); the
/// server puts an implementation into the Leptos context.
#[cfg(feature = "ssr")]
pub trait BluetoothSource: Send + Sync {
    /// What BlueZ offers and the link, explained in `lang`.
    fn bluetooth_view(
        &self,
        lang: crate::i18n::Lang,
    ) -> std::pin::Pin<Box<dyn Future<Output = BluetoothView> + Send + '_>>;
}

/// The page's data (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "bluetooth_view")]
pub async fn load_bluetooth() -> Result<BluetoothView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn BluetoothSource>>()
        .ok_or_else(|| ServerFnError::new("bluetooth source missing"))?;
    Ok(source.bluetooth_view(crate::request_lang()).await)
}

/// `/bluetooth`.
#[component]
pub fn BluetoothPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |()| load_bluetooth());
    let lang = lang();
    let query = leptos_router::hooks::use_query_map();
    let outcome = query.with_untracked(|q| {
        if q.get("sent").is_some() {
            Some(view! { <p class="notice" role="status">{t("ble-test-queued")}</p> }.into_any())
        } else {
            q.get("error").map(|reason| {
                let text = lang.tr_args("ble-test-failed", &[("reason", reason.into())]);
                view! { <p class="error" role="alert">{text}</p> }.into_any()
            })
        }
    });
    view! {
        <PageHeading text=t("bluetooth-title") />
        {outcome}
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Bluetooth view /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// What BlueZ offers and the link.
#[component]
fn Bluetooth(view: BluetoothView) -> impl IntoView {
    let lang = lang();
    let status = if view.available {
        view! { <p class="notice" role="status">{t("bluetooth-available")}</p> }.into_any()
    } else {
        view! {
            <p class="notice" role="status">
                {lang.tr_args("bluetooth-unavailable", &[("reason", view.reason.clone().into())])}
            </p>
        }
        .into_any()
    };
    let adapters = view
        .adapters
        .into_iter()
        .map(|a| {
            let state = if a.powered {
                t("bluetooth-powered")
            } else {
                t("bluetooth-off")
            };
            view! { <dt>{a.name}</dt><dd>{a.address} " · " {state}</dd> }
        })
        .collect_view();
    let link = view.link.map(|link| view! { <Link link /> });
    view! {
        {status}
        <dl class="facts">{adapters}</dl>
        {link}
    }
}

/// The link's identity and its live peer table.
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn Link(link: LinkView) -> impl IntoView {
    let lang = lang();
    let state = RwSignal::new(link);
    #[cfg(feature = "hydrate")]
    follow(state);
    let facts = move || {
        let link = state.get();
        let running = if link.running {
            t("ble-running")
        } else {
            lang.tr_args("ble-stopped", &[("reason", link.reason.clone().into())])
        };
        view! {
            <p class="notice" role="status">{running}</p>
            <dl class="facts">
                <dt>{t("ble-own-id")}</dt><dd><code>{link.q8id}</code></dd>
                <dt>{t("ble-generations")}</dt><dd>{link.generations}</dd>
            </dl>
        }
    };
    let rows = move || {
        let peers = state.get().peers;
        if peers.is_empty() {
            return view! { <p>{t("ble-no-peers")}</p> }.into_any();
        }
        let cards = peers
            .into_iter()
            .map(|p| view! { <PeerCard peer=p /> })
            .collect_view();
        view! { <ul class="peers">{cards}</ul> }.into_any()
    };
    view! {
        <section aria-labelledby="ble-peers">
            {facts}
            <h2 id="ble-peers">{t("ble-peers")}</h2>
            <div aria-live="polite">{rows}</div>
        </section>
    }
}

#[component]
fn PeerCard(peer: PeerRow) -> impl IntoView {
    let lang = lang();
    let state = if peer.connected {
        lang.tr_args("ble-connected", &[("role", peer.role.clone().into())])
    } else {
        t("ble-in-range")
    };
    let rssi = peer.rssi.map(|r| format!(" · {r} dBm")).unwrap_or_default();
    let counts = lang.tr_args(
        "ble-counts",
        &[
            ("messagesIn", peer.counts.messages_in.into()),
            ("messagesOut", peer.counts.messages_out.into()),
            ("bytesIn", peer.counts.bytes_in.into()),
            ("bytesOut", peer.counts.bytes_out.into()),
            ("errors", peer.counts.errors.into()),
        ],
    );
    let seen = lang.tr_args("ble-seen", &[("seconds", peer.seen_secs_ago.into())]);
    let line = format!(
        "{} · {state} · {}{rssi} · {seen}",
        peer.generation, peer.address
    );
    let size_id = format!("size-{}", peer.q8id);
    let last_sent = (!peer.last_sent.is_empty())
        .then(|| view! { <p>{t("ble-last-sent")} " " <span class="last-sent">{peer.last_sent.clone()}</span></p> });
    let last_received = (!peer.last_received.is_empty()).then(|| {
        view! { <p>{t("ble-last-received")} " " <span class="last-received">{peer.last_received.clone()}</span></p> }
    });
    view! {
        <li class="card peer" data-peer=peer.q8id.clone()>
            <h3><code>{peer.q8id.clone()}</code></h3>
            <p>{line}</p>
            <p class="counts">{counts}</p>
            {last_sent}
            {last_received}
            <form method="post" action="/bluetooth/send" class="inline">
                <input type="hidden" name="peer" value=peer.q8id.clone() />
                <label for=size_id.clone()>{t("ble-test-size")}</label>
                <select id=size_id name="size">
                    <option value="1">"1 B"</option>
                    <option value="500" selected>"500 B"</option>
                    <option value="61440">"60 KiB"</option>
                </select>
                <button type="submit">{t("ble-send-test")}</button>
            </form>
        </li>
    }
}

/// Follows the link's event stream.
#[cfg(feature = "hydrate")]
fn follow(state: RwSignal<LinkView>) {
    crate::follow(BLE_EVENTS, "link", move |link: LinkView| state.set(link));
}
