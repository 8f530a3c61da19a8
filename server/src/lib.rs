//! Portico's server: the command line, the HTTP edge and the backend services it drives.
//!
//! `main.rs` only parses the command line; everything here is library code that tests call.

pub mod apply;
pub mod auth;
pub mod cli;
pub mod config;
pub mod http;
pub mod lab;
pub mod platform;
pub mod serve;
pub mod state;
