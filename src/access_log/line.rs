//! One access-log line, built field by field into a byte buffer: JSON (`{"key":value,...}`) or
//! human text (`key=value ...`). No `tracing`, no `format!` per field: strings are escaped and
//! numbers written straight into the buffer, so a line costs one allocation.

use std::time::{SystemTime, UNIX_EPOCH};

use super::text::{decimal, escape, rfc3339_ms};

/// How lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Json,
    /// `key=value` pairs, strings quoted.
    Text,
}

/// Room for a field's name with what goes around it in either format.
const KEY_ROOM: usize = 32;

/// A field's name with what goes around it in each format (`,"name":"` and ` name="`), made at
/// compile time by [`key!`](crate::access_log::key) into arrays of one fixed size: a line
/// copies a whole array (a few moves, no call) and keeps the name's length of it, dropping the
/// separator before its first field and the quote before a value that is not a string.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    json: [u8; KEY_ROOM],
    json_len: u8,
    text: [u8; KEY_ROOM],
    text_len: u8,
}

impl Key {
    /// What `key!` evaluates at compile time; `json` and `text` as described on [`Key`]. A
    /// name too long for the room fails the build.
    #[doc(hidden)]
    pub const fn new(json: &'static str, text: &'static str) -> Self {
        Self {
            json: room(json),
            json_len: json.len() as u8,
            text: room(text),
            text_len: text.len() as u8,
        }
    }
}

/// `s` at the start of a `KEY_ROOM` array.
const fn room(s: &str) -> [u8; KEY_ROOM] {
    let b = s.as_bytes();
    assert!(b.len() <= KEY_ROOM, "access-log field name too long");
    let mut out = [0; KEY_ROOM];
    let mut i = 0;
    while i < b.len() {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// The [`Key`] of a field name given as a string literal (`access_log::key!`), a constant.
#[macro_export]
macro_rules! log_key {
    ($name:literal) => {{
        const KEY: $crate::access_log::Key = $crate::access_log::Key::new(
            concat!(",\"", $name, "\":\""),
            concat!(" ", $name, "=\""),
        );
        &KEY
    }};
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
    /// value's opening quote. Always inlined: as a call, saving and restoring registers was
    /// a third of its cost (callgrind).
    #[inline(always)]
    fn key(&mut self, key: &Key, quoted: bool) {
        let (room, len) = match self.format {
            Format::Json => (&key.json, key.json_len),
            Format::Text => (&key.text, key.text_len),
        };
        let end = usize::from(len) - usize::from(!quoted);
        if self.first {
            self.first = false;
            self.buf.extend_from_slice(&room[1..end]);
            return;
        }
        let at = self.buf.len();
        self.buf.extend_from_slice(room);
        self.buf.truncate(at + end);
    }

    /// A string field, escaped.
    pub fn str(&mut self, key: &Key, value: &str) {
        self.key(key, true);
        escape(&mut self.buf, value);
        self.buf.push(b'"');
    }

    /// A string field, or `null` (`-` in text).
    pub fn opt_str(&mut self, key: &Key, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    /// A number field.
    pub fn num(&mut self, key: &Key, value: u64) {
        self.key(key, false);
        decimal(&mut self.buf, value, 1);
    }

    /// A number field, or `null` (`-` in text).
    pub fn opt_num(&mut self, key: &Key, value: Option<u64>) {
        match value {
            Some(v) => self.num(key, v),
            None => self.null(key),
        }
    }

    /// A field without a value.
    pub fn null(&mut self, key: &Key) {
        self.key(key, false);
        self.buf.extend_from_slice(match self.format {
            Format::Json => b"null",
            Format::Text => b"-",
        });
    }

    /// The current time as RFC 3339 UTC with milliseconds.
    pub fn now(&mut self, key: &Key) {
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
}
