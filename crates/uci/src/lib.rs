//! OpenWrt's UCI configuration format, byte-compatible with the C `uci` tool.
//!
//! * [`parse`] reads a config file the way libuci does (same quirks, same error text, line and
//!   byte), strictly or leniently;
//! * [`emit`] writes `export`, the committed file and `show` output identical to `uci`'s;
//! * [`delta`] reads and writes uci change files; [`ptr`] resolves `pkg.section.option`
//!   references and performs `set`, `add_list`, `delete`, ... with libuci's semantics;
//! * [`store`] loads and commits files atomically under a lock; [`cli`] is the `uci` command.
//!
//! The crate has no dependency on Portico's server and builds and tests alone.

#![allow(
    clippy::missing_errors_doc,
    reason = "the error types (ParseError, UciError, LoadError) document each failure; repeating it per function adds nothing"
)]

pub mod changeset;
pub mod cli;
pub mod delta;
pub mod emit;
pub mod model;
pub mod parse;
pub mod ptr;
pub mod store;
pub mod views;

pub use changeset::{ChangeError, ChangeSet, Committed, Edit, EditError, Snapshot};
pub use model::{Opt, Package, Section, Value};
pub use parse::{ParseError, parse, parse_lenient};
pub use store::Store;
