//! The plain HTTP/1.1 server and its hand-over to hyper, on raw sockets: the common request is
//! served without hyper, the first request it does not serve (a body, HTTP/1.0, a smuggling
//! attempt) goes to hyper with every byte intact, on the same connection and in order, and a
//! drain closes idle connections while a request in flight finishes.

use std::time::Duration;

use portcullis::server::ServeOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::client::{self, parse_response, split_responses};
use crate::support::policy::{self, ADMIN};
use crate::support::upstream::Reply;
use crate::support::{Harness, Options, Upstream};

async fn start() -> (Upstream, Harness) {
    let up = Upstream::start().await;
    let opts = Options {
        serve: Some(ServeOptions {
            drain_timeout: Duration::from_secs(20),
            ..ServeOptions::default()
        }),
        ..Options::default()
    };
    let gw = Harness::start_with(&policy::standard(&up.url()), opts).await;
    (up, gw)
}

fn get(action: &str, extra: &str) -> String {
    format!(
        "GET /api/?module=indicator&action={action} HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\n{extra}\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_and_handed_over_requests_share_a_connection_in_order() {
    let (up, gw) = start().await;
    let post = format!(
        "POST /api/?module=indicator&action=second HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"
    );
    // Pipelined in one write: plain, then one hyper must take with its body, then another.
    let wire = format!(
        "{}{post}{}",
        get("first", ""),
        get("third", "Connection: close\r\n")
    );
    let raw = client::raw(gw.addr, wire.as_bytes()).await;
    let answers = split_responses(&raw);
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 200, 200],
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let seen = up.seen();
    let got: Vec<(String, String, &[u8])> = seen
        .iter()
        .map(|s| (s.method.to_string(), s.target.clone(), &s.body[..]))
        .collect();
    assert_eq!(
        got,
        [
            (
                "GET".into(),
                "/api/?module=indicator&action=first".into(),
                &b""[..]
            ),
            (
                "POST".into(),
                "/api/?module=indicator&action=second".into(),
                &b"hello world"[..]
            ),
            (
                "GET".into(),
                "/api/?module=indicator&action=third".into(),
                &b""[..]
            ),
        ]
    );
    // Each answer names its own request, and every one carries a date.
    for r in &answers {
        assert!(r.header("x-request-id").is_some() && r.header("date").is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_attempts_after_plain_requests_carry_nothing_along() {
    let (up, gw) = start().await;
    let post = |framing: &str| {
        format!(
            "POST /api/?module=indicator&action=list HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\n{framing}\r\n0\r\n\r\n{}",
            get("smuggled", "")
        )
    };
    // Both lengths: hyper reads the chunked body (empty), forwards the POST without it, and
    // closes the connection after answering, so the request hidden behind it is never read.
    let wire = format!(
        "{}{}",
        get("list", ""),
        post("Content-Length: 40\r\nTransfer-Encoding: chunked\r\n")
    );
    let raw = client::raw(gw.addr, wire.as_bytes()).await;
    let answers = split_responses(&raw);
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200], "{}", String::from_utf8_lossy(&raw));
    assert_eq!(answers[1].header("connection"), Some("close"));
    let seen = up.seen();
    let got: Vec<(&str, &str, usize)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.target.as_str(), s.body.len()))
        .collect();
    let list = "/api/?module=indicator&action=list";
    assert_eq!(got, [("GET", list, 0), ("POST", list, 0)]);
    // Two lengths that disagree: hyper's 400, and nothing more is forwarded.
    let wire = format!(
        "{}{}",
        get("list", ""),
        post("Content-Length: 5\r\nContent-Length: 6\r\n")
    );
    let raw = client::raw(gw.addr, wire.as_bytes()).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 2, "{text}");
    assert!(text.contains("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert_eq!(up.count(), 3);
    assert!(up.seen().iter().all(|s| !s.target.contains("smuggled")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_and_a_refused_head_are_hyper_s_after_plain_requests() {
    let (up, gw) = start().await;
    let old = format!(
        "GET /api/?module=indicator&action=old HTTP/1.0\r\nHost: a\r\nX-API-Key: {ADMIN}\r\n\r\n"
    );
    let raw = client::raw(gw.addr, format!("{}{old}", get("new", "")).as_bytes()).await;
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(text.matches(" 200 OK\r\n").count(), 2, "{text}");
    assert_eq!(up.count(), 2);
    // A header line httparse refuses: hyper's 400, and the plain request before it stands.
    let bad = "GET /api/ HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n";
    let raw = client::raw(gw.addr, format!("{}{bad}", get("list", "")).as_bytes()).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert!(text.contains("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert_eq!(up.count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_closes_idle_connections_and_lets_a_request_in_flight_finish() {
    let (up, gw) = start().await;
    let mut idle = TcpStream::connect(gw.addr).await.unwrap();
    idle.write_all(get("list", "").as_bytes()).await.unwrap();
    let head = client::read_head(&mut idle).await.expect("a response");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    up.set_reply(Reply {
        delay: Duration::from_millis(1500),
        ..Reply::default()
    });
    let mut busy = TcpStream::connect(gw.addr).await.unwrap();
    busy.write_all(get("slow", "").as_bytes()).await.unwrap();
    while up.count() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(gw);
    // The idle one closes long before the 20 s drain limit; the busy one gets its answer.
    assert!(client::closed_within(&mut idle, Duration::from_secs(10)).await);
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(client::LIMIT, busy.read_to_end(&mut answer)).await;
    let r = parse_response(&answer);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&answer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_takes_its_request_with_it() {
    // An upstream that reads a head and never answers, and tells when its connection closes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let (mut head, mut b) = (Vec::new(), [0u8; 1024]);
        loop {
            match s.read(&mut b).await {
                Ok(0) | Err(_) => return events.send("closed"),
                Ok(n) => head.extend_from_slice(&b[..n]),
            }
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                head.clear();
                let _ = events.send("head");
            }
        }
    });
    let mut p = policy::standard(&url);
    p["upstreams"]["app"]["timeout_ms"] = serde_json::json!(60_000);
    let gw = Harness::start_with(&p, Options::default()).await;
    let mut client = TcpStream::connect(gw.addr).await.unwrap();
    client.write_all(get("slow", "").as_bytes()).await.unwrap();
    assert_eq!(seen.recv().await, Some("head"));
    // While the client waits, so does its request.
    let early = tokio::time::timeout(Duration::from_millis(500), seen.recv()).await;
    assert!(early.is_err(), "{early:?}");
    drop(client);
    // The request goes with the client, and the upstream connection with it, long before the
    // upstream timeout would end the wait.
    let closed = tokio::time::timeout(Duration::from_secs(10), seen.recv()).await;
    assert_eq!(closed, Ok(Some("closed")));
}
