//! Bluetooth LE for the qaul messenger (design.md: `ble`, bluer ◀▶ qaul framing ◀▶ peer
//! table). The wire protocols are `crates/qaul-ble`; [`radio`] moves their bytes through BlueZ;
//! [`libqaul`] lets libqaul drive the module over `qaul.sys.ble`; this file holds what they
//! share: the peer table, the send path and the events. Without BlueZ (no D-Bus, no adapter)
//! Portico keeps running and says why Bluetooth is unavailable. The small router variant
//! (`--no-default-features`) has no radio: the page and libqaul say that this build has none.

pub mod libqaul;
#[cfg(feature = "ble")]
pub mod radio;
mod settings;
pub mod test_message;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
#[cfg(feature = "ble")]
use std::time::Duration;
use std::time::Instant;

use qaul_ble::Q8id;
use qaul_ble::proto::{self, ble::Message};
use tokio::sync::{broadcast, mpsc, watch};

pub use settings::{Generations, KEYS, Settings, parse_q8id};

/// The radio tries again after this long when BlueZ is not there, doubling up to
/// [`RETRY_MAX`].
#[cfg(feature = "ble")]
const RETRY_FIRST: Duration = Duration::from_secs(5);
#[cfg(feature = "ble")]
const RETRY_MAX: Duration = Duration::from_secs(60);

/// How long BlueZ may take to answer before it counts as unavailable.
#[cfg(feature = "ble")]
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why Bluetooth, or the link, is not available: the categories the page explains in the
/// user's language (the raw detail stays in the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The small variant, built without Bluetooth.
    NotBuilt,
    /// No D-Bus or no bluetoothd.
    NoBluez,
    /// BlueZ runs but reports no adapter (or not the one configured).
    NoAdapter,
    /// Every adapter is powered off.
    PoweredOff,
    /// BlueZ did not answer in time.
    NoAnswer,
    /// `ble.enabled` is `0`.
    SwitchedOff,
    /// BlueZ ended the link's session (or the link was stopped); it starts again.
    Ended,
    /// Anything else, with BlueZ's words.
    Other(String),
}

impl Cause {
    /// Whether the link waits for Bluetooth itself (rather than failing on its own).
    pub fn is_bluetooth_missing(&self) -> bool {
        matches!(
            self,
            Cause::NotBuilt
                | Cause::NoBluez
                | Cause::NoAdapter
                | Cause::PoweredOff
                | Cause::NoAnswer
        )
    }
}

/// The category of a BlueZ error.
#[cfg(feature = "ble")]
pub fn cause_of(error: &bluer::Error) -> Cause {
    use bluer::{ErrorKind, InternalErrorKind};
    match &error.kind {
        ErrorKind::Internal(InternalErrorKind::DBus(_) | InternalErrorKind::DBusConnectionLost) => {
            Cause::NoBluez
        }
        ErrorKind::NotFound | ErrorKind::DoesNotExist | ErrorKind::InvalidName(_) => {
            Cause::NoAdapter
        }
        ErrorKind::NotReady => Cause::PoweredOff,
        _ => Cause::Other(error.to_string()),
    }
}

/// What BlueZ offers: whether Bluetooth can be used here and why not, and the adapters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Availability {
    pub available: bool,
    /// Why Bluetooth is unavailable (`None` when it is available).
    pub cause: Option<Cause>,
    pub adapters: Vec<Adapter>,
}

/// One Bluetooth adapter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adapter {
    pub name: String,
    pub address: String,
    pub powered: bool,
}

/// A peer's traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub errors: u64,
}

/// The link at one moment: the radio's state, the node's identity and the peers.
#[derive(Clone, Debug)]
pub struct LinkState {
    pub running: bool,
    /// Why the radio is not running.
    pub cause: Option<Cause>,
    pub q8id: Q8id,
    pub adapter: String,
    pub address: String,
    pub generations: Generations,
    /// The peers, by q8id.
    pub peers: Vec<(Q8id, Peer)>,
}

/// Why a build without the `ble` feature has no radio.
#[cfg(not(feature = "ble"))]
const NOT_BUILT: &str = "this build of Portico has no Bluetooth (the small variant)";

/// What BlueZ offers right now: nothing, in a build without Bluetooth.
#[cfg(not(feature = "ble"))]
#[allow(
    clippy::unused_async,
    reason = "the same call as the Bluetooth build's"
)]
pub async fn probe() -> Availability {
    Availability {
        available: false,
        cause: Some(Cause::NotBuilt),
        adapters: Vec::new(),
    }
}

/// What BlueZ offers right now.
#[cfg(feature = "ble")]
pub async fn probe() -> Availability {
    match tokio::time::timeout(PROBE_TIMEOUT, adapters()).await {
        Ok(Ok(adapters)) if adapters.is_empty() => Availability {
            available: false,
            cause: Some(Cause::NoAdapter),
            adapters,
        },
        Ok(Ok(adapters)) => Availability {
            available: adapters.iter().any(|a| a.powered),
            cause: (!adapters.iter().any(|a| a.powered)).then_some(Cause::PoweredOff),
            adapters,
        },
        Ok(Err(err)) => {
            tracing::debug!(%err, "Bluetooth unavailable");
            Availability {
                available: false,
                cause: Some(cause_of(&err)),
                adapters: Vec::new(),
            }
        }
        Err(_) => Availability {
            available: false,
            cause: Some(Cause::NoAnswer),
            adapters: Vec::new(),
        },
    }
}

#[cfg(feature = "ble")]
async fn adapters() -> bluer::Result<Vec<Adapter>> {
    let session = bluer::Session::new().await?;
    let mut rows = Vec::new();
    for name in session.adapter_names().await? {
        let adapter = session.adapter(&name)?;
        rows.push(Adapter {
            address: adapter
                .address()
                .await
                .map(|a| a.to_string())
                .unwrap_or_default(),
            powered: adapter.is_powered().await.unwrap_or(false),
            name,
        });
    }
    Ok(rows)
}

/// Which generation a peer is reached with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    Current,
    Legacy,
}

impl Generation {
    pub fn as_str(self) -> &'static str {
        match self {
            Generation::Current => "current",
            Generation::Legacy => "legacy",
        }
    }
}

/// One peer as the table keeps it.
#[derive(Clone, Debug)]
pub struct Peer {
    pub generation: Generation,
    pub address: String,
    pub rssi: Option<i16>,
    /// `central` or `peripheral` while a current-generation link is up.
    pub role: Option<&'static str>,
    pub last_seen: Instant,
    pub counts: Counts,
    /// The last send's outcome and the last received test message, in words.
    pub last_sent: String,
    pub last_received: String,
}

/// Why a send did not go out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the Bluetooth link is not running")]
    NotRunning,
    #[error("no peer {0} in range")]
    UnknownPeer(String),
}

/// A send handed to the radio.
#[derive(Debug)]
pub struct Outgoing {
    pub to: Q8id,
    pub data: Vec<u8>,
    /// libqaul's message id, echoed in the result (D-I2).
    pub message_id: Vec<u8>,
}

/// What the radio reports about the link as a whole.
#[derive(Clone, Debug, Default)]
pub struct RadioState {
    pub running: bool,
    /// Why it is not running, in words for the log and libqaul.
    pub reason: String,
    /// The same, as a category for the page (`None` while running).
    pub cause: Option<Cause>,
    pub adapter: String,
    pub address: String,
}

/// The module: settings, peer table, and the channels between radio, pages and libqaul.
pub struct Ble {
    settings: Settings,
    own: Mutex<Q8id>,
    peers: Mutex<HashMap<Q8id, Peer>>,
    radio: Mutex<RadioState>,
    /// Bumped on every change, for the live page.
    changes: watch::Sender<u64>,
    /// `qaul.sys.ble` messages for libqaul (discovered, unavailable, received, results).
    events: broadcast::Sender<proto::Ble>,
    /// Sends for the radio task; replaced when it restarts.
    outgoing: Mutex<Option<mpsc::UnboundedSender<Outgoing>>>,
    /// The running radio task, aborted on stop or restart.
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The radio's own single-threaded runtime (see [`radio_runtime`]).
    #[cfg(feature = "ble")]
    runtime: tokio::runtime::Handle,
}

/// A single-threaded runtime on a thread of its own for everything that talks to BlueZ.
/// bluer runs each incoming GATT write as a task of the runtime it lives in; on a
/// multi-threaded runtime two writes that arrive together may run in either order, which a
/// legacy frame (no sequence numbers) does not survive. One thread runs them in arrival order.
#[cfg(feature = "ble")]
fn radio_runtime() -> tokio::runtime::Handle {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("ble".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => {
                    let _ = tx.send(Some(runtime.handle().clone()));
                    runtime.block_on(std::future::pending::<()>());
                }
                Err(err) => {
                    tracing::error!(%err, "no runtime for Bluetooth");
                    let _ = tx.send(None);
                }
            }
        });
    match spawned.ok().and_then(|_| rx.recv().ok().flatten()) {
        Some(handle) => handle,
        // Without a thread of its own the radio shares the caller's runtime.
        None => tokio::runtime::Handle::current(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ble {
    /// The module for `root`'s settings, radio not started yet. The q8id: the configured one,
    /// else the one kept in `/etc/portico/ble-q8id`, else a new random one kept there.
    pub fn new(root: &Path, settings: Settings) -> Arc<Ble> {
        let own = settings.qaul_id.unwrap_or_else(|| stored_q8id(root));
        Arc::new(Ble {
            settings,
            own: Mutex::new(own),
            peers: Mutex::new(HashMap::new()),
            radio: Mutex::new(RadioState::default()),
            changes: watch::channel(0).0,
            events: broadcast::channel(256).0,
            outgoing: Mutex::new(None),
            task: Mutex::new(None),
            #[cfg(feature = "ble")]
            runtime: radio_runtime(),
        })
    }

    pub fn own(&self) -> Q8id {
        *lock(&self.own)
    }

    pub fn generations(&self) -> Generations {
        self.settings.generations
    }

    /// Starts (or restarts) the radio with q8id `own`.
    pub fn start(self: &Arc<Self>, own: Q8id) {
        self.stop();
        *lock(&self.own) = own;
        // A fresh start: what the last radio said no longer holds.
        *lock(&self.radio) = RadioState::default();
        self.spawn_radio();
    }

    /// A build without Bluetooth: the radio says why it is not running.
    #[cfg(not(feature = "ble"))]
    fn spawn_radio(&self) {
        self.set_radio(RadioState {
            running: false,
            reason: NOT_BUILT.into(),
            cause: Some(Cause::NotBuilt),
            ..RadioState::default()
        });
    }

    /// Runs the radio on its own runtime, retrying while BlueZ is not there.
    #[cfg(feature = "ble")]
    fn spawn_radio(self: &Arc<Self>) {
        let (tx, rx) = mpsc::unbounded_channel();
        *lock(&self.outgoing) = Some(tx);
        let ble = Arc::clone(self);
        let adapter = self.settings.adapter.clone();
        *lock(&self.task) = Some(self.runtime.spawn(async move {
            let mut rx = rx;
            let mut wait = RETRY_FIRST;
            loop {
                let result = radio::run(Arc::clone(&ble), &adapter, &mut rx).await;
                let (reason, cause) = match result {
                    Ok(()) => ("BlueZ ended the session".to_owned(), Cause::Ended),
                    Err(err) => (err.to_string(), err.cause()),
                };
                tracing::warn!(%reason, retry_in_s = wait.as_secs(), "Bluetooth link not running");
                ble.drop_peers();
                ble.set_radio(RadioState {
                    running: false,
                    reason,
                    cause: Some(cause),
                    ..RadioState::default()
                });
                // BlueZ may come later (bluetoothd restarted, an adapter plugged in).
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }));
    }

    /// Stops the radio: every link ends, every peer becomes unavailable.
    pub fn stop(&self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
        *lock(&self.outgoing) = None;
        self.drop_peers();
        let mut radio = lock(&self.radio);
        if radio.running {
            *radio = RadioState {
                running: false,
                reason: "stopped".into(),
                cause: Some(Cause::Ended),
                ..RadioState::default()
            };
        }
        drop(radio);
        self.changed();
    }

    /// Every peer becomes unavailable (the radio stopped).
    fn drop_peers(&self) {
        let gone: Vec<Q8id> = lock(&self.peers).drain().map(|(id, _)| id).collect();
        for id in gone {
            self.emit(Message::DeviceUnavailable(proto::BleDeviceUnavailable {
                qaul_id: id.to_vec(),
            }));
        }
    }

    pub fn radio(&self) -> RadioState {
        lock(&self.radio).clone()
    }

    fn set_radio(&self, state: RadioState) {
        *lock(&self.radio) = state;
        self.changed();
    }

    fn changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver that wakes on every change of the table or the radio.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// `qaul.sys.ble` events for a libqaul connection.
    pub fn events(&self) -> broadcast::Receiver<proto::Ble> {
        self.events.subscribe()
    }

    fn emit(&self, message: Message) {
        let _ = self.events.send(proto::Ble {
            message: Some(message),
        });
    }

    /// Hands a message to the radio for `to`.
    ///
    /// # Errors
    /// When the radio is not running or the peer is not in the table.
    pub fn send(&self, to: Q8id, data: Vec<u8>, message_id: Vec<u8>) -> Result<(), SendError> {
        if !lock(&self.peers).contains_key(&to) {
            return Err(SendError::UnknownPeer(hex::encode(to)));
        }
        let sender = lock(&self.outgoing).clone().ok_or(SendError::NotRunning)?;
        sender
            .send(Outgoing {
                to,
                data,
                message_id,
            })
            .map_err(|_| SendError::NotRunning)
    }

    /// Sends a test message of `size` bytes to the peer `to` (hex q8id).
    ///
    /// # Errors
    /// As [`Ble::send`], and for a malformed id.
    pub fn send_test(&self, to: &str, size: usize) -> Result<(), SendError> {
        let id = parse_q8id(to).ok_or_else(|| SendError::UnknownPeer(to.into()))?;
        let seq = rand::random::<u32>();
        self.send(
            id,
            test_message::build(seq, size),
            seq.to_be_bytes().to_vec(),
        )
    }

    // --- called by the radio ---

    /// A peer seen or connected: added to the table (libqaul hears of new ones).
    #[cfg_attr(
        not(feature = "ble"),
        allow(dead_code, reason = "the radio calls it; this build has none")
    )]
    pub(crate) fn peer_up(
        &self,
        id: Q8id,
        generation: Generation,
        address: &str,
        rssi: Option<i16>,
    ) {
        let mut peers = lock(&self.peers);
        let new = !peers.contains_key(&id);
        let peer = peers.entry(id).or_insert_with(|| Peer {
            generation,
            address: address.to_owned(),
            rssi,
            role: None,
            last_seen: Instant::now(),
            counts: Counts::default(),
            last_sent: String::new(),
            last_received: String::new(),
        });
        peer.generation = generation;
        address.clone_into(&mut peer.address);
        peer.rssi = rssi.or(peer.rssi);
        peer.last_seen = Instant::now();
        drop(peers);
        if new {
            tracing::info!(peer = %hex::encode(id), generation = generation.as_str(), address, "qaul peer discovered");
            self.emit(Message::DeviceDiscovered(proto::BleDeviceDiscovered {
                qaul_id: id.to_vec(),
                rssi: rssi.map_or(0, i32::from),
            }));
        }
        self.changed();
    }

    /// A peer gone (link lost, out of range).
    #[cfg_attr(
        not(feature = "ble"),
        allow(dead_code, reason = "the radio calls it; this build has none")
    )]
    fn peer_down(&self, id: Q8id, why: &str) {
        if lock(&self.peers).remove(&id).is_some() {
            tracing::info!(peer = %hex::encode(id), why, "qaul peer unavailable");
            self.emit(Message::DeviceUnavailable(proto::BleDeviceUnavailable {
                qaul_id: id.to_vec(),
            }));
            self.changed();
        }
    }

    /// Updates one peer's row.
    #[cfg_attr(
        not(feature = "ble"),
        allow(dead_code, reason = "the radio calls it; this build has none")
    )]
    pub(crate) fn update(&self, id: Q8id, f: impl FnOnce(&mut Peer)) {
        if let Some(peer) = lock(&self.peers).get_mut(&id) {
            f(peer);
            peer.last_seen = Instant::now();
        }
        self.changed();
    }

    /// A whole message arrived from `from`.
    #[cfg_attr(
        not(feature = "ble"),
        allow(dead_code, reason = "the radio calls it; this build has none")
    )]
    pub(crate) fn received(&self, from: Q8id, data: Vec<u8>) {
        let note = match test_message::check(&data) {
            Some(Ok(seq)) => format!("test message {seq:08x}: {} B intact", data.len()),
            Some(Err(why)) => format!("test message damaged: {why}"),
            None => format!("{} B", data.len()),
        };
        tracing::info!(peer = %hex::encode(from), bytes = data.len(), %note, "qaul message received");
        self.update(from, |p| {
            p.counts.messages_in += 1;
            p.last_received = note;
        });
        self.emit(Message::DirectReceived(proto::BleDirectReceived {
            from: from.to_vec(),
            data,
        }));
    }

    /// The fate of a send: `delivered` (acknowledged), `sent` (legacy: no acknowledgement
    /// exists) or failed.
    #[cfg_attr(
        not(feature = "ble"),
        allow(dead_code, reason = "the radio calls it; this build has none")
    )]
    pub(crate) fn send_result(
        &self,
        to: Q8id,
        message_id: Vec<u8>,
        bytes: usize,
        result: Result<&str, String>,
    ) {
        let note = match &result {
            Ok(word) => format!("{bytes} B {word}"),
            Err(why) => format!("{bytes} B failed: {why}"),
        };
        tracing::info!(peer = %hex::encode(to), %note, "qaul message send");
        self.update(to, |p| {
            if result.is_ok() {
                p.counts.messages_out += 1;
            } else {
                p.counts.errors += 1;
            }
            p.last_sent = note;
        });
        self.emit(Message::DirectSendResult(proto::BleDirectSendResult {
            id: message_id,
            success: result.is_ok(),
            error_message: result.err().unwrap_or_default(),
        }));
    }

    /// The link as it is now.
    pub fn state(&self) -> LinkState {
        let radio = self.radio();
        let mut peers: Vec<(Q8id, Peer)> = lock(&self.peers)
            .iter()
            .map(|(id, p)| (*id, p.clone()))
            .collect();
        peers.sort_by_key(|(id, _)| *id);
        LinkState {
            running: radio.running,
            cause: radio.cause,
            q8id: self.own(),
            adapter: radio.adapter,
            address: radio.address,
            generations: self.settings.generations,
            peers,
        }
    }
}

/// The q8id kept in `<root>/etc/portico/ble-q8id`, made (random) the first time.
fn stored_q8id(root: &Path) -> Q8id {
    let path = root.join("etc/portico/ble-q8id");
    if let Some(id) = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| parse_q8id(&t))
    {
        return id;
    }
    let id: Q8id = rand::random();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(err) = std::fs::write(&path, format!("{}\n", hex::encode(id))) {
        tracing::warn!(path = %path.display(), %err, "the BLE identity is not kept across restarts");
    }
    id
}

/// Builds the module for `root` and, when enabled, starts its radio and the libqaul socket.
///
/// # Errors
/// When the libqaul socket cannot be made.
pub fn start(root: &Path, settings: Settings) -> Result<Arc<Ble>, libqaul::ListenError> {
    let enabled = settings.enabled;
    let ble = Ble::new(root, settings);
    if enabled {
        ble.start(ble.own());
    } else {
        ble.set_radio(RadioState {
            running: false,
            reason: "switched off in /etc/config/portico (ble.enabled)".into(),
            cause: Some(Cause::SwitchedOff),
            ..RadioState::default()
        });
    }
    libqaul::listen(&ble, &root.join("var/run/portico/qaul-ble.sock"))?;
    Ok(ble)
}
