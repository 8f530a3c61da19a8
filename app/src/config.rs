//! Router configuration for the app: the server functions behind every settings page (read a
//! config file, preview a change as a diff, apply it checked or unchecked, confirm, roll back,
//! the pending apply's status) and the overview's list of config files with their errors.
//!
//! The same operations exist as `/api/v1/config/...` for scripts; both go through the server's
//! one apply manager.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ApplyStatus;

/// A config file that does not parse, as the UI reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseProblem {
    pub line: usize,
    pub byte: usize,
    /// uci's reason text (`EOF with unterminated '`).
    pub reason: String,
}

/// One file under `/etc/config`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    pub name: String,
    /// Number of sections when it parses.
    pub sections: Option<usize>,
    pub problem: Option<ParseProblem>,
}

/// A config value in an edit: one string, or the items of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EditValue {
    Text(String),
    Number(i64),
    List(Vec<String>),
}

/// One edit, addressed as uci addresses things (`network.lan.ipaddr`, `firewall.@rule[0]`).
/// `op`: `set`, `delete`, `add_list`, `del_list`, `rename`, `reorder`, `add`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEdit {
    pub op: String,
    pub path: String,
    #[serde(default)]
    pub value: Option<EditValue>,
}

/// A refused operation: a stable code and a message in the caller's language; config parse
/// errors carry the file, line and byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    /// Where a config file fails to parse.
    pub location: Option<Box<Location>>,
}

/// A place in a config file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub byte: usize,
}

/// What an apply returns: the confirm token (checked applies), the window, the files written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub token: Option<String>,
    pub seconds: u64,
    pub files: Vec<String>,
}

/// A section of a config file, values as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionView {
    pub name: String,
    pub kind: String,
    pub anonymous: bool,
    pub options: Vec<(String, EditValue)>,
}

/// The server side of these functions; the server puts an implementation into the context.
#[cfg(feature = "ssr")]
#[allow(
    clippy::missing_errors_doc,
    reason = "every method refuses with a ConfigError, whose code and message say why"
)]
pub trait ConfigSource: Send + Sync {
    fn files(&self) -> Vec<ConfigFile>;
    fn read(&self, name: &str, lang: crate::i18n::Lang) -> Result<Vec<SectionView>, ConfigError>;
    fn preview(
        &self,
        edits: Vec<ConfigEdit>,
        lang: crate::i18n::Lang,
    ) -> Result<String, ConfigError>;
    fn apply(
        &self,
        edits: Vec<ConfigEdit>,
        checked: bool,
        lang: crate::i18n::Lang,
    ) -> Result<Applied, ConfigError>;
    fn confirm(&self, lang: crate::i18n::Lang) -> Result<(), ConfigError>;
    fn rollback(&self, lang: crate::i18n::Lang) -> Result<(), ConfigError>;
    fn status(&self) -> ApplyStatus;
}

#[cfg(feature = "ssr")]
fn source() -> Result<std::sync::Arc<dyn ConfigSource>, ServerFnError> {
    use_context::<std::sync::Arc<dyn ConfigSource>>()
        .ok_or_else(|| ServerFnError::new("config source missing"))
}

#[cfg(feature = "ssr")]
use crate::request_lang;

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The config files and whether each parses (login required, enforced by the server).
#[server(prefix = "/api/fn", endpoint = "config_files")]
pub async fn config_files() -> Result<Vec<ConfigFile>, ServerFnError> {
    Ok(source()?.files())
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// One config file's sections.
#[server(prefix = "/api/fn", endpoint = "read_config")]
pub async fn read_config(
    name: String,
) -> Result<Result<Vec<SectionView>, ConfigError>, ServerFnError> {
    Ok(source()?.read(&name, request_lang()))
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The unified diff the edits would make.
#[server(prefix = "/api/fn", endpoint = "preview_config")]
pub async fn preview_config(
    edits: Vec<ConfigEdit>,
) -> Result<Result<String, ConfigError>, ServerFnError> {
    Ok(source()?.preview(edits, request_lang()))
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// Applies the edits, checked (rolled back unless confirmed) or at once.
#[server(prefix = "/api/fn", endpoint = "apply_config")]
pub async fn apply_config(
    edits: Vec<ConfigEdit>,
    checked: bool,
) -> Result<Result<Applied, ConfigError>, ServerFnError> {
    // Writing a few small files with fsync takes milliseconds: done inline.
    Ok(source()?.apply(edits, checked, request_lang()))
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// Keeps the pending change (the session authorises it).
#[server(prefix = "/api/fn", endpoint = "confirm_apply")]
pub async fn confirm_apply() -> Result<Result<(), ConfigError>, ServerFnError> {
    Ok(source()?.confirm(request_lang()))
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// Reverts the pending change now.
#[server(prefix = "/api/fn", endpoint = "rollback_apply")]
pub async fn rollback_apply() -> Result<Result<(), ConfigError>, ServerFnError> {
    Ok(source()?.rollback(request_lang()))
}

#[allow(
    clippy::unused_async,
    reason = "server functions are async by contract"
)]
/// The pending apply, with seconds left.
#[server(prefix = "/api/fn", endpoint = "apply_status")]
pub async fn load_apply_status() -> Result<ApplyStatus, ServerFnError> {
    Ok(source()?.status())
}
