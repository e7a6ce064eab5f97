//! Chunked response bodies from upstreams (RFC 9112 §7.1), decoded strictly.
//!
//! A size line is hex digits (at most 16), optional extensions (skipped, at most 4 KiB), then
//! CRLF; each chunk's data ends with CRLF; the last chunk (size 0) may be followed by trailer
//! lines (read and dropped, at most 16 KiB), then an empty line. Anything else — a bare LF, a
//! missing CRLF after data, a size that overflows — is an error, and the connection is never
//! used again: a decoder that guessed could hand one response's bytes to the next request.

use bytes::{Buf, Bytes, BytesMut};

/// Longest chunk extension accepted on one size line.
const MAX_EXTENSION: usize = 4096;
/// Most trailer bytes accepted after the last chunk.
const MAX_TRAILERS: usize = 16 * 1024;

/// What the decoder found in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Body bytes.
    Data(Bytes),
    /// The buffer holds no complete next item: read more.
    NeedMore,
    /// The body ended (the last chunk and the trailers were read).
    Done,
}

/// Malformed chunked framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked body from the upstream: {0}")]
pub struct ChunkError(&'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the size's hex digits.
    Size { value: u64, digits: u8 },
    /// After the size: spaces or extensions until CR.
    Extension { size: u64, len: usize },
    /// CR seen after the size line.
    SizeLf { size: u64 },
    /// Inside a chunk's data.
    Data { left: u64 },
    /// After a chunk's data: CR expected.
    DataCr,
    /// After a chunk's data: LF expected.
    DataLf,
    /// Trailer lines after the last chunk.
    Trailer { line: usize, total: usize },
    /// CR seen in the trailer section.
    TrailerLf { line: usize, total: usize },
    /// The body ended.
    Done,
}

/// An incremental decoder: feed it the connection's read buffer, it takes what it uses.
#[derive(Debug, Clone)]
pub struct Chunked {
    state: State,
}

impl Default for Chunked {
    fn default() -> Self {
        Self {
            state: State::Size {
                value: 0,
                digits: 0,
            },
        }
    }
}

impl Chunked {
    /// Whether the last chunk and the trailers were read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Take the next data, or framing, from the front of `buf`.
    pub fn step(&mut self, buf: &mut BytesMut) -> Result<Step, ChunkError> {
        let mut used = 0;
        let step = loop {
            if let State::Data { left } = self.state {
                // Bytes before the data are framing: drop them, then split the data off whole.
                buf.advance(used);
                if buf.is_empty() {
                    return Ok(Step::NeedMore);
                }
                let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
                let data = buf.split_to(n).freeze();
                self.state = match left - n as u64 {
                    0 => State::DataCr,
                    left => State::Data { left },
                };
                return Ok(Step::Data(data));
            }
            if self.state == State::Done {
                break Step::Done;
            }
            let Some(&b) = buf.get(used) else {
                break Step::NeedMore;
            };
            used += 1;
            self.state = self.next(b)?;
        };
        buf.advance(used);
        Ok(step)
    }

    /// The state after byte `b` (never called in `Data` or `Done`).
    fn next(&self, b: u8) -> Result<State, ChunkError> {
        Ok(match self.state {
            State::Size { value, digits } => match (b as char).to_digit(16) {
                Some(d) if digits < 16 => State::Size {
                    value: value << 4 | u64::from(d),
                    digits: digits + 1,
                },
                Some(_) => return Err(ChunkError("chunk size too large")),
                None if digits == 0 => return Err(ChunkError("expected a chunk size")),
                None if b == b'\r' => State::SizeLf { size: value },
                None if b == b';' || b == b' ' || b == b'\t' => State::Extension {
                    size: value,
                    len: 0,
                },
                None => return Err(ChunkError("unexpected byte in a chunk size")),
            },
            State::Extension { size, len } => match b {
                b'\r' => State::SizeLf { size },
                b'\n' | 0..=8 | 10..=31 | 127 => {
                    return Err(ChunkError("unexpected byte in a chunk extension"));
                }
                _ if len >= MAX_EXTENSION => return Err(ChunkError("chunk extension too long")),
                _ => State::Extension { size, len: len + 1 },
            },
            State::SizeLf { size } => match (b, size) {
                (b'\n', 0) => State::Trailer { line: 0, total: 0 },
                (b'\n', left) => State::Data { left },
                _ => return Err(ChunkError("expected LF after a chunk size")),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                _ => return Err(ChunkError("expected CRLF after chunk data")),
            },
            State::DataLf => match b {
                b'\n' => State::Size {
                    value: 0,
                    digits: 0,
                },
                _ => return Err(ChunkError("expected CRLF after chunk data")),
            },
            State::Trailer { line, total } => match b {
                _ if total >= MAX_TRAILERS => return Err(ChunkError("trailers too long")),
                b'\r' => State::TrailerLf { line, total },
                b'\n' => return Err(ChunkError("bare LF in trailers")),
                _ => State::Trailer {
                    line: line + 1,
                    total: total + 1,
                },
            },
            State::TrailerLf { line, total } => match (b, line) {
                (b'\n', 0) => State::Done,
                (b'\n', _) => State::Trailer {
                    line: 0,
                    total: total + 2,
                },
                _ => return Err(ChunkError("expected LF in trailers")),
            },
            State::Data { .. } | State::Done => unreachable!("handled by step"),
        })
    }
}

#[cfg(test)]
#[path = "upstream_chunked_tests.rs"]
mod tests;
