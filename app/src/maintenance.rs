//! Keeping the router going: `/settings/reboot` restarts it, then waits for it and comes back
//! by itself (a refresh without JavaScript; with it, as soon as the router answers again).

use leptos::prelude::*;

use crate::{PageHeading, lang, t};

/// `/settings/reboot`: the button, or (`?restarting=<seconds>`) the wait.
#[component]
pub fn RebootPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let seconds = query.with_untracked(|q| {
        q.get("restarting")
            .and_then(|s| s.parse::<u64>().ok())
            .map(|s| s.clamp(1, 600))
    });
    let refused = query.with_untracked(|q| q.get("error").is_some());
    view! {
        <PageHeading text=t("reboot-title") />
        {match seconds {
            Some(seconds) => view! {
                // Without JavaScript the browser tries again after the expected time.
                <leptos_meta::Meta http_equiv="refresh" content=format!("{};url=/", seconds + 2) />
                <Waiting seconds />
            }
            .into_any(),
            None => view! {
                {refused.then(|| view! { <p class="error" role="alert">{t("reboot-error")}</p> })}
                <section class="card">
                    <p>{t("reboot-about")}</p>
                    <form method="post" action="/settings/reboot">
                        <button type="submit" class="primary">{t("reboot-button")}</button>
                    </form>
                </section>
                <p><a href="/settings">{t("settings-back")}</a></p>
            }
            .into_any(),
        }}
    }
}

/// The wait after a restart: counts down, then goes to the overview once the router answers.
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn Waiting(seconds: u64) -> impl IntoView {
    let left = RwSignal::new(seconds);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| watch(left));
    let text = move || lang().tr_args("reboot-waiting", &[("seconds", left.get().into())]);
    view! {
        <p class="notice" role="status" aria-live="polite" data-testid="reboot-waiting">{text}</p>
        <p>{t("reboot-back")}</p>
    }
}

/// Counts down every second and asks `/healthz`; the first answer after the router was away
/// (or once the time is up and it answers) goes back to the overview.
#[cfg(feature = "hydrate")]
fn watch(left: RwSignal<u64>) {
    use std::cell::Cell;
    use std::rc::Rc;
    let away = Rc::new(Cell::new(false));
    let tick = move || {
        left.update(|s| *s = s.saturating_sub(1));
        let away = away.clone();
        leptos::task::spawn_local(async move {
            let answered = answers("/healthz").await;
            if !answered {
                away.set(true);
            } else if (away.get() || left.get_untracked() == 0)
                && let Some(window) = web_sys::window()
            {
                let _ = window.location().set_href("/");
            }
        });
    };
    let handle = set_interval_with_handle(tick, std::time::Duration::from_secs(1));
    on_cleanup(move || {
        if let Ok(h) = handle {
            h.clear();
        }
    });
}

/// Whether `url` answers 200 (no cache).
#[cfg(feature = "hydrate")]
async fn answers(url: &str) -> bool {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else {
        return false;
    };
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let promise = window.fetch_with_str_and_init(url, &init);
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(value) => value.dyn_into::<web_sys::Response>().is_ok_and(|r| r.ok()),
        Err(_) => false,
    }
}

/// An uploaded firmware image, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageView {
    pub size: u64,
    /// The release it installs; `None`: no OpenWrt metadata in it.
    pub version: Option<String>,
    pub devices: Vec<String>,
    pub signed: bool,
    /// This router's board, when the platform knows it.
    pub board: Option<String>,
    /// The platform's own check (OpenWrt `sysupgrade -T`): passed, and its words.
    pub test: Option<(bool, String)>,
}

/// The firmware page's data.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FirmwareView {
    pub image: Option<ImageView>,
    /// The platform can flash (false on the dev platform: images are checked, never flashed).
    pub can_flash: bool,
    pub problem: Option<String>,
}

/// Where the server gets the firmware page's data.
#[cfg(feature = "ssr")]
pub trait FirmwareSource: Send + Sync {
    fn firmware_view(&self, query: &[(String, String)], lang: crate::i18n::Lang) -> FirmwareView;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The firmware page's data (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "firmware_view")]
pub async fn load_firmware(query: Vec<(String, String)>) -> Result<FirmwareView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn FirmwareSource>>()
        .ok_or_else(|| ServerFnError::new("firmware source missing"))?;
    Ok(source.firmware_view(&query, crate::request_lang()))
}

/// `/settings/firmware`: upload an image, see what it is and whether it fits, flash it.
#[component]
pub fn FirmwarePage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let data = Resource::new_blocking(move || query.with(crate::query_pairs), load_firmware);
    view! {
        <PageHeading text=t("firmware-title") />
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Firmware view /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
        <p><a href="/settings">{t("settings-back")}</a></p>
    }
}

#[component]
fn Firmware(view: FirmwareView) -> impl IntoView {
    let lang = lang();
    let image = view.image.map(|image| {
        let size = crate::status::format_bytes(image.size);
        let version = image.version.clone().map_or_else(
            || view! { <p class="error" data-testid="firmware-verdict">{t("firmware-no-metadata")}</p> }.into_any(),
            |v| view! { <p data-testid="firmware-version">{lang.tr_args("firmware-version", &[("version", v.into())])}</p> }.into_any(),
        );
        let fits = match (&image.board, image.version.is_some()) {
            (Some(board), true) if image.devices.contains(board) => Some(view! {
                <p class="notice ok" data-testid="firmware-verdict">{lang.tr_args("firmware-fits", &[("board", board.clone().into())])}</p>
            }.into_any()),
            (Some(board), true) => Some(view! {
                <p class="error" data-testid="firmware-verdict">{lang.tr_args("firmware-wrong-board", &[("board", board.clone().into())])}</p>
            }.into_any()),
            (None, true) => Some(view! { <p class="notice" data-testid="firmware-verdict">{t("firmware-board-unknown")}</p> }.into_any()),
            (_, false) => None,
        };
        let devices = (!image.devices.is_empty()).then(|| {
            lang.tr_args("firmware-devices", &[("devices", image.devices.join(", ").into())])
        });
        let test = image.test.clone().map(|(ok, words)| {
            let key = if ok { "firmware-test-passed" } else { "firmware-test-failed" };
            view! { <p class=if ok { "notice ok" } else { "error" }>{t(key)} " " <code>{words}</code></p> }
        });
        view! {
            <section class="card" aria-labelledby="image-title">
                <h2 id="image-title">{t("firmware-image")}</h2>
                {version}
                <p>{lang.tr_args("firmware-size", &[("size", size.into())])}</p>
                {devices.map(|d| view! { <p>{d}</p> })}
                {fits}
                <p>{if image.signed { t("firmware-signed") } else { t("firmware-unsigned") }}</p>
                {test}
                <form method="post" action="/settings/firmware/flash">
                    <div class="check">
                        <input type="checkbox" id="keep" name="keep" value="on" checked />
                        <label for="keep">{t("firmware-keep")}</label>
                    </div>
                    <button type="submit" class="primary">{t("firmware-flash")}</button>
                </form>
                {(!view.can_flash).then(|| view! { <p class="hint">{t("firmware-not-here")}</p> })}
            </section>
        }
    });
    view! {
        {view.problem.map(|p| view! { <p class="error" role="alert">{p}</p> })}
        {image}
        <section class="card" aria-labelledby="upload-title">
            <h2 id="upload-title">{t("firmware-upload-title")}</h2>
            <p class="hint" id="upload-hint">{t("firmware-upload-about")}</p>
            <form method="post" action="/settings/firmware" enctype="multipart/form-data">
                <div class="field">
                    <label for="firmware-file">{t("firmware-file")}</label>
                    <input id="firmware-file" name="image" type="file" aria-describedby="upload-hint" required />
                </div>
                <button type="submit" class="primary">{t("firmware-check")}</button>
            </form>
        </section>
    }
}
