//! TLS to `https://` upstreams: the system's trust roots (Debian's `ca-certificates`, read by
//! `rustls-native-certs`), plus the CA files the boot settings name (`upstream_tls.ca_files`,
//! for a private CA), and an optional client certificate the gateway presents to upstreams that
//! ask for one. TLS 1.2 and 1.3 on `ring`.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::settings::UpstreamTlsSettings;
use crate::tls::TlsError;
use crate::tls::certs::{self, CertError};

/// System roots only, no client certificate.
pub fn default_config() -> ClientConfig {
    // Without a client certificate the only failure is an unsupported protocol version, and
    // ring supports both: this cannot fail at run time.
    build(&system_roots(), None).expect("rustls with ring supports TLS 1.2 and 1.3")
}

/// The configuration the settings ask for.
pub fn config(settings: &UpstreamTlsSettings) -> Result<ClientConfig, TlsError> {
    let mut roots = if settings.system_roots {
        system_roots()
    } else {
        rustls::RootCertStore::empty()
    };
    for path in &settings.ca_files {
        for ca in certs::read_chain(path)? {
            roots.add(ca).map_err(|e| CertError::Certificate {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        }
    }
    let client = match &settings.client_certificate {
        Some(files) => Some(certs::read_pair(files)?),
        None => None,
    };
    build(&roots, client)
}

pub(crate) fn build(
    roots: &rustls::RootCertStore,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots.clone());
    // No ALPN here: the connector sets it (HTTP/1.1) and refuses a configuration that has one.
    Ok(match client {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    })
}

/// The system's trust roots; unreadable ones are skipped (and logged).
pub(crate) fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "a system trust root could not be read");
    }
    let (_, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!(ignored, "system trust roots rustls cannot use");
    }
    roots
}
