//! `/settings/backup`: download a backup of the settings and Portico's state (the layout of
//! OpenWrt's `sysupgrade -b`), and restore one — uploaded, then shown file by file as the diff
//! it makes, then applied with the automatic rollback. Plain forms: works without JavaScript.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{PageHeading, lang, t};

/// A restore waiting to be applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReview {
    pub token: String,
    /// The settings files it restores.
    pub files: Vec<String>,
    /// What it changes: a unified diff per file (empty: nothing differs).
    pub diff: String,
    /// Files in the archive a restore leaves alone.
    pub skipped: Vec<String>,
}

/// The page's data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupView {
    pub review: Option<RestoreReview>,
    /// Why the upload or the apply was refused, in the page's language.
    pub problem: Option<String>,
    pub applied: bool,
}

/// Where the backup is downloaded.
pub const DOWNLOAD: &str = "/settings/backup.tar.gz";

/// Where the server gets the page's data.
#[cfg(feature = "ssr")]
pub trait BackupSource: Send + Sync {
    fn backup_view(&self, query: &[(String, String)], lang: crate::i18n::Lang) -> BackupView;
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The page's data for its query (login required, enforced by the server before this runs).
#[server(prefix = "/api/fn", endpoint = "backup_view")]
pub async fn load_backup(query: Vec<(String, String)>) -> Result<BackupView, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn BackupSource>>()
        .ok_or_else(|| ServerFnError::new("backup source missing"))?;
    Ok(source.backup_view(&query, crate::request_lang()))
}

/// `/settings/backup`.
#[component]
pub fn BackupPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let data = Resource::new_blocking(move || query.with(crate::query_pairs), load_backup);
    view! {
        <PageHeading text=t("backup-title") />
        <Suspense fallback=|| view! { <p>{t("home-loading")}</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok(view) => view! { <Backup view /> }.into_any(),
                    Err(_) => view! { <p class="error" role="alert">{t("error-internal")}</p> }.into_any(),
                })
            }}
        </Suspense>
        <p><a href="/settings">{t("settings-back")}</a></p>
    }
}

#[component]
fn Backup(view: BackupView) -> impl IntoView {
    let lang = lang();
    let review = view.review.map(|r| {
        let files = lang.tr_args("backup-files", &[("files", r.files.join(", ").into())]);
        let skipped = (!r.skipped.is_empty()).then(|| {
            let text = lang.tr_args("backup-skipped", &[("files", r.skipped.join(", ").into())]);
            view! { <p class="hint">{text}</p> }
        });
        view! {
            <section class="card review" aria-labelledby="review-title">
                <h2 id="review-title">{t("backup-review")}</h2>
                <p>{files}</p>
                {if r.diff.is_empty() {
                    view! { <p>{t("backup-same")}</p> }.into_any()
                } else {
                    view! { <pre data-testid="diff" tabindex="0">{r.diff}</pre> }.into_any()
                }}
                {skipped}
                <form method="post" action="/settings/backup/apply" class="actions">
                    <input type="hidden" name="token" value=r.token />
                    <button type="submit" class="primary">{t("backup-apply")}</button>
                    <a href="/settings/backup" class="button secondary">{t("tasks-cancel")}</a>
                </form>
            </section>
        }
    });
    view! {
        {view.applied.then(|| view! { <p class="notice" role="status">{t("tasks-applied")}</p> })}
        {view.problem.map(|p| view! { <p class="error" role="alert">{p}</p> })}
        {review}
        <section class="card" aria-labelledby="download-title">
            <h2 id="download-title">{t("backup-download-title")}</h2>
            <p class="hint">{t("backup-download-about")}</p>
            <p><a class="button primary" href=DOWNLOAD rel="external" download="">{t("backup-download")}</a></p>
        </section>
        <section class="card" aria-labelledby="restore-title">
            <h2 id="restore-title">{t("backup-restore-title")}</h2>
            <p class="hint" id="restore-hint">{t("backup-restore-about")}</p>
            <form method="post" action="/settings/backup/restore" enctype="multipart/form-data">
                <div class="field">
                    <label for="backup-file">{t("backup-file")}</label>
                    <input id="backup-file" name="backup" type="file" accept=".tar.gz,.tgz,application/gzip" aria-describedby="restore-hint" required />
                </div>
                <button type="submit" class="primary">{t("backup-restore")}</button>
            </form>
        </section>
    }
}
