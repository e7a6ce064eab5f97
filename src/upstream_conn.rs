//! Upstream connections: a TCP stream, or TLS over one, opened to an upstream's address
//! (`Connector`), and its read buffer (`Conn`); the idle ones a worker keeps for reuse are in
//! `upstream_parked`.
//!
//! A connection is parked only between exchanges, with nothing unread; one the upstream closed
//! while it waited (or that holds bytes nobody asked for) is dropped at the next checkout
//! (`Conn::is_open`), and one idle longer than the idle timeout too (below the keep-alive
//! timeout of common upstream servers, so the upstream does not close it under a request).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use http::uri::{Authority, Scheme};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::body::BoxError;

/// A connection's bytes: plain TCP or TLS.
#[derive(Debug)]
pub enum Stream {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<TlsStream<TcpStream>>),
}

/// An open connection and what was read from it but not yet used.
#[derive(Debug)]
pub struct Conn {
    /// The stream.
    pub stream: Stream,
    /// Bytes read and not yet consumed.
    pub buf: BytesMut,
    /// The upstream it goes to.
    pub scheme: Scheme,
    /// The upstream it goes to.
    pub authority: Authority,
}

/// Opens connections.
#[derive(Clone)]
pub struct Connector {
    tls: TlsConnector,
    connect_timeout: Duration,
}

impl Connector {
    /// Connections that give up on an address after `connect_timeout`, and speak HTTP/1.1
    /// over `tls` to `https://` upstreams.
    pub fn new(connect_timeout: Duration, mut tls: rustls::ClientConfig) -> Self {
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            tls: TlsConnector::from(Arc::new(tls)),
            connect_timeout,
        }
    }

    /// A new connection to (scheme, authority): each resolved address in turn.
    pub async fn connect(&self, scheme: &Scheme, authority: &Authority) -> Result<Conn, BoxError> {
        let https = *scheme == Scheme::HTTPS;
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        let mut tcp = None;
        for addr in tokio::net::lookup_host((host, port)).await? {
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    tcp = Some(s);
                    break;
                }
                Ok(Err(e)) => last = e,
                Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
            }
        }
        let tcp = tcp.ok_or(last)?;
        tcp.set_nodelay(true)?;
        let stream = match https {
            false => Stream::Plain(tcp),
            true => {
                let name = ServerName::try_from(host.to_owned())?;
                Stream::Tls(Box::new(self.tls.connect(name, tcp).await?))
            }
        };
        Ok(Conn {
            stream,
            buf: BytesMut::new(),
            scheme: scheme.clone(),
            authority: authority.clone(),
        })
    }
}

impl Conn {
    /// Whether the connection can take another request: the upstream has not closed it and
    /// sent nothing since (checked without waiting).
    pub(crate) fn is_open(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut byte = [0u8; 1];
        let mut read = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(Waker::noop());
        matches!(
            Pin::new(&mut self.stream).poll_read(&mut cx, &mut read),
            Poll::Pending
        )
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, b),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, b),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
