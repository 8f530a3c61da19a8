//! Rule 1 of the namespace lab: know whether this process shares the host's network namespace.

use std::os::unix::fs::MetadataExt;

/// The fixed inode number of the kernel's initial network namespace (`init_net`) on the
/// kernels Portico develops on; used only when `/proc/1/ns/net` cannot be read.
const INIT_NET_INODE: u64 = 0xEFFF_FFF9;

fn ns_id(path: &str) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// True when the calling thread's network namespace is the host's (the init namespace).
///
/// Compares `/proc/thread-self/ns/net` (a thread may have entered another namespace than its
/// process) with `/proc/1/ns/net`. Sandboxes often hide PID 1's
/// namespaces; then the answer is "not the host" only on positive evidence: the namespace is one
/// of the named namespaces under `/run/netns` and is not the kernel's initial one. Anything
/// unknown counts as the host.
pub fn in_host_namespace() -> bool {
    let Some(own) = ns_id("/proc/thread-self/ns/net") else {
        return true;
    };
    if let Some(init) = ns_id("/proc/1/ns/net") {
        return own == init;
    }
    if own.1 == INIT_NET_INODE {
        return true;
    }
    let named = std::fs::read_dir("/run/netns").is_ok_and(|mut dir| {
        dir.any(|e| e.is_ok_and(|e| ns_id(&e.path().to_string_lossy()) == Some(own)))
    });
    !named
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
