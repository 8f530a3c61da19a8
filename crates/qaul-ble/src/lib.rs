//! qaul's Bluetooth LE wire protocols, as `shared/protocols/qaul-ble.md` describes them, with
//! no Bluetooth dependency: the BlueZ side (server/src/ble) moves these bytes.
//!
//! - [`chunk`]: the current generation's data chunks (2-byte header, 19-byte first header with
//!   size, chunk count, CRC32 and sender q8id) and the large-message indicator (§5.6, §5.10);
//! - [`flc`]: its flow-control messages (§5.7);
//! - [`legacy`]: the legacy generation's `$$`-delimited JSON frames in 20-byte writes (§4.3,
//!   §4.4), with a bounded reassembler;
//! - [`proto`]: the `qaul.sys.ble` messages libqaul drives a BLE module with, and the
//!   `qaul.net.ble` payloads (§3).
//!
//! Every encoder produces exactly the bytes of `qaul-ble-vectors.txt`; decoders never panic on
//! hostile input (lying lengths, truncation) and report what was wrong.

pub mod chunk;
pub mod conn;
pub mod flc;
pub mod legacy;
pub mod link;
pub mod proto;
pub mod sim;

/// A node's BLE identity: the first 8 bytes of its Ed25519 public key (PeerId bytes 6..14).
pub type Q8id = [u8; 8];

/// The q8id inside a binary libp2p PeerId of an Ed25519 key (38 bytes, `00 24 08 01 12 20` ‖
/// key); `None` for anything else.
pub fn q8id_of_peer_id(peer_id: &[u8]) -> Option<Q8id> {
    const PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    if peer_id.len() != 38 || peer_id[..6] != PREFIX {
        return None;
    }
    peer_id[6..14].try_into().ok()
}

/// Which side of a connection is GATT central: the node with the lower q8id (unsigned,
/// byte-wise), §5.3.
pub fn should_be_central(own: &Q8id, peer: &Q8id) -> bool {
    own < peer
}
