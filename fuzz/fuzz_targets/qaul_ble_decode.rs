//! qaul BLE decoders on hostile bytes: the input is cut into writes (a length byte before each)
//! and fed to every decoder. None may panic; a flow-control message that decodes encodes back
//! to bytes that decode to the same message (bits Android ignores, such as bit 10 of a
//! MISSING_CHUNKS word, are written as zero); the legacy reassembler never holds more than its
//! cap plus one write.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qaul_ble::chunk::{ChunkHeader, FirstHeader, LargeIndicator};
use qaul_ble::flc::Flc;
use qaul_ble::legacy::Reassembler;

const CAP: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut legacy = Reassembler::new(CAP);
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (write, next) = tail.split_at(n);
        rest = next;
        if let Ok(flc) = Flc::decode(write) {
            assert_eq!(Flc::decode(&flc.encode()), Ok(flc));
        }
        let _ = ChunkHeader::decode(write);
        if let Ok(first) = FirstHeader::decode(write) {
            let _ = LargeIndicator::decode(first.large);
        }
        let _ = legacy.push(write);
        assert!(legacy.pending() <= CAP + 255);
    }
});
