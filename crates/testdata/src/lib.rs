//! Where tests and benchmarks find the real data they check against (`../shared`: fixtures
//! and protocol vectors). It is never copied into the repository; CI has it beside the clone.

use std::path::{Path, PathBuf};

/// `PORTICO_SHARED`, else the `shared` folder beside the clone (found walking up from this
/// crate, so it works from any workspace member and from a clone anywhere).
///
/// # Panics
/// When neither exists: the tests cannot run without it, and say where they looked.
pub fn shared() -> PathBuf {
    if let Some(dir) = std::env::var_os("PORTICO_SHARED") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("../shared"))
        .find(|candidate| candidate.join("fixtures").is_dir())
        .expect("the shared folder beside the clone was not found: set PORTICO_SHARED")
}
