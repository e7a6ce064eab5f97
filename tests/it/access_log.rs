//! The access log: one JSON line per request, parsed and checked field by field (time, request
//! id, client address after trusted-proxy resolution, method, path, route, module, action,
//! credential kind and id, user, decision, reason, status, bytes in and out, upstream and total
//! time, generation), and never a secret: every line is searched for every secret used.

use http::Method;
use serde_json::{Value, json};

use crate::support::client::{self, Resp, full, request};
use crate::support::policy::{self, ADMIN, ALL_SECRETS, DISABLED, EXPIRED, READER};
use crate::support::{Harness, Options, Upstream};

fn id(r: &Resp) -> String {
    r.header("x-request-id").expect("x-request-id").to_owned()
}

/// Fields every line has, and their JSON types.
fn assert_shape(line: &Value) {
    let time = line["time"].as_str().expect("time");
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "RFC 3339 UTC with milliseconds: {time}"
    );
    for n in ["status", "bytes_in", "bytes_out", "total_us", "generation"] {
        assert!(line[n].is_u64(), "{n} in {line}");
    }
    let keys = line.as_object().expect("object").len();
    assert_eq!(keys, 20, "every field, once: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_request_is_logged_field_by_field() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let r = client::get(
        &gw.url("/api/?module=indicator&action=list"),
        &[("authorization", &format!("Bearer {READER}"))],
    )
    .await;
    assert_eq!(r.status, 200);
    let line = gw.access_line(&id(&r)).await;
    assert_shape(&line);
    let mut fixed = line.clone();
    for volatile in ["time", "request_id", "upstream_us", "total_us"] {
        fixed.as_object_mut().unwrap().remove(volatile);
    }
    assert_eq!(
        fixed,
        json!({
            "listener": "proxy", "method": "GET", "client": "127.0.0.1",
            "module": "indicator", "action": "list",
            "credential_kind": "api_key", "credential_id": "reader", "user": null,
            "path": "/api/", "route": "linea21-api",
            "decision": "allow", "reason": null, "status": 200,
            "generation": 1, "bytes_in": 0, "bytes_out": r.body.len(),
        })
    );
    let (upstream, total) = (line["upstream_us"].as_u64(), line["total_us"].as_u64());
    assert!(upstream.is_some() && upstream <= total, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denials_name_the_reason_and_the_credential_by_id() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let denied = client::get(
        &gw.url("/api/v1/indicator/values"),
        &[("x-api-key", READER)],
    )
    .await;
    assert_eq!(denied.status, 403);
    let line = gw.access_line(&id(&denied)).await;
    assert_shape(&line);
    for (field, want) in [
        ("decision", json!("deny")),
        ("reason", json!("permission_denied")),
        ("status", json!(403)),
        ("route", json!("api-by-path")),
        ("path", json!("/api/v1/indicator/values")),
        ("credential_id", json!("reader")),
        ("upstream_us", Value::Null),
        ("bytes_out", json!(denied.body.len())),
    ] {
        assert_eq!(line[field], want, "{field} in {line}");
    }
    let unrouted = client::get(&gw.url("/nowhere?token=x"), &[]).await;
    let line = gw.access_line(&id(&unrouted)).await;
    assert_shape(&line);
    assert_eq!(
        (&line["route"], &line["reason"], &line["path"]),
        (&Value::Null, &json!("no_route"), &json!("/nowhere")),
        "the query is never logged: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_in_count_the_forwarded_body_and_the_client_is_resolved() {
    let up = Upstream::start().await;
    let opts = Options {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Options::default()
    };
    let gw = Harness::start_with(&policy::standard(&up.url()), opts).await;
    let body = "x".repeat(1234);
    let r = client::send(
        &client::h1(),
        request(
            Method::POST,
            &gw.url("/api/v1/indicator/add"),
            &[
                ("x-api-key", ADMIN),
                ("x-forwarded-for", "203.0.113.9"),
                ("content-type", "application/octet-stream"),
            ],
            full(body.clone()),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let line = gw.access_line(&id(&r)).await;
    assert_eq!(line["bytes_in"], 1234, "{line}");
    assert_eq!(line["client"], "203.0.113.9", "{line}");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["credential_id"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_line_holds_a_secret_the_test_used() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let unknown = "unk-s3cret-44aa11bb22cc33dd";
    let mut ids = Vec::new();
    for secret in ALL_SECRETS.iter().chain([&unknown]) {
        for target in [
            "/api/?module=indicator&action=list".to_owned(),
            format!("/api/?module=indicator&action=list&api_key={secret}"),
            format!("/api/v1/indicator/values?token={secret}"),
        ] {
            let bearer = format!("Bearer {secret}");
            for h in [("x-api-key", *secret), ("authorization", bearer.as_str())] {
                // A secret in the query is the only credential the request presents.
                let headers: &[(&str, &str)] = if target.contains(*secret) { &[] } else { &[h] };
                ids.push(id(&client::get(&gw.url(&target), headers).await));
            }
        }
    }
    for rid in &ids {
        gw.access_line(rid).await;
    }
    let lines = gw.access_lines().await;
    assert!(lines.len() >= ids.len());
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    for secret in ALL_SECRETS.iter().chain([&unknown]) {
        for l in &text {
            assert!(!l.contains(secret), "secret {secret} logged: {l}");
        }
    }
    // Expired and disabled keys are refused; the refusals are logged, the secrets are not.
    for s in [EXPIRED, DISABLED] {
        assert!(text.iter().all(|l| !l.contains(s)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_keys_are_named_by_id() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let list = gw.url("/api/?module=indicator&action=list");
    for (secret, key, reason) in [
        (EXPIRED, "expired", "credential_expired"),
        (DISABLED, "disabled", "credential_disabled"),
    ] {
        let r = client::get(&list, &[("x-api-key", secret)]).await;
        assert_eq!(r.status, 401);
        let line = gw.access_line(&id(&r)).await;
        assert_shape(&line);
        assert_eq!(
            (
                &line["credential_kind"],
                &line["credential_id"],
                &line["reason"]
            ),
            (&json!("api_key"), &json!(key), &json!(reason)),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_are_logged_with_request_id_address_and_cause() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    p["upstreams"]["down"] = json!({ "url": "http://127.0.0.1:1" });
    p["routes"].as_array_mut().expect("routes").push(json!({
        "id": "down", "methods": ["GET"], "path": "/down", "upstream": "down", "public": true
    }));
    let gw = Harness::start(&p).await;
    let r = client::get(&gw.url("/down"), &[]).await;
    assert_eq!(r.status, 502);
    let rid = id(&r);
    let logged = crate::support::logs::wait_for(|t| t.contains(&rid)).await;
    let line = logged
        .lines()
        .find(|l| l.contains(&rid) && l.contains("upstream failed"))
        .unwrap_or_else(|| panic!("no upstream failure line for {rid}"));
    for part in ["upstream=down", "address=127.0.0.1:1", "cause=\"refused\""] {
        assert!(line.contains(part), "{part} in {line}");
    }
    let access = gw.access_line(&rid).await;
    assert_eq!(
        (&access["reason"], &access["decision"]),
        (&json!("upstream_unreachable"), &json!("error"))
    );
}
