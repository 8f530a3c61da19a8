//! The captive portal (design.md): vouchers in the state database; the portal pages, the
//! nftables enforcement and the RFC 8908 API build on them.

pub mod cli;
pub mod nft;
pub mod vouchers;
