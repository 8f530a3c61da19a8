//! The communities pages' data: what each page shows is computed here from the request's
//! query (so every control works without JavaScript), handed to the app in
//! [`PageContext::communities`], and served to hydrated pages through server functions.
//! `/embed/<chart>.svg` renders the same chart components to a standalone SVG.

use std::collections::HashMap;

use app::PageContext;
use app::communities::{
    CommunitiesSource, CommunityView, Down, EmbedView, Overview, SitePage, SiteView, Window,
};
use app::i18n::Lang;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use communities::profile::Profile;
use communities::query::{NetworkMetric, RoutingSeries, Series, Top};
use communities::store::{Range, Read, StoreError};
use http::{HeaderValue, StatusCode, header};

use super::api::{DayEdge, Store, parse_time};
use crate::web::request_lang;

impl CommunitiesSource for Store {
    fn network_series(&self, metric: NetworkMetric, window: Window) -> Result<Series, String> {
        self.blocking(|r| r.network_series(metric, range(window), window.resolution()))
            .map_err(|e| e.to_string())
    }

    fn routing_series(&self, window: Window) -> Result<RoutingSeries, String> {
        self.blocking(|r| r.routing_series(range(window), window.resolution()))
            .map_err(|e| e.to_string())
    }

    fn top(&self, at: i64) -> Result<Option<Top>, String> {
        self.blocking(|r| r.top(at, 10)).map_err(|e| e.to_string())
    }

    fn community_series(&self, key: &str, window: Window) -> Result<Option<Series>, String> {
        self.blocking(|r| r.community_series(key, range(window), window.resolution()))
            .map_err(|e| e.to_string())
    }
}

fn range(w: Window) -> Range {
    Range {
        from: w.from,
        to: w.to,
    }
}

type Query = HashMap<String, String>;

/// A time from a form (Unix seconds from our own hidden fields) or a person (RFC 3339, a day).
fn time(query: &Query, name: &str) -> Option<i64> {
    let text = query.get(name)?;
    text.parse()
        .ok()
        .or_else(|| parse_time(text, DayEdge::of(name)))
}

/// The window the query asks for: from/to, then a named period, then a zoom step.
fn window(query: &Query, first: i64, last: i64) -> Window {
    let mut w = Window {
        from: time(query, "from").unwrap_or(first).clamp(first, last),
        to: time(query, "to").unwrap_or(last).clamp(first, last),
        resolution: None,
    };
    if w.from > w.to {
        w = Window {
            from: first,
            to: last,
            resolution: None,
        };
    }
    if let Some(p) = query
        .get("period")
        .and_then(|p| Window::period(p, first, last))
    {
        w = p;
    }
    match query.get("zoom").map(String::as_str) {
        Some("in") => w = w.zoom(1, None, first, last),
        Some("out") => w = w.zoom(-1, None, first, last),
        _ => {}
    }
    w.resolution = query.get("resolution").and_then(|r| r.parse().ok());
    w
}

fn metric(query: &Query) -> NetworkMetric {
    query
        .get("metric")
        .and_then(|m| m.parse().ok())
        .unwrap_or(NetworkMetric::Nodes)
}

/// The top list's `at`: a day picked in its form is the end of that day, as in the API.
fn top_at(query: &Query) -> Option<i64> {
    time(query, "at")
}

/// The page data for a path; `None` when the path is not a communities page.
///
/// # Errors
/// Store failures.
pub fn site_view(
    r: &dyn Read,
    path: &str,
    query: &Query,
    origin: String,
) -> Result<Option<SiteView>, StoreError> {
    let (first, last, communities) = r.span()?;
    let (first, last) = (first.unwrap_or(0), last.unwrap_or(0));
    let page = if path == "/" {
        let w = window(query, first, last);
        let m = metric(query);
        let at = top_at(query);
        let communities = r.communities()?;
        let mut down = Vec::new();
        for c in communities.iter().filter(|c| c.stale) {
            if let Some(since) = r.down_since(c)? {
                down.push(Down {
                    key: c.key.clone(),
                    name: c.name.clone(),
                    since,
                });
            }
        }
        down.sort_by_key(|d| d.since);
        SitePage::Overview(Box::new(Overview {
            window: w,
            metric: m,
            growth: r.network_series(m, range(w), w.resolution())?,
            routing: r.routing_series(range(w), w.resolution())?,
            top: r.top(at.unwrap_or(last), 10)?,
            top_at: at,
            communities,
            down,
            hours: r
                .hours_of_day(None, Range::ALL)?
                .unwrap_or_else(|| Profile::empty(None, 24)),
            weekdays: r
                .weekdays(None, Range::ALL)?
                .unwrap_or_else(|| Profile::empty(None, 7)),
        }))
    } else if let Some(key) = path.strip_prefix("/community/") {
        community_page(r, key, query, first, last)?
    } else if let Some(name) = path.strip_prefix("/embed/") {
        embed(r, name, query, first, last)?
            .map_or(SitePage::Missing, |e| SitePage::Embed(Box::new(e)))
    } else {
        return Ok(None);
    };
    Ok(Some(SiteView {
        origin,
        first,
        last,
        communities,
        page,
    }))
}

fn community_page(
    r: &dyn Read,
    key: &str,
    query: &Query,
    first: i64,
    last: i64,
) -> Result<SitePage, StoreError> {
    let Some(detail) = r.community(key)? else {
        return Ok(SitePage::Missing);
    };
    let (first, last) = (
        first.max(detail.summary.first_seen),
        last.min(detail.summary.last_seen).max(first),
    );
    let w = window(query, first, last);
    let series = r
        .community_series(key, range(w), w.resolution())?
        .unwrap_or_else(|| Series {
            metric: "nodes".into(),
            resolution: w.resolution(),
            points: Vec::new(),
        });
    let hours = r
        .hours_of_day(Some(key), Range::ALL)?
        .unwrap_or_else(|| Profile::empty(None, 24));
    let url = detail
        .latest
        .get("url")
        .and_then(|u| u.as_str())
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_owned);
    let down_since = r.down_since(&detail.summary)?;
    // The collector's error, for people: one line, not a page of it.
    let fetch_error = detail
        .latest
        .get("error")
        .and_then(|e| e.as_str())
        .map(|e| {
            e.lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect()
        });
    Ok(SitePage::Community(Box::new(CommunityView {
        down_since,
        fetch_error,
        summary: detail.summary,
        snapshots: detail.snapshots,
        stale_snapshots: detail.stale_snapshots,
        last_count: detail.last_count,
        url,
        window: w,
        series,
        hours,
    })))
}

fn embed(
    r: &dyn Read,
    name: &str,
    query: &Query,
    first: i64,
    last: i64,
) -> Result<Option<EmbedView>, StoreError> {
    let w = window(query, first, last);
    Ok(Some(match name {
        "growth" => {
            let metric = metric(query);
            EmbedView::Growth {
                window: w,
                metric,
                series: r.network_series(metric, range(w), w.resolution())?,
            }
        }
        "routing" => EmbedView::Routing {
            window: w,
            series: r.routing_series(range(w), w.resolution())?,
        },
        "top" => EmbedView::Top {
            top: r.top(top_at(query).unwrap_or(last), 10)?,
        },
        "map" => EmbedView::Map {
            communities: r.communities()?,
        },
        "hours" => EmbedView::Hours {
            profile: r
                .hours_of_day(query.get("community").map(String::as_str), Range::ALL)?
                .unwrap_or_else(|| Profile::empty(None, 24)),
        },
        "community" => {
            let Some(key) = query.get("key") else {
                return Ok(None);
            };
            let Some(detail) = r.community(key)? else {
                return Ok(None);
            };
            let Some(series) = r.community_series(key, range(w), w.resolution())? else {
                return Ok(None);
            };
            EmbedView::Community {
                summary: detail.summary,
                window: w,
                series,
            }
        }
        _ => return Ok(None),
    }))
}

fn query_of(req: &Request) -> Query {
    req.uri()
        .query()
        .and_then(|q| {
            axum::extract::Query::<Query>::try_from_uri(&format!("/?{q}").parse().ok()?).ok()
        })
        .map(|q| q.0)
        .unwrap_or_default()
}

/// The origin the browser used (for embed codes): the Host header when it is a plausible
/// host name (letters, digits, dots, dashes, brackets, colon), https when a proxy says so.
fn origin(headers: &http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes() == b"https");
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// Puts the page's data (and language, asset names) into the request before the app renders
/// it; answers `/embed/<chart>.svg` itself; lets embed pages be framed anywhere.
pub async fn page_context(State(store): State<Store>, mut req: Request, next: Next) -> Response {
    let lang = request_lang(req.headers());
    let path = req.uri().path().to_owned();
    let query = query_of(&req);
    let origin = origin(req.headers());
    if let Some(name) = path
        .strip_prefix("/embed/")
        .and_then(|p| p.strip_suffix(".svg"))
    {
        let name = format!("/embed/{name}");
        return match store
            .query(lang, move |r| site_view(r, &name, &query, origin))
            .await
        {
            Ok(Some(SiteView {
                page: SitePage::Embed(embed),
                ..
            })) => svg_response(&embed, lang),
            Ok(_) => StatusCode::NOT_FOUND.into_response(),
            Err(e) => e.into_response(),
        };
    }
    let is_page = path == "/" || path.starts_with("/community/") || path.starts_with("/embed/");
    let mut page = PageContext {
        lang,
        ..PageContext::default()
    };
    if is_page && req.method() == http::Method::GET {
        let p = path.clone();
        match store
            .query(lang, move |r| site_view(r, &p, &query, origin))
            .await
        {
            Ok(view) => page.communities = view,
            Err(e) => return e.into_response(),
        }
    }
    let missing = matches!(
        page.communities,
        Some(SiteView {
            page: SitePage::Missing,
            ..
        })
    );
    req.extensions_mut().insert(page);
    // This build's bundle has the communities pages (xtask: the communities site folder).
    req.extensions_mut().insert(crate::web::assets::manifest());
    let mut response = next.run(req).await;
    if missing {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    if path.starts_with("/embed/") {
        // Embeds are meant to be framed by other sites.
        let csp = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.replace("frame-ancestors 'none'", "frame-ancestors *"));
        if let Some(csp) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    response
}

/// A chart as a standalone SVG document (styles inside, no script, no external reference).
fn svg_response(embed: &EmbedView, lang: Lang) -> Response {
    let svg = app::communities::render_svg(embed, lang);
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *",
            ),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        svg,
    )
        .into_response()
}
