//! Rule 3 of the namespace lab: the host reaches the lab only through loopback forwarders.
//!
//! A forwarder listens on a host loopback address and, for every connection, opens the
//! upstream connection from inside the lab's client namespace, so the router sees an ordinary
//! LAN client. The listening sockets are created in the host namespace first; then the
//! forwarding thread enters the client namespace (`setns` changes only the calling thread), so
//! every upstream socket it creates belongs to the client namespace. No host route into the
//! lab and no host-side interface exist.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sched::{CloneFlags, setns};
use tokio::net::{TcpListener, TcpStream};

use crate::{Error, Result};

/// One forwarded port: host loopback `listen` → `upstream` as seen from the client namespace.
#[derive(Clone, Copy, Debug)]
pub struct Forward {
    pub listen: SocketAddr,
    pub upstream: SocketAddr,
}

/// Runs the forwarders until the process ends. Blocks the calling thread.
///
/// # Errors
/// When a listen address is not loopback, cannot be bound, or the namespace cannot be entered.
pub fn run(netns: &str, forwards: &[Forward]) -> Result<()> {
    let mut listeners = Vec::new();
    for f in forwards {
        if !f.listen.ip().is_loopback() {
            return Err(Error::Command {
                command: "lab forward".into(),
                stderr: format!(
                    "{} is not a loopback address; the host reaches the lab only through loopback",
                    f.listen
                ),
            });
        }
        // Bound in the host namespace, before entering the lab.
        let listener = std::net::TcpListener::bind(f.listen).map_err(|source| Error::Io {
            path: f.listen.to_string(),
            source,
        })?;
        listener.set_nonblocking(true).map_err(|source| Error::Io {
            path: f.listen.to_string(),
            source,
        })?;
        listeners.push((listener, f.upstream));
    }
    enter_namespace(netns)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: "tokio runtime".into(),
            source,
        })?;
    runtime.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for (listener, upstream) in listeners {
            let listener = TcpListener::from_std(listener).map_err(|source| Error::Io {
                path: "listener".into(),
                source,
            })?;
            tasks.spawn(serve(listener, upstream));
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
    })
}

/// Moves the calling thread into the named namespace (`/run/netns/<name>`).
///
/// # Errors
/// When the namespace does not exist or `setns` fails.
pub fn enter_namespace(netns: &str) -> Result<()> {
    let path = Path::new("/run/netns").join(netns);
    let file = std::fs::File::open(&path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    setns(file.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| Error::Sys {
        what: format!("setns {netns}"),
        source,
    })
}

async fn serve(listener: TcpListener, upstream: SocketAddr) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            // Created on this (namespaced) thread: the socket lives in the client namespace.
            match TcpStream::connect(upstream).await {
                Ok(mut outbound) => {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
                Err(err) => {
                    tracing::warn!(%upstream, %err, "lab forwarder could not reach the router");
                }
            }
        });
    }
}
