//! Forwarding: `forward::send` turns a `Permit` and the request into the upstream request,
//! sends it, and streams the answer back.
//!
//! It takes the permit by value, so nothing reaches an upstream without a decision. The
//! forwarded target is built from the canonical form the decision used (one parse), minus the
//! credential unless the route keeps it. The head's fields are the client's that hygiene keeps
//! and `X-Forwarded-*` / `Forwarded` (`forward_fields`), then the gateway's identity headers
//! (`vouch`). Bodies stream both ways. It does not
//! decide anything and never retries (a retried POST is not idempotent).

use std::net::SocketAddr;
use std::time::Duration;

use http::header::{HOST, HeaderName};
use http::request::Parts;
use http::uri::PathAndQuery;
use http::{Request, Response, Version};
use hyper::upgrade::OnUpgrade;
use ipnet::IpNet;

use crate::authz::Permit;
use crate::body::{self, Body};
use crate::canonical::Canonical;
use crate::credential::Carrier;
use crate::echo;
use crate::field;
use crate::fields::{Fields, Lines};
use crate::forward_fields;
use crate::headers;
use crate::reject::Rejection;
use crate::tunnel;
use crate::upstream::{Target, Upstream};
use crate::upstream_conn::Connector;
use crate::upstream_failure;
use crate::upstream_pool::{Pool, SendError};
use crate::vouch;

/// The pooled HTTP(S) client every upstream request goes through (one per worker).
pub type UpstreamClient = std::sync::Arc<Pool>;

/// Build the pooled client with the system's trust roots for `https://` upstreams.
pub fn client(connect_timeout: Duration) -> UpstreamClient {
    client_with_tls(connect_timeout, crate::tls::upstream::default_config())
}

/// Build the pooled client: keep-alive connections, `connect_timeout` per connection attempt,
/// `tls` for `https://` upstreams (HTTP/1.1 over TLS).
pub fn client_with_tls(connect_timeout: Duration, tls: rustls::ClientConfig) -> UpstreamClient {
    // Below the keep-alive timeout of common upstream servers (Apache 5 s, nginx 75 s), so the
    // pool drops a connection before the upstream closes it under a request.
    Pool::new(Connector::new(connect_timeout, tls), Duration::from_secs(4))
}

/// Facts about the downstream connection the forwarded headers report.
#[derive(Debug, Clone)]
pub struct Downstream<'a> {
    /// The client's address (after PROXY protocol, when used).
    pub peer: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Proxies whose `X-Forwarded-*` headers are extended rather than replaced.
    pub trusted_proxies: &'a [IpNet],
    /// This request's id.
    pub request_id: &'a str,
}

/// Everything `send` needs besides the permit.
pub struct Outgoing<'a> {
    /// The request head as received.
    pub parts: Parts,
    /// The request body (streamed, or already checked and buffered).
    pub body: Body,
    /// The canonical target the decision used.
    pub target: &'a Canonical<'a>,
    /// Where the request presented its credential, if it did.
    pub carrier: Option<Carrier<'a>>,
    /// Where the request goes.
    pub upstream: &'a Upstream,
    /// Header names the policy never forwards (normalized), besides the built-in ones.
    pub never_forward: &'a [String],
    /// The upstream's assertion signer and the time to sign at, when it asks for assertions.
    pub assertion: Option<(&'a crate::assertion::Signer, i64)>,
}

/// Send the permitted request upstream and return its response, streamed.
///
/// The checks and the head are made here, before anything is awaited; the future returned
/// holds only the request and the exchange (neither the permit nor the client's head, which
/// would ride along, hundreds of bytes, in every request's future).
pub fn send<'a>(
    client: &'a UpstreamClient,
    permit: Permit<'_>,
    mut out: Outgoing<'a>,
    down: &'a Downstream<'a>,
) -> Result<impl Future<Output = Result<Response<Body>, Rejection>> + 'a, Rejection> {
    if permit.principal().is_some_and(|p| p.is_assumed()) {
        // Only offline tools assume a principal by id; such a permit must never be sent.
        tracing::error!(request_id = %down.request_id, "refused to forward a permit for an assumed principal");
        return Err(Rejection::Internal);
    }
    let upstream = out.upstream;
    // A WebSocket upgrade on a route that allows it: keep the client's upgrade handle.
    let client_upgrade = if permit.route().route().websocket && tunnel::wants_websocket(&out.parts)?
    {
        tunnel::take_client(&mut out.parts)
    } else {
        None
    };
    let (req, target, lines) = build(&permit, out, down)?;
    Ok(exchange(
        client,
        upstream,
        req,
        target,
        lines,
        client_upgrade,
        down,
    ))
}

/// The exchange with the upstream: the request goes out, the response head comes back within
/// the upstream's timeout, its body streams.
async fn exchange(
    client: &UpstreamClient,
    upstream: &Upstream,
    mut req: Request<Body>,
    target: String,
    lines: Lines,
    client_upgrade: Option<OnUpgrade>,
    down: &Downstream<'_>,
) -> Result<Response<Body>, Rejection> {
    let websocket = client_upgrade.is_some();
    let resp = match &upstream.target {
        Target::Echo => {
            as_map(&mut req, &target, &lines, websocket)?;
            // Boxed, as the upgrade below: rare, and inline it would size every request.
            Box::pin(echo::respond(req)).await
        }
        Target::Http {
            scheme, authority, ..
        } => {
            let pending = async {
                match client_upgrade {
                    None => client.send(scheme, authority, req, &target, &lines).await,
                    Some(c) => {
                        as_map(&mut req, &target, &lines, true).map_err(|_| {
                            SendError::Exchange("an identity header could not be set".into())
                        })?;
                        Box::pin(upgrade(client, scheme, authority, req, c, down)).await
                    }
                }
            };
            let at = upstream_failure::Exchange {
                upstream,
                authority,
                request_id: down.request_id,
            };
            tokio::time::timeout(upstream.timeout, pending)
                .await
                .map_err(|_| upstream_failure::timed_out(&at))?
                .map_err(|e| upstream_failure::failed(&at, &e))?
        }
    };
    let switched = websocket && resp.status() == http::StatusCode::SWITCHING_PROTOCOLS;
    let (mut parts, body) = resp.into_parts();
    headers::sanitize(&mut parts.headers).map_err(|_| {
        tracing::warn!(request_id = %down.request_id, upstream = %upstream.name, "upstream sent an unreadable Connection header");
        Rejection::UpstreamFailed
    })?;
    if switched {
        tunnel::restore_headers(&mut parts.headers);
    }
    Ok(Response::from_parts(parts, body))
}

/// An upstream that takes a request (the echo, a WebSocket handshake through hyper) gets the
/// target as its URI and the head's fields as its map, with the upgrade fields hygiene kept
/// back.
fn as_map(
    req: &mut Request<Body>,
    target: &str,
    lines: &Lines,
    websocket: bool,
) -> Result<(), Rejection> {
    *req.uri_mut() = PathAndQuery::try_from(target)
        .map_err(|_| Rejection::Internal)?
        .into();
    *req.headers_mut() = lines.to_map()?;
    if websocket {
        tunnel::restore_headers(req.headers_mut());
    }
    Ok(())
}

/// A WebSocket handshake through the upstream; once it answers 101, the client's connection
/// and the upstream's are joined.
async fn upgrade(
    client: &UpstreamClient,
    scheme: &http::uri::Scheme,
    authority: &http::uri::Authority,
    req: Request<Body>,
    client_side: OnUpgrade,
    down: &Downstream<'_>,
) -> Result<Response<Body>, SendError> {
    let mut resp = client.upgrade(scheme, authority, req).await?;
    if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        // Only once the upstream agreed: join the two connections.
        let up = hyper::upgrade::on(&mut resp);
        tunnel::splice(client_side, up, down.request_id.to_owned());
    }
    Ok(resp.map(body::incoming))
}

/// The upstream request (method, body and the client's fields, which say its length), its
/// target in origin form, and every field of its head but the framing ones, as lines.
fn build(
    permit: &Permit<'_>,
    out: Outgoing<'_>,
    down: &Downstream<'_>,
) -> Result<(Request<Body>, String, Lines), Rejection> {
    let Outgoing {
        mut parts,
        body,
        target,
        carrier,
        upstream,
        never_forward,
        assertion,
    } = out;
    let keep = permit.route().route().keep_credential;
    let query = match carrier {
        Some(Carrier::Query(name)) if !keep => target.query_without(&[name]),
        _ => target.raw_query.map(str::to_owned),
    };
    let origin = upstream_target(upstream, target.raw_path, query.as_deref())?;
    let ip = down.peer.ip();
    let mut lines = Lines::with_capacity(1024);
    let client = forward_fields::Client {
        headers: &parts.headers,
        host: original_host(&parts)?,
        withheld: carrier.filter(|_| !keep),
        peer: ip,
        trusted: down.trusted_proxies.iter().any(|n| n.contains(&ip)),
        never_forward,
        scheme: down.scheme,
    };
    forward_fields::write(&client, upstream, &mut lines)?;
    vouch::insert(&mut lines, permit, down.request_id)?;
    if let Some((signer, now)) = assertion {
        let token = signer.sign(permit, down.request_id, now);
        lines.set(&HeaderName::from_static(crate::assertion::HEADER), &token)?;
    }
    parts.version = Version::HTTP_11;
    Ok((Request::from_parts(parts, body), origin, lines))
}

/// The host the client asked for: `Host`, or the HTTP/2 `:authority`.
fn original_host(parts: &Parts) -> Result<Option<&str>, Rejection> {
    Ok(match field::single(&parts.headers, HOST)? {
        Some(h) => Some(h),
        None => parts.uri.authority().map(|a| a.as_str()),
    })
}

/// The forwarded request's target in origin form (path and query, what the request line
/// carries), under the upstream's base path; the pool is told the address separately. It goes
/// into the request line as it is: refused (`Internal`) unless every byte is visible ASCII (its
/// pieces were checked already, the canonical form's and the policy's).
fn upstream_target(
    upstream: &Upstream,
    path: &str,
    query: Option<&str>,
) -> Result<String, Rejection> {
    let base = match &upstream.target {
        Target::Http { base_path, .. } => base_path.as_str(),
        Target::Echo => "",
    };
    let mut pq = String::with_capacity(base.len() + path.len() + query.map_or(0, |q| q.len() + 1));
    pq.push_str(base);
    pq.push_str(path);
    if let Some(q) = query {
        pq.push('?');
        pq.push_str(q);
    }
    // Every byte checked, without an early exit: the loop vectorizes.
    let visible = pq.bytes().fold(true, |ok, b| ok & (b > b' ') & (b < 0x7f));
    match visible && pq.starts_with('/') {
        true => Ok(pq),
        false => Err(Rejection::Internal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_gets_path_and_query_under_its_base_path() {
        let upstream = |url: &str| Upstream {
            name: "u".into(),
            target: crate::upstream::parse_target(url).unwrap(),
            timeout: Duration::from_secs(1),
            host: None,
        };
        let (echo, app) = (upstream("builtin:echo"), upstream("http://a:1/base"));
        for (up, path, query, want) in [
            (&app, "/x/y", Some("q=1"), "/base/x/y?q=1"),
            (&app, "/", None, "/base/"),
            (&app, "/%2F", Some(""), "/base/%2F?"),
            (&echo, "/x", Some("a=b"), "/x?a=b"),
        ] {
            assert_eq!(upstream_target(up, path, query).unwrap(), want);
        }
        for bad in ["/a b", "/a\r\nx", "/caf\u{e9}", "relative"] {
            assert_eq!(
                upstream_target(&echo, bad, None).map(|_| ()),
                Err(Rejection::Internal),
                "{bad:?}"
            );
        }
    }
}
