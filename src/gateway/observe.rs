//! Counting an answered request, once its response head is ready: the request metrics, the
//! recent denials, upstream failures, token-endpoint outcomes and management writes. The access
//! line is `record`'s; both read the same `Answered`.

use std::time::Duration;

use http::StatusCode;
use tokio::time::Instant;

use crate::builtin::Endpoint;
use crate::denials::{Denial, Denials};
use crate::metrics::{self, Metrics};
use crate::policy::Snapshot;
use crate::reject::Rejection;
use crate::route::{Route, Target};

/// What a request was answered with.
#[derive(Debug)]
pub struct Answered<'a> {
    /// The snapshot it was decided under.
    pub snapshot: Option<&'a Snapshot>,
    /// The route it matched.
    pub route: Option<&'a Route>,
    /// The validated principal's id.
    pub principal: Option<&'a str>,
    /// The rejection's reason code (`None`: allowed).
    pub reason: Option<&'static str>,
    /// The status answered.
    pub status: StatusCode,
    /// The request path as received (never logged for a route whose path holds a secret).
    pub path: &'a str,
    /// The request id.
    pub request_id: &'a str,
    /// The user a login attempt named (an existing user), when no credential named one.
    pub login_user: Option<&'a str>,
}

impl Answered<'_> {
    /// `allow`, `deny` (4xx) or `error` (5xx).
    pub fn decision(&self) -> &'static str {
        match (self.reason, metrics::class(self.status)) {
            (None, _) => "allow",
            (Some(_), 5) => "error",
            (Some(_), _) => "deny",
        }
    }
}

/// Count `a` (answered `started` ago; the upstream took `upstream`); a refusal is kept among
/// the recent denials, naming `refused_id` (a refused credential) or the principal.
pub fn count(
    m: &Metrics,
    denials: &Denials,
    a: &Answered<'_>,
    started: Instant,
    upstream: Option<Duration>,
    refused_id: Option<String>,
) {
    m.request(&metrics::Request {
        snapshot: a.snapshot,
        route: a.route,
        reason: a.reason,
        status: a.status,
        total: started.elapsed(),
        upstream,
    });
    if let Some(code) = a.reason {
        denials.record(Denial {
            request_id: a.request_id.to_owned(),
            at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            route: a.route.map(|r| r.id.clone()),
            reason: code,
            status: a.status.as_u16(),
            credential_id: refused_id.or_else(|| a.principal.map(str::to_owned)),
        });
    }
    if let Some(r) = a.route.filter(|r| matches!(r.target, Target::Builtin(_))) {
        builtin_outcome(m, r, a.reason.is_none(), a.status);
    }
}

/// The metric kind of an upstream failure.
pub fn upstream_failure(r: &Rejection) -> Option<&'static str> {
    match r {
        Rejection::UpstreamUnreachable => Some("connect"),
        Rejection::UpstreamTimeout => Some("timeout"),
        Rejection::UpstreamFailed => Some("failed"),
        _ => None,
    }
}

/// The name of the upstream of `route`.
pub fn upstream_name<'s>(s: Option<&'s Snapshot>, route: Option<&Route>) -> &'s str {
    match (s, route.map(|r| &r.target)) {
        (Some(s), Some(Target::Upstream(i))) => s.upstreams.get(*i).map_or("", |u| &u.name),
        _ => "",
    }
}

/// Count an answer on a built-in endpoint route: token-endpoint outcomes, and management
/// writes for the endpoints that write (SeaTable API tokens, contract.fit, Trivore).
fn builtin_outcome(m: &Metrics, route: &Route, allowed: bool, status: StatusCode) {
    let outcome = match (allowed && status.is_success(), metrics::class(status)) {
        (true, _) => "issued",
        (false, 5) => "failed",
        (false, _) => "refused",
    };
    m.token_endpoint(&route.id, outcome);
    let writes = match route.target {
        Target::Builtin(
            Endpoint::CreateApiToken | Endpoint::UpdateApiToken | Endpoint::DeleteApiToken,
        ) => true,
        Target::Builtin(Endpoint::Manage(m)) => m.writes(),
        _ => false,
    };
    if writes && allowed {
        let outcome = match outcome {
            "issued" => "applied",
            other => other,
        };
        m.management_write(outcome);
    }
}
