//! The admin listener: `POST /reload` answers what the reload did (applied with the new
//! generation, unchanged, or rejected with every error), `/healthz` and `/readyz` report
//! liveness and a loaded policy, and `/status` shows generation, SHA-256 and the last error.

use http::Method;
use serde_json::json;

use crate::support::client::{self, Resp, full, request};
use crate::support::policy::{self, READER};
use crate::support::{Harness, Upstream};

async fn reload(gw: &Harness) -> Resp {
    client::send(
        &client::h1(),
        request(Method::POST, &gw.admin_url("/reload"), &[], full("")),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_reload_reports_applied_unchanged_rejected() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    let list = gw.url("/api/?module=indicator&action=list");

    let r = reload(&gw).await;
    assert_eq!(
        (r.status, r.json()),
        (200, json!({ "outcome": "unchanged" }))
    );

    p["keys"]["reader"]["disabled"] = json!(true);
    policy::write(&gw.policy_path, &p);
    let r = reload(&gw).await;
    assert_eq!(
        (r.status, r.json()),
        (200, json!({ "outcome": "applied", "generation": 2 }))
    );
    client::assert_rejected(
        &client::get(&list, &[("x-api-key", READER)]).await,
        401,
        "credential_disabled",
    );

    policy::write_text(&gw.policy_path, "{ \"mode\": \"sometimes\" }");
    let r = reload(&gw).await;
    assert_eq!(r.status, 422, "{}", r.text());
    let body = r.json();
    assert_eq!(body["outcome"], "rejected");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    let place = format!(
        "{}:1:11: $.mode: unknown variant `sometimes`",
        gw.policy_path.display()
    );
    assert!(
        errors[0].as_str().is_some_and(|e| e.starts_with(&place)),
        "{body}"
    );

    let status = client::get(&gw.admin_url("/status"), &[]).await.json();
    assert_eq!(status["generation"], 2);
    let listed = status["errors"]
        .as_array()
        .expect("errors, as /reload lists them");
    assert_eq!(listed, errors, "{status}");
    for at in ["loaded_at", "last_error_at"] {
        let t = status[at].as_str().expect("an RFC 3339 time");
        assert!(
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok(),
            "{at}: {t}"
        );
    }
    assert_eq!(status["policy_path"], gw.policy_path.display().to_string());
    assert_eq!(status["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(client::get(&gw.admin_url("/readyz"), &[]).await.status, 200);
    assert_eq!(
        client::get(&gw.admin_url("/healthz"), &[]).await.status,
        200
    );
    client::assert_rejected(
        &client::get(&list, &[("x-api-key", READER)]).await,
        401,
        "credential_disabled",
    );

    let r = client::get(&gw.admin_url("/reload"), &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(client::get(&gw.admin_url("/nope"), &[]).await.status, 404);
}

/// `/status` lists the errors of the last reload attempt, if it failed: once the file is back to
/// the loaded policy, the last attempt did not fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn reverting_a_bad_edit_clears_the_reported_error() {
    let up = Upstream::start().await;
    let p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    policy::write_text(&gw.policy_path, "{");
    assert_eq!(reload(&gw).await.json()["outcome"], "rejected");
    policy::write(&gw.policy_path, &p);
    assert_eq!(reload(&gw).await.json()["outcome"], "unchanged");
    let status = client::get(&gw.admin_url("/status"), &[]).await.json();
    assert_eq!(status["generation"], 1);
    assert_eq!(status["errors"], serde_json::json!([]), "{status}");
    assert_eq!(status["last_error_at"], serde_json::Value::Null, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_valid_policy_everything_is_503_until_one_applies() {
    let up = Upstream::start().await;
    let dir = crate::support::tmp::TempDir::new("no-policy");
    let path = dir.join("policy.json");
    policy::write_text(&path, "{ \"keys\": ");
    let opts = crate::support::Options {
        allow_no_policy: true,
        ..Default::default()
    };
    let gw = Harness::serve(&path, opts).await;
    let list = gw.url("/api/?module=indicator&action=list");
    client::assert_rejected(
        &client::get(&list, &[("x-api-key", READER)]).await,
        503,
        "no_policy",
    );
    let ready = client::get(&gw.admin_url("/readyz"), &[]).await;
    assert_eq!(
        (ready.status, ready.json()),
        (503, json!({ "ready": false }))
    );
    assert_eq!(
        client::get(&gw.admin_url("/healthz"), &[]).await.status,
        200
    );

    policy::write(&path, &policy::standard(&up.url()));
    let r = reload(&gw).await;
    assert_eq!(r.json(), json!({ "outcome": "applied", "generation": 1 }));
    assert_eq!(client::get(&gw.admin_url("/readyz"), &[]).await.status, 200);
    assert_eq!(
        client::get(&list, &[("x-api-key", READER)]).await.status,
        200
    );
    assert_eq!(up.count(), 1);
}
