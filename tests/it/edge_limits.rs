//! Connection and head limits on raw sockets: too many headers or too large a head is 431, a
//! client that connects and sends nothing (or one byte) is dropped when the head timeout ends,
//! and at the connection limit the listener waits for a connection to close instead of
//! accepting more.

use std::time::Duration;

use portcullis::server::ServeOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::client::{self, parse_response};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Options, Upstream};

async fn start(serve: ServeOptions) -> (Upstream, Harness) {
    let up = Upstream::start().await;
    let opts = Options {
        serve: Some(ServeOptions {
            drain_timeout: Duration::from_secs(1),
            ..serve
        }),
        ..Options::default()
    };
    let gw = Harness::start_with(&policy::standard(&up.url()), opts).await;
    (up, gw)
}

fn get_with(extra: &str) -> String {
    format!(
        "GET /api/?module=indicator&action=list HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\n{extra}Connection: close\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_or_too_large_headers_are_431() {
    let (up, gw) = start(ServeOptions {
        max_headers: 20,
        max_header_bytes: 8192,
        ..ServeOptions::default()
    })
    .await;
    let many: String = (0..30).map(|i| format!("X-Filler-{i}: x\r\n")).collect();
    let r = parse_response(&client::raw(gw.addr, get_with(&many).as_bytes()).await);
    assert_eq!(r.status, 431, "{}", r.text());
    let big = format!("X-Big: {}\r\n", "a".repeat(10_000));
    let r = parse_response(&client::raw(gw.addr, get_with(&big).as_bytes()).await);
    assert_eq!(r.status, 431, "{}", r.text());
    let fine: String = (0..10).map(|i| format!("X-Filler-{i}: x\r\n")).collect();
    let r = parse_response(&client::raw(gw.addr, get_with(&fine).as_bytes()).await);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(up.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_trickling_clients_are_dropped_when_the_head_timeout_ends() {
    let (_up, gw) = start(ServeOptions {
        header_read_timeout: Duration::from_millis(500),
        ..ServeOptions::default()
    })
    .await;
    let mut silent = TcpStream::connect(gw.addr).await.expect("connect");
    assert!(
        client::closed_within(&mut silent, Duration::from_secs(3)).await,
        "a silent client held on"
    );
    let mut one_byte = TcpStream::connect(gw.addr).await.expect("connect");
    one_byte.write_all(b"G").await.expect("write");
    assert!(
        client::closed_within(&mut one_byte, Duration::from_secs(3)).await,
        "a one-byte client held on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_limit_the_listener_waits_for_a_close() {
    let (_up, gw) = start(ServeOptions {
        max_connections: 2,
        ..ServeOptions::default()
    })
    .await;
    let held_a = TcpStream::connect(gw.addr).await.expect("connect a");
    let _held_b = TcpStream::connect(gw.addr).await.expect("connect b");
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The kernel completes the third handshake, but the gateway does not serve it yet.
    let mut third = TcpStream::connect(gw.addr).await.expect("connect c");
    third
        .write_all(get_with("").as_bytes())
        .await
        .expect("write");
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "served past the limit");
    drop(held_a);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot freed")
        .expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_at_the_head_timeout() {
    let (_up, gw) = start(ServeOptions {
        header_read_timeout: Duration::from_millis(500),
        ..ServeOptions::default()
    })
    .await;
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    let keep = format!(
        "GET /api/?module=indicator&action=list HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\n\r\n"
    );
    s.write_all(keep.as_bytes()).await.expect("write");
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).await.expect("response");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Then nothing: the connection must not stay open for ever.
    assert!(
        client::closed_within(&mut s, Duration::from_secs(3)).await,
        "an idle keep-alive connection held on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_naming_its_hosts_answers_421_for_others() {
    let (up, gw) = start(ServeOptions {
        hosts: Some(vec!["api.example.org".to_owned()].into()),
        ..ServeOptions::default()
    })
    .await;
    let req = |host: &str| {
        format!(
            "GET /api/?module=indicator&action=list HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {ADMIN}\r\nConnection: close\r\n\r\n"
        )
    };
    let r = parse_response(&client::raw(gw.addr, req("other.example.org").as_bytes()).await);
    client::assert_rejected(&r, 421, "misdirected_request");
    let r = parse_response(&client::raw(gw.addr, req("API.example.org.:8080").as_bytes()).await);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(up.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_is_408_and_never_arrives_whole() {
    let up = Upstream::start().await;
    let opts = Options {
        limits: portcullis::gateway::Limits {
            body_idle_timeout: Duration::from_millis(300),
            ..portcullis::gateway::Limits::default()
        },
        ..Options::default()
    };
    let gw = Harness::start_with(&policy::standard(&up.url()), opts).await;
    for ctype in ["text/plain", "application/x-www-form-urlencoded"] {
        let mut s = TcpStream::connect(gw.addr).await.expect("connect");
        let head = format!(
            "POST /api/?module=indicator&action=list HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\n\
             Content-Type: {ctype}\r\nContent-Length: 100\r\n\r\nabc"
        );
        s.write_all(head.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        let r = parse_response(&out);
        client::assert_rejected(&r, 408, "body_timeout");
    }
    assert!(
        up.count() == 0 || !up.last().complete,
        "a stalled body arrived whole"
    );
}
