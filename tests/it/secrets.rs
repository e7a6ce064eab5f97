//! No secrets in logs: across allowed and denied requests carrying credentials in every carrier,
//! upstream failures, and a rejected policy reload of a file full of plaintext Linea21 tokens,
//! no key secret, token or `Authorization` value appears in the captured logs, in any error
//! body, or on the admin listener — while the logs do name the same requests by id.

use serde_json::json;

use crate::support::client::{self, Resp};
use crate::support::policy::{self, ADMIN, ALL_SECRETS, DISABLED, EXPIRED, READER};
use crate::support::{Harness, Upstream, logs};

const UNKNOWN: &str = "unk-s3cret-44d0c9e1b7a2f3d8";
const L21_TOKEN: &str = "linea21-5ec7e7b0ad1e4";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_bodies_or_status() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let list = "/api/?module=indicator&action=list";
    let mut resps: Vec<Resp> = Vec::new();
    let attempts: Vec<(String, Vec<(&str, String)>)> = vec![
        (
            list.into(),
            vec![("authorization", format!("Bearer {READER}"))],
        ),
        (
            list.into(),
            vec![("authorization", format!("Token {UNKNOWN}"))],
        ),
        (list.into(), vec![("x-api-key", EXPIRED.into())]),
        (list.into(), vec![("x-api-key", DISABLED.into())]),
        (format!("{list}&token={ADMIN}"), vec![]),
        (format!("{list}&api_key={UNKNOWN}"), vec![]),
        (
            "/api/?module=indicator&action=delete".into(),
            vec![("authorization", format!("bearer {READER}"))],
        ),
        (
            list.into(),
            vec![
                ("authorization", format!("Bearer {ADMIN}")),
                ("x-api-key", READER.into()),
            ],
        ),
        (format!("/api/../?token={ADMIN}"), vec![]),
        (
            format!("/nowhere?token={UNKNOWN}"),
            vec![("authorization", format!("Bearer {ADMIN}"))],
        ),
        (
            format!("/api/?module=indicator&module=x&action=list&token={ADMIN}"),
            vec![],
        ),
    ];
    for (target, headers) in &attempts {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        resps.push(client::get(&gw.url(target), &h).await);
    }
    let raw_dots =
        client::curl(&["--path-as-is", &gw.url(&format!("/api/../x?token={ADMIN}"))]).await;
    resps.push(raw_dots);

    // Upstream failures are logged with their cause: the cause must not carry the credential.
    let mut down = policy::standard("http://127.0.0.1:1");
    down["upstreams"]["app"]["timeout_ms"] = json!(2000);
    let gw_down = Harness::start(&down).await;
    resps.push(client::get(&gw_down.url(&format!("{list}&token={ADMIN}")), &[]).await);

    // A rejected reload of a policy importing plaintext tokens, one entry misspelled.
    let dir = gw.dir.as_ref().expect("harness dir");
    policy::write(
        &dir.join("tokens.json"),
        &json!({ L21_TOKEN: { "description": "x", "permisions": { "indicator": ["all"] } } }),
    );
    let mut bad = policy::standard(&up.url());
    bad["imports"] = json!([{ "format": "linea21", "path": "tokens.json" }]);
    let outcome = gw.rewrite(&bad).await;
    assert!(
        matches!(outcome, portcullis::reload::Outcome::Rejected(_)),
        "{outcome:?}"
    );
    let status = client::get(&gw.admin_url("/status"), &[]).await;
    let last_error = status.json()["errors"].to_string();
    assert!(
        last_error.contains("unknown field `permisions`"),
        "{last_error}"
    );
    assert!(
        last_error.contains("<token>"),
        "the token's place is shown redacted: {last_error}"
    );
    let reload = client::send(
        &client::h1(),
        client::request(
            http::Method::POST,
            &gw.admin_url("/reload"),
            &[],
            client::full(""),
        ),
    )
    .await;
    resps.push(status);
    resps.push(reload);

    let ids: Vec<&str> = resps[..resps.len() - 2]
        .iter()
        .map(|r| r.header("x-request-id").expect("request id"))
        .collect();
    let logged = logs::wait_for(|t| ids.iter().all(|id| t.contains(id))).await;
    for r in &resps[..resps.len() - 2] {
        let rid = r.header("x-request-id").expect("request id");
        assert!(
            logged.contains(rid),
            "the access log must name request {rid}"
        );
    }
    assert!(
        logged.contains("\"credential_id\":\"reader\""),
        "keys are named by id"
    );
    assert!(logged.contains("policy error; keeping the running policy"));
    let mut secrets = ALL_SECRETS.to_vec();
    secrets.extend([UNKNOWN, L21_TOKEN]);
    for secret in secrets {
        assert!(!logged.contains(secret), "secret {secret} reached the logs");
        for r in &resps {
            assert!(
                !r.text().contains(secret),
                "secret {secret} in a response body: {}",
                r.text()
            );
            for (name, v) in &r.headers {
                let v = String::from_utf8_lossy(v.as_bytes());
                assert!(
                    !v.contains(secret),
                    "secret {secret} in response header {name}"
                );
            }
        }
    }
}
