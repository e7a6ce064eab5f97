//! Fail closed: when the upstream is down, too slow, or hangs up, the client gets a 5xx JSON
//! rejection — never a half-forwarded or made-up answer — and a body the gateway refuses midway
//! never reaches the upstream whole (and is the client's 413, not the upstream's 502).

use std::time::Duration;

use http::Method;
use serde_json::json;

use crate::support::client::{self, assert_rejected, chunked, full, pattern, request};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Options, Reply, Upstream};

const LIST: &str = "/api/?module=indicator&action=list";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_is_502_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let gw = Harness::start(&policy::standard(&url)).await;
    let resp = client::get(&gw.url(LIST), &[("x-api-key", ADMIN)]).await;
    assert_rejected(&resp, 502, "upstream_unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_slower_than_timeout_is_504() {
    let up = Upstream::start().await;
    up.set_reply(Reply {
        delay: Duration::from_secs(5),
        ..Reply::default()
    });
    let mut p = policy::standard(&up.url());
    p["upstreams"]["app"]["timeout_ms"] = json!(200);
    let gw = Harness::start(&p).await;
    let resp = client::get(&gw.url(LIST), &[("x-api-key", ADMIN)]).await;
    assert_rejected(&resp, 504, "upstream_timeout");
    assert_eq!(up.count(), 1, "the request did reach the slow upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_hanging_up_is_502_failed() {
    let up = Upstream::start().await;
    up.set_reply(Reply {
        hang_up: true,
        ..Reply::default()
    });
    let gw = Harness::start(&policy::standard(&up.url())).await;
    for client in [client::h1(), client::h2()] {
        let req = request(
            Method::GET,
            &gw.url(LIST),
            &[("x-api-key", ADMIN)],
            full(""),
        );
        let resp = client::send(&client, req).await;
        assert_rejected(&resp, 502, "upstream_failed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_oversized_body_is_413_and_never_sent() {
    let up = Upstream::start().await;
    let limits = portcullis::gateway::Limits {
        max_body_bytes: 1 << 20,
        ..Default::default()
    };
    let gw = Harness::start_with(
        &policy::standard(&up.url()),
        Options {
            limits,
            ..Options::default()
        },
    )
    .await;
    let req = request(
        Method::POST,
        &gw.url("/api/v1/upload/put"),
        &[("x-api-key", ADMIN)],
        full(pattern((1 << 20) + 1)),
    );
    let resp = client::send(&client::h1(), req).await;
    assert_rejected(&resp, 413, "body_too_large");
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_oversized_body_never_arrives_whole() {
    let up = Upstream::start().await;
    let limits = portcullis::gateway::Limits {
        max_body_bytes: 1 << 20,
        ..Default::default()
    };
    let gw = Harness::start_with(
        &policy::standard(&up.url()),
        Options {
            limits,
            ..Options::default()
        },
    )
    .await;
    let body = chunked(pattern(3 << 20), 64 * 1024);
    let req = request(
        Method::POST,
        &gw.url("/api/v1/upload/put"),
        &[("x-api-key", ADMIN)],
        body,
    );
    let resp = client::send(&client::h1(), req).await;
    assert_rejected(&resp, 413, "body_too_large");
    for seen in up.seen() {
        assert!(
            !seen.complete || seen.body.len() <= 1 << 20,
            "the upstream received an over-limit body as complete ({} bytes)",
            seen.body.len()
        );
    }
}

/// An upstream that promises 1000 bytes and hangs up after 10: the client must see a broken
/// response (or a 5xx), never a short body passed off as complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_upstream_body_is_never_passed_off_as_complete() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                .await;
        }
    });
    let gw = Harness::start(&policy::standard(&url)).await;
    for client in [client::h1(), client::h2()] {
        let req = request(
            Method::GET,
            &gw.url(LIST),
            &[("x-api-key", ADMIN)],
            full(""),
        );
        let exchange = async {
            let resp = client.request(req).await?;
            let status = resp.status().as_u16();
            let body = http_body_util::BodyExt::collect(resp.into_body()).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, body.to_bytes()))
        };
        let got = tokio::time::timeout(client::LIMIT, exchange)
            .await
            .expect("in time");
        match got {
            Err(_) => {}
            Ok((status, body)) => assert!(
                (500..600).contains(&status),
                "a truncated body arrived as complete: {status} {body:?}"
            ),
        }
    }
}

/// A raw upstream that numbers its connections: each request is answered 200 with keep-alive and
/// recorded as (connection number, request line); a connection that ends inside a body is
/// recorded as aborted.
async fn numbering_upstream() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(usize, String)>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&log);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut s, _)) = l.accept().await {
            n += 1;
            let (conn, seen) = (n, std::sync::Arc::clone(&seen));
            tokio::spawn(async move {
                loop {
                    let Some(head) = client::read_head(&mut s).await else {
                        return;
                    };
                    let head = head.to_ascii_lowercase();
                    let line = head.lines().next().unwrap_or_default().to_owned();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0u8; len];
                    if s.read_exact(&mut body).await.is_err() {
                        seen.lock()
                            .expect("log")
                            .push((conn, format!("aborted {line}")));
                        return;
                    }
                    seen.lock().expect("log").push((conn, line));
                    if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_connection_is_never_reused_after_an_aborted_body() {
    use tokio::io::AsyncWriteExt;
    let (url, log) = numbering_upstream().await;
    let gw = Harness::start(&policy::standard(&url)).await;
    // A request that warms the pool: connection 1, reusable.
    let list = gw.url(LIST);
    assert_eq!(
        client::get(&list, &[("x-api-key", ADMIN)]).await.status,
        200
    );
    // A client that starts a 1000-byte body, sends 10 bytes and goes away.
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/indicator/list HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\n\
         Content-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789"
    );
    s.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(s);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Later requests never land on the connection the aborted body was on.
    for _ in 0..3 {
        assert_eq!(
            client::get(&list, &[("x-api-key", ADMIN)]).await.status,
            200
        );
    }
    let log = log.lock().expect("log").clone();
    let aborted: Vec<usize> = log
        .iter()
        .filter(|(_, l)| l.starts_with("aborted"))
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(aborted.len(), 1, "{log:?}");
    let after = log
        .iter()
        .skip_while(|(_, l)| !l.starts_with("aborted"))
        .skip(1);
    for (conn, line) in after {
        assert_ne!(
            *conn, aborted[0],
            "{line} reused the aborted connection: {log:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_kept_alive_between_requests() {
    let (url, log) = numbering_upstream().await;
    let gw = Harness::start(&policy::standard(&url)).await;
    for _ in 0..5 {
        let resp = client::get(&gw.url(LIST), &[("x-api-key", ADMIN)]).await;
        assert_eq!(resp.status, 200);
    }
    let log = log.lock().expect("log").clone();
    let conns: Vec<usize> = log.iter().map(|(c, _)| *c).collect();
    assert_eq!(conns, [1, 1, 1, 1, 1], "one kept-alive connection: {log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_the_upstream_closed_is_not_used_again() {
    use tokio::io::AsyncWriteExt;
    // Each connection answers one request (keep-alive by default in HTTP/1.1), then closes.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                if client::read_head(&mut s).await.is_some() {
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                }
            });
        }
    });
    let gw = Harness::start(&policy::standard(&url)).await;
    for n in 1..=3 {
        let resp = client::get(&gw.url(LIST), &[("x-api-key", ADMIN)]).await;
        assert_eq!(resp.status, 200, "request {n}: {}", resp.text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}
