//! The qaul link's routes: the peer view's test-message form, and for scripts the peer table
//! (`GET /api/v1/ble/peers`), a test send (`POST /api/v1/ble/send`) and the live table as
//! Server-Sent Events (`GET /api/v1/ble/events`, one `link` event per change and every 2 s, so
//! "seen … ago" stays current).

use std::time::Duration;

use axum::Json;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use crate::ble::SendError;
use crate::web::AppError;
use crate::web::live::{Frame, live};
use crate::web::request_lang;
use app::i18n::Lang;

/// Test message sizes offered (the 1 B, 500 B and 60 KiB, and anything up to 200 KiB).
const MAX_TEST: usize = 200 * 1024;

/// A test send, from the page's form or a script's JSON.
#[derive(Deserialize)]
pub struct SendTest {
    /// The peer's q8id, 16 hex digits.
    peer: String,
    size: usize,
}

/// The one path the form and the API send through: on refusal, an error code and the reason
/// in the user's language.
fn send_test(state: &AppState, test: &SendTest, lang: Lang) -> Result<(), (&'static str, String)> {
    let ble = state
        .ble
        .as_ref()
        .ok_or_else(|| ("not_sent", lang.tr_args("ble-error-not-running", &[])))?;
    if test.size == 0 || test.size > MAX_TEST {
        return Err((
            "invalid_size",
            lang.tr_args("ble-error-size", &[("max", MAX_TEST.into())]),
        ));
    }
    ble.send_test(&test.peer, test.size).map_err(|err| {
        let reason = match err {
            SendError::NotRunning => lang.tr_args("ble-error-not-running", &[]),
            SendError::UnknownPeer(peer) => {
                lang.tr_args("ble-error-unknown-peer", &[("peer", peer.into())])
            }
        };
        ("not_sent", reason)
    })
}

/// `POST /bluetooth/send`.
pub async fn send_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SendTest>,
) -> Response {
    let query = match send_test(&state, &form, request_lang(&headers)) {
        Ok(()) => "sent=1".to_owned(),
        Err((_, reason)) => format!("error={}", app::portal::encode(&reason)),
    };
    Redirect::to(&format!("/bluetooth?{query}")).into_response()
}

/// `GET /api/v1/ble/peers`.
pub async fn peers(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let ble = state
        .ble
        .as_ref()
        .ok_or_else(|| super::error::not_here(&headers))?;
    Ok(Json(super::convert::link_view(
        &ble.state(),
        request_lang(&headers),
    ))
    .into_response())
}

/// `POST /api/v1/ble/send`: 202 when the link took the message; its outcome appears on the
/// peer (`last_sent`).
pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<SendTest>,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    match send_test(&state, &request, lang) {
        Ok(()) => Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "queued": true })),
        )
            .into_response()),
        Err((code, reason)) => {
            let status = if code == "invalid_size" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::CONFLICT
            };
            Err(AppError::with_args(
                status,
                code,
                "ble-test-failed",
                lang,
                &[("reason", reason.into())],
            ))
        }
    }
}

/// `GET /api/v1/ble/events`.
pub async fn events(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let lang = request_lang(&headers);
    let ble = state.ble.clone();
    let updates = ble.as_ref().map(|b| b.subscribe());
    // Coalesced to 5 a second: a 60 KiB message changes the counters hundreds of times.
    live("link", updates, Duration::from_millis(200), move || {
        ble.as_ref().map(|b| Frame {
            value: super::convert::link_view(&b.state(), lang),
            tick: Some(Duration::from_secs(2)),
        })
    })
}
