//! `/settings`: what can be changed after setup, each a page of its own. The settings pages
//! are the wizard's steps, one at a time (`/settings/<step>`, [`crate::wizard::page::WizardPage`]
//! with `settings`): the same forms, rules and checked apply, straight to the summary.

use leptos::prelude::*;

use crate::wizard::form::Step;
use crate::{PageHeading, t};

/// What each settings page is for (catalog keys of the description).
fn description(step: Step) -> &'static str {
    match step {
        Step::System => "settings-system-about",
        Step::Internet => "settings-internet-about",
        Step::Wifi => "settings-wifi-about",
        _ => "settings-services-about",
    }
}

/// `/settings`.
#[component]
pub fn SettingsIndex() -> impl IntoView {
    let items = Step::SETTINGS
        .into_iter()
        .map(|step| {
            view! {
                <li>
                    <a rel="external" href=step.path(true)>{t(step.settings_key())}</a>
                    <p class="hint">{t(description(step))}</p>
                </li>
            }
        })
        .collect_view();
    let tasks = [
        ("/settings/forwards", "forwards-title", "forwards-about"),
        ("/settings/leases", "leases-title", "leases-about"),
        ("/settings/vpn", "vpn-title", "vpn-about"),
        ("/settings/backup", "backup-title", "backup-about"),
        ("/settings/firmware", "firmware-title", "firmware-about"),
        ("/settings/log", "log-title", "log-about"),
        ("/settings/reboot", "reboot-title", "reboot-list"),
    ]
    .into_iter()
    .map(|(href, title, about)| {
        view! {
            <li>
                <a rel="external" href=href>{t(title)}</a>
                <p class="hint">{t(about)}</p>
            </li>
        }
    })
    .collect_view();
    view! {
        <PageHeading text=t("settings-title") />
        <ul class="settings">{items}{tasks}</ul>
        <p>
            {t("settings-wizard-about")} " "
            <a rel="external" href="/setup">{t("settings-wizard")}</a>
        </p>
    }
}
