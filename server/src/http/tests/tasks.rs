//! Issue 20: port forwards, fixed addresses and VPN devices — a refused form comes back with
//! what was typed and why next to each field; a change is shown as its diff first, then
//! applied with the rollback waiting; removing works the same way. A new VPN device's
//! configuration is shown once.

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
    for path in ["/settings/forwards", "/settings/leases", "/settings/vpn"] {
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

/// The value of `name` in a redirect's query.
fn query_value(to: &str, name: &str) -> String {
    to.split(['?', '&'])
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

/// The text of the first `<pre>` of a client configuration on a page.
fn shown_config(page: &str) -> Option<String> {
    let start = page.find("<figure class=\"client\"")?;
    let pre = &page[start..];
    let text = &pre[pre.find("<pre")?..];
    let text = &text[text.find('>')? + 1..text.find("</pre>")?];
    Some(
        text.replace("&#x3D;", "=")
            .replace("&#x2F;", "/")
            .replace("&#x27;", "'"),
    )
}

#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one story: the servers set up, a device added and shown once, one removed, a new OpenVPN file"
)]
async fn vpn_devices_are_added_once_shown_and_removed() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let page = page_html(&f, &cookie, "/settings/vpn").await;
    assert!(page.contains("<title>VPN · Portico</title>"));
    assert!(
        page.contains("The WireGuard server is off."),
        "no server yet"
    );
    assert!(!page.contains("Make a new OpenVPN file"));

    // The servers, set up as a user does: the settings page of the local network.
    let cookies = settings_wizard(&f, &cookie, "/settings/services").await;
    assert_eq!(
        post_step(
            &f,
            &cookies,
            "services",
            "lan.ipaddr=192.168.1.1&lan.netmask=255.255.255.0&dhcp.enabled=on&dhcp.start=100&dhcp.limit=150&dhcp.leasetime=12h\
             &wireguard.enabled=on&wireguard.listen_port=51820&wireguard.address=10.99.0.1%2F24&wireguard.endpoint=vpn.example.org&wireguard.peers=phone\
             &openvpn.enabled=on&openvpn.port=1194&openvpn.proto=udp&openvpn.subnet=10.8.0.0%2F24&openvpn.endpoint=vpn.example.org&action=next"
        )
        .await,
        "/settings/summary"
    );
    let resp = send(&f, wizard_form("/setup/summary", &cookies, "action=apply")).await;
    assert_eq!(location(&resp), "/settings/applied");
    keep(&f, &cookie).await;

    // Set up again, every device would get new keys: the step links to the VPN page instead.
    let services = page_html(&f, &cookie, "/settings/services").await;
    assert_eq!(
        services.matches("This server is set up.").count(),
        2,
        "WireGuard and OpenVPN"
    );
    let page = page_html(&f, &cookie, "/settings/vpn").await;
    assert!(
        page.contains("data-id=\"network.wgpeer_phone\""),
        "the wizard's device"
    );
    assert!(page.contains("port 51820"));
    assert!(page.contains("Make a new OpenVPN file"));

    // Refused: each field says why.
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        "action=review&name=my%20phone&endpoint=vpn%20example",
    )
    .await;
    assert!(
        to.contains("err.name=name") && to.contains("err.endpoint=endpoint"),
        "{to}"
    );
    let page = page_html(&f, &cookie, &to).await;
    assert!(page.contains("Use a name of letters, digits and underscores"));
    assert!(page.contains("value=\"my phone\""), "typed values stay");
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        "action=review&name=PHONE&endpoint=vpn.example.org",
    )
    .await;
    assert!(to.contains("err.name=name-taken"), "{to}");

    // Reviewed: the diff with the device's public key; the apply sends the key's token.
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        "action=review&name=tablet&endpoint=vpn.example.org",
    )
    .await;
    assert!(to.starts_with("/settings/vpn?review=add"), "{to}");
    let key = query_value(&to, "f.key");
    assert!(!key.is_empty(), "{to}");
    let page = page_html(&f, &cookie, &to).await;
    assert!(
        page.contains("wgpeer_tablet") && page.contains("10.99.0.3/32"),
        "the diff"
    );
    assert!(
        !page.contains("PrivateKey"),
        "no private key before the apply"
    );
    assert!(!f.state.applier.status().is_pending());

    // Applied: the configuration is shown once, and the router knows its public key.
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        &format!("action=apply&name=tablet&endpoint=vpn.example.org&key={key}"),
    )
    .await;
    assert!(to.starts_with("/settings/vpn?applied=1&shown="), "{to}");
    assert!(f.state.applier.status().is_pending());
    let page = page_html(&f, &cookie, &to).await;
    let config = shown_config(&page).expect("the configuration");
    let private = config
        .lines()
        .find_map(|l| l.strip_prefix("PrivateKey = "))
        .expect("a private key")
        .to_owned();
    let public = crate::wizard::vpn::public_key(&private).unwrap();
    let network = std::fs::read_to_string(f.root.join("etc/config/network")).unwrap();
    assert!(
        network.contains(&format!("option public_key '{public}'")),
        "{network}"
    );
    assert!(!network.contains(&private), "the private key is not kept");
    assert!(
        config.contains("Endpoint = vpn.example.org:51820"),
        "{config}"
    );
    assert!(page.contains("download=\"tablet.conf\""));
    assert!(page.contains("QR code of the WireGuard configuration for tablet"));
    let again = page_html(&f, &cookie, &to).await;
    assert!(shown_config(&again).is_none(), "shown once");
    keep(&f, &cookie).await;
    // The reviewed key pair was used up.
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        &format!("action=apply&name=tablet2&endpoint=vpn.example.org&key={key}"),
    )
    .await;
    assert_eq!(to, "/settings/vpn?error=expired");

    // Removed: reviewed, applied.
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        "action=review-remove&id=network.wgpeer_phone",
    )
    .await;
    let page = page_html(&f, &cookie, &to).await;
    assert!(page.contains("value=\"remove\""));
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        "action=remove&id=network.wgpeer_phone",
    )
    .await;
    assert_eq!(to, "/settings/vpn?applied=1");
    keep(&f, &cookie).await;
    let page = page_html(&f, &cookie, "/settings/vpn").await;
    assert!(!page.contains("wgpeer_phone") && page.contains("network.wgpeer_tablet"));

    // A new OpenVPN file: a new authority on the router, the file shown once.
    let ca_path = f.root.join(crate::wizard::OPENVPN_DIR).join("ca.crt");
    let old_ca = std::fs::read_to_string(&ca_path).unwrap();
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        "action=reissue&ovpn_endpoint=bad%20name",
    )
    .await;
    assert!(to.contains("err.ovpn_endpoint=endpoint"), "{to}");
    let to = post(
        &f,
        &cookie,
        "/settings/vpn",
        "action=reissue&ovpn_endpoint=vpn.example.org",
    )
    .await;
    assert!(to.starts_with("/settings/vpn?reissued=1&shown="), "{to}");
    let new_ca = std::fs::read_to_string(&ca_path).unwrap();
    assert_ne!(old_ca, new_ca, "earlier files stop working");
    let page = page_html(&f, &cookie, &to).await;
    assert!(page.contains("A new OpenVPN file was made."));
    let ovpn = shown_config(&page).expect("the file");
    assert!(ovpn.contains("remote vpn.example.org 1194"), "{ovpn}");
    assert!(ovpn.contains(new_ca.trim()), "signed by the new authority");
    assert!(page.contains("download=\"gartenhaus.ovpn\""));
    assert!(
        !page.contains("QR code of the WireGuard configuration"),
        "an OpenVPN file has no QR code"
    );
    assert!(
        shown_config(&page_html(&f, &cookie, &to).await).is_none(),
        "shown once"
    );
}
