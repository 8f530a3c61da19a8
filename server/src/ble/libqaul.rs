//! libqaul's side of the module: the `qaul.sys.ble` messages (spec §3) over a Unix socket,
//! each frame a 4-byte big-endian length and one protobuf `Ble` message. libqaul drives its own
//! modules through an in-process channel with exactly these messages; a libqaul build (or its
//! test harness) connects here instead. Requests: start (with the node's q8id), stop (also the
//! empty message libqaul really sends, D-I1), info, direct send. Events to every connected
//! client: device discovered/unavailable, direct received, send results (`id` = the request's
//! `message_id`, D-I2).

use std::path::Path;
use std::sync::Arc;

use prost::Message as _;
use qaul_ble::proto::{self, ble::Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::Ble;

/// A frame larger than this ends the connection (a direct send carries at most a few hundred
/// KiB; the spec's largest message is 262 140 bytes).
const MAX_FRAME: usize = 1 << 20;

/// The libqaul socket could not be made.
#[derive(Debug, thiserror::Error)]
#[error("binding the libqaul socket {}: {source}", path.display())]
pub struct ListenError {
    path: std::path::PathBuf,
    #[source]
    source: std::io::Error,
}

/// Listens on `path` (replacing a stale socket file).
///
/// # Errors
/// When the socket cannot be created.
pub fn listen(ble: &Arc<Ble>, path: &Path) -> Result<(), ListenError> {
    let failed = |source| ListenError {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).map_err(failed)?;
    let ble = Arc::clone(ble);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let ble = Arc::clone(&ble);
            tokio::spawn(async move {
                if let Err(err) = serve(&ble, stream).await {
                    tracing::debug!(%err, "libqaul connection ended");
                }
            });
        }
    });
    Ok(())
}

/// Reads one frame: `None` at a clean end of the stream.
///
/// # Errors
/// I/O errors and oversized frames.
pub async fn read_frame(
    stream: &mut (impl AsyncReadExt + Unpin),
) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes (at most {MAX_FRAME})"),
        ));
    }
    let mut buf = vec![0; len];
    stream.read_exact(&mut buf).await?;
    Ok(Some(buf))
}

/// Writes one message as a frame.
///
/// # Errors
/// I/O errors.
pub async fn write_frame(
    stream: &mut (impl AsyncWriteExt + Unpin),
    message: &proto::Ble,
) -> std::io::Result<()> {
    let bytes = message.encode_to_vec();
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(&bytes).await
}

async fn serve(ble: &Arc<Ble>, stream: UnixStream) -> std::io::Result<()> {
    let (mut read, mut write) = stream.into_split();
    let mut events = ble.events();
    let (answers_tx, mut answers) = tokio::sync::mpsc::unbounded_channel::<proto::Ble>();
    let writer = tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                answer = answers.recv() => match answer { Some(a) => a, None => break },
                event = events.recv() => match event {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "libqaul client too slow: events dropped");
                        continue;
                    }
                    Err(_) => break,
                },
            };
            if write_frame(&mut write, &message).await.is_err() {
                break;
            }
        }
    });
    while let Some(frame) = read_frame(&mut read).await? {
        let Ok(request) = proto::from_libqaul(&frame) else {
            tracing::warn!(
                bytes = frame.len(),
                "libqaul sent a message that does not decode"
            );
            continue;
        };
        if let Some(answer) = handle(ble, request).await {
            let _ = answers_tx.send(proto::Ble {
                message: Some(answer),
            });
        }
    }
    drop(answers_tx);
    writer.abort();
    Ok(())
}

/// One request; the immediate answer, if the request has one.
async fn handle(ble: &Arc<Ble>, request: Message) -> Option<Message> {
    match request {
        Message::InfoRequest(_) => {
            let view = super::probe().await;
            let adapter = view.adapters.first();
            Some(Message::InfoResponse(proto::BleInfoResponse {
                device: Some(proto::BleDeviceInfo {
                    ble_support: !view.adapters.is_empty(),
                    id: adapter.map(|a| a.address.clone()).unwrap_or_default(),
                    name: adapter.map(|a| a.name.clone()).unwrap_or_default(),
                    bluetooth_on: view.available,
                    ..proto::BleDeviceInfo::default()
                }),
            }))
        }
        Message::StartRequest(start) => {
            let Ok(id) = <[u8; 8]>::try_from(start.qaul_id.as_slice()) else {
                return Some(Message::StartResult(proto::BleStartResult {
                    success: false,
                    error_reason: proto::BleError::UnknownError as i32,
                    error_message: format!(
                        "qaul_id has {} bytes, not 8 (a q8id)",
                        start.qaul_id.len()
                    ),
                }));
            };
            ble.start(id);
            // The radio reports whether BlueZ took it within a few seconds.
            let mut changes = ble.subscribe();
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let radio = ble.radio();
                if radio.running || !radio.reason.is_empty() {
                    return Some(Message::StartResult(proto::BleStartResult {
                        success: radio.running,
                        error_reason: if radio.running {
                            0
                        } else if radio
                            .cause
                            .as_ref()
                            .is_some_and(super::Cause::is_bluetooth_missing)
                        {
                            proto::BleError::DeviceUnavailable as i32
                        } else {
                            proto::BleError::UnknownError as i32
                        },
                        error_message: radio.reason,
                    }));
                }
                if tokio::time::timeout_at(deadline, changes.changed())
                    .await
                    .is_err()
                {
                    return Some(Message::StartResult(proto::BleStartResult {
                        success: false,
                        error_reason: proto::BleError::Timeout as i32,
                        error_message: "BlueZ did not answer in time".into(),
                    }));
                }
            }
        }
        Message::StopRequest(_) => {
            ble.stop();
            Some(Message::StopResult(proto::BleStopResult {
                success: true,
                ..proto::BleStopResult::default()
            }))
        }
        Message::DirectSend(send) => {
            let failed = match <[u8; 8]>::try_from(send.receiver_id.as_slice()) {
                Ok(to) => ble
                    .send(to, send.data, send.message_id.clone())
                    .err()
                    .map(|e| e.to_string()),
                Err(_) => Some(format!(
                    "receiver_id has {} bytes, not 8",
                    send.receiver_id.len()
                )),
            };
            failed.map(|error_message| {
                Message::DirectSendResult(proto::BleDirectSendResult {
                    id: send.message_id,
                    success: false,
                    error_message,
                })
            })
        }
        // Messages only a module sends.
        _ => None,
    }
}
