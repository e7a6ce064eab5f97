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
        Admits::AnyPrincipal => true,
        Admits::Grants => mode == Mode::LimitedAccess,
    }
}

/// Decide. `principal` is `None` when no credential was presented (or none is needed).
pub fn decide<'a>(
    route: RouteMatch<'a>,
    principal: Option<Principal<'a>>,
    method: &Method,
    mode: Mode,
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
    match principal.authority() {
        Authority::Grants(grants) => check_grants(grants, &route, module, action, method)?,
        Authority::Base { uuid, read_only } => {
            let in_base = route
                .resources()
                .iter()
                .any(|(name, value)| *name == BASE_RESOURCE && value == uuid);
            if !in_base {
                return Err(Rejection::OutOfScope);
            }
            if *read_only && !is_read(method) {
                return Err(Rejection::ReadOnly);
            }
        }
    }
    Ok(Permit {
        route,
        principal: Some(principal),
    })
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
