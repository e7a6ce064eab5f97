//! Where the gateway listens, in the boot settings: a public listener ([`Listener`], with its
//! TLS, PROXY protocol and host list) and the forward-auth listener ([`ForwardAuthSettings`]).

use std::net::SocketAddr;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::Deserialize;

use super::TlsSettings;
use crate::policy::formats::{Cidr, SocketAddress};

/// A listening socket.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "listener")]
pub struct Listener {
    /// `ip:port` to listen on (`127.0.0.1:8080`, `0.0.0.0:8080`, `[::]:8080`); an IP address, not a
    /// host name. Port 0 picks a free port.
    #[schemars(with = "SocketAddress")]
    pub address: SocketAddr,
    /// TLS termination on this listener (public listeners only: ignored on the admin listener).
    /// Absent: plain HTTP (and h2c).
    pub tls: Option<TlsSettings>,
    /// Every connection starts with a PROXY protocol header (v1 or v2) from the load balancer;
    /// required, never optional: a connection without one is dropped. Its client address is the
    /// one logs, limits and forwarded headers use. Public listeners only. Default false.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// The hosts this listener serves (`Host` or `:authority`, compared without port, case and
    /// trailing dot); a request for any other gets 421 `misdirected_request`. Absent: any host.
    pub hosts: Option<Vec<String>>,
}

/// The forward-auth listener and who may use it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthSettings {
    /// `ip:port` to listen on. Every request there describes an original request in
    /// `X-Forwarded-Method`/`-Uri`/`-Host` or `X-Original-Method`/`-URI`, and is answered with
    /// its decision: 200 with the identity headers, or the proxy mode's rejection. Keep it on
    /// loopback or a private network.
    #[schemars(with = "SocketAddress")]
    pub address: SocketAddr,
    /// Networks (CIDR) of the fronting proxies whose forwarded-request headers are trusted; any
    /// other peer gets 403 `untrusted_forwarder`. Default: loopback only.
    #[serde(default = "loopback")]
    #[schemars(with = "Vec<Cidr>")]
    pub trusted_peers: Vec<IpNet>,
}

fn loopback() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}
