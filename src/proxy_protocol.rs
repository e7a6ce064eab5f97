//! PROXY protocol (v1 text and v2 binary, HAProxy's specification, parsed with `ppp`) on the
//! listeners that declare it: there it is required, never "used if present", read within its
//! own timeout, and the address it carries is the client address for logs, limits and the
//! forwarded headers. A `LOCAL` header (a balancer's health check) keeps the peer's address.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ppp::{HeaderResult, PartialResult, v1, v2};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The longest header read: v1's 107 bytes, v2's 16-byte preamble plus IPv6 addresses and room
/// for TLVs.
const MAX_HEADER: usize = 536;

/// Why a connection was dropped before its first request.
#[derive(Debug, thiserror::Error)]
pub enum ProxyHeaderError {
    /// No complete header within the timeout.
    #[error("no PROXY protocol header within {0:?}")]
    Timeout(Duration),
    /// The bytes are not a PROXY protocol header.
    #[error("not a PROXY protocol header")]
    Invalid,
    /// The connection failed or closed first.
    #[error("connection closed before the PROXY protocol header: {0}")]
    Io(#[from] std::io::Error),
}

/// Read the header at the start of `stream`, consuming exactly its bytes; the client address
/// it names (`None` for `LOCAL` or an unknown family: keep the peer).
pub async fn read(
    stream: &mut TcpStream,
    limit: Duration,
) -> Result<Option<SocketAddr>, ProxyHeaderError> {
    tokio::time::timeout(limit, read_header(stream))
        .await
        .map_err(|_| ProxyHeaderError::Timeout(limit))?
}

async fn read_header(stream: &mut TcpStream) -> Result<Option<SocketAddr>, ProxyHeaderError> {
    let mut buf = vec![0u8; MAX_HEADER];
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Err(ProxyHeaderError::Io(
                std::io::ErrorKind::UnexpectedEof.into(),
            ));
        }
        let (len, addr) = match HeaderResult::parse(&buf[..n]) {
            HeaderResult::V1(Ok(h)) => (h.header.len(), v1_source(&h)),
            HeaderResult::V2(Ok(h)) => (h.header.len(), v2_source(&h)),
            r @ (HeaderResult::V1(Err(_)) | HeaderResult::V2(Err(_))) => {
                if r.is_incomplete() && n < MAX_HEADER {
                    // Wait for more bytes than the ones already peeked.
                    stream.readable().await?;
                    tokio::task::yield_now().await;
                    continue;
                }
                return Err(ProxyHeaderError::Invalid);
            }
        };
        let mut header = vec![0u8; len];
        stream.read_exact(&mut header).await?;
        return Ok(addr);
    }
}

fn v1_source(h: &v1::Header<'_>) -> Option<SocketAddr> {
    match h.addresses {
        v1::Addresses::Tcp4(a) => {
            Some(SocketAddr::new(IpAddr::V4(a.source_address), a.source_port))
        }
        v1::Addresses::Tcp6(a) => {
            Some(SocketAddr::new(IpAddr::V6(a.source_address), a.source_port))
        }
        v1::Addresses::Unknown => None,
    }
}

fn v2_source(h: &v2::Header<'_>) -> Option<SocketAddr> {
    if h.command == v2::Command::Local {
        return None;
    }
    match h.addresses {
        v2::Addresses::IPv4(a) => {
            Some(SocketAddr::new(IpAddr::V4(a.source_address), a.source_port))
        }
        v2::Addresses::IPv6(a) => {
            Some(SocketAddr::new(IpAddr::V6(a.source_address), a.source_port))
        }
        v2::Addresses::Unspecified | v2::Addresses::Unix(_) => None,
    }
}
