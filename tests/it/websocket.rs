//! WebSocket through the gateway: on a route with `"websocket": true` an allowed upgrade reaches
//! the upstream with its `Upgrade` headers and, once the upstream answers 101, bytes flow both
//! ways through the tunnel; a denied upgrade never reaches it; on other routes `Upgrade` is never
//! forwarded. The upstream is a raw-socket WebSocket echo (RFC 6455's sample handshake).

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::client;
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Upstream};

/// RFC 6455 §1.3's sample key and the accept value it yields.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A WebSocket echo upstream: answers an upgrade with 101, then echoes bytes. Returns its
/// address and a channel of the request heads it saw.
async fn ws_upstream() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let Some(head) = client::read_head(&mut s).await else {
                    return;
                };
                let upgrade = head.to_ascii_lowercase().contains("upgrade: websocket");
                let _ = tx.send(head);
                if !upgrade {
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                    return;
                }
                let resp = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
                );
                let _ = s.write_all(resp.as_bytes()).await;
                let (mut r, mut w) = s.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    (format!("http://{addr}"), rx)
}

fn upgrade(path: &str, key: Option<&str>) -> String {
    let auth = key
        .map(|k| format!("X-API-Key: {k}\r\n"))
        .unwrap_or_default();
    format!(
        "GET {path} HTTP/1.1\r\nHost: a\r\n{auth}Connection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Read a response head from `s` (empty if none comes).
async fn head(s: &mut TcpStream) -> String {
    client::read_head(s).await.unwrap_or_default()
}

fn with_websocket_route(up: &str, on: bool) -> serde_json::Value {
    let mut p = policy::standard(up);
    p["routes"].as_array_mut().expect("routes").push(json!({
        "id": "live", "methods": ["GET"], "path": "/live", "module": "indicator", "action": "list",
        "upstream": "app", "websocket": on
    }));
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_upgrade_tunnels_after_the_upstream_says_101() {
    let (up, mut seen) = ws_upstream().await;
    let gw = Harness::start(&with_websocket_route(&up, true)).await;
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    s.write_all(upgrade("/live", Some(ADMIN)).as_bytes())
        .await
        .expect("write");
    let h = head(&mut s).await;
    assert!(h.starts_with("HTTP/1.1 101"), "{h}");
    assert!(h.to_ascii_lowercase().contains("upgrade: websocket"), "{h}");
    assert!(h.contains(ACCEPT), "{h}");
    let upstream_head = seen.recv().await.expect("the upstream saw the upgrade");
    assert!(
        upstream_head.contains("x-portcullis-key-id: admin"),
        "{upstream_head}"
    );
    assert!(
        !upstream_head.to_ascii_lowercase().contains("x-api-key"),
        "{upstream_head}"
    );
    // Bytes both ways (a masked text frame "hi", echoed as the upstream got it).
    let frame = [0x81u8, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    s.write_all(&frame).await.expect("send frame");
    let mut back = [0u8; 8];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut back))
        .await
        .expect("echo in time")
        .expect("echo");
    assert_eq!(back, frame);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_upgrade_never_reaches_the_upstream_and_other_routes_drop_upgrade() {
    let (up, mut seen) = ws_upstream().await;
    let gw = Harness::start(&with_websocket_route(&up, true)).await;
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    s.write_all(upgrade("/live", None).as_bytes())
        .await
        .expect("write");
    let h = head(&mut s).await;
    assert!(h.starts_with("HTTP/1.1 401"), "{h}");
    assert!(
        seen.try_recv().is_err(),
        "a denied upgrade reached the upstream"
    );
    // The same route without `websocket`: the upgrade is a plain GET upstream.
    let plain = Upstream::start().await;
    let gw = Harness::start(&with_websocket_route(&plain.url(), false)).await;
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    s.write_all(upgrade("/live", Some(ADMIN)).as_bytes())
        .await
        .expect("write");
    let h = head(&mut s).await;
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
    assert!(
        plain.last().headers_named("upgrade").is_empty(),
        "Upgrade was forwarded"
    );
}
