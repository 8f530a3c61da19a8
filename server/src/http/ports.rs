//! The ports' routes: what `portico ports --json` prints (`GET /api/v1/ports`) and the page's
//! live view as Server-Sent Events (`GET /api/v1/ports/events`, one `ports` event per change
//! and every 2 s, so "ago" stays current).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::convert::ports_view;
use crate::web::AppError;
use crate::web::live::{Frame, live};
use crate::web::request_lang;

/// `GET /api/v1/ports`.
pub async fn snapshot(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let ports = state.ports.as_ref().ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "error-not-found",
            request_lang(&headers),
        )
    })?;
    Ok(Json(ports.snapshot()).into_response())
}

/// `GET /api/v1/ports/events`.
pub async fn events(State(state): State<AppState>) -> impl IntoResponse {
    let ports = state.ports.clone();
    let updates = ports.as_ref().map(crate::ports::Ports::subscribe);
    live("ports", updates, Duration::from_millis(200), move || {
        ports.as_ref().map(|p| Frame {
            value: ports_view(&p.snapshot()),
            tick: Some(Duration::from_secs(2)),
        })
    })
}
