//! The backup page's HTTP side: the download (`GET /settings/backup.tar.gz`), the upload of a
//! restore (`POST /settings/backup/restore`, multipart), its apply (`POST
//! /settings/backup/apply`) and the page's data. Refusals go back to the page with a reason.

use app::backup::{BackupView, RestoreReview};
use app::i18n::Lang;
use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use fluent_bundle::FluentValue;
use serde::Deserialize;

use super::AppState;
use crate::backup::{self, Error};
use crate::web::{AppError, request_lang};

const PAGE: &str = "/settings/backup";

fn back(query: &str) -> Response {
    Redirect::to(&format!("{PAGE}?{query}")).into_response()
}

/// `GET /settings/backup.tar.gz`: `backup-<host name>-<date>.tar.gz`.
pub async fn download(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = request_lang(&headers);
    let root = state.platform.root().to_owned();
    let db = state.auth.db().clone();
    let made = tokio::task::spawn_blocking(move || backup::create(&root, &db)).await;
    let bytes = match made {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => return AppError::internal(&e, lang).into_response(),
        Err(e) => return AppError::internal(&e, lang).into_response(),
    };
    let host = state
        .platform
        .package("system")
        .ok()
        .and_then(|s| {
            s.sections_of("system")
                .next()
                .and_then(|s| uci::views::System(s).hostname())
        })
        .filter(|h| crate::section::is_host_name(h))
        .unwrap_or_else(|| "router".into());
    let (y, m, d) = app::charts::civil(crate::portal::vouchers::now());
    let name = format!("backup-{host}-{y:04}-{m:02}-{d:02}.tar.gz");
    tracing::info!(bytes = bytes.len(), "backup downloaded");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/gzip"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `POST /settings/backup/restore`: the upload (field `backup`), checked; its review.
pub async fn restore(State(state): State<AppState>, mut form: Multipart) -> Response {
    let mut upload = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("backup") {
            match field.bytes().await {
                Ok(bytes) => upload = Some(bytes),
                Err(_) => return back("error=too-big"),
            }
        }
    }
    let Some(bytes) = upload.filter(|b| !b.is_empty()) else {
        return back("error=missing");
    };
    match tokio::task::spawn_blocking(move || backup::read(&bytes)).await {
        Ok(Ok(restore)) => back(&format!("review={}", state.restores.put(restore))),
        Ok(Err(Error::Broken {
            file, line, byte, ..
        })) => back(&format!(
            "error=broken&file={}&line={line}&byte={byte}",
            app::portal::encode(&file)
        )),
        Ok(Err(Error::TooBig)) => back("error=too-big"),
        Ok(Err(Error::NoSettings)) => back("error=no-settings"),
        Ok(Err(Error::NotAnArchive)) | Err(_) => back("error=not-a-backup"),
    }
}

#[derive(Deserialize)]
pub struct ApplyForm {
    token: String,
}

/// `POST /settings/backup/apply`: the waiting restore, applied with rollback.
pub async fn apply(State(state): State<AppState>, Form(form): Form<ApplyForm>) -> Response {
    let Some(restore) = state.restores.get(&form.token) else {
        return back("error=expired");
    };
    let packages = restore.packages.clone();
    let applier = state.applier.clone();
    match tokio::task::spawn_blocking(move || applier.apply_files(packages, true)).await {
        Ok(Ok(done)) => {
            state.restores.take(&form.token);
            tracing::info!(files = ?done.files, "backup restored; waiting for confirmation");
            back("applied=1")
        }
        Ok(Err(crate::apply::Error::Empty)) => {
            state.restores.take(&form.token);
            back("error=same")
        }
        Ok(Err(crate::apply::Error::Pending)) => back("error=pending"),
        Ok(Err(e)) => {
            tracing::warn!(%e, "the restore was not applied");
            back("error=apply")
        }
        Err(_) => back("error=apply"),
    }
}

fn get<'a>(query: &'a [(String, String)], name: &str) -> &'a str {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The page's data for its query.
pub fn view(state: &AppState, query: &[(String, String)], lang: Lang) -> BackupView {
    let problem = match get(query, "error") {
        "broken" => Some(lang.tr_args(
            "backup-error-broken",
            &[
                (
                    "file",
                    FluentValue::from(get(query, "file").chars().take(80).collect::<String>()),
                ),
                (
                    "line",
                    FluentValue::from(get(query, "line").parse::<u64>().unwrap_or(0)),
                ),
                (
                    "byte",
                    FluentValue::from(get(query, "byte").parse::<u64>().unwrap_or(0)),
                ),
            ],
        )),
        code @ ("too-big" | "missing" | "no-settings" | "not-a-backup" | "expired" | "same") => {
            Some(lang.tr(&format!("backup-error-{code}")))
        }
        code @ ("pending" | "apply") => Some(lang.tr(&format!("tasks-error-{code}"))),
        _ => None,
    };
    let review = match get(query, "review") {
        "" => None,
        token => state.restores.get(token).map(|restore| RestoreReview {
            token: token.to_owned(),
            files: restore
                .packages
                .iter()
                .map(|p| format!("etc/config/{}", p.name))
                .collect(),
            diff: state
                .applier
                .preview_files(&restore.packages)
                .unwrap_or_default(),
            skipped: restore.skipped.clone(),
        }),
    };
    let expired = !get(query, "review").is_empty() && review.is_none();
    BackupView {
        review,
        problem: problem.or_else(|| expired.then(|| lang.tr("backup-error-expired"))),
        applied: !get(query, "applied").is_empty(),
    }
}
