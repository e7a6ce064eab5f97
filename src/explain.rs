//! `portcullis explain`: decides one request offline with the gateway's own decision
//! (`decision::authorize`) and says what it found — route, target, module, action, resource
//! values, the credential's id, and the decision with its reason — without sending anything.
//!
//! The request is canonicalized with the gateway's limits and its credential read from the
//! headers it would carry, so `explain` refuses what the proxy refuses. A key may also be named by
//! id (`Who::KeyId`); the decision then assumes that key, which only offline tools can do.

use std::fmt::Write as _;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::canonical;
use crate::decision::{self, Head, Presenting, Trace};
use crate::gateway::{self, Limits};
use crate::policy::Snapshot;
use crate::reject::Rejection;
use crate::route::{self, Target};

/// Who the request claims to be.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// No credential.
    Nobody,
    /// A key named by id.
    KeyId(&'a str),
    /// A presented secret, sent as `Authorization: Bearer`.
    Secret(&'a str),
}

/// Explain how `snapshot` decides `method target` (with optional `host`) at unix time `now`.
/// Returns the report and whether the request would be allowed.
pub fn explain(
    s: &Snapshot,
    method: &Method,
    target: &str,
    host: Option<&str>,
    who: Who<'_>,
    now: i64,
) -> (String, bool) {
    let mut out = String::new();
    let result = steps(s, method, target, host, who, now, &mut out);
    let allowed = match result {
        Ok(()) => {
            let _ = writeln!(out, "decision: allow");
            true
        }
        Err(r) => {
            let m = r.mapping(s.unmapped_status);
            let _ = writeln!(out, "decision: deny {} {}", m.status.as_u16(), m.code);
            false
        }
    };
    (out, allowed)
}

fn steps(
    s: &Snapshot,
    method: &Method,
    target: &str,
    host: Option<&str>,
    who: Who<'_>,
    now: i64,
    out: &mut String,
) -> Result<(), Rejection> {
    let uri: Uri = target
        .parse()
        .map_err(|_| Rejection::NonCanonical(canonical::CanonicalError::NotOriginForm))?;
    let target = gateway::canonicalize(&uri, &Limits::default())?;
    let host = host.map(gateway::normalize_host);
    let mut headers = HeaderMap::new();
    let presenting = match who {
        Who::Nobody => Presenting::Request,
        Who::KeyId(id) => Presenting::KeyId(id),
        Who::Secret(secret) => {
            let v = HeaderValue::from_str(&format!("Bearer {secret}"))
                .map_err(|_| Rejection::UnreadableHeader)?;
            headers.insert(AUTHORIZATION, v);
            Presenting::Request
        }
    };
    let head = Head {
        method,
        host: host.as_deref(),
        headers: &headers,
        target: &target,
        client_certificate: None,
    };
    // What the route says, for the report; the decision below resolves it again itself.
    if let Ok(m) = route::resolve(&s.routes, method, head.host, &target) {
        let r = m.route();
        let _ = writeln!(out, "route: {}", r.id);
        match r.target {
            Target::Upstream(u) => drop(writeln!(out, "upstream: {}", s.upstreams[u].name)),
            Target::Builtin(_) => drop(writeln!(out, "upstream: (built-in endpoint)")),
        }
        let _ = writeln!(out, "module: {}", m.module().unwrap_or("-"));
        let _ = writeln!(out, "action: {}", m.action().unwrap_or("-"));
        for (name, value) in m.resources() {
            let _ = writeln!(out, "resource {name}: {value}");
        }
    }
    let mut trace = Trace::default();
    let result = decision::authorize(s, &head, presenting, now, &mut trace);
    if let Some(id) = &trace.principal {
        let _ = writeln!(out, "key: {id}");
    }
    result.map(|_| ())
}
