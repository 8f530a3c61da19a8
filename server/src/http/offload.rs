//! The offload's routes for scripts and the dashboard: the state as JSON
//! (`GET /api/v1/offload`) and as Server-Sent Events, one `offload` event a second
//! (`GET /api/v1/offload/events`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::convert::offload_view;
use crate::web::AppError;
use crate::web::live::{Frame, live};

/// `GET /api/v1/offload`.
pub async fn snapshot(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let offload = state
        .offload
        .as_ref()
        .ok_or_else(|| super::error::not_here(&headers))?;
    Ok(Json(offload_view(&offload.dashboard())).into_response())
}

/// `GET /api/v1/offload/events`.
pub async fn events(State(state): State<AppState>) -> impl IntoResponse {
    let offload = state.offload.clone();
    live::<_, ()>("offload", None, Duration::ZERO, move || {
        offload.as_ref().map(|o| Frame {
            value: offload_view(&o.dashboard()),
            tick: Some(Duration::from_secs(1)),
        })
    })
}
