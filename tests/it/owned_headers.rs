//! Owned headers: whatever a client sends in Portcullis' namespace (any case, `_` for `-`), any
//! header its `Connection` names, and hop-by-hop headers never reach the upstream — on the allow
//! path the upstream sees only the gateway's values, on deny paths it sees nothing — and an
//! upstream cannot pass such headers back to the client either.

use http::Method;

use crate::support::client::{self, assert_rejected, full, request};
use crate::support::policy::{self, ADMIN, READER};
use crate::support::{Harness, Reply, Upstream};

/// A raw HTTP/1.1 GET with `key` and a set of forged and hop-by-hop headers.
fn forged_request(gw: &Harness, key: &str) -> String {
    format!(
        "GET /api/?module=indicator&action=list HTTP/1.1\r\n\
         Host: {host}\r\n\
         X-API-Key: {key}\r\n\
         X-Portcullis-Key-Id: admin\r\n\
         x_portcullis_module: all\r\n\
         X-PORTCULLIS-STATUS: all\r\n\
         X-Portcullis-Action: everything\r\n\
         x-portcullis-resource-inbox: evil\r\n\
         X_Portcullis-Request-Id: forged\r\n\
         X-Portcullis.Key-Id: admin\r\n\
         x.portcullis.status: all\r\n\
         Connection: close, X-Foo\r\n\
         X-Foo: smuggled\r\n\
         Keep-Alive: timeout=5\r\n\
         TE: trailers\r\n\
         Trailer: X-Late\r\n\
         Proxy-Authorization: Basic c2VjcmV0\r\n\
         Proxy-Connection: keep-alive\r\n\
         X-Forwarded-For: 6.6.6.6\r\n\
         X-Forwarded-Host: evil.example\r\n\
         X-Forwarded-Proto: https\r\n\
         Forwarded: for=6.6.6.6;proto=https\r\n\
         Accept: text/csv\r\n\r\n",
        host = gw.addr
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_path_upstream_sees_only_gateway_values() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let raw = client::raw(gw.addr, forged_request(&gw, READER).as_bytes()).await;
    let resp = client::parse_response(&raw);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = up.only();
    assert_eq!(seen.header("x-portcullis-key-id"), "reader");
    assert_eq!(seen.header("x-portcullis-module"), "indicator");
    assert_eq!(seen.header("x-portcullis-action"), "list");
    assert_eq!(seen.header("x-portcullis-status"), "P");
    assert_ne!(seen.header("x-portcullis-request-id"), "forged");
    assert_eq!(seen.header("x-forwarded-for"), "127.0.0.1");
    assert_eq!(seen.header("x-forwarded-proto"), "http");
    assert_eq!(seen.header("x-forwarded-host"), gw.addr.to_string());
    assert!(
        seen.header("forwarded")
            .starts_with("for=127.0.0.1;proto=http")
    );
    assert_eq!(seen.header("accept"), "text/csv", "ordinary headers pass");
    assert!(!seen.headers.contains_key("x-portcullis-resource-inbox"));
    let forged = ["admin", "all", "everything", "evil", "forged"];
    for name in seen.headers.keys() {
        let n = name.as_str();
        let folded: String = n
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        if !folded.starts_with("x-portcullis-") {
            continue;
        }
        assert!(
            n.starts_with("x-portcullis-"),
            "client header {n} reached the upstream"
        );
        assert!(
            !n.contains(['_', '.']),
            "client header {n} reached the upstream"
        );
        for v in seen.headers_named(n) {
            assert!(
                !forged.contains(&v.as_str()),
                "forged {n}: {v} reached the upstream"
            );
        }
        assert_eq!(
            seen.headers_named(n).len(),
            1,
            "{n} must be the gateway's one value"
        );
    }
    for gone in [
        "x-foo",
        "keep-alive",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
        "connection",
        "x-api-key",
    ] {
        assert!(
            !seen.headers.contains_key(gone),
            "{gone} reached the upstream"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_headers_over_h2_are_replaced() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let req = request(
        Method::GET,
        &gw.url("/api/?module=level&action=list"),
        &[
            ("x-api-key", READER),
            ("x-portcullis-key-id", "admin"),
            ("x_portcullis_status", "all"),
            ("x-portcullis-module", "indicator"),
        ],
        full(""),
    );
    let resp = client::send(&client::h2(), req).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = up.only();
    assert_eq!(seen.headers_named("x-portcullis-key-id"), ["reader"]);
    assert_eq!(seen.headers_named("x-portcullis-status"), ["P"]);
    assert_eq!(seen.headers_named("x-portcullis-module"), ["level"]);
    assert!(!seen.headers.contains_key("x_portcullis_status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_paths_forward_nothing_whatever_the_headers_claim() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    for key in ["wrong-key", ""] {
        let raw = client::raw(gw.addr, forged_request(&gw, key).as_bytes()).await;
        let resp = client::parse_response(&raw);
        assert_eq!(resp.status, 401, "{}", resp.text());
    }
    let resp = client::get(
        &gw.url("/api/?module=indicator&action=delete"),
        &[
            ("x-api-key", READER),
            ("x-portcullis-key-id", "admin"),
            ("x_portcullis_action", "list"),
        ],
    )
    .await;
    assert_rejected(&resp, 403, "permission_denied");
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_cannot_send_owned_or_hop_by_hop_headers_back() {
    let up = Upstream::start().await;
    up.set_reply(Reply {
        headers: vec![
            ("x-portcullis-key-id".into(), "upstream-forged".into()),
            ("X_Portcullis_Status".into(), "all".into()),
            ("connection".into(), "x-bar".into()),
            ("x-bar".into(), "hop".into()),
            ("keep-alive".into(), "timeout=1".into()),
            ("x-app".into(), "kept".into()),
        ],
        ..Reply::default()
    });
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let resp = client::get(
        &gw.url("/api/?module=level&action=list"),
        &[("x-api-key", ADMIN)],
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-app"), Some("kept"));
    for gone in [
        "x-portcullis-key-id",
        "x_portcullis_status",
        "x-bar",
        "keep-alive",
    ] {
        assert_eq!(resp.header(gone), None, "{gone} reached the client");
    }
}
