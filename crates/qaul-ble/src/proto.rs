//! The libqaul ⇄ BLE module interface (`qaul.sys.ble`, spec §3.2) and the payload it carries
//! (`qaul.net.ble`, §3.4), as prost messages with qaul's field numbers, so libqaul can drive
//! Portico's module the way it drives its own. One `Ble` message is one unit, unframed.

/// `qaul.sys.ble.Ble`: one request or event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ble {
    #[prost(oneof = "ble::Message", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11")]
    pub message: Option<ble::Message>,
}

pub mod ble {
    /// The oneof of [`super::Ble`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Message {
        #[prost(message, tag = "1")]
        InfoRequest(super::BleInfoRequest),
        #[prost(message, tag = "2")]
        InfoResponse(super::BleInfoResponse),
        #[prost(message, tag = "3")]
        StartRequest(super::BleStartRequest),
        #[prost(message, tag = "4")]
        StartResult(super::BleStartResult),
        #[prost(message, tag = "5")]
        StopRequest(super::BleStopRequest),
        #[prost(message, tag = "6")]
        StopResult(super::BleStopResult),
        #[prost(message, tag = "7")]
        DeviceDiscovered(super::BleDeviceDiscovered),
        #[prost(message, tag = "8")]
        DeviceUnavailable(super::BleDeviceUnavailable),
        #[prost(message, tag = "9")]
        DirectSend(super::BleDirectSend),
        #[prost(message, tag = "10")]
        DirectSendResult(super::BleDirectSendResult),
        #[prost(message, tag = "11")]
        DirectReceived(super::BleDirectReceived),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleInfoRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleInfoResponse {
    #[prost(message, optional, tag = "1")]
    pub device: Option<BleDeviceInfo>,
}

/// The adapter, as the module reports it (informational for libqaul).
#[derive(Clone, PartialEq, prost::Message)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "qaul's wire schema: one flag per adapter capability"
)]
pub struct BleDeviceInfo {
    #[prost(bool, tag = "1")]
    pub ble_support: bool,
    /// The adapter's address.
    #[prost(string, tag = "2")]
    pub id: String,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(bool, tag = "4")]
    pub bluetooth_on: bool,
    #[prost(bool, tag = "5")]
    pub adv_extended: bool,
    #[prost(uint32, tag = "6")]
    pub adv_extended_bytes: u32,
    #[prost(bool, tag = "7")]
    pub le_2m: bool,
    #[prost(bool, tag = "8")]
    pub le_coded: bool,
    #[prost(bool, tag = "9")]
    pub le_audio: bool,
    #[prost(bool, tag = "14")]
    pub le_periodic_adv_support: bool,
    #[prost(bool, tag = "15")]
    pub le_multiple_adv_support: bool,
    #[prost(bool, tag = "16")]
    pub offload_filter_support: bool,
    #[prost(bool, tag = "17")]
    pub offload_scan_batching_support: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleStartRequest {
    /// The local q8id.
    #[prost(bytes = "vec", tag = "1")]
    pub qaul_id: Vec<u8>,
    #[prost(enumeration = "BlePowerSetting", tag = "2")]
    pub power_setting: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum BlePowerSetting {
    LowPower = 0,
    Balanced = 1,
    LowLatency = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum BleError {
    UnknownError = 0,
    RightsMissing = 1,
    Timeout = 2,
    DeviceUnavailable = 3,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleStartResult {
    #[prost(bool, tag = "1")]
    pub success: bool,
    #[prost(enumeration = "BleError", tag = "2")]
    pub error_reason: i32,
    #[prost(string, tag = "3")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleStopRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleStopResult {
    #[prost(bool, tag = "1")]
    pub success: bool,
    #[prost(enumeration = "BleError", tag = "2")]
    pub error_reason: i32,
    #[prost(string, tag = "3")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleDeviceDiscovered {
    /// The peer's q8id.
    #[prost(bytes = "vec", tag = "1")]
    pub qaul_id: Vec<u8>,
    #[prost(int32, tag = "2")]
    pub rssi: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleDeviceUnavailable {
    #[prost(bytes = "vec", tag = "1")]
    pub qaul_id: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleDirectSend {
    #[prost(bytes = "vec", tag = "1")]
    pub message_id: Vec<u8>,
    /// The receiver's q8id.
    #[prost(bytes = "vec", tag = "2")]
    pub receiver_id: Vec<u8>,
    /// Our own q8id.
    #[prost(bytes = "vec", tag = "3")]
    pub sender_id: Vec<u8>,
    /// A serialized [`BleMessage`], opaque to the module.
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleDirectSendResult {
    /// Portico echoes the `message_id` (D-I2: implementations disagree).
    #[prost(bytes = "vec", tag = "1")]
    pub id: Vec<u8>,
    #[prost(bool, tag = "2")]
    pub success: bool,
    #[prost(string, tag = "3")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BleDirectReceived {
    /// The sender's q8id.
    #[prost(bytes = "vec", tag = "1")]
    pub from: Vec<u8>,
    /// Field 4: numbers 2 and 3 are skipped in qaul's schema.
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
}

/// `qaul.net.ble.BleMessage`: what `data` carries between libqaul nodes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BleMessage {
    #[prost(oneof = "ble_message::Message", tags = "1, 2, 3, 4, 5, 6")]
    pub message: Option<ble_message::Message>,
}

pub mod ble_message {
    /// The oneof of [`super::BleMessage`].
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Message {
        #[prost(bytes, tag = "1")]
        Info(Vec<u8>),
        #[prost(bytes, tag = "2")]
        Feed(Vec<u8>),
        #[prost(bytes, tag = "3")]
        Messaging(Vec<u8>),
        #[prost(message, tag = "4")]
        Identification(super::Identification),
        #[prost(message, tag = "5")]
        Encrypted(super::EncryptedBleTransport),
        #[prost(message, tag = "6")]
        Handshake(super::NoiseHandshake),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Identification {
    #[prost(bool, tag = "1")]
    pub request: bool,
    #[prost(message, optional, tag = "2")]
    pub node: Option<NodeIdentification>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeIdentification {
    /// The 38-byte binary PeerId.
    #[prost(bytes = "vec", tag = "1")]
    pub id: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EncryptedBleTransport {
    #[prost(uint32, tag = "1")]
    pub session_id: u32,
    #[prost(uint64, tag = "2")]
    pub nonce: u64,
    #[prost(bytes = "vec", tag = "3")]
    pub ciphertext: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NoiseHandshake {
    #[prost(uint32, tag = "1")]
    pub session_id: u32,
    #[prost(uint32, tag = "2")]
    pub message_number: u32,
    #[prost(bytes = "vec", tag = "3")]
    pub payload: Vec<u8>,
}

/// Why bytes from libqaul are not a request.
#[derive(Debug, thiserror::Error)]
pub enum FromLibqaulError {
    #[error("not a qaul.sys.ble.Ble message: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("a Ble message without a variant")]
    NoVariant,
}

/// Reads one unit from libqaul. libqaul's stop is a bare `BleStopRequest{}`, i.e. zero bytes
/// (D-I1), which other modules ignore; here it means stop, as libqaul intends.
///
/// # Errors
/// Bytes that are not a `Ble` message, or one with no variant set.
pub fn from_libqaul(bytes: &[u8]) -> Result<ble::Message, FromLibqaulError> {
    use prost::Message as _;
    if bytes.is_empty() {
        return Ok(ble::Message::StopRequest(BleStopRequest {}));
    }
    Ble::decode(bytes)?
        .message
        .ok_or(FromLibqaulError::NoVariant)
}

/// One unit to libqaul.
pub fn to_libqaul(message: ble::Message) -> Vec<u8> {
    use prost::Message as _;
    Ble {
        message: Some(message),
    }
    .encode_to_vec()
}
