//! Network-namespace labs: the development lab (`portico lab up`) and small per-test labs.
//!
//! This crate owns the three hard rules of design.md's namespace lab:
//! 1. [`refuse_host_namespace`] — kernel-touching code calls it first and stops when it runs in
//!    the host's (init) network namespace;
//! 2. every interface is created inside its namespace (`ip -n NS …`), veth peers are handed
//!    straight to the other namespace, nothing is ever created in or moved out of the host;
//! 3. the host reaches a lab only through [`forward`]'s loopback forwarders, which open their
//!    upstream connections from inside the lab's client namespace.
//!
//! It never runs a DHCP client in the host namespace and never writes the host's resolv.conf:
//! per-namespace resolv.conf files live under `/etc/netns/<ns>/`.

pub mod forward;
pub mod guard;
pub mod lab;
pub mod scratch;
pub mod sink;

pub use guard::{in_host_namespace, refuse_host_namespace};
pub use lab::{Lab, LabSpec, NodeRole};
pub use scratch::Scratch;

/// Why a lab operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller runs in the host's network namespace, where kernel changes are forbidden.
    #[error(
        "refusing to {0}: this process is in the host's network namespace (design.md, namespace lab rule 1)"
    )]
    HostNamespace(String),
    /// An external command (`ip`, `dnsmasq`, `busybox`, ...) failed.
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    /// An external command could not be started at all.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// A file of the lab (pid, lease, config) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A lab part did not come up before its deadline.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
