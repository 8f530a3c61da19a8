//! Portico's server: the command line, the HTTP edge and the backend services it drives.
//!
//! `main.rs` only parses the command line; everything here is library code that tests call.

pub mod apply;
pub mod auth;
pub mod backup;
pub mod ble;
pub mod cli;
#[cfg(feature = "communities")]
pub mod communities;
pub mod config;
pub mod firmware;
pub mod http;
pub mod journal;
pub mod kernel;
pub mod lab;
pub mod mesh;
pub mod offload;
pub mod platform;
pub mod portal;
pub mod ports;
pub mod section;
pub mod serve;
pub mod state;
pub mod status;
pub mod tasks;
pub mod web;
pub mod wizard;

/// The shared fixtures folder for unit tests.
#[cfg(test)]
pub(crate) use testdata::shared as test_shared;
