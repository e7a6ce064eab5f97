//! Built-in endpoints are routes: SeaTable's token endpoints share the route table with the
//! policy's routes, so a policy route that would take the same requests is a load error naming
//! both, a route that is merely less specific loads and loses to them, and a disabled `seatable`
//! section frees their paths.

use portcullis::policy;
use serde_json::{Value, json};

use crate::support::policy::write;
use crate::support::tmp::TempDir;

/// Compile a policy with `seatable` (prefix `prefix`) and `routes`; the error text, if any.
fn compile(seatable: Value, routes: &[Value]) -> Result<(), String> {
    let dir = TempDir::new("builtin");
    let path = dir.join("policy.json");
    write(
        &path,
        &json!({
            "upstreams": { "app": { "url": "builtin:echo" } },
            "seatable": seatable,
            "routes": routes,
        }),
    );
    let input = policy::load(&path).map_err(|e| e.to_string())?;
    policy::compile(input)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn route(id: &str, path: &str, methods: &[&str]) -> Value {
    json!({ "id": id, "path": path, "methods": methods, "module": "m", "action": "a", "upstream": "app" })
}

#[test]
fn a_policy_route_on_a_builtin_endpoint_is_a_load_error_naming_both() {
    let cases = [
        (
            route("mine", "/api2/auth-token/", &["POST"]),
            "builtin:seatable:auth-token",
        ),
        // Same template but other parameter names: matchit cannot tell them apart.
        (
            route(
                "renamed",
                "/api/v2.1/workspace/{w}/dtable/{n}/access-token/",
                &["GET"],
            ),
            "builtin:seatable",
        ),
        (
            route(
                "links",
                "/api/v2.1/external-link-tokens/{t}/access-token/",
                &["GET"],
            ),
            "builtin:seatable",
        ),
    ];
    for (r, builtin) in cases {
        let id = r["id"].as_str().unwrap_or_default().to_owned();
        let err = compile(json!({}), &[r]).expect_err(&id);
        assert!(err.contains(&format!("`{id}`")), "{id}: {err}");
        assert!(err.contains(builtin), "{id}: {err}");
        assert!(err.contains("conflicts"), "{id}: {err}");
    }
}

#[test]
fn routes_that_do_not_take_the_same_requests_load() {
    // Another method on the same path, any method (the method-specific built-in wins for POST,
    // as any method-specific route would), a catch-all below it, another host: all load.
    let ok = [
        route("get-login", "/api2/auth-token/", &["GET"]),
        route("any", "/api2/auth-token/", &[]),
        route("catch-all", "/api/{*rest}", &[]),
        json!({ "id": "hosted", "host": "app.example", "path": "/api2/auth-token/",
                "module": "m", "action": "a", "upstream": "app" }),
    ];
    for r in ok {
        let id = r["id"].clone();
        compile(json!({}), &[r]).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

#[test]
fn a_prefix_or_a_disabled_section_frees_the_paths() {
    let mine = route("mine", "/api2/auth-token/", &["POST"]);
    compile(
        json!({ "prefix": "/seatable" }),
        std::slice::from_ref(&mine),
    )
    .expect("prefixed");
    compile(json!({ "enabled": false }), &[mine]).expect("disabled");
}

#[test]
fn builtin_route_ids_are_reserved() {
    let err = compile(
        json!({ "enabled": false }),
        &[route("builtin:mine", "/x", &["GET"])],
    )
    .expect_err("reserved id");
    assert!(err.contains("reserved for built-in endpoints"), "{err}");
    assert!(err.contains("$.routes[0].id"), "{err}");
}

#[test]
fn policy_routes_cannot_accept_exchange_only_credentials() {
    for kind in ["api_token", "temporary"] {
        let mut r = route("r", "/x", &["GET"]);
        r["accept"] = json!(["api_key", kind]);
        let err = compile(json!({ "enabled": false }), &[r]).expect_err(kind);
        assert!(err.contains("$.routes[0].accept[1]"), "{kind}: {err}");
    }
}
