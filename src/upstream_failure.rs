//! How a failed upstream exchange is answered and logged: the rejection it maps to (the
//! client's own fault when its body broke the exchange, else the upstream's) and the operator's
//! warning naming the upstream, its address and the cause in plain words. Error texts come from
//! the connection, hyper or the wire reader, never from a request's fields.

use http::uri::Authority;

use crate::body;
use crate::reject::Rejection;
use crate::upstream::Upstream;
use crate::upstream_pool::SendError;
use crate::upstream_wire::WireError;

/// The exchange that failed, as the warning names it.
pub struct Exchange<'a> {
    /// The upstream it went to.
    pub upstream: &'a Upstream,
    /// The address it went to.
    pub authority: &'a Authority,
    /// The request's id.
    pub request_id: &'a str,
}

/// No response head within the upstream's timeout.
pub fn timed_out(at: &Exchange<'_>) -> Rejection {
    tracing::warn!(
        request_id = %at.request_id,
        upstream = %at.upstream.name,
        address = %at.authority,
        timeout_ms = at.upstream.timeout.as_millis() as u64,
        "upstream failed: no response head in time"
    );
    Rejection::UpstreamTimeout
}

/// The exchange failed with `e` before a response head came back.
pub fn failed(at: &Exchange<'_>, e: &SendError) -> Rejection {
    if exceeded_body_limit(e) {
        // The client's streamed body passed `max_body_bytes` on the way up: the client's
        // fault, not the upstream's (the upstream never got it whole).
        return Rejection::BodyTooLarge;
    }
    if body::is_stalled(e) {
        return Rejection::BodyTimeout;
    }
    if body::is_client_failure(e) {
        // Malformed chunked framing (or a reset) from the client: its 400. The upstream
        // connection the half-sent request was on is dropped.
        return Rejection::MalformedBody;
    }
    tracing::warn!(
        request_id = %at.request_id,
        upstream = %at.upstream.name,
        address = %at.authority,
        cause = cause(e),
        error = %innermost(e),
        "upstream failed"
    );
    if matches!(e, SendError::Connect(_)) {
        Rejection::UpstreamUnreachable
    } else {
        Rejection::UpstreamFailed
    }
}

/// Why an upstream exchange failed, in an operator's words: the I/O error kind found in the
/// error's source chain (`refused`, `timed out`, `reset`...), else what hyper said.
fn cause(e: &(dyn std::error::Error + 'static)) -> &'static str {
    use std::io::ErrorKind::*;
    let mut at = Some(e);
    while let Some(err) = at {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                ConnectionRefused => "refused",
                TimedOut => "timed out",
                ConnectionReset => "reset",
                ConnectionAborted => "aborted",
                BrokenPipe => "broken pipe",
                HostUnreachable | NetworkUnreachable => "unreachable",
                UnexpectedEof => "closed early",
                _ => "i/o error",
            };
        }
        if let Some(w) = err.downcast_ref::<WireError>() {
            return match w {
                WireError::Closed => "closed before a complete response",
                WireError::Malformed(_) => "unreadable response",
                WireError::BodyLength => "failed",
            };
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() {
                return "closed before a complete response";
            }
            if h.is_parse() {
                return "unreadable response";
            }
            if h.is_timeout() {
                return "timed out";
            }
        }
        at = err.source();
    }
    "failed"
}

/// The last error of `e`'s source chain: the one that says what actually happened.
fn innermost<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> &'e (dyn std::error::Error + 'static) {
    let mut at = e;
    while let Some(next) = at.source() {
        at = next;
    }
    at
}

/// Whether sending failed because the request body passed the gateway's size limit
/// (`body::limited`), found anywhere in the error's source chain.
fn exceeded_body_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    body::caused_by::<http_body_util::LengthLimitError>(e)
}
