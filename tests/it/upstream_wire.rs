//! The gateway's own HTTP/1.1 exchange with upstreams, against a scripted server on a raw
//! socket: chunked bodies arrive whole and the connection is reused; bytes past a response's
//! end never reach the next request; a response with two lengths is refused; interim heads are
//! skipped; an idle connection the upstream closed is not used again, and a request it closes
//! under is sent again only when that is safe.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::Harness;
use http::Method;

use crate::support::client::{self, assert_rejected, full, request};
use crate::support::policy::{self, ADMIN};

const LIST: &str = "/api/?module=indicator&action=list";

/// A script step: close the connection without answering.
const CLOSE: &[u8] = b"(close)";

/// A server answering the n-th request it reads (on any connection) with `script[n]`, then
/// closing the connection after `linger` if given. Returns its URL and its connection count.
async fn scripted(
    script: Vec<&'static [u8]>,
    linger: Option<Duration>,
) -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let conns = Arc::new(AtomicUsize::new(0));
    let (script, seen, counted) = (
        Arc::new(script),
        Arc::new(AtomicUsize::new(0)),
        conns.clone(),
    );
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let (script, seen) = (script.clone(), seen.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        head.drain(..end + 4);
                        let n = seen.fetch_add(1, Ordering::SeqCst);
                        let Some(answer) = script.get(n) else { return };
                        if *answer == CLOSE {
                            return;
                        }
                        if s.write_all(answer).await.is_err() {
                            return;
                        }
                        if let Some(after) = linger {
                            tokio::time::sleep(after).await;
                            return;
                        }
                    }
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    (url, conns)
}

async fn list(gw: &Harness) -> client::Resp {
    client::get(&gw.url(LIST), &[("x-api-key", ADMIN)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_arrive_whole_and_the_connection_is_reused() {
    let (url, conns) = scripted(
        vec![
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6;ext=1\r\nhello \r\n5\r\nworld\r\n0\r\nx-trailer: t\r\n\r\n",
            b"HTTP/1.1 201 Created\r\ncontent-length: 5\r\nx-up: 2\r\n\r\nagain",
        ],
        None,
    )
    .await;
    let gw = Harness::start(&policy::standard(&url)).await;
    let first = list(&gw).await;
    first.expect(200);
    assert_eq!(first.text(), "hello world");
    assert!(
        first
            .header("transfer-encoding")
            .is_none_or(|te| te == "chunked")
    );
    let second = list(&gw).await;
    second.expect(201);
    assert_eq!(
        (second.text().as_str(), second.header("x-up")),
        ("again", Some("2"))
    );
    assert_eq!(
        conns.load(Ordering::SeqCst),
        1,
        "one kept-alive upstream connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_past_a_response_never_reach_the_next_request() {
    let (url, conns) = scripted(
        vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsmuggled",
            b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond",
        ],
        None,
    )
    .await;
    let gw = Harness::start(&policy::standard(&url)).await;
    assert_eq!(list(&gw).await.text(), "ok");
    let second = list(&gw).await;
    assert_eq!(
        second.text(),
        "second",
        "the extra bytes were a response nobody asked for"
    );
    assert_eq!(
        conns.load(Ordering::SeqCst),
        2,
        "the first connection was not reused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_with_two_lengths_is_refused() {
    let (url, _) = scripted(
        vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\nx-leak: 1\r\n\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd",
        ],
        None,
    )
    .await;
    let gw = Harness::start(&policy::standard(&url)).await;
    for _ in 0..2 {
        let r = list(&gw).await;
        assert_rejected(&r, 502, "upstream_failed");
        assert!(r.header("x-leak").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interim_heads_are_skipped() {
    let (url, _) = scripted(
        vec![b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal"],
        None,
    )
    .await;
    let gw = Harness::start(&policy::standard(&url)).await;
    let r = list(&gw).await;
    r.expect(200);
    assert_eq!(r.text(), "final");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_the_upstream_closed_is_not_used() {
    let (url, conns) = scripted(
        vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst",
            b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond",
        ],
        Some(Duration::from_millis(50)),
    )
    .await;
    let gw = Harness::start(&policy::standard(&url)).await;
    assert_eq!(list(&gw).await.text(), "first");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = list(&gw).await;
    second.expect(200);
    assert_eq!(second.text(), "second");
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_the_upstream_closed_under_is_sent_again_a_post_never() {
    let script = || {
        vec![
            &b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst"[..],
            CLOSE,
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nthird",
        ]
    };
    // GET: the kept-alive connection is closed under the second request, which goes again on
    // a new one.
    let (url, conns) = scripted(script(), None).await;
    let gw = Harness::start(&policy::standard(&url)).await;
    assert_eq!(list(&gw).await.text(), "first");
    let again = list(&gw).await;
    again.expect(200);
    assert_eq!(again.text(), "third");
    assert_eq!(conns.load(Ordering::SeqCst), 2);
    // POST (no body): never repeated, the client hears the failure.
    let (url, conns) = scripted(script(), None).await;
    let gw = Harness::start(&policy::standard(&url)).await;
    assert_eq!(list(&gw).await.text(), "first");
    let post = |gw: &Harness| {
        request(
            Method::POST,
            &gw.url(LIST),
            &[("x-api-key", ADMIN)],
            full(""),
        )
    };
    let r = client::send(&client::h1(), post(&gw)).await;
    assert_rejected(&r, 502, "upstream_failed");
    assert_eq!(conns.load(Ordering::SeqCst), 1, "not sent again");
    assert_eq!(list(&gw).await.text(), "third");
}
