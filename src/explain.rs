//! `portcullis explain`: runs the decision steps of the pipeline offline for one request and
//! says what each found — route, module, action, resource values, and the decision with its
//! reason — without sending anything.
//!
//! It calls the same steps as `gateway` (canonicalize, resolve, validate, decide); the only
//! difference is that a key may be named by id instead of by its secret.

use std::fmt::Write as _;

use http::{Method, Uri};

use crate::authz;
use crate::canonical;
use crate::identity;
use crate::policy::Snapshot;
use crate::reject::Rejection;
use crate::route;

/// Who the request claims to be.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// No credential.
    Nobody,
    /// A key named by id.
    KeyId(&'a str),
    /// A presented secret.
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
    let target = canonical::canonicalize(&uri).map_err(Rejection::NonCanonical)?;
    let host = host.map(crate::gateway::normalize_host);
    let matched = route::resolve(&s.routes, method, host.as_deref(), &target)?;
    let r = matched.route();
    let _ = writeln!(out, "route: {}", r.id);
    let _ = writeln!(out, "upstream: {}", s.upstreams[r.upstream].name);
    let _ = writeln!(out, "module: {}", matched.module().unwrap_or("-"));
    let _ = writeln!(out, "action: {}", matched.action().unwrap_or("-"));
    for (name, value) in matched.resources() {
        let _ = writeln!(out, "resource {name}: {value}");
    }
    if target.has_encoded_percent && !r.allow_encoded_percent {
        return Err(Rejection::EncodedPercent);
    }
    let principal = if authz::needs_credential(&matched, s.mode) {
        match who {
            Who::Nobody => None,
            Who::KeyId(id) => Some(identity::validate_id(&s.keys, id, now)?),
            Who::Secret(secret) => Some(identity::validate(s, secret, &r.accept, now)?),
        }
    } else {
        None
    };
    if let Some(p) = &principal {
        let _ = writeln!(out, "key: {}", p.id());
    }
    authz::decide(matched, principal, method, s.mode).map(|_| ())
}
