//! The qaul link's routes: the peer view's test-message form, and for scripts the peer table
//! (`GET /api/v1/ble/peers`), a test send (`POST /api/v1/ble/send`) and the live table as
//! Server-Sent Events (`GET /api/v1/ble/events`, one `link` event per change and every 2 s, so
//! "seen … ago" stays current).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use serde::Deserialize;

use super::AppState;
use super::error::AppError;
use super::gate::request_lang;

/// Test message sizes offered (the 1 B, 500 B and 60 KiB, and anything up to 200 KiB).
const MAX_TEST: usize = 200 * 1024;

/// A test send, from the page's form or a script's JSON.
#[derive(Deserialize)]
pub struct SendTest {
    /// The peer's q8id, 16 hex digits.
    peer: String,
    size: usize,
}

/// `POST /bluetooth/send`.
pub async fn send_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SendTest>,
) -> Response {
    let result = match &state.ble {
        None => Err("the Bluetooth link is not part of this Portico".to_owned()),
        Some(_) if form.size == 0 || form.size > MAX_TEST => {
            Err(request_lang(&headers).tr_args("ble-error-size", &[("max", MAX_TEST.into())]))
        }
        Some(ble) => ble
            .send_test(&form.peer, form.size)
            .map_err(|e| e.to_string()),
    };
    let query = match result {
        Ok(()) => "sent=1".to_owned(),
        Err(reason) => format!("error={}", app::portal::encode(&reason)),
    };
    Redirect::to(&format!("/bluetooth?{query}")).into_response()
}

/// `GET /api/v1/ble/peers`.
pub async fn peers(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let ble = state.ble.as_ref().ok_or_else(|| not_here(&headers))?;
    Ok(Json(ble.view()).into_response())
}

fn not_here(headers: &HeaderMap) -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "error-not-found",
        request_lang(headers),
    )
}

/// `POST /api/v1/ble/send`: 202 when the link took the message; its outcome appears on the
/// peer (`last_sent`).
pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<SendTest>,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    let ble = state.ble.as_ref().ok_or_else(|| not_here(&headers))?;
    if request.size == 0 || request.size > MAX_TEST {
        return Err(AppError::with_args(
            StatusCode::BAD_REQUEST,
            "invalid_size",
            "ble-error-size",
            lang,
            &[("max", MAX_TEST.into())],
        ));
    }
    match ble.send_test(&request.peer, request.size) {
        Ok(()) => Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "queued": true })),
        )
            .into_response()),
        Err(err) => Err(AppError::with_args(
            StatusCode::CONFLICT,
            "not_sent",
            "ble-test-failed",
            lang,
            &[("reason", err.to_string().into())],
        )),
    }
}

/// `GET /api/v1/ble/events`.
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let ble = state.ble.clone();
    let stream = async_stream::stream! {
        let Some(ble) = ble else { return };
        let mut updates = ble.subscribe();
        loop {
            let json = serde_json::to_string(&ble.view()).unwrap_or_default();
            yield Ok(Event::default().event("link").data(json));
            tokio::select! {
                changed = updates.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
            // Coalesce bursts (a 60 KiB message changes the counters hundreds of times).
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    Sse::new(stream).keep_alive(KeepAlive::default())
}
