//! TLS in the boot settings: termination on a listener ([`TlsSettings`]), TLS to `https://`
//! upstreams ([`UpstreamTlsSettings`]), and the certificate files both name. Paths are relative
//! to the settings file until [`super::Settings::load`] resolves them.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

/// TLS on a listener: TLS 1.2 and 1.3, ALPN `h2` and `http/1.1` (the protocol follows ALPN),
/// no 0-RTT. Certificate files are re-read when they change; a bad replacement keeps the last
/// good certificate and is logged.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "tls")]
pub struct TlsSettings {
    /// Certificates, chosen by the server name the client sends (SNI) against each
    /// certificate's DNS names (its subject alternative names, wildcards included). The first is
    /// served when no name matches or none is sent.
    #[schemars(length(min = 1))]
    pub certificates: Vec<CertificateFiles>,
    /// Answer 421 `misdirected_request` when a request's host differs from the SNI name of its
    /// connection (or the client sent none). Default false.
    #[serde(default)]
    pub require_sni_match: bool,
    /// How often the certificate files are checked for changes, in milliseconds. Default 5000.
    #[schemars(range(min = 1))]
    pub check_interval_ms: Option<u64>,
    /// Require a client certificate issued by a CA in this PEM file (mutual TLS), for listeners
    /// only the load balancer may reach: a client without one, or with another CA's, does not
    /// complete the handshake. Absent: no client certificate asked for.
    pub client_ca: Option<PathBuf>,
}

/// One certificate: PEM files, relative paths relative to the settings file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "certificate_files")]
pub struct CertificateFiles {
    /// The certificate chain: the server certificate first, then intermediates.
    #[schemars(length(min = 1))]
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1) of the first certificate.
    #[schemars(length(min = 1))]
    pub key: PathBuf,
}

impl TlsSettings {
    /// Resolve the paths against `dir` (the settings file's directory).
    pub fn resolve(&mut self, dir: &Path) {
        for c in &mut self.certificates {
            c.resolve(dir);
        }
        if let Some(ca) = &mut self.client_ca {
            *ca = dir.join(&*ca);
        }
    }
}

impl CertificateFiles {
    /// Resolve the paths against `dir` (the settings file's directory).
    pub fn resolve(&mut self, dir: &Path) {
        self.cert = dir.join(&self.cert);
        self.key = dir.join(&self.key);
    }
}

/// TLS to `https://` upstreams.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsSettings {
    /// Trust the system's roots (Debian's ca-certificates). Default true.
    #[serde(default = "yes")]
    pub system_roots: bool,
    /// More CA certificates to trust (PEM), e.g. a private CA; relative to this file.
    #[serde(default)]
    pub ca_files: Vec<PathBuf>,
    /// A client certificate to present to upstreams that ask for one.
    pub client_certificate: Option<CertificateFiles>,
}

fn yes() -> bool {
    true
}

impl UpstreamTlsSettings {
    /// Resolve the paths against `dir` (the settings file's directory).
    pub fn resolve(&mut self, dir: &Path) {
        for ca in &mut self.ca_files {
            *ca = dir.join(&*ca);
        }
        if let Some(c) = &mut self.client_certificate {
            c.resolve(dir);
        }
    }
}
