//! What a request is for, read once: the canonical target within the URI and parameter limits,
//! the host routes match on (with the HTTP/1.1 and HTTP/2 `Host` rules), and the request id.
//! The pipeline, `explain`, `portcullis test` and the benches read requests through these.

use std::borrow::Cow;
use std::cell::Cell;

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

thread_local! {
    /// This thread's request-id seed (128 random bits, drawn at its first request) and how
    /// many ids it has made.
    static IDS: Cell<(u64, u64, u64)> = const { Cell::new((0, 0, 0)) };
}

/// A fresh request id, 32 hex digits: this thread's random seed, its low half mixed with a
/// count (SplitMix64's finalizer, a bijection: no id repeats on a thread, and ids of threads
/// or nodes with different seeds do not meet). It names a request in logs and answers and
/// authorizes nothing, so it need not be unpredictable: drawing 128 random bits for each
/// request cost more (about 280 instructions) than the rest of this.
pub fn new_request_id() -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let (high, low) = IDS.with(|ids| {
        let (mut high, mut low, n) = ids.get();
        if (high, low) == (0, 0) {
            (high, low) = rand::random();
        }
        ids.set((high, low, n.wrapping_add(1)));
        (
            high,
            mix(low.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
        )
    });
    let mut text = [0u8; 32];
    for (i, half) in [high, low].into_iter().enumerate() {
        for (j, b) in half.to_be_bytes().into_iter().enumerate() {
            text[i * 16 + j * 2] = DIGITS[usize::from(b >> 4)];
            text[i * 16 + j * 2 + 1] = DIGITS[usize::from(b & 15)];
        }
    }
    // Hex digits are ASCII: the check cannot fail, and unlike `from_utf8_lossy` (about 250
    // instructions for these 32 bytes) it runs a word at a time.
    std::str::from_utf8(&text).map_or_else(|_| String::new(), str::to_owned)
}

/// SplitMix64's finalizer: a bijection on `u64` that spreads every input bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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

    #[test]
    fn request_ids_do_not_repeat_on_a_thread_or_across_threads() {
        let ids = || {
            (0..20_000)
                .map(|_| super::new_request_id())
                .collect::<Vec<_>>()
        };
        let here = ids();
        let there = std::thread::spawn(ids).join().unwrap();
        let all: std::collections::HashSet<&String> = here.iter().chain(&there).collect();
        assert_eq!(all.len(), 40_000);
        // Consecutive ids differ in most of their low half, not only in a counter's last digits.
        let differing = here[0][16..]
            .bytes()
            .zip(here[1][16..].bytes())
            .filter(|(a, b)| a != b)
            .count();
        assert!(differing >= 8, "{} {}", here[0], here[1]);
        assert_ne!(
            here[0][..16],
            there[0][..16],
            "each thread draws its own seed"
        );
    }
}
