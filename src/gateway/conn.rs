//! What the gateway is told about where a request comes from and what it may carry: the
//! connection ([`Conn`]: peer, scheme, TLS facts, the listener's [`Role`] and hosts) and the
//! request limits from the boot settings ([`Limits`]), and whom the connection's client is
//! (`client_address`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;

use super::Gateway;
use crate::reject::Rejection;

/// Request limits from the boot settings.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body forwarded, in bytes.
    pub max_body_bytes: u64,
    /// Longest request target, in bytes.
    pub max_uri_bytes: usize,
    /// Most query parameters (PHP silently drops those past `max_input_vars`, 1000 by default).
    pub max_params: usize,
    /// Longest pause in a request body before it is refused (408).
    pub body_idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 << 20,
            max_uri_bytes: 8192,
            max_params: 1000,
            body_idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Facts about the connection a request came on.
#[derive(Debug, Clone)]
pub struct Conn {
    /// The client's address.
    pub peer: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// What the listener it came on is for.
    pub role: Role,
    /// On a TLS listener with `require_sni_match`, the server name the client asked for in the
    /// handshake (empty if it sent none): the request's host must equal it, or 421. `None`
    /// elsewhere.
    pub sni: Option<Arc<str>>,
    /// The hosts the listener serves (normalized), when it names them: any other host gets 421.
    pub hosts: Option<Arc<[String]>>,
    /// SHA-256 of the client certificate a mutual-TLS listener verified, if any.
    pub client_certificate: Option<[u8; 32]>,
}

/// What a listener is for. The decision is the same; what is decided and what a permit leads to
/// differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    /// Decide the request itself; forward it, or hand it to a built-in endpoint.
    #[default]
    Proxy,
    /// Decide the original request a fronting proxy describes (`forward_auth`); answer 200 with
    /// the identity headers, forwarding nothing.
    ForwardAuth,
}

impl Role {
    /// A name for the access log.
    pub fn name(self) -> &'static str {
        match self {
            Role::Proxy => "proxy",
            Role::ForwardAuth => "forward-auth",
        }
    }
}

/// The client's address: the peer, or what a trusted proxy (a trusted forward-auth peer in that
/// role) says it is.
pub(super) fn client_address(
    gw: &Gateway,
    conn: &Conn,
    parts: &Parts,
) -> Result<IpAddr, Rejection> {
    let trusted = match conn.role {
        Role::Proxy => &gw.trusted_proxies,
        Role::ForwardAuth => &gw.forward_auth.trusted_peers,
    };
    crate::forwarded::client_ip(&parts.headers, conn.peer.ip(), trusted)
}
