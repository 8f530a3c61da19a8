//! The ports' routes: what `portico ports --json` prints (`GET /api/v1/ports`), the page's
//! live view as Server-Sent Events (`GET /api/v1/ports/events`, one `ports` event per change
//! and every 2 s, so "ago" stays current), and the page's "apply the suggested role" form
//! (`POST /ports/role`).

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;

use super::AppState;
use super::convert::ports_view;
use crate::web::AppError;
use crate::web::live::{Frame, live};

/// `GET /api/v1/ports`.
pub async fn snapshot(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let ports = state
        .ports
        .as_ref()
        .ok_or_else(|| super::error::not_here(&headers))?;
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

/// The page's form: give `port` the role `role`.
#[derive(Deserialize)]
pub struct RoleForm {
    port: String,
    role: String,
}

/// `POST /ports/role`: back to the page, at the port's card, saying what happened.
pub async fn role_form(State(state): State<AppState>, Form(form): Form<RoleForm>) -> Response {
    use crate::ports::apply::Refusal;
    let outcome = match (
        state.ports.as_ref(),
        crate::ports::roles::parse_role(&form.role),
    ) {
        (Some(ports), Some(role)) => match ports.change_role(&form.port, role) {
            Ok(()) => "applied",
            Err(Refusal::AdminPort) => "admin-port",
            Err(Refusal::Busy) => "busy",
            Err(Refusal::Unchanged) => "unchanged",
            Err(Refusal::Pinned) => "pinned",
            Err(_) => "failed",
        },
        _ => "failed",
    };
    let port = app::portal::encode(&form.port);
    Redirect::to(&format!("/ports?role={outcome}&port={port}#port-{port}")).into_response()
}
