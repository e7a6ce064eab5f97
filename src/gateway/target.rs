//! What a request is for, read once: the canonical target within the URI and parameter limits,
//! the host routes match on (with the HTTP/1.1 and HTTP/2 `Host` rules), and the request id.
//! The pipeline, `explain`, `portcullis test` and the benches read requests through these.

use std::borrow::Cow;

use http::header::HOST;
use http::request::Parts;

use crate::canonical::{self, Canonical};
use crate::field;
use crate::gateway::Limits;
use crate::reject::Rejection;

/// Step 1: the one parse of the request target, within the URI and parameter limits.
pub fn canonicalize<'u>(uri: &'u http::Uri, limits: &Limits) -> Result<Canonical<'u>, Rejection> {
    let len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > limits.max_uri_bytes {
        return Err(Rejection::UriTooLong);
    }
    let target = canonical::canonicalize(uri).map_err(Rejection::NonCanonical)?;
    if target.query.len() > limits.max_params {
        return Err(Rejection::TooManyParameters);
    }
    Ok(target)
}

/// The host routes are matched on: `Host` (or `:authority`), lowercased, without port. Refused:
/// a `Host` given twice or with bytes that cannot be read, an HTTP/1.1 request without one, and
/// a `Host` that names another host than the target's authority (absolute-form, RFC 9112
/// §3.2.2) or HTTP/2's `:authority`.
pub fn request_host(parts: &Parts) -> Result<Option<Cow<'_, str>>, Rejection> {
    let header = field::single(&parts.headers, HOST)?;
    let authority = parts.uri.authority().map(|a| a.as_str());
    match (header, authority) {
        (Some(h), Some(a)) if normalize_host(h) != normalize_host(a) => {
            Err(Rejection::HostMismatch)
        }
        (Some(h), _) => Ok(Some(normalize_host(h))),
        (None, Some(a)) => Ok(Some(normalize_host(a))),
        (None, None) if parts.version == http::Version::HTTP_11 => Err(Rejection::MissingHost),
        (None, None) => Ok(None),
    }
}

/// A `Host` value as routes see it: lowercased, without port or trailing dot.
pub fn normalize_host(raw: &str) -> Cow<'_, str> {
    let host = match raw.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => match raw.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => raw,
        },
    };
    // `api.example.` is the same host as `api.example` to every server behind us.
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// A fresh request id: 128 random bits, hex.
pub fn new_request_id() -> String {
    // Written digit by digit: `hex::encode` collects chars through an iterator, 1,800
    // instructions a request (callgrind) where this takes a tenth of that.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(32);
    for b in rand::random::<[u8; 16]>() {
        id.push(char::from(DIGITS[usize::from(b >> 4)]));
        id.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    id
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_32_lowercase_hex_digits_and_fresh() {
        let (a, b) = (super::new_request_id(), super::new_request_id());
        assert_ne!(a, b);
        for id in [a, b] {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                "{id}"
            );
            assert_eq!(hex::decode(&id).map(|v| v.len()), Ok(16));
        }
    }
}
