//! The one error type at the HTTP edge: a status, a stable code, and a message in the
//! caller's language, as `{"error": {"code", "message", ...}}` (design.md, Errors).

use app::i18n::Lang;
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

/// An error answered to an API or server-function caller.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Extra members of the error object (config parse errors add `file`, `line`, `byte`,
    /// `details`); boxed so that `Result<_, AppError>` stays small.
    pub extra: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl AppError {
    /// An error whose message is the catalog entry `key` in `lang`.
    pub fn new(status: StatusCode, code: &'static str, key: &str, lang: Lang) -> AppError {
        AppError {
            status,
            code,
            message: lang.tr(key),
            field: None,
            extra: None,
        }
    }

    /// Adds a member to the error object.
    #[must_use]
    pub fn with(mut self, key: &str, value: serde_json::Value) -> AppError {
        self.extra
            .get_or_insert_default()
            .insert(key.to_owned(), value);
        self
    }

    /// An error whose message has Fluent arguments.
    pub fn with_args(
        status: StatusCode,
        code: &'static str,
        key: &str,
        lang: Lang,
        args: &[(&str, fluent_bundle::FluentValue<'_>)],
    ) -> AppError {
        AppError {
            message: lang.tr_args(key, args),
            ..AppError::new(status, code, key, lang)
        }
    }

    /// An internal failure: logged here, shown as a generic message.
    pub fn internal(cause: &dyn std::fmt::Display, lang: Lang) -> AppError {
        tracing::error!(%cause, "request failed");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "error-internal",
            lang,
        )
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        for (key, value) in self.extra.map(|e| *e).unwrap_or_default() {
            error[key] = value;
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// Unknown `/api/…` paths: a JSON 404, never the app's page.
pub async fn api_not_found(headers: http::HeaderMap) -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "error-not-found",
        super::lang::request_lang(&headers),
    )
}
