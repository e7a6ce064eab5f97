//! The gateway: `gateway::handle` runs the request pipeline, one named step after another, and
//! maps any rejection to a response in one place.
//!
//! ```text
//! snapshot = policy.current()                      once per request
//! canonicalize → resolve → extract → validate → decide → guard body → send
//! ```
//! Each step returns `Result<_, Rejection>` and is `?`-propagated; a `Permit` exists only if every
//! step before `send` passed. Nothing is cached per connection: each request (each pipelined
//! HTTP/1.1 request, each HTTP/2 stream) goes through every step. One access-log line per request,
//! naming the key by id only.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::HOST;
use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use ipnet::IpNet;

use crate::authz;
use crate::body::Body;
use crate::canonical::{self, Canonical};
use crate::clock::Clock;
use crate::credential;
use crate::forward::{self, Downstream, Outgoing, UpstreamClient};
use crate::guard;
use crate::identity;
use crate::issuer::{self, throttle::Throttle};
use crate::managed::Store;
use crate::policy::raw::ErrorStyle;
use crate::policy::{Policy, Snapshot};
use crate::reject::{self, Rejection};
use crate::route;

/// Request limits from the boot settings.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body forwarded, in bytes.
    pub max_body_bytes: u64,
    /// Longest request target, in bytes.
    pub max_uri_bytes: usize,
    /// Most query parameters (PHP silently drops those past `max_input_vars`, 1000 by default).
    pub max_params: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 << 20,
            max_uri_bytes: 8192,
            max_params: 1000,
        }
    }
}

/// Everything the pipeline needs that outlives one request.
#[derive(Debug)]
pub struct Gateway {
    /// The published policy.
    pub policy: Arc<Policy>,
    /// Time for validity windows.
    pub clock: Arc<dyn Clock>,
    /// Pooled upstream connections.
    pub client: UpstreamClient,
    /// Request limits.
    pub limits: Limits,
    /// Proxies whose forwarding headers are trusted.
    pub trusted_proxies: Vec<IpNet>,
    /// State of the token endpoints that outlives snapshots.
    pub issuer: IssuerState,
}

/// State of the token endpoints that outlives snapshots.
#[derive(Debug, Default)]
pub struct IssuerState {
    /// Failed-login throttle, shared by every worker of the process.
    pub throttle: Arc<Throttle>,
    /// Where API token changes are written (`None`: management endpoints answer 503).
    pub store: Option<Arc<Store>>,
}

impl Gateway {
    /// A gateway with default limits, no trusted proxies and no management store.
    pub fn new(policy: Arc<Policy>, clock: Arc<dyn Clock>, client: UpstreamClient) -> Self {
        Self {
            policy,
            clock,
            client,
            limits: Limits::default(),
            trusted_proxies: Vec::new(),
            issuer: IssuerState::default(),
        }
    }
}

/// Facts about the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct Conn {
    /// The client's address.
    pub peer: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
}

/// What the access log says about a request, filled as steps pass.
#[derive(Debug, Default)]
struct Trail<'s> {
    route: Option<&'s str>,
    style: ErrorStyle,
    key: Option<Cow<'s, str>>,
    /// The `Allow` header of a 405.
    allow: Option<String>,
    /// What to log instead of the path, when the path holds a secret.
    path: Option<&'static str>,
    reason: Option<&'static str>,
}

/// Handle one request: decide, then forward or reject. Never fails.
pub async fn handle(gw: &Gateway, conn: Conn, req: Request<Incoming>) -> Response<Body> {
    let started = tokio::time::Instant::now();
    let request_id = new_request_id();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let snapshot = gw.policy.current();
    let mut trail = Trail::default();
    let result = match &snapshot {
        Some(s) => pipeline(gw, s, conn, req, &request_id, &mut trail).await,
        None => Err(Rejection::NoPolicy),
    };
    let unmapped = snapshot
        .as_ref()
        .map_or(StatusCode::NOT_FOUND, |s| s.unmapped_status);
    let mut resp = result.unwrap_or_else(|r| {
        trail.reason = Some(r.mapping(unmapped).code);
        reject::respond(r, unmapped, &request_id, trail.style)
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    if let Some(v) = trail
        .allow
        .as_deref()
        .and_then(|a| HeaderValue::from_str(a).ok())
    {
        resp.headers_mut().insert(http::header::ALLOW, v);
    }
    tracing::info!(
        target: "portcullis::access",
        request_id = %request_id,
        peer = %conn.peer,
        method = %method,
        path = trail.path.unwrap_or(&path),
        status = resp.status().as_u16(),
        route = trail.route.unwrap_or("-"),
        key_id = trail.key.as_deref().unwrap_or("-"),
        reason = trail.reason.unwrap_or("-"),
        generation = snapshot.as_ref().map_or(0, |s| s.generation),
        micros = started.elapsed().as_micros() as u64,
    );
    resp
}

/// The pipeline. Order matters: the target is canonicalized before anything reads it, and the
/// body is checked only after the decision, so a denied request's body is never read.
async fn pipeline<'s>(
    gw: &Gateway,
    s: &'s Snapshot,
    conn: Conn,
    req: Request<Incoming>,
    request_id: &str,
    trail: &mut Trail<'s>,
) -> Result<Response<Body>, Rejection> {
    let (parts, incoming) = req.into_parts();
    // The canonical form borrows from its own handle on the URI (a reference-count bump), so
    // `parts` can still move into the forwarded request.
    let uri = parts.uri.clone();
    let target = canonicalize(&uri, &gw.limits)?;
    // Token endpoints are answered by the gateway itself, before routing.
    if let Some(st) = &s.directory.seatable
        && let Some(call) = issuer::resolve(st, &target.path)
    {
        trail.route = Some(call.endpoint.name());
        if call.endpoint == issuer::Endpoint::LinkAccessToken {
            // The link token is in the path: never log it.
            trail.path = Some("/…/external-link-tokens/<redacted>/access-token/");
        }
        let cx = issuer::Ctx { gw, s, st, conn };
        return Ok(issuer::serve(cx, call, parts, incoming, &target).await);
    }
    let host = request_host(&parts);
    let matched =
        route::resolve(&s.routes, &parts.method, host.as_deref(), &target).inspect_err(|r| {
            if *r == Rejection::MethodNotAllowed {
                let allowed = route::allowed_methods(&s.routes, host.as_deref(), &target);
                let list: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
                trail.allow = Some(list.join(", "));
            }
        })?;
    trail.route = Some(&s.routes.routes[matched.route().index].id);
    trail.style = matched.route().error_style;
    if target.has_encoded_percent && !matched.route().allow_encoded_percent {
        return Err(Rejection::EncodedPercent);
    }
    let presented = credential::extract(&parts.headers, &target, &s.credential_query_params)?;
    let principal = match presented {
        Some(c) if authz::needs_credential(&matched, s.mode) => {
            let accept = &matched.route().accept;
            Some(identity::validate(s, c.secret, accept, gw.clock.now())?)
        }
        _ => None,
    };
    trail.key = principal.as_ref().map(|p| p.id_cow());
    let carrier = presented.map(|c| c.carrier);
    let permit = authz::decide(matched, principal, &parts.method, s.mode)?;
    guard::cookies(&permit, &parts)?;
    let body = guard::body(&permit, &parts, incoming, gw.limits.max_body_bytes).await?;
    let upstream = &s.upstreams[permit.route().route().upstream];
    let down = Downstream {
        peer: conn.peer,
        scheme: conn.scheme,
        trusted_proxies: &gw.trusted_proxies,
        request_id,
    };
    let out = Outgoing {
        parts,
        body,
        target: &target,
        carrier,
        upstream,
    };
    forward::send(&gw.client, permit, out, &down).await
}

/// Step 1: the one parse of the request target.
fn canonicalize<'u>(uri: &'u http::Uri, limits: &Limits) -> Result<Canonical<'u>, Rejection> {
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

/// The host routes are matched on: `Host` (or `:authority`), lowercased, without port.
pub fn request_host(parts: &Parts) -> Option<Cow<'_, str>> {
    let raw = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))?;
    Some(normalize_host(raw))
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
    hex::encode(rand::random::<[u8; 16]>())
}

/// How long the server waits for a request head (slow-loris guard); see `server`.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
