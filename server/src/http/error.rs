//! Capability errors as the edge answers them: a broken router file names itself (file, line,
//! byte, in the user's language and as JSON members); anything else is an internal error.

use app::i18n::Lang;
use fluent_bundle::FluentValue;
use http::StatusCode;

use crate::platform;
use crate::web::AppError;
use crate::wizard::session;

/// A platform error: a broken UCI file says which and where.
pub fn platform(error: &platform::Error, lang: Lang) -> AppError {
    let platform::Error::Config { path, source } = error else {
        return AppError::internal(error, lang);
    };
    tracing::error!(%error, "a router settings file is broken");
    let (line, byte) = match source {
        uci::store::LoadError::Parse(e) => (e.line, e.byte),
        _ => (0, 0),
    };
    let file = path.display().to_string();
    AppError::with_args(
        StatusCode::INTERNAL_SERVER_ERROR,
        "config_broken",
        "error-config-broken",
        lang,
        &[
            ("file", FluentValue::from(file.as_str())),
            ("line", FluentValue::from(line)),
            ("byte", FluentValue::from(byte)),
        ],
    )
    .with("file", file.into())
    .with("line", line.into())
    .with("byte", byte.into())
}

/// A wizard error.
pub fn wizard(error: &session::Error, lang: Lang) -> AppError {
    match error {
        session::Error::Platform(e) => platform(e, lang),
        other => AppError::internal(other, lang),
    }
}

/// A capability this Portico does not run (no observer, no offload, no radio): a JSON 404.
pub fn not_here(headers: &http::HeaderMap) -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "error-not-found",
        crate::web::request_lang(headers),
    )
}
