//! TLS termination on the public listeners (rustls on `ring`): TLS 1.2 and 1.3, ALPN `h2` and
//! `http/1.1`, 0-RTT off, certificates chosen by SNI and reloaded when their files change.
//!
//! [`Tls::start`] loads a listener's certificates (refusing to start on a bad one) and returns
//! the reload loop to spawn; [`Tls::accept`] runs one handshake within the handshake timeout and
//! says which protocol ALPN chose. `server` serves what it returns; `gateway` compares the SNI
//! name with the request's host when the listener requires it.
//!
//! - [`backend`]: TLS from the gateway to PostgreSQL and Redis (the fleet's shared services).
//! - [`certs`]: reads PEM files into certificates, proving each key matches.
//! - [`resolver`]: picks the certificate for a handshake; swapped whole on reload.
//! - [`reload`]: notices changed files and publishes the new set, keeping the last good one.

pub mod backend;
pub mod certs;
pub mod reload;
pub mod resolver;
pub mod upstream;

use sha2::Digest as _;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::settings::TlsSettings;
use certs::CertError;
use reload::{Reloader, Status};
use resolver::{CertSet, Resolver};

/// Default interval between certificate file checks.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// A listener's TLS: the acceptor and what the connections it yields must honour.
#[derive(Clone)]
pub struct Tls {
    /// Runs handshakes with the listener's configuration.
    acceptor: TlsAcceptor,
    /// Whether requests must name the SNI host.
    require_sni_match: bool,
    /// Time allowed for a handshake.
    handshake_timeout: Duration,
    /// Outcome of the certificate reloads.
    pub status: Arc<Status>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("require_sni_match", &self.require_sni_match)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

/// Why a listener's TLS could not start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file is missing, unparsable or mismatched.
    #[error("tls certificate: {0}")]
    Certificate(#[from] CertError),
    /// The listener lists no certificate.
    #[error("tls needs at least one certificate")]
    NoCertificate,
    /// rustls refused the configuration.
    #[error("tls configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The client CA file holds no usable CA certificate.
    #[error("tls client_ca {path}: {reason}")]
    ClientCa {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a connection did not become a TLS connection.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The client did not finish the handshake in time (or sent nothing).
    #[error("tls handshake timed out")]
    Timeout,
    /// The handshake failed (protocol version, no shared cipher, bad message, reset).
    #[error("tls handshake failed: {0}")]
    Failed(#[source] std::io::Error),
}

/// A finished handshake.
pub struct Accepted {
    /// The encrypted stream.
    pub stream: TlsStream<TcpStream>,
    /// Whether ALPN chose `h2`; otherwise HTTP/1.1 is spoken.
    pub h2: bool,
    /// On a listener with `require_sni_match`, the SNI name (empty if none was sent).
    pub sni: Option<Arc<str>>,
    /// SHA-256 of the client certificate (verified against `client_ca`), if one was presented.
    pub client_certificate: Option<[u8; 32]>,
}

impl Tls {
    /// Load the certificates of `settings` and build the listener's configuration. Returns the
    /// reload loop to spawn.
    pub fn start(
        settings: &TlsSettings,
        handshake_timeout: Duration,
    ) -> Result<(Self, Reloader), TlsError> {
        let seen = reload::fingerprint(&settings.certificates);
        let set = CertSet::new(certs::load_all(&settings.certificates)?)
            .ok_or(TlsError::NoCertificate)?;
        let resolver = Arc::new(Resolver::new(set));
        let status = Arc::new(Status::default());
        let tls = Self {
            acceptor: TlsAcceptor::from(Arc::new(config(
                Arc::clone(&resolver) as _,
                settings.client_ca.as_deref(),
            )?)),
            require_sni_match: settings.require_sni_match,
            handshake_timeout,
            status: Arc::clone(&status),
        };
        let every = settings
            .check_interval_ms
            // A zero interval would make the reload timer panic: 1 ms is the least.
            .map_or(DEFAULT_CHECK_INTERVAL, |ms| {
                Duration::from_millis(ms.max(1))
            });
        let reloader = Reloader {
            files: settings.certificates.clone(),
            resolver,
            status,
            every,
            seen,
        };
        Ok((tls, reloader))
    }

    /// Run the handshake on `stream`, within the handshake timeout.
    pub async fn accept(&self, stream: TcpStream) -> Result<Accepted, HandshakeError> {
        let stream = tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(stream))
            .await
            .map_err(|_| HandshakeError::Timeout)?
            .map_err(HandshakeError::Failed)?;
        let session = stream.get_ref().1;
        let h2 = session.alpn_protocol() == Some(b"h2");
        let sni = self.require_sni_match.then(|| {
            let name = session.server_name().unwrap_or("");
            Arc::from(name.trim_end_matches('.').to_ascii_lowercase())
        });
        let client_certificate = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| sha2::Sha256::digest(leaf.as_ref()).into());
        Ok(Accepted {
            stream,
            h2,
            sni,
            client_certificate,
        })
    }
}

/// The rustls configuration: TLS 1.3 and 1.2, ALPN `h2` then `http/1.1`, no early data, and a
/// required client certificate from `client_ca` when one is named.
fn config(
    resolver: Arc<dyn rustls::server::ResolvesServerCert>,
    client_ca: Option<&std::path::Path>,
) -> Result<ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let roots = certs::client_roots(path)?;
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| TlsError::ClientCa {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // 0-RTT data can be replayed: refuse it (rustls' default, stated here on purpose).
    config.max_early_data_size = 0;
    Ok(config)
}
