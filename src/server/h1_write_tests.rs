use std::collections::VecDeque;
use std::task::Context;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Frame, SizeHint};

use super::*;

/// A body of the given frames, of unknown size; `Err` frames fail it.
struct Frames(VecDeque<Result<&'static str, ()>>);

impl hyper::body::Body for Frames {
    type Data = Bytes;
    type Error = crate::body::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(|f| match f {
            Ok(s) => Ok(Frame::data(Bytes::from_static(s.as_bytes()))),
            Err(()) => Err("broken".into()),
        }))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

fn streamed(frames: &[Result<&'static str, ()>]) -> Body {
    Frames(frames.iter().copied().collect()).boxed()
}

async fn wire(resp: Response<Body>, close: bool) -> (String, bool) {
    let mut io = Vec::new();
    let mut out = Vec::new();
    let again = response(&mut io, &mut out, resp, close).await;
    (String::from_utf8(io).unwrap(), again)
}

fn without_date(text: &str) -> String {
    text.split("\r\n")
        .filter(|l| !l.starts_with("date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[tokio::test]
async fn a_whole_body_gets_its_length_and_a_date() {
    let resp = Response::builder()
        .header("x-request-id", "r1")
        .body(crate::body::full("hello"))
        .unwrap();
    let (text, again) = wire(resp, false).await;
    assert!(again);
    assert!(
        text.contains("\r\ndate: ") && text.ends_with(" GMT\r\n\r\nhello"),
        "{text}"
    );
    assert_eq!(
        without_date(&text),
        "HTTP/1.1 200 OK\r\nx-request-id: r1\r\ncontent-length: 5\r\n\r\nhello"
    );
}

#[tokio::test]
async fn a_declared_length_is_kept_and_a_date_given_is_not_doubled() {
    let resp = Response::builder()
        .status(404)
        .header("content-length", "3")
        .header("date", "Tue, 01 Dec 2026 21:48:51 GMT")
        .body(streamed(&[Ok("a"), Ok("bc")]))
        .unwrap();
    let (text, again) = wire(resp, false).await;
    assert!(again);
    assert_eq!(
        text,
        "HTTP/1.1 404 Not Found\r\ndate: Tue, 01 Dec 2026 21:48:51 GMT\r\ncontent-length: 3\r\n\r\nabc"
    );
}

#[tokio::test]
async fn a_body_of_unknown_size_is_chunked_and_a_foreign_framing_field_dropped() {
    let resp = Response::builder()
        .header("transfer-encoding", "gzip")
        .body(streamed(&[Ok("abc"), Ok(""), Ok("0123456789abcdef")]))
        .unwrap();
    let (text, again) = wire(resp, false).await;
    assert!(again);
    assert_eq!(
        without_date(&text),
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
    );
}

#[tokio::test]
async fn no_content_and_not_modified_carry_no_body() {
    for (status, line) in [(204, "204 No Content"), (304, "304 Not Modified")] {
        let resp = Response::builder()
            .status(status)
            .body(crate::body::full("ignored"))
            .unwrap();
        let (text, again) = wire(resp, false).await;
        assert!(again);
        assert_eq!(without_date(&text), format!("HTTP/1.1 {line}\r\n\r\n"));
    }
}

#[tokio::test]
async fn closing_is_said_and_ends_the_connection() {
    let (text, again) = wire(Response::new(crate::body::empty()), true).await;
    assert!(!again);
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    let asked = Response::builder()
        .header("connection", "keep-alive, close")
        .body(crate::body::empty())
        .unwrap();
    let (text, again) = wire(asked, false).await;
    assert!(!again);
    assert_eq!(text.matches("connection:").count(), 1, "{text}");
}

#[tokio::test]
async fn a_failing_or_short_or_long_body_ends_the_connection_after_what_was_sent() {
    let failing = Response::new(streamed(&[Ok("abc"), Err(())]));
    let (text, again) = wire(failing, false).await;
    assert!(!again);
    assert!(text.ends_with("\r\n\r\n3\r\nabc\r\n"), "{text}");
    for frames in [&[Ok("ab")][..], &[Ok("abcd")][..]] {
        let resp = Response::builder()
            .header("content-length", "3")
            .body(streamed(frames))
            .unwrap();
        let (text, again) = wire(resp, false).await;
        assert!(!again, "{text}");
        assert!(!text.contains("abcd"), "{text}");
    }
}
