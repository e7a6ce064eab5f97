//! A connection handed from the plain HTTP/1.1 server to hyper: the bytes the plain server read
//! but did not serve come first, then the socket, so hyper reads the connection from the start
//! of the request it is handed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes already read, then the stream.
#[derive(Debug)]
pub(super) struct Replay<S> {
    read: Bytes,
    stream: S,
}

impl<S> Replay<S> {
    /// `read` first, then `stream`.
    pub(super) fn new(read: Bytes, stream: S) -> Self {
        Self { read, stream }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read.has_remaining() {
            let n = this.read.len().min(buf.remaining());
            buf.put_slice(&this.read[..n]);
            this.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn the_bytes_read_come_first_then_the_stream_and_writes_go_through() {
        let (mut near, far) = tokio::io::duplex(64);
        let mut replay = Replay::new(Bytes::from_static(b"GET / HTTP/1.1\r\n"), far);
        near.write_all(b"Host: a\r\n\r\n").await.unwrap();
        let mut got = vec![0u8; 27];
        replay.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        replay.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        let mut back = vec![0u8; 17];
        near.read_exact(&mut back).await.unwrap();
        assert_eq!(back, b"HTTP/1.1 200 OK\r\n");
    }
}
