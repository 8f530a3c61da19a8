//! Flow-control messages of the current generation (spec §5.7): one whole write or
//! notification whose first byte (top five bits zero, "queue index 0") is the type.

use crate::Q8id;

/// Chunk requests per MISSING_CHUNKS message (Android batches 9).
pub const MISSING_PER_MESSAGE: usize = 9;

/// One flow-control message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flc {
    /// `00`: asks for the peer's q8id (Android never sends it and ignores it).
    RequestQaulId,
    /// `01 ‖ q8id`: the sender's identity; a central's first write.
    SendQaulId(Q8id),
    /// `02 ‖ words`: chunks to send again, `(queue, chunk index)`, at most 9.
    MissingChunks(Vec<(u8, u16)>),
    /// `03 q`: the message in queue slot `q` arrived intact.
    AckSuccess(u8),
    /// `04 q code`: the message in slot `q` failed its size or CRC check.
    AckError { queue: u8, code: u8 },
    /// `05 q` (Android ignores it).
    MissingAckMessages(u8),
    /// `06`: liveness ping.
    Ping,
    /// `07 ‖ 5-byte prefixes`: the sender's neighbours (for anti-islanding).
    SendNeighbours(Vec<[u8; 5]>),
}

/// Why bytes are not a flow-control message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlcError {
    #[error("empty write")]
    Empty,
    #[error("type {0:#04x} is a data chunk, not a flow-control message")]
    NotFlc(u8),
    #[error("type {kind:#04x} with {len} bytes: {what}")]
    Length {
        kind: u8,
        len: usize,
        what: &'static str,
    },
}

/// Whether a write's first byte marks a flow-control message (queue index 0).
pub fn is_flc(first: u8) -> bool {
    first >> 3 == 0
}

impl Flc {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Flc::RequestQaulId => vec![0x00],
            Flc::SendQaulId(id) => [&[0x01][..], id].concat(),
            Flc::MissingChunks(list) => {
                let mut out = vec![0x02];
                for &(queue, index) in list {
                    let word = (u16::from(queue & 0x1f) << 11) | (index & 0x03ff);
                    out.extend_from_slice(&word.to_be_bytes());
                }
                out
            }
            Flc::AckSuccess(q) => vec![0x03, *q],
            Flc::AckError { queue, code } => vec![0x04, *queue, *code],
            Flc::MissingAckMessages(q) => vec![0x05, *q],
            Flc::Ping => vec![0x06],
            Flc::SendNeighbours(prefixes) => {
                let mut out = vec![0x07];
                for p in prefixes {
                    out.extend_from_slice(p);
                }
                out
            }
        }
    }

    /// Reads a flow-control message, checking its length as Android does (a SEND_QAUL_ID of
    /// the wrong length is refused; trailing bytes after a fixed-size message are too).
    ///
    /// # Errors
    /// Empty input, a data chunk, or a length that does not fit the type.
    pub fn decode(bytes: &[u8]) -> Result<Flc, FlcError> {
        let (&kind, rest) = bytes.split_first().ok_or(FlcError::Empty)?;
        if !is_flc(kind) {
            return Err(FlcError::NotFlc(kind));
        }
        let bad = |what| FlcError::Length {
            kind,
            len: bytes.len(),
            what,
        };
        let exactly = |n: usize, what| {
            if rest.len() == n {
                Ok(())
            } else {
                Err(bad(what))
            }
        };
        Ok(match kind {
            0x00 => {
                exactly(0, "REQUEST_QAUL_ID has no payload")?;
                Flc::RequestQaulId
            }
            0x01 => {
                let id: Q8id = rest
                    .try_into()
                    .map_err(|_| bad("SEND_QAUL_ID carries 8 bytes"))?;
                Flc::SendQaulId(id)
            }
            0x02 => {
                if rest.is_empty() || rest.len() % 2 != 0 || rest.len() > 2 * MISSING_PER_MESSAGE {
                    return Err(bad("MISSING_CHUNKS carries 1 to 9 16-bit words"));
                }
                Flc::MissingChunks(
                    rest.as_chunks::<2>()
                        .0
                        .iter()
                        .map(|w| {
                            let word = u16::from_be_bytes(*w);
                            (u8::try_from(word >> 11).unwrap_or(0), word & 0x03ff)
                        })
                        .collect(),
                )
            }
            0x03 => {
                exactly(1, "ACK_SUCCESS carries a queue index")?;
                Flc::AckSuccess(rest[0])
            }
            0x04 => {
                exactly(2, "ACK_ERROR carries a queue index and a code")?;
                Flc::AckError {
                    queue: rest[0],
                    code: rest[1],
                }
            }
            0x05 => {
                exactly(1, "MISSING_ACK_MESSAGES carries a queue index")?;
                Flc::MissingAckMessages(rest[0])
            }
            0x06 => {
                exactly(0, "LIVENESS_CHECK_PING has no payload")?;
                Flc::Ping
            }
            _ => {
                if rest.len() % 5 != 0 {
                    return Err(bad("SEND_NEIGHBOURS carries 5-byte prefixes"));
                }
                Flc::SendNeighbours(rest.as_chunks::<5>().0.to_vec())
            }
        })
    }
}

/// MISSING_CHUNKS messages for a list of requests, 9 per message.
pub fn missing_chunks(requests: &[(u8, u16)]) -> Vec<Flc> {
    requests
        .chunks(MISSING_PER_MESSAGE)
        .map(|c| Flc::MissingChunks(c.to_vec()))
        .collect()
}
