//! Upstream faults, each with a real misbehaving server on a raw socket: garbage instead of
//! HTTP, a reset connection, a response head larger than any sane one, a body cut short. The
//! client gets the documented 502 (or, once the head has gone out, a body that visibly fails,
//! never one that looks complete), and the gateway keeps serving the next request.

use std::time::Duration;

use http::Method;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::client::{self, assert_rejected, full, request};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Upstream};

const LIST: &str = "/api/?module=indicator&action=list";

/// A server that reads each request head and then does `act` with the connection.
async fn misbehaving<F, Fut>(act: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    tokio::spawn(async move {
        let act = std::sync::Arc::new(act);
        while let Ok((mut s, _)) = l.accept().await {
            let act = act.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                act(s).await;
            });
        }
    });
    url
}

/// The gateway, routing `/api/` to `url`, plus a proof that it still serves afterwards: a
/// second route to a healthy upstream.
async fn gateway(url: &str) -> (Harness, Upstream) {
    let healthy = Upstream::start().await;
    let mut p = policy::standard(url);
    p["upstreams"]["healthy"] = serde_json::json!({ "url": healthy.url() });
    p["routes"].as_array_mut().unwrap().push(serde_json::json!({
        "id": "healthy", "path": "/healthy", "public": true, "upstream": "healthy"
    }));
    (Harness::start(&p).await, healthy)
}

async fn still_serves(gw: &Harness, healthy: &Upstream) {
    client::get(&gw.url("/healthy"), &[]).await.expect(200);
    assert!(healthy.count() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_http_is_502() {
    let url = misbehaving(|mut s| async move {
        let _ = s
            .write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\nnot http at all")
            .await;
    })
    .await;
    let (gw, healthy) = gateway(&url).await;
    for c in [client::h1(), client::h2()] {
        let r = client::send(
            &c,
            request(
                Method::GET,
                &gw.url(LIST),
                &[("x-api-key", ADMIN)],
                full(""),
            ),
        )
        .await;
        assert_rejected(&r, 502, "upstream_failed");
    }
    still_serves(&gw, &healthy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_is_502() {
    let url = misbehaving(|s| async move {
        // Linger 0: closing sends RST instead of FIN.
        #[allow(deprecated, reason = "SO_LINGER 0 is exactly the fault wanted here")]
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s);
    })
    .await;
    let (gw, healthy) = gateway(&url).await;
    let r = client::get(&gw.url(LIST), &[("x-api-key", ADMIN)]).await;
    assert_rejected(&r, 502, "upstream_failed");
    still_serves(&gw, &healthy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_response_head_is_502() {
    let url = misbehaving(|mut s| async move {
        let big = "a".repeat(1024 * 1024);
        let head = format!("HTTP/1.1 200 OK\r\nx-big: {big}\r\ncontent-length: 2\r\n\r\nok");
        let _ = s.write_all(head.as_bytes()).await;
    })
    .await;
    let (gw, healthy) = gateway(&url).await;
    let r = client::get(&gw.url(LIST), &[("x-api-key", ADMIN)]).await;
    assert_rejected(&r, 502, "upstream_failed");
    assert!(r.header("x-big").is_none());
    still_serves(&gw, &healthy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_fails_visibly() {
    let url = misbehaving(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nonly a hundred bytes or so")
            .await;
        // Then hang up.
    })
    .await;
    let (gw, healthy) = gateway(&url).await;
    for c in [client::h1(), client::h2()] {
        let req = request(
            Method::GET,
            &gw.url(LIST),
            &[("x-api-key", ADMIN)],
            full(""),
        );
        // The gateway may have sent the head before the body failed, or not yet (hyper can drop
        // the connection with the head still buffered): either way the exchange fails visibly.
        let resp = tokio::time::timeout(client::LIMIT, c.request(req))
            .await
            .expect("answered");
        let Ok(resp) = resp else { continue };
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-length"], "1000");
        let body = tokio::time::timeout(client::LIMIT, resp.into_body().collect()).await;
        assert!(
            matches!(body, Ok(Err(_))),
            "a cut body must end in an error, not look complete"
        );
    }
    still_serves(&gw, &healthy).await;
}
