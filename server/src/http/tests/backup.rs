//! Issue 20: backup and restore — the download is a sysupgrade-style archive; a restore is
//! checked (not a backup, a broken file with its line and byte), shown as its diff, applied
//! with the rollback waiting, and brings the settings back.

use super::*;

fn upload(cookie: &str, bytes: &[u8]) -> Request<Body> {
    multipart("/settings/backup/restore", cookie, "backup", bytes)
}

#[tokio::test]
async fn a_backup_comes_back_through_its_diff_and_a_checked_apply() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(
        &f,
        get("/settings/backup.tar.gz").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(
        location(&resp).starts_with("/login"),
        "a backup has the passwords: login first"
    );
    let resp = send(
        &f,
        with_cookie(
            get("/settings/backup.tar.gz").body(Body::empty()).unwrap(),
            &cookie,
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let disposition = resp.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"backup-gartenhaus-"),
        "{disposition}"
    );
    let saved = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();

    // Something changes after the backup: a port forward, kept.
    let resp = send(
        &f,
        with_cookie(
            form(
                "/settings/forwards",
                "action=apply&name=web&proto=tcp&external=8443&ip=192.168.1.50&internal=",
            ),
            &cookie,
        ),
    )
    .await;
    assert_eq!(location(&resp), "/settings/forwards?applied=1");
    let resp = send(&f, with_cookie(form("/apply/confirm", "back=%2F"), &cookie)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // The restore: reviewed (the forward goes away in the diff), applied, the rollback waits.
    let resp = send(&f, upload(&cookie, &saved)).await;
    let review = location(&resp).to_owned();
    assert!(review.starts_with("/settings/backup?review="), "{review}");
    let html = page_html(&f, &cookie, &review).await;
    assert!(
        html.contains("etc/config/firewall"),
        "the files it restores"
    );
    assert!(
        html.contains("-config redirect"),
        "the diff removes the forward"
    );
    assert!(
        html.contains("etc/shadow"),
        "what it leaves alone is listed"
    );
    let token = review.trim_start_matches("/settings/backup?review=");
    let resp = send(
        &f,
        with_cookie(
            form("/settings/backup/apply", &format!("token={token}")),
            &cookie,
        ),
    )
    .await;
    assert_eq!(location(&resp), "/settings/backup?applied=1");
    assert!(f.state.applier.status().is_pending());
    let firewall = std::fs::read_to_string(f.root.join("etc/config/firewall")).unwrap();
    assert!(!firewall.contains("fwd_web"), "back as it was");
    // The token is spent.
    let resp = send(
        &f,
        with_cookie(
            form("/settings/backup/apply", &format!("token={token}")),
            &cookie,
        ),
    )
    .await;
    assert_eq!(location(&resp), "/settings/backup?error=expired");
}

#[tokio::test]
async fn uploads_that_cannot_be_restored_say_why() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(&f, upload(&cookie, b"not an archive")).await;
    assert_eq!(location(&resp), "/settings/backup?error=not-a-backup");
    let html = page_html(&f, &cookie, "/settings/backup?error=not-a-backup").await;
    assert!(html.contains("This file is not a backup"));
    // A settings file with an error names the file, line and byte.
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let text = b"config system\n\toption hostname 'unclosed\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "etc/config/system", text.as_slice())
        .unwrap();
    let bytes = tar.into_inner().unwrap().finish().unwrap();
    let resp = send(&f, upload(&cookie, &bytes)).await;
    let to = location(&resp).to_owned();
    assert!(
        to.starts_with("/settings/backup?error=broken&file=etc%2Fconfig%2Fsystem&line=2"),
        "{to}"
    );
    let html = page_html(&f, &cookie, &to).await;
    assert!(html.contains("etc/config/system has an error in line 2"));
    let system = std::fs::read_to_string(f.root.join("etc/config/system")).unwrap();
    assert!(system.contains("gartenhaus"), "nothing was changed");
    // A review that is no longer there.
    let html = page_html(&f, &cookie, "/settings/backup?review=0000").await;
    assert!(html.contains("waited too long"));
}
