//! Routing precedence, through the running gateway: static over `{param}` over `{*catch-all}`,
//! method-specific over any-method, more query constraints over fewer, host-specific over
//! any-host. Each route's module is its own id, so the upstream's `X-Portcullis-Module` names
//! the route that won.

use http::Method;
use serde_json::{Value, json};

use crate::support::client::{self, assert_rejected, full, request};
use crate::support::policy;
use crate::support::{Harness, Upstream};

const KEY: &str = "routing-s3cret-e2c7a61f";

fn route(id: &str, path: &str, extra: Value) -> Value {
    let mut r = json!({ "id": id, "path": path, "module": id, "action": "go", "upstream": "app" });
    if let (Some(r), Value::Object(extra)) = (r.as_object_mut(), extra) {
        r.extend(extra);
    }
    r
}

fn routing_policy(upstream: &str) -> Value {
    let routes = vec![
        route("static", "/r/items/special", json!({})),
        route("param", "/r/items/{id}", json!({})),
        route("catchall", "/r/{*rest}", json!({})),
        route("m-get", "/m", json!({ "methods": ["GET"] })),
        route("m-any", "/m", json!({})),
        route(
            "q-x-v2",
            "/q",
            json!({ "query": { "type": "x", "v": "2" } }),
        ),
        route("q-x", "/q", json!({ "query": { "type": "x" } })),
        route("q-y", "/q", json!({ "query": { "type": "y" } })),
        route("q-plain", "/q", json!({})),
        route("h-host", "/h", json!({ "host": "api.example" })),
        route("h-any", "/h", json!({})),
        route("h-only", "/h/only", json!({ "host": "API.Example" })),
    ];
    let perms: serde_json::Map<String, Value> = routes
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), json!(["all"])))
        .collect();
    json!({
        "upstreams": { "app": { "url": upstream } },
        "routes": routes,
        "keys": { "router": { "sha256": policy::digest(KEY), "permissions": perms } }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_most_specific_route_wins() {
    let up = Upstream::start().await;
    let gw = Harness::start(&routing_policy(&up.url())).await;
    let table: &[(Method, Option<&str>, &str, &str)] = &[
        (Method::GET, None, "/r/items/special", "static"),
        (Method::GET, None, "/r/items/42", "param"),
        (Method::GET, None, "/r/items/special/more", "catchall"),
        (Method::GET, None, "/r/other", "catchall"),
        (Method::GET, None, "/r/items", "catchall"),
        (Method::GET, None, "/m", "m-get"),
        (Method::POST, None, "/m", "m-any"),
        (Method::HEAD, None, "/m", "m-any"),
        (Method::GET, None, "/q?type=x&v=2", "q-x-v2"),
        (Method::GET, None, "/q?v=2&type=x", "q-x-v2"),
        (Method::GET, None, "/q?type=x", "q-x"),
        (Method::GET, None, "/q?type=x&v=3", "q-x"),
        (Method::GET, None, "/q?type=y&v=2", "q-y"),
        (Method::GET, None, "/q?type=z", "q-plain"),
        (Method::GET, None, "/q", "q-plain"),
        (Method::GET, Some("api.example"), "/h", "h-host"),
        (Method::GET, Some("API.EXAMPLE:8443"), "/h", "h-host"),
        (Method::GET, Some("other.example"), "/h", "h-any"),
        (Method::GET, None, "/h", "h-any"),
        (Method::GET, Some("api.example"), "/r/items/7", "param"),
        (Method::GET, Some("api.example"), "/h/only", "h-only"),
    ];
    let h1 = client::h1();
    for (method, host, target, want) in table {
        up.clear();
        let mut headers = vec![("x-api-key", KEY)];
        if let Some(h) = host {
            headers.push(("host", h));
        }
        let req = request(method.clone(), &gw.url(target), &headers, full(""));
        let resp = client::send(&h1, req).await;
        assert_eq!(
            resp.status,
            200,
            "{method} {host:?} {target}: {}",
            resp.text()
        );
        assert_eq!(
            up.only().header("x-portcullis-module"),
            *want,
            "{method} {host:?} {target}"
        );
    }
    let resp = client::get(&gw.url("/h/only"), &[("x-api-key", KEY)]).await;
    assert_rejected(&resp, 404, "no_route");
    let resp = client::get(&gw.url("/q?type=x&type=y"), &[("x-api-key", KEY)]).await;
    assert_rejected(&resp, 400, "repeated_parameter");
}

/// A fully-qualified host name with its trailing dot (`api.example.`) names the same host as
/// `api.example` — web servers such as Apache and nginx treat them alike — so it must get the
/// host's routes (or be refused as non-canonical), never fall through to the any-host table while
/// the upstream still receives `Host: api.example.`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_trailing_dot_host_is_the_same_host() {
    let up = Upstream::start().await;
    let gw = Harness::start(&routing_policy(&up.url())).await;
    for host in ["api.example.", "API.example.:8080"] {
        up.clear();
        let resp = client::get(&gw.url("/h"), &[("x-api-key", KEY), ("host", host)]).await;
        match resp.status {
            200 => assert_eq!(up.only().header("x-portcullis-module"), "h-host", "{host}"),
            _ => {
                assert_rejected(&resp, 400, "non_canonical_host");
                assert_eq!(up.count(), 0);
            }
        }
    }
}
