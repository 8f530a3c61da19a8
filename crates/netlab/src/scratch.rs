//! A scratch namespace: one empty, named network namespace for a test that needs a kernel of
//! its own (nftables, conntrack) but no topology. Named `scratch-t<pid>-<n>` so the stale-lab
//! sweep removes it when its process died; deleted on drop.

use std::os::fd::AsFd as _;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Error, Result};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// An empty named network namespace (only `lo`, brought up).
pub struct Scratch {
    pub name: String,
}

impl Scratch {
    /// Creates it.
    ///
    /// # Errors
    /// When `ip netns add` fails (not root).
    pub fn new() -> Result<Scratch> {
        let name = format!(
            "scratch-t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        crate::lab::run_command(Command::new("ip").args(["netns", "add", &name]))?;
        let scratch = Scratch { name };
        crate::lab::run_command(Command::new("ip").args([
            "-n",
            &scratch.name,
            "link",
            "set",
            "lo",
            "up",
        ]))?;
        Ok(scratch)
    }

    /// Moves the calling thread into the namespace (see [`enter`]).
    ///
    /// # Errors
    /// When the namespace file cannot be opened or entered.
    pub fn enter(&self) -> Result<()> {
        enter(&self.name)
    }

    /// Runs `f` on a new thread inside the namespace and returns its result.
    ///
    /// # Panics
    /// When the namespace cannot be entered or `f` panics (the test fails).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.enter().expect("enter the scratch namespace");
                assert!(!crate::in_host_namespace(), "still in the host namespace");
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Moves the calling thread into the named namespace `ns` (only this thread: run the work on
/// a thread of its own). Sockets it opens and processes it starts afterwards are in `ns`.
///
/// # Errors
/// When the namespace file cannot be opened or entered.
pub fn enter(ns: &str) -> Result<()> {
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).map_err(|source| {
        Error::Sys {
            what: format!("entering {path}"),
            source,
        }
    })
}
