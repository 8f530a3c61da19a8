//! Bluetooth LE for the qaul messenger (design.md: `ble`, bluer ◀▶ qaul framing ◀▶ peer
//! table). The wire protocols are `crates/qaul-ble`; this module talks to BlueZ. So far it
//! finds out whether Bluetooth can run here — D-Bus, bluetoothd, an adapter — and says why not:
//! Portico keeps running without it.

use std::time::Duration;

use app::bluetooth::{AdapterRow, BluetoothView};

/// How long BlueZ may take to answer before it counts as unavailable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What BlueZ offers right now.
pub async fn probe() -> BluetoothView {
    match tokio::time::timeout(PROBE_TIMEOUT, adapters()).await {
        Ok(Ok(adapters)) if adapters.is_empty() => BluetoothView {
            available: false,
            reason: "bluetoothd reports no Bluetooth adapter".into(),
            adapters,
        },
        Ok(Ok(adapters)) => BluetoothView {
            available: adapters.iter().any(|a| a.powered),
            reason: if adapters.iter().any(|a| a.powered) {
                String::new()
            } else {
                "every Bluetooth adapter is powered off".into()
            },
            adapters,
        },
        Ok(Err(err)) => BluetoothView {
            available: false,
            reason: err.to_string(),
            adapters: Vec::new(),
        },
        Err(_) => BluetoothView {
            available: false,
            reason: format!("BlueZ did not answer within {} s", PROBE_TIMEOUT.as_secs()),
            adapters: Vec::new(),
        },
    }
}

async fn adapters() -> bluer::Result<Vec<AdapterRow>> {
    let session = bluer::Session::new().await?;
    let mut rows = Vec::new();
    for name in session.adapter_names().await? {
        let adapter = session.adapter(&name)?;
        rows.push(AdapterRow {
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
