//! libqaul drives the BLE module over its socket with `qaul.sys.ble` messages. Here there is no
//! system D-Bus (no BlueZ), so the module must say so in its answers — and never hang or panic.

use std::time::Duration;

use portico_server::ble::Settings as BleSection;
use portico_server::ble::{Ble, libqaul};
use qaul_ble::proto::{self, ble::Message};
use tokio::net::UnixStream;

async fn ask(stream: &mut UnixStream, message: Message) -> Message {
    libqaul::write_frame(
        stream,
        &proto::Ble {
            message: Some(message),
        },
    )
    .await
    .unwrap();
    next(stream).await
}

async fn next(stream: &mut UnixStream) -> Message {
    let frame = tokio::time::timeout(Duration::from_secs(30), libqaul::read_frame(stream))
        .await
        .expect("an answer in time")
        .unwrap()
        .expect("a frame");
    proto::from_libqaul(&frame).unwrap()
}

#[tokio::test]
async fn without_bluez_libqaul_hears_why_and_nothing_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let ble = Ble::new(dir.path(), BleSection::default());
    let socket = dir.path().join("qaul-ble.sock");
    libqaul::listen(&ble, &socket).unwrap();
    let mut stream = UnixStream::connect(&socket).await.unwrap();

    let Message::InfoResponse(info) =
        ask(&mut stream, Message::InfoRequest(proto::BleInfoRequest {})).await
    else {
        panic!("an info response");
    };
    let device = info.device.unwrap();
    assert!(!device.ble_support && !device.bluetooth_on, "{device:?}");

    let Message::StartResult(bad) = ask(
        &mut stream,
        Message::StartRequest(proto::BleStartRequest {
            qaul_id: vec![1, 2, 3, 4, 5],
            power_setting: 2,
        }),
    )
    .await
    else {
        panic!("a start result");
    };
    assert!(!bad.success);
    assert_eq!(bad.error_message, "qaul_id has 5 bytes, not 8 (a q8id)");

    let id = [0x9c, 0x3e, 0x01, 0x7a, 0x55, 0xd2, 0x08, 0xf4];
    let Message::StartResult(start) = ask(
        &mut stream,
        Message::StartRequest(proto::BleStartRequest {
            qaul_id: id.to_vec(),
            power_setting: 2,
        }),
    )
    .await
    else {
        panic!("a start result");
    };
    assert!(!start.success);
    // No system bus here; on a machine with D-Bus but no bluetoothd, org.bluez is missing.
    assert!(
        start.error_message.contains("D-Bus") || start.error_message.contains("org.bluez"),
        "{}",
        start.error_message
    );
    assert_eq!(
        start.error_reason,
        proto::BleError::DeviceUnavailable as i32
    );
    assert_eq!(ble.own(), id, "the module takes libqaul's q8id");

    let Message::DirectSendResult(result) = ask(
        &mut stream,
        Message::DirectSend(proto::BleDirectSend {
            message_id: b"m-1".to_vec(),
            receiver_id: vec![1; 8],
            sender_id: id.to_vec(),
            data: b"hello".to_vec(),
        }),
    )
    .await
    else {
        panic!("a send result");
    };
    assert_eq!(
        result.id, b"m-1",
        "the result echoes libqaul's message id (D-I2)"
    );
    assert!(!result.success);
    assert_eq!(result.error_message, "no peer 0101010101010101 in range");

    // What libqaul really sends to stop (D-I1): an empty message.
    libqaul::write_frame(&mut stream, &proto::Ble { message: None })
        .await
        .unwrap();
    let Message::StopResult(stop) = next(&mut stream).await else {
        panic!("a stop result");
    };
    assert!(stop.success);
    assert!(!ble.radio().running);
}
