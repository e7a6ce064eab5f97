//! Where the fields the gateway sets go: a header map (`forward_auth`'s answer), or lines
//! written straight into an upstream request's head (`Lines`), which also carry the client's
//! fields that are forwarded (`forward_fields`).
//!
//! `vouch` and `forwarded` set about a dozen fields on every forwarded request. Inserted into
//! the request's header map, each cost a hash of its name, a probe, an allocation for its value
//! and a validation, and was read back out to be written upstream. As lines they cost a scan and
//! a copy. A value is checked either way: no CR, LF, NUL or other control byte reaches a head.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::field;
use crate::reject::Rejection;

/// A place the gateway's own fields are set.
pub trait Fields {
    /// Set `name` to `value` (refused if it is not a valid field value). The caller sets each
    /// name once and has removed it from the request's map if it was there.
    fn set(&mut self, name: &HeaderName, value: &str) -> Result<(), Rejection>;
}

impl Fields for HeaderMap {
    fn set(&mut self, name: &HeaderName, value: &str) -> Result<(), Rejection> {
        self.insert(name.clone(), field::value(value)?);
        Ok(())
    }
}

/// Field lines (`name: value` CRLF each) for an upstream request head.
#[derive(Debug, Default)]
pub struct Lines(Vec<u8>);

impl Lines {
    /// Room for `bytes` bytes of lines.
    pub fn with_capacity(bytes: usize) -> Self {
        Self(Vec::with_capacity(bytes))
    }

    /// Add a request's own field as it came: its value is a `HeaderValue`, checked when it was
    /// read, so it is copied without another scan.
    pub fn copy(&mut self, name: &HeaderName, value: &HeaderValue) {
        self.line(name, value.as_bytes());
    }

    /// `name: value` CRLF.
    fn line(&mut self, name: &HeaderName, value: &[u8]) {
        let out = &mut self.0;
        out.reserve(name.as_str().len() + value.len() + 4);
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }

    /// The lines as they go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The lines as a map, in order, for an upstream that takes a map (the echo, a WebSocket
    /// handshake through hyper).
    pub fn to_map(&self) -> Result<HeaderMap, Rejection> {
        let mut h = HeaderMap::new();
        for line in self.0.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let at = line
                .iter()
                .position(|&b| b == b':')
                .ok_or(Rejection::Internal)?;
            let name = HeaderName::from_bytes(&line[..at]).map_err(|_| Rejection::Internal)?;
            let value =
                HeaderValue::from_bytes(&line[at + 2..]).map_err(|_| Rejection::Internal)?;
            h.append(name, value);
        }
        Ok(h)
    }
}

impl Fields for Lines {
    fn set(&mut self, name: &HeaderName, value: &str) -> Result<(), Rejection> {
        // Every byte checked, without an early exit: the loop vectorizes.
        let valid = value.bytes().fold(true, |ok, b| {
            ok & ((b >= 0x20) & (b != 0x7f) | (b == b'\t'))
        });
        if !valid {
            return Err(Rejection::Internal);
        }
        self.line(name, value.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_hold_valid_values_only_and_read_back_as_a_map() {
        let mut lines = Lines::default();
        let a = HeaderName::from_static("x-a");
        lines.set(&a, "one two\tthree").unwrap();
        lines
            .set(&HeaderName::from_static("x-b"), "caf\u{e9}")
            .unwrap();
        for bad in ["a\r\nx-evil: 1", "a\nb", "nul\0", "del\u{7f}"] {
            assert_eq!(lines.set(&a, bad), Err(Rejection::Internal), "{bad:?}");
        }
        assert_eq!(
            lines.as_bytes(),
            "x-a: one two\tthree\r\nx-b: caf\u{e9}\r\n".as_bytes()
        );
        lines.copy(&a, &HeaderValue::from_static("again"));
        let h = lines.to_map().unwrap();
        let a: Vec<_> = h.get_all("x-a").iter().collect();
        assert_eq!(
            a,
            ["one two\tthree", "again"],
            "a repeated field keeps both values"
        );
        assert_eq!(h["x-b"].as_bytes(), "caf\u{e9}".as_bytes());
        assert_eq!(h.len(), 3);
    }
}
