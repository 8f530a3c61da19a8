//! Issue 20: firmware — an uploaded image is checked (its metadata: version, boards,
//! signature) and, on the dev platform, never flashed, which the page says in words.

use super::*;
use crate::firmware::tests::{JSON, image};

fn upload(cookie: &str, bytes: &[u8]) -> Request<Body> {
    multipart("/settings/firmware", cookie, "image", bytes)
}

#[tokio::test]
async fn an_image_is_checked_and_the_dev_platform_never_flashes_it() {
    let f = fixture(true);
    let cookie = set_up(&f).await;
    let resp = send(&f, form("/settings/firmware/flash", "keep=on")).await;
    assert!(location(&resp).starts_with("/login"), "login first");

    let firmware = vec![0x5a; 300_000];
    let resp = send(&f, upload(&cookie, &image(&firmware, Some(JSON), true))).await;
    assert_eq!(location(&resp), "/settings/firmware?checked=1");
    let html = page_html(&f, &cookie, "/settings/firmware?checked=1").await;
    assert!(html.contains("It installs OpenWrt 23.05.3."));
    assert!(html.contains("Made for: glinet,gl-mt6000"));
    assert!(html.contains("It carries a signature."));
    assert!(
        html.contains("does not know its board"),
        "the dev platform has no board"
    );
    assert!(html.contains("images are checked but never flashed"));
    let resp = send(
        &f,
        with_cookie(form("/settings/firmware/flash", "keep=on"), &cookie),
    )
    .await;
    assert_eq!(location(&resp), "/settings/firmware?error=not-here");
    let html = page_html(&f, &cookie, "/settings/firmware?error=not-here").await;
    assert!(html.contains("Flashing is not possible on this development platform"));

    // A vendor image (no metadata): said so, and never flashed.
    let resp = send(&f, upload(&cookie, &firmware)).await;
    assert_eq!(location(&resp), "/settings/firmware?checked=1");
    let html = page_html(&f, &cookie, "/settings/firmware").await;
    assert!(html.contains("it is not an OpenWrt sysupgrade image"));
    let resp = send(
        &f,
        with_cookie(form("/settings/firmware/flash", "keep=on"), &cookie),
    )
    .await;
    assert_eq!(location(&resp), "/settings/firmware?error=unfit");
    let resp = send(&f, upload(&cookie, b"")).await;
    assert_eq!(location(&resp), "/settings/firmware?error=missing");
    // Larger than any router's image: stopped while streaming, said in words, nothing kept.
    let huge = vec![0u8; usize::try_from(crate::firmware::MAX_IMAGE).unwrap() + 1];
    let resp = send(&f, upload(&cookie, &huge)).await;
    assert_eq!(location(&resp), "/settings/firmware?error=too-big");
    assert!(!f.root.join("tmp/firmware.bin").exists());
}
