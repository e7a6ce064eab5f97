//! Route precedence does not depend on the order of routes in the policy: a generated policy and
//! a shuffle of its routes either both fail to compile or resolve every generated request to the
//! same route (or the same rejection).

use http::Method;
use portcullis::canonical::canonicalize;
use portcullis::policy::Snapshot;
use portcullis::route;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::policy::compile;

const TEMPLATES: [&str; 7] = [
    "/a",
    "/a/b",
    "/a/{x}",
    "/a/{*rest}",
    "/{x}/b",
    "/a/b/c",
    "/{*rest}",
];
const METHODS: [&str; 3] = ["GET", "POST", "DELETE"];

/// A generated route: template index, methods (empty: any), an optional query constraint.
type GenRoute = (
    usize,
    Vec<&'static str>,
    Option<(&'static str, &'static str)>,
);

/// One generated route.
fn route() -> impl Strategy<Value = GenRoute> {
    (
        0..TEMPLATES.len(),
        prop::sample::subsequence(METHODS.to_vec(), 0..=2),
        prop::option::of((
            prop::sample::select(vec!["module", "v"]),
            prop::sample::select(vec!["x", "*"]),
        )),
    )
}

fn policy(routes: &[Value]) -> Value {
    json!({
        "mode": "limited-access",
        "upstreams": { "app": { "url": "builtin:echo" } },
        "routes": routes,
    })
}

fn routes(generated: &[GenRoute]) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, (t, methods, query)) in generated.iter().enumerate() {
        let mut r = json!({
            "id": format!("r{i}"), "path": TEMPLATES[*t], "methods": methods,
            "module": "m", "action": "a", "upstream": "app"
        });
        if let Some((name, value)) = query {
            r["query"] = json!({ *name: *value });
        }
        out.push(r);
    }
    out
}

/// The id of the route a request resolves to, or the rejection's reason.
fn resolve(s: &Snapshot, method: &Method, target: &str) -> String {
    let uri: http::Uri = target.parse().expect("uri");
    let c = canonicalize(&uri).expect("canonical");
    match route::resolve(&s.routes, method, None, &c) {
        Ok(m) => m.route().id.clone(),
        Err(r) => format!("{r:?}"),
    }
}

fn requests() -> impl Strategy<Value = Vec<(Method, String)>> {
    let path = prop::sample::select(vec!["/a", "/a/b", "/a/c", "/z/b", "/a/b/c", "/a/b/d", "/q"]);
    let query = prop::sample::select(vec!["", "?module=x", "?module=y", "?v=x", "?v=x&module=x"]);
    let method = prop::sample::select(vec![Method::GET, Method::POST, Method::DELETE, Method::PUT]);
    prop::collection::vec(
        (method, path, query).prop_map(|(m, p, q)| (m, format!("{p}{q}"))),
        1..10,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn precedence_ignores_route_order(
        generated in prop::collection::vec(route(), 1..6),
        order in any::<u64>(),
        reqs in requests(),
    ) {
        let original = routes(&generated);
        let mut shuffled = original.clone();
        // A deterministic shuffle seeded by proptest (so failures replay).
        let mut seed = order;
        for i in (1..shuffled.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let (a, b) = (compile(&policy(&original)), compile(&policy(&shuffled)));
        prop_assert_eq!(a.is_ok(), b.is_ok(), "compiles in one order only: {:?}", original);
        if let (Ok(a), Ok(b)) = (a, b) {
            for (method, target) in &reqs {
                prop_assert_eq!(resolve(&a, method, target), resolve(&b, method, target), "{} {}", method, target);
            }
        }
    }
}
