//! The plain HTTP/1.1 server: on a plain listener, and on a TLS connection that did not choose
//! HTTP/2, it reads each request head itself,
//! runs the pipeline (`gateway::handle`) and writes the response, for as long as the client
//! sends the common request (`h1_head` says which). hyper's HTTP/1 server costs about a quarter
//! of an allowed request's instructions (its dispatcher, a fresh 8 KiB read buffer and a boxed
//! timer per request); this one keeps one buffer and one timer per connection.
//!
//! The first request it does not serve (a body, an upgrade, `Expect`, HTTP/1.0, h2c's preface,
//! a head httparse refuses or that is too large) ends it: the connection, with every byte read
//! and not yet served, goes to hyper at that request boundary, and hyper serves the rest of it.
//! So everything unusual is still read by hyper's strict parser, and answered as before.
//!
//! Between requests the connection closes when the head timeout passes (which is also the
//! keep-alive idle limit) or when the server drains; a request in flight finishes, unless the
//! client closes the connection first: then it is dropped, as hyper drops it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::watch;

use super::h1_head::{self, Head};
use super::h1_write;
use crate::gateway::{self, Conn, Gateway};
use crate::metrics::OpenConnection;

/// Room made in the read buffer before each read.
const READ_ROOM: usize = 4096;

/// The limits the plain server applies to a head.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Time from the end of one response until the next head is whole.
    pub header_read_timeout: Duration,
    /// Most fields in a head.
    pub max_headers: usize,
    /// Most bytes in a head.
    pub max_header_bytes: usize,
}

/// How the plain server left the connection.
pub(super) enum End {
    /// It is closed (or must be): the client left, the head timed out, the server drains, a
    /// response was cut short or asked to close.
    Closed,
    /// hyper serves the rest, starting with these bytes.
    HandOff(Bytes),
}

/// Serve requests on `stream` until it ends or needs hyper. The connection is counted as open
/// (`opened`) from its first served request.
pub(super) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    gw: &Arc<Gateway>,
    conn: &Conn,
    limits: Limits,
    drain: &mut watch::Receiver<bool>,
    opened: &mut Option<OpenConnection>,
    listener: &str,
) -> End {
    let mut buf = BytesMut::with_capacity(READ_ROOM);
    let mut reader = h1_head::Reader::default();
    let mut out = Vec::with_capacity(1024);
    let deadline = tokio::time::sleep(limits.header_read_timeout);
    tokio::pin!(deadline);
    // One wait for the drain per connection, polled only between requests (made per request it
    // cost a registration and its removal each time); it ends the connection when it completes.
    let mut draining = drain.clone();
    let drained = draining.changed();
    tokio::pin!(drained);
    loop {
        // A later deadline only moves the timer's due time; it is not re-registered.
        let due = tokio::time::Instant::now() + limits.header_read_timeout;
        deadline.as_mut().reset(due);
        let (request, close) = loop {
            if !buf.is_empty() {
                match reader.read(&mut buf, limits.max_headers, limits.max_header_bytes) {
                    Head::Request { request, close } => break (request, close),
                    Head::Other => return End::HandOff(buf.freeze()),
                    Head::Partial => {}
                }
            }
            if buf.len() >= limits.max_header_bytes {
                return End::HandOff(buf.freeze());
            }
            buf.reserve(READ_ROOM);
            let between = buf.is_empty();
            tokio::select! {
                biased;
                read = stream.read_buf(&mut buf) => match read {
                    Ok(0) | Err(_) => return End::Closed,
                    Ok(_) => {}
                },
                () = &mut deadline => return End::Closed,
                _ = &mut drained, if between => return End::Closed,
            }
        };
        if opened.is_none() {
            *opened = Some(gw.metrics.connection(listener, "http1"));
        }
        // Pinned where it is made: the request's future is large, and is never moved.
        let handling = gateway::handle(Arc::clone(gw), conn.clone(), request);
        tokio::pin!(handling);
        let max = limits.max_header_bytes;
        let Some(Ok(resp)) = while_connected(stream, &mut buf, max, handling).await else {
            // The client closed its side: its request is dropped (upstream exchange and all), as
            // hyper drops it.
            return End::Closed;
        };
        // Draining: the answer says the connection closes after it.
        let close = close || *drain.borrow();
        if !h1_write::response(stream, &mut out, resp, close).await {
            return End::Closed;
        }
    }
}

/// Run `handling` while watching the connection: what the client sends meanwhile (a pipelined
/// request) is kept in `buf`, up to `max` bytes; `None`, with `handling` dropped, when the
/// client closes the connection first.
async fn while_connected<S, F>(
    stream: &mut S,
    buf: &mut BytesMut,
    max: usize,
    mut handling: Pin<&mut F>,
) -> Option<F::Output>
where
    S: AsyncRead + Unpin,
    F: Future,
{
    loop {
        if buf.len() >= max {
            return Some(handling.await);
        }
        tokio::select! {
            biased;
            out = handling.as_mut() => return Some(out),
            // No room is made first: the head before may still share the buffer.
            read = stream.read_buf(buf) => match read {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            },
        }
    }
}
