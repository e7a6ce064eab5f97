use bytes::BytesMut;
use http::{Method, Request};

use super::*;
use crate::body;

fn head(wire: &str, method: &Method) -> Result<Option<Head>, WireError> {
    let mut buf = BytesMut::from(wire.as_bytes());
    response_head(&mut buf, method)
}

fn delimited(wire: &str) -> Result<(Delimited, bool), WireError> {
    let h = head(wire, &Method::GET)?.expect("a complete head");
    Ok((h.body, h.keep_alive))
}

#[test]
fn response_bodies_are_delimited_as_rfc_9112_says() {
    for (wire, want) in [
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            (Delimited::Length(5), true),
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
            (Delimited::Length(5), true),
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            (Delimited::Empty, true),
        ),
        (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            (Delimited::Chunked, true),
        ),
        (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            (Delimited::Chunked, true),
        ),
        (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            (Delimited::Close, false),
        ),
        ("HTTP/1.1 200 OK\r\n\r\n", (Delimited::Close, false)),
        (
            "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
            (Delimited::Empty, true),
        ),
        (
            "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
            (Delimited::Empty, true),
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: Keep-Alive, close\r\n\r\n",
            (Delimited::Length(5), false),
        ),
        (
            "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n",
            (Delimited::Length(5), false),
        ),
    ] {
        assert_eq!(delimited(wire), Ok(want), "{wire:?}");
    }
    let h = head(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        &Method::HEAD,
    )
    .unwrap()
    .unwrap();
    assert_eq!(h.body, Delimited::Empty, "a HEAD response has no body");
    assert_eq!(
        h.response.headers()["content-length"],
        "5",
        "and keeps its length"
    );
}

#[test]
fn refuses_heads_a_proxy_would_have_to_guess_at() {
    for wire in [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 99 Odd\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
    ] {
        assert!(
            matches!(head(wire, &Method::GET), Err(WireError::Malformed(_))),
            "{wire:?}"
        );
    }
    let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "X: y\r\n".repeat(101));
    assert_eq!(
        head(&many, &Method::GET).err(),
        Some(WireError::Malformed("too many header fields"))
    );
    let huge = format!("HTTP/1.1 200 OK\r\nX: {}", "y".repeat(MAX_HEAD));
    assert_eq!(
        head(&huge, &Method::GET).err(),
        Some(WireError::Malformed("response head too large"))
    );
}

#[test]
fn interim_heads_are_skipped_and_the_body_stays_in_the_buffer() {
    let mut buf = BytesMut::from(
        &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\nokNEXT"[..],
    );
    let h = response_head(&mut buf, &Method::POST).unwrap().unwrap();
    assert_eq!(h.response.status(), 201);
    let xa: Vec<_> = h.response.headers().get_all("x-a").iter().collect();
    assert_eq!(xa, ["1", "2"]);
    assert_eq!(&buf[..], b"okNEXT");
    let mut partial = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Le"[..]);
    assert!(response_head(&mut partial, &Method::GET).unwrap().is_none());
    assert_eq!(
        partial.len(),
        27,
        "an incomplete head is left for the next read"
    );
}

#[test]
fn request_framing_follows_the_body() {
    let encode = |method: Method, headers: &[(&str, &str)], b: Body| {
        let mut req = Request::builder().method(method).uri("/not-this");
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let (parts, ()) = req.body(()).unwrap().into_parts();
        let mut out = Vec::new();
        let mut lines = Lines::default();
        crate::fields::Fields::set(&mut lines, &http::HeaderName::from_static("x-own"), "v")
            .unwrap();
        let framing = request_head(&parts, "/p?q=1", &b, &lines, &mut out);
        (framing, String::from_utf8(out).unwrap())
    };
    let (f, wire) = encode(Method::GET, &[("host", "a"), ("x-b", "1")], body::empty());
    assert_eq!(f, Framing::Empty);
    assert_eq!(
        wire, "GET /p?q=1 HTTP/1.1\r\nx-own: v\r\n\r\n",
        "the lines are the fields; the request's own are read for its length only"
    );
    let (f, wire) = encode(
        Method::POST,
        &[("transfer-encoding", "chunked")],
        body::full("abc"),
    );
    assert_eq!(f, Framing::Length(3));
    assert_eq!(
        wire,
        "POST /p?q=1 HTTP/1.1\r\nx-own: v\r\ncontent-length: 3\r\n\r\n"
    );
    let (f, _) = encode(Method::POST, &[("content-length", "3")], body::full("abc"));
    assert_eq!(f, Framing::Length(3));
    let (f, wire) = encode(Method::POST, &[("content-length", "0")], body::empty());
    assert_eq!(f, Framing::Empty);
    assert_eq!(
        wire,
        "POST /p?q=1 HTTP/1.1\r\nx-own: v\r\ncontent-length: 0\r\n\r\n"
    );
    let streamed = || http_body_util::BodyExt::boxed(Unknown);
    let (f, wire) = encode(Method::PUT, &[], streamed());
    assert_eq!(f, Framing::Chunked);
    assert_eq!(
        wire,
        "PUT /p?q=1 HTTP/1.1\r\nx-own: v\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let (f, _) = encode(Method::GET, &[], streamed());
    assert_eq!(
        f,
        Framing::Empty,
        "hyper's rule: GET, HEAD and CONNECT send no guessed body"
    );
}

/// A body whose length nobody knows yet.
struct Unknown;

impl hyper::body::Body for Unknown {
    type Data = bytes::Bytes;
    type Error = crate::body::BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Pending
    }
}
