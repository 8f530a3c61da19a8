//! Rule 1 of the namespace lab: know whether this process shares the host's network namespace.

use std::os::unix::fs::MetadataExt;

/// True when this process's network namespace is the init process's (the host's).
///
/// Compares the namespace inodes of `/proc/self/ns/net` and `/proc/1/ns/net`. When either cannot
/// be read the answer is `true`: an unknown namespace is treated as the host's.
pub fn in_host_namespace() -> bool {
    let ns = |path: &str| std::fs::metadata(path).map(|m| (m.dev(), m.ino()));
    match (ns("/proc/self/ns/net"), ns("/proc/1/ns/net")) {
        (Ok(own), Ok(init)) => own == init,
        _ => true,
    }
}

/// Returns an error naming `action` when running in the host's network namespace.
///
/// # Errors
/// [`crate::Error::HostNamespace`] in the host namespace.
pub fn refuse_host_namespace(action: &str) -> crate::Result<()> {
    if in_host_namespace() {
        return Err(crate::Error::HostNamespace(action.to_owned()));
    }
    Ok(())
}
