//! Properties of the codecs over arbitrary messages, chunk sizes and hostile bytes.

use proptest::prelude::*;
use qaul_ble::chunk::{self, ChunkHeader, FirstHeader};
use qaul_ble::flc::Flc;
use qaul_ble::legacy::{self, Reassembler};

const A: [u8; 8] = [0x9c, 0x3e, 0x01, 0x7a, 0x55, 0xd2, 0x08, 0xf4];

proptest! {
    /// Chunks carry exactly the payload: chunk 0 after its 19 bytes, the others after 2, in
    /// index order, never more than the chunk size, as many as chunk 0 says.
    #[test]
    fn chunks_carry_the_payload(len in 0usize..5000, c in 20usize..=509, queue in 1u8..=29) {
        let payload: Vec<u8> = (0..len).map(|i| u8::try_from(i * 7 % 251).unwrap()).collect();
        let chunks = chunk::chunks(&payload, c, queue, &A, None).unwrap();
        let first = FirstHeader::decode(&chunks[0]).unwrap();
        prop_assert_eq!(usize::from(first.total), chunks.len());
        prop_assert_eq!(usize::from(first.size), len);
        prop_assert_eq!(first.crc, chunk::crc32(&payload));
        let mut joined = chunks[0][chunk::FIRST_HEADER..].to_vec();
        for (i, c2) in chunks.iter().enumerate().skip(1) {
            let h = ChunkHeader::decode(c2).unwrap();
            prop_assert_eq!((h.queue, h.index, h.resend), (queue, u16::try_from(i).unwrap(), false));
            joined.extend_from_slice(&c2[chunk::HEADER..]);
        }
        prop_assert!(chunks.iter().all(|x| x.len() <= c));
        prop_assert_eq!(joined, payload);
    }

    /// The largest part at each chunk size still fits in 1023 chunks.
    #[test]
    fn max_parts_fit_the_index(c in 20usize..=509) {
        let max = chunk::max_part_size(c);
        prop_assert!(chunk::total_chunks(max, c) <= 1023);
        prop_assert!(chunk::chunks(&vec![0u8; max + 1], c, 1, &A, None).is_err());
    }

    /// Decoders never panic, and a flow-control message that decodes encodes back to one
    /// that decodes the same (bits Android ignores are written as zero).
    #[test]
    fn hostile_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(flc) = Flc::decode(&bytes) {
            prop_assert_eq!(Flc::decode(&flc.encode()), Ok(flc));
        }
        let _ = ChunkHeader::decode(&bytes);
        let _ = FirstHeader::decode(&bytes);
    }

    /// A legacy message comes back whole through frame, writes and reassembly.
    #[test]
    fn legacy_round_trip(message in proptest::collection::vec(any::<u8>(), 0..600)) {
        let frame = legacy::encode_frame(&A, &message);
        let mut r = Reassembler::new(64 * 1024);
        let mut got = Vec::new();
        for w in legacy::writes(&frame) {
            if let Some(f) = r.push(&w) {
                got.push(f);
            }
        }
        prop_assert_eq!(got, vec![Ok(legacy::Frame { qaul_id: A.to_vec(), message })]);
    }

    /// What a BLE link does to legacy writes — a connection lost mid-frame (the rest of the
    /// frame never comes, the reassembler is reset), a write cut short, a frame sent again
    /// after a reconnect — never yields a corrupted message: what is delivered is one of the
    /// messages sent, intact; memory stays under the cap.
    #[test]
    fn legacy_link_failures_never_corrupt(
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..80), 1..5),
        faults in proptest::collection::vec((0u8..4, any::<u16>()), 5),
    ) {
        let cap = 2048;
        let mut r = Reassembler::new(cap);
        let mut delivered = Vec::new();
        for (m, &(fault, at)) in messages.iter().zip(faults.iter().cycle()) {
            let writes = legacy::writes(&legacy::encode_frame(&A, m));
            let at = usize::from(at) % writes.len();
            let sends: Vec<Vec<u8>> = match fault {
                // Lost connection after `at` writes.
                1 => writes[..at].to_vec(),
                // Write `at` cut short by one byte.
                2 => writes
                    .iter()
                    .enumerate()
                    .map(|(i, w)| if i == at { w[..w.len() - 1].to_vec() } else { w.clone() })
                    .collect(),
                // Sent twice.
                3 => [writes.clone(), writes].concat(),
                _ => writes,
            };
            for w in &sends {
                if let Some(Ok(frame)) = r.push(w) {
                    prop_assert_eq!(&frame.qaul_id, &A.to_vec());
                    delivered.push(frame.message);
                }
                prop_assert!(r.pending() <= cap + legacy::WRITE_SIZE);
            }
            if fault == 1 {
                r.reset();
            }
        }
        for d in &delivered {
            prop_assert!(messages.contains(d), "a corrupted message was delivered");
        }
        // Messages without a fault all arrive.
        for (m, &(fault, _)) in messages.iter().zip(faults.iter().cycle()) {
            if fault == 0 {
                prop_assert!(delivered.contains(m));
            }
        }
    }
}

#[test]
fn missing_chunk_words_ignore_bit_10_as_android_does() {
    // Found by the fuzzer: bit 10 set in a request word.
    let flc = Flc::decode(&[0x02, 0x0e, 0x02]).unwrap();
    assert_eq!(flc, Flc::MissingChunks(vec![(1, 0x202)]));
    assert_eq!(flc.encode(), vec![0x02, 0x0a, 0x02]);
}
