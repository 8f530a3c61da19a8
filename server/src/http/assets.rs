//! `/pkg/*`: the hashed, pre-compressed bundle (WASM, JS glue, CSS) built by `cargo xtask
//! build`, embedded in release builds. Each file is served as brotli or gzip when the client
//! accepts it, with a year-long immutable cache lifetime (names change with content).

use std::sync::OnceLock;

use app::AssetNames;
use axum::body::Body;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$PORTICO_SITE_DIR"]
struct Site;

/// The bundle's file names, from `manifest.json` (empty when no bundle was built).
pub fn manifest() -> AssetNames {
    static MANIFEST: OnceLock<AssetNames> = OnceLock::new();
    MANIFEST
        .get_or_init(|| {
            Site::get("manifest.json")
                .and_then(|f| serde_json::from_slice(&f.data).ok())
                .unwrap_or_default()
        })
        .clone()
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("wasm") => "application/wasm",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Whether `Accept-Encoding` lists `coding` with a non-zero quality.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            parts
                .next()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case(coding))
                && !parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"))
        })
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file.contains('/') || file.contains("..") || file == "manifest.json" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut chosen = None;
    for (coding, suffix) in [("br", ".br"), ("gzip", ".gz")] {
        if accepts(&headers, coding)
            && let Some(f) = Site::get(&format!("pkg/{file}{suffix}"))
        {
            chosen = Some((f, Some(coding)));
            break;
        }
    }
    let Some((data, coding)) =
        chosen.or_else(|| Site::get(&format!("pkg/{file}")).map(|f| (f, None)))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = Response::new(Body::from(data.data.into_owned()));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(coding) = coding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_encoding_parsing() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::ACCEPT_ENCODING,
            "gzip, deflate, br;q=0".parse().unwrap(),
        );
        assert!(super::accepts(&h, "gzip"));
        assert!(!super::accepts(&h, "br"));
    }
}
