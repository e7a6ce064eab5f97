//! Routes: the compiled route table and `route::resolve`, which maps a canonical request to the
//! one route it belongs to and the module, action and resource values it performs.
//!
//! Precedence is by specificity, never by position: a host-specific table before the any-host
//! table; within a table matchit's radix order (static segment over `{param}` over `{*rest}`);
//! among routes on the same path template, a method-specific route over an any-method one, then
//! the route with more query constraints. Routes that could tie are rejected when the policy is
//! compiled (`policy::compile`), so `resolve` never has to guess. It does not look at credentials;
//! `credential` and `identity` come next.

use std::collections::HashMap;

use http::Method;

use crate::base_uuid;
use crate::builtin::{Access, Endpoint};
use crate::canonical::Canonical;
use crate::grant::RateLimit;
use crate::kinds::{CredentialKind, ErrorStyle};
use crate::php;
use crate::reject::{Allow, Rejection};

/// Where a module, action or resource value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// A fixed value.
    Literal(String),
    /// The `{name}` or `{*name}` capture of the route's path template.
    Path(String),
    /// The single scalar query parameter `name` (PHP rules: no repeats, arrays or aliases).
    Query(String),
    /// The base uuid in the SeaTable path held by the capture `name` (`base_uuid::in_path`);
    /// a request without one is marked `unresolved` and `authz` refuses it.
    SeaTableBase(String),
}

/// A query constraint: the parameter must be present with this value (or any value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRule {
    /// Parameter name.
    pub name: String,
    /// Required value; `None` means "present with any value".
    pub value: Option<String>,
}

/// What a permitted request is handed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An upstream: the index into the snapshot's upstreams.
    Upstream(usize),
    /// An endpoint the gateway answers itself.
    Builtin(Endpoint),
}

/// Who a route admits, before grants are looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admits {
    /// A principal whose grants hold the route's (module, action) in scope.
    Grants,
    /// Anyone (`public`); no credential is validated.
    Anyone,
    /// Any valid principal of an accepted kind (built-in self-service endpoints, which check the
    /// resource themselves).
    AnyPrincipal,
    /// A principal whose grants hold the route's (module, action), whatever the API mode
    /// (built-in management endpoints).
    Management,
}

impl From<Access> for Admits {
    fn from(a: Access) -> Self {
        match a {
            Access::Public => Admits::Anyone,
            Access::AnyPrincipal => Admits::AnyPrincipal,
            Access::Grants => Admits::Management,
        }
    }
}

/// One compiled route.
#[derive(Debug)]
pub struct Route {
    /// The id from the policy, for logs and `explain`.
    pub id: String,
    /// Its position in `RouteTable::routes`, so callers can name it without holding the match.
    pub index: usize,
    /// Methods it matches; empty means any.
    pub methods: Vec<Method>,
    /// Query constraints, all of which must hold.
    pub query: Vec<QueryRule>,
    /// Where the module comes from (`None` only on public routes).
    pub module: Option<ValueSource>,
    /// Where the action comes from (`None` only on public routes).
    pub action: Option<ValueSource>,
    /// Resource name → where its value comes from.
    pub resources: Vec<(String, ValueSource)>,
    /// Where a permitted request goes.
    pub target: Target,
    /// Who the route admits.
    pub admits: Admits,
    /// Forward the credential instead of removing it.
    pub keep_credential: bool,
    /// `%25` allowed in the target.
    pub allow_encoded_percent: bool,
    /// `%3F` and `%23` allowed in the path.
    pub allow_encoded_delimiters: bool,
    /// A `_method` parameter allowed in the query or a form body.
    pub allow_method_override: bool,
    /// WebSocket upgrades are forwarded (after the decision, tunnelled once the upstream says 101).
    pub websocket: bool,
    /// Credential kinds the route accepts.
    pub accept: Vec<CredentialKind>,
    /// How rejections on this route look.
    pub error_style: ErrorStyle,
    /// Default rate limit on this route, per principal (or client address).
    pub rate_limit: Option<RateLimit>,
    /// The path holds a secret: logs show `template` instead of the path.
    pub secret_in_path: bool,
    /// The path template, for logs.
    pub template: String,
    /// Query parameters that select what the request does (captures and constraints): a form
    /// body must not name them, since PHP's `$_REQUEST` would let the body override the query.
    pub query_selectors: Vec<String>,
}

impl Route {
    /// No credential needed.
    pub fn public(&self) -> bool {
        self.admits == Admits::Anyone
    }

    /// Rank among routes on the same template: higher wins.
    pub fn rank(&self) -> (bool, usize) {
        (!self.methods.is_empty(), self.query.len())
    }

    fn allows(&self, method: &Method) -> bool {
        self.methods.is_empty() || self.methods.contains(method)
    }

    /// Whether every query constraint holds. A constrained parameter that PHP would read
    /// differently (repeated, array, alias) is an error, not a mismatch: otherwise a request could
    /// slip from a constrained route to a looser one.
    fn query_holds(&self, req: &Canonical) -> Result<bool, Rejection> {
        for rule in &self.query {
            let v =
                php::single_value(&req.query, &rule.name).map_err(Rejection::AmbiguousParameter)?;
            match (v, rule.value.as_deref()) {
                (None, _) => return Ok(false),
                (Some(got), Some(want)) if got != want => return Ok(false),
                _ => {}
            }
        }
        Ok(true)
    }
}

/// The compiled routes: one matchit router per host plus one for any host.
#[derive(Debug, Default)]
pub struct RouteTable {
    /// Every route, indexed by the routers.
    pub routes: Vec<Route>,
    /// Host → router of route-index groups (one group per path template).
    pub by_host: HashMap<String, matchit::Router<Vec<usize>>>,
    /// Router for routes without a host.
    pub any_host: matchit::Router<Vec<usize>>,
}

/// Proof that a request belongs to a route, with the values it captured. Only `resolve` makes one
/// (a copy proves the same thing).
#[derive(Debug, Clone)]
pub struct RouteMatch<'a> {
    route: &'a Route,
    module: Option<&'a str>,
    action: Option<&'a str>,
    resources: Vec<(&'a str, &'a str)>,
    /// A SeaTable-path resource found no base uuid in the path.
    unresolved: bool,
}

impl RouteTable {
    /// How the access log shows `path`: the matched route's template when its path holds a
    /// secret; when no route matched, a path under the static start of such a template shows
    /// only that start (a token in a mistyped or wrong-method request stays out of the logs).
    pub fn loggable_path<'p>(&'p self, matched: Option<&'p Route>, path: &'p str) -> &'p str {
        match matched {
            Some(r) if r.secret_in_path => r.template.as_str(),
            Some(_) => path,
            None => self
                .routes
                .iter()
                .filter(|r| r.secret_in_path)
                .find(|r| {
                    let fixed = r.template.split('{').next().unwrap_or("");
                    path.len() > fixed.len() && path.starts_with(fixed)
                })
                .map_or(path, |r| r.template.as_str()),
        }
    }
}

impl<'a> RouteMatch<'a> {
    /// The matched route.
    pub fn route(&self) -> &'a Route {
        self.route
    }
    /// The module the request acts on (`None` only on public routes).
    pub fn module(&self) -> Option<&'a str> {
        self.module
    }
    /// The action the request performs (`None` only on public routes).
    pub fn action(&self) -> Option<&'a str> {
        self.action
    }
    /// Resource values the request targets.
    pub fn resources(&self) -> &[(&'a str, &'a str)] {
        &self.resources
    }
    /// Whether a resource read from a SeaTable path (`ValueSource::SeaTableBase`) found no base
    /// uuid there: nothing can be in scope then, whoever asks.
    pub fn unresolved(&self) -> bool {
        self.unresolved
    }
}

/// Find the route for (method, host, canonical target).
///
/// Unmapped → `Rejection::NoRoute`; a path that only other methods map → `MethodNotAllowed`;
/// a selector parameter PHP would read differently → `AmbiguousParameter`.
pub fn resolve<'a>(
    table: &'a RouteTable,
    method: &Method,
    host: Option<&str>,
    req: &'a Canonical,
) -> Result<RouteMatch<'a>, Rejection> {
    let host_router = host.and_then(|h| table.by_host.get(h));
    let mut other_method = false;
    for router in host_router.into_iter().chain([&table.any_host]) {
        let Ok(m) = router.at(&req.path) else {
            continue;
        };
        let mut best: Option<&Route> = None;
        for route in m.value.iter().map(|&i| &table.routes[i]) {
            if !route.query_holds(req)? {
                continue;
            }
            if !route.allows(method) {
                other_method = true;
                continue;
            }
            if best.is_none_or(|b| route.rank() > b.rank()) {
                best = Some(route);
            }
        }
        if let Some(route) = best {
            return capture(route, &m.params, req);
        }
    }
    Err(if other_method {
        // The caller fills the list (`allowed_methods`) only when it answers the 405.
        Rejection::MethodNotAllowed(Allow::default())
    } else {
        Rejection::NoRoute
    })
}

/// The methods some route accepts for this (host, target): the `Allow` header of a 405, and the
/// error style of those routes (the first one's), so the 405 answers in it.
pub fn allowed_methods(
    table: &RouteTable,
    host: Option<&str>,
    req: &Canonical,
) -> (Allow, ErrorStyle) {
    let host_router = host.and_then(|h| table.by_host.get(h));
    let mut out: Vec<Method> = Vec::new();
    let mut style = None;
    for router in host_router.into_iter().chain([&table.any_host]) {
        let Ok(m) = router.at(&req.path) else {
            continue;
        };
        for route in m.value.iter().map(|&i| &table.routes[i]) {
            if route.query_holds(req).unwrap_or(false) {
                style.get_or_insert(route.error_style);
                for method in &route.methods {
                    if !out.contains(method) {
                        out.push(method.clone());
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let list: Vec<&str> = out.iter().map(Method::as_str).collect();
    (Allow(list.join(", ")), style.unwrap_or_default())
}

fn capture<'a>(
    route: &'a Route,
    params: &matchit::Params<'_, 'a>,
    req: &'a Canonical,
) -> Result<RouteMatch<'a>, Rejection> {
    let value = |src: &'a ValueSource| -> Result<Option<&'a str>, Rejection> {
        match src {
            ValueSource::Literal(v) => Ok(Some(v.as_str())),
            ValueSource::Path(name) => Ok(params.get(name)),
            ValueSource::Query(name) => {
                php::single_value(&req.query, name).map_err(Rejection::AmbiguousParameter)
            }
            ValueSource::SeaTableBase(name) => Ok(params.get(name).and_then(base_uuid::in_path)),
        }
    };
    let opt = |src: &'a Option<ValueSource>| match src {
        Some(s) => value(s),
        None => Ok(None),
    };
    let module = opt(&route.module)?;
    let action = opt(&route.action)?;
    if !route.public() && (module.is_none() || action.is_none()) {
        // A query-captured module or action is missing: this route does not say what the
        // request does, so nothing can permit it.
        return Err(Rejection::MissingSelector);
    }
    let mut resources = Vec::new();
    let mut unresolved = false;
    for (name, src) in &route.resources {
        match (value(src)?, src) {
            (Some(v), _) => resources.push((name.as_str(), v)),
            (None, ValueSource::SeaTableBase(_)) => unresolved = true,
            (None, ValueSource::Literal(_) | ValueSource::Path(_) | ValueSource::Query(_)) => {}
        }
    }
    Ok(RouteMatch {
        route,
        module,
        action,
        resources,
        unresolved,
    })
}
