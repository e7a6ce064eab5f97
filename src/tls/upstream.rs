//! TLS to `https://` upstreams: the system's trust roots (Debian's `ca-certificates`, read by
//! `rustls-native-certs`), plus the CA files the boot settings name (`upstream_tls.ca_files`,
//! for a private CA), and an optional client certificate the gateway presents to upstreams that
//! ask for one. TLS 1.2 and 1.3 on `ring`.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::settings::UpstreamTlsSettings;
use crate::tls::TlsError;

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
        for ca in read_pem_certs(path)? {
            roots.add(ca).map_err(|e| ca_error(path, e.to_string()))?;
        }
    }
    let client = match &settings.client_certificate {
        Some(files) => {
            let chain = read_pem_certs(&files.cert)?;
            let key = PrivateKeyDer::from_pem_file(&files.key)
                .map_err(|e| ca_error(&files.key, e.to_string()))?;
            Some((chain, key))
        }
        None => None,
    };
    build(&roots, client)
}

fn build(
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
fn system_roots() -> rustls::RootCertStore {
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

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| ca_error(path, e.to_string()))?
        .collect();
    let certs = certs.map_err(|e| ca_error(path, e.to_string()))?;
    if certs.is_empty() {
        return Err(ca_error(path, "no certificate in the file".into()));
    }
    Ok(certs)
}

fn ca_error(path: &Path, reason: String) -> TlsError {
    TlsError::ClientCa {
        path: path.to_owned(),
        reason,
    }
}
