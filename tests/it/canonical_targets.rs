//! One parse: non-canonical request targets, sent raw with `curl --path-as-is`, are refused with
//! 400 and their reason code and never forwarded; escapes that must stay escaped (`%20`, and
//! `%25` on a route that allows it) reach the upstream exactly as sent.

use crate::support::client::{self, assert_rejected};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Upstream};

async fn curl_raw(gw: &Harness, target: &str, proto: &str) -> client::Resp {
    let url = gw.url(target);
    client::curl(&[
        proto,
        "--path-as-is",
        "-H",
        &format!("X-API-Key: {ADMIN}"),
        &url,
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_canonical_targets_are_400_and_not_forwarded() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let cases: &[(&str, &str)] = &[
        ("/api/../admin", "dot_segment"),
        ("/api/v1/indicator/../list", "dot_segment"),
        ("/api/v1/indicator/./list", "dot_segment"),
        ("/api/v1/%2e%2e/list", "dot_segment"),
        ("/api/v1/indicator/%2E%2e", "dot_segment"),
        ("/api/v1/.%2e/list", "dot_segment"),
        ("//api/?module=indicator&action=list", "empty_segment"),
        ("/api/v1//indicator/list", "empty_segment"),
        ("/api/v1/indicator%2Flist/x", "encoded_slash"),
        ("/api/v1/indicator%2flist/x", "encoded_slash"),
        ("/api/v1/indicator%5Clist/x", "backslash"),
        ("/api/v1/indicator;jsessionid=1/list", "semicolon"),
        ("/api/v1/indicator%3Bx/list", "semicolon"),
        ("/api/?module=indicator;action=list", "semicolon"),
        ("/api/v1/indicator%00/list", "control_byte"),
        ("/api/?module=indicator%00&action=list", "control_byte"),
        (
            "/api/v1/indicator%0d%0aX-Injected:%201/list",
            "control_byte",
        ),
        ("/api/v1/indicator%ff/list", "bad_utf8"),
        ("/api/v1/%c0%ae%c0%ae/list", "bad_utf8"),
        ("/api/?module=indicator&action=li%e9", "bad_utf8"),
        ("/api/v1/ind%zzicator/list", "bad_escape"),
        ("/api/v1/indicator/li%25st", "encoded_percent"),
        (
            "/api/?module=indicator&action=list&q=100%25",
            "encoded_percent",
        ),
    ];
    for proto in ["--http1.1", "--http2-prior-knowledge"] {
        for (target, code) in cases {
            let resp = curl_raw(&gw, target, proto).await;
            assert_rejected(&resp, 400, code);
            assert_eq!(
                up.count(),
                0,
                "{proto} {target} was forwarded: {:?}",
                up.seen()
            );
        }
    }
}

/// `GET target` written byte for byte on a fresh connection.
async fn raw_get(gw: &Harness, target: &[u8]) -> Vec<u8> {
    let mut wire = b"GET ".to_vec();
    wire.extend_from_slice(target);
    let head = format!(
        " HTTP/1.1\r\nHost: {}\r\nX-API-Key: {ADMIN}\r\nConnection: close\r\n\r\n",
        gw.addr
    );
    wire.extend_from_slice(head.as_bytes());
    client::raw(gw.addr, &wire).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_bytes_curl_would_not_send_are_400_too() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let targets: &[&[u8]] = &[
        b"/api/v1/indicator\\list/x",
        "/api/v1/indicator/caf\u{e9}".as_bytes(),
        b"/api/v1/indicator/a\x7fb",
    ];
    for target in targets {
        let resp = client::parse_response(&raw_get(&gw, target).await);
        let shown = String::from_utf8_lossy(target);
        assert_eq!(resp.status, 400, "{shown}: {}", resp.text());
    }
    assert_eq!(up.count(), 0, "{:?}", up.seen());
}

/// A fragment never reaches a server through hyper (the URI parser drops it before the gateway
/// sees the target), so what is decided and what is forwarded stay the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_fragment_is_dropped_before_the_decision_and_never_forwarded() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let cases: &[(&[u8], &str)] = &[
        (b"/api/v1/indicator/list#frag", "/api/v1/indicator/list"),
        (
            b"/api/?module=indicator&action=list#&module=x",
            "/api/?module=indicator&action=list",
        ),
    ];
    for (target, forwarded) in cases {
        up.clear();
        let resp = client::parse_response(&raw_get(&gw, target).await);
        if resp.status == 200 {
            let seen = up.only();
            assert_eq!(seen.target, *forwarded);
            assert_eq!(seen.header("x-portcullis-module"), "indicator");
        } else {
            assert_rejected(&resp, 400, "fragment");
            assert_eq!(up.count(), 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escapes_that_must_stay_escaped_are_forwarded_as_sent() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let targets = [
        "/files/My%20Base.csv",
        "/files/100%25.txt",
        "/files/caf%C3%A9",
        "/files/a+b",
        "/files/%7Euser?x=%2F&y=%25",
    ];
    for target in targets {
        up.clear();
        let resp = curl_raw(&gw, target, "--http1.1").await;
        assert_eq!(resp.status, 200, "{target}: {}", resp.text());
        assert_eq!(
            up.only().target,
            target,
            "forwarded target must be byte-identical"
        );
    }
}
