//! Incoming: a client's request body as the pipeline receives it, from either HTTP/1 server.
//!
//! hyper's server hands the pipeline its own `Incoming`; the plain HTTP/1 server
//! (`server::h1`) serves only requests without a body, and hands them `Incoming::Empty`. One
//! type for both keeps every step (guards, management APIs, forwarding) unaware of which server
//! read the head. Its error is hyper's: the empty body never fails.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// A request body: none, or hyper's stream.
#[derive(Debug)]
pub enum Incoming {
    /// The request had no body (no `Content-Length`, no `Transfer-Encoding`).
    Empty,
    /// The body hyper is reading from the connection.
    Hyper(hyper::body::Incoming),
}

impl From<hyper::body::Incoming> for Incoming {
    fn from(body: hyper::body::Incoming) -> Self {
        Self::Hyper(body)
    }
}

impl Body for Incoming {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Empty => Poll::Ready(None),
            Self::Hyper(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Hyper(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Empty => SizeHint::with_exact(0),
            Self::Hyper(b) => b.size_hint(),
        }
    }
}
