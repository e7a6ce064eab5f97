//! The public listener: accepts connections and serves each with hyper (HTTP/1.1, and HTTP/2 by
//! prior knowledge, h2c), calling `gateway::handle` for every request.
//!
//! `run` takes an already-bound listener and a shutdown future, so tests bind port 0 and stop the
//! server when they like. On shutdown it stops accepting and lets in-flight requests finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::gateway::{self, Conn, Gateway, Role};

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time allowed to receive a request head.
    pub header_read_timeout: Duration,
    /// Time in-flight requests get to finish after shutdown.
    pub drain_timeout: Duration,
    /// What the listener is for: proxying, or answering forward-auth sub-requests.
    pub role: Role,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: gateway::DEFAULT_HEADER_READ_TIMEOUT,
            drain_timeout: Duration::from_secs(10),
            role: Role::Proxy,
        }
    }
}

/// Serve `listener` until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    gw: Arc<Gateway>,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let gw = Arc::clone(&gw);
        let conn = Conn {
            peer,
            scheme: "http",
            role: opts.role,
        };
        let service = service_fn(move |req| {
            let gw = Arc::clone(&gw);
            async move { Ok::<_, std::convert::Infallible>(gateway::handle(&gw, conn, req).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = watched.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(opts.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight connections did not finish in time");
    }
}
