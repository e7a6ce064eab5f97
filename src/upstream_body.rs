//! A response body read straight from the upstream connection as the client takes it, and the
//! connection parked for the next request once the body is read to its exact end.
//!
//! A body delimited by `Content-Length` or chunked framing ends where its framing says; a
//! connection whose response said `close`, whose body runs until the upstream closes, whose
//! request was not sent whole, or that holds bytes past the body's end is dropped instead of
//! parked. A body the client abandons drops its connection with it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tokio_util::io::poll_read_buf;

use crate::body::{self, Body, BoxError};
use crate::upstream_chunked::{Chunked, Step};
use crate::upstream_conn::Conn;
use crate::upstream_parked::Parked;
use crate::upstream_wire::{Delimited, WireError};

/// How much room each read of the body asks for.
const READ_ROOM: usize = 16 * 1024;

enum Reading {
    Length(u64),
    Chunked(Chunked),
    Close,
}

/// The body of one upstream response.
struct UpstreamBody {
    /// The connection, until the body ended or failed.
    conn: Option<Conn>,
    reading: Reading,
    /// Whether the connection may be parked once the body ended.
    keep_alive: bool,
    parked: Arc<Parked>,
}

/// The body that follows a response head read from `conn`: an empty body parks the
/// connection at once (when `keep_alive`).
pub fn read(conn: Conn, delimited: Delimited, keep_alive: bool, parked: Arc<Parked>) -> Body {
    let reading = match delimited {
        Delimited::Empty => {
            if keep_alive && conn.buf.is_empty() {
                parked.put(conn);
            }
            return body::empty();
        }
        Delimited::Length(n) => Reading::Length(n),
        Delimited::Chunked => Reading::Chunked(Chunked::default()),
        Delimited::Close => Reading::Close,
    };
    UpstreamBody {
        conn: Some(conn),
        reading,
        keep_alive,
        parked,
    }
    .boxed()
}

impl UpstreamBody {
    /// The body ended at its framing's end: park the connection if nothing speaks against it.
    fn finish(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.keep_alive
            && conn.buf.is_empty()
        {
            self.parked.put(conn);
        }
    }

    /// The next data already in the buffer, `Ok(None)` if more must be read; `ended` is set
    /// when the body ended.
    fn buffered(&mut self, ended: &mut bool) -> Result<Option<Bytes>, BoxError> {
        let Some(conn) = self.conn.as_mut() else {
            *ended = true;
            return Ok(None);
        };
        let buf = &mut conn.buf;
        Ok(match &mut self.reading {
            Reading::Length(0) => {
                *ended = true;
                None
            }
            Reading::Length(left) => match buf.is_empty() {
                true => None,
                false => {
                    let n = usize::try_from(*left).map_or(buf.len(), |l| l.min(buf.len()));
                    *left -= n as u64;
                    *ended = *left == 0;
                    Some(buf.split_to(n).freeze())
                }
            },
            Reading::Chunked(dec) => match dec.step(buf)? {
                Step::Data(d) => Some(d),
                Step::NeedMore => None,
                Step::Done => {
                    *ended = true;
                    None
                }
            },
            Reading::Close => (!buf.is_empty()).then(|| buf.split().freeze()),
        })
    }
}

impl hyper::body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let mut ended = false;
            let data = match this.buffered(&mut ended) {
                Ok(data) => data,
                Err(e) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(e)));
                }
            };
            if ended {
                this.finish();
            }
            match (data, ended) {
                (Some(d), _) => return Poll::Ready(Some(Ok(Frame::data(d)))),
                (None, true) => return Poll::Ready(None),
                (None, false) => {}
            }
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            conn.buf.reserve(READ_ROOM);
            let read = ready!(poll_read_buf(Pin::new(&mut conn.stream), cx, &mut conn.buf));
            match read {
                Ok(0) => {
                    this.conn = None;
                    if !matches!(this.reading, Reading::Close) {
                        return Poll::Ready(Some(Err(WireError::Closed.into())));
                    }
                    return Poll::Ready(None);
                }
                Ok(_) => {}
                Err(e) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none() || matches!(self.reading, Reading::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match self.reading {
            Reading::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}
