//! Authorization: `authz::decide` turns a route match and a principal into a `Permit`, the only
//! value `forward::send` accepts, or a deny reason.
//!
//! Deny by default: a permit exists only for a public route, for `full-access` mode, or for a
//! principal whose grants hold the route's (module, action) inside its scope and read-only limit.
//! It does not find routes (`route`) or check credentials (`identity`).

use http::Method;

use crate::identity::{Key, Principal};
use crate::policy::raw::Mode;
use crate::reject::Rejection;
use crate::route::RouteMatch;

/// Proof that the request was decided and allowed. Only `decide` makes one.
#[derive(Debug)]
pub struct Permit<'a> {
    route: RouteMatch<'a>,
    key: Option<&'a Key>,
}

impl<'a> Permit<'a> {
    /// The route the request was allowed on.
    pub fn route(&self) -> &RouteMatch<'a> {
        &self.route
    }
    /// The key that authorized it (`None` on public routes and in `full-access` mode).
    pub fn key(&self) -> Option<&'a Key> {
        self.key
    }
}

/// What the request needs before `decide` can judge it.
pub fn needs_credential(route: &RouteMatch<'_>, mode: Mode) -> bool {
    !route.route().public && mode == Mode::LimitedAccess
}

/// Decide. `principal` is `None` when no credential was presented (or none is needed).
pub fn decide<'a>(
    route: RouteMatch<'a>,
    principal: Option<Principal<'a>>,
    method: &Method,
    mode: Mode,
) -> Result<Permit<'a>, Rejection> {
    if route.route().public {
        return Ok(Permit { route, key: None });
    }
    match mode {
        Mode::Disabled => return Err(Rejection::ApiDisabled),
        Mode::FullAccess => return Ok(Permit { route, key: None }),
        Mode::LimitedAccess => {}
    }
    let key = principal.ok_or(Rejection::MissingCredential)?.key();
    let (Some(module), Some(action)) = (route.module(), route.action()) else {
        return Err(Rejection::MissingSelector);
    };
    let grants = &key.grants;
    if !grants.permits(module, action) {
        return Err(Rejection::PermissionDenied);
    }
    if !grants.in_scope(route.resources()) {
        return Err(Rejection::OutOfScope);
    }
    if grants.read_only && !is_read(method) {
        return Err(Rejection::ReadOnly);
    }
    Ok(Permit {
        route,
        key: Some(key),
    })
}

/// Read methods: the only ones a read-only grant passes.
pub fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}
