//! Header hygiene: what the gateway removes from and adds to forwarded messages.
//!
//! Removed on every path: hop-by-hop headers, every header named in `Connection`, and every
//! client header in Portcullis' namespace (`X-Portcullis-*`, compared case-insensitively with `_`
//! — or any other separator a header name may hold, such as `.` — read as `-`, since PHP and CGI
//! turn them all into `HTTP_X_PORTCULLIS_*`). Then `forward` adds the gateway's own. This module
//! does not decide anything.

use http::HeaderMap;
use http::header::{CONNECTION, HeaderName};

use crate::field;
use crate::reject::Rejection;

/// The prefix of headers only the gateway may set.
pub const OWNED_PREFIX: &str = "x-portcullis-";

/// Hop-by-hop headers (RFC 9110 §7.6.1 plus the legacy ones proxies still see).
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers no client may send upstream: `Proxy` becomes `HTTP_PROXY` in CGI and PHP, which many
/// HTTP libraries read as their outgoing proxy (httpoxy, CVE-2016-5385).
pub const NEVER_FORWARDED: &[&str] = &["proxy"];

/// Headers that let a client steer a framework or PHP front controller to another method or URL
/// than the one decided; never forwarded, whoever sends them. The policy's `never_forward` adds
/// to them.
pub const ROUTING_OVERRIDES: &[&str] = &[
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
    "x-override-url",
];

/// Client-address and prefix headers: forwarded only from a trusted proxy (`trusted_proxies`);
/// from anyone else they are removed, and the gateway sets the ones it vouches for.
pub const CLIENT_ADDRESS: &[&str] = &[
    "x-real-ip",
    "x-forwarded-prefix",
    "x-forwarded-port",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-server",
    "x-forwarded-ssl",
    "x-forwarded-scheme",
    "x-forwarded",
    "forwarded-for",
    "x-client-ip",
    "client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-cluster-client-ip",
    "x-original-forwarded-for",
    "x-proxyuser-ip",
    "x-url-scheme",
];

/// Whether byte `b` of a header name reads, to PHP and CGI, as byte `w` of a normalized name
/// (lowercase, separators as `-`).
fn reads_as(b: u8, w: u8) -> bool {
    b.to_ascii_lowercase() == w || (w == b'-' && !b.is_ascii_alphanumeric())
}

/// A header name as PHP and CGI see it: lowercase, every non-alphanumeric byte as `-`.
pub fn normalized(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b.to_ascii_lowercase())
            } else {
                '-'
            }
        })
        .collect()
}

/// Whether `name`, read as PHP would, is one of `list` (normalized names).
fn listed<S: AsRef<str>>(name: &str, list: &[S]) -> bool {
    list.iter().any(|l| {
        let l = l.as_ref().as_bytes();
        name.len() == l.len() && name.bytes().zip(l).all(|(b, &w)| reads_as(b, w))
    })
}

/// Which of a request's fields hygiene keeps from the upstream: what `sanitize` removes, the
/// routing-override headers and `never_forward`, and — unless the peer is a trusted proxy — the
/// client-address and prefix headers. Made once per request (it reads `Connection`), asked once
/// per field: the forwarded head is written from the fields it keeps, so nothing is removed
/// from the request's map.
pub struct Hygiene<'a> {
    /// The names `Connection` lists (hop-by-hop for this message).
    connection_named: Vec<HeaderName>,
    trusted: bool,
    never_forward: &'a [String],
}

impl<'a> Hygiene<'a> {
    /// Hygiene for a request with fields `headers`, from a peer that is a `trusted` proxy or not.
    /// A `Connection` value that cannot be read is refused.
    pub fn request(
        headers: &HeaderMap,
        trusted: bool,
        never_forward: &'a [String],
    ) -> Result<Self, Rejection> {
        Ok(Self {
            connection_named: connection_named(headers)?,
            trusted,
            never_forward,
        })
    }

    /// Whether the field `name` stays behind.
    pub fn removes(&self, name: &HeaderName) -> bool {
        let n = name.as_str();
        always_removed(n)
            || self.connection_named.contains(name)
            || listed(n, ROUTING_OVERRIDES)
            || listed(n, self.never_forward)
            || (!self.trusted && listed(n, CLIENT_ADDRESS))
    }
}

/// Whether `name` is in the gateway's namespace: any non-alphanumeric byte (`_`, `.`, ...) is read
/// as `-`, since PHP's built-in server and CGI environments fold them all into `_` (`$_SERVER`
/// keys additionally turn `.` into `_`).
pub fn is_owned(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= OWNED_PREFIX.len()
        && bytes
            .iter()
            .zip(OWNED_PREFIX.as_bytes())
            .all(|(&b, &p)| reads_as(b, p))
}

/// Hop-by-hop, never forwarded, or owned: removed from every message.
fn always_removed(n: &str) -> bool {
    HOP_BY_HOP.contains(&n) || NEVER_FORWARDED.contains(&n) || is_owned(n)
}

/// The names a message's `Connection` fields list; an unreadable value is refused (the headers
/// it names could not be removed).
fn connection_named(headers: &HeaderMap) -> Result<Vec<HeaderName>, Rejection> {
    let mut named = Vec::new();
    // Most messages have no `Connection` field: a look at the few names present costs less than
    // a lookup by name (a hash and a probe).
    if !headers.keys().any(|n| n == CONNECTION) {
        return Ok(named);
    }
    for v in headers.get_all(CONNECTION) {
        let names = field::text(v)?
            .split(',')
            .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok());
        named.extend(names);
    }
    Ok(named)
}

/// Remove hop-by-hop headers, headers named in `Connection`, and owned headers. A `Connection`
/// value that cannot be read is refused: the headers it names could not be removed. One pass
/// over the names present; only what is found is removed (a removal by name costs a hash and a
/// probe, and most messages hold none of these).
pub fn sanitize(headers: &mut HeaderMap) -> Result<(), Rejection> {
    let mut drop = connection_named(headers)?;
    drop.extend(
        headers
            .keys()
            .filter(|name| always_removed(name.as_str()))
            .cloned(),
    );
    for name in drop {
        headers.remove(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn owned_names_case_and_underscore_insensitive() {
        for n in [
            "x-portcullis-key-id",
            "X-Portcullis-Module",
            "x_portcullis_key_id",
            "X_PORTCULLIS-x",
            "x-portcullis-",
            "x.portcullis.key-id",
            "X-Portcullis.Key-Id",
            "x-portcullis~status",
        ] {
            assert!(is_owned(n), "{n}");
        }
        for n in [
            "x-portcullisx",
            "x-portcull",
            "portcullis-key",
            "x-forwarded-for",
            "xportcullis-key",
            "x-portcullis",
        ] {
            assert!(!is_owned(n), "{n}");
        }
    }

    #[test]
    fn request_hygiene_removes_overrides_always_and_addresses_from_untrusted_peers() {
        let make = || {
            let mut h = HeaderMap::new();
            for n in [
                "x-http-method-override",
                "X_HTTP_Method",
                "x-original-url",
                "x.rewrite.url",
                "x-debug-user",
                "x-real-ip",
                "true-client-ip",
                "x_forwarded_prefix",
                "accept",
            ] {
                h.insert(
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_static("1"),
                );
            }
            h
        };
        let extra = vec![normalized("X_Debug_User")];
        let kept = |trusted: bool| {
            let h = make();
            let hygiene = Hygiene::request(&h, trusted, &extra).unwrap();
            let mut left: Vec<&str> = h
                .keys()
                .filter(|n| !hygiene.removes(n))
                .map(|k| k.as_str())
                .collect::<Vec<_>>();
            left.sort_unstable();
            left.into_iter().map(str::to_owned).collect::<Vec<_>>()
        };
        assert_eq!(kept(false), ["accept"]);
        assert_eq!(
            kept(true),
            [
                "accept",
                "true-client-ip",
                "x-real-ip",
                "x_forwarded_prefix"
            ]
        );
        let mut h = make();
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive, Accept"));
        let hygiene = Hygiene::request(&h, true, &[]).unwrap();
        assert!(
            hygiene.removes(&http::header::ACCEPT),
            "named in Connection"
        );
        assert!(hygiene.removes(&CONNECTION));
        h.insert(CONNECTION, HeaderValue::from_bytes(b"x\xff").unwrap());
        assert!(
            Hygiene::request(&h, true, &[]).is_err(),
            "unreadable Connection"
        );
    }

    #[test]
    fn sanitize_removes_hop_by_hop_connection_named_and_owned() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("close, X-Secret-Hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("x_portcullis_key_id", HeaderValue::from_static("admin"));
        h.insert("x-portcullis-module", HeaderValue::from_static("all"));
        h.insert("accept", HeaderValue::from_static("*/*"));
        h.insert("proxy", HeaderValue::from_static("http://evil.example"));
        sanitize(&mut h).unwrap();
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("accept"));
    }
}
