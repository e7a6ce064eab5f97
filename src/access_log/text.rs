//! The bytes of access-log values: strings escaped for JSON (and safe in text), numbers in
//! decimal, times in RFC 3339. Each writes straight into the line's buffer.

use std::io::Write;

/// JSON string escaping (also safe for the text format: quotes, backslashes and control bytes
/// are escaped, so a value cannot forge a field or a line). Most values need no escape: that is
/// found eight bytes at a time and the value copied whole.
pub fn escape(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        buf.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => {
                buf.extend_from_slice(&bytes[start..i]);
                let _ = write!(buf, "\\u{b:04x}");
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(esc);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// The bytes `escape` rewrites: control bytes (below 0x20, and 0x7f), `"` and `\\`.
static ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b < 0x20 || b == 0x7f || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    t
};

/// Whether any byte of `bytes` is one `escape` rewrites.
fn needs_escape(bytes: &[u8]) -> bool {
    if bytes.len() < 8 {
        return bytes.iter().any(|&b| ESCAPED[usize::from(b)]);
    }
    let mut words = bytes.chunks_exact(8);
    if words.any(word_needs_escape) {
        return true;
    }
    // The last bytes, as the last eight (overlapping bytes already found clean): no copy.
    !words.remainder().is_empty() && word_needs_escape(&bytes[bytes.len() - 8..])
}

/// Whether any of these eight bytes is one `escape` rewrites: a control byte (below 0x20, or
/// 0x7f), `"` or `\\` (bit tricks on one 64-bit word; exact for "any", not for "which").
fn word_needs_escape(word: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut w = [0; 8];
    w.copy_from_slice(word);
    let w = u64::from_ne_bytes(w);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0;
    below_space
        || has_zero(w ^ (ONES * u64::from(b'"')))
        || has_zero(w ^ (ONES * u64::from(b'\\')))
        || has_zero(w ^ (ONES * 0x7f))
}

/// Write Unix milliseconds `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian calendar).
pub fn rfc3339_ms(buf: &mut Vec<u8>, ms: u64) {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    // Digit by digit: `write!` with seven padded fields cost more than the rest of the line.
    let fields = [
        (u64::try_from(y).unwrap_or(0), 4, b'-'),
        (u64::from(m), 2, b'-'),
        (u64::from(d), 2, b'T'),
        (rem / 3600, 2, b':'),
        (rem / 60 % 60, 2, b':'),
        (rem % 60, 2, b'.'),
        (ms % 1000, 3, b'Z'),
    ];
    for (value, width, after) in fields {
        decimal(buf, value, width);
        buf.push(after);
    }
}

/// `value` in decimal, zero-padded to at least `width` digits.
pub fn decimal(buf: &mut Vec<u8>, value: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(value).as_bytes();
    for _ in digits.len()..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(digits);
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time escaping `escape` must agree with.
    fn escape_slowly(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                    out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes())
                }
                c => out.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        out
    }

    #[test]
    fn escaping_by_words_agrees_with_byte_by_byte() {
        let specials = [
            '"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1f}', '\u{7f}', ' ', '~', 'é', '\u{80}',
        ];
        // Each special character at every offset of strings up to 24 bytes long.
        for len in 0..24 {
            for at in 0..len {
                for c in specials {
                    let mut s: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                    s.replace_range(at..=at, &c.to_string());
                    let mut got = Vec::new();
                    escape(&mut got, &s);
                    assert_eq!(got, escape_slowly(&s), "{s:?}");
                }
            }
        }
        let all: String = (0u8..128).map(char::from).chain("€日本".chars()).collect();
        let mut got = Vec::new();
        escape(&mut got, &all);
        assert_eq!(got, escape_slowly(&all));
    }

    #[test]
    fn times_are_rfc3339_utc() {
        let mut b = Vec::new();
        rfc3339_ms(&mut b, 0);
        assert_eq!(b, b"1970-01-01T00:00:00.000Z");
        let mut b = Vec::new();
        // 2024-02-29T23:59:59.999Z
        rfc3339_ms(&mut b, 1_709_251_199_999);
        assert_eq!(b, b"2024-02-29T23:59:59.999Z");
        let mut b = Vec::new();
        rfc3339_ms(&mut b, 4_131_216_000_000);
        assert_eq!(b, b"2100-11-30T00:00:00.000Z");
    }

    #[test]
    fn numbers_are_written_in_full() {
        for (v, width, want) in [
            (0u64, 1, "0"),
            (7, 3, "007"),
            (1234, 2, "1234"),
            (u64::MAX, 1, "18446744073709551615"),
            (u64::MAX, 20, "18446744073709551615"),
        ] {
            let mut b = Vec::new();
            decimal(&mut b, v, width);
            assert_eq!(b, want.as_bytes(), "{v} {width}");
        }
    }
}
