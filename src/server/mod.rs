//! The public listener: accepts connections and serves each, calling `gateway::handle` for every
//! request. The plain HTTP/1.1 server (`h1`) serves the common request and hands a connection
//! to hyper (HTTP/1.1, and on a plain listener HTTP/2 by prior knowledge, h2c) at the first
//! request it does not serve. On a TLS listener the handshake runs first ([`crate::tls`]) and
//! ALPN picks HTTP/2 (hyper) or HTTP/1.1 (the plain server, then hyper).
//!
//! `run` takes an already-bound listener and a shutdown future, so tests bind port 0 and stop the
//! server when they like. On shutdown it stops accepting, closes idle connections and lets
//! in-flight requests finish: every connection holds one of the listener's slots until it
//! closes, so the drain is over when every slot is back.

mod date;
mod h1;
pub mod h1_head;
mod h1_write;
mod replay;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::gateway::{self, Conn, Gateway, Role};
use crate::incoming::Incoming;
use crate::metrics::OpenConnection;
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
    let (draining, drain) = watch::channel(false);
    let max = u32::try_from(opts.max_connections.max(1)).unwrap_or(u32::MAX);
    let slots = Arc::new(tokio::sync::Semaphore::new(max as usize));
    let limits = h1::Limits {
        header_read_timeout: opts.header_read_timeout,
        max_headers: opts.max_headers,
        max_header_bytes: opts.max_header_bytes,
    };
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
        let gw = Arc::clone(&gw);
        let hyper = Hyper {
            builder: builder.clone(),
            drain: drain.clone(),
            listener: Arc::clone(&opts.listener),
            opened: None,
        };
        let tls = opts.tls.clone();
        let (limit, proxy_protocol) = (opts.header_read_timeout, opts.proxy_protocol);
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
                // The plain server times the first head too: a client that sends nothing is
                // dropped when the head timeout ends (hyper's protocol detection would wait).
                None => plain_then_hyper(stream, hyper, gw, conn, limits).await,
                Some(tls) => serve_tls(tls, stream, hyper, gw, conn, limits).await,
            }
            drop(slot);
        });
    }
    drop(listener);
    draining.send_replace(true);
    if tokio::time::timeout(opts.drain_timeout, slots.acquire_many(max))
        .await
        .is_err()
    {
        tracing::warn!("in-flight connections did not finish in time");
    }
}

/// What a connection hyper serves needs besides the connection.
struct Hyper {
    builder: auto::Builder<TokioExecutor>,
    /// Turns true when the server drains.
    drain: watch::Receiver<bool>,
    /// The listener's metrics label.
    listener: Arc<str>,
    /// The connection's count among the open ones, if the plain server already served a request.
    opened: Option<OpenConnection>,
}

/// Run the TLS handshake, then serve the protocol ALPN chose: HTTP/2 with hyper, HTTP/1.1 with
/// the plain server first. A failed or timed-out handshake just closes the connection.
async fn serve_tls(
    tls: Arc<Tls>,
    stream: tokio::net::TcpStream,
    mut hyper: Hyper,
    gw: Arc<Gateway>,
    mut conn: Conn,
    limits: h1::Limits,
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
    if accepted.h2 {
        hyper.builder = hyper.builder.http2_only();
        serve(hyper, TokioIo::new(accepted.stream), gw, conn).await;
    } else {
        hyper.builder = hyper.builder.http1_only();
        plain_then_hyper(accepted.stream, hyper, gw, conn, limits).await;
    }
}

/// Serve HTTP/1.1 on `stream` with the plain server, and with hyper from the first request the
/// plain server does not serve.
async fn plain_then_hyper<S>(
    mut stream: S,
    mut hyper: Hyper,
    gw: Arc<Gateway>,
    conn: Conn,
    limits: h1::Limits,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let end = h1::serve(
        &mut stream,
        &gw,
        &conn,
        limits,
        &mut hyper.drain,
        &mut hyper.opened,
        &hyper.listener,
    )
    .await;
    if let h1::End::HandOff(read) = end {
        let io = TokioIo::new(replay::Replay::new(read, stream));
        serve(hyper, io, gw, conn).await;
    }
}

/// Serve one connection with hyper until it ends or shutdown drains it. It is counted among the
/// open connections of its listener from its first request (which tells HTTP/1.1 from HTTP/2)
/// until it closes.
async fn serve<I>(hyper: Hyper, io: I, gw: Arc<Gateway>, conn: Conn)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let Hyper {
        builder,
        mut drain,
        listener,
        opened,
    } = hyper;
    let peer = conn.peer;
    let open = std::sync::OnceLock::new();
    if let Some(o) = opened {
        let _ = open.set(o);
    }
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
        Box::pin(gateway::handle(
            Arc::clone(&gw),
            conn.clone(),
            req.map(Incoming::from),
        ))
    });
    // With upgrades, so a WebSocket route can take the connection over after its 101.
    let connection = builder
        .serve_connection_with_upgrades(io, service)
        .into_owned();
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        () = async { let _ = drain.wait_for(|d| *d).await; } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(error = %e, %peer, "connection ended with an error");
    }
}
