//! The mesh inside `serve`: the sync listener on the mesh interface, the announcements, and a
//! round with each known peer after every change and every [`IDLE_ROUND`] otherwise.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::wire::{self, Channel};
use super::{Membership, Settings, sync};
use crate::portal::vouchers::{self, Vouchers};
use crate::state::{Node, StateDb};

/// A round with every peer at least this often, changes or not.
pub const IDLE_ROUND: Duration = Duration::from_secs(30);
/// How often a node says on the mesh interface that it is there.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);
/// How often the store is looked at for local changes.
const LOOK: Duration = Duration::from_millis(500);
/// Rounds served at once; more wait (a flood cannot take the node's memory).
const MAX_SESSIONS: usize = 8;
/// Peers heard of (announcements, incoming rounds) beyond the configured ones.
const MAX_DISCOVERED: usize = 64;
/// A whole round's deadline.
const ROUND: Duration = Duration::from_secs(60);
/// What an announcement starts with (then 8 bytes of node id and the 2-byte port).
const MAGIC: &[u8] = b"portico-mesh/1";

/// What this node knows of a peer.
#[derive(Clone, Debug, Default)]
struct Peer {
    configured: bool,
    /// The store's state (its generation) at the last successful round.
    synced_at: Option<(i64, i64)>,
    last_round: Option<Instant>,
    failures: u32,
    next_try: Option<Instant>,
}

/// The running mesh.
pub struct Mesh {
    store: Vouchers,
    db: StateDb,
    node: Node,
    /// This router's name for the others (its host name).
    name: String,
    /// The membership as the state database has it (read again every [`LOOK`]: `portico mesh
    /// join` and the admin page take effect without a restart).
    membership: RwLock<Option<Membership>>,
    settings: Settings,
    /// Called after a merge changed this node's vouchers (the portal rebuilds its set).
    on_change: Arc<dyn Fn() + Send + Sync>,
    peers: Mutex<BTreeMap<SocketAddr, Peer>>,
    /// Addresses that turned out to be this node's own (never tried again).
    myself: Mutex<std::collections::BTreeSet<SocketAddr>>,
    wake: tokio::sync::Notify,
    sessions: Arc<tokio::sync::Semaphore>,
}

impl Mesh {
    /// Starts the mesh: listener, announcements and rounds, as tasks of the current runtime.
    /// They do nothing while this node is in no community.
    ///
    /// # Errors
    /// The state database could not be read.
    pub fn start(
        db: &StateDb,
        settings: Settings,
        name: String,
        on_change: Arc<dyn Fn() + Send + Sync>,
    ) -> anyhow::Result<Arc<Mesh>> {
        let membership = Membership::load(db)?;
        let store = Vouchers::open(db.clone())?;
        let peers = settings
            .peers
            .iter()
            .map(|a| {
                (
                    *a,
                    Peer {
                        configured: true,
                        ..Peer::default()
                    },
                )
            })
            .collect();
        let mesh = Arc::new(Mesh {
            store,
            db: db.clone(),
            node: db.node()?,
            name,
            membership: RwLock::new(membership),
            settings,
            on_change,
            peers: Mutex::new(peers),
            myself: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            sessions: Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS)),
        });
        mesh.announce_membership();
        tokio::spawn(Arc::clone(&mesh).listen());
        if mesh.settings.announce {
            tokio::spawn(Arc::clone(&mesh).announce());
        }
        tokio::spawn(Arc::clone(&mesh).rounds());
        Ok(mesh)
    }

    /// The community key, while this node is a member.
    fn key(&self) -> Option<super::Key> {
        self.membership
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|m| m.key)
    }

    fn announce_membership(&self) {
        let membership = self
            .membership
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = &*membership {
            tracing::info!(
                community = %m.community,
                node = %hex::encode(self.node.id()),
                interface = %self.settings.interface,
                port = self.settings.port,
                "mesh: member"
            );
        } else {
            tracing::info!("mesh: in no community");
        }
    }

    /// Reads the membership again; a new one (joined, left, another community) starts afresh
    /// with the configured peers only.
    fn reload(&self) {
        let Ok(now) = Membership::load(&self.db) else {
            return;
        };
        {
            let mut current = self
                .membership
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *current == now {
                return;
            }
            *current = now;
        }
        self.peers().retain(|_, p| p.configured);
        for peer in self.peers().values_mut() {
            *peer = Peer {
                configured: true,
                ..Peer::default()
            };
        }
        self.announce_membership();
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, BTreeMap<SocketAddr, Peer>> {
        self.peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A peer heard of (an announcement, or a member that started a round here).
    fn discovered(&self, addr: SocketAddr) {
        if self
            .myself
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&addr)
        {
            return;
        }
        let mut peers = self.peers();
        if !peers.contains_key(&addr) && peers.len() < self.settings.peers.len() + MAX_DISCOVERED {
            tracing::info!(%addr, "mesh: new peer");
            peers.insert(addr, Peer::default());
            drop(peers);
            self.wake.notify_one();
        }
    }

    /// The store's generation: changes whenever anyone wrote to it.
    fn generation(&self) -> (i64, i64) {
        self.db
            .with(|c| {
                Ok((
                    c.query_row("PRAGMA data_version", [], |r| r.get(0))?,
                    c.query_row("SELECT total_changes()", [], |r| r.get(0))?,
                ))
            })
            .unwrap_or_default()
    }

    /// A socket on the mesh interface only.
    fn socket(&self, kind: socket2::Type) -> std::io::Result<socket2::Socket> {
        let socket = socket2::Socket::new(socket2::Domain::IPV6, kind, None)?;
        socket.set_only_v6(false)?;
        socket.set_reuse_address(true)?;
        socket.bind_device(Some(self.settings.interface.as_bytes()))?;
        socket.set_nonblocking(true)?;
        let any = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), self.settings.port);
        socket.bind(&any.into())?;
        Ok(socket)
    }

    /// Accepts rounds from members on the mesh interface (waiting for the interface to
    /// appear when it is not there yet).
    async fn listen(self: Arc<Self>) {
        let listener = loop {
            match self.socket(socket2::Type::STREAM).and_then(|s| {
                s.listen(16)?;
                TcpListener::from_std(s.into())
            }) {
                Ok(l) => break l,
                Err(err) => {
                    tracing::warn!(%err, interface = %self.settings.interface, "mesh: cannot listen yet; trying again in 10 s");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        };
        loop {
            let Ok((stream, from)) = listener.accept().await else {
                continue;
            };
            let Ok(permit) = Arc::clone(&self.sessions).acquire_owned().await else {
                return;
            };
            let mesh = Arc::clone(&self);
            tokio::spawn(async move {
                let result = tokio::time::timeout(ROUND, mesh.serve_round(stream)).await;
                drop(permit);
                match result {
                    Ok(Ok(outcome)) => {
                        // A member: worth a round back (it listens on the community's port).
                        let back = with_port(from, mesh.settings.port);
                        mesh.discovered(back);
                        mesh.record(back, Ok(&outcome));
                    }
                    Ok(Err(err)) => tracing::info!(%from, %err, "mesh: incoming round failed"),
                    Err(_) => tracing::info!(%from, "mesh: incoming round took too long"),
                }
            });
        }
    }

    async fn serve_round(&self, stream: TcpStream) -> Result<sync::Outcome, sync::Error> {
        // In no community: the connection is closed unanswered.
        let key = self.key().ok_or(wire::Error::NotMember)?;
        let mut ch = Channel::accept(stream, &self.node, &key).await?;
        let outcome = sync::respond(&mut ch, &self.store, &self.name).await?;
        self.changed(&outcome).await;
        Ok(outcome)
    }

    /// After a round: the portal follows a changed store, and the other peers hear of it.
    async fn changed(&self, outcome: &sync::Outcome) {
        if outcome.changed.is_empty() {
            return;
        }
        tracing::info!(
            peer = %hex::encode(outcome.peer),
            vouchers = outcome.changed.len(),
            "mesh: vouchers changed by a peer"
        );
        let on_change = Arc::clone(&self.on_change);
        let _ = tokio::task::spawn_blocking(move || on_change()).await;
        self.wake.notify_one();
    }

    /// Says on the mesh interface that this node is here, and hears the others.
    async fn announce(self: Arc<Self>) {
        let socket = loop {
            match self
                .socket(socket2::Type::DGRAM)
                .and_then(|s| UdpSocket::from_std(s.into()))
            {
                Ok(s) => break s,
                Err(err) => {
                    tracing::debug!(%err, "mesh: no announcement socket yet");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        };
        let scope = nix::net::if_::if_nametoindex(self.settings.interface.as_str()).unwrap_or(0);
        let to = SocketAddrV6::new(
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
            self.settings.port,
            0,
            scope,
        );
        let mut message = MAGIC.to_vec();
        message.extend_from_slice(&self.node.id());
        message.extend_from_slice(&self.settings.port.to_be_bytes());
        let mut tick = tokio::time::interval(ANNOUNCE_EVERY);
        let mut buf = [0; 64];
        let mut warned = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if self.key().is_none() {
                        continue;
                    }
                    if let Err(err) = socket.send_to(&message, to).await && !warned {
                        tracing::info!(%err, "mesh: cannot announce on the mesh interface");
                        warned = true;
                    }
                }
                Ok((n, from)) = socket.recv_from(&mut buf) => {
                    if let Some(port) = heard(&buf[..n], self.node.id()).filter(|_| self.key().is_some()) {
                        self.discovered(with_port(from, port));
                    }
                }
            }
        }
    }

    /// Rounds with the peers that are due: after a change here, after [`IDLE_ROUND`], not
    /// before a failed peer's back-off ends.
    async fn rounds(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(LOOK) => {}
            }
            self.reload();
            if self.key().is_none() {
                continue;
            }
            let generation = self.generation();
            let now = Instant::now();
            let due: Vec<SocketAddr> = self
                .peers()
                .iter()
                .filter(|(_, p)| p.next_try.is_none_or(|t| now >= t))
                .filter(|(_, p)| {
                    p.synced_at != Some(generation)
                        || p.last_round
                            .is_none_or(|t| now.duration_since(t) >= IDLE_ROUND)
                })
                .map(|(a, _)| *a)
                .collect();
            for addr in due {
                let result = tokio::time::timeout(ROUND, self.round(addr)).await;
                let result = result.unwrap_or(Err(sync::Error::Wire(wire::Error::Timeout)));
                match &result {
                    Ok(outcome) => self.changed(outcome).await,
                    // This node's own address (it heard itself, or a round came from here):
                    // forgotten unless the admin listed it.
                    Err(sync::Error::Wire(wire::Error::Myself))
                        if !self.peers().get(&addr).is_some_and(|p| p.configured) =>
                    {
                        self.peers().remove(&addr);
                        self.myself
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(addr);
                        continue;
                    }
                    Err(_) => {}
                }
                self.record(addr, result.as_ref());
            }
        }
    }

    async fn round(&self, addr: SocketAddr) -> Result<sync::Outcome, sync::Error> {
        let key = self.key().ok_or(wire::Error::NotMember)?;
        let stream = tokio::time::timeout(wire::DEADLINE, TcpStream::connect(addr))
            .await
            .map_err(|_| wire::Error::Timeout)?
            .map_err(wire::Error::Io)?;
        let mut ch = Channel::connect(stream, &self.node, &key).await?;
        sync::initiate(&mut ch, &self.store, &self.name).await
    }

    /// Remembers a round's result, in memory (for scheduling) and in the state database (for
    /// `portico mesh status` and the admin page).
    fn record(&self, addr: SocketAddr, result: Result<&sync::Outcome, &sync::Error>) {
        let generation = self.generation();
        let now = Instant::now();
        {
            let mut peers = self.peers();
            // Only peers this node knows (an incoming round from its own address is not one).
            let Some(peer) = peers.get_mut(&addr) else {
                return;
            };
            peer.last_round = Some(now);
            if result.is_ok() {
                peer.synced_at = Some(generation);
                peer.failures = 0;
                peer.next_try = None;
            } else {
                peer.synced_at = None;
                peer.failures = peer.failures.saturating_add(1);
                let wait = Duration::from_secs(2u64.saturating_pow(peer.failures.min(5)));
                peer.next_try = Some(now + wait);
            }
        }
        let wall = vouchers::now();
        let written = self.db.with(|c| match result {
            Ok(o) => c.execute(
                "INSERT INTO mesh_peers (address, node, name, last_sync, in_sync, skew_ms, last_error, sent, received)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, NULL, ?6, ?7)
                 ON CONFLICT (address) DO UPDATE SET node = excluded.node, name = excluded.name,
                     last_sync = excluded.last_sync, in_sync = 1, skew_ms = excluded.skew_ms,
                     last_error = NULL, error_code = NULL, sent = sent + excluded.sent, received = received + excluded.received",
                rusqlite::params![addr.to_string(), &o.peer[..], o.name, wall, o.skew_ms,
                    i64::try_from(o.sent).unwrap_or(i64::MAX), i64::try_from(o.received).unwrap_or(i64::MAX)],
            ),
            Err(err) => c.execute(
                "INSERT INTO mesh_peers (address, in_sync, last_error, error_code) VALUES (?1, 0, ?2, ?3)
                 ON CONFLICT (address) DO UPDATE SET in_sync = 0, last_error = excluded.last_error,
                     error_code = excluded.error_code",
                rusqlite::params![addr.to_string(), err.to_string(), err.code()],
            ),
        });
        if let Err(err) = written {
            tracing::warn!(%err, "mesh: peer status not written");
        }
        match result {
            Ok(o) => {
                tracing::debug!(%addr, changed = o.changed.len(), sent = o.sent_entries, "mesh: round");
            }
            Err(err) => tracing::info!(%addr, %err, "mesh: round failed"),
        }
    }
}

/// The same address with another port.
fn with_port(mut addr: SocketAddr, port: u16) -> SocketAddr {
    addr.set_port(port);
    addr
}

/// The port an announcement gives, when it is another node's.
fn heard(message: &[u8], me: [u8; 8]) -> Option<u16> {
    let rest = message.strip_prefix(MAGIC)?;
    let (node, port) = (rest.get(..8)?, rest.get(8..10)?);
    (rest.len() == 10 && node != me)
        .then(|| u16::from_be_bytes([port[0], port[1]]))
        .filter(|p| *p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_read_strictly() {
        let me = [1; 8];
        let mut m = MAGIC.to_vec();
        m.extend_from_slice(&[2; 8]);
        m.extend_from_slice(&4790u16.to_be_bytes());
        assert_eq!(heard(&m, me), Some(4790));
        assert_eq!(heard(&m, [2; 8]), None, "my own");
        assert_eq!(heard(&m[..m.len() - 1], me), None);
        assert_eq!(heard(b"hello", me), None);
    }
}
