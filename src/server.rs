//! The public listener: accepts connections and serves each with hyper (HTTP/1.1, and HTTP/2 by
//! prior knowledge, h2c), calling `gateway::handle` for every request. On a TLS listener the
//! handshake runs first ([`crate::tls`]) and ALPN picks HTTP/2 or HTTP/1.1.
//!
//! `run` takes an already-bound listener and a shutdown future, so tests bind port 0 and stop the
//! server when they like. On shutdown it stops accepting and lets in-flight requests finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;

use crate::gateway::{self, Conn, Gateway, Role};
use crate::proxy_protocol;
use crate::tls::Tls;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time allowed to receive a request head.
    pub header_read_timeout: Duration,
    /// Time in-flight requests get to finish after shutdown.
    pub drain_timeout: Duration,
    /// What the listener is for: proxying, or answering forward-auth sub-requests.
    pub role: Role,
    /// TLS termination, on a listener that has it.
    pub tls: Option<Arc<Tls>>,
    /// Most headers in a request head (more: 431).
    pub max_headers: usize,
    /// Most bytes in a request head, and in an HTTP/2 header list (more: 431).
    pub max_header_bytes: usize,
    /// Most open connections on this listener: at the limit the accept loop waits for one to
    /// close (it never spins and never exits).
    pub max_connections: usize,
    /// Every connection starts with a PROXY protocol header (required, never optional).
    pub proxy_protocol: bool,
    /// The hosts this listener serves (normalized); any other gets 421. `None`: any host.
    pub hosts: Option<Arc<[String]>>,
    /// The `listener` label of its connections in the metrics (its address).
    pub listener: Arc<str>,
}

/// How long the server waits for a request head (slow-loris guard).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            drain_timeout: Duration::from_secs(10),
            role: Role::Proxy,
            tls: None,
            max_headers: 100,
            max_header_bytes: 16 * 1024,
            max_connections: 10_000,
            proxy_protocol: false,
            hosts: None,
            listener: Arc::from("public"),
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
        .max_headers(opts.max_headers)
        // hyper's smallest buffer is 8 KiB; past it a head gets 431.
        .max_buf_size(opts.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .max_header_list_size(u32::try_from(opts.max_header_bytes).unwrap_or(u32::MAX))
        // Rapid-reset floods: streams a client resets before they are served, and streams the
        // server must reset for the client's errors, are both bounded per connection.
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(1024);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(opts.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        // At the limit, wait for a connection to close before accepting another.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off and try again; never spin, never exit.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            peer,
            scheme: "http",
            role: opts.role,
            sni: None,
            hosts: opts.hosts.clone(),
            client_certificate: None,
        };
        let (gw, builder, watcher) = (Arc::clone(&gw), builder.clone(), graceful.watcher());
        let tls = opts.tls.clone();
        let (limit, proxy_protocol) = (opts.header_read_timeout, opts.proxy_protocol);
        let listener_name = Arc::clone(&opts.listener);
        tokio::spawn(async move {
            let mut stream = stream;
            let mut conn = conn;
            if proxy_protocol {
                // The balancer's header comes first, within the head timeout, or the
                // connection is dropped: on such a listener it is required.
                match proxy_protocol::read(&mut stream, limit).await {
                    Ok(Some(client)) => conn.peer = client,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, peer = %conn.peer, "connection dropped");
                        return drop(slot);
                    }
                }
            }
            match tls {
                // hyper times the head only once a byte has come (its protocol detection
                // waits without a limit): a client that sends nothing is dropped here.
                None => {
                    if first_byte_within(&stream, limit).await {
                        let io = TokioIo::new(stream);
                        serve(builder, io, gw, conn, watcher, listener_name).await;
                    }
                }
                Some(tls) => {
                    serve_tls(tls, stream, builder, gw, conn, watcher, listener_name).await
                }
            }
            drop(slot);
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

/// Whether the client sends its first byte within `limit` (and has not just closed).
async fn first_byte_within(stream: &tokio::net::TcpStream, limit: Duration) -> bool {
    let mut probe = [0u8; 1];
    matches!(
        tokio::time::timeout(limit, stream.peek(&mut probe)).await,
        Ok(Ok(n)) if n > 0
    )
}

/// Run the TLS handshake, then serve the protocol ALPN chose. A failed or timed-out handshake
/// just closes the connection.
async fn serve_tls(
    tls: Arc<Tls>,
    stream: tokio::net::TcpStream,
    builder: auto::Builder<TokioExecutor>,
    gw: Arc<Gateway>,
    mut conn: Conn,
    watcher: Watcher,
    listener: Arc<str>,
) {
    let accepted = match tls.accept(stream).await {
        Ok(a) => a,
        Err(e) => {
            tracing::debug!(error = %e, peer = %conn.peer, "tls handshake failed");
            return;
        }
    };
    conn.scheme = "https";
    conn.sni = accepted.sni;
    conn.client_certificate = accepted.client_certificate;
    let builder = if accepted.h2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    };
    let io = TokioIo::new(accepted.stream);
    serve(builder, io, gw, conn, watcher, listener).await;
}

/// Serve one connection until it ends or shutdown drains it. It is counted among the open
/// connections of `listener` from its first request (which tells HTTP/1.1 from HTTP/2) until it
/// closes.
async fn serve<I>(
    builder: auto::Builder<TokioExecutor>,
    io: I,
    gw: Arc<Gateway>,
    conn: Conn,
    watcher: Watcher,
    listener: Arc<str>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let peer = conn.peer;
    let open = std::sync::OnceLock::new();
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        if open.get().is_none() {
            let protocol = match req.version() {
                http::Version::HTTP_2 => "h2",
                _ => "http1",
            };
            let _ = open.set(gw.metrics.connection(&listener, protocol));
        }
        // Boxed: hyper moves the service future (into an HTTP/2 stream's task, into the
        // HTTP/1 dispatcher's slot), and a box moves as one pointer.
        Box::pin(gateway::handle(Arc::clone(&gw), conn.clone(), req))
    });
    // With upgrades, so a WebSocket route can take the connection over after its 101.
    let connection = builder
        .serve_connection_with_upgrades(io, service)
        .into_owned();
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, %peer, "connection ended with an error");
    }
}
