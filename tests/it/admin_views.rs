//! The admin listener's views: the compiled route table, keys and users with their state (never
//! a digest or a password hash), the recent denials, and `POST /decide`, which explains a
//! hypothetical request as `portcullis explain` does.

use http::Method;
use serde_json::{Value, json};

use crate::support::client::{self, full, request};
use crate::support::policy::{self, ALL_SECRETS, EXPIRED, READER};
use crate::support::{Harness, Upstream};

async fn admin_get(gw: &Harness, path: &str) -> Value {
    let r = client::get(&gw.admin_url(path), &[]).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_keys_users_denials_and_decide() {
    let up = Upstream::start().await;
    let p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;

    let routes = admin_get(&gw, "/routes").await;
    let ids: Vec<&str> = routes["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "public",
            "linea21-api",
            "api-by-path",
            "inbox-documents",
            "keep",
            "files"
        ]
    );
    let api = &routes["routes"][1];
    assert_eq!(api["module"], json!({ "query": "module" }));
    assert_eq!(api["target"], json!({ "upstream": "app" }));
    assert_eq!(routes["routes"][3]["module"], "documents");

    let keys = admin_get(&gw, "/keys").await;
    let state = |id: &str| {
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .map(|k| k["state"].clone())
    };
    assert_eq!(state("reader"), Some(json!("valid")));
    assert_eq!(state("expired"), Some(json!("expired")));
    assert_eq!(state("future"), Some(json!("not_yet_valid")));
    assert_eq!(state("disabled"), Some(json!("disabled")));
    let text = keys.to_string();
    assert!(!text.contains(&policy::digest(READER)), "no digest: {text}");
    assert_eq!(admin_get(&gw, "/users").await["users"], json!([]));

    let list = gw.url("/api/?module=indicator&action=list");
    let denied = client::get(&list, &[("x-api-key", EXPIRED)]).await;
    let rid = denied.header("x-request-id").unwrap().to_owned();
    client::get(&gw.url("/nowhere"), &[]).await.expect(404);
    let d = admin_get(&gw, "/denials").await;
    assert_eq!(d["total"], 2, "{d}");
    let first = d["recent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["request_id"] == rid.as_str())
        .expect("the expired key's denial")
        .clone();
    for (k, v) in [
        ("reason", json!("credential_expired")),
        ("route", json!("linea21-api")),
        ("credential_id", json!("expired")),
        ("status", json!(401)),
    ] {
        assert_eq!(first[k], v, "{k} in {first}");
    }
    assert!(first["time"].as_str().is_some_and(|t| t.ends_with('Z')));

    let h1 = client::h1();
    let url = gw.admin_url("/decide");
    let decide = |body: Value| {
        let req = request(
            Method::POST,
            &url,
            &[("content-type", "application/json")],
            full(body.to_string()),
        );
        client::send(&h1, req)
    };
    let allowed = decide(json!({
        "path": "/api/?module=indicator&action=list", "key_id": "reader"
    }))
    .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    assert_eq!(allowed.json()["allowed"], true);
    assert!(
        allowed.json()["report"]
            .as_str()
            .unwrap()
            .contains("linea21-api")
    );
    let refused = decide(
        json!({ "method": "DELETE", "path": "/api/v1/indicator/values", "key_id": "reader" }),
    )
    .await;
    assert_eq!(refused.json()["allowed"], false, "{}", refused.text());
    let bad = decide(json!({ "path": "/", "secret": READER })).await;
    assert_eq!(bad.status, 400, "secrets are not taken here");
    assert!(!bad.text().contains(READER));

    for secret in ALL_SECRETS {
        for path in ["/routes", "/keys", "/denials"] {
            assert!(!admin_get(&gw, path).await.to_string().contains(secret));
        }
    }
}
