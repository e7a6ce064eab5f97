//! Body: the one body type every response and forwarded request uses, and its constructors.
//!
//! Upstream bodies stream through untouched (`stream`); the gateway's own answers are small and
//! whole (`full`). Nothing here buffers a streamed body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::{Body as _, Frame};

/// Errors a body can raise while streaming.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed or whole body.
pub type Body = BoxBody<Bytes, BoxError>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}

/// Wrap a streaming body (a client's or an upstream's, as hyper reads it) without buffering it.
pub fn incoming<B>(body: B) -> Body
where
    B: hyper::body::Body<Data = Bytes, Error = hyper::Error> + Send + Sync + 'static,
{
    body.map_err(|e| -> BoxError { Box::new(e) }).boxed()
}

/// A client's body that failed while streaming (malformed chunked framing, a connection reset):
/// the client's fault, answered 400, never the upstream's 502.
#[derive(Debug, thiserror::Error)]
#[error("the client's request body failed: {0}")]
pub struct ClientBodyError(#[source] hyper::Error);

/// A client's body that sent nothing for longer than the idle limit: the client's 408.
#[derive(Debug, thiserror::Error)]
#[error("the client's request body stalled")]
pub struct BodyStalled;

/// A body that fails with `BodyStalled` when no frame comes for `idle`.
struct Idle<B> {
    inner: B,
    idle: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<B> hyper::body::Body for Idle<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = tokio::time::Instant::now() + this.idle;
                this.sleep.as_mut().reset(next);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyStalled)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Wrap a client's streaming body: it fails once more than `max` bytes have passed, or when no
/// bytes come for `idle`; its own failures are marked `ClientBodyError`. A body that has ended
/// before it started (no body, `Content-Length: 0`, an HTTP/2 head that ended the stream) has
/// nothing to limit or time: it becomes an empty body, without the idle timer each wrapped body
/// carries (a timer entry made and removed again on every GET).
pub fn limited(body: crate::incoming::Incoming, max: usize, idle: Duration) -> Body {
    if body.is_end_stream() {
        return empty();
    }
    let idle = Idle {
        inner: body.map_err(ClientBodyError),
        idle,
        sleep: Box::pin(tokio::time::sleep(idle)),
    };
    Limited::new(idle, max).boxed()
}

/// Whether `e` (or anything in its source chain) is a stalled client body.
pub fn is_stalled(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by::<BodyStalled>(e)
}

/// Whether `e` or anything in its source chain is a `T`.
pub fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if err.is::<T>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// Whether `e` (or anything in its source chain) is a client body failure.
pub fn is_client_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by::<ClientBodyError>(e)
}
