//! The in-process upstream: a real hyper server on `127.0.0.1:0` (HTTP/1.1 and h2c) that records
//! every request it receives — method, target exactly as received, headers, whole body — and
//! answers with a configurable status, headers, body and delay.
//!
//! Tests assert on what it saw: that an allowed request arrived as the gateway promises, and
//! that a denied one never arrived at all.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: Method,
    /// The request target exactly as received (path and query).
    pub target: String,
    /// The path part of the target.
    pub path: String,
    /// The query part of the target, without `?`.
    pub query: Option<String>,
    /// The protocol version on the upstream hop.
    pub version: Version,
    /// Every header.
    pub headers: HeaderMap,
    /// The whole body (what arrived before an error, if `complete` is false).
    pub body: Bytes,
    /// Whether the body arrived completely.
    pub complete: bool,
}

impl Seen {
    /// The one value of header `name` as text; panics if absent or repeated, naming it.
    pub fn header(&self, name: &str) -> &str {
        let all: Vec<_> = self.headers.get_all(name).iter().collect();
        assert_eq!(
            all.len(),
            1,
            "header {name} should appear once: {:?}",
            self.headers
        );
        all[0].to_str().expect("header is text")
    }

    /// Every value of header `name`, as text.
    pub fn headers_named(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }
}

/// What the upstream answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// Wait this long (after reading the request) before answering.
    pub delay: Duration,
    /// Close the connection without answering.
    pub hang_up: bool,
}

impl Default for Reply {
    fn default() -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: Bytes::from_static(b"upstream says hello"),
            delay: Duration::ZERO,
            hang_up: false,
        }
    }
}

/// A running recording upstream. Stops when the test's runtime ends.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    reply: Arc<Mutex<Reply>>,
}

impl Upstream {
    /// Start an upstream answering `Reply::default()`.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("upstream addr");
        let up = Self {
            addr,
            seen: Arc::default(),
            reply: Arc::new(Mutex::new(Reply::default())),
        };
        tokio::spawn(serve(listener, up.clone()));
        up
    }

    /// `http://127.0.0.1:port`, for a policy's `upstreams`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Change what it answers from now on.
    pub fn set_reply(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests it has seen.
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The one request seen; panics (listing them) if there was not exactly one.
    pub fn only(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(
            seen.len(),
            1,
            "expected exactly one upstream request: {seen:#?}"
        );
        seen.into_iter().next().unwrap()
    }

    /// The last request seen.
    pub fn last(&self) -> Seen {
        self.seen().pop().expect("upstream saw no request")
    }

    /// Forget what was seen.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

async fn serve(listener: TcpListener, up: Upstream) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let up = up.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let up = up.clone();
                async move { answer(&up, req).await }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(up: &Upstream, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, HangUp> {
    let (parts, body) = req.into_parts();
    let (body, complete) = read_all(body).await;
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_owned());
    up.seen.lock().unwrap().push(Seen {
        method: parts.method,
        target,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        version: parts.version,
        headers: parts.headers,
        body,
        complete,
    });
    let reply = up.reply.lock().unwrap().clone();
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if reply.hang_up {
        return Err(HangUp);
    }
    let mut resp = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        resp = resp.header(k, v);
    }
    Ok(resp.body(Full::new(reply.body)).expect("valid reply"))
}

/// Read a body to its end, keeping what arrived if it fails midway.
async fn read_all(mut body: Incoming) -> (Bytes, bool) {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Some(d) = f.data_ref() {
                    buf.extend_from_slice(d);
                }
            }
            Err(_) => return (buf.into(), false),
        }
    }
    (buf.into(), true)
}

/// The error that makes hyper drop the connection without a response.
#[derive(Debug)]
struct HangUp;

impl std::fmt::Display for HangUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hang up")
    }
}

impl std::error::Error for HangUp {}
