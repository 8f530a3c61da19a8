//! The offload's routes for scripts and the dashboard: the state as JSON
//! (`GET /api/v1/offload`) and as Server-Sent Events, one `offload` event a second
//! (`GET /api/v1/offload/events`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;

use super::AppState;
use super::error::AppError;
use super::gate::request_lang;

/// `GET /api/v1/offload`.
pub async fn snapshot(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let offload = state.offload.as_ref().ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "error-not-found",
            request_lang(&headers),
        )
    })?;
    Ok(Json(offload.snapshot()).into_response())
}

/// `GET /api/v1/offload/events`.
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let offload = state.offload.clone();
    let stream = async_stream::stream! {
        let Some(offload) = offload else { return };
        loop {
            let json = serde_json::to_string(&offload.snapshot()).unwrap_or_default();
            yield Ok(Event::default().event("offload").data(json));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    Sse::new(stream).keep_alive(KeepAlive::default())
}
