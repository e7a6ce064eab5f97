//! The decision workload shared by `benches/decision.rs` (time) and `benches/alloc` (heap
//! allocations): a generated policy, compiled through the public API, and prebuilt requests.
//!
//! The policy has 1,000 routes (static, `{param}`, `{*rest}`, path-captured and query-captured
//! module/action, some query-constrained, some host-specific) and N API keys holding only SHA-256
//! digests, each with permissions over a few modules. It is written as JSON to a fresh temp
//! directory, read with `policy::load`, compiled with `policy::compile` and published, exactly as
//! the gateway does. Requests are `http::request::Parts` built before any timing starts.
//!
//! `decide` is the gateway's decision path (`gateway::pipeline` up to the permit):
//! `policy.current()`, canonicalize, request host, then `decision::authorize` (`route::resolve`,
//! the `%25` check, `credential::extract`, `identity::validate`, `authz::decide`). `baseline` is the floor any
//! design pays: the same canonicalization plus one SHA-256 of the secret.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::request::Parts;
use http::{Method, Request};
use portcullis::canonical::{self, Canonical};
use portcullis::decision::{self, Head, Presenting, Trace};
use portcullis::gateway::Limits;
use portcullis::identity;
use portcullis::policy::{self, Policy};
use portcullis::reject::Rejection;

/// Number of routes in every generated policy.
pub const ROUTES: usize = 1_000;

/// Requests per workload; each bench iteration decides the next one, round robin.
pub const REQUESTS: usize = 2_048;

/// The unix time every decision is made at (inside every key's validity window).
pub const NOW: i64 = 1_750_000_000;

/// The host every request names; one route in twenty is limited to it.
pub const HOST: &str = "api.example.test";

/// Modules the routes act on (`m0`..`m9`); keys hold permissions over a few of them.
const MODULES: usize = 10;

/// Which requests a workload holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Valid key holding the route's permission: every request is allowed.
    Allowed,
    /// Valid key without the route's permission: every request is denied (403).
    DeniedPermission,
    /// A secret no key has: every request is denied (401).
    DeniedUnknownKey,
}

impl Mix {
    /// Every mix, in report order.
    pub const ALL: [Mix; 3] = [Mix::Allowed, Mix::DeniedPermission, Mix::DeniedUnknownKey];

    /// Short name used in bench ids and reports.
    pub fn name(self) -> &'static str {
        match self {
            Mix::Allowed => "allowed",
            Mix::DeniedPermission => "denied_permission",
            Mix::DeniedUnknownKey => "denied_unknown_key",
        }
    }

    /// The outcome every request of this mix must get.
    fn expected(self) -> Result<(), Rejection> {
        match self {
            Mix::Allowed => Ok(()),
            Mix::DeniedPermission => Err(Rejection::PermissionDenied),
            Mix::DeniedUnknownKey => Err(Rejection::UnknownCredential),
        }
    }
}

/// One prebuilt request.
pub struct Req {
    /// The request head, as hyper hands it to the gateway.
    pub parts: Parts,
    /// The secret it presents (for the baseline's one SHA-256).
    pub secret: String,
    /// Which route shape it targets, for per-shape reports.
    pub kind: Kind,
}

/// Route shapes in the generated policy; route `i` has shape `Kind::ALL[i % 5]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/api/v1/s{i}/items`, GET.
    Static,
    /// `/api/v1/s{i}/items/{id}`, GET/PUT, resource `item` from the path.
    Param,
    /// `/files/s{i}/{*rest}`, any method.
    CatchAll,
    /// `/api/v2/s{i}/{module}/{action}`: module and action captured from the path.
    PathCaptured,
    /// `/legacy/s{i}/index.php?api=1&module=…&action=…`: query-constrained, query-captured.
    QueryCaptured,
}

impl Kind {
    /// Every shape, in route order.
    pub const ALL: [Kind; 5] = [
        Kind::Static,
        Kind::Param,
        Kind::CatchAll,
        Kind::PathCaptured,
        Kind::QueryCaptured,
    ];

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Static => "static",
            Kind::Param => "param",
            Kind::CatchAll => "catch_all",
            Kind::PathCaptured => "path_captured",
            Kind::QueryCaptured => "query_captured",
        }
    }
}

/// A published policy with `keys` keys.
pub struct Fixture {
    /// The published policy, as the gateway holds it.
    pub policy: Arc<Policy>,
    /// Number of keys it holds.
    pub keys: usize,
}

/// The secret of key number `k` (same shape as `portcullis key new` output).
pub fn secret(k: usize) -> String {
    let seed = format!("portcullis-bench-secret-{k}");
    format!("pcs_{}", hex::encode(identity::digest(&seed)))
}

/// A fresh temp directory holding the generated policy with `keys` keys as `policy.json`; the
/// caller removes it.
pub fn policy_dir(keys: usize) -> PathBuf {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).expect("create temp policy dir");
    std::fs::write(dir.join("policy.json"), policy_json(keys)).expect("write policy");
    dir
}

/// Generate, load, compile and publish a policy with 1,000 routes and `keys` keys.
pub fn fixture(keys: usize) -> Fixture {
    let dir = policy_dir(keys);
    let input = policy::load(&dir).unwrap_or_else(|e| panic!("policy does not load: {e}"));
    let snapshot =
        policy::compile(input).unwrap_or_else(|e| panic!("policy does not compile: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(snapshot.routes.routes.len(), ROUTES);
    assert_eq!(snapshot.keys.len(), keys);
    let policy = Policy::new();
    policy.publish(snapshot, NOW);
    Fixture { policy, keys }
}

/// A fresh, unique directory under the system temp dir.
fn temp_dir() -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "portcullis-bench-{}-{nanos}-{n}",
        std::process::id()
    ))
}

/// The policy JSON: one upstream, 1,000 routes, one role, `keys` keys.
fn policy_json(keys: usize) -> String {
    let routes: Vec<serde_json::Value> = (0..ROUTES).map(route_json).collect();
    let mut out = String::with_capacity(keys * 200 + routes.len() * 300);
    let head = serde_json::json!({
        "mode": "limited-access",
        "credential_query_params": ["api_key", "token"],
        "upstreams": { "app": { "url": "http://127.0.0.1:9" } },
        "routes": routes,
        "roles": { "reports-reader": { "reports": ["list", "read"] } },
    })
    .to_string();
    // Keys are appended by hand: 100,000 `json!` objects would dominate setup time.
    out.push_str(&head[..head.len() - 1]);
    out.push_str(",\"keys\":{");
    for k in 0..keys {
        if k > 0 {
            out.push(',');
        }
        key_json(&mut out, k);
    }
    out.push_str("}}");
    out
}

/// Key `k`: all of module `m{k%10}`, `list`/`read` on `m{(k+3)%10}`, every other key also the
/// `reports-reader` role, every third key an expiry far in the future.
fn key_json(out: &mut String, k: usize) {
    let digest = hex::encode(identity::digest(&secret(k)));
    let (own, extra) = (k % MODULES, (k + 3) % MODULES);
    let _ = write!(
        out,
        "\"k{k:06}\":{{\"sha256\":\"{digest}\",\"permissions\":{{\"m{own}\":[\"all\"],\"m{extra}\":[\"list\",\"read\"]}}"
    );
    if k.is_multiple_of(2) {
        out.push_str(",\"roles\":[\"reports-reader\"]");
    }
    if k.is_multiple_of(3) {
        out.push_str(",\"expires_at\":\"2099-01-01T00:00:00Z\"");
    }
    out.push('}');
}

/// Route `i`: shape `Kind::ALL[i % 5]`, module `m{(i/5)%10}`.
fn route_json(i: usize) -> serde_json::Value {
    use serde_json::json;
    let module = format!("m{}", (i / 5) % MODULES);
    let id = format!("r{i:04}");
    match Kind::ALL[i % 5] {
        Kind::Static => json!({
            "id": id, "methods": ["GET"], "path": format!("/api/v1/s{i}/items"),
            "module": module, "action": "list", "upstream": "app",
        }),
        Kind::Param => {
            let mut r = json!({
                "id": id, "methods": ["GET", "PUT"], "path": format!("/api/v1/s{i}/items/{{id}}"),
                "module": module, "action": "read",
                "resources": { "item": { "path": "id" } }, "upstream": "app",
            });
            if (i / 50).is_multiple_of(4) {
                r["host"] = json!(HOST);
            }
            r
        }
        Kind::CatchAll => json!({
            "id": id, "path": format!("/files/s{i}/{{*rest}}"),
            "module": module, "action": "fetch", "upstream": "app",
        }),
        Kind::PathCaptured => json!({
            "id": id, "methods": ["GET", "POST"], "path": format!("/api/v2/s{i}/{{module}}/{{action}}"),
            "module": { "path": "module" }, "action": { "path": "action" }, "upstream": "app",
        }),
        Kind::QueryCaptured => json!({
            "id": id, "methods": ["GET"], "path": format!("/legacy/s{i}/index.php"),
            "query": { "api": "1" },
            "module": { "query": "module" }, "action": { "query": "action" }, "upstream": "app",
        }),
    }
}

/// `REQUESTS` requests of `mix` against `fx`, spread over its route shapes and over `distinct`
/// of its keys (`ALL_KEYS`: as many as there are requests); each is checked to get the mix's
/// outcome before it is returned.
pub fn workload(fx: &Fixture, mix: Mix, distinct: usize) -> Vec<Req> {
    let reqs: Vec<Req> = (0..REQUESTS)
        .map(|j| {
            let k = key_for(j, fx.keys, distinct);
            let module = match mix {
                Mix::Allowed | Mix::DeniedUnknownKey => k % MODULES,
                // Neither k%10 nor (k+3)%10, and not `reports`: no grant covers it.
                Mix::DeniedPermission => (k + 1) % MODULES,
            };
            let secret = match mix {
                Mix::DeniedUnknownKey => secret(fx.keys + j),
                _ => secret(k),
            };
            let kind = j % 5;
            let route = 5 * (MODULES * ((j / 5) % (ROUTES / 50)) + module) + kind;
            request(route, module, secret, j % 3)
        })
        .collect();
    for r in &reqs {
        let got = decide(&fx.policy, &r.parts).map(|_| ());
        assert_eq!(got, mix.expected(), "{} {}", r.parts.method, r.parts.uri);
    }
    reqs
}

/// Key counts below this use every key; `workload(…, ALL_KEYS)` spreads requests over the index.
pub const ALL_KEYS: usize = usize::MAX;

/// The key request `j` presents: with `distinct` below `keys`, one of `distinct` keys spaced
/// evenly through the index (the same few stay in cache); otherwise a stride coprime with 10 and
/// 100,000 walks the whole index, so each request likely touches a key not in cache.
fn key_for(j: usize, keys: usize, distinct: usize) -> usize {
    const STRIDE: usize = 7_919;
    if distinct >= keys || keys / distinct < MODULES {
        return (j * STRIDE) % keys;
    }
    let slot = (j * STRIDE) % distinct;
    slot * (keys / distinct) + slot % MODULES
}

/// A request for route `i` acting on module `m{module}`, presenting `secret` in carrier
/// `carrier` (0 `Authorization: Bearer`, 1 `X-API-Key`, 2 query `api_key`).
fn request(i: usize, module: usize, secret: String, carrier: usize) -> Req {
    let kind = Kind::ALL[i % 5];
    let (method, target) = match kind {
        Kind::Static => (Method::GET, format!("/api/v1/s{i}/items")),
        Kind::Param => (Method::GET, format!("/api/v1/s{i}/items/42")),
        Kind::CatchAll => (Method::GET, format!("/files/s{i}/2024/report%20final.pdf")),
        Kind::PathCaptured => (Method::POST, format!("/api/v2/s{i}/m{module}/view")),
        Kind::QueryCaptured => (
            Method::GET,
            format!("/legacy/s{i}/index.php?api=1&module=m{module}&action=list&page=2"),
        ),
    };
    let target = match carrier {
        2 if target.contains('?') => format!("{target}&api_key={secret}"),
        2 => format!("{target}?api_key={secret}"),
        _ => target,
    };
    let mut b = Request::builder()
        .method(method)
        .uri(target)
        .header("host", HOST)
        .header("user-agent", "portcullis-bench/1")
        .header("accept", "application/json");
    b = match carrier {
        0 => b.header("authorization", format!("Bearer {secret}")),
        1 => b.header("x-api-key", secret.as_str()),
        _ => b,
    };
    let (parts, ()) = b.body(()).expect("valid request").into_parts();
    Req {
        parts,
        secret,
        kind,
    }
}

/// The median of `v` (sorted in place); the benches' interleaved passes report it.
#[allow(
    dead_code,
    reason = "benches/alloc counts allocations and takes no medians"
)]
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What a decision yields; only whether a key authorized it, so nothing borrowed escapes.
pub type Outcome = bool;

/// The gateway's decision path for one request: the snapshot, the gateway's own canonicalize
/// and request host, then `decision::authorize`, the one decision the pipeline calls.
pub fn decide(policy: &Policy, parts: &Parts) -> Result<Outcome, Rejection> {
    let snapshot = policy.current().ok_or(Rejection::NoPolicy)?;
    let s = &*snapshot;
    let target = portcullis::gateway::canonicalize(&parts.uri, &Limits::default())?;
    let host = request_host(parts)?;
    let head = Head {
        method: &parts.method,
        host: host.as_deref(),
        headers: &parts.headers,
        target: &target,
        client_certificate: None,
    };
    let mut trace = Trace::default();
    let permit = decision::authorize(s, &head, Presenting::Request, NOW, &mut trace)?;
    Ok(permit.principal().is_some())
}

/// The floor: the one parse of the target plus one SHA-256 of the secret.
pub fn baseline(req: &Req) -> Result<[u8; 32], Rejection> {
    let target = canonicalize(&req.parts)?;
    std::hint::black_box(&target);
    Ok(identity::digest(&req.secret))
}

/// `canonical::canonicalize` as the gateway calls it (its URI-length and parameter-count limits
/// are plain comparisons and are left out).
pub fn canonicalize(parts: &Parts) -> Result<Canonical<'_>, Rejection> {
    canonical::canonicalize(&parts.uri).map_err(Rejection::NonCanonical)
}

/// The gateway's own `request_host`: `Host` or the authority, without port or trailing dot,
/// borrowed unless it has to be lowercased.
pub fn request_host(parts: &Parts) -> Result<Option<std::borrow::Cow<'_, str>>, Rejection> {
    portcullis::gateway::request_host(parts)
}
