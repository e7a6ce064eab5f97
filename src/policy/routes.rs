//! Route compilation: raw routes → `RouteTable`, with every conflict found at load time.
//!
//! Routes on the same (host, path template) form a group that matchit stores once; within a group
//! two routes conflict when some request could match both with equal rank (see `Route::rank`).
//! Templates matchit cannot tell apart (`/a/{x}` and `/a/{y}`) are conflicts too. Each conflict
//! names both route ids.

use std::collections::{BTreeMap, HashMap, HashSet};

use http::Method;

use crate::policy::builtin_routes::{Builtins, builtin};
use crate::policy::compile::Cx;
use crate::policy::load::Input;
use crate::policy::locate::JsonPath;
use crate::policy::rate_limits;
use crate::policy::raw::{CredentialKind, RawRoute, RawValue};
use crate::route::{Admits, QueryRule, Route, RouteTable, Target, ValueSource};

type GroupKey = (Option<String>, String);

/// Compile every route of every file, then the built-in endpoints, into one table.
pub fn compile(
    cx: &mut Cx<'_>,
    input: &Input,
    upstreams: &HashMap<String, usize>,
    builtins: &[Builtins<'_>],
) -> RouteTable {
    let mut table = RouteTable::default();
    let mut places: Vec<(usize, JsonPath)> = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut groups: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for b in builtins {
        for spec in b.specs {
            let i = table.routes.len();
            let mut route = builtin(spec, b.prefix);
            route.index = i;
            ids.insert(route.id.clone(), i);
            places.push(b.place.clone());
            groups
                .entry((None, route.template.clone()))
                .or_default()
                .push(i);
            table.routes.push(route);
        }
    }
    for (file, p) in &input.policies {
        for (n, raw) in p.routes.iter().enumerate() {
            let at = JsonPath::root().key("routes").index(n);
            if raw.id.starts_with("builtin:") {
                cx.error(
                    *file,
                    at.key("id"),
                    "route ids starting with `builtin:` are reserved for built-in endpoints",
                );
                continue;
            }
            if let Some(&other) = ids.get(&raw.id) {
                let (f, path) = &places[other];
                let where_ = cx.place(*f, &path.key("id"));
                cx.error(
                    *file,
                    at.key("id"),
                    format!("route id `{}` is already used at {where_}", raw.id),
                );
                continue;
            }
            let Some(mut route) = route(cx, *file, &at, raw, upstreams) else {
                continue;
            };
            let i = table.routes.len();
            route.index = i;
            ids.insert(raw.id.clone(), i);
            places.push((*file, at));
            let host = raw.host.as_ref().map(|h| h.to_ascii_lowercase());
            groups.entry((host, raw.path.clone())).or_default().push(i);
            table.routes.push(route);
        }
    }
    for ((host, template), members) in &groups {
        check_group(cx, &table.routes, &places, members);
        let router = match host {
            Some(h) => table.by_host.entry(h.clone()).or_default(),
            None => &mut table.any_host,
        };
        if let Err(e) = router.insert(template.clone(), members.clone()) {
            let (file, at) = &places[members[0]];
            let msg = match &e {
                matchit::InsertError::Conflict { with } => {
                    let other = groups
                        .get(&(host.clone(), with.clone()))
                        .and_then(|m| m.first())
                        .map(|&i| table.routes[i].id.as_str())
                        .unwrap_or(with.as_str());
                    format!(
                        "route `{}` ({template}) conflicts with route `{other}` ({with}): \
                         the same requests would match both; use one template",
                        table.routes[members[0]].id
                    )
                }
                other => format!("invalid path template `{template}`: {other}"),
            };
            cx.error(*file, at.key("path"), msg);
        }
    }
    table
}

fn route(
    cx: &mut Cx<'_>,
    file: usize,
    at: &JsonPath,
    raw: &RawRoute,
    upstreams: &HashMap<String, usize>,
) -> Option<Route> {
    let errors_before = cx_errors(cx);
    if raw.id.is_empty() {
        cx.error(file, at.key("id"), "expected a non-empty route id");
    }
    let params = template_params(cx, file, &at.key("path"), &raw.path);
    let methods = methods(cx, file, at, &raw.methods);
    let mut source = |field: &str, v: &RawValue| value(cx, file, &at.key(field), v, &params);
    let module = raw.module.as_ref().and_then(|v| source("module", v));
    let action = raw.action.as_ref().and_then(|v| source("action", v));
    let mut resources = Vec::new();
    for (name, v) in &raw.resources {
        // The name becomes part of `X-Portcullis-Resource-<name>`.
        let header_safe = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !header_safe {
            let msg = format!("resource name `{name}` must be letters, digits, `-` or `_`");
            cx.error(file, at.key("resources").key(name), msg);
            continue;
        }
        if let Some(s) = value(cx, file, &at.key("resources").key(name), v, &params) {
            resources.push((name.clone(), s));
        }
    }
    if !raw.public && (raw.module.is_none() || raw.action.is_none()) {
        cx.error(
            file,
            at.clone(),
            "a route that is not `public` needs `module` and `action`",
        );
    }
    let upstream = match upstreams.get(&raw.upstream) {
        Some(&u) => u,
        None => {
            let mut known: Vec<&str> = upstreams.keys().map(String::as_str).collect();
            known.sort_unstable();
            cx.error(
                file,
                at.key("upstream"),
                format!(
                    "unknown upstream `{}` (defined upstreams: {})",
                    raw.upstream,
                    known.join(", ")
                ),
            );
            return None;
        }
    };
    let accept = raw
        .accept
        .clone()
        .unwrap_or_else(|| vec![CredentialKind::ApiKey, CredentialKind::Account]);
    for (n, kind) in accept.iter().enumerate() {
        if matches!(kind, CredentialKind::ApiToken | CredentialKind::Temporary) {
            cx.error(
                file,
                at.key("accept").index(n),
                "`api_token` and `temporary` are only exchanged at the built-in token endpoints; \
                 expected `api_key`, `account` or `base`",
            );
        }
    }
    if cx_errors(cx) > errors_before {
        return None;
    }
    let query: Vec<QueryRule> = raw
        .query
        .iter()
        .map(|(name, v)| QueryRule {
            name: name.clone(),
            value: (v != "*").then(|| v.clone()),
        })
        .collect();
    let mut query_selectors: Vec<String> = query.iter().map(|q| q.name.clone()).collect();
    for s in module
        .iter()
        .chain(action.iter())
        .chain(resources.iter().map(|(_, s)| s))
    {
        if let ValueSource::Query(name) = s {
            query_selectors.push(name.clone());
        }
    }
    query_selectors.sort();
    query_selectors.dedup();
    Some(Route {
        id: raw.id.clone(),
        index: 0,
        methods,
        query,
        module,
        action,
        resources,
        target: Target::Upstream(upstream),
        admits: if raw.public {
            Admits::Anyone
        } else {
            Admits::Grants
        },
        keep_credential: raw.keep_credential,
        allow_encoded_percent: raw.allow_encoded_percent,
        allow_encoded_delimiters: raw.allow_encoded_delimiters,
        allow_method_override: raw.allow_method_override,
        websocket: raw.websocket,
        accept,
        error_style: raw.error_style,
        rate_limit: raw
            .rate_limit
            .and_then(|l| rate_limits::limit(cx, file, &at.key("rate_limit"), l)),
        secret_in_path: false,
        template: raw.path.clone(),
        query_selectors,
    })
}

fn cx_errors(cx: &Cx<'_>) -> usize {
    cx.error_count()
}

fn methods(cx: &mut Cx<'_>, file: usize, at: &JsonPath, raw: &[String]) -> Vec<Method> {
    let mut out = Vec::new();
    for (n, m) in raw.iter().enumerate() {
        let ok = !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase());
        match Method::from_bytes(m.as_bytes()) {
            Ok(method) if ok => out.push(method),
            _ => cx.error(
                file,
                at.key("methods").index(n),
                format!("expected an upper-case HTTP method such as GET, got `{m}`"),
            ),
        }
    }
    out
}

/// Parameter names of a matchit template; an error if it is not a canonical absolute path.
fn template_params(cx: &mut Cx<'_>, file: usize, at: &JsonPath, template: &str) -> HashSet<String> {
    if !template.starts_with('/') || template.contains("//") || template.contains('?') {
        cx.error(
            file,
            at.clone(),
            format!("expected a path starting with `/`, without `//` or `?`, got `{template}`"),
        );
    }
    let mut out = HashSet::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = rest[open + 1..open + close].trim_start_matches('*');
        out.insert(name.to_owned());
        rest = &rest[open + close + 1..];
    }
    out
}

fn value(
    cx: &mut Cx<'_>,
    file: usize,
    at: &JsonPath,
    raw: &RawValue,
    params: &HashSet<String>,
) -> Option<ValueSource> {
    match raw {
        RawValue::Literal(s) if s.is_empty() => {
            cx.error(file, at.clone(), "expected a non-empty value");
            None
        }
        RawValue::Literal(s) => Some(ValueSource::Literal(s.clone())),
        RawValue::Capture(c) => match (&c.path, &c.query, &c.seatable_base) {
            (Some(p), None, None) if params.contains(p) => Some(ValueSource::Path(p.clone())),
            (None, None, Some(p)) if params.contains(p) => {
                Some(ValueSource::SeaTableBase(p.clone()))
            }
            (Some(p), None, None) | (None, None, Some(p)) => {
                let field = if c.path.is_some() {
                    "path"
                } else {
                    "seatable_base"
                };
                let mut known: Vec<&str> = params.iter().map(String::as_str).collect();
                known.sort_unstable();
                cx.error(
                    file,
                    at.key(field),
                    format!(
                        "the path template has no `{{{p}}}` (its parameters: {})",
                        known.join(", ")
                    ),
                );
                None
            }
            (None, Some(q), None) if !q.is_empty() => Some(ValueSource::Query(q.clone())),
            _ => {
                cx.error(
                    file,
                    at.clone(),
                    "expected exactly one of `path`, `query` or `seatable_base`",
                );
                None
            }
        },
    }
}

/// Report pairs of routes in one group that some request could match with equal rank.
fn check_group(cx: &mut Cx<'_>, routes: &[Route], places: &[(usize, JsonPath)], members: &[usize]) {
    for (n, &a) in members.iter().enumerate() {
        for &b in &members[n + 1..] {
            let (ra, rb) = (&routes[a], &routes[b]);
            if ra.rank() == rb.rank() && methods_overlap(ra, rb) && queries_compatible(ra, rb) {
                let (file, at) = &places[b];
                let other = cx.place(places[a].0, &places[a].1);
                cx.error(
                    *file,
                    at.clone(),
                    format!(
                        "route `{}` conflicts with route `{}` (at {other}): a request can match both \
                         with equal specificity; give one a method or query constraint the other lacks",
                        rb.id, ra.id
                    ),
                );
            }
        }
    }
}

fn methods_overlap(a: &Route, b: &Route) -> bool {
    a.methods.is_empty() || b.methods.is_empty() || a.methods.iter().any(|m| b.methods.contains(m))
}

/// Whether one request can satisfy both routes' query constraints.
fn queries_compatible(a: &Route, b: &Route) -> bool {
    a.query.iter().all(|qa| {
        b.query
            .iter()
            .filter(|qb| qb.name == qa.name)
            .all(|qb| qa.value.is_none() || qb.value.is_none() || qa.value == qb.value)
    })
}
