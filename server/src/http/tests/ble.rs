//! The Bluetooth page and the peer view.

use super::*;

#[tokio::test]
async fn the_bluetooth_page_says_what_bluez_offers_or_why_not() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let html = body(send(&f, authed_get("/bluetooth", &cookie)).await).await;
    // `<!>`: Leptos' hydration markers after text (erase_components).
    assert!(
        html.replace("<!>", "").contains("<h1>Bluetooth</h1>"),
        "{html}"
    );
    // This machine has no BlueZ (no system bus in the sandbox); a machine with BlueZ and a
    // powered adapter gets the other sentence. Issue 20: the reason is explained in words,
    // never D-Bus's raw message.
    let unavailable = html.contains("Bluetooth is unavailable here. ");
    let available = html.contains("Bluetooth is available");
    assert!(unavailable ^ available, "{html}");
    assert!(
        !html.contains("D-Bus") && !html.contains("org.freedesktop"),
        "{html}"
    );
    if unavailable {
        assert!(
            html.contains("The Bluetooth service (BlueZ) is not running on this router.")
                || html.contains("This router has no Bluetooth adapter.")
                || html.contains("Every Bluetooth adapter is switched off."),
            "{html}"
        );
    }
    // The same in German.
    let req = get("/bluetooth")
        .header(header::COOKIE, format!("{cookie}; portico_lang=de"))
        .body(Body::empty())
        .unwrap();
    let html = body(send(&f, req).await).await;
    assert!(
        html.contains("Bluetooth ist hier nicht verfügbar.") || html.contains("verfügbar"),
        "{html}"
    );
}

/// Issue 20: a link that waits for Bluetooth says so once (the page already says why
/// Bluetooth is unavailable), and settings read as words.
#[test]
fn a_waiting_link_does_not_repeat_why_and_settings_read_as_words() {
    use crate::ble::{Cause, Generations, LinkState};
    let link = |cause| LinkState {
        running: false,
        cause: Some(cause),
        q8id: [1; 8],
        adapter: String::new(),
        address: String::new(),
        generations: Generations::Both,
        peers: Vec::new(),
    };
    let lang = app::i18n::Lang::En;
    let waiting = super::super::convert::link_view(&link(Cause::NoBluez), lang);
    assert_eq!(
        waiting.reason,
        "It starts by itself once Bluetooth is available."
    );
    assert_eq!(waiting.generations, "current and legacy qaul");
    let off = super::super::convert::link_view(&link(Cause::SwitchedOff), lang);
    assert_eq!(
        off.reason,
        "It is switched off in the settings (ble.enabled)."
    );
    let other = super::super::convert::link_view(&link(Cause::Other("boom".into())), lang);
    assert_eq!(other.reason, "Bluetooth reported: boom");
}

#[tokio::test]
async fn the_peer_view_shows_the_link_its_peers_and_their_traffic() {
    use crate::ble::{Ble, Generation, test_message};
    use qaul_ble::proto::ble::Message;

    let mut f = fixture(true);
    let cookie = set_up(&f).await;
    let settings = crate::ble::Settings {
        qaul_id: Some([0x4e, 0x1a, 0x77, 0x02, 0xc3, 0x90, 0x11, 0x5b]),
        ..crate::ble::Settings::default()
    };
    let ble = Ble::new(&f.root, settings);
    f.state.ble = Some(Arc::clone(&ble));
    let mut libqaul = ble.events();
    let (current, legacy) = ([0x9c; 8], [0x11; 8]);
    ble.peer_up(current, Generation::Current, "00:AA:01:01:00:01", Some(-42));
    ble.update(current, |p| p.role = Some("central"));
    ble.received(current, test_message::build(9, 500));
    ble.send_result(current, b"m-1".to_vec(), 61_440, Ok("delivered"));
    ble.peer_up(legacy, Generation::Legacy, "00:AA:01:02:00:02", None);
    ble.send_result(
        legacy,
        b"m-2".to_vec(),
        1,
        Ok("sent (legacy: no acknowledgement)"),
    );

    // libqaul heard all of it, in qaul.sys.ble terms.
    let mut heard = Vec::new();
    while let Ok(event) = libqaul.try_recv() {
        heard.push(event.message.unwrap());
    }
    assert!(
        matches!(&heard[0], Message::DeviceDiscovered(d) if d.qaul_id == current && d.rssi == -42)
    );
    assert!(
        matches!(&heard[1], Message::DirectReceived(r) if r.from == current && r.data.len() == 500)
    );
    assert!(matches!(&heard[2], Message::DirectSendResult(r) if r.id == b"m-1" && r.success));
    assert_eq!(heard.len(), 5);

    let html = body(send(&f, authed_get("/bluetooth", &cookie)).await)
        .await
        .replace("<!>", "");
    assert!(html.contains("<code>4e1a7702c390115b</code>"), "{html}");
    assert!(html.contains("<code>9c9c9c9c9c9c9c9c</code>"), "{html}");
    assert!(
        html.contains("current · connected (central) · 00:AA:01:01:00:01 · -42 dBm"),
        "{html}"
    );
    assert!(
        html.contains("test message 00000009: 500 B intact"),
        "{html}"
    );
    assert!(html.contains("61440 B delivered"), "{html}");
    assert!(html.contains("legacy · in range"), "{html}");
    assert!(
        html.contains("1 B sent (legacy: no acknowledgement)"),
        "legacy sends are never 'delivered'"
    );
    assert!(html.contains("Messages in 1, out 1"), "{html}");
    assert!(html.contains(r#"action="/bluetooth/send""#));

    // Scripts get the same table; the live view gets it as events.
    let (status, json) = json_of(send(&f, authed_get("/api/v1/ble/peers", &cookie)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["q8id"], "4e1a7702c390115b");
    assert_eq!(json["peers"][0]["q8id"], "1111111111111111");
    assert_eq!(json["peers"][1]["messages_in"], 1);
    let mut events = send(&f, authed_get("/api/v1/ble/events", &cookie))
        .await
        .into_body();
    let first = events.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = String::from_utf8_lossy(&first);
    assert!(first.starts_with("event: link\ndata: {"), "{first}");
    assert!(first.contains(r#""q8id":"9c9c9c9c9c9c9c9c""#), "{first}");

    // Sending needs a running link: the refusal says why, in the user's language.
    let resp = send(
        &f,
        authed_form("/bluetooth/send", &cookie, "peer=9c9c9c9c9c9c9c9c&size=500"),
    )
    .await;
    assert_eq!(
        location(&resp),
        "/bluetooth?error=The%20Bluetooth%20link%20is%20not%20running."
    );
    let resp = send(
        &f,
        authed_form("/bluetooth/send", &cookie, "peer=9c9c9c9c9c9c9c9c&size=0"),
    )
    .await;
    let html = body(send(&f, authed_get(location(&resp), &cookie)).await).await;
    assert!(html.contains("A test message has 1 to 204"), "{html}");
    let mut req = json_post(
        "/api/v1/ble/send",
        Some(&cookie),
        &serde_json::json!({"peer": "00", "size": 5}),
    );
    req.headers_mut()
        .insert(header::HOST, "router".parse().unwrap());
    let (status, json) = json_of(send(&f, req).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    assert_eq!(json["error"]["code"], "not_sent", "{json}");

    // Without a login none of it is there.
    let resp = send(&f, get("/api/v1/ble/peers").body(Body::empty()).unwrap()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
