//! Upstream responses: bytes as what an upstream sends back → `upstream_wire::response_head`,
//! then a chunked body through `upstream_chunked::Chunked`, fed in pieces.
//!
//! The first byte picks the request method (HEAD when odd) and the piece size (the rest of its
//! bits); the remaining bytes are the upstream's. What must hold: no panic; a complete head is
//! taken from the front of the buffer, which keeps exactly the bytes after it; a refused head
//! leaves the buffer as it was. A chunked body never yields more bytes than were fed, asks for
//! more only once it used every byte it had, and once the body ended the bytes after it stay in the
//! buffer untouched.

use bytes::BytesMut;
use http::Method;
use portcullis::upstream_chunked::{Chunked, Step};
use portcullis::upstream_wire::{self, Delimited};

/// Check one input.
pub fn run(data: &[u8]) {
    let Some((&pick, wire)) = data.split_first() else {
        return;
    };
    let method = if pick & 1 == 1 {
        Method::HEAD
    } else {
        Method::GET
    };
    let piece = usize::from(pick >> 1).max(1);
    let mut buf = BytesMut::from(wire);
    let head = match upstream_wire::response_head(&mut buf, &method) {
        Ok(Some(head)) => head,
        Ok(None) | Err(_) => {
            assert!(
                wire.ends_with(&buf),
                "an unfinished or refused head keeps its bytes"
            );
            return;
        }
    };
    assert!(wire.ends_with(&buf), "the head is taken from the front");
    if method == Method::HEAD {
        assert_eq!(head.body, Delimited::Empty, "a HEAD response has no body");
    }
    if head.body != Delimited::Chunked {
        return;
    }
    let body = buf.split().freeze();
    let mut dec = Chunked::default();
    let (mut fed, mut out) = (0, 0);
    loop {
        match dec.step(&mut buf) {
            Err(_) => return,
            Ok(Step::Data(d)) => {
                assert!(!d.is_empty(), "data steps carry bytes");
                out += d.len();
                assert!(out <= fed, "more data out than bytes in");
            }
            Ok(Step::Done) => {
                assert!(dec.is_done());
                assert!(body[..fed].ends_with(&buf), "bytes after the body stay");
                return;
            }
            Ok(Step::NeedMore) => {
                assert!(
                    buf.is_empty(),
                    "the decoder asks for more only when it used all"
                );
                if fed == body.len() {
                    return;
                }
                let end = (fed + piece).min(body.len());
                buf.extend_from_slice(&body[fed..end]);
                fed = end;
            }
        }
    }
}
