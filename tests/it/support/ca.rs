//! A test certificate authority (`rcgen`) for the TLS tests: it signs server and client
//! certificates for host names or IP addresses (an IP address becomes an IP subject name).

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use super::tmp::TempDir;

/// A test CA that signs server certificates.
pub struct Ca {
    /// The CA certificate, PEM.
    pub pem: String,
    /// Signs server certificates.
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("ca key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("ca cert").pem();
        Self {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `name`: (chain PEM, key PEM, DER).
    pub fn issue(&self, name: &str) -> (String, String, Vec<u8>) {
        let key = KeyPair::generate().expect("server key");
        let cert = CertificateParams::new(vec![name.to_owned()])
            .expect("params")
            .signed_by(&key, &self.issuer)
            .expect("sign");
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }

    /// Issue a certificate for `name` into `dir/<name>.pem` and `<name>.key`; returns its DER.
    pub fn write(&self, dir: &TempDir, name: &str) -> Vec<u8> {
        let (cert, key, der) = self.issue(name);
        std::fs::write(dir.join(&format!("{name}.pem")), cert).expect("write cert");
        std::fs::write(dir.join(&format!("{name}.key")), key).expect("write key");
        der
    }
}
