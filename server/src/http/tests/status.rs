//! The overview's endpoints: login required, the state as configured and as the kernel says,
//! the page without JavaScript, and the connection test refused where it would leave the lab.

use super::*;

#[tokio::test]
async fn the_status_needs_a_session() {
    let f = fixture(true);
    let _ = set_up(&f).await;
    for path in ["/api/v1/status", "/api/v1/status/events"] {
        let resp = send(&f, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let resp = send(
        &f,
        json_post("/api/v1/status/test", None, &serde_json::json!({})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A form without a session goes to the login page and comes back to the overview.
    let resp = send(&f, form("/status/test", "")).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/login"), "{}", location(&resp));
}

#[tokio::test]
async fn the_status_reports_the_configuration_and_the_machine() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(
        &f,
        with_cookie(get("/api/v1/status").body(Body::empty()).unwrap(), &cookie),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    // A fresh router: DHCP on the uplink, the LAN on br-lan, one Wi-Fi per radio.
    assert_eq!(json["internet"]["proto"], "dhcp");
    assert_eq!(json["lan"]["device"], "br-lan");
    assert_eq!(json["system"]["hostname"], "gartenhaus");
    assert!(json["system"]["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(json["system"]["storage"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(json["system"]["load"].is_array());
    // The dev platform: no router temperature, no Wi-Fi client counts.
    assert_eq!(json["system"]["temperatures"], serde_json::Value::Null);
    assert_eq!(json["wifi"]["clients_known"], false);
    let networks = json["wifi"]["networks"].as_array().unwrap();
    assert!(!networks.is_empty(), "{json}");
    assert!(networks.iter().all(|n| n["clients"].is_null()));
    // Nothing here runs the capabilities; the overview says so.
    assert_eq!(json["capabilities"]["portal"], false);
    assert_eq!(json["capabilities"]["offload"], false);
    assert_eq!(json["capabilities"]["bluetooth"], serde_json::Value::Null);

    // The page, rendered on the server (usable without JavaScript).
    let resp = send(
        &f,
        with_cookie(get("/").body(Body::empty()).unwrap(), &cookie),
    )
    .await;
    let html = body(resp).await;
    for text in [
        "Internet",
        "Connected devices",
        "Traffic",
        "Not available here",
        "Test the connection now",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(html.contains("action=\"/status/test\""));
}

#[tokio::test]
async fn the_connection_test_never_runs_outside_the_lab() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    // These tests run in the host's network namespace: a test would reach the internet.
    let resp = send(
        &f,
        json_post("/api/v1/status/test", Some(&cookie), &serde_json::json!({})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let json: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(json["error"]["code"], "not_here");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot run here")
    );
    let resp = send(&f, with_cookie(form("/status/test", ""), &cookie)).await;
    assert_eq!(location(&resp), "/?test=not-here#home-internet");
    let resp = send(
        &f,
        with_cookie(get("/?test=not-here").body(Body::empty()).unwrap(), &cookie),
    )
    .await;
    assert!(body(resp).await.contains("cannot run here"));
    assert!(
        f.state.status.overview().internet.test.is_none(),
        "nothing ran"
    );
}

/// Issue 20: the log page — Portico's own log on the dev platform, filtered by words and
/// severity, login required.
#[tokio::test]
async fn the_log_is_filtered_by_words_and_severity() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(&f, get("/settings/log").body(Body::empty()).unwrap()).await;
    assert!(location(&resp).starts_with("/login"));
    let journal = crate::journal::journal();
    journal.write(
        "2026-12-07T06:00:00.000000Z  WARN portico_server::test: log-marker-4711 went wrong\n",
    );
    journal.write(
        "2026-12-07T06:00:01.000000Z  INFO portico_server::test: log-marker-4711 all is well\n",
    );
    let page = |query: &str| {
        let req = with_cookie(
            get(&format!("/settings/log?{query}"))
                .body(Body::empty())
                .unwrap(),
            &cookie,
        );
        async { body(send(&f, req).await).await }
    };
    let html = page("q=LOG-MARKER-4711").await;
    assert!(
        html.contains("went wrong") && html.contains("all is well"),
        "words match in any case"
    );
    assert!(html.contains("2 lines match."));
    assert!(
        html.contains("Portico's own log"),
        "the dev platform has no system log"
    );
    let html = page("q=log-marker-4711&level=warn").await;
    assert!(html.contains("went wrong") && !html.contains("all is well"));
    assert!(html.contains("data-level=\"warn\""));
    let html = page("q=log-marker-4711&level=error").await;
    assert!(html.contains("0 lines match."));
}
