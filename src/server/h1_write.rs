//! Writing one response for the plain HTTP/1.1 server (`h1`): the head, then the body framed by
//! its declared `Content-Length`, by its exact size, or chunked, as hyper frames it.
//!
//! The head and the body's frames that are ready at once go out in one write; when the body has
//! to wait (an upstream still sending), what is buffered is written first, so a slow stream is
//! never held back. A body that fails, or that ends short of (or runs past) its declared length,
//! ends the connection: the client sees a truncated response, never a wrong one.

use std::future::poll_fn;
use std::io::Write as _;
use std::pin::Pin;
use std::task::Poll;

use bytes::Buf;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::body::Body;

/// Frames at least this large are written from their own buffer instead of being copied.
const COPY_AT_MOST: usize = 8 * 1024;
/// Buffered bytes past which they are written before the next frame is read.
const FLUSH_AT: usize = 64 * 1024;

/// How the body is framed on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Framing {
    /// No body may follow (204, 304).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// Write `resp` to `io`. `close`: the connection ends after it (then the head says so). Returns
/// whether the connection may carry another request.
pub(super) async fn response<W: AsyncWrite + Unpin>(
    io: &mut W,
    out: &mut Vec<u8>,
    resp: Response<Body>,
    close: bool,
) -> bool {
    let (parts, mut body) = resp.into_parts();
    out.clear();
    let (framing, close) = head(out, &parts, &body, close);
    let whole = match framing {
        Framing::None => true,
        Framing::Length(n) => copy_body(io, out, &mut body, Some(n)).await,
        Framing::Chunked => copy_body(io, out, &mut body, None).await,
    };
    if !whole {
        // Whatever was buffered still goes out: the client sees the response cut short.
        let _ = send(io, out).await;
        return false;
    }
    send(io, out).await && !close
}

/// Write and flush `out` (a TLS stream holds written bytes until flushed), then empty it.
async fn send<W: AsyncWrite + Unpin>(io: &mut W, out: &mut Vec<u8>) -> bool {
    let sent = io.write_all(out).await.is_ok() && io.flush().await.is_ok();
    out.clear();
    sent
}

/// What the response's own fields say about its framing and connection, gathered while they are
/// written (one pass, no lookup by name).
#[derive(Default)]
struct Seen<'a> {
    /// The first `Content-Length` value, and how many there were.
    length: Option<&'a [u8]>,
    lengths: usize,
    /// A `Connection` field, and whether one says `close`.
    connection: bool,
    close: bool,
    /// A `Date` field.
    date: bool,
}

/// The framing hyper would choose: none for 204 and 304, the declared length (one, in digits),
/// the body's exact size, or chunked.
fn framing(status: StatusCode, seen: &Seen<'_>, body: &Body) -> Framing {
    if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Framing::None;
    }
    if let (Some(v), 1) = (seen.length, seen.lengths)
        && let Some(n) = decimal(v)
    {
        return Framing::Length(n);
    }
    match body.size_hint().exact() {
        Some(n) => Framing::Length(n),
        None => Framing::Chunked,
    }
}

/// A length as ASCII digits only (no sign, no space), as `Content-Length` is written.
fn decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Whether a `Connection` value holds the `close` token.
fn says_close(value: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
}

/// Write the status line and fields: the framing fields are the server's, `Date` is added when
/// the response has none, `Connection: close` when the connection ends and the response did not
/// say so. Returns the framing and whether the connection ends (`close`, or the response asked).
fn head(
    out: &mut Vec<u8>,
    parts: &http::response::Parts,
    body: &Body,
    close: bool,
) -> (Framing, bool) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    let reason = parts.status.canonical_reason().unwrap_or("");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut seen = Seen::default();
    for (name, value) in &parts.headers {
        if name == CONTENT_LENGTH {
            seen.length = seen.length.or(Some(value.as_bytes()));
            seen.lengths += 1;
            continue;
        }
        if name == TRANSFER_ENCODING {
            continue;
        }
        if name == CONNECTION {
            seen.connection = true;
            seen.close |= says_close(value.as_bytes());
        } else if name == DATE {
            seen.date = true;
        }
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    let framing = framing(parts.status, &seen, body);
    match framing {
        Framing::None if parts.status == StatusCode::NOT_MODIFIED => {
            if let Some(v) = seen.length {
                field(out, b"content-length", v);
            }
        }
        Framing::None => {}
        Framing::Length(n) => {
            let mut digits = itoa::Buffer::new();
            field(out, b"content-length", digits.format(n).as_bytes());
        }
        Framing::Chunked => field(out, b"transfer-encoding", b"chunked"),
    }
    let close = close || seen.close;
    if close && !seen.connection {
        field(out, b"connection", b"close");
    }
    if !seen.date {
        super::date::with(|d| field(out, b"date", d));
    }
    out.extend_from_slice(b"\r\n");
    (framing, close)
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Copy the body's data after the head in `out`: `length`, or chunked when `None`. Returns
/// whether the body ended as framed (the terminating chunk is left in `out`).
async fn copy_body<W: AsyncWrite + Unpin>(
    io: &mut W,
    out: &mut Vec<u8>,
    body: &mut Body,
    length: Option<u64>,
) -> bool {
    let mut left = length;
    loop {
        // A frame that is ready now joins the buffer; otherwise the buffer goes out first.
        let ready = poll_fn(|cx| match Pin::new(&mut *body).poll_frame(cx) {
            Poll::Ready(f) => Poll::Ready(Some(f)),
            Poll::Pending => Poll::Ready(None),
        })
        .await;
        let frame = match ready {
            Some(f) => f,
            None => {
                if !send(io, out).await {
                    return false;
                }
                body.frame().await
            }
        };
        let data = match frame {
            None => break,
            Some(Err(_)) => return false,
            Some(Ok(f)) => match f.into_data() {
                Ok(d) => d,
                // Trailers: HTTP/1.1 clients did not ask for them (no `TE: trailers` here).
                Err(_) => continue,
            },
        };
        if data.is_empty() {
            continue;
        }
        match &mut left {
            Some(n) if (data.len() as u64) > *n => return false,
            Some(n) => *n -= data.len() as u64,
            None => {
                let _ = write!(out, "{:x}\r\n", data.len());
            }
        }
        if data.len() >= COPY_AT_MOST {
            if io.write_all(out).await.is_err() || io.write_all(data.chunk()).await.is_err() {
                return false;
            }
            out.clear();
        } else {
            out.extend_from_slice(&data);
        }
        if length.is_none() {
            out.extend_from_slice(b"\r\n");
        }
        if out.len() >= FLUSH_AT {
            if io.write_all(out).await.is_err() {
                return false;
            }
            out.clear();
        }
    }
    match left {
        Some(0) => true,
        Some(_) => false,
        None => {
            out.extend_from_slice(b"0\r\n\r\n");
            true
        }
    }
}

#[cfg(test)]
#[path = "h1_write_tests.rs"]
mod tests;
