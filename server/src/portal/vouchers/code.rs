//! Voucher codes: 10 Crockford base32 characters (50 bits) grouped for reading aloud
//! (`K7M2-9QXD-4T`); entry ignores case, dashes and spaces and reads `O` as `0` and `I`/`L`
//! as `1`.

/// Crockford's base32 alphabet: no I, L, O, U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a generated code (5 bits each: 50 bits of entropy).
pub const CODE_LEN: usize = 10;

/// A fresh code, grouped `XXXX-XXXX-XX`.
pub fn new_code() -> String {
    let raw: String = (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[usize::from(rand::random::<u8>() & 31)]))
        .collect();
    group(&raw)
}

/// A code as printed: groups of four joined by dashes.
pub fn group(normalised: &str) -> String {
    let chars: Vec<char> = normalised.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed code as stored: upper case, no separators, Crockford's look-alikes mapped. `None`
/// when a character cannot be part of any code.
pub fn normalise(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(typed.len());
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii_alphanumeric() => c,
            _ => return None,
        };
        out.push(c);
    }
    (!out.is_empty() && out.len() <= 32).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_have_fifty_bits_and_read_back_however_they_are_typed() {
        let code = new_code();
        assert_eq!(code.len(), 12);
        assert_eq!(code.matches('-').count(), 2);
        let plain = code.replace('-', "");
        assert!(plain.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(
            normalise(&code.to_lowercase()).as_deref(),
            Some(plain.as_str())
        );
        assert_eq!(normalise("k7m2 9qxd-4t").as_deref(), Some("K7M29QXD4T"));
        assert_eq!(normalise("O1L-I").as_deref(), Some("0111"));
        assert_eq!(normalise("K7M2;drop"), None);
    }

    proptest! {
        #[test]
        fn grouping_and_case_never_change_a_code(raw in "[0-9A-HJKMNP-TV-Z]{10}", lower in any::<bool>()) {
            let printed = group(&raw);
            let typed = if lower { printed.to_lowercase() } else { printed.clone() };
            prop_assert_eq!(normalise(&typed), Some(raw));
        }
    }
}
