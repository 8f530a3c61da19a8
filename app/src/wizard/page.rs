//! The wizard's pages. Every step is a plain form posted to `/setup/<step>` (it works without
//! JavaScript, and the server has the last word); once hydrated, the same rules run on every
//! keystroke and show inline errors, the password gets a live strength meter, and the time
//! zone and country come from the browser.

use leptos::prelude::*;

use super::form::{self, AppliedView, ClientView, Detection, KEPT, Radio, Step, WizardView};
use super::{Answers, Community, Internet};
use crate::i18n::Lang;
use crate::{PageContext, PageHeading, lang, t};

/// What the wizard's source answers for a page.
#[cfg(feature = "ssr")]
pub enum WizardPageData {
    /// Show this step.
    Render(Box<WizardView>),
    /// Go there instead (`/setup` itself, or a step the wizard has not reached).
    Redirect(String),
}

/// Where the server gets a wizard page from: the browser's wizard (named by its cookie in
/// `headers`) at `step` (`None`: `/setup`). It may start a wizard for the browser: the
/// `Set-Cookie` values to send come back with the page. `Err`: the status and why not, in
/// `lang`.
#[cfg(feature = "ssr")]
pub trait WizardSource: Send + Sync {
    /// `settings`: the page is `/settings/<step>` (one step as a settings page).
    fn wizard_page(
        &self,
        headers: &http::HeaderMap,
        step: Option<&str>,
        settings: bool,
        lang: Lang,
    ) -> (
        Result<WizardPageData, (http::StatusCode, String)>,
        Vec<http::HeaderValue>,
    );
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// A wizard step's data for this browser (first boot: LAN side only, checked by the source;
/// afterwards login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "wizard_view")]
pub async fn load_wizard(
    step: Option<String>,
    #[server(default)] settings: bool,
) -> Result<WizardView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn WizardSource>>()
        .ok_or_else(|| ServerFnError::new("wizard source missing"))?;
    let headers = use_context::<http::request::Parts>()
        .map(|p| p.headers)
        .unwrap_or_default();
    let (page, cookies) =
        source.wizard_page(&headers, step.as_deref(), settings, crate::request_lang());
    let response = use_context::<leptos_axum::ResponseOptions>();
    if let Some(response) = &response {
        for cookie in cookies {
            response.append_header(http::header::SET_COOKIE, cookie);
        }
    }
    match page {
        Ok(WizardPageData::Render(view)) => Ok(*view),
        Ok(WizardPageData::Redirect(to)) => {
            leptos_axum::redirect(&to);
            Err(ServerFnError::new(to))
        }
        Err((status, message)) => {
            if let Some(response) = &response {
                response.set_status(status);
            }
            Err(ServerFnError::ServerError(message))
        }
    }
}

/// Errors shown next to their inputs: `(field, message)`; a field is shown once touched.
#[derive(Clone, Copy)]
struct Errors {
    list: RwSignal<Vec<(String, String)>>,
}

impl Errors {
    fn message(self, input: &str) -> Option<String> {
        self.list.with(|list| {
            list.iter()
                .find(|(field, _)| form::input_for(field) == input)
                .map(|(_, m)| m.clone())
        })
    }
}

fn field_id(name: &str) -> String {
    format!("f-{}", name.replace('.', "-"))
}

/// A labelled input with its inline error.
#[component]
fn Field(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] placeholder: Option<String>,
    #[prop(optional)] inputmode: Option<&'static str>,
    /// A secret with a button that shows it while typing (once hydrated).
    #[prop(optional)]
    reveal: bool,
) -> impl IntoView {
    let errors = expect_context::<Errors>();
    let id = field_id(&name);
    let visible = RwSignal::new(false);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = if hint.is_some() {
        format!("{error_id} {hint_id}")
    } else {
        error_id.clone()
    };
    let input = name.clone();
    let message = move || errors.message(&input);
    let invalid = {
        let message = message.clone();
        move || message().is_some().then_some("true")
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            {
                let input = view! {
                    <input
                        id=id.clone()
                        name=name
                        type=move || if visible.get() { "text" } else { kind }
                        value=value
                        autocomplete=autocomplete
                        placeholder=placeholder
                        inputmode=inputmode
                        aria-invalid=invalid
                        aria-describedby=described
                    />
                };
                if reveal {
                    view! {
                        <span class="password">
                            {input}
                            <button
                                type="button"
                                class="reveal"
                                aria-controls=id
                                aria-pressed=move || visible.get().to_string()
                                on:click=move |_| visible.update(|v| *v = !*v)
                            >
                                {move || if visible.get() { t("login-hide-password") } else { t("login-show-password") }}
                            </button>
                        </span>
                    }
                    .into_any()
                } else {
                    input.into_any()
                }
            }
            <p class="field-error" id=error_id aria-live="polite">{message}</p>
        </div>
    }
}

/// A checkbox with its label.
#[component]
fn Checkbox(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    checked: bool,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let id = field_id(&name);
    view! {
        <div class=format!("check {class}")>
            <input type="checkbox" id=id.clone() name=name checked=checked />
            <label for=id>{label}</label>
        </div>
    }
}

/// A select with its label and inline error.
#[component]
fn Choice(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    options: Vec<(String, String)>,
    #[prop(into)] value: String,
) -> impl IntoView {
    let errors = expect_context::<Errors>();
    let id = field_id(&name);
    let error_id = format!("{id}-error");
    let input = name.clone();
    let message = move || errors.message(&input);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=name aria-describedby=error_id.clone()>
                {options
                    .into_iter()
                    .map(|(v, text)| {
                        let selected = v == value;
                        view! { <option value=v selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
            <p class="field-error" id=error_id aria-live="polite">{message}</p>
        </div>
    }
}

/// `/setup` and `/setup/<step>`: the wizard, its step's data from [`load_wizard`]; with
/// `settings`, `/settings/<step>`: one step as a settings page.
#[component]
pub fn WizardPage(#[prop(optional)] settings: bool) -> impl IntoView {
    let page = use_context::<PageContext>().unwrap_or_default();
    if page.setup_needed && !page.lan_side {
        return view! {
            <PageHeading text=t("setup-title") />
            <p class="error" role="alert">{t("setup-lan-only")}</p>
        }
        .into_any();
    }
    let params = leptos_router::hooks::use_params_map();
    let data = Resource::new_blocking(
        move || params.with(|p| p.get("step")),
        move |step| load_wizard(step, settings),
    );
    view! {
        <Suspense fallback=|| view! { <PageHeading text=t("setup-title") /><p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Wizard view /> }.into_any(),
                    Err(ServerFnError::ServerError(message)) => view! {
                        <PageHeading text=t("setup-title") />
                        <p class="error" role="alert">{message}</p>
                    }
                    .into_any(),
                    // A redirect: the browser is on its way.
                    Err(_) => view! { <PageHeading text=t("setup-title") /> }.into_any(),
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// One step of the wizard.
#[component]
fn Wizard(view: WizardView) -> impl IntoView {
    if view.step == Step::Applied {
        // The community joined or created by this change (the router's membership now).
        let community = view.answers.community.as_ref().and(view.community.clone());
        return view! { <Applied view=view.applied.clone().unwrap_or_default() settings=view.settings community /> }.into_any();
    }
    let step = view.step;
    let settings = view.settings;
    let heading = if settings {
        view! { <PageHeading text=t(step.settings_key()) /> }.into_any()
    } else {
        view! {
            <PageHeading text=t("setup-title") />
            <Progress current=step />
            <h2>{t(step.title_key())}</h2>
        }
        .into_any()
    };
    let restored = view.restored;
    // The language and the summary have nothing to check while one types: no island, so their
    // pages load no script at all.
    let form = if matches!(step, Step::Language | Step::Summary) {
        view! { <StepForm view /> }.into_any()
    } else {
        view! { <CheckedStepForm view /> }.into_any()
    };
    view! {
        {heading}
        {restored.then(|| view! { <p class="notice" role="status">{t("wizard-restored")}</p> })}
        {form}
        {settings.then(|| view! { <p><a href="/settings">{t("settings-back")}</a></p> })}
    }
    .into_any()
}

/// A step's form that checks its fields as one types (once hydrated).
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn CheckedStepForm(view: WizardView) -> impl IntoView {
    view! { <StepForm view /> }
}

/// A step's form: its fields, errors beside them, and the buttons.
#[component]
fn StepForm(view: WizardView) -> impl IntoView {
    let page = use_context::<PageContext>().unwrap_or_default();
    let errors = Errors {
        list: RwSignal::new(view.errors.clone()),
    };
    provide_context(errors);
    let step = view.step;
    let shown = view.shown();
    let body = match step {
        Step::Language => view! { <LanguageStep shown /> }.into_any(),
        Step::System => view! { <SystemStep view=view.clone() shown /> }.into_any(),
        Step::Internet => view! { <InternetStep view=view.clone() shown /> }.into_any(),
        Step::Wifi => view! { <WifiStep view=view.clone() shown /> }.into_any(),
        Step::Services => view! { <ServicesStep view=view.clone() shown /> }.into_any(),
        Step::Summary => view! { <SummaryStep view=view.clone() /> }.into_any(),
        Step::Applied => ().into_any(),
    };
    let live = LiveCheck {
        step,
        base: view.answers.clone(),
        defaults: view.defaults.clone(),
        password_required: view.password_required,
        lang: page.lang,
        errors,
    };
    let settings = view.settings;
    // A settings page goes straight to its summary; the wizard walks on.
    let next = if settings {
        t("settings-review")
    } else {
        t("wizard-next")
    };
    view! {
        <form
            method="post"
            action=format!("/setup/{}", step.slug())
            class="card wizard"
            novalidate
            on:input={
                let live = live.clone();
                move |ev| live.run(&ev, false)
            }
            on:focusout=move |ev| live.run(&ev, true)
        >
            {body}
            <div class="actions">
                {if step == Step::Summary {
                    view! { <button type="submit" name="action" value="apply" class="primary">{t("wizard-apply")}</button> }.into_any()
                } else {
                    view! { <button type="submit" name="action" value="next" class="primary">{next}</button> }.into_any()
                }}
                {(step.skippable() && !settings).then(|| view! {
                    <button type="submit" name="action" value="skip" class="secondary">{t("wizard-skip")}</button>
                })}
                {(step != Step::Language && (!settings || step == Step::Summary)).then(|| view! {
                    <button type="submit" name="action" value="back" class="secondary">{t("wizard-back")}</button>
                })}
            </div>
        </form>
    }
}

/// The steps as links: any step can be revisited.
#[component]
fn Progress(current: Step) -> impl IntoView {
    let lang = lang();
    view! {
        <nav aria-label=t("wizard-progress")>
            <ol class="steps">
                {Step::ALL
                    .into_iter()
                    .map(|s| {
                        let current = (s == current).then_some("step");
                        view! {
                            <li>
                                <a rel="external" href=format!("/setup/{}", s.slug()) aria-current=current>
                                    {lang.tr(s.title_key())}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </nav>
    }
}

/// The browser's half of the checks: on input, the step's form goes through
/// [`form::read_step`] like on the server; errors show for fields the user has left.
#[derive(Clone)]
#[cfg_attr(
    not(feature = "hydrate"),
    allow(dead_code, reason = "used by the browser only")
)]
struct LiveCheck {
    step: Step,
    base: Answers,
    defaults: Answers,
    password_required: bool,
    lang: Lang,
    errors: Errors,
}

impl LiveCheck {
    #[cfg_attr(not(feature = "hydrate"), allow(clippy::unused_self))]
    fn run(&self, event: &leptos::ev::Event, left_field: bool) {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(form) = event
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let name = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.get_attribute("name"))
                .unwrap_or_default();
            let pairs = form_pairs(&form);
            let lan_now = self
                .defaults
                .lan
                .as_ref()
                .and_then(|l| super::subnet(&l.ipaddr, &l.netmask))
                .unwrap_or((std::net::Ipv4Addr::new(192, 168, 1, 1), 24));
            let mut answers = self.base.clone();
            let found = form::read_step(
                self.step,
                &pairs,
                &mut answers,
                self.password_required,
                lan_now,
            );
            let fresh: Vec<(String, String)> = found
                .iter()
                .map(|e| (e.field.clone(), e.message(self.lang)))
                .collect();
            let touched = |field: &str| {
                let input = form::input_for(field);
                (left_field && input == name)
                    || self
                        .errors
                        .list
                        .with_untracked(|l| l.iter().any(|(f, _)| form::input_for(f) == input))
            };
            // Errors stay for fields already showing one (until fixed) and appear for the field
            // just left; while typing they only disappear.
            let shown: Vec<(String, String)> = fresh
                .into_iter()
                .filter(|(field, _)| touched(field))
                .collect();
            self.errors.list.set(shown);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (event, left_field);
    }
}

/// A form's current values as name/value pairs (what a POST would send).
#[cfg(feature = "hydrate")]
fn form_pairs(form: &web_sys::HtmlFormElement) -> Vec<(String, String)> {
    use wasm_bindgen::JsCast;
    let mut pairs = Vec::new();
    let elements = form.elements();
    for i in 0..elements.length() {
        let Some(element) = elements.item(i) else {
            continue;
        };
        if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
            let kind = input.type_();
            if input.name().is_empty() || kind == "submit" {
                continue;
            }
            if (kind == "checkbox" || kind == "radio") && !input.checked() {
                continue;
            }
            pairs.push((input.name(), input.value()));
        } else if let Some(select) = element.dyn_ref::<web_sys::HtmlSelectElement>() {
            pairs.push((select.name(), select.value()));
        }
    }
    pairs
}

#[component]
fn LanguageStep(shown: Answers) -> impl IntoView {
    let current = shown.language.unwrap_or_else(|| "en".into());
    view! {
        <fieldset>
            <legend>{t("wizard-language-legend")}</legend>
            {Lang::ALL
                .into_iter()
                .map(|l| {
                    let id = format!("f-language-{}", l.code());
                    view! {
                        <div class="check">
                            <input type="radio" id=id.clone() name="language" value=l.code() checked=l.code() == current />
                            <label for=id lang=l.code()>{l.native_name()}</label>
                        </div>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

#[component]
fn SystemStep(view: WizardView, shown: Answers) -> impl IntoView {
    let system = shown.system.unwrap_or_default();
    let posted = |name: &str, fallback: &str| {
        view.posted
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(|| fallback.to_owned(), |(_, v)| v.clone())
    };
    let hostname = posted("system.hostname", &system.hostname);
    let zone = RwSignal::new(posted("system.zonename", &system.zonename));
    let country = RwSignal::new(posted(
        "system.country",
        system.country.as_deref().unwrap_or_default(),
    ));
    // Not answered yet: the browser knows the time zone and the country better.
    #[cfg(feature = "hydrate")]
    if view.answers.system.is_none() && view.posted.is_empty() {
        Effect::new(move |_| {
            if let Some((tz, region)) = browser_locale() {
                if super::posix_timezone(&tz).is_some() {
                    zone.set(tz);
                }
                if country.get_untracked().is_empty() && super::valid_country(&region) {
                    country.set(region);
                }
            }
        });
    }
    let kept = view.answers.password.as_deref() == Some(KEPT);
    let zones: Vec<&'static str> = zone_names().collect();
    let errors = expect_context::<Errors>();
    let zone_error = move || errors.message("system.zonename");
    view! {
        <Field name="system.hostname" label=t("wizard-hostname") value=hostname hint=t("wizard-hostname-hint") autocomplete="off" />
        <div class="field">
            <label for="f-system-zonename">{t("wizard-timezone")}</label>
            <select id="f-system-zonename" name="system.zonename" prop:value=move || zone.get() aria-describedby="f-system-zonename-error">
                {zones
                    .into_iter()
                    .map(|z| view! { <option value=z selected=move || zone.get() == z>{z}</option> })
                    .collect_view()}
            </select>
            <p class="field-error" id="f-system-zonename-error" aria-live="polite">{zone_error}</p>
        </div>
        <div class="field">
            <label for="f-system-country">{t("wizard-country")}</label>
            <p class="hint" id="f-system-country-hint">{t("wizard-country-hint")}</p>
            <input id="f-system-country" name="system.country" maxlength="2" autocomplete="country"
                prop:value=move || country.get() value=country.get_untracked()
                aria-describedby="f-system-country-error f-system-country-hint" />
            <p class="field-error" id="f-system-country-error" aria-live="polite">{move || errors.message("system.country")}</p>
        </div>
        <PasswordWithMeter kept required=view.password_required />
    }
}

/// The browser's time zone (`Intl`) and the region of its language (`de-DE` → `DE`).
#[cfg(feature = "hydrate")]
fn browser_locale() -> Option<(String, String)> {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    let tz = js_sys::Reflect::get(&options, &"timeZone".into())
        .ok()?
        .as_string()?;
    let language = web_sys::window()?
        .navigator()
        .language()
        .unwrap_or_default();
    let region = language
        .rsplit(['-', '_'])
        .next()
        .filter(|r| r.len() == 2 && language.len() > 2)
        .map(str::to_ascii_uppercase)
        .unwrap_or_default();
    Some((tz, region))
}

fn zone_names() -> impl Iterator<Item = &'static str> {
    include_str!("zones.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t').map(|(name, _)| name))
}

/// The admin password, its repetition and a live strength meter (zxcvbn, on the server).
#[component]
fn PasswordWithMeter(kept: bool, required: bool) -> impl IntoView {
    let errors = expect_context::<Errors>();
    let (visible, set_visible) = signal(false);
    let score = RwSignal::new(None::<u8>);
    let hint = if kept {
        t("wizard-password-kept")
    } else if required {
        t("wizard-password-hint")
    } else {
        t("wizard-password-optional")
    };
    let on_input = move |ev: leptos::ev::Event| {
        let password = event_target_value(&ev);
        if password.is_empty() {
            score.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(s) = password_score(password).await {
                score.set(Some(s));
            }
        });
    };
    let label = move || {
        score.get().map(|s| {
            let key = [
                "wizard-strength-0",
                "wizard-strength-1",
                "wizard-strength-2",
                "wizard-strength-3",
                "wizard-strength-4",
            ];
            t(key[usize::from(s.min(4))])
        })
    };
    view! {
        // After setup a new password needs the one in use (checked on the server, with a
        // limit on guesses).
        {(!required).then(|| view! {
            <Field name="password_current" label=t("wizard-password-current") kind="password" autocomplete="current-password" hint=t("wizard-password-current-hint") />
        })}
        <div class="field">
            <label for="f-password">{if required { t("wizard-password") } else { t("wizard-password-new") }}</label>
            <p class="hint" id="f-password-hint">{hint}</p>
            <span class="password">
                <input
                    id="f-password"
                    name="password"
                    type=move || if visible.get() { "text" } else { "password" }
                    autocomplete="new-password"
                    aria-describedby="f-password-error f-password-hint f-password-strength"
                    aria-invalid=move || errors.message("password").is_some().then_some("true")
                    on:input=on_input
                />
                <button
                    type="button"
                    class="reveal"
                    aria-controls="f-password"
                    aria-pressed=move || visible.get().to_string()
                    on:click=move |_| set_visible.update(|v| *v = !*v)
                >
                    {move || if visible.get() { t("login-hide-password") } else { t("login-show-password") }}
                </button>
            </span>
            <div class="strength" id="f-password-strength" aria-live="polite">
                <meter min="0" max="4" low="2" high="3" optimum="4" value=move || score.get().unwrap_or(0)
                    aria-label=t("wizard-strength") hidden=move || score.get().is_none() />
                <span data-testid="strength">{label}</span>
            </div>
            <p class="field-error" id="f-password-error" aria-live="polite">{move || errors.message("password")}</p>
        </div>
        <Field name="password_repeat" label=t("setup-password-repeat") kind="password" autocomplete="new-password" />
    }
}

/// The zxcvbn score (0–4) of a password; the server refuses below 3.
#[server(prefix = "/api/fn", endpoint = "password_score")]
#[allow(clippy::unused_async, reason = "server functions are async")]
pub async fn password_score(password: String) -> Result<u8, ServerFnError> {
    if password.chars().count() > 128 {
        return Ok(0);
    }
    Ok(super::password_strength(
        &password,
        &["openwrt", "portico", "router", "admin", "root"],
    )
    .0)
}

#[component]
fn InternetStep(view: WizardView, shown: Answers) -> impl IntoView {
    let mut values = form::fields(Step::Internet, &shown, &[]);
    for (k, v) in &view.posted {
        values.retain(|(name, _)| name != k);
        values.push((k.clone(), v.clone()));
    }
    let suggested = view.detection.as_ref().and_then(Detection::suggested);
    let value = |name: &str| {
        values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let kind = suggested.map_or_else(|| value("internet.type"), str::to_owned);
    let ipv6 =
        value("internet.ipv6") == "on" || (view.posted.is_empty() && shown.internet.is_none());
    let kept = matches!(&view.answers.internet, Some(Internet::Pppoe { password, .. }) if password == KEPT);
    let types = [
        ("dhcp", "wizard-internet-dhcp"),
        ("static", "wizard-internet-static"),
        ("pppoe", "wizard-internet-pppoe"),
    ];
    view! {
        <Detect detection=view.detection.clone() />
        <fieldset class="types">
            <legend>{t("wizard-internet-type")}</legend>
            {types
                .into_iter()
                .map(|(v, key)| {
                    let id = format!("f-internet-type-{v}");
                    view! {
                        <div class="check">
                            <input type="radio" id=id.clone() name="internet.type" value=v checked=kind == v />
                            <label for=id>{t(key)}</label>
                        </div>
                    }
                })
                .collect_view()}
        </fieldset>
        <fieldset class="when-static">
            <legend>{t("wizard-internet-static")}</legend>
            <Field name="internet.ipaddr" label=t("wizard-ipaddr") value=value("internet.ipaddr") inputmode="decimal" />
            <Field name="internet.netmask" label=t("wizard-netmask") value=value("internet.netmask") hint=t("wizard-netmask-hint") inputmode="decimal" />
            <Field name="internet.gateway" label=t("wizard-gateway") value=value("internet.gateway") inputmode="decimal" />
            <Field name="internet.dns" label=t("wizard-dns") value=value("internet.dns") hint=t("wizard-dns-hint") />
        </fieldset>
        <fieldset class="when-pppoe">
            <legend>{t("wizard-internet-pppoe")}</legend>
            <Field name="internet.username" label=t("wizard-pppoe-user") value=value("internet.username") autocomplete="off" />
            <Field name="internet.password" label=t("wizard-pppoe-password") kind="password" autocomplete="off"
                placeholder=if kept { t("wizard-secret-kept") } else { String::new() } />
            <Field name="internet.service" label=t("wizard-pppoe-service") value=value("internet.service") hint=t("wizard-optional") />
            <Field name="internet.mtu" label=t("wizard-mtu") value=value("internet.mtu") inputmode="numeric" />
        </fieldset>
        <Checkbox name="internet.ipv6" label=t("wizard-ipv6") checked=ipv6 />
    }
}

/// The Detect button and what the last probe found.
#[component]
fn Detect(detection: Option<Detection>) -> impl IntoView {
    let lang = lang();
    let found = detection.map(|d| match d {
        Detection::NoLink => t("wizard-detect-no-link"),
        Detection::NoAnswer => t("wizard-detect-no-answer"),
        Detection::Dhcp { server, offered } => lang.tr_args(
            "wizard-detect-dhcp",
            &[("server", server.into()), ("offered", offered.into())],
        ),
        Detection::Pppoe { concentrator } => {
            lang.tr_args("wizard-detect-pppoe", &[("name", concentrator.into())])
        }
        Detection::Failed { reason } => {
            lang.tr_args("wizard-detect-failed", &[("reason", reason.into())])
        }
    });
    // While the probe runs (a few seconds, the form's post) the old result goes away and the
    // page says it is working (once hydrated; without JavaScript the browser shows it loads).
    let working = RwSignal::new(false);
    let shown = found.unwrap_or_else(|| t("wizard-detect-hint"));
    view! {
        <div class="detect" aria-busy=move || working.get().to_string()>
            <button type="submit" name="action" value="detect" class="secondary" on:click=move |_| working.set(true)>
                {t("wizard-detect")}
            </button>
            <p role="status" data-testid="detect" data-working=move || if working.get() { "1" } else { "0" }>
                {move || if working.get() { t("wizard-detect-working") } else { shown.clone() }}
            </p>
        </div>
    }
}

fn band_name(radio: &Radio) -> String {
    match radio.band.as_str() {
        "2g" => format!("{} (2.4 GHz)", radio.name),
        "5g" => format!("{} (5 GHz)", radio.name),
        "6g" => format!("{} (6 GHz)", radio.name),
        _ => radio.name.clone(),
    }
}

#[component]
fn WifiStep(view: WizardView, shown: Answers) -> impl IntoView {
    if view.radios.is_empty() {
        return view! { <p class="notice">{t("wizard-wifi-none")}</p> }.into_any();
    }
    let encryptions = vec![
        ("sae".to_owned(), t("wizard-enc-sae")),
        ("sae-mixed".to_owned(), t("wizard-enc-sae-mixed")),
        ("psk2".to_owned(), t("wizard-enc-psk2")),
    ];
    // A step the server refused shows what was typed (and so its error stays visible).
    let refused = !view.posted.is_empty();
    let posted = |name: &str| {
        view.posted
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let several = view.radios.len() > 1;
    let same = several
        && if refused {
            posted("wifi.same").is_some()
        } else {
            shown.wifi_same
        };
    // The network under `prefix` (`all`, or a radio's name) as the form should show it.
    let network = |prefix: &str, radio: Option<&str>| -> Option<super::Wifi> {
        if refused {
            let field = |f: &str| posted(&format!("wifi.{prefix}.{f}"));
            return field("enabled").map(|_| super::Wifi {
                radio: radio.unwrap_or_default().to_owned(),
                ssid: field("ssid").unwrap_or_default(),
                key: String::new(),
                encryption: field("encryption").unwrap_or_else(|| "sae".to_owned()),
                country: None,
            });
        }
        shown
            .wifi
            .iter()
            .find(|w| radio.is_none_or(|r| w.radio == r))
            .cloned()
    };
    let kept = |radio: Option<&str>| {
        view.answers
            .wifi
            .iter()
            .any(|w| radio.is_none_or(|r| w.radio == r) && w.key == KEPT)
    };
    let fieldset = |prefix: String, legend: String, wifi: Option<super::Wifi>, kept: bool| {
        let placeholder = if kept {
            t("wizard-secret-kept")
        } else {
            String::new()
        };
        view! {
            <fieldset class="radio">
                <legend>{legend}</legend>
                <Checkbox name=format!("wifi.{prefix}.enabled") label=t(if prefix == "all" { "wizard-wifi-enable-all" } else { "wizard-wifi-enable" }) checked=wifi.is_some() class="toggle" />
                <div class="details">
                    <Field name=format!("wifi.{prefix}.ssid") label=t("wizard-ssid") value=wifi.as_ref().map(|w| w.ssid.clone()).unwrap_or_default() />
                    <Field name=format!("wifi.{prefix}.key") label=t("wizard-wifi-key") kind="password" autocomplete="off" placeholder hint=t("wizard-wifi-key-hint") reveal=true />
                    <Choice name=format!("wifi.{prefix}.encryption") label=t("wizard-encryption") options=encryptions.clone()
                        value=wifi.as_ref().map_or_else(|| "sae".to_owned(), |w| w.encryption.clone()) />
                </div>
            </fieldset>
        }
    };
    let all_bands = several.then(|| {
        view! {
            <div class="all-bands">
                {fieldset("all".into(), t("wizard-wifi-all-bands"), network("all", None), kept(None))}
            </div>
        }
    });
    let per_band = view
        .radios
        .iter()
        .map(|radio| {
            fieldset(
                radio.name.clone(),
                band_name(radio),
                network(&radio.name, Some(&radio.name)),
                kept(Some(&radio.name)),
            )
        })
        .collect_view();
    let radios = view
        .radios
        .iter()
        .map(|radio| view! { <input type="hidden" name="wifi.radio" value=radio.name.clone() /> })
        .collect_view();
    let mesh = shown.mesh.clone();
    let mesh_kept = view.answers.mesh.as_ref().is_some_and(|m| m.key == KEPT);
    let radio_options: Vec<(String, String)> = view
        .radios
        .iter()
        .map(|r| (r.name.clone(), band_name(r)))
        .collect();
    view! {
        {radios}
        {several.then(|| view! {
            <Checkbox name="wifi.same" label=t("wizard-wifi-same") checked=same class="same-bands" />
        })}
        {all_bands}
        <div class="per-band">{per_band}</div>
        <fieldset class="radio">
            <legend>{t("wizard-mesh")}</legend>
            <p class="hint">{t("wizard-mesh-hint")}</p>
            <Checkbox name="mesh.enabled" label=t("wizard-mesh-enable") checked=mesh.is_some() class="toggle" />
            <div class="details">
                <Choice name="mesh.radio" label=t("wizard-mesh-radio") options=radio_options
                    value=mesh.as_ref().map(|m| m.radio.clone()).unwrap_or_default() />
                <Field name="mesh.mesh_id" label=t("wizard-mesh-id") value=mesh.as_ref().map(|m| m.mesh_id.clone()).unwrap_or_default() />
                <Field name="mesh.key" label=t("wizard-mesh-key") kind="password" autocomplete="off" reveal=true
                    placeholder=if mesh_kept { t("wizard-secret-kept") } else { String::new() } />
                <Checkbox name="mesh.forwarding" label=t("wizard-mesh-forwarding") checked=mesh.as_ref().is_none_or(|m| m.forwarding) />
            </div>
        </fieldset>
    }
    .into_any()
}

#[component]
fn ServicesStep(view: WizardView, shown: Answers) -> impl IntoView {
    let vpn = view.vpn;
    // A step the server refused shows what was typed.
    let mut values = form::fields(Step::Services, &shown, &[]);
    for (k, v) in &view.posted {
        values.retain(|(name, _)| name != k);
        values.push((k.clone(), v.clone()));
    }
    let value = |name: &str| {
        values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let or = |name: &str, default: &str| {
        let v = value(name);
        if v.is_empty() { default.to_owned() } else { v }
    };
    let protos = vec![
        ("udp".to_owned(), "UDP".to_owned()),
        ("tcp".to_owned(), "TCP".to_owned()),
    ];
    view! {
        <fieldset>
            <legend>{t("wizard-lan")}</legend>
            <Field name="lan.ipaddr" label=t("wizard-lan-address") value=value("lan.ipaddr") inputmode="decimal" />
            <Field name="lan.netmask" label=t("wizard-netmask") value=value("lan.netmask") hint=t("wizard-netmask-hint") inputmode="decimal" />
        </fieldset>
        <fieldset class="radio">
            <legend>{t("wizard-dhcp")}</legend>
            <Checkbox name="dhcp.enabled" label=t("wizard-dhcp-enable") checked=value("dhcp.enabled") == "on" class="toggle" />
            <div class="details">
                <Field name="dhcp.start" label=t("wizard-dhcp-start") value=or("dhcp.start", "100") inputmode="numeric" hint=t("wizard-dhcp-start-hint") />
                <Field name="dhcp.limit" label=t("wizard-dhcp-limit") value=or("dhcp.limit", "150") inputmode="numeric" />
                <Field name="dhcp.leasetime" label=t("wizard-dhcp-leasetime") value=or("dhcp.leasetime", "12h") hint=t("wizard-dhcp-leasetime-hint") />
            </div>
        </fieldset>
        <fieldset class="radio">
            <legend>"WireGuard"</legend>
            {vpn.wireguard.then(|| view! {
                <p>{t("wizard-vpn-set-up")} " " <a rel="external" href="/settings/vpn">{t("vpn-title")}</a></p>
            })}
            <div hidden=vpn.wireguard>
            <Checkbox name="wireguard.enabled" label=t("wizard-wireguard-enable") checked=value("wireguard.enabled") == "on" class="toggle" />
            <div class="details">
                <Field name="wireguard.listen_port" label=t("wizard-port") value=or("wireguard.listen_port", "51820") inputmode="numeric" />
                <Field name="wireguard.address" label=t("wizard-tunnel-address") value=or("wireguard.address", "10.99.0.1/24") />
                <Field name="wireguard.endpoint" label=t("wizard-endpoint") value=value("wireguard.endpoint") hint=t("wizard-endpoint-hint") />
                <Field name="wireguard.peers" label=t("wizard-peers") value=value("wireguard.peers") hint=t("wizard-peers-hint") />
            </div>
            </div>
        </fieldset>
        <fieldset class="radio">
            <legend>"OpenVPN"</legend>
            {vpn.openvpn.then(|| view! {
                <p>{t("wizard-vpn-set-up")} " " <a rel="external" href="/settings/vpn">{t("vpn-title")}</a></p>
            })}
            <div hidden=vpn.openvpn>
            <Checkbox name="openvpn.enabled" label=t("wizard-openvpn-enable") checked=value("openvpn.enabled") == "on" class="toggle" />
            <div class="details">
                <Field name="openvpn.port" label=t("wizard-port") value=or("openvpn.port", "1194") inputmode="numeric" />
                <Choice name="openvpn.proto" label=t("wizard-proto") options=protos value=or("openvpn.proto", "udp") />
                <Field name="openvpn.subnet" label=t("wizard-openvpn-subnet") value=or("openvpn.subnet", "10.8.0.0/24") />
                <Field name="openvpn.endpoint" label=t("wizard-endpoint") value=value("openvpn.endpoint") hint=t("wizard-endpoint-hint") />
            </div>
            </div>
        </fieldset>
        <CommunityFields member=view.community.clone() action=value("community.action") name=value("community.name")
            code_kept=matches!(&view.answers.community, Some(Community::Join { code }) if code.ends_with(form::KEPT_KEY)) />
    }
}

/// The community mesh this router shares vouchers with: none, a new one, or one joined with
/// another router's join code; a router already in one links to the Portal page instead.
#[component]
fn CommunityFields(
    member: Option<String>,
    action: String,
    name: String,
    code_kept: bool,
) -> impl IntoView {
    let lang = lang();
    let choices = [
        ("", "wizard-community-none"),
        ("create", "wizard-community-create"),
        ("join", "wizard-community-join"),
    ];
    view! {
        <fieldset class="community">
            <legend>{t("wizard-community")}</legend>
            <p class="hint">{t("wizard-community-hint")}</p>
            {match member {
                Some(community) => view! {
                    <p>{lang.tr_args("wizard-community-member", &[("community", community.into())])}" "
                        <a rel="external" href="/portal">{t("nav-portal")}</a></p>
                }.into_any(),
                None => view! {
                    {choices
                        .into_iter()
                        .map(|(v, key)| {
                            let id = format!("f-community-action-{}", if v.is_empty() { "none" } else { v });
                            view! {
                                <div class="check">
                                    <input type="radio" id=id.clone() name="community.action" value=v checked=action == v />
                                    <label for=id>{t(key)}</label>
                                </div>
                            }
                        })
                        .collect_view()}
                    <div class="when-create">
                        <Field name="community.name" label=t("mesh-community") value=name hint=t("mesh-community-hint") />
                    </div>
                    <div class="when-join">
                        <Field name="community.code" label=t("mesh-code") hint=t("mesh-code-hint") autocomplete="off"
                            placeholder=if code_kept { t("wizard-secret-kept") } else { String::new() } />
                    </div>
                }.into_any(),
            }}
        </fieldset>
    }
}

/// Message `key` with text arguments.
fn say(lang: Lang, key: &str, args: &[(&str, String)]) -> String {
    let args: Vec<(&str, fluent_bundle::FluentValue<'_>)> =
        args.iter().map(|(k, v)| (*k, v.clone().into())).collect();
    lang.tr_args(key, &args)
}

/// Every choice in plain words, with a link back to its step.
fn plain_words(answers: &Answers, lang: Lang) -> Vec<(Step, String)> {
    let tr = |key: &str, args: &[(&str, String)]| say(lang, key, args);
    let mut out = Vec::new();
    if let Some(code) = answers.language.as_deref().and_then(Lang::from_code) {
        out.push((
            Step::Language,
            tr(
                "wizard-say-language",
                &[("language", code.native_name().into())],
            ),
        ));
    }
    if let Some(s) = &answers.system {
        out.push((
            Step::System,
            tr(
                "wizard-say-system",
                &[
                    ("hostname", s.hostname.clone()),
                    ("zone", s.zonename.clone()),
                    ("country", s.country.clone().unwrap_or_else(|| "–".into())),
                ],
            ),
        ));
    }
    out.push((
        Step::System,
        if answers.password.is_some() {
            lang.tr("wizard-say-password")
        } else {
            lang.tr("wizard-say-password-kept")
        },
    ));
    out.push((
        Step::Internet,
        match &answers.internet {
            None => lang.tr("wizard-say-internet-kept"),
            Some(Internet::Dhcp { .. }) => lang.tr("wizard-say-dhcp"),
            Some(Internet::Static {
                ipaddr,
                netmask,
                gateway,
                ..
            }) => tr(
                "wizard-say-static",
                &[
                    ("address", format!("{ipaddr}/{netmask}")),
                    ("gateway", gateway.clone()),
                ],
            ),
            Some(Internet::Pppoe { username, .. }) => {
                tr("wizard-say-pppoe", &[("user", username.clone())])
            }
        },
    ));
    if answers.wifi.is_empty() {
        out.push((Step::Wifi, lang.tr("wizard-say-wifi-kept")));
    }
    for w in &answers.wifi {
        out.push((
            Step::Wifi,
            tr(
                "wizard-say-wifi",
                &[
                    ("radio", w.radio.clone()),
                    ("ssid", w.ssid.clone()),
                    (
                        "encryption",
                        lang.tr(&format!("wizard-enc-{}", w.encryption)),
                    ),
                ],
            ),
        ));
    }
    if let Some(m) = &answers.mesh {
        out.push((
            Step::Wifi,
            tr(
                "wizard-say-mesh",
                &[("id", m.mesh_id.clone()), ("radio", m.radio.clone())],
            ),
        ));
    }
    services_in_words(answers, lang, &mut out);
    out
}

/// The local network and VPN answers in plain words.
fn services_in_words(answers: &Answers, lang: Lang, out: &mut Vec<(Step, String)>) {
    let tr = |key: &str, args: &[(&str, String)]| say(lang, key, args);
    if let Some(lan) = &answers.lan {
        out.push((
            Step::Services,
            tr(
                "wizard-say-lan",
                &[("address", format!("{}/{}", lan.ipaddr, lan.netmask))],
            ),
        ));
    }
    match &answers.dhcp {
        Some(d) if d.enabled => out.push((
            Step::Services,
            tr(
                "wizard-say-dhcp-on",
                &[
                    ("start", d.start.to_string()),
                    ("limit", d.limit.to_string()),
                    ("lease", d.leasetime.clone()),
                ],
            ),
        )),
        Some(_) => out.push((Step::Services, lang.tr("wizard-say-dhcp-off"))),
        None => {}
    }
    if let Some(w) = &answers.wireguard {
        let peers: Vec<&str> = w.peers.iter().map(|p| p.name.as_str()).collect();
        out.push((
            Step::Services,
            tr(
                "wizard-say-wireguard",
                &[
                    ("port", w.listen_port.to_string()),
                    ("address", w.address.clone()),
                    (
                        "peers",
                        if peers.is_empty() {
                            "–".into()
                        } else {
                            peers.join(", ")
                        },
                    ),
                ],
            ),
        ));
    }
    if let Some(o) = &answers.openvpn {
        out.push((
            Step::Services,
            tr(
                "wizard-say-openvpn",
                &[
                    ("port", o.port.to_string()),
                    ("proto", o.proto.to_uppercase()),
                    ("subnet", o.subnet.clone()),
                ],
            ),
        ));
    }
    let community = match &answers.community {
        Some(Community::Create { name }) => Some(("wizard-say-community-create", name.as_str())),
        Some(Community::Join { code }) => Some((
            "wizard-say-community-join",
            super::join_code_community(code).unwrap_or_default(),
        )),
        None => None,
    };
    if let Some((key, name)) = community {
        out.push((Step::Services, tr(key, &[("community", name.to_owned())])));
    }
}

#[component]
fn SummaryStep(view: WizardView) -> impl IntoView {
    let lang = lang();
    let summary = view.summary.clone().unwrap_or_default();
    let settings = view.settings;
    let lines = plain_words(&view.answers, lang)
        .into_iter()
        .map(|(step, text)| view! {
            <li>{text}" "<a rel="external" href=step.path(settings)>{t("wizard-change")}</a></li>
        })
        .collect_view();
    let problems = summary.problems.clone();
    view! {
        <ul class="summary">{lines}</ul>
        {(!problems.is_empty()).then(|| view! {
            <div class="error" role="alert">
                <p>{t("wizard-problems")}</p>
                <ul>
                    {problems.into_iter().map(|(field, message)| view! {
                        <li><a rel="external" href=Step::of_field(&field).path(settings)>{message}</a></li>
                    }).collect_view()}
                </ul>
            </div>
        })}
        {summary.wifi.into_iter().map(|code| view! {
            <figure class="qr">
                <img src=code.image alt=lang.tr_args("wizard-wifi-qr-alt", &[("ssid", code.ssid.clone().into())]) width="200" height="200" />
                <figcaption>{lang.tr_args("wizard-wifi-qr", &[("ssid", code.ssid.into())])}</figcaption>
            </figure>
        }).collect_view()}
        <details class="diff">
            <summary>{t("wizard-diff")}</summary>
            {if summary.diff.is_empty() {
                view! { <p>{t("wizard-diff-none")}</p> }.into_any()
            } else {
                view! { <pre data-testid="diff" tabindex="0">{summary.diff}</pre> }.into_any()
            }}
        </details>
    }
}

/// After Apply: the connection test, then the confirmation (at the new address when the LAN
/// address moved), and the WireGuard client configurations.
#[component]
fn Applied(view: AppliedView, settings: bool, community: Option<String>) -> impl IntoView {
    let lang = lang();
    let page = use_context::<PageContext>().unwrap_or_default();
    let seconds = page.apply.as_ref().map_or(0, |a| a.seconds_left);
    let waiting = view.pending && view.test_needed && !view.test_done;
    let checks = view
        .checks
        .iter()
        .map(|c| {
            let text = lang.tr_args(&format!("wizard-check-{}", c.what), &[("detail", c.detail.clone().into())]);
            let mark = if c.ok { "✓" } else { "✗" };
            view! { <li class=if c.ok { "ok" } else { "error" }><span aria-hidden="true">{mark}" "</span>{text}</li> }
        })
        .collect_view();
    let passed = view.checks.iter().all(|c| c.ok);
    let confirm = match (&view.new_address, view.pending) {
        (_, false) => None,
        (Some(address), true) => {
            let url = format!(
                "http://{address}/confirm#{}",
                view.token.clone().unwrap_or_default()
            );
            let text = lang.tr_args("wizard-applied-go", &[("address", address.clone().into())]);
            Some(view! {
                <p>{lang.tr_args("wizard-applied-moved", &[("address", address.clone().into())])}</p>
                <MoveTo url text />
            }.into_any())
        }
        (None, true) => Some(
            view! {
                <div class="actions"><form method="post" action="/apply/confirm" class="inline">
                    <input type="hidden" name="back" value=if settings { "/settings" } else { "/" } />
                    <button type="submit" class="primary">{t("apply-banner-keep")}</button>
                </form>
                <form method="post" action="/apply/rollback" class="inline">
                    <input type="hidden" name="back" value=Step::Applied.path(settings) />
                    <button type="submit" class="secondary">{t("apply-banner-revert")}</button>
                </form></div>
            }
            .into_any(),
        ),
    };
    view! {
        {waiting.then(|| view! { <leptos_meta::Meta http_equiv="refresh" content="2" /> })}
        <PageHeading text=t("wizard-step-applied") />
        {match (view.pending, view.outcome.as_deref()) {
            (true, _) => view! { <p role="status">{lang.tr_args("apply-banner-pending", &[("seconds", seconds.into())])}</p> }.into_any(),
            (false, Some("rolled_back")) => view! { <p role="status" class="error">{t("apply-banner-rolled-back")}</p> }.into_any(),
            (false, Some("reverted")) => view! { <p role="status">{t("apply-banner-reverted")}</p> }.into_any(),
            (false, _) => view! { <p role="status">{t("apply-banner-confirmed")}</p> }.into_any(),
        }}
        {view.note.map(|n| view! { <p class="notice">{n}</p> })}
        {community.map(|c| view! {
            <p class="notice" data-testid="community-applied">
                {lang.tr_args("wizard-community-applied", &[("community", c.into())])}" "
                <a rel="external" href="/portal">{t("nav-portal")}</a>
            </p>
        })}
        // Keeping needs this browser to reach the router: on Wi-Fi, over the new network.
        {(view.wifi_changed && view.pending).then(|| view! {
            <p class="notice" role="note" data-testid="wifi-reconnect">{t("wizard-wifi-reconnect")}</p>
        })}
        {view.test_needed.then(|| view! {
            <section aria-labelledby="test-title">
                <h2 id="test-title">{t("wizard-test")}</h2>
                <ul class="checks" data-testid="checks">{checks}</ul>
                {if waiting {
                    view! { <p role="status">{t("wizard-test-running")}</p> }.into_any()
                } else if passed {
                    view! { <p role="status">{t("wizard-test-passed")}</p> }.into_any()
                } else {
                    view! { <p class="error" role="alert">{t("wizard-test-failed")}</p> }.into_any()
                }}
            </section>
        })}
        {(!waiting).then_some(confirm)}
        <ClientConfigs clients=view.clients />
    }
}

/// The link to the router's new address; once hydrated the browser follows it by itself.
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn MoveTo(url: String, text: String) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let url = url.clone();
        // The new address is there once the services reloaded (half a second after the
        // apply); a moment more and the browser goes there.
        Effect::new(move |_| {
            let url = url.clone();
            set_timeout(
                move || {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().assign(&url);
                    }
                },
                std::time::Duration::from_secs(2),
            );
        });
    }
    view! {
        <p><a class="button primary" rel="external" href=url data-testid="new-address">{text}</a></p>
    }
}

/// VPN client configurations shown once: each with its QR code (when it fits one), its text
/// and a download link (works without JavaScript).
#[component]
pub fn ClientConfigs(clients: Vec<ClientView>) -> impl IntoView {
    let lang = lang();
    (!clients.is_empty()).then(|| view! {
        <section aria-labelledby="clients-title" data-testid="client-configs">
            <h2 id="clients-title">{t("wizard-clients")}</h2>
            <p class="notice">{t("wizard-clients-once")}</p>
            {clients.into_iter().map(|c| {
                let href = format!("data:text/plain;charset=utf-8,{}", crate::portal::encode(&c.text));
                let download = lang.tr_args("wizard-client-download", &[("file", c.file.clone().into())]);
                view! {
                    <figure class="client">
                        <figcaption>{c.name.clone()}</figcaption>
                        {(!c.image.is_empty()).then(|| view! {
                            <img src=c.image alt=lang.tr_args("wizard-client-qr-alt", &[("name", c.name.into())]) width="240" height="240" />
                        })}
                        <pre tabindex="0">{c.text}</pre>
                        <a class="button secondary" href=href download=c.file>{download}</a>
                    </figure>
                }
            }).collect_view()}
        </section>
    })
}

/// `/confirm#<token>` on the router's new address: keeps the change with the apply token (the
/// session belongs to the old address). The token travels in the fragment, which never
/// reaches a server log.
#[component]
pub fn ConfirmPage() -> impl IntoView {
    view! {
        <PageHeading text=t("confirm-title") />
        <p>{t("confirm-body")}</p>
        <ConfirmForm />
    }
}

/// The form that keeps the change, with the token from the address's fragment once hydrated.
#[cfg_attr(page_island, island)]
#[cfg_attr(not(page_island), component)]
fn ConfirmForm() -> impl IntoView {
    let token = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(hash) = web_sys::window().and_then(|w| w.location().hash().ok()) {
            token.set(hash.trim_start_matches('#').to_owned());
        }
    });
    view! {
        <form method="post" action="/apply/confirm" class="card">
            <input type="hidden" name="token" prop:value=move || token.get() />
            <input type="hidden" name="back" value="/login" />
            <button type="submit" class="primary">{t("apply-banner-keep")}</button>
        </form>
    }
}
