//! The firmware page's HTTP side: the upload (`POST /settings/firmware`, multipart, streamed to
//! `<root>/tmp/firmware.bin` with a size bound, then checked), the flash (`POST
//! /settings/firmware/flash`) and the page's data.

use std::sync::{Arc, Mutex, PoisonError};

use app::i18n::Lang;
use app::maintenance::{FirmwareView, ImageView};
use axum::Form;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

use super::AppState;
use crate::firmware;

const PAGE: &str = "/settings/firmware";

/// The last uploaded image's check.
pub type Uploaded = Arc<Mutex<Option<ImageView>>>;

fn back(query: &str) -> Response {
    Redirect::to(&format!("{PAGE}?{query}")).into_response()
}

fn image_path(state: &AppState) -> std::path::PathBuf {
    state.platform.root().join("tmp/firmware.bin")
}

/// `POST /settings/firmware`.
pub async fn upload(State(state): State<AppState>, mut form: Multipart) -> Response {
    let path = image_path(&state);
    if let Some(dir) = path.parent() {
        let _ = tokio::fs::create_dir_all(dir).await;
    }
    let mut written = 0u64;
    while let Ok(Some(mut field)) = form.next_field().await {
        if field.name() != Some("image") {
            continue;
        }
        let Ok(mut file) = tokio::fs::File::create(&path).await else {
            return back("error=store");
        };
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    written += chunk.len() as u64;
                    if written > firmware::MAX_IMAGE || file.write_all(&chunk).await.is_err() {
                        drop(file);
                        let _ = tokio::fs::remove_file(&path).await;
                        return back("error=too-big");
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    let _ = tokio::fs::remove_file(&path).await;
                    return back("error=too-big");
                }
            }
        }
        let _ = file.flush().await;
    }
    if written == 0 {
        return back("error=missing");
    }
    let platform = state.platform.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let check = firmware::check(&path)?;
        let test = platform.test_image(&path);
        Ok::<_, std::io::Error>(ImageView {
            size: check.size,
            version: check.metadata.as_ref().map(|m| m.version.clone()),
            devices: check.metadata.map(|m| m.devices).unwrap_or_default(),
            signed: check.signed,
            board: platform.board(),
            test,
        })
    })
    .await;
    match checked {
        Ok(Ok(image)) => {
            tracing::info!(bytes = image.size, version = ?image.version, "firmware image uploaded");
            *state
                .firmware
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(image);
            back("checked=1")
        }
        _ => back("error=store"),
    }
}

#[derive(Deserialize)]
pub struct FlashForm {
    #[serde(default)]
    keep: Option<String>,
}

/// `POST /settings/firmware/flash`: only an image that was checked and fits this router.
pub async fn flash(State(state): State<AppState>, Form(form): Form<FlashForm>) -> Response {
    let image = state
        .firmware
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let Some(image) = image else {
        return back("error=missing");
    };
    let fits = image.version.is_some()
        && image
            .board
            .as_ref()
            .is_none_or(|b| image.devices.contains(b))
        && image.test.as_ref().is_none_or(|(ok, _)| *ok);
    if !fits {
        return back("error=unfit");
    }
    let (platform, path) = (state.platform.clone(), image_path(&state));
    let keep = form.keep.is_some();
    match tokio::task::spawn_blocking(move || platform.flash(&path, keep)).await {
        Ok(Ok(Some(crate::platform::Restart::Machine { seconds }))) => {
            tracing::info!(keep, "flashing the firmware");
            Redirect::to(&format!("/settings/reboot?restarting={seconds}")).into_response()
        }
        Ok(Ok(_)) => back("error=not-here"),
        Ok(Err(e)) => {
            tracing::warn!(%e, "the flash did not start");
            back("error=flash")
        }
        Err(_) => back("error=flash"),
    }
}

/// The page's data.
pub fn view(state: &AppState, query: &[(String, String)], lang: Lang) -> FirmwareView {
    let error = query
        .iter()
        .find(|(k, _)| k == "error")
        .map_or("", |(_, v)| v.as_str());
    let problem = match error {
        code @ ("too-big" | "missing" | "store" | "unfit" | "not-here" | "flash") => {
            Some(lang.tr(&format!("firmware-error-{code}")))
        }
        _ => None,
    };
    FirmwareView {
        image: state
            .firmware
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
        can_flash: matches!(state.platform.kind(), crate::platform::Kind::OpenWrt),
        problem,
    }
}
