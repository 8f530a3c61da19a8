//! `/pkg/*`: the hashed bundle (WASM, JS glue, CSS, icon) built by `cargo xtask build` for this
//! build (router or communities site), embedded as one gzip copy per file, and the translation
//! catalogs the router's islands fetch. A client that
//! accepts gzip (every browser) gets it as it is; any other gets it inflated on the fly.
//! A year-long immutable cache lifetime: names change with content.

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
        Some("ftl") => "text/plain; charset=utf-8",
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

/// A language's catalog, gzipped once (the router's islands fetch the page's language; the
/// binary carries each catalog once, as the server's renderer reads it).
fn catalog_gz(lang: app::i18n::Lang) -> std::borrow::Cow<'static, [u8]> {
    use std::io::Write as _;
    static GZ: [OnceLock<Vec<u8>>; app::i18n::Lang::ALL.len()] =
        [const { OnceLock::new() }; app::i18n::Lang::ALL.len()];
    std::borrow::Cow::Borrowed(GZ[lang.index()].get_or_init(|| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = gz.write_all(lang.source().as_bytes());
        gz.finish().unwrap_or_default()
    }))
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file.contains('/') || file.contains("..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let gz = if let Some(lang) = app::i18n::catalog_of_file(&file) {
        catalog_gz(lang)
    } else if let Some(embedded) = Site::get(&format!("pkg/{file}.gz")) {
        embedded.data
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let gzip = accepts(&headers, "gzip");
    let body = if gzip {
        Body::from(gz.into_owned())
    } else {
        match inflate(&gz) {
            Ok(raw) => Body::from(raw),
            Err(err) => {
                tracing::error!(file, %err, "an embedded asset does not inflate");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        }
    };
    let mut response = Response::new(body);
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
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// The file inside an embedded gzip copy.
fn inflate(gz: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut raw)?;
    Ok(raw)
}

/// `/favicon.ico`, which browsers ask for when a page names no icon (the portal's, other
/// sites' links): the embedded SVG icon.
pub async fn favicon(headers: HeaderMap) -> Response {
    let icon = manifest().icon;
    if icon.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut response = serve(Path(icon), headers).await;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
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
