//! Upstream exchanges: an HTTP/1.1 request written and its response read on a kept-alive
//! connection of this worker, inside the request's own task.
//!
//! hyper's client ran each upstream connection as a task of its own, reached through channels:
//! the request went to that task, the response head and every body chunk came back, each a
//! wake-up and a move (about 15,000 of the 60,000 instructions of an allowed request). Here the
//! request's future writes the head (`upstream_wire`) and body, reads the response head, and the
//! response body reads the connection directly (`upstream_body`), which goes back to the
//! worker's idle connections (`upstream_parked::Parked`) once its body ended. The head is read
//! while the body is still being written, so an upstream that answers early (and stops reading)
//! is heard. A request that failed on a reused connection before any byte of a response came
//! back is sent again on another (the upstream had closed the idle connection) only if it had
//! no body and its method is idempotent: a retried POST could act twice. A WebSocket upgrade
//! goes over a connection of its own through hyper (`upgrade`), which hands over the raw stream.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::uri::{Authority, Scheme};
use http::{Method, Request, Response};
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWrite;
use tokio_util::io::poll_read_buf;

use crate::body::{Body, BoxError};
use crate::fields::Lines;
use crate::upstream_body;
use crate::upstream_conn::{Conn, Connector};
use crate::upstream_parked::Parked;
use crate::upstream_wire::{self, Framing, Head, WireError};

/// Why an exchange with an upstream failed.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be made (refused, timed out, TLS failed...).
    Connect(BoxError),
    /// The exchange on a connection failed (I/O, or a response that breaks the protocol).
    Exchange(BoxError),
    /// The client's request body failed while it was being sent.
    Body(BoxError),
    /// An upgrade exchange failed.
    Upgrade(hyper::Error),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(_) => f.write_str("cannot connect to the upstream"),
            SendError::Exchange(_) | SendError::Upgrade(_) => {
                f.write_str("the upstream exchange failed")
            }
            SendError::Body(_) => f.write_str("the request body failed on its way upstream"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Connect(e) | SendError::Exchange(e) | SendError::Body(e) => Some(&**e),
            SendError::Upgrade(e) => Some(e),
        }
    }
}

impl SendError {
    /// Whether the exchange failed because the connection was closed or reset under it (not
    /// because of what the upstream said, or of the client's body).
    fn is_closed_connection(&self) -> bool {
        match self {
            SendError::Exchange(e) => {
                e.is::<std::io::Error>()
                    || e.downcast_ref::<WireError>() == Some(&WireError::Closed)
            }
            _ => false,
        }
    }
}

/// The upstream connections of one worker.
pub struct Pool {
    connector: Connector,
    parked: Arc<Parked>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool connecting through `connector`, closing connections idle longer than
    /// `idle_timeout`.
    pub fn new(connector: Connector, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            connector,
            parked: Arc::new(Parked::new(idle_timeout)),
        })
    }

    /// Send `req` for `target` (origin form, what the request line carries) with the fields
    /// `lines` (every field of its head but the framing ones, `Host` included) to (scheme,
    /// authority) and return the response head; the body streams from the connection. `req`'s
    /// own fields are read for the body's `Content-Length` only, its URI not at all.
    pub async fn send(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        req: Request<Body>,
        target: &str,
        lines: &Lines,
    ) -> Result<Response<Body>, SendError> {
        let (parts, body) = req.into_parts();
        let mut head = Vec::with_capacity(1024);
        let framing = upstream_wire::request_head(&parts, target, &body, lines, &mut head);
        let mut body = Some(body);
        loop {
            let (conn, reused) = match self.parked.take(scheme, authority) {
                Some(conn) => (conn, true),
                // Boxed: connecting is rare once the pool is warm, and its future is large.
                None => (
                    Box::pin(self.connector.connect(scheme, authority))
                        .await
                        .map_err(SendError::Connect)?,
                    false,
                ),
            };
            let mut x = Exchange {
                conn,
                head: &head,
                written: 0,
                pending: Bytes::new(),
                body: body.take(),
                framing,
                left: match framing {
                    Framing::Length(n) => n,
                    _ => 0,
                },
                sent: false,
                heard: false,
                method: &parts.method,
            };
            match std::future::poll_fn(|cx| x.poll(cx)).await {
                Ok(head) => {
                    let keep_alive = head.keep_alive && x.sent;
                    let (parts, ()) = head.response.into_parts();
                    let body =
                        upstream_body::read(x.conn, head.body, keep_alive, self.parked.clone());
                    return Ok(Response::from_parts(parts, body));
                }
                // The upstream closed the idle connection as the request went out (a race
                // `Parked::take`'s check cannot close): nothing came back, nothing of a body
                // was sent, and the method may be repeated.
                Err(e)
                    if reused
                        && !x.heard
                        && framing == Framing::Empty
                        && parts.method.is_idempotent()
                        && e.is_closed_connection() =>
                {
                    body = x.body.take();
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Send an upgrade request (a WebSocket handshake) on a new connection through hyper, whose
    /// `hyper::upgrade::on` then hands over the connection. `req`'s map holds every field of its
    /// head, `Host` included (`forward_fields` writes it).
    pub async fn upgrade(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        req: Request<Body>,
    ) -> Result<Response<Incoming>, SendError> {
        let conn = Box::pin(self.connector.connect(scheme, authority))
            .await
            .map_err(SendError::Connect)?;
        let (mut tx, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(conn.stream))
            .await
            .map_err(SendError::Upgrade)?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        tx.send_request(req).await.map_err(SendError::Upgrade)
    }
}

/// One request on one connection, until its response head.
struct Exchange<'a> {
    conn: Conn,
    head: &'a [u8],
    /// How much of `head` is written.
    written: usize,
    /// Body bytes (with their chunk framing) not yet written.
    pending: Bytes,
    /// The body, until it ended.
    body: Option<Body>,
    framing: Framing,
    /// Bytes the body may still send under `Content-Length`.
    left: u64,
    /// Whether the whole request was written.
    sent: bool,
    /// Whether any byte of a response came back.
    heard: bool,
    method: &'a Method,
}

impl Exchange<'_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Head, SendError>> {
        if !self.sent {
            match self.poll_write(cx) {
                Poll::Ready(Ok(())) => self.sent = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        self.poll_head(cx)
    }

    /// Write the head, then the body as it comes, then flush.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let io = |e: std::io::Error| SendError::Exchange(e.into());
        loop {
            let out = match self.written < self.head.len() {
                true => &self.head[self.written..],
                false => &self.pending[..],
            };
            if !out.is_empty() {
                let n = ready!(Pin::new(&mut self.conn.stream).poll_write(cx, out)).map_err(io)?;
                if n == 0 {
                    return Poll::Ready(Err(io(std::io::ErrorKind::WriteZero.into())));
                }
                match self.written < self.head.len() {
                    true => self.written += n,
                    false => self.pending.advance(n),
                }
                continue;
            }
            let Some(body) = self.body.as_mut() else {
                ready!(Pin::new(&mut self.conn.stream).poll_flush(cx)).map_err(io)?;
                return Poll::Ready(Ok(()));
            };
            let frame = match Pin::new(body).poll_frame(cx) {
                Poll::Ready(frame) => frame,
                Poll::Pending => {
                    // While the client's body pauses, what was written must reach the upstream
                    // (TLS may hold it in its buffer).
                    ready!(Pin::new(&mut self.conn.stream).poll_flush(cx)).map_err(io)?;
                    return Poll::Pending;
                }
            };
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending = self.framed(data)?;
                    }
                }
                Some(Err(e)) => return Poll::Ready(Err(SendError::Body(e))),
                None => {
                    self.body = None;
                    match self.framing {
                        Framing::Chunked => self.pending = Bytes::from_static(b"0\r\n\r\n"),
                        Framing::Length(_) if self.left != 0 => {
                            return Poll::Ready(Err(SendError::Exchange(
                                WireError::BodyLength.into(),
                            )));
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// A body chunk as it goes on the wire.
    fn framed(&mut self, data: Bytes) -> Result<Bytes, SendError> {
        let len = data.len() as u64;
        match self.framing {
            Framing::Length(_) if len <= self.left => {
                self.left -= len;
                Ok(data)
            }
            Framing::Chunked if data.is_empty() => Ok(data),
            Framing::Chunked => {
                let mut out = BytesMut::with_capacity(data.len() + 20);
                out.extend_from_slice(format!("{len:x}\r\n").as_bytes());
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\r\n");
                Ok(out.freeze())
            }
            Framing::Length(_) | Framing::Empty if data.is_empty() => Ok(data),
            Framing::Length(_) | Framing::Empty => {
                Err(SendError::Exchange(WireError::BodyLength.into()))
            }
        }
    }

    /// Read until a complete (final) response head.
    fn poll_head(&mut self, cx: &mut Context<'_>) -> Poll<Result<Head, SendError>> {
        let buf = &mut self.conn.buf;
        loop {
            match upstream_wire::response_head(buf, self.method) {
                Ok(Some(head)) => return Poll::Ready(Ok(head)),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Err(SendError::Exchange(e.into()))),
            }
            buf.reserve(8 * 1024);
            match ready!(poll_read_buf(Pin::new(&mut self.conn.stream), cx, buf)) {
                Ok(0) => return Poll::Ready(Err(SendError::Exchange(WireError::Closed.into()))),
                Ok(_) => self.heard = true,
                Err(e) => return Poll::Ready(Err(SendError::Exchange(e.into()))),
            }
        }
    }
}
