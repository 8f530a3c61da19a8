//! `/api/v1/config/...`: read configuration, preview and apply changes, confirm or roll back,
//! follow the pending apply live (SSE). Documented in `/api/v1/openapi.json`.

use std::time::Duration;

use app::i18n::Lang;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use fluent_bundle::FluentValue;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::convert::apply_status;
use crate::apply;
use crate::web::AppError;
use crate::web::live::{Frame, live};
use crate::web::request_lang;
use app::config::{ConfigEdit, EditValue};

#[derive(Debug, Deserialize)]
pub struct EditsJson {
    /// `{"op": "set", "path": "network.lan.ipaddr", "value": "10.0.0.1"}`: see [`ConfigEdit`].
    edits: Vec<ConfigEdit>,
    /// Apply with a confirmation window (the default) or at once ("apply unchecked").
    #[serde(default = "yes")]
    checked: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Default)]
pub struct ConfirmJson {
    #[serde(default)]
    token: Option<String>,
}

fn bad_edit(lang: Lang, path: &str) -> AppError {
    let mut e = AppError::with_args(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_edit",
        "error-invalid-edit",
        lang,
        &[("path", FluentValue::from(path.to_owned()))],
    );
    e.field = Some(path.to_owned());
    e
}

/// An edit of the API or a server function, checked, as a uci change-set edit.
pub fn to_edit(edit: &ConfigEdit, lang: Lang) -> Result<uci::Edit, AppError> {
    let text = || -> Result<String, AppError> {
        match &edit.value {
            Some(EditValue::Text(s)) => Ok(s.clone()),
            Some(EditValue::Number(n)) => Ok(n.to_string()),
            _ => Err(bad_edit(lang, &edit.path)),
        }
    };
    let path = edit.path.clone();
    Ok(match edit.op.as_str() {
        "set" => match &edit.value {
            Some(EditValue::List(items)) => uci::Edit::SetList {
                path,
                items: items.iter().map(|i| i.as_bytes().to_vec()).collect(),
            },
            _ => uci::Edit::Set {
                path,
                value: text()?.into_bytes(),
            },
        },
        "delete" => uci::Edit::Delete { path },
        "add_list" => uci::Edit::AddList {
            path,
            value: text()?.into_bytes(),
        },
        "del_list" => uci::Edit::DelList {
            path,
            value: text()?.into_bytes(),
        },
        "rename" => uci::Edit::Rename {
            name: text()?,
            path,
        },
        "reorder" => uci::Edit::Reorder {
            position: text()?.parse().map_err(|_| bad_edit(lang, &edit.path))?,
            path,
        },
        "add" => uci::Edit::Add {
            kind: text()?,
            package: path,
        },
        _ => return Err(bad_edit(lang, &edit.path)),
    })
}

/// A config file that does not parse: 422 with `file`, `line`, `byte` and uci's reason.
pub fn parse_error(file: &str, error: &uci::ParseError, lang: Lang) -> AppError {
    let e = AppError::with_args(
        StatusCode::UNPROCESSABLE_ENTITY,
        "config_parse_error",
        "error-config-parse",
        lang,
        &[
            ("file", FluentValue::from(file.to_owned())),
            ("line", FluentValue::from(error.line)),
            ("byte", FluentValue::from(error.byte)),
            ("reason", FluentValue::from(error.reason)),
        ],
    );
    e.with("file", json!(file))
        .with("line", json!(error.line))
        .with("byte", json!(error.byte))
        .with("details", json!({ "reason": error.reason }))
}

fn change_error(error: &uci::ChangeError, lang: Lang) -> AppError {
    match error {
        uci::ChangeError::Parse { file, error } => parse_error(file, error, lang),
        uci::ChangeError::Conflict { file } => AppError::with_args(
            StatusCode::CONFLICT,
            "config_conflict",
            "error-config-conflict",
            lang,
            &[("file", FluentValue::from(file.clone()))],
        ),
        uci::ChangeError::Io { .. } => AppError::internal(error, lang),
    }
}

pub fn apply_error(error: &apply::Error, lang: Lang) -> AppError {
    use apply::Error as E;
    match error {
        E::Pending => AppError::new(
            StatusCode::CONFLICT,
            "apply_pending",
            "error-apply-pending",
            lang,
        ),
        E::NothingPending => AppError::new(
            StatusCode::CONFLICT,
            "nothing_pending",
            "error-nothing-pending",
            lang,
        ),
        E::BadToken => AppError::new(StatusCode::FORBIDDEN, "bad_token", "error-bad-token", lang),
        E::Empty => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing_to_apply",
            "error-nothing-to-apply",
            lang,
        ),
        E::Edit(uci::EditError::Load(e)) | E::Change(e) => change_error(e, lang),
        E::Edit(uci::EditError::Uci { path, .. }) => bad_edit(lang, path),
        E::Db(_) | E::Io(_) => AppError::internal(error, lang),
    }
}

pub fn edits(body: &EditsJson, lang: Lang) -> Result<Vec<uci::Edit>, AppError> {
    body.edits.iter().map(|e| to_edit(e, lang)).collect()
}

/// `GET /api/v1/config`: the config files.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let names = state
        .applier
        .store()
        .list()
        .map_err(|e| AppError::internal(&e, request_lang(&headers)))?;
    Ok(Json(json!({ "configs": names })))
}

/// `GET /api/v1/config/{name}`: one file as sections and options.
pub async fn read(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let lang = request_lang(&headers);
    let unknown = || {
        AppError::with_args(
            StatusCode::NOT_FOUND,
            "unknown_config",
            "error-unknown-config",
            lang,
            &[("file", FluentValue::from(name.clone()))],
        )
    };
    if !uci::model::valid_package(name.as_bytes()) || name.contains(['.', '/']) {
        return Err(unknown());
    }
    let bytes = match state.applier.store().read(&name) {
        Ok(b) => b,
        Err(uci::store::LoadError::NotFound) => return Err(unknown()),
        Err(e) => return Err(AppError::internal(&e, lang)),
    };
    let package = uci::parse(&name, &bytes).map_err(|e| parse_error(&name, &e, lang))?;
    Ok(Json(package_json(&package)))
}

/// A package as JSON: `{"name", "sections": [{"name", "type", "anonymous", "options": {..}}]}`;
/// values are strings (invalid UTF-8 replaced) or lists of strings.
pub fn package_json(package: &uci::Package) -> Value {
    let sections: Vec<Value> = package
        .sections
        .iter()
        .map(|s| {
            let options: serde_json::Map<String, Value> = s
                .options
                .iter()
                .map(|o| {
                    let value = match &o.value {
                        uci::Value::Single(v) => json!(v.to_string()),
                        uci::Value::List(items) => {
                            json!(items.iter().map(ToString::to_string).collect::<Vec<_>>())
                        }
                    };
                    (o.name.clone(), value)
                })
                .collect();
            json!({ "name": s.name, "type": s.kind, "anonymous": s.anonymous, "options": options })
        })
        .collect();
    json!({ "name": package.name, "sections": sections })
}

/// `POST /api/v1/config/preview`: the unified diff of the edits.
pub async fn preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<EditsJson>,
) -> Result<Json<Value>, AppError> {
    let lang = request_lang(&headers);
    let diff = state
        .applier
        .preview(&edits(&body, lang)?)
        .map_err(|e| apply_error(&e, lang))?;
    Ok(Json(json!({ "diff": diff })))
}

/// `POST /api/v1/config/apply`: commit, reload, and (checked) wait for a confirm.
pub async fn apply(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<EditsJson>,
) -> Result<Json<Value>, AppError> {
    let lang = request_lang(&headers);
    let edits = edits(&body, lang)?;
    let manager = state.applier.clone();
    let result = tokio::task::spawn_blocking(move || manager.apply(&edits, body.checked))
        .await
        .map_err(|e| AppError::internal(&e, lang))?
        .map_err(|e| apply_error(&e, lang))?;
    Ok(Json(json!(result)))
}

/// `GET /api/v1/config/apply`: the pending apply, with seconds left.
pub async fn status(State(state): State<AppState>) -> Json<app::ApplyStatus> {
    Json(apply_status(&state.applier.status()))
}

/// `POST /api/v1/config/apply/confirm`: keeps the change. Authorised by the apply token alone
/// (it works from the router's new address), or by a session when no token is sent.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Option<Json<ConfirmJson>>,
) -> Response {
    let lang = request_lang(&headers);
    let token = body.and_then(|Json(b)| b.token);
    if token.is_none() && !super::gate::logged_in(&state, &headers) {
        return AppError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "error-unauthorized",
            lang,
        )
        .into_response();
    }
    match state.applier.confirm(token.as_deref()) {
        Ok(()) => Json(json!({ "confirmed": true })).into_response(),
        Err(e) => apply_error(&e, lang).into_response(),
    }
}

/// `POST /api/v1/config/apply/rollback`: reverts the pending change now.
pub async fn rollback(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let lang = request_lang(&headers);
    let applier = state.applier.clone();
    tokio::task::spawn_blocking(move || applier.rollback())
        .await
        .map_err(|e| AppError::internal(&e, lang))?
        .map_err(|e| apply_error(&e, lang))?;
    Ok(Json(json!({ "rolled_back": true })))
}

/// `GET /api/v1/config/apply/events`: the status as Server-Sent Events, on every change and
/// once a second while an apply is pending (so a countdown needs no clock of its own).
pub async fn events(State(state): State<AppState>) -> impl IntoResponse {
    let updates = state.applier.subscribe();
    let applier = state.applier.clone();
    live("apply", Some(updates), Duration::ZERO, move || {
        let status = apply_status(&applier.status());
        Some(Frame {
            tick: status.pending.then_some(Duration::from_secs(1)),
            value: status,
        })
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}
