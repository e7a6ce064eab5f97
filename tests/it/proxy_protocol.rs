//! PROXY protocol on a listener that declares it: v1 and v2 headers crafted here give the
//! client address the upstream sees in `X-Forwarded-For` and `X-Real-IP`; a connection without a
//! header (or with a broken one) is dropped, never served as if the peer were the client; a v2
//! `LOCAL` header (a health check) keeps the peer's address.

use std::time::Duration;

use portcullis::server::ServeOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Options, Upstream};

fn request() -> String {
    format!(
        "GET /api/?module=indicator&action=list HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\nConnection: close\r\n\r\n"
    )
}

async fn exchange(gw: &Harness, prefix: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    // The gateway may drop a connection with a bad header before the request is written: a
    // reset there is part of the answer (nothing served), not a test failure.
    let _ = s.write_all(prefix).await;
    let _ = s.write_all(request().as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    out
}

/// A v2 header: signature, version 2 + command, family/protocol, length, addresses.
fn v2(command: u8, src: [u8; 4], port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x20 | command);
    h.push(0x11); // TCP over IPv4
    h.extend_from_slice(&12u16.to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&port.to_be_bytes());
    h.extend_from_slice(&8080u16.to_be_bytes());
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_gives_the_client_address_and_is_required() {
    let up = Upstream::start().await;
    let opts = Options {
        serve: Some(ServeOptions {
            proxy_protocol: true,
            header_read_timeout: Duration::from_millis(800),
            drain_timeout: Duration::from_secs(1),
            ..ServeOptions::default()
        }),
        ..Options::default()
    };
    let gw = Harness::start_with(&policy::standard(&up.url()), opts).await;
    let out = exchange(&gw, b"PROXY TCP4 203.0.113.7 127.0.0.1 51000 8080\r\n").await;
    assert!(
        out.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(up.last().header("x-forwarded-for"), "203.0.113.7");
    assert_eq!(up.last().header("x-real-ip"), "203.0.113.7");
    let out = exchange(&gw, &v2(1, [198, 51, 100, 9], 40000)).await;
    assert!(
        out.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(up.last().header("x-forwarded-for"), "198.51.100.9");
    // LOCAL: the balancer talking for itself.
    let out = exchange(&gw, &v2(0, [0, 0, 0, 0], 0)).await;
    assert!(
        out.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(up.last().header("x-forwarded-for"), "127.0.0.1");
    let served = up.count();
    // No header, or a broken one: dropped, nothing served.
    for prefix in [
        &b""[..],
        b"PROXY TCP4 nonsense\r\n",
        b"PROXY UDP9 1 2 3 4\r\n",
    ] {
        let out = exchange(&gw, prefix).await;
        assert!(
            out.is_empty(),
            "{:?} was served: {}",
            prefix,
            String::from_utf8_lossy(&out)
        );
    }
    assert_eq!(
        up.count(),
        served,
        "a connection without a valid header was served"
    );
}
