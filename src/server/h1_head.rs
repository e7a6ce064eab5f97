//! Reading one HTTP/1.1 request head for the plain server (`h1`), and deciding whether the plain
//! server may serve it at all.
//!
//! The plain server takes only the common request: HTTP/1.1, an origin-form target without
//! `#`, no body (neither `Content-Length` nor `Transfer-Encoding`), no `Expect`, no `Upgrade`,
//! `Connection` absent or exactly `keep-alive` or `close`, a method other than `HEAD` and
//! `CONNECT`, a head within the byte limit that httparse reads and whose every name and value
//! `http` accepts. Anything else is `Head::Other`: the connection goes to hyper with the bytes
//! read so far, and hyper answers it (its 400 and 431 included) exactly as it would have without
//! this server in front.
//!
//! The head's bytes are frozen once and every field value, and the target, are slices of them:
//! one reference count, no copy. Public for the `request_head` fuzz target.

use std::mem::MaybeUninit;
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri, Version};

use crate::incoming::Incoming;

/// Most fields the plain server reads in a head; a head with more goes to hyper, which applies
/// the configured limit.
const MOST_FIELDS: usize = 100;

/// What the bytes read so far hold.
// Made once per request and matched at once: a box would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum Head {
    /// A whole request the plain server serves, taken out of the buffer; `close` when the client
    /// asked for the connection to close after it.
    Request {
        /// The request, with an empty body.
        request: Request<Incoming>,
        /// `Connection: close`.
        close: bool,
    },
    /// Not a whole head yet.
    Partial,
    /// Anything the plain server does not serve; nothing was taken out of the buffer.
    Other,
}

/// Where a head's fields are (name and value), as offsets into the buffer.
type Fields = Vec<(Range<usize>, Range<usize>)>;

/// Where the other parts of a head are, as offsets into the buffer.
struct Spans {
    method: Range<usize>,
    target: Range<usize>,
    close: bool,
    len: usize,
}

/// Reads heads, one connection's after another; keeps its room for the fields' places.
#[derive(Debug, Default)]
pub struct Reader {
    fields: Fields,
}

impl Reader {
    /// Read a head at the start of `buf`, allowing at most `max_fields` fields and `max_bytes`
    /// bytes (a larger head, even whole, is hyper's to refuse).
    pub fn read(&mut self, buf: &mut BytesMut, max_fields: usize, max_bytes: usize) -> Head {
        read(buf, max_fields, max_bytes, &mut self.fields)
    }
}

fn read(buf: &mut BytesMut, max_fields: usize, max_bytes: usize, fields: &mut Fields) -> Head {
    fields.clear();
    let spans = match spans(buf, max_fields.min(MOST_FIELDS), fields) {
        Ok(Some(s)) if s.len <= max_bytes => s,
        Ok(Some(_)) | Err(()) => return Head::Other,
        Ok(None) => return Head::Partial,
    };
    let Ok(method) = Method::from_bytes(&buf[spans.method.clone()]) else {
        return Head::Other;
    };
    let head = buf.split_to(spans.len).freeze();
    match build(&head, method, &spans, fields) {
        Some(request) => Head::Request {
            request,
            close: spans.close,
        },
        // Put the head back in front: hyper reads it from the start.
        None => {
            let rest = buf.split();
            buf.extend_from_slice(&head);
            buf.extend_from_slice(&rest);
            Head::Other
        }
    }
}

/// The head's spans, `None` if it is not whole yet, `Err` if the plain server does not serve it.
fn spans(buf: &[u8], max_fields: usize, spans: &mut Fields) -> Result<Option<Spans>, ()> {
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MOST_FIELDS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut fields[..max_fields]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    if req.version != Some(1) {
        return Err(());
    }
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Err(());
    };
    // A `#` has no place in a request target; `Uri` would drop it and what follows.
    if matches!(method, "HEAD" | "CONNECT") || !target.starts_with('/') || target.contains('#') {
        return Err(());
    }
    let at = |s: &[u8]| {
        let start = s.as_ptr() as usize - buf.as_ptr() as usize;
        start..start + s.len()
    };
    let mut close = false;
    for f in req.headers.iter() {
        let name = f.name.as_bytes();
        if is_named(name, "connection") {
            match f.value {
                v if v.eq_ignore_ascii_case(b"close") => close = true,
                v if v.eq_ignore_ascii_case(b"keep-alive") => {}
                _ => return Err(()),
            }
        } else if ["content-length", "transfer-encoding", "expect", "upgrade"]
            .iter()
            .any(|n| is_named(name, n))
        {
            return Err(());
        }
        spans.push((at(name), at(f.value)));
    }
    Ok(Some(Spans {
        method: at(method.as_bytes()),
        target: at(target.as_bytes()),
        close,
        len,
    }))
}

fn is_named(name: &[u8], lower: &str) -> bool {
    name.eq_ignore_ascii_case(lower.as_bytes())
}

/// The request the spans describe, its target and values slices of `head`.
fn build(head: &Bytes, method: Method, spans: &Spans, at: &Fields) -> Option<Request<Incoming>> {
    let uri = Uri::from_maybe_shared(head.slice(spans.target.clone())).ok()?;
    let mut fields = HeaderMap::with_capacity(at.len());
    for (name, value) in at {
        let name = HeaderName::from_bytes(&head[name.clone()]).ok()?;
        let value = HeaderValue::from_maybe_shared(head.slice(value.clone())).ok()?;
        fields.append(name, value);
    }
    let mut request = Request::new(Incoming::Empty);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = fields;
    Some(request)
}

#[cfg(test)]
#[path = "h1_head_tests.rs"]
mod tests;
