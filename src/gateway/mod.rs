//! The gateway: `gateway::handle` runs the request pipeline, one named step after another, and
//! maps any rejection to a response in one place.
//!
//! ```text
//! snapshot = policy.current()                      once per request
//! canonicalize → authorize (resolve → extract → validate → decide) → guard → send | builtin
//! ```
//! Each step returns `Result<_, Rejection>` and is `?`-propagated; a `Permit` exists only if every
//! step before `send` passed. The deciding steps are `decision::authorize`, which `explain` and
//! the benches call too. Built-in endpoints are route targets: a permit for one is handed to the
//! endpoint (`issuer`) instead of `forward::send`. Nothing is cached per connection: each request
//! (each pipelined HTTP/1.1 request, each HTTP/2 stream) goes through every step. Each request
//! is counted in the metrics and gets one access-log line naming the credential by id only
//! (`record`); every error line a step logs names the request id too (no per-request span: it
//! measurably slowed the denied path).

use std::collections::HashMap;
use std::sync::Arc;

use crate::incoming::Incoming;
use http::request::Parts;
use http::{Request, Response, Uri};
use ipnet::IpNet;

use crate::access_log::{self, key};
use crate::assertion::Signer;
use crate::body::Body;
use crate::builtin::Endpoint;
use crate::clock::Clock;
use crate::decision::{self, Head, Presenting, Trace};
use crate::denials::Denials;
use crate::forward::{self, Downstream, Outgoing, UpstreamClient};
use crate::forward_auth::{self, ForwardAuth, Original};
use crate::guard;
use crate::issuer;
use crate::manage;
use crate::metrics::Metrics;
use crate::policy::{Policy, Snapshot};
use crate::ratelimit::RateLimiter;
use crate::reject::{self, Rejection};
use crate::route::Target;
use crate::shadow;

mod conn;
mod grants;
mod observe;
mod record;
mod target;

use conn::client_address;
pub use conn::{Conn, Limits, Role};
use grants::principal_grants;
use observe::Answered;
use record::Record;
pub use target::{canonicalize, new_request_id, normalize_host, request_host};

pub use crate::issuer::State as IssuerState;

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
    /// Forward-auth settings (who may ask).
    pub forward_auth: ForwardAuth,
    /// Rate-limit buckets, quotas and the failed-credential throttle, shared by every worker.
    pub ratelimit: Arc<RateLimiter>,
    /// Request counters and latencies, shared by every worker and the admin listener.
    pub metrics: Arc<Metrics>,
    /// This worker's access-log writer; `None`: the access log is off.
    pub access_log: Option<Arc<access_log::Writer>>,
    /// The shadow policy, decided beside the live one and never answered from.
    pub shadow: Option<Arc<Policy>>,
    /// Assertion signers by upstream name (`assertion`): requests to those upstreams carry a
    /// signed `X-Portcullis-Assertion`.
    pub assertions: Arc<HashMap<String, Signer>>,
    /// Recent denials, for the admin listener.
    pub denials: Arc<Denials>,
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
            forward_auth: ForwardAuth::default(),
            ratelimit: Arc::default(),
            metrics: Arc::default(),
            access_log: None,
            shadow: None,
            assertions: Arc::default(),
            denials: Arc::default(),
        }
    }
}

/// Handle one request: decide, then forward or reject. Never fails; owns its arguments (`server`).
pub async fn handle(
    gw: Arc<Gateway>,
    conn: Conn,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let gw = &*gw;
    let started = tokio::time::Instant::now();
    let request_id = new_request_id();
    let snapshot = gw.policy.current();
    let (parts, incoming) = req.into_parts();
    // In forward-auth mode the request to decide is the one the fronting proxy describes.
    let original = match conn.role {
        Role::Proxy => Ok(None),
        Role::ForwardAuth => {
            forward_auth::original(&parts, conn.peer.ip(), &gw.forward_auth).map(Some)
        }
    };
    let (method, uri) = match &original {
        Ok(Some(o)) => (o.method.clone(), o.uri.clone()),
        // The canonical form borrows from its own handle on the URI (a reference-count bump),
        // so `parts` can still move into the forwarded request.
        Ok(None) | Err(_) => (parts.method.clone(), parts.uri.clone()),
    };
    let log = gw.access_log.as_deref();
    let mut rec = Record::start(log, &request_id, conn.role.name(), method.as_str());
    if let Some(l) = &mut rec.line {
        // The pipeline refuses a trusted proxy's unreadable header; the log falls back to the peer.
        let client = client_address(gw, &conn, &parts).unwrap_or(conn.peer.ip());
        l.str(key!("client"), &crate::forwarded::ip_text(client));
    }
    let mut trace = Trace::default();
    let result = match (&snapshot, original) {
        (None, _) => Err(Rejection::NoPolicy),
        (Some(_), Err(r)) => Err(r),
        (Some(s), Ok(original)) => {
            let req = Arrived {
                parts,
                incoming,
                original,
            };
            let cx = Step {
                conn: conn.clone(),
                uri: &uri,
                request_id: &request_id,
            };
            pipeline(gw, s, cx, req, &mut trace, &mut rec).await
        }
    };
    let unmapped = snapshot.as_ref().map(|s| s.unmapped_status);
    let unmapped = unmapped.unwrap_or(http::StatusCode::NOT_FOUND);
    let mut reason = None;
    let resp = match result {
        Ok(mut resp) => {
            if let Some(v) = reject::request_id_value(&request_id) {
                resp.headers_mut().insert(reject::REQUEST_ID, v);
            }
            resp
        }
        Err(r) => {
            if r == Rejection::Internal {
                // The step that failed logged the cause with this request id.
                tracing::error!(request_id = %request_id, "internal error: answered 500, forwarded nothing");
            }
            if let Some(kind) = observe::upstream_failure(&r) {
                let upstream = observe::upstream_name(snapshot.as_deref(), trace.route);
                gw.metrics.upstream_error(upstream, kind);
            }
            reason = Some(r.mapping(unmapped).code);
            reject::respond(&r, unmapped, &request_id, trace.style())
        }
    };
    let answered = Answered {
        snapshot: snapshot.as_deref(),
        route: trace.route,
        principal: trace.principal.as_deref(),
        reason,
        status: resp.status(),
        path: uri.path(),
        request_id: &request_id,
        login_user: resp
            .extensions()
            .get::<issuer::login::LoginUser>()
            .map(|u| u.0.as_str()),
    };
    let refused_id = rec.refused_id.take();
    observe::count(
        &gw.metrics,
        &gw.denials,
        &answered,
        started,
        rec.upstream,
        refused_id,
    );
    rec.answered(&answered);
    Ok(resp.map(|body| rec.finish(body, gw.access_log.as_ref(), started)))
}

/// What the pipeline is handed besides the request.
struct Step<'a> {
    /// The connection the request came on.
    conn: Conn,
    /// The target to decide (the original request's in forward-auth mode).
    uri: &'a Uri,
    /// This request's id.
    request_id: &'a str,
}

/// A request as it reached the pipeline.
struct Arrived {
    /// The request head.
    parts: Parts,
    /// Its body, not yet read.
    incoming: Incoming,
    /// In forward-auth mode, the original request the head describes.
    original: Option<Original>,
}

/// The pipeline. Order matters: the target is canonicalized before anything reads it, and the
/// body is checked only after the decision, so a denied request's body is never read.
async fn pipeline<'s>(
    gw: &Gateway,
    s: &'s Snapshot,
    cx: Step<'_>,
    req: Arrived,
    trace: &mut Trace<'s>,
    rec: &mut Record,
) -> Result<Response<Body>, Rejection> {
    let Arrived {
        parts,
        incoming,
        original,
    } = req;
    let Step {
        conn,
        uri,
        request_id,
    } = cx;
    let target = canonicalize(uri, &gw.limits)?;
    guard::framing(&parts)?;
    let host = match &original {
        Some(o) => o.host.as_deref().map(normalize_host),
        None => request_host(&parts)?,
    };
    if let Some(sni) = &conn.sni
        && host.as_deref() != Some(&**sni)
    {
        return Err(Rejection::MisdirectedRequest);
    }
    if let Some(hosts) = &conn.hosts
        && !host
            .as_deref()
            .is_some_and(|h| hosts.iter().any(|x| x == h))
    {
        return Err(Rejection::MisdirectedRequest);
    }
    let head = Head {
        method: original.as_ref().map_or(&parts.method, |o| &o.method),
        host: host.as_deref(),
        headers: &parts.headers,
        target: &target,
        client_certificate: conn.client_certificate,
    };
    let now = gw.clock.now();
    let client = client_address(gw, &conn, &parts)?;
    let failed = s.rate_limits.failed_credentials;
    if let Some(f) = failed {
        // Before the credential is looked up: a guesser's requests cost nothing.
        gw.ratelimit.failures.check(f, client, now)?;
    }
    let live = decision::authorize(s, &head, Presenting::Request, now, trace);
    if let Some(shadow) = &gw.shadow {
        let u = s.unmapped_status;
        let route = trace.route;
        shadow::compare(shadow, &gw.metrics, &head, now, &live, route, u, request_id);
    }
    let permit = live.inspect_err(|r| {
        if let (Some(f), Rejection::UnknownCredential) = (failed, r) {
            gw.ratelimit.failures.failed(f, client, now);
        }
        if record::names_a_credential(r) {
            rec.refused(record::refused_credential(s, &head));
        }
    })?;
    rec.permit(&permit);
    // Limits: after the decision, before any body is read or anything forwarded.
    let grants = principal_grants(s, &permit);
    let advice = gw
        .ratelimit
        .check(&s.rate_limits, &permit, grants, client, now)?;
    let carrier = trace.carrier;
    let mut resp = if original.is_some() {
        // Forward-auth: the fronting proxy forwards; the answer is the decision itself.
        let age = s.forward_auth_max_age_s;
        forward_auth::allowed(&permit, request_id, s.generation, age)?
    } else {
        match permit.route().route().target {
            Target::Upstream(upstream) => {
                guard::cookies(&permit, &parts)?;
                let limits = &gw.limits;
                let body = guard::body(
                    &permit,
                    &parts,
                    incoming,
                    limits.max_body_bytes,
                    limits.body_idle_timeout,
                )
                .await?;
                let body = rec.count_body(body);
                let down = Downstream {
                    peer: conn.peer,
                    scheme: conn.scheme,
                    trusted_proxies: &gw.trusted_proxies,
                    request_id,
                };
                let upstream = &s.upstreams[upstream];
                let signer = (!gw.assertions.is_empty())
                    .then(|| gw.assertions.get(&upstream.name))
                    .flatten();
                let out = Outgoing {
                    parts,
                    body,
                    target: &target,
                    carrier,
                    upstream,
                    never_forward: &s.never_forward,
                    assertion: signer.map(|signer| (signer, now)),
                };
                let exchange = forward::send(&gw.client, permit, out, &down)?;
                let sent = tokio::time::Instant::now();
                let answer = exchange.await;
                rec.upstream = Some(sent.elapsed());
                answer?
            }
            Target::Builtin(Endpoint::Manage(m)) => {
                if permit.principal().is_some_and(|p| p.is_assumed()) {
                    return Err(Rejection::Internal);
                }
                let cx = manage::Ctx {
                    s,
                    store: gw.issuer.store.as_ref(),
                    throttle: &gw.issuer.throttle,
                    request_id,
                    now,
                    client,
                };
                // Boxed (and `issuer::serve`): rare, and inline their KiBs would size every request.
                Box::pin(manage::serve(cx, m, &permit, parts, incoming)).await
            }
            Target::Builtin(endpoint) => {
                if permit.principal().is_some_and(|p| p.is_assumed()) {
                    return Err(Rejection::Internal);
                }
                let Some(st) = &s.directory.seatable else {
                    // Built-in SeaTable routes exist only while `seatable` is configured.
                    return Err(Rejection::Internal);
                };
                let cx = issuer::Ctx {
                    s,
                    st,
                    request_id,
                    state: &gw.issuer,
                    now,
                    client,
                };
                Box::pin(issuer::serve(cx, endpoint, permit, parts, incoming)).await
            }
        }
    };
    if let Some(a) = advice {
        a.write(resp.headers_mut());
    }
    Ok(resp)
}
