//! Data chunks of the current generation (spec §5.6, §5.10). A message (or one part of a large
//! message) travels as chunks of at most the connection's chunk size: chunk 0 carries a 19-byte
//! header (chunk header, large-message indicator, payload size, chunk count, CRC32, sender
//! q8id) and the first payload bytes; the others a 2-byte header and the next bytes.

use crate::Q8id;

/// Bytes of chunk 0's header.
pub const FIRST_HEADER: usize = 19;
/// Bytes of every other chunk's header.
pub const HEADER: usize = 2;
/// The smallest chunk size (ATT MTU 23), which is also the size before the MTU exchange.
pub const MIN_CHUNK: usize = 20;
/// The largest chunk size Android uses (`min(ATT_MTU − 3, 509)`).
pub const MAX_CHUNK: usize = 509;
/// Queue indices for data: 1 to 29 (0 marks a flow-control message).
pub const MAX_QUEUE: u8 = 29;
/// A message's chunk indices fit in 10 bits.
pub const MAX_CHUNK_INDEX: u16 = 1023;
/// A message is sent in at most this many parts.
pub const MAX_PARTS: usize = 4;

/// What is wrong with a chunk or a message to be chunked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("a chunk size of {0} bytes is outside 20..=509")]
    ChunkSize(usize),
    #[error("queue index {0} is outside 1..=29")]
    Queue(u8),
    #[error("{size} bytes do not fit in one part of chunk size {chunk} (at most {max})")]
    PartTooLarge {
        size: usize,
        chunk: usize,
        max: usize,
    },
    #[error("{size} bytes do not fit in four parts of chunk size {chunk} (at most {max})")]
    MessageTooLarge {
        size: usize,
        chunk: usize,
        max: usize,
    },
    #[error("a chunk of {0} bytes is too short for its header")]
    Truncated(usize),
    #[error("this is a flow-control message, not a data chunk")]
    NotData,
}

/// The 2-byte header every chunk starts with (a big-endian word: queue index in bits 15–11,
/// resend flag in bit 10, chunk index in bits 9–0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkHeader {
    pub queue: u8,
    /// A retransmission of a chunk the receiver asked for.
    pub resend: bool,
    pub index: u16,
}

impl ChunkHeader {
    pub fn encode(self) -> [u8; 2] {
        let word = (u16::from(self.queue & 0x1f) << 11)
            | (u16::from(self.resend) << 10)
            | (self.index & MAX_CHUNK_INDEX);
        word.to_be_bytes()
    }

    /// Reads the header of a data chunk.
    ///
    /// # Errors
    /// Fewer than two bytes, or queue index 0 (a flow-control message).
    pub fn decode(bytes: &[u8]) -> Result<ChunkHeader, ChunkError> {
        let [a, b, ..] = *bytes else {
            return Err(ChunkError::Truncated(bytes.len()));
        };
        let word = u16::from_be_bytes([a, b]);
        let queue = u8::try_from(word >> 11).unwrap_or(0);
        if queue == 0 {
            return Err(ChunkError::NotData);
        }
        Ok(ChunkHeader {
            queue,
            resend: word & 0x0400 != 0,
            index: word & MAX_CHUNK_INDEX,
        })
    }
}

/// Byte 2 of chunk 0: which part of which large message this is (§5.10). Zero for a message
/// sent whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LargeIndicator {
    /// 1 to 15, rotating per connection.
    pub index: u8,
    /// 1 to 4.
    pub total: u8,
    /// 0 to 3.
    pub part: u8,
}

impl LargeIndicator {
    /// The byte as current Android's receiver reads it back correctly: a total of 4 is written
    /// as `00` in bits 3–2 (Android's receiver reads `00` as 4), never spilling into the index.
    pub fn encode(self) -> u8 {
        ((self.index & 0x0f) << 4) | ((self.total & 0x03) << 2) | (self.part & 0x03)
    }

    /// Reads the byte; `None` for `00` (not a large message). A total of `00` means 4 — what
    /// Android's encoder produces for four parts, its index then one higher in bit 4 (D-N2):
    /// all parts of that message carry the same wrong index, so they still belong together.
    pub fn decode(byte: u8) -> Option<LargeIndicator> {
        if byte == 0 {
            return None;
        }
        let total = (byte >> 2) & 0x03;
        Some(LargeIndicator {
            index: byte >> 4,
            total: if total == 0 { 4 } else { total },
            part: byte & 0x03,
        })
    }
}

/// Chunk 0's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstHeader {
    pub chunk: ChunkHeader,
    /// Byte 2: zero, or a [`LargeIndicator`].
    pub large: u8,
    /// Payload bytes of this message (part).
    pub size: u16,
    /// Chunks of this message (part), chunk 0 included.
    pub total: u16,
    /// CRC-32 (zlib's) of the whole payload.
    pub crc: u32,
    /// The sender's q8id (informational: the connection's identity is what counts).
    pub sender: Q8id,
}

impl FirstHeader {
    /// Reads chunk 0's header; the payload starts at [`FIRST_HEADER`].
    ///
    /// # Errors
    /// A chunk shorter than 19 bytes, or a flow-control message.
    pub fn decode(bytes: &[u8]) -> Result<FirstHeader, ChunkError> {
        let chunk = ChunkHeader::decode(bytes)?;
        let h = bytes
            .get(..FIRST_HEADER)
            .ok_or(ChunkError::Truncated(bytes.len()))?;
        let mut sender = [0u8; 8];
        sender.copy_from_slice(&h[11..19]);
        Ok(FirstHeader {
            chunk,
            large: h[2],
            size: u16::from_be_bytes([h[3], h[4]]),
            total: u16::from_be_bytes([h[5], h[6]]),
            crc: u32::from_be_bytes([h[7], h[8], h[9], h[10]]),
            sender,
        })
    }
}

/// Chunks a message (part) of `size` bytes needs at chunk size `chunk` (Android's formula:
/// `ceil((n − (c−19)) / (c−2)) + 1`, at least 1).
pub fn total_chunks(size: usize, chunk: usize) -> usize {
    let first = chunk.saturating_sub(FIRST_HEADER);
    if size <= first {
        1
    } else {
        1 + (size - first).div_ceil(chunk - HEADER)
    }
}

/// The largest part at chunk size `chunk`: `min((c−19) + 1022·(c−2), 65535)`.
pub fn max_part_size(chunk: usize) -> usize {
    ((chunk - FIRST_HEADER) + 1022 * (chunk - HEADER)).min(usize::from(u16::MAX))
}

/// CRC-32/ISO-HDLC, as `java.util.zip.CRC32` and zlib compute it.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Splits one message (part) into its chunks.
///
/// # Errors
/// A chunk size outside 20..=509, a queue index outside 1..=29, or a payload larger than
/// [`max_part_size`].
pub fn chunks(
    payload: &[u8],
    chunk: usize,
    queue: u8,
    sender: &Q8id,
    large: Option<LargeIndicator>,
) -> Result<Vec<Vec<u8>>, ChunkError> {
    if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk) {
        return Err(ChunkError::ChunkSize(chunk));
    }
    if !(1..=MAX_QUEUE).contains(&queue) {
        return Err(ChunkError::Queue(queue));
    }
    let max = max_part_size(chunk);
    if payload.len() > max {
        return Err(ChunkError::PartTooLarge {
            size: payload.len(),
            chunk,
            max,
        });
    }
    let total = total_chunks(payload.len(), chunk);
    let header = |index: usize| {
        ChunkHeader {
            queue,
            resend: false,
            index: u16::try_from(index).unwrap_or(MAX_CHUNK_INDEX),
        }
        .encode()
    };
    let first_len = (chunk - FIRST_HEADER).min(payload.len());
    let mut first = Vec::with_capacity(FIRST_HEADER + first_len);
    first.extend_from_slice(&header(0));
    first.push(large.map_or(0, LargeIndicator::encode));
    first.extend_from_slice(
        &u16::try_from(payload.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    first.extend_from_slice(&u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes());
    first.extend_from_slice(&crc32(payload).to_be_bytes());
    first.extend_from_slice(sender);
    first.extend_from_slice(&payload[..first_len]);
    let mut out = Vec::with_capacity(total);
    out.push(first);
    for (i, piece) in payload[first_len..].chunks(chunk - HEADER).enumerate() {
        let mut c = Vec::with_capacity(HEADER + piece.len());
        c.extend_from_slice(&header(i + 1));
        c.extend_from_slice(piece);
        out.push(c);
    }
    debug_assert_eq!(out.len(), total);
    Ok(out)
}

/// The same chunk marked as a retransmission (what a MISSING_CHUNKS request is answered with).
pub fn as_resend(chunk: &[u8]) -> Vec<u8> {
    let mut out = chunk.to_vec();
    if let Some(b) = out.first_mut() {
        *b |= 0x04;
    }
    out
}

/// Splits a message into the parts it is sent as: one part when it fits, else up to four
/// parts of [`max_part_size`] bytes (the last one shorter).
///
/// # Errors
/// A bad chunk size, or a message larger than four parts — Android drops the excess silently;
/// here the sender is told.
pub fn parts(message: &[u8], chunk: usize) -> Result<Vec<&[u8]>, ChunkError> {
    if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk) {
        return Err(ChunkError::ChunkSize(chunk));
    }
    let max = max_part_size(chunk);
    if message.len() > MAX_PARTS * max {
        return Err(ChunkError::MessageTooLarge {
            size: message.len(),
            chunk,
            max: MAX_PARTS * max,
        });
    }
    if message.len() <= max {
        return Ok(vec![message]);
    }
    Ok(message.chunks(max).collect())
}
