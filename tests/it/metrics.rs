//! `/metrics` on the admin listener: the Prometheus text, scraped after known requests, holds
//! exact counts by decision, reason, route and status class, latency histograms, upstream errors
//! by kind, open connections by protocol, reload outcomes, the policy generation and SHA-256 —
//! and no key id, user, path or secret.

use std::collections::HashMap;

use http::Method;
use serde_json::json;

use crate::support::client::{self, full, request};
use crate::support::policy::{self, ADMIN, ALL_SECRETS, READER};
use crate::support::{Harness, Reply, Upstream};

/// Every sample of a Prometheus text exposition: series (name and labels, as written) → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

fn requests(decision: &str, reason: &str, route: &str, class: &str) -> String {
    format!(
        "portcullis_requests_total{{decision=\"{decision}\",reason=\"{reason}\",route=\"{route}\",status_class=\"{class}\"}}"
    )
}

/// The standard policy plus a public route to an upstream that refuses connections.
fn with_dead_upstream(up: &Upstream) -> serde_json::Value {
    let mut p = policy::standard(&up.url());
    p["upstreams"]["down"] = json!({ "url": "http://127.0.0.1:1" });
    p["routes"].as_array_mut().expect("routes").push(json!({
        "id": "down", "methods": ["GET"], "path": "/down", "upstream": "down", "public": true
    }));
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_requests_are_counted_exactly() {
    let up = Upstream::start().await;
    let gw = Harness::start(&with_dead_upstream(&up)).await;
    let list = gw.url("/api/?module=indicator&action=list");
    for _ in 0..3 {
        client::get(&list, &[("x-api-key", READER)])
            .await
            .expect(200);
    }
    let values = gw.url("/api/v1/indicator/values");
    for _ in 0..2 {
        client::get(&values, &[("x-api-key", READER)])
            .await
            .expect(403);
    }
    client::get(&list, &[]).await.expect(401);
    client::get(&gw.url("/admin/"), &[]).await.expect(404);
    client::curl(&["--path-as-is", &gw.url("/public/../api/")])
        .await
        .expect(400);
    client::get(&gw.url("/down"), &[]).await.expect(502);
    up.set_reply(Reply {
        status: 503,
        ..Reply::default()
    });
    client::get(&list, &[("x-api-key", ADMIN)])
        .await
        .expect(503);

    let text = gw.metrics().await;
    let m = samples(&text);
    let want = [
        (requests("allow", "", "linea21-api", "2xx"), 3.0),
        (requests("allow", "", "linea21-api", "5xx"), 1.0),
        (
            requests("deny", "permission_denied", "api-by-path", "4xx"),
            2.0,
        ),
        (
            requests("deny", "missing_credential", "linea21-api", "4xx"),
            1.0,
        ),
        (requests("deny", "no_route", "", "4xx"), 1.0),
        (requests("deny", "dot_segment", "", "4xx"), 1.0),
        (
            requests("error", "upstream_unreachable", "down", "5xx"),
            1.0,
        ),
        (
            "portcullis_upstream_errors_total{upstream=\"down\",kind=\"connect\"}".into(),
            1.0,
        ),
        (
            "portcullis_request_duration_seconds_count{decision=\"allow\"}".into(),
            4.0,
        ),
        (
            "portcullis_request_duration_seconds_count{decision=\"deny\"}".into(),
            5.0,
        ),
        (
            "portcullis_request_duration_seconds_count{decision=\"error\"}".into(),
            1.0,
        ),
        (
            "portcullis_request_duration_seconds_bucket{decision=\"deny\",le=\"+Inf\"}".into(),
            5.0,
        ),
        // Forwarded: the four allowed requests and the one the dead upstream refused.
        ("portcullis_upstream_duration_seconds_count".into(), 5.0),
        ("portcullis_policy_generation".into(), 1.0),
        ("portcullis_reloads_total{outcome=\"applied\"}".into(), 1.0),
    ];
    for (series, value) in &want {
        assert_eq!(m.get(series), Some(value), "{series} in\n{text}");
    }
    let counted: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("portcullis_requests_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(counted, 10.0, "every request counted once:\n{text}");
    let sha = gw.policy.status().sha256.expect("sha256");
    let info = format!("portcullis_policy_info{{sha256=\"{sha}\"}}");
    assert_eq!(m.get(&info), Some(&1.0), "{text}");
    assert!(text.contains("# TYPE portcullis_request_duration_seconds histogram"));
    for secret in ALL_SECRETS {
        assert!(!text.contains(secret), "a secret in the metrics");
    }
    for private in ["reader", "/api/v1/indicator/values", "module=indicator"] {
        assert!(!text.contains(private), "{private} is not a label:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_are_counted_by_outcome_and_counters_survive_them() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    let list = gw.url("/api/?module=indicator&action=list");
    client::get(&list, &[("x-api-key", READER)])
        .await
        .expect(200);
    p["keys"]["reader"]["disabled"] = json!(true);
    gw.rewrite(&p).await;
    gw.reloader.reload_async().await;
    policy::write_text(&gw.policy_path, "{ \"mode\": \"sometimes\" }");
    gw.reloader.reload_async().await;
    client::get(&list, &[("x-api-key", READER)])
        .await
        .expect(401);

    let text = gw.metrics().await;
    let m = samples(&text);
    for (series, value) in [
        ("portcullis_reloads_total{outcome=\"applied\"}", 2.0),
        ("portcullis_reloads_total{outcome=\"unchanged\"}", 1.0),
        ("portcullis_reloads_total{outcome=\"rejected\"}", 1.0),
        ("portcullis_policy_generation", 2.0),
        ("portcullis_policy_last_reload_failed", 1.0),
    ] {
        assert_eq!(m.get(series), Some(&value), "{series} in\n{text}");
    }
    // The route's counter kept counting across the reload (generation 1, then 2).
    assert_eq!(
        m.get(&requests("allow", "", "linea21-api", "2xx")),
        Some(&1.0)
    );
    assert_eq!(
        m.get(&requests(
            "deny",
            "credential_disabled",
            "linea21-api",
            "4xx"
        )),
        Some(&1.0),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_connections_are_counted_by_protocol_until_they_close() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let h2 = "portcullis_open_connections{listener=\"public\",protocol=\"h2\"}";
    let h2_client = client::h2();
    let r = client::send(
        &h2_client,
        request(Method::GET, &gw.url("/public/x"), &[], full("")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(samples(&gw.metrics().await).get(h2), Some(&1.0));
    drop(h2_client);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if samples(&gw.metrics().await).get(h2) == Some(&0.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed connection is still counted"
        );
        client::pause().await;
    }
}
