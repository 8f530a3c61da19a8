//! The pages of the app shell. Each page renders what the server provides; none invents data.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::status::{SystemStatus, format_duration, load_system_status};
use crate::{PageHeading, lang, t};

/// Overview: Portico's version, platform, kernel and whether network functions can run.
#[component]
pub fn Home() -> impl IntoView {
    let status = Resource::new_blocking(|| (), |()| load_system_status());
    let files = Resource::new_blocking(|| (), |()| crate::config::config_files());
    view! {
        <PageHeading text=t("home-title") />
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                status.get().map(|result| match result {
                    Ok(status) => view! { <StatusTable status /> }.into_any(),
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

#[component]
fn StatusTable(status: SystemStatus) -> impl IntoView {
    let lang = lang();
    let platform = match &status.dev_root {
        Some(root) => lang.tr_args("home-platform-dev", &[("root", root.clone().into())]),
        None => t("home-platform-openwrt"),
    };
    let network = if status.network_functions {
        t("home-network-ready")
    } else {
        t("home-network-unavailable")
    };
    let rows = [
        (
            t("home-hostname"),
            status
                .hostname
                .unwrap_or_else(|| t("home-hostname-unknown")),
        ),
        (t("home-version"), status.version),
        (t("home-platform"), platform),
        (t("home-kernel"), status.kernel),
        (t("home-uptime"), format_duration(status.uptime_seconds)),
        (t("home-network"), network),
    ];
    view! {
        <dl class="facts">
            {rows
                .into_iter()
                .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
                .collect_view()}
        </dl>
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
            <PasswordInput id="password" name="password" autocomplete="current-password" />
            <button type="submit" class="primary">{t("login-submit")}</button>
        </form>
    }
}

/// A password field with a show/hide button that works once the app is hydrated.
#[component]
fn PasswordInput(
    id: &'static str,
    name: &'static str,
    autocomplete: &'static str,
) -> impl IntoView {
    let (visible, set_visible) = signal(false);
    view! {
        <span class="password">
            <input
                id=id
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

/// What a page of a capability that is not built yet shows: a plain notice, no data.
#[component]
pub fn NotAvailable(feature: &'static str) -> impl IntoView {
    let body = lang().tr_args("not-available-body", &[("feature", t(feature).into())]);
    view! {
        <PageHeading text=t("not-available-title") />
        <p class="notice" role="status">{body}</p>
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
