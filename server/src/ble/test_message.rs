//! The peer view's "send test message": `portico-test` ‖ sequence (4 bytes) ‖ a pattern drawn
//! from the sequence, so the receiver can tell intact from damaged without knowing the sender.
//! Messages shorter than the marker are the pattern alone and are not recognised as tests.

const MARKER: &[u8] = b"portico-test";

fn pattern(seq: u32, len: usize) -> impl Iterator<Item = u8> {
    let mut x = u64::from(seq) | 1 << 40;
    (0..len).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x.to_le_bytes()[0]
    })
}

/// A test message of exactly `size` bytes.
pub fn build(seq: u32, size: usize) -> Vec<u8> {
    let head = MARKER.len() + 4;
    if size < head {
        return pattern(seq, size).collect();
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(MARKER);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend(pattern(seq, size - head));
    out
}

/// `None` for anything that is not a test message; else its sequence, or what is wrong.
pub fn check(data: &[u8]) -> Option<Result<u32, String>> {
    let rest = data.strip_prefix(MARKER)?;
    let Some((seq, body)) = rest.split_first_chunk::<4>() else {
        return Some(Err("cut short".into()));
    };
    let seq = u32::from_be_bytes(*seq);
    match body
        .iter()
        .zip(pattern(seq, body.len()))
        .position(|(a, b)| *a != b)
    {
        None => Some(Ok(seq)),
        Some(at) => Some(Err(format!("byte {} differs", at + MARKER.len() + 4))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intact_and_damaged_messages_are_told_apart() {
        for size in [17, 500, 61_440] {
            let m = build(7, size);
            assert_eq!(m.len(), size);
            assert_eq!(check(&m), Some(Ok(7)));
            let mut bad = m.clone();
            bad[size - 1] ^= 1;
            assert_eq!(check(&bad), Some(Err(format!("byte {} differs", size - 1))));
        }
        assert_eq!(build(7, 1).len(), 1);
        assert_eq!(check(&build(7, 1)), None);
        assert_eq!(check(b"hello"), None);
    }
}
