//! The one decision: `decision::authorize` runs the deciding steps of the pipeline — the method
//! allow-list, resolve, the encoded-percent, encoded-delimiter and `_method` checks, extract,
//! validate, decide — over a snapshot, a canonical request
//! head and a time, and returns the `Permit` or the `Rejection`.
//!
//! Every caller decides through it: the proxy pipeline (`gateway`), `portcullis explain`, and the
//! decision bench. It is pure: no I/O, no clock, no global state. A `Trace` records what each
//! step found, for the access log and for `explain`.
//!
//! Offline tools may name a key by id instead of presenting its secret (`Presenting::KeyId`); the
//! principal that results is marked as assumed, and neither `forward::send` nor a built-in
//! endpoint accepts a permit for it, so the request path cannot use that door.

use std::borrow::Cow;

use http::{HeaderMap, Method};

use crate::authz::{self, Permit};
use crate::canonical::Canonical;
use crate::credential::{self, Carrier};
use crate::identity;
use crate::kinds::CredentialKind;
use crate::kinds::ErrorStyle;
use crate::php;
use crate::policy::Snapshot;
use crate::reject::Rejection;
use crate::route::{self, Route};

/// The request as the decision sees it: canonicalized once, before this step. The headers and
/// host are read only while deciding; the permit borrows nothing from them, so the request can
/// move on to `forward::send`.
#[derive(Debug, Clone, Copy)]
pub struct Head<'h, 'r> {
    /// The method.
    pub method: &'h Method,
    /// The host routes match on (`Host` or `:authority`, normalized), if any.
    pub host: Option<&'h str>,
    /// The request headers (the credential is read from them).
    pub headers: &'h HeaderMap,
    /// The canonical target; the permit borrows captured values from it.
    pub target: &'r Canonical<'r>,
    /// SHA-256 of the verified TLS client certificate of the connection, if any.
    pub client_certificate: Option<[u8; 32]>,
}

/// Where the credential comes from.
#[derive(Debug, Clone, Copy)]
pub enum Presenting<'a> {
    /// From the request: `Authorization`, `X-API-Key` or a credential query parameter.
    Request,
    /// Offline tools only: a key named by id. The permit cannot be forwarded.
    KeyId(&'a str),
}

/// What the steps found, filled as they pass; it borrows only from the snapshot, so it outlives
/// the request for the access log.
#[derive(Debug, Default)]
pub struct Trace<'s> {
    /// The matched route.
    pub route: Option<&'s Route>,
    /// The error style of the routes a 405 names (no route matched then).
    pub style_405: Option<ErrorStyle>,
    /// Where the credential was found.
    pub carrier: Option<Carrier<'s>>,
    /// The principal's id (a key id, `user:<name>`...), once validated.
    pub principal: Option<Cow<'s, str>>,
}

impl Trace<'_> {
    /// The error style of the matched route (standard before a route matched).
    pub fn style(&self) -> ErrorStyle {
        match self.route {
            Some(r) => r.error_style,
            None => self.style_405.unwrap_or_default(),
        }
    }
}

/// The parameter frameworks read as a method override.
pub const METHOD_OVERRIDE_PARAM: &str = "_method";

/// Step 0: a method outside the allow-list is refused before routing, CONNECT always (405).
fn check_method(s: &Snapshot, method: &Method) -> Result<(), Rejection> {
    if method == Method::CONNECT {
        let list: Vec<&str> = s.allowed_methods.iter().map(Method::as_str).collect();
        return Err(Rejection::MethodNotAllowed(crate::reject::Allow(
            list.join(", "),
        )));
    }
    if s.allowed_methods.contains(method) {
        Ok(())
    } else {
        Err(Rejection::MethodNotImplemented)
    }
}

/// Decide `head` under snapshot `s` at unix time `now`.
///
/// Order matters: the route is resolved first (an unmapped request is denied without looking at
/// credentials), the credential is validated only when the route needs one, and `authz::decide`
/// has the last word.
pub fn authorize<'s: 'r, 'r>(
    s: &'s Snapshot,
    head: &Head<'_, 'r>,
    presenting: Presenting<'_>,
    now: i64,
    trace: &mut Trace<'s>,
) -> Result<Permit<'r>, Rejection> {
    check_method(s, head.method)?;
    let matched = match route::resolve(&s.routes, head.method, head.host, head.target) {
        Ok(m) => m,
        Err(Rejection::MethodNotAllowed(_)) => {
            let (allow, style) = route::allowed_methods(&s.routes, head.host, head.target);
            trace.style_405 = Some(style);
            return Err(Rejection::MethodNotAllowed(allow));
        }
        Err(other) => return Err(other),
    };
    let r: &'s Route = &s.routes.routes[matched.route().index];
    trace.route = Some(r);
    if head.target.has_encoded_percent && !r.allow_encoded_percent {
        return Err(Rejection::EncodedPercent);
    }
    if head.target.has_encoded_delimiter && !r.allow_encoded_delimiters {
        return Err(Rejection::EncodedDelimiter);
    }
    if !r.allow_method_override && php::mentions(&head.target.query, METHOD_OVERRIDE_PARAM) {
        return Err(Rejection::MethodOverride);
    }
    let needed = authz::needs_credential(&matched, s.mode);
    let principal = match presenting {
        Presenting::Request => {
            let management = r.accept.contains(&CredentialKind::ManagementClient);
            let forms = credential::Forms {
                basic: management,
                bare: management || s.management.contractfit.is_some(),
            };
            let presented =
                credential::extract(head.headers, head.target, &s.credential_query_params, forms)?;
            trace.carrier = presented.map(|c| c.carrier);
            match (presented, head.client_certificate) {
                (Some(c), _) if needed => Some(identity::validate(
                    sources(s),
                    c.carrier,
                    c.secret,
                    &r.accept,
                    now,
                )?),
                // No other credential: a verified client certificate may stand for a key.
                (None, Some(fp))
                    if needed && r.accept.contains(&CredentialKind::ClientCertificate) =>
                {
                    Some(identity::validate_certificate(
                        &s.keys, &fp, &r.accept, now,
                    )?)
                }
                _ => None,
            }
        }
        Presenting::KeyId(id) if needed => Some(identity::assume_key(&s.keys, id, now)?),
        Presenting::KeyId(_) => None,
    };
    trace.principal = principal.as_ref().map(|p| p.id_cow());
    let delegated = authz::Delegated {
        registry: &s.managed,
        now,
    };
    authz::decide(matched, principal, head.method, s.mode, delegated)
}

/// Where `identity` looks credentials up in snapshot `s`.
pub fn sources(s: &Snapshot) -> identity::Sources<'_> {
    identity::Sources {
        keys: &s.keys,
        directory: &s.directory,
        clients: &s.management.clients,
        registry: &s.managed,
    }
}
