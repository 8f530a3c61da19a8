//! Issue 20: settings after setup — each a page of its own that is one wizard step (the same
//! form and rules), straight to its summary and a checked apply; a new admin password needs
//! the one in use.

use super::*;

async fn page(f: &Fixture, cookies: &str, path: &str) -> (StatusCode, String, String) {
    let resp = send(
        f,
        get(path)
            .header(header::COOKIE, cookies)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let (status, to) = (resp.status(), location(&resp).to_owned());
    (status, to, body(resp).await)
}

#[tokio::test]
async fn the_settings_list_and_pages_need_a_login() {
    let f = fixture(true);
    let session = set_up(&f).await;
    for path in ["/settings", "/settings/wifi"] {
        let resp = send(&f, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&resp).starts_with("/login"), "{path}");
    }
    let (status, _, html) = page(&f, &session, "/settings").await;
    assert_eq!(status, StatusCode::OK);
    for link in [
        "/settings/system",
        "/settings/internet",
        "/settings/wifi",
        "/settings/services",
        "/setup",
    ] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(html.contains("<title>Settings · Portico</title>"));
    assert!(
        html.contains("aria-current=\"page\">Settings<"),
        "the menu marks Settings"
    );
}

#[tokio::test]
async fn a_settings_page_is_one_step_then_its_summary_and_a_checked_apply() {
    let f = fixture(true);
    let session = set_up(&f).await;
    let cookies = settings_wizard(&f, &session, "/settings/system").await;
    let (_, _, html) = page(&f, &cookies, "/settings/system").await;
    assert!(html.contains("<title>Name, time and password · Portico</title>"));
    assert!(
        html.contains("value=\"gartenhaus\""),
        "the current host name"
    );
    assert!(!html.contains("class=\"steps\""), "no other steps");
    assert!(!html.contains("value=\"skip\""), "nothing to skip");
    // Next goes straight to the summary, Back from there to the page.
    assert_eq!(
        post_step(
            &f,
            &cookies,
            "system",
            "system.hostname=werkstatt&system.zonename=UTC&action=next"
        )
        .await,
        "/settings/summary"
    );
    let (_, _, summary) = page(&f, &cookies, "/settings/summary").await;
    assert!(summary.contains("werkstatt"), "the diff shows the new name");
    assert!(summary.contains("<title>Review the change · Portico</title>"));
    assert_eq!(
        post_step(&f, &cookies, "summary", "action=back").await,
        "/settings/system"
    );
    assert_eq!(
        post_step(
            &f,
            &cookies,
            "system",
            "system.hostname=werkstatt&system.zonename=UTC&action=next"
        )
        .await,
        "/settings/summary"
    );
    let resp = send(&f, wizard_form("/setup/summary", &cookies, "action=apply")).await;
    assert_eq!(location(&resp), "/settings/applied");
    assert!(
        f.state.applier.status().is_pending(),
        "applied with a rollback waiting"
    );
    let system = std::fs::read_to_string(f.root.join("etc/config/system")).unwrap();
    assert!(system.contains("werkstatt"), "{system}");
    let (_, _, applied) = page(&f, &cookies, "/settings/applied").await;
    assert!(
        applied.contains("value=\"/settings\""),
        "Keep returns to the settings"
    );
    // Another settings page starts from the router as it is now, not from the last one.
    let (_, _, wifi) = page(&f, &cookies, "/settings/wifi").await;
    assert!(wifi.contains("<title>Wi-Fi · Portico</title>"));
    // A summary without a settings page of its own leads back to the list.
    let other = settings_wizard(&f, &session, "/settings/internet").await;
    let _ = send(&f, wizard_form("/setup/internet", &other, "action=back")).await;
    let fresh = format!("{session}; portico_wizard=0123456789abcdef0123456789abcdef");
    let (status, to, _) = page(&f, &fresh, "/settings/summary").await;
    assert_eq!((status, to.as_str()), (StatusCode::FOUND, "/settings"));
}

#[tokio::test]
async fn a_new_admin_password_needs_the_current_one() {
    let f = fixture(true);
    let session = set_up(&f).await;
    let cookies = settings_wizard(&f, &session, "/settings/system").await;
    let (_, _, html) = page(&f, &cookies, "/settings/system").await;
    assert!(html.contains("name=\"password_current\""));
    let new = "Another-Long-Passphrase-42";
    let base = format!(
        "system.hostname=gartenhaus&system.zonename=UTC&password={new}&password_repeat={new}&action=next"
    );
    // Without it, and with a wrong one: refused next to the field, nothing typed echoed.
    assert_eq!(
        post_step(&f, &cookies, "system", &base).await,
        "/settings/system"
    );
    let (_, _, html) = page(&f, &cookies, "/settings/system").await;
    assert!(html.contains("Enter the current password to set a new one."));
    assert!(!html.contains(new), "secrets are not echoed");
    let wrong = format!("{base}&password_current=not-it");
    assert_eq!(
        post_step(&f, &cookies, "system", &wrong).await,
        "/settings/system"
    );
    let (_, _, html) = page(&f, &cookies, "/settings/system").await;
    assert!(html.contains("The current password is not right."));
    // With it: through the summary and apply; the new password logs in, the old does not.
    let right = format!("{base}&password_current={PASSWORD_FORM}");
    assert_eq!(
        post_step(&f, &cookies, "system", &right).await,
        "/settings/summary"
    );
    let resp = send(&f, wizard_form("/setup/summary", &cookies, "action=apply")).await;
    assert_eq!(location(&resp), "/settings/applied");
    assert!(f.state.auth.verify("root", new).unwrap());
    assert!(!f.state.auth.verify("root", PASSWORD).unwrap());
}

#[tokio::test]
async fn guessing_the_current_password_is_slowed_down() {
    let f = fixture(true);
    let session = set_up(&f).await;
    let cookies = settings_wizard(&f, &session, "/settings/system").await;
    let new = "Another-Long-Passphrase-42";
    let guess = format!(
        "system.hostname=gartenhaus&system.zonename=UTC&password={new}&password_repeat={new}&password_current=guess&action=next"
    );
    // Three free guesses, the fourth wrong one imposes a wait, the fifth meets it.
    for _ in 0..5 {
        let _ = post_step(&f, &cookies, "system", &guess).await;
    }
    let (_, _, html) = page(&f, &cookies, "/settings/system").await;
    assert!(
        html.contains("Too many wrong passwords"),
        "the fifth guess waits"
    );
    // Even the right one waits now.
    let right = guess.replace(
        "password_current=guess",
        &format!("password_current={PASSWORD_FORM}"),
    );
    assert_eq!(
        post_step(&f, &cookies, "system", &right).await,
        "/settings/system"
    );
}

#[tokio::test]
async fn a_restart_is_asked_of_the_platform_and_the_page_waits_for_it() {
    let mut f = fixture(true);
    let restarts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = restarts.clone();
    f.state.restart = Arc::new(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let session = set_up(&f).await;
    let resp = send(&f, form("/settings/reboot", "")).await;
    assert!(location(&resp).starts_with("/login"), "login first");
    assert_eq!(restarts.load(std::sync::atomic::Ordering::SeqCst), 0);
    let mut req = form("/settings/reboot", "");
    req.headers_mut()
        .insert(header::COOKIE, session.parse().unwrap());
    let resp = send(&f, req).await;
    // The dev platform restarts Portico (a router would reboot: unit-tested in the platform).
    assert_eq!(location(&resp), "/settings/reboot?restarting=8");
    assert_eq!(restarts.load(std::sync::atomic::Ordering::SeqCst), 1);
    let (_, _, html) = page(&f, &session, "/settings/reboot?restarting=8").await;
    assert!(html.contains("Restarting… back in about 8 s."));
    assert!(
        html.contains("http-equiv=\"refresh\" content=\"10;url=/\""),
        "comes back without JavaScript"
    );
}
