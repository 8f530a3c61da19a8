//! The BlueZ side (spec §4, §5, §9): one GATT application with both qaul services, the
//! adverts, scanning, the role rule, and one task per current-generation link that moves the
//! bytes of a [`qaul_ble::conn::Connection`].
//!
//! - Current generation: as central we connect, read READ_CHAR (the peer's q8id), subscribe to
//!   MSG_CHAR notifications and write with write-without-response through an acquired socket;
//!   chunk size `min(mtu, 509)` from bluer (whose `mtu()` is already ATT_MTU − 5). As
//!   peripheral the central's writes arrive through our MSG_CHAR and we answer by notification
//!   once it has subscribed (queued until then, unlike Android, D-N9).
//! - Role rule (§5.3): the lower q8id is central; seeing a peer whose advertised prefix is
//!   lower than ours we wait [`WRONG_ROLE_DEFER`] for it to connect, then connect anyway. At
//!   most one link per peer: a second one to a q8id already linked is dropped (D-N8).
//! - Legacy generation: a peer that offers only `99e91399-…` (or every peer when we speak only
//!   legacy) is connected to read its id and stays connected; frames go as 20-byte write
//!   requests (acknowledged by ATT, so none is lost: the frame has no checksum and no repair)
//!   and are reported "sent", never "delivered" (the legacy protocol has no acknowledgements of
//!   its own). Its id is read again every 10 s; two failures, or BlueZ forgetting the device
//!   (`DeviceRemoved`, as the legacy Linux module uses), make it unavailable.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bluer::gatt::local::{
    Application, Characteristic, CharacteristicControlEvent, CharacteristicNotify,
    CharacteristicNotifyMethod, CharacteristicRead, CharacteristicWrite, CharacteristicWriteMethod,
    Service, characteristic_control,
};
use bluer::gatt::{CharacteristicReader, CharacteristicWriter, WriteOp};
use bluer::{Adapter, AdapterEvent, Address, Device, DiscoveryFilter, DiscoveryTransport, Uuid};
use futures_util::{FutureExt as _, StreamExt as _};
use qaul_ble::Q8id;
use qaul_ble::conn::{Connection, Health, Timers};
use qaul_ble::legacy;
use qaul_ble::link::{Config, Outcome};
use tokio::sync::mpsc;

use super::{Ble, Generation, Outgoing, RadioState};

pub const CURRENT_SERVICE: Uuid = Uuid::from_u128(0x4db1_4399_0bd0_4445_9906_47d9_c479_1cff);
pub const CURRENT_READ: Uuid = Uuid::from_u128(0x4db1_4401_0bd0_4445_9906_47d9_c479_1cff);
pub const CURRENT_MSG: Uuid = Uuid::from_u128(0x4db1_4402_0bd0_4445_9906_47d9_c479_1cff);
pub const CURRENT_PSM: Uuid = Uuid::from_u128(0x4db1_4403_0bd0_4445_9906_47d9_c479_1cff);
pub const LEGACY_SERVICE: Uuid = Uuid::from_u128(0x99e9_1399_80ed_4943_9bcb_39c5_32a7_6023);
pub const LEGACY_READ: Uuid = Uuid::from_u128(0x99e9_1401_80ed_4943_9bcb_39c5_32a7_6023);
pub const LEGACY_MSG: Uuid = Uuid::from_u128(0x99e9_1402_80ed_4943_9bcb_39c5_32a7_6023);

/// Android's company id for the q8id prefix in adverts (§5.1).
const MANUFACTURER: u16 = 0xffff;
/// §6: wait this long for a peer that should be central before connecting anyway.
const WRONG_ROLE_DEFER: Duration = Duration::from_secs(9);
/// §6: Android's connect watchdog is 8 s; BlueZ's own page timeout is longer. Ours, documented.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a link task polls its connection (timers, resends, requests).
const LINK_TICK: Duration = Duration::from_millis(50);
/// The largest legacy frame a peer may send us (a 60 KiB message is ~215 KB of JSON).
const LEGACY_MAX_FRAME: usize = 1 << 20;
/// How often a legacy peer's id is read to know it is still there.
const LEGACY_PROBE: Duration = Duration::from_secs(10);
/// How long to wait for a second advert of a node that speaks both generations.
const SECOND_LOOK: Duration = Duration::from_secs(3);
/// Largest chunk (§5.5).
const MAX_CHUNK: usize = 509;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a link task is told.
enum LinkCommand {
    Send(Outgoing),
    /// A peripheral link's central subscribed: notifications go here.
    Subscribed(CharacteristicWriter),
}

struct LinkHandle {
    /// Where GATT writes for a peripheral link go (a central link reads notifications itself).
    incoming: Option<mpsc::UnboundedSender<Vec<u8>>>,
    commands: mpsc::UnboundedSender<LinkCommand>,
    peer: Option<Q8id>,
}

/// The radio's shared state: links by address, legacy peers and their reassemblers.
struct Radio {
    ble: Arc<Ble>,
    adapter: Adapter,
    own: Q8id,
    links: Mutex<HashMap<Address, LinkHandle>>,
    /// Legacy peers: q8id → address.
    legacy_peers: Mutex<HashMap<Q8id, Address>>,
    reassemblers: Mutex<HashMap<Address, legacy::Reassembler>>,
    /// Legacy sends go one at a time.
    legacy_sending: tokio::sync::Mutex<()>,
    /// Devices being looked at (connecting, deferring), so one sighting is handled once.
    busy: Mutex<HashSet<Address>>,
    /// Every task the radio started, ended with it.
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

/// Ends the radio's tasks (links, lookups, legacy sends) when [`run`] ends or is aborted.
struct EndTasks(Arc<Radio>);

impl Drop for EndTasks {
    fn drop(&mut self) {
        for task in lock(&self.0.tasks).drain(..) {
            task.abort();
        }
    }
}

/// Why the link stopped or did not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No D-Bus, no BlueZ or no such adapter.
    #[error(transparent)]
    Bluez(#[from] bluer::Error),
    /// BlueZ refused a step (powering the adapter, the GATT services, adverts, the scan).
    #[error("{doing}: {source}")]
    Refused {
        doing: String,
        #[source]
        source: bluer::Error,
    },
}

impl Error {
    /// The category the Bluetooth page explains.
    pub fn cause(&self) -> super::Cause {
        match self {
            Error::Bluez(e) | Error::Refused { source: e, .. } => super::cause_of(e),
        }
    }
}

/// Adds what was being done to a BlueZ error.
trait Doing<T> {
    fn doing(self, what: impl Into<String>) -> Result<T, Error>;
}

impl<T> Doing<T> for Result<T, bluer::Error> {
    fn doing(self, what: impl Into<String>) -> Result<T, Error> {
        self.map_err(|source| Error::Refused {
            doing: what.into(),
            source,
        })
    }
}

/// Runs the link on `adapter_name` (BlueZ's default when empty) until stopped.
///
/// # Errors
/// No D-Bus, no BlueZ, no adapter, or BlueZ refusing the application or the adverts.
pub async fn run(
    ble: Arc<Ble>,
    adapter_name: &str,
    outgoing: &mut mpsc::UnboundedReceiver<Outgoing>,
) -> Result<(), Error> {
    let session = bluer::Session::new().await?;
    let adapter = if adapter_name.is_empty() {
        session.default_adapter().await?
    } else {
        session.adapter(adapter_name)?
    };
    adapter
        .set_powered(true)
        .await
        .doing(format!("powering {}", adapter.name()))?;
    let own = ble.own();
    let generations = ble.generations();
    let radio = Arc::new(Radio {
        ble: Arc::clone(&ble),
        adapter: adapter.clone(),
        own,
        links: Mutex::new(HashMap::new()),
        legacy_peers: Mutex::new(HashMap::new()),
        reassemblers: Mutex::new(HashMap::new()),
        legacy_sending: tokio::sync::Mutex::new(()),
        busy: Mutex::new(HashSet::new()),
        tasks: Mutex::new(Vec::new()),
    });
    let _end_tasks = EndTasks(Arc::clone(&radio));
    let (control, control_handle) = characteristic_control();
    let mut services = Vec::new();
    if generations.current() {
        services.push(current_service(&radio, control_handle));
    }
    if generations.legacy() {
        services.push(legacy_service(&radio));
    }
    let _app = adapter
        .serve_gatt_application(Application {
            services,
            ..Application::default()
        })
        .await
        .doing("registering the qaul GATT services")?;
    let _adverts = advertise(&adapter, own, generations)
        .await
        .doing("advertising")?;
    let mut control_open = true;
    let discovery = scan(&adapter, generations).await?;
    futures_util::pin_mut!(discovery);
    futures_util::pin_mut!(control);

    ble.set_radio(RadioState {
        running: true,
        reason: String::new(),
        cause: None,
        adapter: adapter.name().to_owned(),
        address: adapter
            .address()
            .await
            .map(|a| a.to_string())
            .unwrap_or_default(),
    });
    tracing::info!(adapter = adapter.name(), q8id = %hex::encode(own), ?generations, "Bluetooth link running");
    loop {
        tokio::select! {
            event = discovery.next() => match event {
                Some(AdapterEvent::DeviceAdded(address)) => {
                    let radio = Arc::clone(&radio);
                    radio.clone().spawn(async move { radio.consider(address).await });
                }
                Some(AdapterEvent::DeviceRemoved(address)) => radio.forget_legacy(address),
                Some(AdapterEvent::PropertyChanged(_)) => {}
                None => return Ok(()),
            },
            event = control.next(), if control_open => match event {
                Some(CharacteristicControlEvent::Notify(writer)) => radio.subscribed(writer),
                Some(CharacteristicControlEvent::Write(_)) => {}
                None => control_open = false,
            },
            send = outgoing.recv() => match send {
                Some(send) => radio.send(send),
                None => return Ok(()),
            },
        }
    }
}

/// Scanning filtered on the services of the generations spoken (§4.2, §5.2), every advert
/// reported (so a node seen again after a link ended is looked at again).
async fn scan(
    adapter: &Adapter,
    generations: super::Generations,
) -> Result<impl futures_util::Stream<Item = AdapterEvent>, Error> {
    let mut uuids = HashSet::new();
    if generations.current() {
        uuids.insert(CURRENT_SERVICE);
    }
    if generations.legacy() {
        uuids.insert(LEGACY_SERVICE);
    }
    adapter
        .set_discovery_filter(DiscoveryFilter {
            uuids,
            transport: DiscoveryTransport::Le,
            duplicate_data: true,
            ..DiscoveryFilter::default()
        })
        .await
        .doing("setting the scan filter")?;
    adapter
        .discover_devices_with_changes()
        .await
        .doing("scanning")
}

/// The adverts (§5.1, §4.1): current with the service and Android's manufacturer data (the
/// q8id prefix), legacy with its service and a 5-character name; kept while the handles live.
async fn advertise(
    adapter: &Adapter,
    own: Q8id,
    generations: super::Generations,
) -> bluer::Result<Vec<bluer::adv::AdvertisementHandle>> {
    let mut adverts = Vec::new();
    if generations.current() {
        adverts.push(
            adapter
                .advertise(bluer::adv::Advertisement {
                    advertisement_type: bluer::adv::Type::Peripheral,
                    service_uuids: BTreeSet::from([CURRENT_SERVICE]),
                    manufacturer_data: BTreeMap::from([(MANUFACTURER, own[..5].to_vec())]),
                    discoverable: Some(true),
                    ..bluer::adv::Advertisement::default()
                })
                .await?,
        );
    }
    if generations.legacy() {
        let name: String = (0..5)
            .map(|_| {
                let alphabet = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
                char::from(alphabet[rand::random_range(0..alphabet.len())])
            })
            .collect();
        let advert = bluer::adv::Advertisement {
            advertisement_type: bluer::adv::Type::Peripheral,
            service_uuids: BTreeSet::from([LEGACY_SERVICE]),
            local_name: Some(name),
            discoverable: Some(true),
            ..bluer::adv::Advertisement::default()
        };
        match adapter.advertise(advert).await {
            Ok(handle) => adverts.push(handle),
            // One advert is all some controllers offer: current peers matter more.
            Err(err) if !adverts.is_empty() => {
                tracing::warn!(%err, "no second advert for legacy peers");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(adverts)
}

fn current_service(
    radio: &Arc<Radio>,
    control: bluer::gatt::local::CharacteristicControlHandle,
) -> Service {
    let own = radio.own;
    let writes = Arc::clone(radio);
    Service {
        uuid: CURRENT_SERVICE,
        primary: true,
        characteristics: vec![
            read_only(CURRENT_READ, own.to_vec()),
            Characteristic {
                uuid: CURRENT_MSG,
                write: Some(CharacteristicWrite {
                    write: true,
                    write_without_response: true,
                    method: CharacteristicWriteMethod::Fun(Box::new(move |value, req| {
                        writes.peripheral_write(req.device_address, value);
                        async { Ok(()) }.boxed()
                    })),
                    ..CharacteristicWrite::default()
                }),
                // Notify, not indicate: Android would subscribe to indications (§5.4).
                notify: Some(CharacteristicNotify {
                    notify: true,
                    method: CharacteristicNotifyMethod::Io,
                    ..CharacteristicNotify::default()
                }),
                control_handle: control,
                ..Characteristic::default()
            },
            // No L2CAP channel: everything stays on GATT (§5.11).
            read_only(CURRENT_PSM, (-1i32).to_be_bytes().to_vec()),
        ],
        ..Service::default()
    }
}

fn legacy_service(radio: &Arc<Radio>) -> Service {
    let writes = Arc::clone(radio);
    Service {
        uuid: LEGACY_SERVICE,
        primary: true,
        characteristics: vec![
            read_only(LEGACY_READ, radio.own.to_vec()),
            Characteristic {
                uuid: LEGACY_MSG,
                // In arrival order: the radio's runtime is single-threaded (`radio_runtime`).
                write: Some(CharacteristicWrite {
                    write: true,
                    write_without_response: true,
                    method: CharacteristicWriteMethod::Fun(Box::new(move |value, req| {
                        writes.legacy_write(req.device_address, &value);
                        async { Ok(()) }.boxed()
                    })),
                    ..CharacteristicWrite::default()
                }),
                ..Characteristic::default()
            },
        ],
        ..Service::default()
    }
}

fn read_only(uuid: Uuid, value: Vec<u8>) -> Characteristic {
    Characteristic {
        uuid,
        read: Some(CharacteristicRead {
            read: true,
            fun: Box::new(move |_| {
                let value = value.clone();
                async move { Ok(value) }.boxed()
            }),
            ..CharacteristicRead::default()
        }),
        ..Characteristic::default()
    }
}

/// What a device advertises that matters here.
struct Sighting {
    current: bool,
    legacy: bool,
    prefix: Option<Vec<u8>>,
    rssi: Option<i16>,
}

async fn sighting(device: &Device) -> bluer::Result<Sighting> {
    let uuids = device.uuids().await?.unwrap_or_default();
    Ok(Sighting {
        current: uuids.contains(&CURRENT_SERVICE),
        legacy: uuids.contains(&LEGACY_SERVICE),
        prefix: device
            .manufacturer_data()
            .await?
            .and_then(|m| m.get(&MANUFACTURER).cloned()),
        rssi: device.rssi().await?,
    })
}

async fn find_char(
    device: &Device,
    service: Uuid,
    id: Uuid,
) -> bluer::Result<bluer::gatt::remote::Characteristic> {
    for s in device.services().await? {
        if s.uuid().await? != service {
            continue;
        }
        for c in s.characteristics().await? {
            if c.uuid().await? == id {
                return Ok(c);
            }
        }
    }
    Err(bluer::Error {
        kind: bluer::ErrorKind::NotFound,
        message: format!("characteristic {id} not offered"),
    })
}

async fn connect(device: &Device) -> bluer::Result<()> {
    if !device.is_connected().await? {
        connect_once(device).await?;
    }
    // The GATT services are there once BlueZ has resolved them.
    for _ in 0..100 {
        if device.is_services_resolved().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(bluer::Error {
        kind: bluer::ErrorKind::Failed,
        message: "services not resolved within 10 s".into(),
    })
}

async fn connect_once(device: &Device) -> bluer::Result<()> {
    let mut last = None;
    for _ in 0..2 {
        match tokio::time::timeout(CONNECT_TIMEOUT, device.connect()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(err)) => last = Some(err),
            Err(_) => {
                last = Some(bluer::Error {
                    kind: bluer::ErrorKind::Failed,
                    message: "connect timed out".into(),
                });
            }
        }
    }
    Err(last.unwrap_or_else(|| bluer::Error {
        kind: bluer::ErrorKind::Failed,
        message: "connect failed".into(),
    }))
}

fn q8id(bytes: &[u8]) -> bluer::Result<Q8id> {
    bytes.try_into().map_err(|_| bluer::Error {
        kind: bluer::ErrorKind::InvalidLength,
        message: format!("READ_CHAR gave {} bytes, not a q8id", bytes.len()),
    })
}

fn now_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Radio {
    /// Starts a task that ends with the radio.
    fn spawn(
        self: Arc<Self>,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::AbortHandle {
        let handle = tokio::spawn(task).abort_handle();
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle.clone());
        handle
    }

    fn linked(&self, id: Q8id) -> bool {
        lock(&self.links).values().any(|l| l.peer == Some(id))
    }

    /// A device showed up: decide what to do with it (§5.3).
    async fn consider(self: Arc<Self>, address: Address) {
        if !lock(&self.busy).insert(address) {
            return;
        }
        if let Err(err) = self.clone().consider_inner(address).await {
            tracing::info!(%address, %err, "qaul device not used");
        }
        lock(&self.busy).remove(&address);
    }

    async fn consider_inner(self: Arc<Self>, address: Address) -> bluer::Result<()> {
        let device = self.adapter.device(address)?;
        let generations = self.ble.generations();
        let mut seen = sighting(&device).await?;
        if seen.legacy && !seen.current && generations.current() {
            // A node speaking both sends two adverts in turn: look again before settling on
            // legacy.
            tokio::time::sleep(SECOND_LOOK).await;
            seen = sighting(&device).await?;
        }
        let known_legacy = lock(&self.legacy_peers).values().any(|a| *a == address);
        if known_legacy && !(seen.current && generations.current()) {
            // Known as a legacy peer; BlueZ forgetting it ends that.
            return Ok(());
        }
        tracing::debug!(%address, current = seen.current, legacy = seen.legacy, prefix = ?seen.prefix, "qaul device seen");
        if seen.current && generations.current() {
            if lock(&self.links).contains_key(&address) {
                return Ok(());
            }
            let ours_lower = seen.prefix.as_ref().is_none_or(|p| self.own[..5] < p[..]);
            if !ours_lower {
                // The peer should connect to us; give it the time Android gives.
                tokio::time::sleep(WRONG_ROLE_DEFER).await;
                if lock(&self.links).contains_key(&address) {
                    return Ok(());
                }
            }
            return match self.clone().central(device.clone(), seen.rssi).await {
                // BlueZ remembers services a device offered before: one that now speaks only
                // legacy is tried as such.
                Err(err) if seen.legacy && generations.legacy() => {
                    tracing::debug!(%address, %err, "no current-generation link; trying legacy");
                    self.discover_legacy(&device, seen.rssi).await
                }
                other => other,
            };
        }
        if seen.legacy && generations.legacy() {
            return self.discover_legacy(&device, seen.rssi).await;
        }
        Ok(())
    }

    /// Connects as central and runs the link until it ends.
    async fn central(self: Arc<Self>, device: Device, rssi: Option<i16>) -> bluer::Result<()> {
        let address = device.address();
        tracing::info!(%address, "connecting as central");
        connect(&device).await?;
        let setup = async {
            let read = find_char(&device, CURRENT_SERVICE, CURRENT_READ).await?;
            let peer = q8id(&read.read().await?)?;
            let msg = find_char(&device, CURRENT_SERVICE, CURRENT_MSG).await?;
            let notifications = msg.notify_io().await?;
            let writer = msg.write_io().await?;
            Ok::<_, bluer::Error>((peer, notifications, writer))
        };
        let (peer, notifications, writer) = match setup.await {
            Ok(x) => x,
            Err(err) => {
                let _ = device.disconnect().await;
                return Err(err);
            }
        };
        if self.linked(peer) {
            // One link per peer (D-N8): the one that exists stays.
            let _ = device.disconnect().await;
            return Ok(());
        }
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        let (commands_tx, commands) = mpsc::unbounded_channel();
        lock(&self.links).insert(
            address,
            LinkHandle {
                incoming: None,
                commands: commands_tx,
                peer: Some(peer),
            },
        );
        // A peer known as legacy until now is current from here on.
        lock(&self.legacy_peers).remove(&peer);
        tracing::info!(%address, peer = %hex::encode(peer), "link up as central");
        self.ble
            .peer_up(peer, Generation::Current, &address.to_string(), rssi);
        self.ble.update(peer, |p| p.role = Some("central"));
        let reader = self
            .clone()
            .spawn(forward_notifications(notifications, incoming_tx));
        let why = self
            .clone()
            .link(address, Some(peer), incoming, commands, Some(writer))
            .await;
        reader.abort();
        let _ = device.disconnect().await;
        self.link_ended(address, &why);
        Ok(())
    }

    /// A write on our MSG_CHAR: to its link, which is made if this is the central's first.
    fn peripheral_write(self: &Arc<Self>, address: Address, value: Vec<u8>) {
        let mut links = lock(&self.links);
        if let Some(link) = links.get(&address) {
            if let Some(incoming) = &link.incoming {
                let _ = incoming.send(value);
            }
            return;
        }
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let _ = incoming_tx.send(value);
        links.insert(
            address,
            LinkHandle {
                incoming: Some(incoming_tx),
                commands: commands_tx,
                peer: None,
            },
        );
        drop(links);
        let radio = Arc::clone(self);
        self.clone().spawn(async move {
            let why = radio
                .clone()
                .link(address, None, incoming, commands, None)
                .await;
            if let Ok(device) = radio.adapter.device(address) {
                let _ = device.disconnect().await;
            }
            radio.link_ended(address, &why);
        });
    }

    /// A central subscribed to our MSG_CHAR.
    fn subscribed(self: &Arc<Self>, writer: CharacteristicWriter) {
        let address = writer.device_address();
        if !lock(&self.links).contains_key(&address) {
            // Subscribed before its first write: make the link now.
            self.peripheral_write(address, Vec::new());
        }
        if let Some(link) = lock(&self.links).get(&address) {
            let _ = link.commands.send(LinkCommand::Subscribed(writer));
        }
    }

    fn link_ended(&self, address: Address, why: &str) {
        let link = lock(&self.links).remove(&address);
        if let Some(peer) = link.and_then(|l| l.peer) {
            self.ble.peer_down(peer, why);
        }
    }

    /// One current-generation link: bytes in, bytes out, until it dies. Returns why it ended.
    async fn link(
        self: Arc<Self>,
        address: Address,
        mut peer: Option<Q8id>,
        mut incoming: mpsc::UnboundedReceiver<Vec<u8>>,
        mut commands: mpsc::UnboundedReceiver<LinkCommand>,
        mut writer: Option<CharacteristicWriter>,
    ) -> String {
        let start = Instant::now();
        let mut conn = Connection::new(self.own, peer, Config::default(), Timers::default(), 0);
        if let Some(w) = &writer {
            conn.set_chunk_size(w.mtu().min(MAX_CHUNK));
        }
        let mut queued: Vec<Vec<u8>> = Vec::new();
        // Connection message ids → (libqaul id, size).
        let mut sends: HashMap<u64, (Vec<u8>, usize)> = HashMap::new();
        let mut tick = tokio::time::interval(LINK_TICK);
        let mut reported = conn.counters();
        loop {
            let now = now_ms(start);
            let out = tokio::select! {
                bytes = incoming.recv() => match bytes {
                    Some(bytes) if bytes.is_empty() => Vec::new(),
                    Some(bytes) => conn.on_bytes(&bytes, now),
                    None => return "link closed".into(),
                },
                command = commands.recv() => match command {
                    Some(LinkCommand::Send(send)) => {
                        let size = send.data.len();
                        let id = conn.send(send.data);
                        sends.insert(id, (send.message_id, size));
                        conn.poll(now)
                    }
                    Some(LinkCommand::Subscribed(w)) => {
                        conn.set_chunk_size(w.mtu().min(MAX_CHUNK));
                        writer = Some(w);
                        conn.poll(now)
                    }
                    None => return "stopped".into(),
                },
                _ = tick.tick() => conn.poll(now),
            };
            queued.extend(out);
            if let Some(w) = &writer
                && !queued.is_empty()
            {
                for bytes in queued.drain(..) {
                    if let Err(err) = w.send(&bytes).await {
                        return format!("write failed: {err}");
                    }
                }
                conn.flushed(now_ms(start));
            }
            // Who the peer is, once it said so.
            if let (None, Some(id)) = (peer, conn.peer()) {
                if self.linked(id) {
                    return "a second link to a linked peer".into();
                }
                peer = Some(id);
                if let Some(link) = lock(&self.links).get_mut(&address) {
                    link.peer = Some(id);
                }
                lock(&self.legacy_peers).remove(&id);
                tracing::info!(%address, peer = %hex::encode(id), "link up as peripheral");
                self.ble
                    .peer_up(id, Generation::Current, &address.to_string(), None);
                self.ble.update(id, |p| p.role = Some("peripheral"));
            }
            let Some(id) = peer else {
                if conn.health(now) != Health::Alive {
                    return "the peer never said who it is".into();
                }
                continue;
            };
            for message in conn.messages() {
                self.ble.received(id, message);
            }
            for outcome in conn.outcomes() {
                let (key, result) = match outcome {
                    Outcome::Delivered(k) => (k, Ok("delivered")),
                    Outcome::Failed(k, why) => (k, Err(why)),
                };
                if let Some((message_id, size)) = sends.remove(&key) {
                    self.ble.send_result(id, message_id, size, result);
                }
            }
            let counters = conn.counters();
            if counters != reported {
                reported = counters;
                self.ble.update(id, |p| {
                    p.counts.bytes_in = counters.bytes_in;
                    p.counts.bytes_out = counters.bytes_out;
                    p.counts.errors = p.counts.errors.max(counters.errors);
                });
            }
            match conn.health(now) {
                Health::Alive => {}
                Health::Silent => return "nothing heard for 30 s".into(),
                Health::Unresolved => return "the peer never said who it is".into(),
            }
        }
    }

    /// Routes a send to the peer's link or legacy path.
    fn send(self: &Arc<Self>, send: Outgoing) {
        let link = lock(&self.links)
            .values()
            .find(|l| l.peer == Some(send.to))
            .map(|l| l.commands.clone());
        if let Some(commands) = link {
            let _ = commands.send(LinkCommand::Send(send));
            return;
        }
        let legacy = lock(&self.legacy_peers).get(&send.to).copied();
        match legacy {
            Some(address) => {
                let radio = Arc::clone(self);
                self.clone().spawn(async move {
                    let size = send.data.len();
                    let result = radio.send_legacy(address, &send.data).await;
                    if let Ok(frame_bytes) = result {
                        radio
                            .ble
                            .update(send.to, |p| p.counts.bytes_out += frame_bytes as u64);
                    }
                    radio.ble.send_result(
                        send.to,
                        send.message_id,
                        size,
                        result
                            .map(|_| "sent (legacy: no acknowledgement)")
                            .map_err(|e| e.to_string()),
                    );
                });
            }
            None => self.ble.send_result(
                send.to,
                send.message_id,
                send.data.len(),
                Err("no connection to this peer".into()),
            ),
        }
    }

    /// Legacy discovery (§4.2): connect, read the id, disconnect.
    async fn discover_legacy(
        self: &Arc<Self>,
        device: &Device,
        rssi: Option<i16>,
    ) -> bluer::Result<()> {
        tracing::info!(address = %device.address(), "reading a legacy node's id");
        connect(device).await?;
        let id = async {
            q8id(
                &find_char(device, LEGACY_SERVICE, LEGACY_READ)
                    .await?
                    .read()
                    .await?,
            )
        }
        .await;
        let id = match id {
            Ok(id) => id,
            Err(err) => {
                let _ = device.disconnect().await;
                return Err(err);
            }
        };
        lock(&self.legacy_peers).insert(id, device.address());
        self.ble
            .peer_up(id, Generation::Legacy, &device.address().to_string(), rssi);
        let radio = Arc::clone(self);
        let address = device.address();
        self.clone()
            .spawn(async move { radio.watch_legacy(id, address).await });
        Ok(())
    }

    /// Legacy nodes have no liveness messages: the connection is kept and the peer's id read
    /// every [`LEGACY_PROBE`]; two failures in a row make it unavailable.
    async fn watch_legacy(self: Arc<Self>, id: Q8id, address: Address) {
        let mut failures = 0;
        loop {
            tokio::time::sleep(LEGACY_PROBE).await;
            if lock(&self.legacy_peers).get(&id) != Some(&address) {
                return;
            }
            let probe = async {
                let device = self.adapter.device(address)?;
                connect(&device).await?;
                q8id(
                    &find_char(&device, LEGACY_SERVICE, LEGACY_READ)
                        .await?
                        .read()
                        .await?,
                )
            };
            match tokio::time::timeout(CONNECT_TIMEOUT, probe).await {
                Ok(Ok(answer)) if answer == id => {
                    failures = 0;
                    self.ble.update(id, |_| {});
                }
                outcome => {
                    failures += 1;
                    tracing::info!(%address, failures, ?outcome, "legacy peer did not answer");
                    if failures >= 2 {
                        lock(&self.legacy_peers).remove(&id);
                        if let Ok(device) = self.adapter.device(address) {
                            let _ = device.disconnect().await;
                        }
                        self.ble.peer_down(id, "no answer from the legacy node");
                        return;
                    }
                }
            }
        }
    }

    fn forget_legacy(&self, address: Address) {
        let gone: Vec<Q8id> = {
            let mut peers = lock(&self.legacy_peers);
            let ids: Vec<Q8id> = peers
                .iter()
                .filter(|(_, a)| **a == address)
                .map(|(id, _)| *id)
                .collect();
            for id in &ids {
                peers.remove(id);
            }
            ids
        };
        lock(&self.reassemblers).remove(&address);
        for id in gone {
            self.ble.peer_down(id, "BlueZ no longer sees it");
        }
    }

    /// One frame in 20-byte writes, each a write request: the legacy protocol cannot repair a
    /// lost piece, and ATT acknowledges requests (write commands can be dropped on a busy link,
    /// which the lab's virtual air shows). Slower, but a frame arrives whole, in order — and
    /// legacy Android's MSG_CHAR takes only requests anyway (D-L6).
    async fn send_legacy(&self, address: Address, message: &[u8]) -> bluer::Result<usize> {
        let device = self.adapter.device(address)?;
        connect(&device).await?;
        let msg = find_char(&device, LEGACY_SERVICE, LEGACY_MSG).await?;
        let frame = legacy::encode_frame(&self.own, message);
        let request = bluer::gatt::remote::CharacteristicWriteRequest {
            op_type: WriteOp::Request,
            ..Default::default()
        };
        // One frame at a time per peer, so frames never interleave.
        let _turn = self.legacy_sending.lock().await;
        for write in legacy::writes(&frame) {
            msg.write_ext(&write, &request).await?;
        }
        Ok(frame.len())
    }

    /// A write on our legacy MSG_CHAR.
    fn legacy_write(&self, address: Address, value: &[u8]) {
        let (done, frame_bytes) = {
            let mut reassemblers = lock(&self.reassemblers);
            let r = reassemblers
                .entry(address)
                .or_insert_with(|| legacy::Reassembler::new(LEGACY_MAX_FRAME));
            let held = r.pending();
            (r.push(value), (held + value.len()) as u64)
        };
        match done {
            Some(Ok(frame)) => {
                let Ok(from) = q8id(&frame.qaul_id) else {
                    return;
                };
                if !lock(&self.legacy_peers).contains_key(&from) && !self.linked(from) {
                    lock(&self.legacy_peers).insert(from, address);
                    self.ble
                        .peer_up(from, Generation::Legacy, &address.to_string(), None);
                }
                self.ble.update(from, |p| p.counts.bytes_in += frame_bytes);
                self.ble.received(from, frame.message);
            }
            Some(Err(err)) => tracing::warn!(%address, %err, "legacy frame dropped"),
            None => {}
        }
    }
}

/// Notifications from the peer into the link's queue.
async fn forward_notifications(reader: CharacteristicReader, to: mpsc::UnboundedSender<Vec<u8>>) {
    while let Ok(bytes) = reader.recv().await {
        if bytes.is_empty() || to.send(bytes).is_err() {
            break;
        }
    }
    drop(to);
}
