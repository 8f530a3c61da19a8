//! `/bluetooth`: the Bluetooth LE link for the qaul messenger. It shows what BlueZ offers here
//! (or why Bluetooth is unavailable); the peer table comes with the link itself.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{PageContext, lang, t};

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
}

/// `/bluetooth`.
#[component]
pub fn BluetoothPage() -> impl IntoView {
    let page = use_context::<PageContext>().unwrap_or_default();
    let Some(view) = page.bluetooth else {
        return view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any();
    };
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
    view! {
        <h1>{t("bluetooth-title")}</h1>
        {status}
        <dl class="facts">{adapters}</dl>
        <p>{t("bluetooth-link-pending")}</p>
    }
    .into_any()
}
