//! The communities JSON API under `/api/v1/` (documented in `communities-openapi.json`).
//! Every series can be had as CSV with `format=csv`. Bad parameters are answered 400 with the
//! parameter's name in `field`, in the caller's language.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use app::i18n::Lang;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use communities::profile::Profile;
use communities::query::{NetworkMetric, Resolution, Series};
use communities::sqlite::Reader;
use communities::store::{Range, Read, StoreError};
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use crate::web::{AppError, request_lang};

/// The store the site reads: SQLite readers in `--data`, reused across requests (opening one
/// costs a file open and a parse of the schema), or MongoDB (the driver pools connections).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite {
        dir: PathBuf,
        idle: Arc<Mutex<Vec<Reader>>>,
    },
    #[cfg(feature = "mongodb")]
    Mongo(Arc<communities::mongo::MongoStore>),
}

impl Store {
    /// The SQLite store in a data directory.
    pub fn sqlite(dir: PathBuf) -> Store {
        Store {
            backend: Backend::Sqlite {
                dir,
                idle: Arc::default(),
            },
        }
    }

    /// A MongoDB store.
    #[cfg(feature = "mongodb")]
    pub fn mongo(store: communities::mongo::MongoStore) -> Store {
        Store {
            backend: Backend::Mongo(Arc::new(store)),
        }
    }

    /// Which store, for the log (never the URI: it may hold a password).
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Sqlite { dir, .. } => format!("SQLite in {}", dir.display()),
            #[cfg(feature = "mongodb")]
            Backend::Mongo(store) => format!("MongoDB database {}", store.database()),
        }
    }

    /// Runs a query here (for callers already off the async runtime, or queries of a few
    /// milliseconds).
    ///
    /// # Errors
    /// Store failures.
    pub fn blocking<T>(
        &self,
        f: impl FnOnce(&dyn Read) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite { dir, idle } => {
                let reader = match idle.lock().map(|mut idle| idle.pop()) {
                    Ok(Some(reader)) => reader,
                    _ => Reader::open(dir)?,
                };
                let result = f(&reader);
                if let Ok(mut idle) = idle.lock() {
                    idle.push(reader);
                }
                result
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(store) => off_runtime(|| f(store.as_ref())),
        }
    }

    /// Runs a query on a blocking thread with a pooled reader.
    pub(super) async fn query<T: Send + 'static>(
        &self,
        lang: Lang,
        f: impl FnOnce(&dyn Read) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, AppError> {
        let store = self.clone();
        let result = tokio::task::spawn_blocking(move || store.blocking(f)).await;
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(AppError::internal(&e, lang)),
            Err(e) => Err(AppError::internal(&e, lang)),
        }
    }
}

/// Runs `f`, which blocks on a runtime of its own (the MongoDB driver's sync calls): called
/// from a task on one of our multi-threaded runtimes (a server function), the worker first
/// steps aside, since a runtime cannot be blocked on from inside another.
#[cfg(feature = "mongodb")]
fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

type Params = Query<HashMap<String, String>>;

fn bad(name: &str, expected: &str, lang: Lang) -> AppError {
    let mut e = AppError::with_args(
        StatusCode::BAD_REQUEST,
        "bad_parameter",
        "communities-error-parameter",
        lang,
        &[("name", name.into())],
    )
    .with("details", json!({ "expected": expected }));
    e.field = Some(name.to_owned());
    e
}

fn unknown(key: &str, lang: Lang) -> AppError {
    let mut e = AppError::with_args(
        StatusCode::NOT_FOUND,
        "unknown_community",
        "communities-error-unknown",
        lang,
        &[("key", key.into())],
    );
    e.field = Some("key".into());
    e
}

/// RFC 3339, or a day `YYYY-MM-DD` (UTC) standing for its first or last second ([`DayEdge`]).
pub fn parse_time(text: &str, edge: DayEdge) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let start = time::Date::parse(text, day)
        .ok()?
        .midnight()
        .assume_utc()
        .unix_timestamp();
    Some(match edge {
        DayEdge::Start => start,
        DayEdge::End => start + 86_399,
    })
}

/// Which second of a day a bare `YYYY-MM-DD` stands for: the one rule for every date
/// parameter, in the API and on the pages. A day is the whole day (UTC): `from` starts at its
/// first second; `to` and `at` end at its last, so `at=2016-03-23` is the last snapshot of
/// that day and `to=2016-03-23` includes it. An RFC 3339 time is that instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayEdge {
    Start,
    End,
}

impl DayEdge {
    /// The edge for a parameter: `from` starts a day, everything else ends one.
    pub fn of(name: &str) -> DayEdge {
        if name == "from" {
            DayEdge::Start
        } else {
            DayEdge::End
        }
    }
}

fn time_param(params: &Params, name: &str, lang: Lang) -> Result<Option<i64>, AppError> {
    params
        .get(name)
        .filter(|v| !v.is_empty())
        .map(|v| {
            parse_time(v, DayEdge::of(name))
                .ok_or_else(|| bad(name, "RFC 3339 time or YYYY-MM-DD", lang))
        })
        .transpose()
}

/// `from`, `to` and `resolution`; without a resolution, the one that suits the span.
fn window(
    params: &Params,
    lang: Lang,
    extent: (Option<i64>, Option<i64>),
) -> Result<(Range, Resolution), AppError> {
    let from = time_param(params, "from", lang)?;
    let to = time_param(params, "to", lang)?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(bad("to", "a time after from", lang));
    }
    let range = Range {
        from: from.unwrap_or(i64::MIN),
        to: to.unwrap_or(i64::MAX),
    };
    let resolution = match params.get("resolution").map(String::as_str) {
        None | Some("") => {
            let first = from.or(extent.0).unwrap_or(0);
            let last = to.or(extent.1).unwrap_or(first);
            Resolution::for_span(last - first)
        }
        Some(r) => r
            .parse()
            .map_err(|()| bad("resolution", "hour, day or month", lang))?,
    };
    Ok((range, resolution))
}

fn wants_csv(params: &Params, lang: Lang) -> Result<bool, AppError> {
    match params.get("format").map(String::as_str) {
        None | Some("json" | "") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(bad("format", "json or csv", lang)),
    }
}

fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A CSV download (values are numbers and times we made, names are quoted).
fn csv(name: &str, header_row: &str, rows: impl Iterator<Item = String>) -> Response {
    let mut body = String::from(header_row);
    body.push('\n');
    for row in rows {
        body.push_str(&row);
        body.push('\n');
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn csv_text(s: &str) -> String {
    // Quoted, and a leading formula character defused (spreadsheets run `=…`).
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn value(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_default()
}

fn series_response(series: Series, name: &str, csv_wanted: bool) -> Response {
    if csv_wanted {
        return csv(
            name,
            &format!("time,{},stale", series.metric),
            series
                .points
                .iter()
                .map(|p| format!("{},{},{}", rfc3339(p.t), value(p.value), p.stale)),
        );
    }
    Json(series).into_response()
}

async fn extent(store: &Store, lang: Lang) -> Result<(Option<i64>, Option<i64>), AppError> {
    let (first, last, _) = store.query(lang, |r| r.span()).await?;
    Ok((first, last))
}

/// `GET /api/v1/communities`
pub(super) async fn list(
    State(store): State<Store>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    let csv_wanted = wants_csv(&params, lang)?;
    let list = store.query(lang, |r| r.communities()).await?;
    if csv_wanted {
        return Ok(csv(
            "communities",
            "key,name,nodes,stale,routing,lat,lon,city,country,api,first_seen,last_seen",
            list.iter().map(|c| {
                format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{}",
                    csv_text(&c.key),
                    csv_text(&c.name),
                    c.nodes.map(|n| n.to_string()).unwrap_or_default(),
                    c.stale,
                    csv_text(&c.routing.join(" ")),
                    c.lat.map(|v| v.to_string()).unwrap_or_default(),
                    c.lon.map(|v| v.to_string()).unwrap_or_default(),
                    csv_text(c.city.as_deref().unwrap_or_default()),
                    csv_text(c.country.as_deref().unwrap_or_default()),
                    csv_text(c.api.as_deref().unwrap_or_default()),
                    rfc3339(c.first_seen),
                    rfc3339(c.last_seen),
                )
            }),
        ));
    }
    Ok(Json(json!({ "communities": list })).into_response())
}

/// `GET /api/v1/communities/{key}`
pub(super) async fn community(
    State(store): State<Store>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    let k = key.clone();
    match store.query(lang, move |r| r.community(&k)).await? {
        Some(detail) => Ok(Json(detail).into_response()),
        None => Err(unknown(&key, lang)),
    }
}

/// `GET /api/v1/communities/{key}/entry?at=RFC3339`: the community's entry at the latest
/// snapshot at or before `at` (default: its latest), every field as published.
pub(super) async fn entry(
    State(store): State<Store>,
    headers: HeaderMap,
    Path(key): Path<String>,
    params: Params,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    let at = time_param(&params, "at", lang)?.unwrap_or(i64::MAX);
    let k = key.clone();
    let Some((snapshot, entry)) = store.query(lang, move |r| r.entry_at(&k, at)).await? else {
        let k = key.clone();
        return Err(match store.query(lang, move |r| r.community(&k)).await? {
            Some(_) => bad(
                "at",
                "a time at or after the community's first snapshot",
                lang,
            ),
            None => unknown(&key, lang),
        });
    };
    Ok(Json(json!({ "snapshot": snapshot, "entry": entry })).into_response())
}

/// `GET /api/v1/communities/{key}/series?metric=nodes&from=&to=&resolution=`
pub(super) async fn community_series(
    State(store): State<Store>,
    headers: HeaderMap,
    Path(key): Path<String>,
    params: Params,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    let csv_wanted = wants_csv(&params, lang)?;
    if params.get("metric").is_some_and(|m| m != "nodes") {
        return Err(bad("metric", "nodes", lang));
    }
    let (range, res) = window(&params, lang, extent(&store, lang).await?)?;
    let k = key.clone();
    match store
        .query(lang, move |r| r.community_series(&k, range, res))
        .await?
    {
        Some(series) => Ok(series_response(series, &format!("{key}-nodes"), csv_wanted)),
        None => Err(unknown(&key, lang)),
    }
}

/// `GET /api/v1/network/series?metric=nodes|nodes_with_stale|communities|stale_communities&…`
pub(super) async fn network_series(
    State(store): State<Store>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    let csv_wanted = wants_csv(&params, lang)?;
    let metric: NetworkMetric = match params.get("metric").map(String::as_str) {
        None | Some("") => NetworkMetric::Nodes,
        Some(m) => m.parse().map_err(|()| {
            bad(
                "metric",
                "nodes, nodes_with_stale, communities or stale_communities",
                lang,
            )
        })?,
    };
    let (range, res) = window(&params, lang, extent(&store, lang).await?)?;
    let series = store
        .query(lang, move |r| r.network_series(metric, range, res))
        .await?;
    Ok(series_response(
        series,
        &format!("network-{}", metric.as_str()),
        csv_wanted,
    ))
}

/// `GET /api/v1/top?metric=nodes&at=RFC3339&n=10`
pub(super) async fn top(
    State(store): State<Store>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    let csv_wanted = wants_csv(&params, lang)?;
    if params.get("metric").is_some_and(|m| m != "nodes") {
        return Err(bad("metric", "nodes", lang));
    }
    let at = time_param(&params, "at", lang)?.unwrap_or(i64::MAX);
    let n = match params.get("n") {
        None => 10,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| bad("n", "a whole number from 1 to 100", lang))?,
    };
    let Some(top) = store.query(lang, move |r| r.top(at, n)).await? else {
        return Err(bad("at", "a time at or after the first snapshot", lang));
    };
    if csv_wanted {
        return Ok(csv(
            "top",
            "snapshot,rank,key,name,nodes,stale",
            top.communities.iter().enumerate().map(|(i, c)| {
                format!(
                    "{},{},{},{},{},{}",
                    rfc3339(top.snapshot),
                    i + 1,
                    csv_text(&c.key),
                    csv_text(&c.name),
                    c.nodes,
                    c.stale
                )
            }),
        ));
    }
    Ok(Json(top).into_response())
}

/// `GET /api/v1/routing/series?from=&to=&resolution=`
pub(super) async fn routing_series(
    State(store): State<Store>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, AppError> {
    let lang = request_lang(&headers);
    let csv_wanted = wants_csv(&params, lang)?;
    let (range, res) = window(&params, lang, extent(&store, lang).await?)?;
    let series = store
        .query(lang, move |r| r.routing_series(range, res))
        .await?;
    if csv_wanted {
        let names: Vec<String> = series
            .protocols
            .iter()
            .map(|p| csv_text(&p.protocol))
            .collect();
        return Ok(csv(
            "routing",
            &format!("time,{}", names.join(",")),
            series.t.iter().enumerate().map(|(i, t)| {
                let values: Vec<String> = series
                    .protocols
                    .iter()
                    .map(|p| format!("{:.3}", p.values[i]))
                    .collect();
                format!("{},{}", rfc3339(*t), values.join(","))
            }),
        ));
    }
    Ok(Json(series).into_response())
}

type ProfileQuery = fn(&dyn Read, Option<&str>, Range) -> Result<Option<Profile>, StoreError>;

async fn profile(
    store: Store,
    headers: &HeaderMap,
    params: &Params,
    name: &str,
    labels: &[&str],
    query: ProfileQuery,
) -> Result<Response, AppError> {
    let lang = request_lang(headers);
    let csv_wanted = wants_csv(params, lang)?;
    let (range, _) = window(params, lang, (None, None))?;
    let community = params.get("community").filter(|c| !c.is_empty()).cloned();
    let c = community.clone();
    let Some(profile) = store
        .query(lang, move |r| query(r, c.as_deref(), range))
        .await?
    else {
        return Err(unknown(community.as_deref().unwrap_or_default(), lang));
    };
    if csv_wanted {
        let (slot, samples) = if labels.len() == 24 {
            ("hour_utc", "days")
        } else {
            ("weekday", "weeks")
        };
        return Ok(csv(
            name,
            &format!("{slot},relative_to_mean,{samples}"),
            profile
                .values
                .iter()
                .zip(&profile.samples)
                .zip(labels)
                .map(|((v, n), l)| format!("{l},{},{n}", value(*v))),
        ));
    }
    Ok(Json(profile).into_response())
}

const HOURS: [&str; 24] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23",
];
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// `GET /api/v1/hours-of-day?community=&from=&to=`
pub(super) async fn hours_of_day(
    State(store): State<Store>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, AppError> {
    profile(
        store,
        &headers,
        &params,
        "hours-of-day",
        &HOURS,
        |r, c, range| r.hours_of_day(c, range),
    )
    .await
}

/// `GET /api/v1/weekdays?community=&from=&to=`
pub(super) async fn weekdays(
    State(store): State<Store>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, AppError> {
    profile(
        store,
        &headers,
        &params,
        "weekdays",
        &WEEKDAYS,
        |r, c, range| r.weekdays(c, range),
    )
    .await
}

/// `GET /api/v1/openapi.json`
pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

#[cfg(all(test, feature = "mongodb"))]
mod tests {
    /// The driver's sync calls from inside a server function: without stepping aside, its
    /// `block_on` panics ("Cannot start a runtime from within a runtime"). No server here:
    /// connecting to a closed loopback port has to come back as an error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_mongodb_driver_can_be_called_from_a_task() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let uri = format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=100");
        let result = tokio::spawn(async move {
            super::off_runtime(|| communities::mongo::MongoStore::open(&uri).map(drop))
        })
        .await
        .expect("no panic");
        assert!(result.is_err());
    }
}
