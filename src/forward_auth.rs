//! Forward-auth: the gateway as the decision service of a fronting proxy (nginx `auth_request`,
//! Traefik `ForwardAuth`, Caddy `forward_auth`), on a listener of its own.
//!
//! Each request on that listener is a sub-request about an original request the fronting proxy
//! received. `original` reads that request from the conventions those proxies send —
//! `X-Forwarded-Method`/`-Uri`/`-Host`/`-Proto` (Traefik, Caddy) or `X-Original-Method`/`-URI`
//! (nginx) — and only from peers in the configured CIDR list. The pipeline then canonicalizes
//! and decides it exactly as a proxied request (`decision::authorize`), reading the credential
//! from the forwarded `Authorization`, `X-API-Key` or query parameter. `allowed` answers a permit
//! with 200 and the identity headers (`vouch`); a deny gets the proxy mode's status, challenge
//! and body from `reject`.

use std::net::IpAddr;

use http::header::{CACHE_CONTROL, HOST};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};
use ipnet::IpNet;

use crate::authz::Permit;
use crate::body::{self, Body};
use crate::canonical::CanonicalError;
use crate::field;
use crate::reject::Rejection;
use crate::vouch;

/// Forward-auth settings from the boot settings.
#[derive(Debug, Clone, Default)]
pub struct ForwardAuth {
    /// Peers whose forwarded-request headers are trusted; anyone else gets 403.
    pub trusted_peers: Vec<IpNet>,
}

/// The original request, as the fronting proxy describes it.
#[derive(Debug)]
pub struct Original {
    /// Its method.
    pub method: Method,
    /// Its target (path and query), to be canonicalized like a proxied request's.
    pub uri: Uri,
    /// Its host (`X-Forwarded-Host`, else the sub-request's `Host`), if any.
    pub host: Option<String>,
}

/// The header pairs a method or URI may come in: (Traefik and Caddy, nginx).
const METHOD: (&str, &str) = ("x-forwarded-method", "x-original-method");
const URI: (&str, &str) = ("x-forwarded-uri", "x-original-uri");

/// Read the original request from `parts`, sent by `peer`. Refused: an untrusted peer (403),
/// no forwarded URI, two different values for the method or URI, anything unreadable.
pub fn original(parts: &Parts, peer: IpAddr, cfg: &ForwardAuth) -> Result<Original, Rejection> {
    if !cfg.trusted_peers.iter().any(|n| n.contains(&peer)) {
        tracing::warn!(%peer, "forward-auth request from an untrusted peer refused");
        return Err(Rejection::UntrustedForwarder);
    }
    let h = &parts.headers;
    let method = match one_of(h, METHOD)? {
        Some(m) => {
            Method::from_bytes(m.trim().as_bytes()).map_err(|_| Rejection::UnreadableHeader)?
        }
        None => parts.method.clone(),
    };
    let target = one_of(h, URI)?.ok_or(Rejection::MissingForwardedUri)?;
    if !target.starts_with('/') {
        return Err(Rejection::NonCanonical(CanonicalError::NotOriginForm));
    }
    let uri: Uri = target
        .parse()
        .map_err(|_| Rejection::NonCanonical(CanonicalError::UnescapedByte))?;
    // The scheme is not part of the decision, but a value that cannot be read is refused.
    field::single(h, "x-forwarded-proto")?;
    let host = match field::single(h, "x-forwarded-host")? {
        Some(v) => Some(v.to_owned()),
        None => field::single(h, HOST)?.map(str::to_owned),
    };
    Ok(Original { method, uri, host })
}

/// The value of whichever of the two headers is present; both with different values is refused.
fn one_of<'h>(h: &'h HeaderMap, (a, b): (&str, &str)) -> Result<Option<&'h str>, Rejection> {
    match (field::single(h, a)?, field::single(h, b)?) {
        (Some(x), Some(y)) if x != y => Err(Rejection::RepeatedHeader),
        (Some(x), _) | (None, Some(x)) => Ok(Some(x)),
        (None, None) => Ok(None),
    }
}

/// The answer to an allowed sub-request: 200, the identity headers, and the policy's cache hint
/// (`max_age_s` seconds; 0: `no-store`).
pub fn allowed(
    permit: &Permit<'_>,
    request_id: &str,
    generation: u64,
    max_age_s: u32,
) -> Result<Response<Body>, Rejection> {
    let mut resp = Response::new(body::full(""));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    vouch::insert(h, permit, request_id)?;
    let cache = if max_age_s == 0 {
        HeaderValue::from_static("no-store")
    } else {
        HeaderValue::from_str(&format!("max-age={max_age_s}")).map_err(|_| Rejection::Internal)?
    };
    h.insert(CACHE_CONTROL, cache);
    h.insert(GENERATION, HeaderValue::from(generation));
    Ok(resp)
}

/// The response header naming the policy generation that decided.
pub const GENERATION: &str = "x-portcullis-generation";

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::get("/auth");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn trusted() -> ForwardAuth {
        ForwardAuth {
            trusted_peers: vec!["127.0.0.0/8".parse().unwrap()],
        }
    }

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn reads_nginx_and_traefik_conventions() {
        let nginx = parts(&[
            ("x-original-method", "POST"),
            ("x-original-uri", "/api/?module=a&action=b"),
            ("host", "auth.internal"),
            ("x-forwarded-host", "app.example"),
        ]);
        let o = original(&nginx, LOCAL, &trusted()).unwrap();
        assert_eq!(o.method, Method::POST);
        assert_eq!(o.uri, "/api/?module=a&action=b");
        assert_eq!(o.host.as_deref(), Some("app.example"));
        let traefik = parts(&[
            ("x-forwarded-method", "DELETE"),
            ("x-forwarded-uri", "/x"),
            ("x-forwarded-proto", "https"),
        ]);
        let o = original(&traefik, LOCAL, &trusted()).unwrap();
        assert_eq!((o.method, o.uri.path()), (Method::DELETE, "/x"));
    }

    #[test]
    fn refuses_what_it_cannot_trust_or_read() {
        let ok = [("x-original-uri", "/x")];
        let far = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
        let cases: Vec<(Parts, IpAddr, Rejection)> = vec![
            (parts(&ok), far, Rejection::UntrustedForwarder),
            (parts(&[]), LOCAL, Rejection::MissingForwardedUri),
            (
                parts(&[("x-original-uri", "/a"), ("x-forwarded-uri", "/b")]),
                LOCAL,
                Rejection::RepeatedHeader,
            ),
            (
                parts(&[("x-original-uri", "http://evil/x")]),
                LOCAL,
                Rejection::NonCanonical(CanonicalError::NotOriginForm),
            ),
        ];
        for (p, peer, want) in cases {
            assert_eq!(original(&p, peer, &trusted()).unwrap_err(), want);
        }
        let mut p = parts(&ok);
        p.headers.insert(
            "x-forwarded-host",
            HeaderValue::from_bytes(b"a\xe9.example").unwrap(),
        );
        assert_eq!(
            original(&p, LOCAL, &trusted()).unwrap_err(),
            Rejection::UnreadableHeader
        );
    }
}
