//! The setup wizard: its answers as UCI edits (`edits`, `vpn`), the plan that applies them
//! (`plan`), each browser's wizard between steps (`session`), what it finds on the WAN cable
//! (`detect`), the connection test after Apply (`conntest`), QR codes (`qr`) and the command
//! line (`cli`). The rules a user's answers must follow are shared with the browser
//! (`app::wizard`); this module adds what needs the router. The HTTP edge (`http/wizard.rs`)
//! only translates requests into calls here.

pub mod cli;
pub mod conntest;
pub mod detect;
mod edits;
pub mod openvpn;
mod plan;
pub mod qr;
pub mod session;
pub mod vpn;

pub use edits::{check, current_lan, edits, lan_alias, lan_cidr, router_checks};
pub use plan::{Plan, plan};
pub use vpn::{ClientConfig, KeyPool, OPENVPN_DIR, openvpn_edits, wireguard_edits, wireguard_keys};

#[cfg(test)]
mod tests;
