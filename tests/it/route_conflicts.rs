//! Route conflicts are load errors: two routes a request could match with equal specificity
//! (same template, overlapping methods, compatible query constraints, same host) — including
//! templates that differ only in a parameter's name — are refused, and the error names both
//! route ids. Routes that differ in rank, method, query value or host load fine.

use portcullis::policy;
use serde_json::{Value, json};

use crate::support::policy::write;
use crate::support::tmp::TempDir;

fn r(id: &str, path: &str, extra: Value) -> Value {
    let mut r = json!({ "id": id, "path": path, "module": "m", "action": "a", "upstream": "app" });
    if let (Some(r), Value::Object(extra)) = (r.as_object_mut(), extra) {
        r.extend(extra);
    }
    r
}

/// Compile a policy holding `routes`; the error text, if any.
fn compile(routes: &[Value]) -> Result<(), String> {
    let dir = TempDir::new("conflict");
    let path = dir.join("policy.json");
    write(
        &path,
        &json!({ "upstreams": { "app": { "url": "builtin:echo" } }, "routes": routes }),
    );
    let input = policy::load(&path).map_err(|e| e.to_string())?;
    policy::compile(input)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn conflicting_pairs_name_both_routes() {
    let get = json!({ "methods": ["GET"] });
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "same methods",
            r("a1", "/a", get.clone()),
            r("a2", "/a", json!({ "methods": ["POST", "GET"] })),
        ),
        (
            "both any method",
            r("a1", "/a", json!({})),
            r("a2", "/a", json!({})),
        ),
        (
            "empty methods list is any",
            r("a1", "/a", json!({ "methods": [] })),
            r("a2", "/a", json!({})),
        ),
        (
            "param names differ",
            r("a1", "/a/{x}", get.clone()),
            r("a2", "/a/{y}", json!({ "methods": ["POST"] })),
        ),
        (
            "catch-all names differ",
            r("a1", "/a/{*x}", json!({})),
            r("a2", "/a/{*y}", json!({})),
        ),
        (
            "same query value",
            r("a1", "/a", json!({ "query": { "t": "1" } })),
            r("a2", "/a", json!({ "query": { "t": "1" } })),
        ),
        (
            "wildcard query",
            r("a1", "/a", json!({ "query": { "t": "*" } })),
            r("a2", "/a", json!({ "query": { "t": "1" } })),
        ),
        (
            "different query names",
            r("a1", "/a", json!({ "query": { "t": "1" } })),
            r("a2", "/a", json!({ "query": { "u": "1" } })),
        ),
        // matchit cannot hold a `{param}` and a `{*catch-all}` at the same segment.
        (
            "param and catch-all at one segment",
            r("a1", "/a/{x}", json!({})),
            r("a2", "/a/{*rest}", json!({})),
        ),
        (
            "same host, other case",
            r("a1", "/a", json!({ "host": "API.example" })),
            r("a2", "/a", json!({ "host": "api.EXAMPLE" })),
        ),
    ];
    for (case, a, b) in cases {
        let err = compile(&[a, b]).expect_err(case);
        assert!(
            err.contains("`a1`") && err.contains("`a2`"),
            "{case}: {err}"
        );
        assert!(err.contains("conflicts with"), "{case}: {err}");
    }
}

#[test]
fn distinguishable_pairs_load() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "disjoint methods",
            r("a1", "/a", json!({ "methods": ["GET"] })),
            r("a2", "/a", json!({ "methods": ["POST"] })),
        ),
        (
            "method-specific over any",
            r("a1", "/a", json!({ "methods": ["GET"] })),
            r("a2", "/a", json!({})),
        ),
        (
            "query over none",
            r("a1", "/a", json!({ "query": { "t": "1" } })),
            r("a2", "/a", json!({})),
        ),
        (
            "different query values",
            r("a1", "/a", json!({ "query": { "t": "1" } })),
            r("a2", "/a", json!({ "query": { "t": "2" } })),
        ),
        (
            "different hosts",
            r("a1", "/a", json!({ "host": "x.example" })),
            r("a2", "/a", json!({ "host": "y.example" })),
        ),
        (
            "host over any host",
            r("a1", "/a", json!({ "host": "x.example" })),
            r("a2", "/a", json!({})),
        ),
        (
            "static beside param",
            r("a1", "/a/b", json!({})),
            r("a2", "/a/{x}", json!({})),
        ),
        (
            "param above catch-all",
            r("a1", "/a/b/{x}", json!({})),
            r("a2", "/a/{*rest}", json!({})),
        ),
    ];
    for (case, a, b) in cases {
        compile(&[a, b]).unwrap_or_else(|e| panic!("{case}: {e}"));
    }
}

#[test]
fn every_conflict_is_reported_not_just_the_first() {
    let err = compile(&[
        r("a1", "/a", json!({})),
        r("a2", "/a", json!({})),
        r("b1", "/b/{x}", json!({})),
        r("b2", "/b/{y}", json!({})),
    ])
    .expect_err("two conflicts");
    assert!(err.starts_with("policy has 2 errors"), "{err}");
    for id in ["`a1`", "`a2`", "`b1`", "`b2`"] {
        assert!(err.contains(id), "{id} missing: {err}");
    }
}
