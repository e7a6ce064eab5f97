//! Certificate files: reads a PEM chain and its private key into a rustls `CertifiedKey`, with
//! the DNS names (subject alternative names) SNI selects it by.
//!
//! It owns parsing and the proof that the key belongs to the certificate; choosing among the
//! loaded certificates is [`super::resolver`]'s, noticing changed files [`super::reload`]'s. No
//! error carries key material: a key file's error names the file and the kind of fault only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::settings::CertificateFiles;

/// A certificate ready to serve, with the names it answers to.
#[derive(Debug)]
pub struct Loaded {
    /// Lowercased DNS names from the subject alternative names; `*.example.com` for wildcards.
    pub names: Vec<String>,
    /// The chain and its signing key.
    pub key: Arc<CertifiedKey>,
}

/// Why a certificate could not be loaded. Each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file holds no readable `CERTIFICATE` PEM section.
    #[error("{}: expected PEM certificates (-----BEGIN CERTIFICATE-----): {reason}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What the PEM reader found wrong.
        reason: String,
    },
    /// The first certificate is not a parsable X.509 certificate.
    #[error("{}: the first certificate cannot be parsed: {reason}", path.display())]
    X509 {
        /// The file.
        path: PathBuf,
        /// What webpki found wrong.
        reason: String,
    },
    /// The key file holds no readable private key (PKCS#8, PKCS#1 or SEC1 PEM).
    #[error("{}: expected a PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The key is of a type or curve rustls cannot sign with.
    #[error("{}: unsupported private key type", path.display())]
    UnsupportedKey {
        /// The file.
        path: PathBuf,
    },
    /// The key does not belong to the first certificate of the chain.
    #[error("{} does not match the certificate {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// Read and check every certificate, in order. Stops at the first bad one: a listener serves
/// all its certificates or none.
pub fn load_all(files: &[CertificateFiles]) -> Result<Vec<Loaded>, CertError> {
    files.iter().map(load).collect()
}

/// Read one certificate chain and its key, and prove they belong together.
pub fn load(files: &CertificateFiles) -> Result<Loaded, CertError> {
    let (chain, key) = read_pair(files)?;
    let signer = any_supported_type(&key).map_err(|_| CertError::UnsupportedKey {
        path: files.key.clone(),
    })?;
    let names = dns_names(&files.cert, &chain[0])?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|_| CertError::KeyMismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
    })?;
    Ok(Loaded {
        names,
        key: Arc::new(certified),
    })
}

/// A certificate chain and its private key, from PEM files (not yet checked to match).
pub fn read_pair(
    files: &CertificateFiles,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), CertError> {
    let chain = read_chain(&files.cert)?;
    let der = read(&files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&der).map_err(|_| CertError::NoKey {
        path: files.key.clone(),
    })?;
    Ok((chain, key))
}

/// The certificates of a PEM file, at least one.
pub fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let text = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::Certificate {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(CertError::Certificate {
            path: path.to_owned(),
            reason: "no certificate found".into(),
        });
    }
    Ok(chain)
}

/// The DNS names a certificate is valid for, lowercased.
fn dns_names(path: &Path, cert: &CertificateDer<'_>) -> Result<Vec<String>, CertError> {
    let parsed = webpki::EndEntityCert::try_from(cert).map_err(|e| CertError::X509 {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(parsed
        .valid_dns_names()
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        .collect())
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The CA certificates of `path` (PEM) as trust roots for client certificates.
pub fn client_roots(path: &Path) -> Result<rustls::RootCertStore, super::TlsError> {
    let chain = read_chain(path)?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in chain {
        roots.add(ca).map_err(|e| super::TlsError::ClientCa {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    }
    Ok(roots)
}
