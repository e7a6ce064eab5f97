//! Authorization: `authz::decide` turns a route match and a principal into a `Permit`, the only
//! value `forward::send` accepts, or a deny reason.
//!
//! Deny by default: a permit exists only for a public route, for `full-access` mode, for any
//! valid principal on a built-in self-service endpoint (which checks the resource itself), or for
//! a principal whose authority covers the request — grants holding the route's (module, action)
//! inside their scope and read-only limit, or a base token whose base is the route's `base`
//! resource. A route whose SeaTable-path resource found no base uuid (`RouteMatch::unresolved`)
//! is refused whoever asks. It does not find routes (`route`) or check credentials (`identity`).

use http::Method;

use crate::grant::Grants;
use crate::identity::{Authority, Principal};
use crate::kinds::Mode;
use crate::registry;
use crate::reject::Rejection;
use crate::route::{Admits, RouteMatch};

/// The resource a base token is scoped to.
pub const BASE_RESOURCE: &str = "base";

/// Proof that the request was decided and allowed. Only `decide` makes one.
#[derive(Debug)]
pub struct Permit<'a> {
    route: RouteMatch<'a>,
    principal: Option<Principal<'a>>,
}

impl<'a> Permit<'a> {
    /// The route the request was allowed on.
    pub fn route(&self) -> &RouteMatch<'a> {
        &self.route
    }
    /// Who was allowed (`None` on public routes and in `full-access` mode).
    pub fn principal(&self) -> Option<&Principal<'a>> {
        self.principal.as_ref()
    }
}

/// Whether the request needs a credential before `decide` can judge it.
pub fn needs_credential(route: &RouteMatch<'_>, mode: Mode) -> bool {
    match route.route().admits {
        Admits::Anyone => false,
        // Built-in endpoints act for the principal: they need one whatever the API mode.
        Admits::AnyPrincipal | Admits::Management => true,
        Admits::Grants => mode == Mode::LimitedAccess,
    }
}

/// Authorisation records, and the time they are judged at.
#[derive(Debug, Clone, Copy)]
pub struct Delegated<'a> {
    /// The registry holding them.
    pub registry: &'a registry::Index,
    /// Unix seconds now.
    pub now: i64,
}

/// Decide. `principal` is `None` when no credential was presented (or none is needed).
pub fn decide<'a>(
    route: RouteMatch<'a>,
    principal: Option<Principal<'a>>,
    method: &Method,
    mode: Mode,
    delegated: Delegated<'_>,
) -> Result<Permit<'a>, Rejection> {
    // A catch-all SeaTable route whose path names no base: nothing is in scope, in any mode.
    if route.unresolved() {
        return Err(Rejection::OutOfScope);
    }
    match route.route().admits {
        Admits::Anyone => {
            return Ok(Permit {
                route,
                principal: None,
            });
        }
        Admits::AnyPrincipal => {
            let principal = principal.ok_or(Rejection::MissingCredential)?;
            return Ok(Permit {
                route,
                principal: Some(principal),
            });
        }
        Admits::Management => {
            // Management endpoints need the permission whatever the API mode.
            let principal = principal.ok_or(Rejection::MissingCredential)?;
            let (Some(module), Some(action)) = (route.module(), route.action()) else {
                return Err(Rejection::MissingSelector);
            };
            match principal.authority() {
                Authority::Grants(g) => check_grants(g, &route, module, action, method)?,
                _ => return Err(Rejection::PermissionDenied),
            }
            return Ok(Permit {
                route,
                principal: Some(principal),
            });
        }
        Admits::Grants => {}
    }
    match mode {
        Mode::Disabled => return Err(Rejection::ApiDisabled),
        Mode::FullAccess => {
            return Ok(Permit {
                route,
                principal: None,
            });
        }
        Mode::LimitedAccess => {}
    }
    let principal = principal.ok_or(Rejection::MissingCredential)?;
    let (Some(module), Some(action)) = (route.module(), route.action()) else {
        return Err(Rejection::MissingSelector);
    };
    let own = match principal.authority() {
        Authority::Grants(grants) => check_grants(grants, &route, module, action, method),
        Authority::Scoped(entries) => check_scoped(entries, &route, module, action),
        Authority::Base { uuid, read_only } => {
            let in_base = route
                .resources()
                .iter()
                .any(|(name, value)| *name == BASE_RESOURCE && value == uuid);
            if !in_base {
                Err(Rejection::OutOfScope)
            } else if *read_only && !is_read(method) {
                Err(Rejection::ReadOnly)
            } else {
                Ok(())
            }
        }
    };
    if let Err(denied) = own {
        // What the principal cannot do itself, an active authorisation record may grant it.
        if !delegation_allows(delegated, &principal, &route, module, action) {
            return Err(denied);
        }
    }
    Ok(Permit {
        route,
        principal: Some(principal),
    })
}

/// A contract.fit key: some role entry holds (module, action) on the captured inbox/document.
fn check_scoped(
    entries: &[registry::Scoped],
    route: &RouteMatch<'_>,
    module: &str,
    action: &str,
) -> Result<(), Rejection> {
    if entries
        .iter()
        .any(|e| e.allows(module, action, route.resources()))
    {
        Ok(())
    } else if entries.iter().any(|e| e.grants.permits(module, action)) {
        Err(Rejection::OutOfScope)
    } else {
        Err(Rejection::PermissionDenied)
    }
}

/// Whether an authorisation record active at `now` grants the principal (module, action) on
/// the route's resources: its subject is the user the principal acts for (`User` subjects) or
/// the principal's own id (any other subject type), its type's role holds the permission, and
/// the route captured the type's resource with the record's object value.
fn delegation_allows(
    d: Delegated<'_>,
    principal: &Principal<'_>,
    route: &RouteMatch<'_>,
    module: &str,
    action: &str,
) -> bool {
    let holds = |subject: &str, user_subject: bool| {
        d.registry.delegations_to(subject).iter().any(|g| {
            g.user_subject == user_subject
                && g.active(d.now)
                && g.binding.grants.permits(module, action)
                && route
                    .resources()
                    .iter()
                    .any(|(n, v)| *n == g.binding.resource && *v == g.object)
        })
    };
    principal.user().is_some_and(|u| holds(u, true)) || holds(principal.id(), false)
}

fn check_grants(
    grants: &Grants,
    route: &RouteMatch<'_>,
    module: &str,
    action: &str,
    method: &Method,
) -> Result<(), Rejection> {
    if !grants.permits(module, action) {
        return Err(Rejection::PermissionDenied);
    }
    if !grants.in_scope(route.resources()) {
        return Err(Rejection::OutOfScope);
    }
    if grants.read_only && !is_read(method) {
        return Err(Rejection::ReadOnly);
    }
    Ok(())
}

/// Read methods: the only ones a read-only grant passes.
pub fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}
