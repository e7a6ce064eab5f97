//! Body: the one body type every response and forwarded request uses, and its constructors.
//!
//! Upstream bodies stream through untouched (`stream`); the gateway's own answers are small and
//! whole (`full`). Nothing here buffers a streamed body.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};

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

/// Wrap a streaming body (a hyper `Incoming`) without buffering it.
pub fn incoming(body: hyper::body::Incoming) -> Body {
    body.map_err(|e| -> BoxError { Box::new(e) }).boxed()
}

/// A client's body that failed while streaming (malformed chunked framing, a connection reset):
/// the client's fault, answered 400, never the upstream's 502.
#[derive(Debug, thiserror::Error)]
#[error("the client's request body failed: {0}")]
pub struct ClientBodyError(#[source] hyper::Error);

/// Wrap a client's streaming body, failing it once more than `max` bytes have passed; its own
/// failures are marked `ClientBodyError`.
pub fn limited(body: hyper::body::Incoming, max: usize) -> Body {
    Limited::new(body.map_err(ClientBodyError), max).boxed()
}

/// Whether `e` (or anything in its source chain) is a client body failure.
pub fn is_client_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if err.is::<ClientBodyError>() {
            return true;
        }
        cause = err.source();
    }
    false
}
