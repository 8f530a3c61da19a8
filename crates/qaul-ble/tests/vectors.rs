//! The encoders and decoders against `shared/protocols/qaul-ble-vectors.txt`, read at run time
//! (design.md, "Shared data").

use qaul_ble::chunk::{self, ChunkHeader, FirstHeader, LargeIndicator};
use qaul_ble::flc::{self, Flc};
use qaul_ble::legacy;
use testdata::shared;

fn vectors() -> String {
    std::fs::read_to_string(shared().join("protocols/qaul-ble-vectors.txt")).expect("vectors")
}

/// `xx xx …` after the last `: ` of the line that starts with `label`.
fn hex_after(text: &str, label: &str) -> Vec<u8> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no vector {label:?}"));
    let hex = line.rsplit_once(": ").map_or(line, |(_, h)| h);
    let hex = hex.split('|').next().unwrap_or(hex);
    hex.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap_or_else(|_| panic!("{label}: {b}")))
        .collect()
}

/// The lines of a section (between `## title` and the next `##`).
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.split("\n## ")
        .find(|s| s.trim_start_matches("## ").starts_with(title))
        .unwrap_or_else(|| panic!("no section {title:?}"))
        .lines()
        .collect()
}

const A: [u8; 8] = [0x9c, 0x3e, 0x01, 0x7a, 0x55, 0xd2, 0x08, 0xf4];
const B: [u8; 8] = [0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48];

#[test]
fn identities() {
    let v = vectors();
    let peer_a = hex_after(&v, "PeerId A bytes (38)");
    assert_eq!(qaul_ble::q8id_of_peer_id(&peer_a), Some(A));
    assert_eq!(hex_after(&v, "q8id A  = PeerId[6..14]"), A);
    assert_eq!(
        qaul_ble::q8id_of_peer_id(&hex_after(&v, "PeerId B bytes (38)")),
        Some(B)
    );
    assert_eq!(qaul_ble::q8id_of_peer_id(&peer_a[..37]), None);
    assert!(
        qaul_ble::should_be_central(&B, &A),
        "0x41… is lower than 0x9c…"
    );
}

#[test]
fn chunks_of_the_50_byte_message_at_every_mtu() {
    let v = vectors();
    let lines = section(&v, "new protocol, 50-byte message");
    let message: Vec<u8> = (0..50).collect();
    assert_eq!(chunk::crc32(&message), 0xb50c_79ff);
    assert_eq!(chunk::crc32(b"123456789"), 0xcbf4_3926);
    let mut size = None;
    let mut expected: Vec<Vec<u8>> = Vec::new();
    let check = |size: Option<usize>, expected: &mut Vec<Vec<u8>>| {
        if let Some(size) = size {
            let got = chunk::chunks(&message, size, 1, &A, None).unwrap();
            assert_eq!(&got, expected, "chunk size {size}");
            expected.clear();
        }
    };
    for line in lines {
        if let Some(rest) = line.strip_prefix("MTU ") {
            check(size, &mut expected);
            let c = rest.split("chunk size ").nth(1).unwrap();
            size = Some(c.split_whitespace().next().unwrap().parse().unwrap());
        } else if line.trim_start().starts_with("chunk ") {
            expected.push(hex_after(line, line.trim_start()));
        }
    }
    check(size, &mut expected);
    let first = chunk::chunks(&message, 20, 1, &A, None).unwrap();
    let header = FirstHeader::decode(&first[0]).unwrap();
    assert_eq!(
        (
            header.chunk.queue,
            header.size,
            header.total,
            header.crc,
            header.sender
        ),
        (1, 50, 4, 0xb50c_79ff, A)
    );
}

#[test]
fn the_identification_message_in_chunks() {
    let v = vectors();
    let payload = hex_after(
        &v,
        "BleMessage{identification{request:true,node{id:PeerId A}}} (46 B)",
    );
    let got = chunk::chunks(&payload, 20, 2, &A, None).unwrap();
    assert_eq!(got.len(), 4);
    for (i, c) in got.iter().take(3).enumerate() {
        assert_eq!(
            c,
            &hex_after(&v, &format!("chunk {i} (20 B): 10 0")),
            "chunk {i}"
        );
    }
}

#[test]
fn flow_control_messages() {
    let v = vectors();
    let cases = [
        ("SEND_QAUL_ID (A)", Flc::SendQaulId(A)),
        ("REQUEST_QAUL_ID", Flc::RequestQaulId),
        ("ACK_SUCCESS queue 1", Flc::AckSuccess(1)),
        (
            "ACK_ERROR queue 1 code 0",
            Flc::AckError { queue: 1, code: 0 },
        ),
        (
            "MISSING_CHUNKS queue 1 chunk 2",
            Flc::MissingChunks(vec![(1, 2)]),
        ),
        (
            "MISSING_CHUNKS q1/c2, q1/c3, q5/c700",
            Flc::MissingChunks(vec![(1, 2), (1, 3), (5, 700)]),
        ),
        ("MISSING_ACK_MESSAGES queue 1", Flc::MissingAckMessages(1)),
        ("LIVENESS_CHECK_PING", Flc::Ping),
        (
            "SEND_NEIGHBOURS (prefixes of A and B)",
            Flc::SendNeighbours(vec![
                [A[0], A[1], A[2], A[3], A[4]],
                [B[0], B[1], B[2], B[3], B[4]],
            ]),
        ),
    ];
    for (label, flc) in cases {
        let bytes = hex_after(&v, label);
        assert_eq!(flc.encode(), bytes, "{label}");
        assert_eq!(Flc::decode(&bytes).as_ref(), Ok(&flc), "{label}");
        assert!(flc::is_flc(bytes[0]));
    }
    let resent = ChunkHeader {
        queue: 1,
        resend: true,
        index: 2,
    };
    assert_eq!(
        resent.encode().to_vec(),
        hex_after(&v, "resent chunk 2 of queue 1 header")
    );
    let late = ChunkHeader {
        queue: 29,
        resend: false,
        index: 1022,
    };
    assert_eq!(
        late.encode().to_vec(),
        hex_after(&v, "chunk 1022 of queue 29 header")
    );
    assert_eq!(ChunkHeader::decode(&late.encode()), Ok(late));
    assert_eq!(
        flc::missing_chunks(&[(1, 1); 10]).len(),
        2,
        "9 requests a message"
    );
}

#[test]
fn large_message_indicators_as_android_writes_and_reads_them() {
    // Android's bytes for index 2 with four parts spill into the index (D-N2); every part
    // decodes alike, so the parts still meet.
    for (byte, index, total, part) in [
        (0x18, 1, 2, 0),
        (0x19, 1, 2, 1),
        (0x1e, 1, 3, 2),
        (0x30, 3, 4, 0),
        (0x33, 3, 4, 3),
    ] {
        assert_eq!(
            LargeIndicator::decode(byte),
            Some(LargeIndicator { index, total, part })
        );
    }
    // Ours: four parts as `00` in bits 3–2, which Android reads as 4, index intact.
    let ours = LargeIndicator {
        index: 2,
        total: 4,
        part: 1,
    };
    assert_eq!(ours.encode(), 0x21);
    assert_eq!(LargeIndicator::decode(ours.encode()), Some(ours));
    assert_eq!(LargeIndicator::decode(0), None);
}

#[test]
fn part_sizes() {
    for (c, max_part) in [
        (20, 18_397),
        (23, 21_466),
        (185, 65_535),
        (244, 65_535),
        (509, 65_535),
    ] {
        assert_eq!(chunk::max_part_size(c), max_part, "chunk {c}");
    }
    assert_eq!(chunk::total_chunks(18_397, 20), 1023);
    assert_eq!(chunk::total_chunks(65_535, 244), 271);
    assert_eq!(chunk::total_chunks(65_535, 509), 130);
    let big = vec![7u8; 73_588];
    assert_eq!(chunk::parts(&big, 20).unwrap().len(), 4);
    assert!(
        chunk::parts(&vec![0u8; 73_589], 20).is_err(),
        "more than four parts is refused, not cut"
    );
}

#[test]
fn legacy_frame_and_writes() {
    let v = vectors();
    let message: Vec<u8> = (0..50).collect();
    let frame = legacy::encode_frame(&A, &message);
    let json = v
        .lines()
        .find_map(|l| l.strip_prefix("JSON text: "))
        .unwrap();
    assert_eq!(&frame[2..frame.len() - 2], json.as_bytes());
    let writes = legacy::writes(&frame);
    assert_eq!(writes.len(), 10);
    for (i, w) in writes.iter().enumerate() {
        assert_eq!(w, &hex_after(&v, &format!("write  {i} (")), "write {i}");
    }
    let mut r = legacy::Reassembler::new(4096);
    let mut got = None;
    for w in &writes {
        if let Some(frame) = r.push(w) {
            got = Some(frame.unwrap());
        }
    }
    assert_eq!(
        got,
        Some(legacy::Frame {
            qaul_id: A.to_vec(),
            message
        })
    );
    assert_eq!(r.pending(), 0);
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one table: every libqaul message of the vectors file"
)]
fn libqaul_interface_messages() {
    use prost::Message as _;
    use qaul_ble::proto::{self, ble::Message as M, ble_message};
    let v = vectors();
    let peer_a = hex_after(&v, "PeerId A bytes (38)");
    let ident = proto::BleMessage {
        message: Some(ble_message::Message::Identification(
            proto::Identification {
                request: true,
                node: Some(proto::NodeIdentification { id: peer_a.clone() }),
            },
        )),
    }
    .encode_to_vec();
    assert_eq!(
        ident,
        hex_after(
            &v,
            "BleMessage{identification{request:true,node{id:PeerId A}}} (46 B)"
        )
    );
    let mid: Vec<u8> = hex_after(&v, "Ble{direct_send{message_id:MID")[4..20].to_vec();
    let cases: Vec<(&str, M)> = vec![
        (
            "Ble{info_request{}}",
            M::InfoRequest(proto::BleInfoRequest {}),
        ),
        (
            "Ble{start_request{qaul_id:A, power_setting:low_latency}}",
            M::StartRequest(proto::BleStartRequest {
                qaul_id: A.to_vec(),
                power_setting: proto::BlePowerSetting::LowLatency as i32,
            }),
        ),
        (
            "Ble{start_result{success:true}}",
            M::StartResult(proto::BleStartResult {
                success: true,
                ..Default::default()
            }),
        ),
        (
            "Ble{stop_request{}} (correct)",
            M::StopRequest(proto::BleStopRequest {}),
        ),
        (
            "Ble{stop_result{success:true}}",
            M::StopResult(proto::BleStopResult {
                success: true,
                ..Default::default()
            }),
        ),
        (
            "Ble{device_discovered{qaul_id:B, rssi:0}}",
            M::DeviceDiscovered(proto::BleDeviceDiscovered {
                qaul_id: B.to_vec(),
                rssi: 0,
            }),
        ),
        (
            "Ble{device_discovered{qaul_id:B, rssi:-60}}",
            M::DeviceDiscovered(proto::BleDeviceDiscovered {
                qaul_id: B.to_vec(),
                rssi: -60,
            }),
        ),
        (
            "Ble{device_unavailable{qaul_id:B}}",
            M::DeviceUnavailable(proto::BleDeviceUnavailable {
                qaul_id: B.to_vec(),
            }),
        ),
        (
            "Ble{direct_send{message_id:MID",
            M::DirectSend(proto::BleDirectSend {
                message_id: mid.clone(),
                receiver_id: B.to_vec(),
                sender_id: A.to_vec(),
                data: ident.clone(),
            }),
        ),
        (
            "Ble{direct_send_result{id:MID, success:true, error_message:'delivered'}}",
            M::DirectSendResult(proto::BleDirectSendResult {
                id: mid,
                success: true,
                error_message: "delivered".into(),
            }),
        ),
        (
            "Ble{direct_received{from:A, data:<identification>}} (60 B)",
            M::DirectReceived(proto::BleDirectReceived {
                from: A.to_vec(),
                data: ident,
            }),
        ),
    ];
    for (label, message) in cases {
        let bytes = hex_after(&v, label);
        assert_eq!(proto::to_libqaul(message.clone()), bytes, "{label}");
        assert_eq!(proto::from_libqaul(&bytes).unwrap(), message, "{label}");
    }
    // What libqaul really sends to stop: zero bytes (D-I1), taken as stop.
    assert_eq!(
        proto::from_libqaul(&[]).unwrap(),
        M::StopRequest(proto::BleStopRequest {})
    );
    assert!(proto::from_libqaul(&[0x0a]).is_err(), "truncated");
}
