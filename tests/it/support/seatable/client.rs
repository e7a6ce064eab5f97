//! Real HTTP clients: hyper-util's client for most exchanges, the `curl` binary for the
//! `Authorization: Bearer` flows and for logins from another loopback address.
//!
//! Every exchange is bounded by a generous timeout so a hung gateway fails the test instead of
//! hanging the suite (a bound on hanging, not a speed assertion).

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The longest any single exchange may take before the test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON; panics with the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Header `name` as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert the status, showing the body when it differs; returns `self` for chaining.
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status, body: {}",
            self.text()
        );
        self
    }

    /// Assert SeaTable's `{"error_msg": msg}` with `status`.
    pub fn expect_error_msg(&self, status: u16, msg: &str) {
        self.expect(status);
        assert_eq!(self.json(), serde_json::json!({ "error_msg": msg }));
    }

    /// Assert the gateway's standard rejection: `status`, reason `code`, a request id.
    pub fn expect_rejection(&self, status: u16, code: &str) {
        self.expect(status);
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        let rid = body["request_id"].as_str().expect("request_id");
        assert_eq!(self.header("x-request-id"), Some(rid));
    }
}

/// Send `method url` with `headers` and `body`, read the whole response.
pub async fn send(method: Method, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    send_from(None, method, url, headers, body).await
}

/// Like `send`, from the local address `from` (any of 127.0.0.0/8 works on loopback).
pub async fn send_from(
    from: Option<IpAddr>,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut connector = HttpConnector::new();
    connector.set_local_address(from);
    let client = Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(connector);
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("valid request");
    let exchange = async {
        let resp = client.request(req).await.expect("request failed");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("response body").to_bytes();
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    };
    tokio::time::timeout(LIMIT, exchange)
        .await
        .expect("exchange timed out")
}

/// `Authorization: Token <t>` as SeaTable's client sends it.
pub fn token(t: &str) -> String {
    format!("Token {t}")
}

/// Run `curl -s -i` with `args` and parse its answer.
pub async fn curl(args: &[&str]) -> Resp {
    let out = tokio::time::timeout(
        LIMIT,
        tokio::process::Command::new("curl")
            .args(["-s", "-S", "-i", "--max-time", "20"])
            .args(args)
            .output(),
    )
    .await
    .expect("curl timed out")
    .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&out.stdout)
}

/// Parse curl's `-i` output (the last response when curl shows several heads).
fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.append(
                http::HeaderName::from_bytes(k.trim().as_bytes()).expect("header name"),
                http::HeaderValue::from_str(v.trim()).expect("header value"),
            );
        }
    }
    Resp {
        status,
        headers,
        body: Bytes::copy_from_slice(&raw[split + 4..]),
    }
}
