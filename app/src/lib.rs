//! Portico's web app: one Leptos component tree rendered on the server (feature `ssr`) and
//! made live in the browser (feature `hydrate`).
//!
//! The router's pages are islands: the server renders every page whole (each works without
//! JavaScript), and only the parts that change on the page — live tables, the menu button,
//! the wizard's checks as one types — are `#[island]` components, hydrated from the data the
//! server put in their props. The router's bundle (built without `communities`) therefore
//! holds the islands and nothing else, and fetches the page's one translation catalog instead
//! of carrying all six. The communities site (`communities`) hydrates its whole page, and the
//! router's islands in it as ordinary components.
//!
//! The server decides who may see what (login, first-boot setup, LAN side) before a page is
//! rendered; components only render what the server hands them in [`PageContext`] and what
//! server functions return. Components never invent data.

#![recursion_limit = "256"]

pub mod backup;
pub mod bluetooth;
pub mod charts;
#[cfg(feature = "communities")]
pub mod communities;
pub mod config;
pub mod i18n;
pub mod log;
pub mod maintenance;
pub mod offload;
pub mod pages;
pub mod portal;
pub mod ports;
pub mod settings;
pub mod status;
pub mod tasks;
pub mod wizard;

use leptos::prelude::*;
use leptos_meta::{Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};
use serde::{Deserialize, Serialize};

use i18n::Lang;

/// What the server knows about this request that every page needs, identical on the
/// server and in the browser (it travels in `<meta name="portico-context">`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageContext {
    /// The language this page is rendered in.
    pub lang: Lang,
    /// A valid admin session came with the request.
    pub logged_in: bool,
    /// No admin password exists yet: only the setup page is reachable.
    pub setup_needed: bool,
    /// The request arrived on the LAN side (the admin listener's LAN device).
    pub lan_side: bool,
    /// A configuration change waiting for confirmation (shown to logged-in admins only).
    pub apply: Option<ApplyStatus>,
    /// The communities site's page data (only in `serve --profile communities`; the router's
    /// bundle is built without it and ignores the field).
    #[cfg(feature = "communities")]
    pub communities: Option<communities::SiteView>,
}

impl PageContext {
    /// The component tree this page renders (this build has only the router UI).
    #[cfg(all(feature = "ssr", not(feature = "communities")))]
    #[allow(
        clippy::unused_self,
        reason = "the same call as the communities build's, which reads the page"
    )]
    fn root(&self) -> AnyView {
        view! { <App /> }.into_any()
    }

    /// The component tree this page renders: the router UI, the communities site, or an embed.
    #[cfg(feature = "communities")]
    fn root(&self) -> AnyView {
        match &self.communities {
            None => view! { <App /> }.into_any(),
            Some(communities::SiteView {
                page: communities::SitePage::Embed(_),
                ..
            }) => view! { <communities::EmbedApp /> }.into_any(),
            Some(_) => view! { <communities::CommunitiesApp /> }.into_any(),
        }
    }
}

/// The state of applying configuration, as the server reports it (API, SSE, page context).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyStatus {
    pub pending: bool,
    /// Whole seconds until the pending apply is rolled back.
    pub seconds_left: u64,
    /// When that happens (milliseconds since the epoch), for clients that count down alone.
    pub deadline_ms: Option<u64>,
    /// Config files the pending apply changed.
    pub files: Vec<String>,
    /// How the last apply ended: `confirmed`, `rolled_back` (not confirmed in time), `reverted`
    /// (on request), `applied`, `reload_failed`.
    pub last: Option<String>,
    /// What the last reload could not do on this platform, or why it failed.
    pub note: Option<String>,
}

/// The URL of the apply status stream (Server-Sent Events, `apply` events).
pub const APPLY_EVENTS: &str = "/api/v1/config/apply/events";

/// The language of the request being served (in a server function or the server's render).
#[cfg(feature = "ssr")]
pub(crate) fn request_lang() -> i18n::Lang {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<PageContext>().map(|c| c.lang))
        .unwrap_or_default()
}

impl PageContext {
    /// The name of the `<meta>` tag carrying the context to the browser.
    pub const META_NAME: &'static str = "portico-context";
}

/// Names of the hashed, pre-compressed assets under `/pkg/` (from the build manifest).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetNames {
    /// Each bundle's name and the stem shared by its JS glue (`<stem>.js`) and its WASM
    /// (`<stem>_bg.wasm`): the router's by [`islands_bundle`], the communities site's one.
    pub bundles: std::collections::BTreeMap<String, String>,
    /// The stylesheet's file name.
    pub css: String,
    /// The icon's file name (SVG).
    #[serde(default)]
    pub icon: String,
}

/// The message `key` in the page's language.
pub fn t(key: &str) -> String {
    use_context::<PageContext>()
        .unwrap_or_default()
        .lang
        .tr(key)
}

/// The page's query as name/value pairs (what a page's server function is asked with).
pub fn query_pairs(query: &leptos_router::params::ParamsMap) -> Vec<(String, String)> {
    query
        .clone()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The page's language.
pub fn lang() -> Lang {
    use_context::<PageContext>().unwrap_or_default().lang
}

/// The whole HTML document, rendered on the server only. The server puts [`PageContext`]
/// and [`AssetNames`] into the request's extensions before rendering.
#[cfg(feature = "ssr")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "leptos_axum hands the shell its options by value"
)]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos::nonce::use_nonce;

    let parts = use_context::<http::request::Parts>();
    let page = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<PageContext>().cloned())
        .unwrap_or_default();
    let assets = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<AssetNames>().cloned())
        .unwrap_or_default();
    provide_context(page.clone());

    // A fresh nonce for the one inline script (hydration); the server's CSP names it.
    leptos::nonce::provide_nonce();
    if let (Some(nonce), Some(response)) =
        (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        && let Ok(value) = http::HeaderValue::from_str(&content_security_policy(&nonce))
    {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }

    let context_json = serde_json::to_string(&page).unwrap_or_default();
    let path = parts.as_ref().map_or("/", |p| p.uri.path());
    let bundle = if cfg!(feature = "communities") {
        "communities"
    } else {
        islands_bundle(path)
    };
    let script = assets
        .bundles
        .get(bundle)
        .map(|stem| hydration_script(&options.site_pkg_dir, stem, page.lang));
    #[cfg(feature = "communities")]
    let script = embed_script(&page, script);
    let css = format!("/pkg/{}", assets.css);
    let icon = format!("/pkg/{}", assets.icon);
    view! {
        <!DOCTYPE html>
        <html lang=page.lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name=PageContext::META_NAME content=context_json />
                {(!assets.css.is_empty()).then(|| view! { <link rel="stylesheet" href=css /> })}
                {(!assets.icon.is_empty())
                    .then(|| view! { <link rel="icon" type="image/svg+xml" href=icon /> })}
                // Hydration: the module loads the WASM itself. No preload hints, so a browser
                // with JavaScript off (every page works without it) fetches neither.
                {script.map(|script| view! { <script type="module" nonce=use_nonce()>{script}</script> })}
            </head>
            <body>
                {page.root()}
            </body>
        </html>
    }
}

/// The router's bundle for the page at `path`: `pages` (every island) where the page has
/// islands of its own, else `shell` (the menu, the apply banner, the login's password field;
/// a third of the size). A page whose island is missing from its bundle stays as the server
/// rendered it: the e2e tests check that every island on every page hydrates.
#[cfg(feature = "ssr")]
pub fn islands_bundle(path: &str) -> &'static str {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    let live = [
        "/offload",
        "/ports",
        "/bluetooth",
        "/settings/log",
        "/settings/reboot",
    ];
    let wizard = under("/setup") || under("/confirm") || is_settings_step(path);
    if path == "/" || wizard || live.iter().any(|p| under(p)) {
        "pages"
    } else {
        "shell"
    }
}

/// `/settings/<step>`: one wizard step as a settings page.
#[cfg(feature = "ssr")]
fn is_settings_step(path: &str) -> bool {
    path.strip_prefix("/settings/")
        .is_some_and(|slug| wizard::Step::ALL.iter().any(|s| s.slug() == slug))
        || path == "/settings/applied"
}

/// The one inline script. The router's: on a page with islands only, load the bundle and the
/// page's catalog side by side, then hydrate each outermost island (an island inside another
/// is part of it) and mark it `data-hydrated`. The communities site's: hydrate the whole page
/// and mark `<html>` `data-hydrated`.
#[cfg(feature = "ssr")]
fn hydration_script(pkg: &str, app: &str, lang: Lang) -> String {
    if cfg!(feature = "communities") {
        format!(
            "import('/{pkg}/{app}.js').then(m => m.default({{module_or_path: '/{pkg}/{app}_bg.wasm'}}).then(() => {{ m.hydrate(); document.documentElement.dataset.hydrated = ''; }}));"
        )
    } else {
        let catalog = i18n::catalog_file(lang);
        format!(
            "if (document.querySelector('leptos-island')) Promise.all([import('/{pkg}/{app}.js'), \
             fetch('/{pkg}/{catalog}').then(r => r.text())]).then(([m, c]) => \
             m.default({{module_or_path: '/{pkg}/{app}_bg.wasm'}}).then(() => {{ m.hydrate(c); \
             for (const el of document.querySelectorAll('leptos-island')) \
             if (!el.parentElement.closest('leptos-island') && m[el.dataset.component]) \
             {{ m[el.dataset.component](el); el.dataset.hydrated = ''; }} }}));"
        )
    }
}

/// An embed page's script: it tells the page framing it its height; only an interactive
/// chart hydrates (the others load no WASM). Other pages keep `hydration`.
#[cfg(all(feature = "ssr", feature = "communities"))]
fn embed_script(page: &PageContext, hydration: Option<String>) -> Option<String> {
    let Some(communities::SiteView {
        page: communities::SitePage::Embed(embed),
        ..
    }) = &page.communities
    else {
        return hydration;
    };
    let hydrate = hydration
        .filter(|_| embed.interactive())
        .unwrap_or_default();
    Some(format!("{}\n{hydrate}", communities::EMBED_HEIGHT_SCRIPT))
}

/// The Content-Security-Policy of a rendered page: scripts only from this origin or with
/// this response's nonce, WASM compilation allowed, nothing framed, no plugins.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// The component tree under `<body>`.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let page = use_context::<PageContext>().unwrap_or_default();
    let show_nav = page.logged_in && !page.setup_needed;
    view! {
        <Router>
            <a class="skip" href="#main">{t("skip-to-content")}</a>
            <header class="top">
                // The menu's Overview item is the one marked current.
                <a href="/" class="brand">{t("app-name")}</a>
                {show_nav.then(|| view! { <Nav path=path_here() /> })}
                <LanguageSwitcher />
            </header>
            {show_nav.then(|| {
                // After "Revert now" the server sends the browser back with `applied=reverted`.
                let reverted = leptos_router::hooks::use_query_map()
                    .with_untracked(|q| q.get("applied").as_deref() == Some("reverted"));
                view! { <ApplyBanner path=path_here() reverted /> }
            })}
            <main id="main">
                // Async: every page arrives complete, so it works without JavaScript (phone captive
                // assistants, no-JS browsers) and needs no inline streaming scripts.
                <Routes fallback=|| view! { <pages::NotFound /> }>
                    <Route ssr=SsrMode::Async path=path!("/") view=pages::Home />
                    <Route ssr=SsrMode::Async path=path!("/login") view=pages::Login />
                    <Route ssr=SsrMode::Async path=path!("/setup") view=|| view! { <wizard::page::WizardPage /> } />
                    <Route ssr=SsrMode::Async path=path!("/setup/:step") view=|| view! { <wizard::page::WizardPage /> } />
                    <Route ssr=SsrMode::Async path=path!("/settings") view=settings::SettingsIndex />
                    <Route ssr=SsrMode::Async path=path!("/settings/forwards") view=|| view! { <tasks::TaskPage task=tasks::Task::Forwards /> } />
                    <Route ssr=SsrMode::Async path=path!("/settings/leases") view=|| view! { <tasks::TaskPage task=tasks::Task::Leases /> } />
                    <Route ssr=SsrMode::Async path=path!("/settings/vpn") view=|| view! { <tasks::TaskPage task=tasks::Task::Vpn /> } />
                    <Route ssr=SsrMode::Async path=path!("/settings/backup") view=backup::BackupPage />
                    <Route ssr=SsrMode::Async path=path!("/settings/reboot") view=maintenance::RebootPage />
                    <Route ssr=SsrMode::Async path=path!("/settings/log") view=log::LogPage />
                    <Route ssr=SsrMode::Async path=path!("/settings/firmware") view=maintenance::FirmwarePage />
                    <Route ssr=SsrMode::Async path=path!("/settings/:step") view=|| view! { <wizard::page::WizardPage settings=true /> } />
                    <Route ssr=SsrMode::Async path=path!("/confirm") view=wizard::page::ConfirmPage />
                    <Route ssr=SsrMode::Async path=path!("/portal") view=portal::PortalAdmin />
                    <Route ssr=SsrMode::Async path=path!("/offload") view=offload::OffloadPage />
                    <Route ssr=SsrMode::Async path=path!("/bluetooth") view=bluetooth::BluetoothPage />
                    <Route ssr=SsrMode::Async path=path!("/ports") view=ports::PortsPage />
                </Routes>
            </main>
        </Router>
    }
}

/// A page's heading and the browser's title for it (`<heading> · Portico`): every page says
/// where the user is, in the tab and on the page.
#[component]
pub fn PageHeading(#[prop(into)] text: String) -> impl IntoView {
    view! {
        <Title text=format!("{text} · {}", t("app-name")) />
        <h1>{text}</h1>
    }
}

/// The path of the page being rendered (read on the server, handed to islands as a prop).
fn path_here() -> String {
    leptos_router::hooks::use_location()
        .pathname
        .get_untracked()
}

/// The menu item for `href` is the current one on `path`.
fn is_current(path: &str, href: &str) -> bool {
    if href == "/" {
        path == "/"
    } else {
        path == href
            || path.starts_with(&format!("{href}/"))
            // The wizard run again after setup is a way to change settings.
            || (href == "/settings" && path.starts_with("/setup"))
    }
}

/// The main navigation; on narrow screens it folds behind a menu button (which needs the
/// hydrated island; without JavaScript the stylesheet keeps the links visible).
#[cfg_attr(shell_island, island)]
#[cfg_attr(not(shell_island), component)]
fn Nav(path: String) -> impl IntoView {
    let (open, set_open) = signal(false);
    let links = [
        ("/", "nav-home"),
        ("/settings", "nav-settings"),
        ("/portal", "nav-portal"),
        ("/offload", "nav-offload"),
        ("/bluetooth", "nav-bluetooth"),
        ("/ports", "nav-ports"),
    ];
    view! {
        <nav aria-label=t("nav-menu") class="nav" class:folded=move || !open.get()>
            <button
                type="button"
                class="menu-toggle"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| set_open.update(|o| *o = !*o)
            >
                {t("nav-menu")}
            </button>
            <ul>
                {links
                    .into_iter()
                    .map(|(href, key)| {
                        let current = is_current(&path, href).then_some("page");
                        view! { <li><a href=href aria-current=current>{t(key)}</a></li> }
                    })
                    .collect_view()}
                <li>
                    <form method="post" action="/logout" class="inline">
                        <button type="submit" class="link">{t("nav-logout")}</button>
                    </form>
                </li>
            </ul>
        </nav>
    }
}

/// The countdown shown on every page while a configuration change waits for confirmation.
/// Rendered by the server from the page context (its forms work without JavaScript); once
/// hydrated it follows the server's status stream, so it counts down and also appears when an
/// apply starts elsewhere.
#[cfg_attr(shell_island, island)]
#[cfg_attr(not(shell_island), component)]
fn ApplyBanner(path: String, reverted: bool) -> impl IntoView {
    let page = use_context::<PageContext>().unwrap_or_default();
    let current = lang();
    let seconds = RwSignal::new(page.apply.filter(|a| a.pending).map(|a| a.seconds_left));
    let outcome = RwSignal::new(reverted.then(|| "reverted".to_owned()));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| follow_apply(seconds, outcome));
    // The wizard's last page shows the countdown itself, after the connection test.
    let in_wizard = path.starts_with("/setup") || path == "/settings/applied";
    let back = path;
    let text = move || {
        current.tr_args(
            "apply-banner-pending",
            &[("seconds", seconds.get().unwrap_or_default().into())],
        )
    };
    view! {
        <div class="apply-slot" aria-live="polite">
            {move || match (seconds.get(), outcome.get().as_deref()) {
                _ if in_wizard => ().into_any(),
                (Some(_), _) => view! {
                    <div class="apply-banner" role="status" data-testid="apply-banner">
                        <p>{text}</p>
                        <form method="post" action="/apply/confirm" class="inline">
                            <input type="hidden" name="back" value=back.clone() />
                            <button type="submit">{t("apply-banner-keep")}</button>
                        </form>
                        <form method="post" action="/apply/rollback" class="inline">
                            <input type="hidden" name="back" value=back.clone() />
                            <button type="submit" class="secondary">{t("apply-banner-revert")}</button>
                        </form>
                    </div>
                }.into_any(),
                (None, Some("rolled_back")) => view! {
                    <div class="apply-banner done" role="status">{t("apply-banner-rolled-back")}</div>
                }.into_any(),
                (None, Some("reverted")) => view! {
                    <div class="apply-banner done" role="status">{t("apply-banner-reverted")}</div>
                }.into_any(),
                (None, Some("confirmed")) => view! {
                    <div class="apply-banner done" role="status">{t("apply-banner-confirmed")}</div>
                }.into_any(),
                _ => ().into_any(),
            }}
        </div>
    }
}

/// Follows the apply status stream; an outcome is shown only for a countdown this page saw.
#[cfg(feature = "hydrate")]
fn follow_apply(seconds: RwSignal<Option<u64>>, outcome: RwSignal<Option<String>>) {
    follow(APPLY_EVENTS, "apply", move |status: ApplyStatus| {
        if status.pending {
            seconds.set(Some(status.seconds_left));
            outcome.set(None);
        } else {
            if seconds.get_untracked().is_some() {
                outcome.set(status.last);
            }
            seconds.set(None);
        }
    });
}

/// Follows a Server-Sent Events stream: `on_event` gets each `event` event's JSON data. The
/// stream lives as long as the page (the browser keeps the `EventSource` open and reconnects).
#[cfg(feature = "hydrate")]
pub fn follow<T: serde::de::DeserializeOwned + 'static>(
    url: &str,
    event: &str,
    mut on_event: impl FnMut(T) + 'static,
) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Ok(source) = web_sys::EventSource::new(url) else {
        return;
    };
    let listener =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
            if let Some(value) = message
                .data()
                .as_string()
                .and_then(|d| serde_json::from_str::<T>(&d).ok())
            {
                on_event(value);
            }
        });
    let _ = source.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
    listener.forget();
}

/// Language switcher: a plain form (POST /lang) that works without JavaScript.
#[component]
pub(crate) fn LanguageSwitcher() -> impl IntoView {
    let current = lang();
    let location = leptos_router::hooks::use_location();
    let next = move || location.pathname.get();
    view! {
        <form method="post" action="/lang" class="lang">
            <label for="lang-select" class="visually-hidden">{t("language")}</label>
            <select id="lang-select" name="lang">
                {Lang::ALL
                    .into_iter()
                    .map(|l| {
                        view! {
                            <option value=l.code() selected=l == current>
                                {l.native_name()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <input type="hidden" name="next" value=next />
            <button type="submit">{t("language-switch")}</button>
        </form>
    }
}

/// The server's [`PageContext`], from the page's `<meta>` tag.
#[cfg(feature = "hydrate")]
fn page_context() -> PageContext {
    document()
        .query_selector(&format!("meta[name={}]", PageContext::META_NAME))
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
        .and_then(|json| serde_json::from_str::<PageContext>(&json).ok())
        .unwrap_or_default()
}

/// Entry point of the router's bundle, given the page's catalog (Fluent source): makes the
/// [`PageContext`] and the words every island's context; the page's script then hydrates each
/// island.
#[cfg(all(feature = "hydrate", not(feature = "communities")))]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate(catalog: String) {
    console_error_panic_hook::set_once();
    let page = page_context();
    i18n::load_catalog(page.lang, catalog);
    leptos::mount::hydrate_islands();
    provide_context(page);
}

/// Entry point of the communities site's bundle: hydrates the whole page.
#[cfg(all(feature = "hydrate", feature = "communities"))]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let page = page_context();
    leptos::mount::hydrate_body(move || {
        provide_context(page.clone());
        page.root()
    });
}
