//! Request heads: bytes as a client sends them → `server::h1_head::Reader`, whole and fed in
//! pieces.
//!
//! The first byte picks the piece size; the rest is the client's. What must hold: no panic; a
//! head the plain server takes is taken from the front of the buffer, which keeps exactly the
//! bytes after it, and httparse reads the same bytes as one whole head with the same method,
//! target and fields; it is HTTP/1.1 without body framing, `Expect` or `Upgrade`; a head left
//! for hyper, or not yet whole, leaves the buffer as it was; and fed in pieces the same bytes
//! give the same outcome as whole, as soon as the head is whole.

use bytes::BytesMut;
use portcullis::server::h1_head::{Head, Reader};

/// The most fields the server reads by default.
const FIELDS: usize = 100;
/// The largest head it reads by default.
const BYTES: usize = 16 * 1024;

/// Check one input.
pub fn run(data: &[u8]) {
    let Some((&pick, wire)) = data.split_first() else {
        return;
    };
    let piece = usize::from(pick).max(1);
    let mut whole = BytesMut::from(wire);
    let outcome = Reader::default().read(&mut whole, FIELDS, BYTES);
    let taken = wire.len() - whole.len();
    match &outcome {
        Head::Request { request, close } => {
            assert!(wire.ends_with(&whole), "the head is taken from the front");
            agrees_with_httparse(&wire[..taken], request, *close);
        }
        Head::Partial | Head::Other => assert_eq!(&whole[..], wire, "the buffer is left alone"),
    }
    // In pieces: Partial until the head is whole, then the same outcome.
    let mut buf = BytesMut::new();
    let mut reader = Reader::default();
    let mut fed = 0;
    for chunk in wire.chunks(piece) {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        let before = buf.clone();
        match reader.read(&mut buf, FIELDS, BYTES) {
            Head::Partial => assert_eq!(buf, before, "a partial head is left alone"),
            Head::Other => {
                assert!(
                    matches!(outcome, Head::Other),
                    "left for hyper only in pieces"
                );
                assert_eq!(buf, before);
                return;
            }
            Head::Request { request, close } => {
                let Head::Request {
                    request: r,
                    close: c,
                } = &outcome
                else {
                    panic!("taken only in pieces");
                };
                assert_eq!(fed - buf.len(), taken, "the same head is taken");
                assert_eq!(request.method(), r.method());
                assert_eq!(request.uri(), r.uri());
                assert_eq!(request.headers(), r.headers());
                assert_eq!(close, *c);
                return;
            }
        }
    }
    assert!(
        matches!(outcome, Head::Partial),
        "whole it was decided, in pieces it stayed partial"
    );
}

/// httparse reads `head` as exactly one whole head, with the request's method, target and
/// fields, and none the plain server leaves to hyper.
fn agrees_with_httparse(
    head: &[u8],
    request: &http::Request<portcullis::incoming::Incoming>,
    close: bool,
) {
    let mut fields = [httparse::EMPTY_HEADER; FIELDS];
    let mut parsed = httparse::Request::new(&mut fields);
    assert_eq!(
        parsed.parse(head),
        Ok(httparse::Status::Complete(head.len()))
    );
    assert_eq!(parsed.version, Some(1));
    assert_eq!(Some(request.method().as_str()), parsed.method);
    assert_eq!(Some(request.uri().to_string().as_str()), parsed.path);
    let mut ours: Vec<(String, Vec<u8>)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let mut theirs: Vec<(String, Vec<u8>)> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    for (name, value) in &theirs {
        assert!(
            !["content-length", "transfer-encoding", "expect", "upgrade"].contains(&name.as_str()),
            "{name} is hyper's"
        );
        if name == "connection" {
            assert!(
                value.eq_ignore_ascii_case(b"close") || value.eq_ignore_ascii_case(b"keep-alive")
            );
        }
    }
    let asked = theirs
        .iter()
        .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case(b"close"));
    assert_eq!(close, asked);
    assert!(!matches!(request.method().as_str(), "HEAD" | "CONNECT"));
}
