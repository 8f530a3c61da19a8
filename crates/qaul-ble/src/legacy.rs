//! The legacy generation's frames (spec §4.3, §4.4): `$$` ‖ JSON ‖ `$$`, the JSON holding the
//! sender's q8id and the message as arrays of signed bytes, cut into writes of at most 20
//! bytes with no header, sequence number or checksum. The reassembler follows the spec's
//! recommendation: real write lengths, a new frame whenever a write starts with `$$`, a size
//! cap, nothing trimmed — and a frame that does not parse is dropped whole, never delivered
//! corrupted.
//!
//! The legacy protocol has no checksum. Within one connection ATT delivers writes reliably and
//! in order, so what goes wrong on a real link is a connection lost mid-frame (the caller then
//! calls [`Reassembler::reset`]) or a write cut short; both are caught here: every write of a
//! frame but the last is exactly 20 bytes (both legacy senders cut frames so), and the sender's
//! id is 8 bytes. A frame is only ever delivered whole.

/// The legacy writes' size.
pub const WRITE_SIZE: usize = 20;
const DELIMITER: &[u8] = b"$$";

/// A received legacy frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The sender's q8id as it wrote it.
    pub qaul_id: Vec<u8>,
    pub message: Vec<u8>,
}

/// Why a completed frame was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    #[error("the frame grew past {0} bytes without its end")]
    TooLong(usize),
    #[error("a `$` inside the frame")]
    StrayDelimiter,
    #[error("the frame is not the expected JSON: {0}")]
    Json(String),
    #[error("a write of {0} bytes inside a frame (legacy senders write 20 until the last)")]
    ShortWrite(usize),
    #[error("the sender's id has {0} bytes, not 8")]
    IdLength(usize),
}

fn signed_list(bytes: &[u8]) -> String {
    let items: Vec<String> = bytes
        .iter()
        .map(|&b| i8::from_ne_bytes([b]).to_string())
        .collect();
    format!("[{}]", items.join(","))
}

/// The frame for a message, as the Linux and legacy Android modules write it (compact JSON,
/// `qaul_id` first, bytes as signed decimals).
pub fn encode_frame(sender: &[u8], message: &[u8]) -> Vec<u8> {
    let json = format!(
        "{{\"qaul_id\":{},\"message\":{}}}",
        signed_list(sender),
        signed_list(message)
    );
    [DELIMITER, json.as_bytes(), DELIMITER].concat()
}

/// The writes a frame is sent as: consecutive 20-byte pieces, the last one shorter.
pub fn writes(frame: &[u8]) -> Vec<Vec<u8>> {
    frame.chunks(WRITE_SIZE).map(<[u8]>::to_vec).collect()
}

/// One JSON array of byte values, accepting signed (-128..=127) and unsigned (0..=255) forms.
fn bytes_of(value: &serde_json::Value, key: &str) -> Result<Vec<u8>, LegacyError> {
    let list = value
        .get(key)
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| LegacyError::Json(format!("no array {key:?}")))?;
    list.iter()
        .map(|v| {
            v.as_i64()
                .filter(|n| (-128..=255).contains(n))
                .map(|n| u8::try_from(n.rem_euclid(256)).unwrap_or(0))
                .ok_or_else(|| LegacyError::Json(format!("{key}: {v} is not a byte")))
        })
        .collect()
}

/// Parses a complete frame (delimiters included).
///
/// # Errors
/// A stray `$`, or JSON without the two byte arrays.
pub fn decode_frame(frame: &[u8]) -> Result<Frame, LegacyError> {
    let inner = frame
        .strip_prefix(DELIMITER)
        .and_then(|f| f.strip_suffix(DELIMITER))
        .ok_or(LegacyError::StrayDelimiter)?;
    if inner.contains(&b'$') {
        return Err(LegacyError::StrayDelimiter);
    }
    let value: serde_json::Value =
        serde_json::from_slice(inner).map_err(|e| LegacyError::Json(e.to_string()))?;
    let qaul_id = bytes_of(&value, "qaul_id")?;
    if qaul_id.len() != 8 {
        return Err(LegacyError::IdLength(qaul_id.len()));
    }
    Ok(Frame {
        qaul_id,
        message: bytes_of(&value, "message")?,
    })
}

/// Reassembles the writes of one peer into frames, holding at most `max_frame` bytes.
#[derive(Debug)]
pub struct Reassembler {
    buffer: Option<Vec<u8>>,
    max_frame: usize,
}

impl Reassembler {
    /// A reassembler that gives up on frames longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Reassembler {
        Reassembler {
            buffer: None,
            max_frame,
        }
    }

    /// Forgets an unfinished frame (the connection it came on is gone).
    pub fn reset(&mut self) {
        self.buffer = None;
    }

    /// Bytes held for an unfinished frame.
    pub fn pending(&self) -> usize {
        self.buffer.as_ref().map_or(0, Vec::len)
    }

    /// Takes one write; returns a frame (or why it was dropped) when one is complete.
    pub fn push(&mut self, write: &[u8]) -> Option<Result<Frame, LegacyError>> {
        let starts = write.starts_with(DELIMITER);
        match self.buffer.as_mut() {
            // Inside a frame, a write starting with `$$` ends it when it is just the end
            // delimiter; otherwise it starts a new frame (the old one was cut short).
            Some(buffer) if !(starts && write.len() > DELIMITER.len()) => {
                buffer.extend_from_slice(write);
            }
            _ if starts => self.buffer = Some(write.to_vec()),
            // Not in a frame and not a start: noise.
            _ => return None,
        }
        let buffer = self.buffer.as_ref()?;
        if buffer.len() >= 2 * DELIMITER.len() && buffer.ends_with(DELIMITER) {
            let frame = self.buffer.take()?;
            return Some(decode_frame(&frame));
        }
        if write.len() < WRITE_SIZE {
            self.buffer = None;
            return Some(Err(LegacyError::ShortWrite(write.len())));
        }
        if buffer.len() > self.max_frame {
            self.buffer = None;
            return Some(Err(LegacyError::TooLong(self.max_frame)));
        }
        None
    }
}
