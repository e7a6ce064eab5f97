//! TLS to the services a fleet shares (PostgreSQL for the management store, Redis for rate
//! limits): the server's certificate verified against one CA file, or the system's roots when
//! none is named, and an optional client certificate. The boot settings' `tls` object under
//! `store` and `ratelimit_store` is [`BackendTlsSettings`]; [`rustls_config`] turns it into a
//! rustls client configuration (PostgreSQL), and [`redis_certificates`] into what the Redis
//! client takes (PEM bytes; it builds its own rustls configuration with the same meaning).

use std::path::PathBuf;

use rustls::ClientConfig;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::settings::CertificateFiles;
use crate::tls::TlsError;
use crate::tls::certs::{self, CertError};
use crate::tls::upstream;

/// TLS to a shared service. The server's certificate and name are always verified.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendTlsSettings {
    /// The CA certificate(s) that signed the server's certificate (PEM), relative to the settings
    /// file. Default: the system's trust roots (Debian's ca-certificates).
    pub ca_file: Option<PathBuf>,
    /// A client certificate to present, for servers that authenticate clients by certificate.
    pub client_certificate: Option<CertificateFiles>,
}

impl BackendTlsSettings {
    /// Resolve the paths against `dir` (the settings file's directory).
    pub fn resolve(&mut self, dir: &std::path::Path) {
        if let Some(ca) = &mut self.ca_file {
            *ca = dir.join(&*ca);
        }
        if let Some(c) = &mut self.client_certificate {
            c.resolve(dir);
        }
    }
}

/// The rustls client configuration `settings` describe.
pub fn rustls_config(settings: &BackendTlsSettings) -> Result<ClientConfig, TlsError> {
    let roots = match &settings.ca_file {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in certs::read_chain(path)? {
                roots.add(ca).map_err(|e| CertError::Certificate {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            }
            roots
        }
        None => upstream::system_roots(),
    };
    let client = match &settings.client_certificate {
        Some(files) => Some(certs::read_pair(files)?),
        None => None,
    };
    upstream::build(&roots, client)
}

/// What the Redis client takes: the CA file's PEM (none: the system's roots) and the client
/// certificate's, read and checked here so a bad file fails at start with its name.
pub fn redis_certificates(
    settings: &BackendTlsSettings,
) -> Result<::redis::TlsCertificates, TlsError> {
    // Parse everything first: the same errors, with the same places, as for PostgreSQL.
    rustls_config(settings)?;
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|source| CertError::Read {
            path: path.clone(),
            source,
        })
    };
    let root_cert = match &settings.ca_file {
        Some(path) => Some(read(path)?),
        None => None,
    };
    let client_tls = match &settings.client_certificate {
        Some(files) => Some(::redis::ClientTlsConfig {
            client_cert: read(&files.cert)?,
            client_key: read(&files.key)?,
        }),
        None => None,
    };
    Ok(::redis::TlsCertificates {
        client_tls,
        root_cert,
    })
}
