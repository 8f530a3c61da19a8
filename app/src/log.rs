//! `/settings/log`: the router's log — OpenWrt's system log (`logread`), or on the dev platform
//! Portico's own — filtered by words and severity (a plain form: works without JavaScript) and
//! followed live over Server-Sent Events once hydrated.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{PageHeading, lang, t};

/// One line of the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub text: String,
    /// `error`, `warn`, `info`, `debug` or empty.
    pub level: String,
}

/// The log as the page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogView {
    /// The system log (`logread`); else Portico's own.
    pub system: bool,
    /// The matching lines, oldest first (the last ones only).
    pub lines: Vec<LogLine>,
    /// How many lines match in all.
    pub matching: usize,
    /// Why the log cannot be read, in the page's language.
    pub problem: Option<String>,
}

/// The URL of the log's event stream (`log` events carrying [`LogView`]); the page's filter
/// goes along as its query.
pub const LOG_EVENTS: &str = "/api/v1/log/events";

/// Where the server gets the log.
#[cfg(feature = "ssr")]
pub trait LogSource: Send + Sync {
    fn log_view(&self, query: &[(String, String)], lang: crate::i18n::Lang) -> LogView;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The log for the page's filter (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "log_view")]
pub async fn load_log(query: Vec<(String, String)>) -> Result<LogView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn LogSource>>()
        .ok_or_else(|| ServerFnError::new("log source missing"))?;
    Ok(source.log_view(&query, crate::request_lang()))
}

/// `/settings/log`.
#[component]
pub fn LogPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let pairs = query.with_untracked(crate::query_pairs);
    let data = Resource::new_blocking(move || query.with(crate::query_pairs), load_log);
    let words = pairs
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let level = pairs
        .iter()
        .find(|(k, _)| k == "level")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let levels = [
        ("", "log-level-all"),
        ("warn", "log-level-warn"),
        ("error", "log-level-error"),
    ]
    .map(|(value, key)| {
        let selected = value == level;
        view! { <option value=value selected=selected>{t(key)}</option> }
    });
    view! {
        <PageHeading text=t("log-title") />
        <form method="get" action="/settings/log" class="card filter">
            <div class="field">
                <label for="log-q">{t("log-words")}</label>
                <input id="log-q" name="q" type="search" value=words />
            </div>
            <div class="field">
                <label for="log-level">{t("log-level")}</label>
                <select id="log-level" name="level">{levels}</select>
            </div>
            <button type="submit" class="primary">{t("log-filter")}</button>
        </form>
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Log view query=pairs.clone() /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
        <p><a href="/settings">{t("settings-back")}</a></p>
    }
}

/// The matching lines, following the log's event stream.
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn Log(view: LogView, query: Vec<(String, String)>) -> impl IntoView {
    let state = RwSignal::new(view);
    #[cfg(feature = "hydrate")]
    {
        let encoded: Vec<String> = query
            .iter()
            .filter(|(k, _)| k == "q" || k == "level")
            .map(|(k, v)| format!("{k}={}", crate::portal::encode(v)))
            .collect();
        let url = format!("{LOG_EVENTS}?{}", encoded.join("&"));
        crate::follow(&url, "log", move |v: LogView| state.set(v));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = query;
    let lang = lang();
    view! {
        <p class="hint">{move || if state.with(|v| v.system) { t("log-system") } else { t("log-own") }}</p>
        {move || state.with(|v| v.problem.clone()).map(|p| view! { <p class="error" role="alert">{p}</p> })}
        <p aria-live="polite">{move || lang.tr_args("log-matching", &[("count", state.with(|v| v.matching).into())])}</p>
        // Focusable so the keyboard can scroll it sideways.
        <div class="table-scroll log" tabindex="0" role="region" aria-label=t("log-title")>
            <ol class="log">
                {move || {
                    state.with(|v| {
                        v.lines
                            .iter()
                            .map(|l| view! { <li data-level=l.level.clone()>{l.text.clone()}</li> })
                            .collect_view()
                    })
                }}
            </ol>
        </div>
    }
}
