//! The portal's admin side: vouchers, settings with DHCP option 114, the logo.

use super::*;

#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one admin story: create, refuse, change, filter, export, print"
)]
async fn voucher_admin_creates_lists_changes_exports_and_prints() {
    let f = fixture(true);
    // Before login: no list, no export.
    let resp = send(&f, get("/portal/vouchers.csv").body(Body::empty()).unwrap()).await;
    assert_ne!(resp.status(), StatusCode::OK);
    let cookie = set_up(&f).await;
    let page = |path: &str| authed_get(path, &cookie);

    // A batch of three, named; the answer points at the batch.
    let resp = send(
        &f,
        authed_form(
            "/portal/vouchers",
            &cookie,
            "quantity=3&duration=2h&deadline=2031-01-31&name=Market+day&max_devices=2",
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp).to_owned();
    assert!(
        to.starts_with("/portal?first=") && to.contains("done=created&count=3"),
        "{to}"
    );
    let html = body(send(&f, page(&to)).await).await;
    assert!(html.contains("3 vouchers created."), "{html}");
    assert_eq!(html.matches("class=\"voucher unused\"").count(), 3);
    assert!(html.contains("Market day") && html.contains("use before 2031-01-31"));
    let list = f.state.vouchers.list(None).unwrap();
    let first = &list[0];
    assert!(html.contains(&first.code));

    // Bad input: a clear message, nothing made.
    let resp = send(
        &f,
        authed_form(
            "/portal/vouchers",
            &cookie,
            "quantity=1001&duration=2h&max_devices=1",
        ),
    )
    .await;
    let html = body(send(&f, page(location(&resp))).await).await;
    assert!(
        html.contains("Make between 1 and 1000 vouchers at a time."),
        "{html}"
    );
    let resp = send(
        &f,
        authed_form(
            "/portal/vouchers",
            &cookie,
            "quantity=1&duration=soon&max_devices=1",
        ),
    )
    .await;
    assert!(location(&resp).contains("error=duration"));
    assert_eq!(f.state.vouchers.list(None).unwrap().len(), 3);

    // Rename, extend, invalidate; the list keeps its filter.
    let id = first.id;
    let resp = send(
        &f,
        authed_form(
            &format!("/portal/vouchers/{id}/rename"),
            &cookie,
            "back=q%3Dmarket&name=Stall+7",
        ),
    )
    .await;
    assert_eq!(location(&resp), "/portal?q=market&done=renamed");
    let resp = send(
        &f,
        authed_form(
            &format!("/portal/vouchers/{id}/extend"),
            &cookie,
            "duration=30m",
        ),
    )
    .await;
    assert!(location(&resp).ends_with("done=extended"));
    assert_eq!(
        f.state.vouchers.get(id).unwrap().duration,
        Some(2 * 3600 + 1800)
    );
    let resp = send(
        &f,
        authed_form(&format!("/portal/vouchers/{id}/invalidate"), &cookie, ""),
    )
    .await;
    assert!(location(&resp).ends_with("done=invalidated"));
    let resp = send(
        &f,
        authed_form(
            &format!("/portal/vouchers/{id}/extend"),
            &cookie,
            "duration=1h",
        ),
    )
    .await;
    assert!(location(&resp).ends_with("error=invalidated"));

    // Search and state filter.
    let html = body(send(&f, page("/portal?q=stall")).await).await;
    assert!(html.contains("1 matching voucher."), "{html}");
    let html = body(send(&f, page("/portal?state=unused")).await).await;
    assert!(html.contains("2 matching vouchers."), "{html}");
    let code_part = &list[1].code[..6].to_lowercase();
    let html = body(send(&f, page(&format!("/portal?q={code_part}"))).await).await;
    assert!(
        html.contains(&list[1].code),
        "codes are found however they are typed"
    );

    // CSV of a filter.
    let resp = send(&f, page("/portal/vouchers.csv?state=invalidated")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = body(resp).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("id,code,name,state,"));
    assert!(lines[1].contains(&first.code) && lines[1].contains("Stall 7,invalidated,9000"));

    // The print sheet: one card per voucher, with the portal link's QR code.
    let resp = send(&f, page("/portal/print?state=unused")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = body(resp).await;
    assert_eq!(
        html.matches("<section class=\"card\">").count(),
        2,
        "{html}"
    );
    assert!(html.contains(&list[1].code) && html.contains("<path stroke=\"#000\" d=\"M"));
    assert!(html.contains("size: A4"));
    // A Print button (its script allowed by hash, nothing else) and a way back.
    assert!(
        html.contains("<button type=\"button\" id=\"print\">Print</button>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"/portal\">Back to the captive portal</a>"),
        "{html}"
    );
}

/// Issue 20: the sheet of a full batch stays printable: 1000 vouchers make a page of a few
/// megabytes (each code drawn as one compact path, the Wi-Fi's code once for all cards), with
/// the Wi-Fi password as text beside its code.
#[tokio::test]
async fn a_thousand_vouchers_make_a_sheet_of_reasonable_size() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    std::fs::write(
        f.root.join("etc/config/wireless"),
        "config wifi-device 'radio0'\n\toption band '2g'\n\n\
         config wifi-iface 'guest'\n\toption device 'radio0'\n\toption network 'lan'\n\
         \toption mode 'ap'\n\toption ssid 'Plaza'\n\toption encryption 'sae'\n\toption key 'kaffee-und-kuchen'\n",
    )
    .unwrap();
    let resp = send(
        &f,
        authed_form(
            "/portal/vouchers",
            &cookie,
            "quantity=1000&duration=2h&max_devices=1",
        ),
    )
    .await;
    assert!(
        location(&resp).contains("done=created"),
        "{}",
        location(&resp)
    );
    let resp = send(&f, authed_get("/portal/print", &cookie)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    let html = body(resp).await;
    assert_eq!(html.matches("<section class=\"card\">").count(), 1000);
    assert_eq!(
        html.matches("<symbol id=\"wifi\"").count(),
        1,
        "the Wi-Fi code once"
    );
    assert_eq!(html.matches("<use href=\"#wifi\"/>").count(), 1000);
    assert_eq!(html.matches("Password: kaffee-und-kuchen").count(), 1000);
    let mib = f64::from(u32::try_from(html.len()).unwrap()) / f64::from(1 << 20);
    println!("print sheet of 1000 vouchers: {mib:.2} MiB");
    assert!(mib < 3.0, "{mib:.2} MiB (27 MB before issue 20)");
}

#[tokio::test]
async fn portal_settings_write_uci_with_dhcp_option_114_and_take_effect_at_once() {
    let mut f = fixture(true);
    let portal = with_portal(&mut f);
    let cookie = set_up(&f).await;
    let read = |name: &str| std::fs::read_to_string(f.root.join("etc/config").join(name)).unwrap();

    // A bad walled-garden line: refused with the reason, nothing written.
    let resp = send(
        &f,
        authed_form(
            "/portal/settings",
            &cookie,
            "enabled=1&walled_garden=example.org&tries_per_minute=5",
        ),
    )
    .await;
    assert!(location(&resp).contains("error=garden"));
    assert!(!read("portico").contains("config portal"));

    let resp = send(
        &f,
        authed_form(
            "/portal/settings",
            &cookie,
            "enabled=1&title=Garden+Wi-Fi&text=Ask+at+the+bar&walled_garden=198.51.100.0%2F24%0D%0A192.0.2.10&tries_per_minute=4",
        ),
    )
    .await;
    assert_eq!(location(&resp), "/portal?done=settings");
    let portico = read("portico");
    assert!(portico.contains("config portal 'portal'"), "{portico}");
    assert!(
        portico.contains("option enabled '1'") && portico.contains("option title 'Garden Wi-Fi'")
    );
    assert!(
        portico.contains("list walled_garden '198.51.100.0/24'")
            && portico.contains("list walled_garden '192.0.2.10'")
    );
    let dhcp = read("dhcp");
    assert!(
        dhcp.contains("list dhcp_option '114,http://192.168.1.1:8080/captive-portal/api'"),
        "{dhcp}"
    );
    assert!(portal.enabled(), "in force without a restart");
    assert_eq!(portal.settings().title, "Garden Wi-Fi");
    let html = body(send(&f, authed_get("/portal?done=settings", &cookie)).await).await;
    assert!(
        html.contains("Portal settings saved.") && html.contains("198.51.100.0/24\n192.0.2.10"),
        "{html}"
    );

    // Off again: option 114 goes, the rest of the DHCP section stays.
    let resp = send(
        &f,
        authed_form(
            "/portal/settings",
            &cookie,
            "title=Garden+Wi-Fi&tries_per_minute=4",
        ),
    )
    .await;
    assert_eq!(location(&resp), "/portal?done=settings");
    assert!(!read("dhcp").contains("114,"));
    assert!(read("dhcp").contains("option interface 'lan'"));
    assert!(!portal.enabled());
}

#[tokio::test]
async fn the_portal_logo_is_uploaded_checked_served_and_removed() {
    let mut f = fixture(true);
    let portal = with_portal(&mut f);
    let cookie = set_up(&f).await;

    // Not an image (whatever its name says): refused.
    let resp = send(
        &f,
        multipart(
            "/portal/logo",
            &cookie,
            "logo",
            b"<script>alert(1)</script>",
        ),
    )
    .await;
    assert!(location(&resp).contains("error=logo"));
    // Too large: the body limit stops it; the page says why.
    let big = vec![0u8; 600 * 1024];
    let resp = send(&f, multipart("/portal/logo", &cookie, "logo", &big)).await;
    assert!(location(&resp).contains("error=logo"));

    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 64]].concat();
    let resp = send(&f, multipart("/portal/logo", &cookie, "logo", &png)).await;
    assert_eq!(location(&resp), "/portal?done=settings");
    assert_eq!(
        std::fs::read(f.root.join("etc/portico/portal-logo.png")).unwrap(),
        png
    );
    let config = std::fs::read_to_string(f.root.join("etc/config/portico")).unwrap();
    assert!(
        config.contains("option logo '/etc/portico/portal-logo.png'"),
        "{config}"
    );
    // The portal serves it, as an image that cannot run script.
    let resp = crate::portal::web::router(portal.clone())
        .oneshot(Request::get("/logo").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "image/png");
    assert!(
        resp.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let served = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(served.to_vec(), png);

    let resp = send(&f, multipart("/portal/logo", &cookie, "remove", b"1")).await;
    assert_eq!(location(&resp), "/portal?done=settings");
    assert!(portal.settings().logo.is_none());
}

/// Issue 20: a refused form comes back as it was typed, with the reason: the voucher form
/// and the portal settings.
#[tokio::test]
async fn refused_forms_keep_what_was_typed() {
    let mut f = fixture(true);
    let _portal = with_portal(&mut f);
    let cookie = set_up(&f).await;
    let resp = send(
        &f,
        authed_form(
            "/portal/vouchers",
            &cookie,
            "quantity=25&duration=2x&deadline=&name=Markt+%26+Stand&max_devices=3",
        ),
    )
    .await;
    let to = location(&resp).to_owned();
    assert!(to.contains("error=duration"), "{to}");
    let html = body(send(&f, authed_get(&to, &cookie)).await).await;
    assert!(
        html.contains(
            "id=\"v-qty\" name=\"quantity\" type=\"number\" min=\"1\" max=\"1000\" value=\"25\""
        ),
        "{html}"
    );
    assert!(html.contains("value=\"2x\""), "{html}");
    assert!(html.contains("value=\"Markt &amp; Stand\""), "{html}");
    assert!(html.contains("value=\"3\""), "{html}");
    assert!(html.contains("role=\"alert\""), "the reason is shown");

    let resp = send(
        &f,
        authed_form(
            "/portal/settings",
            &cookie,
            "enabled=1&title=Garten&text=Frag+an+der+Bar&walled_garden=example.org&tries_per_minute=7",
        ),
    )
    .await;
    let to = location(&resp).to_owned();
    assert!(to.contains("error=garden"), "{to}");
    let html = body(send(&f, authed_get(&to, &cookie)).await).await;
    assert!(html.contains("value=\"Garten\""), "{html}");
    assert!(html.contains(">Frag an der Bar</textarea>"), "{html}");
    assert!(html.contains(">example.org</textarea>"), "{html}");
    assert!(html.contains("value=\"7\""), "{html}");
    assert!(
        std::fs::read_to_string(f.root.join("etc/config/portico"))
            .map_or(true, |p| !p.contains("Garten")),
        "nothing was saved"
    );
}

/// The community mesh on the portal page: create (a bad name refused and kept), the join code
/// and its QR code, no second community, leave, a join code refused (and not sent back), a
/// good one taken; vouchers say where they were made.
#[tokio::test]
async fn the_mesh_form_creates_shows_the_join_code_leaves_and_joins() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let page = |path: &str| authed_get(path, &cookie);
    let post = |body: &str| authed_form("/portal/mesh", &cookie, body);

    let html = body(send(&f, page("/portal")).await).await;
    assert!(html.contains("Create a community"), "{html}");
    let resp = send(&f, post("action=create&community=ff+kiez")).await;
    let to = location(&resp).to_owned();
    assert!(
        to.contains("error=mesh-error-name&m.community=ff%20kiez"),
        "{to}"
    );
    let html = body(send(&f, page(&to)).await).await;
    assert!(html.contains("may hold 1 to 64 letters") && html.contains(r#"value="ff kiez""#));

    let resp = send(&f, post("action=create&community=ff-kiez")).await;
    let html = body(send(&f, page(location(&resp))).await).await;
    assert!(html.contains("Community created."), "{html}");
    assert!(
        html.contains("This router is in the community ff-kiez"),
        "{html}"
    );
    let code = crate::mesh::Membership::load(f.state.auth.db())
        .unwrap()
        .unwrap()
        .join_code();
    assert!(html.contains(&code) && html.contains("data:image/svg+xml;base64,"));
    assert!(html.contains("No other member has been in touch yet"));
    let resp = send(&f, post("action=create&community=other")).await;
    assert!(location(&resp).contains("error=mesh-error-already"));

    let resp = send(&f, post("action=leave")).await;
    let html = body(send(&f, page(location(&resp))).await).await;
    assert!(html.contains("This router left the community"), "{html}");
    let damaged = &code[..code.len() - 3];
    let resp = send(
        &f,
        post(&format!(
            "action=join&code={}",
            app::portal::encode(damaged)
        )),
    )
    .await;
    let to = location(&resp).to_owned();
    assert!(
        to.contains("error=mesh-error-code") && !to.contains("portico-mesh"),
        "{to}"
    );
    let resp = send(
        &f,
        post(&format!("action=join&code={}", app::portal::encode(&code))),
    )
    .await;
    let html = body(send(&f, page(location(&resp))).await).await;
    assert!(html.contains("This router joined the community"), "{html}");

    // A voucher from another node of the mesh says where it was made and used.
    let other =
        crate::portal::vouchers::Vouchers::open(crate::state::StateDb::in_memory().unwrap())
            .unwrap();
    let made = other
        .create(
            &crate::portal::vouchers::NewVouchers {
                quantity: 1,
                duration: Some(3600),
                max_devices: 1,
                ..Default::default()
            },
            |_| {},
        )
        .unwrap();
    other
        .redeem(
            &made[0].code,
            "02:00:00:00:00:01",
            crate::portal::vouchers::now(),
            true,
        )
        .unwrap()
        .unwrap();
    f.state
        .vouchers
        .merge(&other.replicas().unwrap(), crate::portal::vouchers::now())
        .unwrap();
    let html = body(send(&f, page("/portal")).await).await;
    let id = hex::encode(other.node());
    assert!(
        html.contains(&format!("made on {id}")) && html.contains(&format!("in use on {id}")),
        "{html}"
    );
}

/// The admin's "open for everyone" switch: everyone through at once (the portal says so to
/// guests), a bad time refused and kept, ended by hand; the time written to UCI ends it by
/// itself.
#[tokio::test]
async fn open_for_everyone_starts_ends_and_refuses_a_bad_time() {
    let mut f = fixture(true);
    let portal = with_portal(&mut f);
    let cookie = set_up(&f).await;
    let read = || std::fs::read_to_string(f.root.join("etc/config/portico")).unwrap();
    let resp = send(
        &f,
        authed_form("/portal/settings", &cookie, "enabled=1&tries_per_minute=5"),
    )
    .await;
    assert_eq!(location(&resp), "/portal?done=settings");
    assert!(portal.enabled());
    let html = body(send(&f, authed_get("/portal", &cookie)).await).await;
    assert!(html.contains("Open for everyone"), "{html}");

    let resp = send(&f, authed_form("/portal/open", &cookie, "duration=2y")).await;
    let to = location(&resp).to_owned();
    assert!(to.contains("error=open&o.duration=2y"), "{to}");
    let html = body(send(&f, authed_get(&to, &cookie)).await).await;
    assert!(
        html.contains("up to a week") && html.contains(r#"value="2y""#),
        "{html}"
    );
    let resp = send(&f, authed_form("/portal/open", &cookie, "duration=8d")).await;
    assert!(location(&resp).contains("error=open"), "more than a week");

    let resp = send(&f, authed_form("/portal/open", &cookie, "duration=2h")).await;
    assert_eq!(location(&resp), "/portal?done=opened");
    assert!(read().contains("option open_until '"), "{}", read());
    assert!(!portal.enabled(), "nobody is captive while it is open");
    let html = body(send(&f, authed_get("/portal?done=opened", &cookie)).await).await;
    assert!(html.contains("open for everyone for another 2 h"), "{html}");

    let resp = send(&f, authed_form("/portal/open", &cookie, "end=1")).await;
    assert_eq!(location(&resp), "/portal?done=closed");
    assert!(read().contains("option open_until '0'"));
    assert!(portal.enabled(), "captive again");
}
