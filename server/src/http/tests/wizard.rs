//! The browser wizard over HTTP: refused answers in the chosen language, a restart that
//! resumes without secrets, the password set once.

use super::*;

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one wizard walked step by step")]
async fn the_wizard_refuses_bad_answers_in_the_chosen_language_and_keeps_secrets_off_disk() {
    let f = fixture(true);
    let wizard = start_wizard(&f).await;
    let resp = send(
        &f,
        wizard_form("/setup/language", &wizard, "language=de&action=next"),
    )
    .await;
    assert_eq!(location(&resp), "/setup/system");
    assert!(
        resp.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("portico_lang=de")),
        "the choice persists for later pages"
    );
    // Too short, and the repetition differs: the same step again, with German messages.
    assert_eq!(
        post_step(
            &f,
            &wizard,
            "system",
            "system.hostname=-bad&system.zonename=Europe%2FBerlin&password=short&password_repeat=other&action=next",
        )
        .await,
        "/setup/system"
    );
    let mut req = get("/setup/system")
        .header(header::COOKIE, &wizard)
        .body(Body::empty())
        .unwrap();
    req.headers_mut().insert(
        header::COOKIE,
        format!("{wizard}; portico_lang=de").parse().unwrap(),
    );
    let html = body(send(&f, req).await).await;
    assert!(
        html.contains("Das Passwort muss mindestens 10 Zeichen haben."),
        "{html}"
    );
    assert!(html.contains("Die beiden Passwörter stimmen nicht überein."));
    assert!(
        html.contains("value=\"-bad\""),
        "refused values are shown again"
    );
    // A common password that follows the rules is refused by the estimator (server side).
    assert_eq!(
        post_step(&f, &wizard, "system", "system.hostname=gartenhaus&system.zonename=Europe%2FBerlin&password=Password123%21&password_repeat=Password123%21&action=next").await,
        "/setup/system"
    );
    // A good one passes; the internet step refuses a gateway outside the subnet.
    assert_eq!(
        post_step(&f, &wizard, "system", &format!("system.hostname=gartenhaus&system.zonename=Europe%2FBerlin&system.country=DE&password={PASSWORD_FORM}&password_repeat={PASSWORD_FORM}&action=next")).await,
        "/setup/internet"
    );
    assert_eq!(
        post_step(&f, &wizard, "internet", "internet.type=static&internet.ipaddr=100.64.0.9&internet.netmask=24&internet.gateway=100.64.1.1&action=next").await,
        "/setup/internet"
    );
    let html = wizard_page(&f, &wizard, "internet").await;
    assert!(html.contains("The gateway must be another address inside the internet subnet."));
    // Nothing secret is on disk before Apply; the rest of the answers is.
    let stored: String = f
        .state
        .auth
        .db()
        .with(|c| c.query_row("SELECT answers FROM wizards", [], |r| r.get(0)))
        .unwrap();
    assert!(
        stored.contains("gartenhaus") && !stored.contains("Correct-Horse"),
        "{stored}"
    );
    assert!(
        !std::fs::read_dir(f.root.join("etc/portico"))
            .unwrap()
            .any(|e| {
                let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
                bytes
                    .windows(PASSWORD.len())
                    .any(|w| w == PASSWORD.as_bytes())
            })
    );
    // Back keeps the answers; skip leaves the internet as it is; the summary shows the diff.
    assert_eq!(
        post_step(&f, &wizard, "internet", "action=skip").await,
        "/setup/wifi"
    );
    let html = wizard_page(&f, &wizard, "summary").await;
    assert!(
        html.contains("option hostname &#x27;gartenhaus&#x27;")
            || html.contains("option hostname 'gartenhaus'"),
        "{html}"
    );
}

#[tokio::test]
async fn a_restart_resumes_the_wizard_without_its_secrets() {
    let mut f = fixture(true);
    let wizard = start_wizard(&f).await;
    send(
        &f,
        wizard_form("/setup/language", &wizard, "language=en&action=next"),
    )
    .await;
    assert_eq!(
        post_step(
            &f,
            &wizard,
            "system",
            &format!("system.hostname=gartenhaus&system.zonename=Europe%2FBerlin&password={PASSWORD_FORM}&password_repeat={PASSWORD_FORM}&action=next"),
        )
        .await,
        "/setup/internet"
    );
    assert_eq!(
        post_step(
            &f,
            &wizard,
            "internet",
            "internet.type=pppoe&internet.username=kunde&internet.password=geheim-1&action=next"
        )
        .await,
        "/setup/wifi"
    );

    // Portico restarts: same root, fresh memory.
    f.state = state_for(&f.root, true);
    let resp = send(
        &f,
        get("/setup")
            .header(header::COOKIE, &wizard)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        location(&resp),
        "/setup/wifi",
        "the browser resumes where it was"
    );
    let html = wizard_page(&f, &wizard, "system").await;
    assert!(html.contains("Portico was restarted."), "{html}");
    assert!(
        html.contains("value=\"gartenhaus\""),
        "non-secret answers survive"
    );
    // The secrets did not: the summary asks for them again and Apply refuses.
    let html = wizard_page(&f, &wizard, "summary").await;
    assert!(
        html.contains("These answers must be fixed before applying"),
        "{html}"
    );
    assert!(html.contains("Internet: PPPoE as kunde."));
    let resp = send(&f, wizard_form("/setup/summary", &wizard, "action=apply")).await;
    assert_eq!(location(&resp), "/setup/summary");
    assert!(f.state.auth.setup_needed().unwrap());
}

#[tokio::test]
async fn setup_sets_the_admin_and_root_password_once() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let shadow = std::fs::read_to_string(f.root.join("etc/shadow")).unwrap();
    assert!(
        shadow.starts_with("root:$6$"),
        "root gets a SHA-512 crypt hash: {shadow}"
    );
    assert!(crate::platform::shadow::check(&shadow, PASSWORD));
    let resp = send(
        &f,
        get("/")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // Without a session the wizard is behind the login now.
    let resp = send(&f, get("/setup").body(Body::empty()).unwrap()).await;
    assert_eq!(location(&resp), "/login?next=%2Fsetup");
    assert!(f.state.auth.verify("root", PASSWORD).unwrap());
}

/// Issue 20: after Apply (kept), "Setup" does not show "Settings applied" forever: the wizard
/// starts again from the router's settings as they are now, and can change them.
#[tokio::test]
async fn after_setup_the_wizard_runs_again_from_the_current_settings() {
    let f = fixture(true);
    let (session, wizard) = set_up_with_wizard(&f).await;
    let cookies = format!("{session}; {wizard}");
    let resp = send(
        &f,
        get("/setup")
            .header(header::COOKIE, &cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(location(&resp), "/setup/language");
    let html = wizard_page(&f, &cookies, "system").await;
    assert!(
        html.contains("value=\"gartenhaus\""),
        "the current host name: {html}"
    );
    assert!(!html.contains("Settings applied"), "{html}");
    assert_eq!(
        post_step(
            &f,
            &cookies,
            "system",
            "system.hostname=werkstatt&system.zonename=UTC&action=next"
        )
        .await,
        "/setup/internet"
    );
    let resp = send(&f, wizard_form("/setup/summary", &cookies, "action=apply")).await;
    assert_eq!(location(&resp), "/setup/applied");
    let system = std::fs::read_to_string(f.root.join("etc/config/system")).unwrap();
    assert!(system.contains("werkstatt"), "{system}");
    // While that change waits for confirmation, the wizard stays on its last page.
    let resp = send(
        &f,
        get("/setup")
            .header(header::COOKIE, &cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(location(&resp), "/setup/applied");
}

/// Issue 20: the Wi-Fi step refused by the server (a 57-character name, a 34-byte name with
/// emoji) keeps what was typed, its network stays switched on so the error can be seen, and
/// the error is next to the field.
#[tokio::test]
async fn a_refused_wifi_step_keeps_what_was_typed_with_its_error_in_view() {
    let f = fixture(true);
    let wizard = start_wizard(&f).await;
    assert_eq!(
        post_step(&f, &wizard, "language", "language=en&action=next").await,
        "/setup/system"
    );
    let long = "x".repeat(57);
    let emoji = "Café 🎉🎉🎉🎉🎉🎉🎉"; // 34 bytes
    assert_eq!(emoji.len(), 34);
    for ssid in [long.as_str(), emoji] {
        let encoded = app::portal::encode(ssid);
        let to = post_step(
            &f,
            &wizard,
            "wifi",
            &format!("wifi.radio=radio0&wifi.radio=radio1&wifi.radio0.enabled=on&wifi.radio0.ssid={encoded}&wifi.radio0.key=kiwi-kiwi-kiwi&wifi.radio0.encryption=sae&action=next"),
        )
        .await;
        assert_eq!(to, "/setup/wifi", "refused: {ssid}");
        let html = wizard_page(&f, &wizard, "wifi").await;
        let shown = ssid.replace('&', "&amp;");
        assert!(
            html.contains(&format!("value=\"{shown}\"")),
            "{ssid}: {html}"
        );
        let toggle = html
            .split("name=\"wifi.radio0.enabled\"")
            .nth(1)
            .and_then(|rest| rest.split('>').next())
            .unwrap_or_default();
        assert!(toggle.contains("checked"), "the network stays on: {html}");
        assert!(
            html.contains("role=\"alert\"") || html.contains("field-error"),
            "{html}"
        );
        assert!(
            html.contains("1 to 32 bytes long"),
            "the error says the limit: {html}"
        );
    }
}

/// Issue 20: the header's language picker and the wizard's first step agree: the language
/// chosen in the header is the one the wizard's language step shows chosen.
#[tokio::test]
async fn the_header_language_and_the_wizards_first_step_agree() {
    let f = fixture(true);
    let wizard = start_wizard(&f).await;
    let checked = |html: &str, code: &str| {
        html.split(&format!("id=\"f-language-{code}\""))
            .nth(1)
            .and_then(|rest| rest.split('>').next())
            .is_some_and(|attrs| attrs.contains("checked"))
    };
    let html = wizard_page(&f, &wizard, "language").await;
    assert!(checked(&html, "en"), "{html}");
    // The header's picker: German.
    let html = wizard_page(&f, &format!("{wizard}; portico_lang=de"), "language").await;
    assert!(checked(&html, "de") && !checked(&html, "en"), "{html}");
    assert!(html.contains("lang=\"de\""), "the page is German too");
}

/// Issue 20: reverting the first boot's change also reverts its admin password (and root's):
/// the router is at first boot again.
#[tokio::test]
async fn reverting_the_first_boot_reverts_its_password_too() {
    let f = fixture(true);
    let shadow_before = std::fs::read(f.root.join("etc/shadow")).unwrap();
    let wizard = wizard_past_the_password(&f).await;
    let resp = send(&f, wizard_form("/setup/summary", &wizard, "action=apply")).await;
    assert_eq!(location(&resp), "/setup/applied");
    let session = session_cookie(&resp);
    assert!(!f.state.auth.setup_needed().unwrap());
    let resp = send(&f, authed_form("/apply/rollback", &session, "back=%2F")).await;
    assert_eq!(location(&resp), "/?applied=reverted");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !f.state.auth.setup_needed().unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the password was not reverted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        std::fs::read(f.root.join("etc/shadow")).unwrap(),
        shadow_before
    );
    let resp = send(
        &f,
        get("/")
            .header(header::COOKIE, &session)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(location(&resp), "/setup", "first boot again");
}

/// Issue 23: the community mesh in the wizard. A bad name or code is refused with the typed
/// name kept (the code, a secret, is not sent back); a join code joins; the summary says which
/// community; Apply makes it the router's membership; a rollback takes it back.
#[tokio::test]
async fn a_community_joined_in_the_wizard_is_the_routers_and_goes_with_a_rollback() {
    let f = fixture(true);
    let wizard = wizard_past_the_password(&f).await;
    let services = "lan.ipaddr=192.168.1.1&lan.netmask=255.255.255.0&dhcp.enabled=on&dhcp.start=100&dhcp.limit=150&dhcp.leasetime=12h";
    assert_eq!(
        post_step(
            &f,
            &wizard,
            "services",
            &format!("{services}&community.action=create&community.name=Kiez+Mitte&action=next"),
        )
        .await,
        "/setup/services"
    );
    let html = wizard_page(&f, &wizard, "services").await;
    assert!(html.contains("The community name holds 1 to 64"), "{html}");
    assert!(
        html.contains("value=\"Kiez Mitte\""),
        "the typed name is kept"
    );
    let typo = "portico-mesh:kiez:not-a-key";
    post_step(
        &f,
        &wizard,
        "services",
        &format!("{services}&community.action=join&community.code={typo}&action=next"),
    )
    .await;
    let html = wizard_page(&f, &wizard, "services").await;
    assert!(html.contains("This is not a join code"), "{html}");
    assert!(!html.contains(typo), "a code is not sent back");

    let theirs = crate::mesh::Membership::create("kiez").unwrap();
    let code = theirs.join_code();
    assert_eq!(
        post_step(
            &f,
            &wizard,
            "services",
            &format!(
                "{services}&community.action=join&community.code={}&action=next",
                code.replace(':', "%3A")
            ),
        )
        .await,
        "/setup/summary"
    );
    let html = wizard_page(&f, &wizard, "summary").await;
    assert!(
        html.contains("Join the community kiez and share its vouchers."),
        "{html}"
    );
    assert!(!html.contains(&code), "the summary holds no key");
    let resp = send(&f, wizard_form("/setup/summary", &wizard, "action=apply")).await;
    assert_eq!(location(&resp), "/setup/applied");
    let session = session_cookie(&resp);
    let db = f.state.auth.db();
    let joined = crate::mesh::Membership::load(db)
        .unwrap()
        .expect("a member");
    assert_eq!(
        (joined.community.as_str(), joined.key),
        ("kiez", theirs.key)
    );
    let html = wizard_page(&f, &format!("{wizard}; {session}"), "applied").await;
    assert!(
        html.contains("This router shares its vouchers with the community kiez."),
        "{html}"
    );

    // Reverted: not a member any more.
    let resp = send(&f, authed_form("/apply/rollback", &session, "back=%2F")).await;
    assert_eq!(location(&resp), "/?applied=reverted");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while crate::mesh::Membership::load(db).unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the membership was not reverted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
