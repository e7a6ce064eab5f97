//! The recording upstream standing in for dtable-server: a hyper server on `127.0.0.1:0` that
//! keeps every request it receives and answers `{"rows": [...]}` to GET, `{"ok": true}` otherwise.
//!
//! Tests assert on what it saw: an allowed request arrived with the gateway's identity headers
//! and without the token, a denied one never arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

/// The rows every GET answers with.
pub const ROWS: &str = r#"{"rows":[{"_id":"r1","Name":"first"},{"_id":"r2","Name":"second"}]}"#;

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: Method,
    /// Path and query as received.
    pub target: String,
    /// Every header.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Seen {
    /// Header `name` as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A running recording upstream; it stops with the test's runtime.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    /// Start one on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let up = Self {
            addr: listener.local_addr().expect("upstream addr"),
            seen: Arc::default(),
        };
        tokio::spawn(serve(listener, up.clone()));
        up
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The last request; panics if none arrived.
    pub fn last(&self) -> Seen {
        self.seen().pop().expect("the upstream saw no request")
    }
}

async fn serve(listener: TcpListener, up: Upstream) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let up = up.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| record(up.clone(), req));
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn record(
    up: Upstream,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_owned());
    let answer = if parts.method == Method::GET {
        ROWS
    } else {
        r#"{"ok":true}"#
    };
    up.seen.lock().unwrap().push(Seen {
        method: parts.method,
        target,
        headers: parts.headers,
        body,
    });
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(answer.as_bytes())))
        .expect("valid reply"))
}
