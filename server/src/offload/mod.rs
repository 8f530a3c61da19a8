//! Firewall offload: an eBPF fast path for established flows (XDP or TC), driven by conntrack
//! events, with per-flow counters and a watchdog that fails open.
//!
//! - `bpf/offload.c` + `bpf/offload.h`: the programs and their map types (the build script
//!   compiles them and generates [`abi`] from the header);
//! - [`fastpath`]: loading, attaching, the maps.

pub mod abi;
pub mod fastpath;

pub use fastpath::{Counters, FastPath, FastPathError, Hook, Mode};

#[cfg(test)]
mod tests;
