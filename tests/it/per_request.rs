//! Per request: every request on a kept-alive HTTP/1.1 connection, every pipelined request, and
//! every stream of one HTTP/2 connection is decided on its own — an allowed request earlier on a
//! connection lends nothing to a later one.

use http::{Method, Request};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::support::client::{self, Body, Resp, assert_rejected, full};
use crate::support::policy::{self, ADMIN, READER};
use crate::support::{Harness, Upstream};

fn req(gw: &Harness, target: &str, key: &str) -> Request<Body> {
    Request::builder()
        .method(Method::GET)
        .uri(target)
        .header("host", gw.addr.to_string())
        .header("x-api-key", key)
        .body(full(""))
        .expect("request")
}

async fn read(resp: http::Response<hyper::body::Incoming>) -> Resp {
    use http_body_util::BodyExt;
    let (parts, body) = resp.into_parts();
    Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.expect("body").to_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connection_decides_each_request() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let stream = TcpStream::connect(gw.addr).await.expect("connect");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    let conn = tokio::spawn(conn);
    let steps: &[(&str, &str, u16)] = &[
        ("/api/?module=indicator&action=list", ADMIN, 200),
        ("/api/?module=indicator&action=list", "not-a-key", 401),
        ("/api/?module=indicator&action=delete", READER, 403),
        ("/api/?module=level&action=list", READER, 200),
        ("/api/?module=indicator&action=list", "", 401),
    ];
    for (target, key, status) in steps {
        send.ready().await.expect("connection still usable");
        let resp = read(
            send.send_request(req(&gw, target, key))
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(
            resp.status,
            *status,
            "{target} with {key:?}: {}",
            resp.text()
        );
    }
    drop(send);
    conn.await
        .expect("join")
        .expect("one connection served all requests");
    let seen: Vec<_> = up
        .seen()
        .iter()
        .map(|s| (s.header("x-portcullis-key-id").to_owned(), s.target.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "admin".to_owned(),
                "/api/?module=indicator&action=list".to_owned()
            ),
            (
                "reader".to_owned(),
                "/api/?module=level&action=list".to_owned()
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_decided_one_by_one() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let host = gw.addr;
    let wire = format!(
        "GET /api/?module=indicator&action=list HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {ADMIN}\r\n\r\n\
         GET /api/?module=indicator&action=info HTTP/1.1\r\nHost: {host}\r\nX-API-Key: wrong\r\n\r\n\
         GET /api/?module=indicator&action=delete HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {READER}\r\n\r\n\
         GET /api/?module=level&action=list HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {READER}\r\nConnection: close\r\n\r\n"
    );
    let raw = client::raw(gw.addr, wire.as_bytes()).await;
    let resps = client::split_responses(&raw);
    let statuses: Vec<u16> = resps.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 401, 403, 200]);
    assert_rejected(&resps[1], 401, "invalid_credential");
    assert_rejected(&resps[2], 403, "permission_denied");
    let seen: Vec<_> = up
        .seen()
        .iter()
        .map(|s| (s.header("x-portcullis-key-id").to_owned(), s.query.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "admin".to_owned(),
                Some("module=indicator&action=list".to_owned())
            ),
            (
                "reader".to_owned(),
                Some("module=level&action=list".to_owned())
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_streams_on_one_connection_use_their_own_keys() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let stream = TcpStream::connect(gw.addr).await.expect("connect");
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    let keys = [
        (ADMIN, 200, "admin"),
        ("bogus", 401, ""),
        (READER, 200, "reader"),
    ];
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (key, status, id) = keys[i % keys.len()];
        let mut send = send.clone();
        let target = format!("http://{}/api/?module=indicator&action=list&n={i}", gw.addr);
        let r = Request::builder()
            .uri(target)
            .header("x-api-key", key)
            .body(full(""))
            .expect("request");
        tasks.push(tokio::spawn(async move {
            send.ready().await.expect("ready");
            let resp = read(send.send_request(r).await.expect("send")).await;
            (i, status, id, resp)
        }));
    }
    let mut allowed = Vec::new();
    for t in tasks {
        let (i, status, id, resp) = t.await.expect("join");
        assert_eq!(resp.status, status, "stream {i}: {}", resp.text());
        if status == 200 {
            allowed.push((format!("module=indicator&action=list&n={i}"), id.to_owned()));
        }
    }
    let mut seen: Vec<_> = up
        .seen()
        .iter()
        .map(|s| {
            let q = s.query.clone().unwrap_or_default();
            (q, s.header("x-portcullis-key-id").to_owned())
        })
        .collect();
    seen.sort();
    allowed.sort();
    assert_eq!(
        seen, allowed,
        "each stream must reach upstream with its own key, or not at all"
    );
}

/// A denied request's unread body is never read as a request of its own (no smuggling through
/// an early rejection): the bytes after it on the connection are not forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_requests_body_is_not_parsed_as_the_next_request() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let host = gw.addr;
    let smuggled = format!(
        "GET /api/?module=level&action=list&smuggled=1 HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {ADMIN}\r\n\r\n"
    );
    let wire = format!(
        "POST /api/v1/indicator/update HTTP/1.1\r\nHost: {host}\r\nX-API-Key: wrong\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{smuggled}\
         GET /api/?module=indicator&action=list HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {READER}\r\n\
         Connection: close\r\n\r\n",
        smuggled.len()
    );
    let raw = client::raw(gw.addr, wire.as_bytes()).await;
    let resps = client::split_responses(&raw);
    assert_rejected(&resps[0], 401, "invalid_credential");
    for seen in up.seen() {
        assert!(
            !seen.target.contains("smuggled"),
            "a body was parsed as a request: {seen:?}"
        );
    }
    if let Some(second) = resps.get(1) {
        assert_eq!(resps.len(), 2);
        assert_eq!(second.status, 200);
        assert_eq!(up.only().header("x-portcullis-key-id"), "reader");
    }
}
