//! One access-log line, built field by field into a byte buffer: JSON (`{"key":value,...}`) or
//! human text (`key=value ...`). No `tracing`, no `format!` per field: strings are escaped and
//! numbers written straight into the buffer, so a line costs one allocation.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// How lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Json,
    /// `key=value` pairs, strings quoted.
    Text,
}

/// A field's name with what goes around it in each format (`,"name":"` and ` name="`), made at
/// compile time by [`key!`](crate::access_log::key): a line writes it with one copy, dropping
/// the separator before its first field and the quote before a value that is not a string.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    json: &'static str,
    text: &'static str,
}

impl Key {
    /// What `key!` expands to; `json` and `text` as described on [`Key`].
    #[doc(hidden)]
    pub const fn new(json: &'static str, text: &'static str) -> Self {
        Self { json, text }
    }
}

/// The [`Key`] of a field name given as a string literal (`access_log::key!`).
#[macro_export]
macro_rules! log_key {
    ($name:literal) => {
        $crate::access_log::Key::new(concat!(",\"", $name, "\":\""), concat!(" ", $name, "=\""))
    };
}
pub use crate::log_key as key;

/// A line being built.
#[derive(Debug)]
pub struct Line {
    /// The bytes so far.
    buf: Vec<u8>,
    /// JSON or text.
    format: Format,
    /// No field written yet (no separator needed).
    first: bool,
}

/// `YYYY-MM-DDTHH:MM:SS.`: the part of a time that changes once a second.
const SECOND_TEXT: usize = 20;

thread_local! {
    /// The Unix second last written by `Line::now` on this thread, and its text.
    static SECOND: std::cell::Cell<(u64, [u8; SECOND_TEXT])> =
        const { std::cell::Cell::new((0, [0; SECOND_TEXT])) };
}

/// Room for a typical line, so it is allocated once.
const CAPACITY: usize = 512;

impl Line {
    /// An empty line, opened.
    pub fn new(format: Format) -> Self {
        let mut buf = Vec::with_capacity(CAPACITY);
        if format == Format::Json {
            buf.push(b'{');
        }
        Self {
            buf,
            format,
            first: true,
        }
    }

    /// Write `key` with its separator (none before the first field) and, when `quoted`, the
    /// value's opening quote: one copy of bytes made at compile time.
    fn key(&mut self, key: Key, quoted: bool) {
        let k = match self.format {
            Format::Json => key.json,
            Format::Text => key.text,
        }
        .as_bytes();
        let (start, end) = (usize::from(self.first), k.len() - usize::from(!quoted));
        self.first = false;
        self.buf.extend_from_slice(&k[start..end]);
    }

    /// A string field, escaped.
    pub fn str(&mut self, key: Key, value: &str) {
        self.key(key, true);
        escape(&mut self.buf, value);
        self.buf.push(b'"');
    }

    /// A string field, or `null` (`-` in text).
    pub fn opt_str(&mut self, key: Key, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    /// A number field.
    pub fn num(&mut self, key: Key, value: u64) {
        self.key(key, false);
        decimal(&mut self.buf, value, 1);
    }

    /// A number field, or `null` (`-` in text).
    pub fn opt_num(&mut self, key: Key, value: Option<u64>) {
        match value {
            Some(v) => self.num(key, v),
            None => self.null(key),
        }
    }

    /// A field without a value.
    pub fn null(&mut self, key: Key) {
        self.key(key, false);
        self.buf.extend_from_slice(match self.format {
            Format::Json => b"null",
            Format::Text => b"-",
        });
    }

    /// The current time as RFC 3339 UTC with milliseconds.
    pub fn now(&mut self, key: Key) {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.key(key, true);
        // The date and time to the second are the same for every line in that second.
        SECOND.with(|cached| {
            let (secs, mut text) = cached.get();
            if secs != ms / 1000 || text[0] == 0 {
                let mut t = Vec::with_capacity(24);
                rfc3339_ms(&mut t, ms / 1000 * 1000);
                text.copy_from_slice(&t[..SECOND_TEXT]);
                cached.set((ms / 1000, text));
            }
            self.buf.extend_from_slice(&text);
        });
        decimal(&mut self.buf, ms % 1000, 3);
        self.buf.extend_from_slice(b"Z\"");
    }

    /// Close the line; the bytes end with a newline.
    pub fn finish(mut self) -> Vec<u8> {
        if self.format == Format::Json {
            self.buf.push(b'}');
        }
        self.buf.push(b'\n');
        self.buf
    }
}

/// JSON string escaping (also safe for the text format: quotes, backslashes and control bytes
/// are escaped, so a value cannot forge a field or a line). Most values need no escape: that is
/// found eight bytes at a time and the value copied whole.
fn escape(buf: &mut Vec<u8>, s: &str) {
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

/// Whether any byte of `bytes` is one `escape` rewrites.
fn needs_escape(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    if words.any(word_needs_escape) {
        return true;
    }
    // The last bytes, padded with spaces (which need no escape).
    let rest = words.remainder();
    let mut last = [b' '; 8];
    last[..rest.len()].copy_from_slice(rest);
    word_needs_escape(&last)
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

/// `value` in decimal, zero-padded to at least `width` digits (at most 20).
fn decimal(buf: &mut Vec<u8>, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut v = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = at.min(digits.len().saturating_sub(width));
    buf.extend_from_slice(&digits[start..]);
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

    #[test]
    fn json_lines_parse_back_field_by_field() {
        let mut l = Line::new(Format::Json);
        l.str(key!("path"), "/a\"b\\c\n\u{1}é");
        l.num(key!("status"), 200);
        l.opt_str(key!("user"), None);
        l.opt_num(key!("upstream_us"), Some(7));
        let bytes = l.finish();
        assert_eq!(bytes.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["path"], "/a\"b\\c\n\u{1}é");
        assert_eq!(v["status"], 200);
        assert!(v["user"].is_null());
        assert_eq!(v["upstream_us"], 7);
    }

    #[test]
    fn text_lines_quote_strings() {
        let mut l = Line::new(Format::Text);
        l.str(key!("route"), "r 1");
        l.num(key!("status"), 403);
        l.null(key!("user"));
        assert_eq!(l.finish(), b"route=\"r 1\" status=403 user=-\n");
    }

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
    fn now_is_written_like_rfc3339_ms() {
        let ms = || {
            let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            let mut b = Vec::new();
            rfc3339_ms(&mut b, d.as_millis() as u64);
            String::from_utf8(b).unwrap()
        };
        // Twice: once filling the cached second, once (most likely) reading it.
        for _ in 0..2 {
            let before = ms();
            let mut l = Line::new(Format::Json);
            l.now(key!("time"));
            let after = ms();
            let v: serde_json::Value = serde_json::from_slice(&l.finish()).expect("json");
            let t = v["time"].as_str().expect("a string");
            // Fixed-width RFC 3339 sorts as time does.
            assert!(
                before.as_str() <= t && t <= after.as_str(),
                "{before} {t} {after}"
            );
        }
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
