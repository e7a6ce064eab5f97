//! SHA-256 digests written as 64 hex digits (a key's `sha256` in the policy and in the
//! management store, a certificate fingerprint), decoded through a table. A policy of 100,000
//! keys holds 6.4 million such digits and every reload decodes them all: the `hex` crate's range
//! checks, a branch per digit, took a quarter of a reload's time (`perf record` of
//! `portcullis check`).

/// Marks a byte that is not a hex digit (any of its high bits set).
const INVALID: u8 = 0xff;

/// Each byte's value as a hex digit (either case), or `INVALID`.
const VALUES: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The 32 bytes `text` spells, or `None` unless it is exactly 64 hex digits (either case). No
/// branch per digit: a bad digit is noticed once, at the end.
pub fn decode(text: &str) -> Option<[u8; 32]> {
    decode_bytes(text.as_bytes())
}

/// `decode` of text as bytes (a digest's digits are ASCII, so no UTF-8 check is needed first).
pub fn decode_bytes(text: &[u8]) -> Option<[u8; 32]> {
    let digits: &[u8; 64] = text.try_into().ok()?;
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (hi, lo) = (VALUES[usize::from(pair[0])], VALUES[usize::from(pair[1])]);
        bad |= hi | lo;
        *byte = (hi << 4) | (lo & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the `hex` crate (used before) makes of `text`.
    fn by_hex_crate(text: &str) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok().map(|()| out)
    }

    #[test]
    fn agrees_with_the_hex_crate_on_every_ascii_byte_at_every_place() {
        let digest = "0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdef0a1B";
        assert_eq!(decode(digest), by_hex_crate(digest));
        assert!(decode(digest).is_some());
        for at in 0..64 {
            for b in 0u8..128 {
                let mut text = digest.as_bytes().to_vec();
                text[at] = b;
                let text = String::from_utf8(text).unwrap();
                assert_eq!(decode(&text), by_hex_crate(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn refuses_other_lengths_and_non_ascii() {
        let digest = "ab".repeat(32);
        for text in [
            "",
            &digest[..63],
            &format!("{digest}0"),
            &format!("{}é", &digest[..62]),
            &format!("{}\u{1F600}", &digest[..60]),
        ] {
            assert_eq!(decode(text), None, "{text:?}");
            assert_eq!(by_hex_crate(text), None, "{text:?}");
        }
        assert_eq!(decode(&digest), Some([0xab; 32]));
    }
}
