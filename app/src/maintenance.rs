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
            Some(seconds) => view! { <Waiting seconds /> }.into_any(),
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
#[component]
fn Waiting(seconds: u64) -> impl IntoView {
    let left = RwSignal::new(seconds);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| watch(left));
    let text = move || lang().tr_args("reboot-waiting", &[("seconds", left.get().into())]);
    view! {
        // Without JavaScript the browser tries again after the expected time.
        <leptos_meta::Meta http_equiv="refresh" content=format!("{};url=/", seconds + 2) />
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
            } else if away.get() || left.get_untracked() == 0 {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().set_href("/");
                }
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
