//! The Bluetooth LE link's settings: `config ble 'ble'` in `/etc/config/portico`.

use crate::section::{self, Warning};

/// Which qaul BLE generations the link speaks (`option generations`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Generations {
    /// Both services, both framings (what a Linux peer for today's qaul network needs).
    #[default]
    Both,
    /// Current Android's chunk protocol only.
    Current,
    /// The legacy `$$` framing only (as a legacy qaul node).
    Legacy,
}

impl Generations {
    pub fn current(self) -> bool {
        self != Generations::Legacy
    }

    pub fn legacy(self) -> bool {
        self != Generations::Current
    }
}

/// The `config ble 'ble'` section: the Bluetooth LE link for qaul.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `option enabled` — `0` keeps the radio off (default on where BlueZ runs).
    pub enabled: bool,
    /// `option adapter` — the BlueZ adapter (`hci0`); empty: BlueZ's default.
    pub adapter: String,
    /// `option generations` — `both`, `current` or `legacy`.
    pub generations: Generations,
    /// `option qaul_id` — the node's q8id (16 hex digits) until libqaul starts the module with
    /// its own; empty: a random one kept in `/etc/portico/ble-q8id`.
    pub qaul_id: Option<[u8; 8]>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            adapter: String::new(),
            generations: Generations::Both,
            qaul_id: None,
        }
    }
}

/// Every key `config ble 'ble'` may hold.
pub const KEYS: [&str; 4] = ["enabled", "adapter", "generations", "qaul_id"];

/// `16 hex digits` as 8 bytes.
pub fn parse_q8id(text: &str) -> Option<[u8; 8]> {
    let mut id = [0u8; 8];
    hex::decode_to_slice(text.trim(), &mut id).ok()?;
    Some(id)
}

impl Settings {
    /// The BLE section of a parsed `portico` package.
    pub fn from_package(package: &uci::Package) -> (Settings, Vec<Warning>) {
        section::read(package, "ble", "ble", |ble: &mut Settings, mut o| {
            match o.name {
                "enabled" => {
                    if let Some(on) = o.switch() {
                        ble.enabled = on;
                    }
                }
                "adapter" if o.value().chars().all(|c| c.is_ascii_alphanumeric()) => {
                    o.value().clone_into(&mut ble.adapter);
                }
                "adapter" => o.bad("not an adapter name like hci0"),
                "generations" => match o.value() {
                    "both" => ble.generations = Generations::Both,
                    "current" => ble.generations = Generations::Current,
                    "legacy" => ble.generations = Generations::Legacy,
                    _ => o.bad("not both, current or legacy"),
                },
                "qaul_id" => match parse_q8id(o.value()) {
                    Some(id) => ble.qaul_id = Some(id),
                    None => o.bad("not 16 hex digits"),
                },
                _ => o.unknown(&KEYS),
            }
        })
    }
}
