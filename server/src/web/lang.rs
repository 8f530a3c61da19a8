//! The page language: the switcher's cookie, else `Accept-Language`, else English; and the
//! switcher's form endpoint.

use app::i18n::Lang;
use axum::Form;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;

/// The language cookie set by the switcher.
pub const LANG_COOKIE: &str = "portico_lang";

/// The caller's language: the switcher's cookie, else `Accept-Language`, else English.
pub fn request_lang(headers: &HeaderMap) -> Lang {
    CookieJar::from_headers(headers)
        .get(LANG_COOKIE)
        .and_then(|c| Lang::from_code(c.value()))
        .unwrap_or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map_or(Lang::En, Lang::negotiate)
        })
}

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    #[serde(default)]
    next: String,
}

/// POST /lang: remembers the chosen language and returns to the page it came from.
pub async fn set_language(jar: CookieJar, Form(form): Form<LanguageForm>) -> Response {
    let Some(lang) = Lang::from_code(&form.lang) else {
        return (StatusCode::BAD_REQUEST, "unknown language").into_response();
    };
    let next = super::local_path(&form.next).unwrap_or("/");
    (jar.add(cookie(lang)), Redirect::to(next)).into_response()
}

/// The cookie remembering `lang` for a year.
pub fn cookie(lang: Lang) -> Cookie<'static> {
    Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .same_site(SameSite::Strict)
        .max_age(time::Duration::days(365))
        .build()
}
