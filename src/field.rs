//! Reading the header fields the gateway judges, failing closed.
//!
//! A header value may hold bytes that are not visible ASCII (RFC 9110 obs-text, invalid UTF-8).
//! The gateway forwards raw bytes, so a check that read such a value as "absent" would judge one
//! thing and forward another: a `Cookie` or `Content-Type` with one such byte would slip past the
//! PHP selector guards while PHP still reads it. Every header a step judges (Cookie,
//! Content-Type, Content-Length, Authorization, X-API-Key, Host, Connection, the forwarded
//! headers) is read through this module, which refuses what it cannot read. `HeaderValue::to_str`
//! is a disallowed method everywhere else (`clippy.toml`).

use http::header::AsHeaderName;
use http::{HeaderMap, HeaderValue};

use crate::reject::Rejection;

/// A header value the gateway writes (`Internal` if it is not valid in a header: the gateway
/// built it, so that would be its own fault).
pub fn value(s: &str) -> Result<HeaderValue, Rejection> {
    HeaderValue::from_str(s).map_err(|_| Rejection::Internal)
}

/// The value as text: visible ASCII, space and tab only; anything else is refused.
pub fn text(value: &HeaderValue) -> Result<&str, Rejection> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place header bytes become text, with the failure refused"
    )]
    value.to_str().map_err(|_| Rejection::UnreadableHeader)
}

/// Every value of `name`, each as text; one unreadable value refuses them all.
pub fn all<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Result<Vec<&str>, Rejection> {
    headers.get_all(name).iter().map(text).collect()
}

/// The one value of `name`, if present. A header given twice is refused: the gateway would have
/// to guess which one the upstream reads.
pub fn single<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Result<Option<&str>, Rejection> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Rejection::RepeatedHeader);
    }
    text(first).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obs_text_and_bad_utf8_are_refused_not_absent() {
        for raw in [&b"a\x80b"[..], b"caf\xc3\xa9", b"\xff", b"x\x7f"] {
            let Ok(v) = HeaderValue::from_bytes(raw) else {
                continue;
            };
            assert_eq!(text(&v), Err(Rejection::UnreadableHeader), "{raw:?}");
            let mut h = HeaderMap::new();
            h.append("cookie", HeaderValue::from_static("a=1"));
            h.append("cookie", v.clone());
            assert_eq!(all(&h, "cookie"), Err(Rejection::UnreadableHeader));
            let mut h = HeaderMap::new();
            h.insert("content-type", v);
            assert_eq!(single(&h, "content-type"), Err(Rejection::UnreadableHeader));
        }
    }

    #[test]
    fn single_refuses_repeats_and_reads_one() {
        let mut h = HeaderMap::new();
        assert_eq!(single(&h, "host"), Ok(None));
        h.append("host", HeaderValue::from_static("a.example"));
        assert_eq!(single(&h, "host"), Ok(Some("a.example")));
        h.append("host", HeaderValue::from_static("b.example"));
        assert_eq!(single(&h, "host"), Err(Rejection::RepeatedHeader));
    }
}
