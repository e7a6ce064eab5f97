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

/// Wrap a streaming body, failing it once more than `max` bytes have passed.
pub fn limited(body: hyper::body::Incoming, max: usize) -> Body {
    Limited::new(body, max).boxed()
}
