//! Real HTTP clients: hyper-util's legacy client (HTTP/1.1, also from another loopback address,
//! and HTTP/2 with prior knowledge), the `curl` binary for raw targets hyper would normalize and
//! for the `Authorization: Bearer` flows, and raw TCP for pipelining; the whole-response type
//! `Resp` every exchange returns and its assertions.
//!
//! Every call is bounded by a generous timeout so a hung gateway fails the test instead of
//! hanging the suite (a bound on hanging, not a speed assertion).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Errors a request body may raise.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type the test clients send.
pub type Body = BoxBody<Bytes, BoxError>;

/// A test client.
pub type TestClient = Client<HttpConnector, Body>;

/// The longest any single exchange may take before the test fails.
pub const LIMIT: Duration = Duration::from_secs(30);

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
}

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An HTTP/1.1 client (keep-alive pool).
pub fn h1() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// An HTTP/1.1 client whose connections leave from `from` (any of 127.0.0.0/8 works on
/// loopback), for per-address limits.
pub fn h1_from(from: IpAddr) -> TestClient {
    let mut connector = HttpConnector::new();
    connector.set_local_address(Some(from));
    Client::builder(TokioExecutor::new()).build(connector)
}

/// An HTTP/2 client with prior knowledge (h2c).
pub fn h2() -> TestClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// Send `req` and read the whole response.
pub async fn send(client: &TestClient, req: Request<Body>) -> Resp {
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

/// Build a request with `headers` and a whole `body`.
pub fn request(method: Method, url: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body).expect("valid request")
}

/// `GET url` with `headers` over a fresh HTTP/1.1 client.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> Resp {
    send(&h1(), request(Method::GET, url, headers, full(""))).await
}

/// Run `curl` with `args` (plus `-s -i`), parsing its output into a response.
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
    parse_response(&out.stdout)
}

/// Parse one raw HTTP/1.x or curl `-i` HTTP/2 response.
pub fn parse_response(raw: &[u8]) -> Resp {
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

/// Write `bytes` on a fresh TCP connection and read until the server closes it.
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(bytes).await.expect("write");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        out
    };
    tokio::time::timeout(LIMIT, exchange)
        .await
        .expect("raw exchange timed out")
}

/// Whether the server closes `s` within `within` (reads EOF or an error; what it sends before
/// is read and dropped).
pub async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(within, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Split the bytes of several HTTP/1.1 responses (each with a `content-length`) into responses.
pub fn split_responses(mut raw: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let head_end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header end")
            + 4;
        let head = parse_response(&raw[..head_end]);
        let len: usize = head
            .header("content-length")
            .expect("content-length")
            .parse()
            .expect("numeric content-length");
        let mut resp = head;
        resp.body = Bytes::copy_from_slice(&raw[head_end..head_end + len]);
        out.push(resp);
        raw = &raw[head_end + len..];
    }
    out
}

/// Assert `resp` is the gateway's JSON rejection with `status` and reason `code`, and that its
/// `request_id` matches the `x-request-id` header.
pub fn assert_rejected(resp: &Resp, status: u16, code: &str) {
    assert_eq!(resp.status, status, "status for {code}: {}", resp.text());
    let body = resp.json();
    assert_eq!(body["error"], code, "{body}");
    // `message`, or `errorMessage` in onePortal's style.
    let message = body.get("message").or_else(|| body.get("errorMessage"));
    assert!(
        message
            .and_then(|m| m.as_str())
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let rid = body["request_id"].as_str().expect("request_id");
    assert_eq!(rid.len(), 32, "{body}");
    assert_eq!(resp.header("x-request-id"), Some(rid));
    assert_eq!(resp.header("content-type"), Some("application/json"));
}

/// `Authorization: Token <t>` as SeaTable's client sends it.
pub fn token(t: &str) -> String {
    format!("Token {t}")
}

/// Sleep a little between polls.
pub async fn pause() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// A streamed body: `data` sent in `chunk`-sized frames with no length announced, so HTTP/1.1
/// sends it chunked and the gateway cannot know its size in advance.
pub fn chunked(data: Bytes, chunk: usize) -> Body {
    Chunks { data, chunk }.boxed()
}

struct Chunks {
    data: Bytes,
    chunk: usize,
}

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        if self.data.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let n = self.chunk.min(self.data.len());
        let piece = self.data.split_to(n);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(piece))))
    }
}

/// `n` bytes of a deterministic, non-repeating-looking pattern.
pub fn pattern(n: usize) -> Bytes {
    (0..n)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 7)) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Read one message head (through the blank line) from `s`, byte by byte so nothing after it is
/// consumed; `None` if the stream ends (or stalls past `LIMIT`) first.
pub async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(LIMIT, s.read(&mut b)).await {
            Ok(Ok(1)) => head.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}
