//! The overview's routes: the page's server function (through [`StatusSource`]), the state as
//! JSON (`GET /api/v1/status`), Server-Sent Events (`GET /api/v1/status/events`, a `status`
//! event after every refresh), and the connection test started by the page's form
//! (`POST /status/test`) or a script (`POST /api/v1/status/test`).

use std::sync::Arc;

use app::i18n::Lang;
use app::status::{Capabilities, Overview, StatusSource};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use crate::status::TestError;
use crate::web::AppError;
use crate::web::live::{Frame, live};
use crate::web::request_lang;

struct Overviews {
    state: AppState,
}

pub(super) fn source(state: &AppState) -> Arc<dyn StatusSource> {
    Arc::new(Overviews {
        state: state.clone(),
    })
}

impl StatusSource for Overviews {
    fn overview(&self, lang: Lang) -> Overview {
        overview(&self.state, lang)
    }
}

/// The monitor's overview with the capabilities' state (their problems in `lang`).
fn overview(state: &AppState, lang: Lang) -> Overview {
    let mut overview = (*state.status.overview()).clone();
    overview.capabilities = capabilities(state, lang);
    overview
}

fn capabilities(state: &AppState, lang: Lang) -> Capabilities {
    let offload = state
        .offload
        .as_ref()
        .map(|o| super::convert::offload_view(&o.snapshot()));
    let link = state
        .ble
        .as_ref()
        .map(|ble| super::convert::link_view(&ble.state(), lang));
    Capabilities {
        portal: state.portal.as_ref().is_some_and(|p| p.enabled()),
        portal_clients: state
            .vouchers
            .list(Some(crate::portal::vouchers::State::Active))
            .map_or(0, |v| v.len() as u64),
        offload: offload.as_ref().is_some_and(|o| o.running),
        offload_problem: offload.map_or_else(|| lang.tr("home-offload-not-started"), |o| o.problem),
        bluetooth: link.as_ref().map(|l| l.running),
        bluetooth_peers: link.as_ref().map_or(0, |l| l.peers.len() as u64),
        bluetooth_problem: link.map(|l| l.reason).unwrap_or_default(),
    }
}

/// `GET /api/v1/status`.
pub async fn snapshot(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = request_lang(&headers);
    let overview = tokio::task::spawn_blocking(move || overview(&state, lang))
        .await
        .unwrap_or_default();
    Json(overview).into_response()
}

/// `GET /api/v1/status/events`.
pub async fn events(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let lang = request_lang(&headers);
    let changes = state.status.subscribe();
    live(
        "status",
        Some(changes),
        std::time::Duration::ZERO,
        move || {
            Some(Frame {
                value: overview(&state, lang),
                tick: None,
            })
        },
    )
}

fn start_test(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let lang = request_lang(headers);
    state.status.test_now().map_err(|e| match e {
        TestError::Running => AppError::new(
            StatusCode::CONFLICT,
            "test_running",
            "home-test-running",
            lang,
        ),
        TestError::NotHere => {
            AppError::new(StatusCode::CONFLICT, "not_here", "home-test-not-here", lang)
        }
    })
}

/// `POST /status/test`: back to the overview, which shows the test's progress.
pub async fn test_form(State(state): State<AppState>) -> Response {
    match state.status.test_now() {
        // A test that runs already shows its progress as well.
        Ok(()) | Err(TestError::Running) => Redirect::to("/?test=started#home-internet"),
        Err(TestError::NotHere) => Redirect::to("/?test=not-here#home-internet"),
    }
    .into_response()
}

/// `POST /api/v1/status/test`: 202 when started; the result arrives in the status.
pub async fn test_api(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    start_test(&state, &headers)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "started": true })),
    )
        .into_response())
}
