//! Forward-auth behind a real nginx: nginx `auth_request` in front of a recording upstream, with
//! Portcullis as its decision service, configured by `config/examples/forward-auth/nginx.conf`
//! (the file the README shows). Allowed requests reach the upstream with the identity headers
//! Portcullis vouched for; denied ones never do; identity headers a client forges are replaced;
//! path tricks nginx normalizes differently (`//`, `%2F`, `..`, `;`) are denied, never allowed;
//! a 400 comes through nginx as 500 (documented); and an allow cached by nginx lives at most the
//! policy's `cache_max_age_s`.

use std::time::Duration;

use serde_json::json;

use crate::support::nginx::Nginx;
use crate::support::php;
use crate::support::policy::{self, ADMIN, INBOX_A, READER, fixtures};
use crate::support::{Harness, Options, Upstream};

/// The gateway (forward-auth listener trusting loopback) and nginx in front of `up`.
async fn start(up: &Upstream, edit: impl FnOnce(&mut serde_json::Value)) -> (Harness, Nginx) {
    let mut p = policy::standard(&up.url());
    edit(&mut p);
    let opts = Options {
        forward_auth_peers: Some(vec!["127.0.0.1/32".parse().expect("cidr")]),
        ..Options::default()
    };
    let gw = Harness::start_with(&p, opts).await;
    let fa = gw.forward_auth.expect("forward-auth listener");
    let conf = fixtures()
        .join("../../config/examples/forward-auth/nginx.conf")
        .canonicalize()
        .expect("the nginx example");
    let app = up.url().trim_start_matches("http://").to_owned();
    let vars = [("PORTCULLIS", fa.to_string()), ("APP", app)];
    let nginx = Nginx::start(&conf, &vars).await;
    (gw, nginx)
}

async fn get(nginx: &Nginx, target: &str, headers: &[&str]) -> crate::support::client::Resp {
    php::send("GET", &nginx.url(target), headers, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_requests_reach_the_upstream_with_what_portcullis_vouched_for() {
    let up = Upstream::start().await;
    let (_gw, nginx) = start(&up, |_| {}).await;
    let key = format!("X-API-Key: {READER}");
    let forged = [
        key.as_str(),
        "X-Portcullis-Key-Id: admin",
        "X-Portcullis-Module: level",
        "X-Portcullis-Status: all",
    ];
    let r = get(&nginx, "/api/?module=indicator&action=list", &forged).await;
    assert_eq!(r.status, 200, "{} {}", r.text(), nginx.errors());
    assert_eq!(up.count(), 1);
    let seen = up.last();
    assert_eq!(seen.header("x-portcullis-key-id"), "reader");
    assert_eq!(seen.header("x-portcullis-module"), "indicator");
    assert_eq!(seen.header("x-portcullis-action"), "list");
    assert_eq!(seen.header("x-portcullis-credential"), "api_key");
    // The reader key has no status: the forged one is gone, not passed through.
    assert_eq!(seen.header("x-portcullis-status"), "P");
    assert_eq!(seen.target, "/api/?module=indicator&action=list");
    // A scoped key: the resource value is vouched for too.
    let inbox = format!("X-API-Key: {INBOX_A}");
    let r = get(&nginx, "/inboxes/a/documents", &[inbox.as_str()]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(up.last().header("x-portcullis-resource-inbox"), "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_requests_never_reach_the_upstream() {
    let up = Upstream::start().await;
    let (_gw, nginx) = start(&up, |_| {}).await;
    let reader = format!("X-API-Key: {READER}");
    let admin = format!("X-API-Key: {ADMIN}");
    let inbox = format!("X-API-Key: {INBOX_A}");
    let cases: &[(&str, &str, u16)] = &[
        ("/api/?module=indicator&action=list", "", 401),
        ("/api/?module=indicator&action=list", "X-API-Key: nope", 401),
        ("/api/?module=level&action=delete", &reader, 403),
        ("/inboxes/b/documents", &inbox, 403),
        ("/nowhere", &admin, 404),
        // 400 (here a repeated selector) and anything else but 401/403 become 500 in nginx.
        (
            "/api/?module=indicator&module=level&action=list",
            &admin,
            500,
        ),
    ];
    for (target, header, status) in cases {
        let headers: Vec<&str> = Some(*header)
            .filter(|h| !h.is_empty())
            .into_iter()
            .collect();
        let r = get(&nginx, target, &headers).await;
        // nginx passes 401 and 403 through, and turns the rest (404 included) into 500.
        let want = if *status == 404 { 500 } else { *status };
        assert_eq!(r.status, want, "{target} {header}: {}", r.text());
    }
    assert_eq!(up.count(), 0, "a denied request reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_tricks_nginx_normalizes_are_denied_never_allowed() {
    let up = Upstream::start().await;
    let (_gw, nginx) = start(&up, |_| {}).await;
    let admin = format!("X-API-Key: {ADMIN}");
    // Each would reach an allowed route after nginx's own normalization; Portcullis decides the
    // request as the client sent it, and refuses it.
    let tricks = [
        "//api/?module=indicator&action=list",
        "/public/../api/?module=indicator&action=list",
        "/public/%2E%2E/api/?module=indicator&action=list",
        "/api/v1/indicator%2Flist",
        "/api/v1/indicator/list;x=1",
        "/api/;/?module=indicator&action=list",
        "/public/..%2Fapi/?module=indicator&action=list",
    ];
    for target in tricks {
        let r = get(&nginx, target, &[admin.as_str()]).await;
        assert_ne!(r.status, 200, "{target} was allowed: {}", r.text());
    }
    assert_eq!(up.count(), 0, "a path trick reached the upstream");
    // The same key on the plain path is allowed: the refusals are the tricks'.
    let r = get(
        &nginx,
        "/api/?module=indicator&action=list",
        &[admin.as_str()],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_allow_lives_at_most_cache_max_age() {
    let up = Upstream::start().await;
    let (gw, nginx) = start(&up, |p| {
        p["forward_auth"] = json!({ "cache_max_age_s": 1 });
    })
    .await;
    let reader = format!("X-API-Key: {READER}");
    let target = "/api/?module=indicator&action=list";
    let r = get(&nginx, target, &[reader.as_str()]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Revoke the key: disable it and reload.
    let mut p = policy::standard(&up.url());
    p["forward_auth"] = json!({ "cache_max_age_s": 1 });
    p["keys"]["reader"]["disabled"] = json!(true);
    policy::write(&gw.policy_path, &p);
    gw.reloader.reload_async().await;
    // Asked directly, Portcullis already refuses it...
    let fa = gw.forward_auth.expect("forward-auth listener");
    let direct = php::send(
        "GET",
        &format!("http://{fa}/"),
        &[
            reader.as_str(),
            "X-Original-URI: /api/?module=indicator&action=list",
        ],
        None,
    )
    .await;
    assert_eq!(direct.status, 401, "{}", direct.text());
    // ...while nginx may still serve its cached allow, but only until max-age has passed.
    // nginx counts whole seconds: an entry stored at t lives until about t + max-age + 1.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let r = get(&nginx, target, &[reader.as_str()]).await;
    assert_eq!(
        r.status,
        401,
        "a cached allow outlived max-age: {}",
        r.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_caches_allows_for_max_age_and_never_caches_denies() {
    let up = Upstream::start().await;
    let edit = |p: &mut serde_json::Value| {
        p["forward_auth"] = json!({ "cache_max_age_s": 60 });
    };
    let (gw, nginx) = start(&up, edit).await;
    let reader = format!("X-API-Key: {READER}");
    let target = "/api/?module=indicator&action=list";
    // A deny is `no-store`: the key's grant, added after it, works at once.
    let denied = get(
        &nginx,
        "/api/?module=level&action=delete",
        &[reader.as_str()],
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.text());
    let mut p = policy::standard(&up.url());
    edit(&mut p);
    p["keys"]["reader"]["permissions"] = json!({ "level": ["delete"] });
    policy::write(&gw.policy_path, &p);
    gw.reloader.reload_async().await;
    let r = get(
        &nginx,
        "/api/?module=level&action=delete",
        &[reader.as_str()],
    )
    .await;
    assert_eq!(r.status, 200, "a deny was cached: {}", r.text());
    // An allow is cached: after the key is disabled, nginx keeps serving it for up to max-age
    // (the staleness an operator accepts by setting `cache_max_age_s`).
    let r = get(&nginx, target, &[reader.as_str()]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    p["keys"]["reader"]["disabled"] = json!(true);
    policy::write(&gw.policy_path, &p);
    gw.reloader.reload_async().await;
    let r = get(&nginx, target, &[reader.as_str()]).await;
    assert_eq!(r.status, 200, "nginx did not cache the allow: {}", r.text());
}
