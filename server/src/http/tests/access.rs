//! Who may reach what: health, first boot from the LAN only, login and its rate limit,
//! sessions among other cookies, cross-origin protection, languages, security headers, the
//! embedded assets, JSON errors for unknown API paths.

use super::*;

#[tokio::test]
async fn healthz_answers_without_login() {
    let f = fixture(false);
    let resp = send(&f, get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(resp).await, "ok\n");
}

#[tokio::test]
async fn before_setup_every_page_leads_to_setup() {
    let f = fixture(true);
    for path in ["/", "/portal", "/login"] {
        let resp = send(&f, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&resp), "/setup");
    }
    let wizard = start_wizard(&f).await;
    let resp = send(
        &f,
        get("/setup/language")
            .header(header::COOKIE, &wizard)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = body(resp).await;
    assert!(
        html.contains("action=\"/setup/language\""),
        "the wizard is shown on the LAN side"
    );
    let resp = send(
        &f,
        Request::post("/api/fn/overview")
            .header(header::HOST, "router")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["error"]["code"], "setup_required");
}

#[tokio::test]
async fn first_boot_setup_is_refused_off_the_lan() {
    let f = fixture(false);
    let html = body(send(&f, get("/setup/system").body(Body::empty()).unwrap()).await).await;
    assert!(html.contains("only possible from the local network"));
    assert!(!html.contains("action=\"/setup/system\""));
    let resp = send(&f, form("/setup/summary", "action=apply")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // The page's data through its server function: refused too, and no wizard is started.
    let resp = send(&f, form("/api/fn/wizard_view", "step=system")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get(header::SET_COOKIE).is_none());
    assert!(
        body(resp)
            .await
            .contains("only possible from the local network")
    );
    assert!(f.state.auth.setup_needed().unwrap(), "no password was set");
}

#[tokio::test]
async fn login_logout_and_one_generic_failure_message() {
    let f = fixture(true);
    set_up(&f).await;
    let resp = send(&f, get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(location(&resp), "/login");
    for body_text in [
        "user=root&password=wrong",
        "user=nobody&password=Correct-Horse-Battery-9",
    ] {
        let resp = send(&f, form("/login", body_text)).await;
        assert_eq!(location(&resp), "/login?error=failed", "{body_text}");
        assert!(resp.headers().get(header::SET_COOKIE).is_none());
    }
    let html = body(send(&f, get("/login?error=failed").body(Body::empty()).unwrap()).await).await;
    assert!(html.contains("Wrong user name or password."));
    let resp = send(
        &f,
        form("/login", "user=root&password=Correct-Horse-Battery-9"),
    )
    .await;
    assert_eq!(location(&resp), "/");
    let cookie = session_cookie(&resp);
    let html = body(
        send(
            &f,
            get("/")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(
        html.contains("Overview") && html.contains("Portico version"),
        "{html}"
    );
    assert!(html.contains(env!("CARGO_PKG_VERSION")));
    let resp = send(&f, {
        let mut r = form("/logout", "");
        r.headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        r
    })
    .await;
    assert_eq!(location(&resp), "/login");
    let resp = send(
        &f,
        get("/")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        location(&resp),
        "/login?error=expired",
        "the old cookie no longer works"
    );
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_per_client() {
    let f = fixture(true);
    set_up(&f).await;
    let mut last = String::new();
    for _ in 0..=crate::auth::LoginLimiter::FREE_ATTEMPTS {
        last = location(&send(&f, form("/login", "user=root&password=wrong")).await).to_owned();
    }
    assert!(last.starts_with("/login?error=rate&wait="), "{last}");
    // Even the right password waits now.
    let resp = send(
        &f,
        form("/login", "user=root&password=Correct-Horse-Battery-9"),
    )
    .await;
    assert!(location(&resp).starts_with("/login?error=rate"));
    let html = body(
        send(
            &f,
            get("/login?error=rate&wait=2").body(Body::empty()).unwrap(),
        )
        .await,
    )
    .await;
    assert!(html.contains("Try again in 2 seconds."));
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let f = fixture(true);
    let mut req = form("/setup/system", "password=x&password_repeat=x&action=next");
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    let resp = send(&f, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["error"]["code"], "cross_origin");
    let mut req = form("/login", "user=root&password=x");
    req.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    req.headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "de".parse().unwrap());
    let resp = send(&f, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        body(resp).await.contains("anderen Website"),
        "the error is in the caller's language"
    );
    assert!(f.state.auth.setup_needed().unwrap());
}

#[tokio::test]
async fn language_from_header_cookie_and_switcher() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let page = |lang_header: &str, extra_cookie: &str| {
        get("/offload")
            .header(header::COOKIE, format!("{cookie}{extra_cookie}"))
            .header(header::ACCEPT_LANGUAGE, lang_header)
            .body(Body::empty())
            .unwrap()
    };
    let html = body(send(&f, page("de-DE,de;q=0.9", "")).await).await;
    assert!(
        html.contains("<html lang=\"de\"") && html.contains("Firewall-Beschleunigung"),
        "{html}"
    );
    let html = body(send(&f, page("de-DE", "; portico_lang=en")).await).await;
    assert!(html.contains("<html lang=\"en\"") && html.contains("Firewall offload"));
    for (accept, tag, heading) in [
        ("es-ES", "es", "Aceleración del cortafuegos"),
        ("fr-CA,fr;q=0.9", "fr", "Accélération du pare-feu"),
        ("pt-BR", "pt-BR", "Aceleração do firewall"),
        ("it", "it", "Accelerazione del firewall"),
    ] {
        let html = body(send(&f, page(accept, "")).await).await;
        assert!(
            html.contains(&format!("<html lang=\"{tag}\"")) && html.contains(heading),
            "{accept}"
        );
    }
    let html = body(send(&f, page("en", "; portico_lang=pt-BR")).await).await;
    assert!(
        html.contains("Aceleração do firewall"),
        "the cookie names pt-BR"
    );
    let resp = send(&f, form("/lang", "lang=de&next=%2Fportal")).await;
    assert_eq!(location(&resp), "/portal");
    assert!(
        resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("portico_lang=de;")
    );
    let resp = send(&f, form("/lang", "lang=de&next=%2F%2Fevil.example")).await;
    assert_eq!(location(&resp), "/", "no open redirect");
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_nonce_csp() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(
        &f,
        get("/")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    let csp = h[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = body(resp).await;
    if let Some(start) = csp.find("'nonce-") {
        let nonce = &csp[start + 7..csp[start + 7..].find('\'').unwrap() + start + 7];
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "the inline hydration script carries the CSP nonce"
        );
    } else {
        assert!(
            !html.contains("<script"),
            "without a nonce no inline script may exist"
        );
    }
}

/// The embedded bundles: gzip as they are to browsers, inflated for a client without gzip, an
/// icon, the page's catalog, and pages that load the WASM from their module script only (no
/// preload hints), the bundle with their islands.
#[tokio::test]
async fn assets_are_one_gzip_copy_inflated_for_clients_without_gzip() {
    let f = fixture(true);
    let assets = crate::web::assets::manifest();
    assert!(
        ["shell", "pages"]
            .iter()
            .all(|b| assets.bundles.contains_key(*b))
            && !assets.icon.is_empty(),
        "`cargo xtask build` ran before the tests: {assets:?}"
    );
    let overview = &assets.bundles["pages"];
    let wasm = format!("/pkg/{overview}_bg.wasm");
    let fetch = |path: String, encoding: &'static str| {
        let f = &f;
        async move {
            let resp = send(
                f,
                get(&path)
                    .header(header::ACCEPT_ENCODING, encoding)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, headers, bytes)
        }
    };
    let (status, h, gz) = fetch(wasm.clone(), "gzip, deflate").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert_eq!(h[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(&gz[..2], [0x1f, 0x8b], "a gzip stream");
    let (status, h, raw) = fetch(wasm, "identity").await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(
        &raw[..4],
        b"\0asm",
        "inflated for a client that accepts no gzip"
    );
    assert!(raw.len() > gz.len());
    // Brotli is never sent: browsers accept it only over HTTPS.
    let (_, h, _) = fetch(format!("/pkg/{}", assets.css), "br").await;
    assert!(h.get(header::CONTENT_ENCODING).is_none());

    // The islands' words: the page's catalog, cached for good (its name changes with it).
    let catalog = format!("/pkg/{}", app::i18n::catalog_file(app::i18n::Lang::De));
    let (status, h, gz) = fetch(catalog.clone(), "gzip").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert!(
        h[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let (_, _, ftl) = fetch(catalog, "identity").await;
    assert!(ftl.len() > 2 * gz.len(), "{} → {}", ftl.len(), gz.len());
    assert!(String::from_utf8_lossy(&ftl).contains("Passwort"));

    let (status, h, icon) = fetch("/favicon.ico".into(), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "image/svg+xml");
    assert!(icon.starts_with(b"<svg"));
    for missing in [
        "/pkg/manifest.json",
        "/pkg/nothing.js",
        "/pkg/..%2fmanifest.json",
    ] {
        assert_eq!(
            fetch(missing.into(), "gzip").await.0,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }

    let cookie = set_up(&f).await;
    let page = get("/").header(header::COOKIE, &cookie);
    let html = body(send(&f, page.body(Body::empty()).unwrap()).await).await;
    assert!(
        html.contains(&format!("href=\"/pkg/{}\"", assets.icon)),
        "{html}"
    );
    assert!(!html.contains("preload"), "no preload hints: {html}");
    assert!(
        html.contains(&format!("import('/pkg/{overview}.js')")),
        "the overview's module script loads its bundle: {html}"
    );
    assert!(html.contains("<leptos-island"), "{html}");
    let portal = get("/portal").header(header::COOKIE, &cookie);
    let html = body(send(&f, portal.body(Body::empty()).unwrap()).await).await;
    assert!(
        html.contains(&format!("import('/pkg/{}.js')", assets.bundles["shell"])),
        "a page with the menu's islands only loads the shell: {html}"
    );
}

#[tokio::test]
async fn unknown_api_paths_answer_json_errors() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(
        &f,
        get("/api/v1/nothing")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["error"]["code"], "not_found");
    let resp = send(
        &f,
        get("/no-such-page")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn server_functions_need_a_session_and_return_real_status() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let call = |cookie: Option<&str>| {
        let mut r = Request::post("/api/fn/overview")
            .header(header::HOST, "router")
            .header(header::ORIGIN, "http://router")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        r.body(Body::empty()).unwrap()
    };
    let resp = send(&f, call(None)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = send(&f, call(Some(&cookie))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["system"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["system"]["hostname"], "gartenhaus");
    assert_eq!(json["system"]["dev_root"], f.root.display().to_string());
}

/// Issue 19: cookies are read and written by the `cookie` crate: a session among other
/// cookies (in one header or several) is found, and logout removes it with the same path.
#[tokio::test]
async fn sessions_are_found_among_other_cookies_and_logout_expires_them() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    for header_value in [
        format!("theme=dark; {cookie}; portico_lang=de"),
        format!("{cookie};other=1"),
    ] {
        let req = get("/")
            .header(header::COOKIE, &header_value)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&f, req).await.status(),
            StatusCode::OK,
            "{header_value}"
        );
    }
    let req = get("/")
        .header(header::COOKIE, "theme=dark")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&f, req).await.status(),
        StatusCode::OK,
        "two Cookie headers"
    );
    let req = get("/")
        .header(header::COOKIE, "portico_session=garbage;;=; x")
        .body(Body::empty())
        .unwrap();
    assert_eq!(location(&send(&f, req).await), "/login?error=expired");

    let mut logout = form("/logout", "");
    logout
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    let resp = send(&f, logout).await;
    let cleared = resp.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cleared.starts_with("portico_session=;"), "{cleared}");
    assert!(
        cleared.contains("Path=/") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let req = get("/")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    assert_ne!(
        send(&f, req).await.status(),
        StatusCode::OK,
        "the session ended"
    );
}

/// Issue 20: an expired session never answers a plain form with JSON: the browser gets the
/// login page saying the session ended, and after logging in it is back where it was.
#[tokio::test]
async fn an_expired_session_leads_forms_and_pages_to_the_login_and_back() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let mut logout = form("/logout", "");
    logout
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    send(&f, logout).await;

    // A form posted with the old session: back to its page after logging in.
    let mut post = form("/portal/vouchers", "quantity=3&duration=1h");
    post.headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    post.headers_mut().insert(
        header::REFERER,
        "http://router/portal?state=active".parse().unwrap(),
    );
    let resp = send(&f, post).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp).to_owned();
    assert_eq!(to, "/login?error=expired&next=%2Fportal%3Fstate%3Dactive");
    let html = body(send(&f, get(&to).body(Body::empty()).unwrap()).await).await;
    assert!(
        html.contains("Your session has ended") || html.contains("expired"),
        "{html}"
    );
    assert!(
        html.contains("name=\"next\" value=\"/portal?state=active\""),
        "{html}"
    );
    let resp = send(
        &f,
        form(
            "/login",
            &format!("user=root&password={PASSWORD_FORM}&next=%2Fportal%3Fstate%3Dactive"),
        ),
    )
    .await;
    assert_eq!(location(&resp), "/portal?state=active");

    // A page: the same, to the page itself; another site's address is never a target.
    let resp = send(
        &f,
        get("/offload")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(location(&resp), "/login?error=expired&next=%2Foffload");
    let mut post = form("/portal/settings", "tries_per_minute=5");
    post.headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    post.headers_mut()
        .insert(header::REFERER, "http://evil.example/x".parse().unwrap());
    assert_eq!(location(&send(&f, post).await), "/login?error=expired");
    let resp = send(
        &f,
        form(
            "/login",
            &format!("user=root&password={PASSWORD_FORM}&next=%2F%2Fevil.example"),
        ),
    )
    .await;
    assert_eq!(location(&resp), "/");
    // The API keeps answering JSON.
    let resp = send(
        &f,
        json_post(
            "/api/v1/config/preview",
            Some(&cookie),
            &serde_json::json!({"edits": []}),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// Issue 20: every page says where the user is: its own `<title>` and `<h1>`, and the menu
/// marks it (`aria-current`), and "Captive portal" leads to a page named the same.
#[tokio::test]
async fn every_page_has_its_own_title_heading_and_current_menu_item() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let mut titles = std::collections::HashSet::new();
    for (path, menu) in [
        ("/", Some("/")),
        ("/setup/system", Some("/settings")),
        ("/settings", Some("/settings")),
        ("/settings/wifi", Some("/settings")),
        ("/portal", Some("/portal")),
        ("/offload", Some("/offload")),
        ("/bluetooth", Some("/bluetooth")),
        ("/ports", Some("/ports")),
        ("/nowhere", None),
    ] {
        let html = body(
            send(
                &f,
                get(path)
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await,
        )
        .await;
        let between = |open: &str, close: &str| {
            let start = html.find(open).map(|i| i + open.len())?;
            let end = html[start..].find(close)? + start;
            Some(html[start..end].replace("<!>", ""))
        };
        let title = between("<title>", "</title>").unwrap_or_default();
        let heading = between("<h1>", "</h1>").unwrap_or_default();
        assert!(title.ends_with(" · Portico"), "{path}: {title}");
        assert!(title.starts_with(&heading), "{path}: {title} / {heading}");
        assert!(
            titles.insert(title.clone()),
            "{path}: the title {title} is another page's"
        );
        let current: Vec<&str> = html
            .match_indices("aria-current=\"page\"")
            .filter_map(|(i, _)| html[..i].rfind("href=\"").map(|h| &html[h + 6..i]))
            .filter_map(|a| a.split('"').next())
            .collect();
        assert_eq!(current, menu.into_iter().collect::<Vec<_>>(), "{path}");
        if path == "/ports" {
            // This server observes no ports (the test runs in no lab): the page says so.
            assert!(
                html.contains("Port detection is not running on this device."),
                "{html}"
            );
        }
        if path == "/portal" {
            assert!(
                html.replace("<!>", "").contains(">Captive portal</a>")
                    && heading == "Captive portal",
                "{html}"
            );
        }
    }
}

/// Issue 21: the ports' API needs a session, and says in JSON when this Portico observes no
/// ports (it runs in no namespace of its own here).
#[tokio::test]
async fn the_ports_api_needs_a_session() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    for path in ["/api/v1/ports", "/api/v1/ports/events"] {
        let resp = send(&f, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let resp = send(
        &f,
        get("/api/v1/ports")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["error"]["code"], "not_found", "{json}");
}
