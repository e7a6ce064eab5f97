//! The HTTP/1.1 wire toward upstreams: the request head the gateway writes and how its body is
//! framed (`request_head`), and the response head it reads and what follows it
//! (`response_head`, RFC 9112 §6.3).
//!
//! Reading is strict: httparse's defaults (no folded lines, no spaces before a colon), at most
//! 100 fields and 64 KiB of head, one `Content-Length` value, and a response carrying both
//! `Transfer-Encoding` and `Content-Length` is refused (RFC 9112 §6.3 calls it a smuggling
//! attempt), as is a `101` nobody asked for. When in doubt the connection is not reused.

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, HeaderName, HeaderValue, TRANSFER_ENCODING};
use http::request::Parts;
use http::{HeaderMap, Method, Response, StatusCode, Version};
use hyper::body::Body as _;

use crate::body::Body;
use crate::fields::Lines;

/// Most header fields in a response head.
const MAX_HEADERS: usize = 100;
/// Largest response head.
pub const MAX_HEAD: usize = 64 * 1024;

/// An upstream exchange that broke the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The upstream closed the connection before a complete response.
    #[error("the upstream closed the connection before a complete response")]
    Closed,
    /// The response could not be read.
    #[error("unreadable response from the upstream: {0}")]
    Malformed(&'static str),
    /// The request body did not match the framing its head announced.
    #[error("the request body did not match its Content-Length")]
    BodyLength,
}

/// How a request's body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body bytes.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked.
    Chunked,
}

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimited {
    /// No body (HEAD, 204, 304, or `Content-Length: 0`).
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the upstream closes the connection.
    Close,
}

/// A response head read from an upstream.
#[derive(Debug)]
pub struct Head {
    /// Status, version and fields.
    pub response: Response<()>,
    /// How its body is delimited.
    pub body: Delimited,
    /// Whether the connection may carry another request once the body is read.
    pub keep_alive: bool,
}

/// Frame `body` as hyper's client does (a `Content-Length` the request carries, else the
/// body's known length, else chunked — or nothing for GET, HEAD and CONNECT) and write the head
/// into `out`: `METHOD target HTTP/1.1`, `lines` (every field but the framing ones), then the
/// framing field. The request's own fields are read for its `Content-Length` only.
pub fn request_head(
    parts: &Parts,
    target: &str,
    body: &Body,
    lines: &Lines,
    out: &mut Vec<u8>,
) -> Framing {
    let declared = content_length(&parts.headers).ok().flatten();
    let framing = if body.is_end_stream() {
        Framing::Empty
    } else if let Some(n) = declared.or(body.size_hint().exact()) {
        Framing::Length(n)
    } else if matches!(parts.method, Method::GET | Method::HEAD | Method::CONNECT) {
        Framing::Empty
    } else {
        Framing::Chunked
    };
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    out.extend_from_slice(lines.as_bytes());
    let mut digits = itoa::Buffer::new();
    let length = match framing {
        Framing::Length(n) => Some(n),
        // A declared empty body stays declared (a POST of nothing says so).
        Framing::Empty => declared.map(|_| 0),
        Framing::Chunked => {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            None
        }
    };
    if let Some(n) = length {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(digits.format(n).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    framing
}

/// The single `Content-Length` of `h`, if any (repeated identical values are one); `Err` for
/// anything else.
fn content_length(h: &HeaderMap) -> Result<Option<u64>, WireError> {
    let mut found = None;
    for v in h.get_all(CONTENT_LENGTH) {
        length_value(v.as_bytes(), &mut found)?;
    }
    Ok(found)
}

/// Fold one `Content-Length` value (a list of lengths) into `found`: every length in digits and
/// all of them equal.
fn length_value(v: &[u8], found: &mut Option<u64>) -> Result<(), WireError> {
    for part in v.split(|&b| b == b',') {
        let part = part.trim_ascii();
        let n = match part {
            [] => None,
            _ if part.len() <= 19 && part.iter().all(u8::is_ascii_digit) => {
                std::str::from_utf8(part).ok().and_then(|s| s.parse().ok())
            }
            _ => None,
        }
        .ok_or(WireError::Malformed("invalid Content-Length"))?;
        match *found {
            Some(m) if m != n => return Err(WireError::Malformed("conflicting Content-Length")),
            _ => *found = Some(n),
        }
    }
    Ok(())
}

/// What a response head's fields say about its body and connection, gathered while the fields
/// are read (one pass, no lookup by name afterwards).
#[derive(Default)]
struct Said {
    /// `Content-Length` was present, its value, and why it could not be read (an error only
    /// when the body's length is needed).
    length_field: bool,
    length: Option<u64>,
    length_error: Option<WireError>,
    /// `Transfer-Encoding` was present, and whether its last coding is `chunked`.
    coding_field: bool,
    last_coding_chunked: Option<bool>,
    /// A `Connection` value holds `close`.
    close: bool,
}

impl Said {
    /// Take note of one field.
    fn field(&mut self, name: &HeaderName, value: &[u8]) {
        if name == CONTENT_LENGTH {
            self.length_field = true;
            if let Err(e) = length_value(value, &mut self.length) {
                self.length_error.get_or_insert(e);
            }
        } else if name == TRANSFER_ENCODING {
            self.coding_field = true;
            for t in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                if !t.is_empty() {
                    self.last_coding_chunked = Some(t.eq_ignore_ascii_case(b"chunked"));
                }
            }
        } else if name == CONNECTION {
            self.close |= value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
    }

    /// Whether the last transfer coding is `chunked`, if `Transfer-Encoding` was present.
    fn chunked(&self) -> Result<Option<bool>, WireError> {
        match (self.coding_field, self.last_coding_chunked) {
            (true, None) => Err(WireError::Malformed("empty Transfer-Encoding")),
            (_, last) => Ok(last),
        }
    }
}

/// Read a response head from the front of `buf`: `Ok(None)` while it is incomplete; `1xx`
/// heads other than `101` are consumed and skipped. On success the head's bytes are taken from
/// `buf`, which keeps what follows (the body's first bytes).
pub fn response_head(buf: &mut BytesMut, method: &Method) -> Result<Option<Head>, WireError> {
    loop {
        if buf.is_empty() {
            return Ok(None);
        }
        // Left uninitialized: 100 empty fields are 3 KiB to write before every parse.
        let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut []);
        let config = httparse::ParserConfig::default();
        let len = match config.parse_response_with_uninit_headers(&mut parsed, buf, &mut fields) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
                return Err(WireError::Malformed("response head too large"));
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(WireError::Malformed("too many header fields"));
            }
            Err(_) => return Err(WireError::Malformed("invalid response head")),
        };
        let code = parsed.code.unwrap_or_default();
        let status =
            StatusCode::from_u16(code).map_err(|_| WireError::Malformed("invalid status code"))?;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(WireError::Malformed("unrequested protocol switch"));
        }
        if status.is_informational() {
            buf.advance(len);
            continue;
        }
        let version = match parsed.version {
            Some(1) => Version::HTTP_11,
            _ => Version::HTTP_10,
        };
        // Field values are slices of the head's bytes, as hyper keeps them: no copy each.
        let spans: Vec<(HeaderName, usize, usize)> = parsed
            .headers
            .iter()
            .map(|f| {
                let name = HeaderName::from_bytes(f.name.as_bytes())
                    .map_err(|_| WireError::Malformed("invalid field name"))?;
                let start = f.value.as_ptr() as usize - buf.as_ptr() as usize;
                Ok((name, start, start + f.value.len()))
            })
            .collect::<Result<_, WireError>>()?;
        let head = buf.split_to(len).freeze();
        // Room for the fields the gateway adds to a response (request id, rate-limit advice),
        // so adding them does not grow the map.
        let mut headers = HeaderMap::with_capacity(spans.len() + ADDED_TO_RESPONSE);
        let mut said = Said::default();
        for (name, start, end) in spans {
            let value = HeaderValue::from_maybe_shared(head.slice(start..end))
                .map_err(|_| WireError::Malformed("invalid field value"))?;
            said.field(&name, value.as_bytes());
            headers.append(name, value);
        }
        return head_of(status, version, headers, &said, method).map(Some);
    }
}

/// Most fields the gateway adds to an upstream's response: `X-Request-Id`, and `RateLimit`
/// with `RateLimit-Policy`.
const ADDED_TO_RESPONSE: usize = 3;

fn head_of(
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    said: &Said,
    method: &Method,
) -> Result<Head, WireError> {
    let chunked = match said.chunked()? {
        Some(_) if said.length_field => {
            return Err(WireError::Malformed(
                "both Transfer-Encoding and Content-Length",
            ));
        }
        chunked => chunked,
    };
    let body = if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Delimited::Empty
    } else {
        if let Some(e) = said.length_error {
            return Err(e);
        }
        match (chunked, said.length) {
            (Some(true), _) => Delimited::Chunked,
            (Some(false), _) => Delimited::Close,
            (None, Some(0)) => Delimited::Empty,
            (None, Some(n)) => Delimited::Length(n),
            (None, None) => Delimited::Close,
        }
    };
    let keep_alive = version == Version::HTTP_11 && !said.close && body != Delimited::Close;
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    Ok(Head {
        response,
        body,
        keep_alive,
    })
}

#[cfg(test)]
#[path = "upstream_wire_tests.rs"]
mod tests;
