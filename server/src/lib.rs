//! Portico's server: the command line, the HTTP edge and the backend services it drives.
//!
//! `main.rs` only parses the command line; everything here is library code that tests call.

pub mod apply;
pub mod auth;
pub mod ble;
pub mod cli;
pub mod communities;
pub mod config;
pub mod conntest;
pub mod detect;
pub mod http;
pub mod kernel;
pub mod lab;
pub mod openvpn;
pub mod platform;
pub mod portal;
pub mod serve;
pub mod state;
pub mod wizard;

/// The shared fixtures folder for unit tests (`PORTICO_SHARED`, else `../shared` beside the
/// workspace).
#[cfg(test)]
pub(crate) fn test_shared() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("PORTICO_SHARED") {
        return dir.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("../shared"))
        .find(|d| d.join("fixtures").is_dir())
        .expect("the shared folder (set PORTICO_SHARED)")
}
