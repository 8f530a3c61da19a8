//! The log page's HTTP side: its data (through `http::sources`) and its live stream
//! (`GET /api/v1/log/events?q=&level=`, a `log` event whenever Portico's own log grows, or
//! every five seconds for the system log).

use std::time::Duration;

use app::i18n::Lang;
use app::log::{LogLine, LogView};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;

use super::AppState;
use crate::journal;
use crate::web::live::{Frame, live};
use crate::web::request_lang;

/// Lines shown at most (the newest).
const SHOWN: usize = 300;

fn get<'a>(query: &'a [(String, String)], name: &str) -> &'a str {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The log for a filter: `q` (every word, any case) and `level` (`warn`: warnings and errors,
/// `error`: errors only).
pub fn view(state: &AppState, query: &[(String, String)], lang: Lang) -> LogView {
    let (system, read) = match state.platform.system_log() {
        Some(read) => (true, read),
        None => (false, Ok(journal::journal().lines())),
    };
    let (lines, problem) = match read {
        Ok(lines) => (lines, None),
        Err(e) => {
            tracing::warn!(%e, "the system log cannot be read");
            (Vec::new(), Some(lang.tr("log-unreadable")))
        }
    };
    let words: Vec<String> = get(query, "q")
        .split_whitespace()
        .take(8)
        .map(str::to_lowercase)
        .collect();
    let wanted = |level: &str| match get(query, "level") {
        "warn" => level == "warn" || level == "error",
        "error" => level == "error",
        _ => true,
    };
    let matching: Vec<LogLine> = lines
        .into_iter()
        .filter(|line| {
            let lower = line.to_lowercase();
            words.iter().all(|w| lower.contains(w.as_str()))
        })
        .map(|text| LogLine {
            level: journal::level(&text).into(),
            text,
        })
        .filter(|l| wanted(&l.level))
        .collect();
    let count = matching.len();
    LogView {
        system,
        lines: matching[count.saturating_sub(SHOWN)..].to_vec(),
        matching: count,
        problem,
    }
}

/// `GET /api/v1/log/events`.
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> impl IntoResponse {
    let lang = request_lang(&headers);
    let own = state.platform.system_log().is_none();
    let changes = own.then(|| journal::journal().subscribe());
    let tick = (!own).then_some(Duration::from_secs(5));
    live("log", changes, Duration::from_millis(500), move || {
        Some(Frame {
            value: view(&state, &query, lang),
            tick,
        })
    })
}
