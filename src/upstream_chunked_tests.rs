use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

/// Feed `wire` to a decoder in pieces of `piece` bytes; the data, and what was left unread.
fn decode(wire: &[u8], piece: usize) -> Result<(Vec<u8>, Vec<u8>), ChunkError> {
    let mut dec = Chunked::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    loop {
        match dec.step(&mut buf)? {
            Step::Data(d) => out.extend_from_slice(&d),
            Step::Done => {
                assert!(dec.is_done());
                buf.extend_from_slice(&wire[fed..]);
                return Ok((out, buf.to_vec()));
            }
            Step::NeedMore => {
                if fed == wire.len() {
                    return Err(ChunkError("ran out"));
                }
                let end = (fed + piece).min(wire.len());
                buf.extend_from_slice(&wire[fed..end]);
                fed = end;
            }
        }
    }
}

fn encode(chunks: &[Vec<u8>], trailers: &str) -> Vec<u8> {
    let mut w = Vec::new();
    for c in chunks.iter().filter(|c| !c.is_empty()) {
        w.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        w.extend_from_slice(c);
        w.extend_from_slice(b"\r\n");
    }
    w.extend_from_slice(format!("0\r\n{trailers}\r\n").as_bytes());
    w
}

#[test]
fn decodes_sizes_extensions_and_trailers_in_any_split() {
    let wire =
        b"5;name=value\r\nhello\r\nA \r\n0123456789\r\n000\r\nExpires: never\r\nX: y\r\n\r\nNEXT";
    for piece in [1, 2, 3, 7, 64, 1000] {
        let (data, rest) = decode(wire, piece).unwrap();
        assert_eq!(data, b"hello0123456789", "piece {piece}");
        assert_eq!(
            rest, b"NEXT",
            "piece {piece}: bytes after the body stay for the caller"
        );
    }
}

#[test]
fn refuses_framing_it_would_have_to_guess_at() {
    for (wire, why) in [
        (&b"5\nhello\r\n0\r\n\r\n"[..], "bare LF after the size"),
        (b"5\r\nhelloX\r\n0\r\n\r\n", "data longer than the size"),
        (b"5\r\nhello\n0\r\n\r\n", "bare LF after the data"),
        (b"\r\nhello\r\n0\r\n\r\n", "no size"),
        (b"-5\r\nhello\r\n0\r\n\r\n", "a sign"),
        (b"0x5\r\nhello\r\n0\r\n\r\n", "a 0x prefix"),
        (b"10000000000000000\r\n", "17 hex digits"),
        (b"5;a\nb\r\nhello\r\n0\r\n\r\n", "LF inside an extension"),
        (b"5;a\0\r\nhello\r\n0\r\n\r\n", "NUL inside an extension"),
        (b"0\r\nX: y\n\r\n", "bare LF in the trailers"),
        (b"0\r\n\rX", "CR without LF ending the trailers"),
    ] {
        assert!(decode(wire, 1).is_err(), "{why}");
        assert!(decode(wire, 100).is_err(), "{why}");
    }
}

#[test]
fn bounds_extensions_and_trailers() {
    let long_ext = format!("1;{}\r\na\r\n0\r\n\r\n", "x".repeat(MAX_EXTENSION + 1));
    assert_eq!(
        decode(long_ext.as_bytes(), 4096),
        Err(ChunkError("chunk extension too long"))
    );
    let long_trailers = format!("0\r\n{}\r\n\r\n", "X: y\r\n".repeat(MAX_TRAILERS / 6 + 1));
    assert_eq!(
        decode(long_trailers.as_bytes(), 4096),
        Err(ChunkError("trailers too long"))
    );
}

#[test]
fn the_largest_size_is_read_without_overflow() {
    let mut dec = Chunked::default();
    let mut buf = BytesMut::from(&b"ffffffffffffffff\r\nabc"[..]);
    assert_eq!(
        dec.step(&mut buf),
        Ok(Step::Data(Bytes::from_static(b"abc")))
    );
    assert_eq!(dec.step(&mut buf), Ok(Step::NeedMore));
}

proptest! {
    #[test]
    fn any_chunking_in_any_split_decodes_to_the_same_bytes(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8),
        piece in 1usize..50,
        trailer in proptest::option::of("[A-Za-z]{1,8}: [ -~]{0,12}"),
    ) {
        let trailers = trailer.map(|t| format!("{t}\r\n")).unwrap_or_default();
        let wire = encode(&chunks, &trailers);
        let mut wire_next = wire.clone();
        wire_next.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let (data, rest) = decode(&wire_next, piece).unwrap();
        prop_assert_eq!(data, chunks.concat());
        prop_assert_eq!(rest, b"HTTP/1.1 200 OK\r\n".to_vec());
    }

    #[test]
    fn no_input_panics(wire in proptest::collection::vec(any::<u8>(), 0..64), piece in 1usize..8) {
        let _ = decode(&wire, piece);
    }
}
