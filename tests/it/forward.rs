//! An allowed request is forwarded as the gateway promises: method, path, query and body intact,
//! the gateway's identity and forwarding headers added, and the upstream's answer (status,
//! headers, body) streamed back — over HTTP/1.1 and over h2c.

use http::Method;
use sha2::{Digest, Sha256};

use crate::support::client::{self, Resp, TestClient, chunked, full, pattern, request};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Reply, Upstream};

async fn allowed_get_is_forwarded_with_gateway_headers(client: TestClient) {
    let up = Upstream::start().await;
    up.set_reply(Reply {
        status: 201,
        headers: vec![
            ("x-upstream".into(), "yes".into()),
            ("content-type".into(), "text/csv".into()),
        ],
        body: "a,b\n1,2\n".into(),
        ..Reply::default()
    });
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let target = "/api/?module=indicator&action=list&year=2024&q=a+b%20c";
    let resp = client::send(
        &client,
        request(
            Method::GET,
            &gw.url(target),
            &[("authorization", &format!("Bearer {ADMIN}"))],
            full(""),
        ),
    )
    .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(resp.header("x-upstream"), Some("yes"));
    assert_eq!(resp.header("content-type"), Some("text/csv"));
    assert_eq!(resp.text(), "a,b\n1,2\n");

    let seen = up.only();
    assert_eq!(seen.method, Method::GET);
    assert_eq!(
        seen.version,
        http::Version::HTTP_11,
        "the upstream hop is HTTP/1.1"
    );
    assert_eq!(seen.path, "/api/");
    assert_eq!(
        seen.query.as_deref(),
        Some("module=indicator&action=list&year=2024&q=a+b%20c")
    );
    assert_eq!(seen.header("x-portcullis-key-id"), "admin");
    assert_eq!(seen.header("x-portcullis-module"), "indicator");
    assert_eq!(seen.header("x-portcullis-action"), "list");
    assert_eq!(seen.header("x-portcullis-status"), "all");
    let rid = seen.header("x-portcullis-request-id");
    assert_eq!(rid.len(), 32);
    assert!(rid.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(resp.header("x-request-id"), Some(rid));
    let host = gw.addr.to_string();
    assert_eq!(seen.header("x-forwarded-for"), "127.0.0.1");
    assert_eq!(seen.header("x-forwarded-proto"), "http");
    assert_eq!(seen.header("x-forwarded-host"), host);
    assert_eq!(
        seen.header("forwarded"),
        format!("for=127.0.0.1;proto=http;host=\"{host}\"")
    );
    assert!(!seen.headers.contains_key("authorization"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_get_over_http1() {
    allowed_get_is_forwarded_with_gateway_headers(client::h1()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_get_over_h2c() {
    allowed_get_is_forwarded_with_gateway_headers(client::h2()).await;
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

async fn streamed_bodies_arrive_intact(client: TestClient) {
    let up = Upstream::start().await;
    let answer = pattern(3 << 20);
    up.set_reply(Reply {
        body: answer.clone(),
        ..Reply::default()
    });
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let upload = pattern(4 << 20).slice(7..);
    let req = request(
        Method::POST,
        &gw.url("/api/v1/upload/put?name=big.bin"),
        &[
            ("x-api-key", ADMIN),
            ("content-type", "application/octet-stream"),
        ],
        chunked(upload.clone(), 64 * 1024),
    );
    let resp: Resp = client::send(&client, req).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.body.len(), answer.len());
    assert_eq!(
        sha(&resp.body),
        sha(&answer),
        "response body changed on the way back"
    );

    let seen = up.only();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.target, "/api/v1/upload/put?name=big.bin");
    assert!(seen.complete, "the upstream saw a truncated body");
    assert_eq!(seen.body.len(), upload.len());
    assert_eq!(
        sha(&seen.body),
        sha(&upload),
        "request body changed on the way up"
    );
    assert_eq!(seen.header("x-portcullis-module"), "upload");
    assert_eq!(seen.header("x-portcullis-action"), "put");
    assert_eq!(seen.header("content-type"), "application/octet-stream");
    assert!(!seen.headers.contains_key("x-api-key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_post_over_http1() {
    streamed_bodies_arrive_intact(client::h1()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_post_over_h2c() {
    streamed_bodies_arrive_intact(client::h2()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_user_sees_upstream_answer() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    for proto in ["--http1.1", "--http2-prior-knowledge"] {
        up.clear();
        let url = gw.url("/inboxes/a/documents?page=2");
        let auth = format!("Authorization: Token {ADMIN}");
        let resp = client::curl(&[proto, "-H", &auth, &url]).await;
        assert_eq!(resp.status, 200, "{proto}: {}", resp.text());
        assert_eq!(resp.text(), "upstream says hello", "{proto}");
        let seen = up.only();
        assert_eq!(seen.target, "/inboxes/a/documents?page=2", "{proto}");
        assert_eq!(seen.header("x-portcullis-module"), "documents");
        assert_eq!(seen.header("x-portcullis-action"), "list");
        assert_eq!(seen.header("x-portcullis-resource-inbox"), "a");
        assert_eq!(seen.header("x-portcullis-key-id"), "admin");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_base_path_is_prefixed() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    p["upstreams"]["app"]["url"] = serde_json::json!(format!("{}/linea21/", up.url()));
    let gw = Harness::start(&p).await;
    let resp = client::get(
        &gw.url("/api/?module=indicator&action=list&x=%2F"),
        &[("x-api-key", ADMIN)],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        up.only().target,
        "/linea21/api/?module=indicator&action=list&x=%2F"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_configuration_serves_its_echo_upstream() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/policy");
    let gw = Harness::serve(&shipped, crate::support::Options::default()).await;
    let url = gw.url("/api/?module=indicator&action=list");
    let resp = client::get(&url, &[("x-api-key", "demo-reader-secret")]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let echo = resp.json();
    assert_eq!(echo["upstream"], "builtin:echo");
    assert_eq!(
        echo["headers"]["x-portcullis-key-id"],
        serde_json::json!(["demo-reader"])
    );
    assert_eq!(
        echo["headers"]["x-portcullis-module"],
        serde_json::json!(["indicator"])
    );
    assert_eq!(
        echo["headers"].get("x-api-key"),
        None,
        "the credential is not echoed"
    );
    let resp = client::get(&url, &[("x-api-key", "wrong")]).await;
    client::assert_rejected(&resp, 401, "invalid_credential");
}
