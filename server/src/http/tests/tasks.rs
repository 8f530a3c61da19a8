//! Issue 20: port forwards and fixed addresses — a refused form comes back with what was
//! typed and why next to each field; a change is shown as its diff first, then applied with
//! the rollback waiting; removing works the same way.

use super::*;

async fn post(f: &Fixture, cookie: &str, path: &str, form_body: &str) -> String {
    let resp = send(f, with_cookie(form(path, form_body), cookie)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path} {form_body}");
    location(&resp).to_owned()
}

async fn keep(f: &Fixture, cookie: &str) {
    let resp = send(f, with_cookie(form("/apply/confirm", "back=%2F"), cookie)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(!f.state.applier.status().is_pending());
}

#[tokio::test]
async fn the_task_pages_need_a_login() {
    let f = fixture(true);
    let _ = set_up(&f).await;
    for path in ["/settings/forwards", "/settings/leases"] {
        let resp = send(&f, get(path).body(Body::empty()).unwrap()).await;
        assert!(location(&resp).starts_with("/login"), "{path}");
        let resp = send(&f, form(path, "action=review")).await;
        assert!(location(&resp).starts_with("/login"), "{path}");
    }
}

#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one story: refused, reviewed, applied, kept, removed"
)]
async fn a_port_forward_is_reviewed_applied_and_removed() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let page = page_html(&f, &cookie, "/settings/forwards").await;
    assert!(page.contains("<title>Port forwards · Portico</title>"));
    assert!(page.contains("No port is forwarded."));
    // Refused: each field says why, and keeps what was typed.
    let to = post(
        &f,
        &cookie,
        "/settings/forwards",
        "action=review&name=Camera&proto=tcp&external=99999&ip=10.0.0.5&internal=",
    )
    .await;
    assert!(
        to.contains("err.external=port")
            && to.contains("err.ip=not-lan")
            && to.contains("f.name=Camera"),
        "{to}"
    );
    let page = page_html(&f, &cookie, &to).await;
    assert!(page.contains("A port is a number from 1 to 65535"));
    assert!(page.contains("This address is not in the local network."));
    assert!(
        page.contains("value=\"Camera\"") && page.contains("value=\"99999\""),
        "typed values stay"
    );
    // Reviewed: the diff, with an Apply that sends the values again.
    let to = post(
        &f,
        &cookie,
        "/settings/forwards",
        "action=review&name=Camera&proto=tcp&external=8443&ip=192.168.1.50&internal=443",
    )
    .await;
    assert!(to.starts_with("/settings/forwards?review=add"), "{to}");
    let page = page_html(&f, &cookie, &to).await;
    assert!(
        page.contains("option src_dport &#x27;8443&#x27;")
            || page.contains("option src_dport '8443'"),
        "the diff"
    );
    assert!(page.contains("value=\"apply\""));
    assert!(
        !f.state.applier.status().is_pending(),
        "nothing applied by a review"
    );
    // Applied with the rollback waiting; the list shows it.
    let to = post(
        &f,
        &cookie,
        "/settings/forwards",
        "action=apply&name=Camera&proto=tcp&external=8443&ip=192.168.1.50&internal=443",
    )
    .await;
    assert_eq!(to, "/settings/forwards?applied=1");
    assert!(f.state.applier.status().is_pending());
    let firewall = std::fs::read_to_string(f.root.join("etc/config/firewall")).unwrap();
    assert!(
        firewall.contains("config redirect 'fwd_camera'")
            && firewall.contains("option dest_port '443'"),
        "{firewall}"
    );
    // A second change waits for the first to be kept.
    let to = post(
        &f,
        &cookie,
        "/settings/forwards",
        "action=apply&name=Other&proto=udp&external=9000&ip=192.168.1.51&internal=",
    )
    .await;
    assert_eq!(to, "/settings/forwards?error=pending");
    keep(&f, &cookie).await;
    let page = page_html(&f, &cookie, "/settings/forwards").await;
    assert!(page.contains("data-id=\"firewall.fwd_camera\""));
    // The same port again is refused.
    let to = post(
        &f,
        &cookie,
        "/settings/forwards",
        "action=review&name=Again&proto=tcp&external=8443&ip=192.168.1.52&internal=",
    )
    .await;
    assert!(to.contains("err.external=taken"), "{to}");
    // Removed: reviewed, applied.
    let to = post(
        &f,
        &cookie,
        "/settings/forwards",
        "action=review-remove&id=firewall.fwd_camera",
    )
    .await;
    let page = page_html(&f, &cookie, &to).await;
    assert!(page.contains("value=\"remove\""));
    let to = post(
        &f,
        &cookie,
        "/settings/forwards",
        "action=remove&id=firewall.fwd_camera",
    )
    .await;
    assert_eq!(to, "/settings/forwards?applied=1");
    let firewall = std::fs::read_to_string(f.root.join("etc/config/firewall")).unwrap();
    assert!(!firewall.contains("fwd_camera"));
    keep(&f, &cookie).await;
    let to = post(
        &f,
        &cookie,
        "/settings/forwards",
        "action=remove&id=firewall.fwd_camera",
    )
    .await;
    assert_eq!(to, "/settings/forwards?error=gone");
}

#[tokio::test]
async fn a_fixed_address_is_checked_and_applied() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let page = page_html(&f, &cookie, "/settings/leases").await;
    assert!(page.contains("<title>Fixed addresses · Portico</title>"));
    let to = post(
        &f,
        &cookie,
        "/settings/leases",
        "action=review&name=bad%20name&mac=01:00:5e:00:00:01&ip=192.168.1.1",
    )
    .await;
    assert!(
        to.contains("err.name=name")
            && to.contains("err.mac=mac")
            && to.contains("err.ip=not-device"),
        "{to}"
    );
    let to = post(
        &f,
        &cookie,
        "/settings/leases",
        "action=apply&name=nas&mac=00-D0-EF-00-00-01&ip=192.168.1.10",
    )
    .await;
    assert_eq!(to, "/settings/leases?applied=1");
    let dhcp = std::fs::read_to_string(f.root.join("etc/config/dhcp")).unwrap();
    assert!(
        dhcp.contains("config host 'host_nas'") && dhcp.contains("option mac '00:d0:ef:00:00:01'"),
        "{dhcp}"
    );
    keep(&f, &cookie).await;
    let to = post(
        &f,
        &cookie,
        "/settings/leases",
        "action=review&name=nas2&mac=00:d0:ef:00:00:01&ip=192.168.1.10",
    )
    .await;
    assert!(
        to.contains("err.mac=mac-taken") && to.contains("err.ip=ip-taken"),
        "{to}"
    );
    let page = page_html(&f, &cookie, "/settings/leases").await;
    assert!(page.contains("data-id=\"dhcp.host_nas\""));
}
