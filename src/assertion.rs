//! Signed identity assertions: a short-lived token in `X-Portcullis-Assertion` on requests to an
//! upstream that asks for one, so the upstream can check that a request came through the
//! gateway, and what the gateway decided, without trusting the network.
//!
//! The token is a compact JWS (`header.claims.signature`, base64url): HS256 with a shared
//! secret, or EdDSA (Ed25519) with a private key whose public half the upstream holds. Claims:
//! `iss` (`portcullis`), `aud` (the upstream's name), `iat`, `exp` (`iat` + the configured
//! lifetime), `jti` (the request id), `kind` and `cid` (the credential's kind and id), `sub` (the
//! user, else the credential id), `module`, `action` and `scope` (the resource values). Never a
//! secret. `config/examples/php/portcullis-assertion.php` verifies one with PHP's standard
//! library. Signers are built from the boot settings (`assertions`), one per upstream name.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::authz::Permit;
use crate::vouch;

/// The header the assertion travels in.
pub const HEADER: &str = "x-portcullis-assertion";

/// How an assertion is signed.
enum Key {
    /// HMAC-SHA-256 with a shared secret.
    Hs256(Vec<u8>),
    /// Ed25519.
    EdDsa(Box<ed25519_dalek::SigningKey>),
}

/// Signs the assertions of one upstream.
pub struct Signer {
    /// The signing key.
    key: Key,
    /// `base64url(header)`, fixed per signer.
    header: String,
    /// The upstream's name, the `aud` claim.
    audience: String,
    /// Lifetime in seconds.
    ttl_s: i64,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("audience", &self.audience)
            .field("ttl_s", &self.ttl_s)
            .finish_non_exhaustive()
    }
}

/// Why a signer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// The key file could not be read.
    #[error("cannot read assertion key {}: {error}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The key file does not hold what the algorithm needs.
    #[error("assertion key {}: {what}", path.display())]
    Invalid {
        /// The file.
        path: std::path::PathBuf,
        /// What was expected.
        what: &'static str,
    },
}

/// Signing algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA-256; the key file holds the shared secret (at least 32 bytes, trailing newline
    /// ignored).
    Hs256,
    /// Ed25519; the key file holds a PKCS#8 private key (PEM).
    EdDsa,
}

impl Signer {
    /// A signer for upstream `audience` with the key in `path`.
    pub fn load(
        audience: &str,
        algorithm: Algorithm,
        path: &Path,
        ttl_s: u32,
        kid: Option<&str>,
    ) -> Result<Self, AssertionError> {
        let invalid = |what| AssertionError::Invalid {
            path: path.to_owned(),
            what,
        };
        let bytes = std::fs::read(path).map_err(|error| AssertionError::Read {
            path: path.to_owned(),
            error,
        })?;
        let (key, alg) = match algorithm {
            Algorithm::Hs256 => {
                let secret = bytes.trim_ascii_end().to_vec();
                if secret.len() < 32 {
                    return Err(invalid("expected a secret of at least 32 bytes"));
                }
                (Key::Hs256(secret), "HS256")
            }
            Algorithm::EdDsa => {
                let der = pem_body(&bytes)
                    .ok_or_else(|| invalid("expected a PEM \"PRIVATE KEY\" (PKCS#8, Ed25519)"))?;
                let k = ed25519_dalek::SigningKey::from_pkcs8_der(&der)
                    .map_err(|_| invalid("expected an Ed25519 PKCS#8 private key"))?;
                (Key::EdDsa(Box::new(k)), "EdDSA")
            }
        };
        let header = match kid {
            Some(kid) => serde_json::json!({ "alg": alg, "typ": "JWT", "kid": kid }),
            None => serde_json::json!({ "alg": alg, "typ": "JWT" }),
        };
        Ok(Self {
            key,
            header: B64.encode(header.to_string()),
            audience: audience.to_owned(),
            ttl_s: i64::from(ttl_s),
        })
    }

    /// The assertion of `permit` for request `request_id` at unix time `now`.
    pub fn sign(&self, permit: &Permit<'_>, request_id: &str, now: i64) -> String {
        let route = permit.route();
        let p = permit.principal();
        let scope: serde_json::Map<String, serde_json::Value> = route
            .resources()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).into()))
            .collect();
        let claims = serde_json::json!({
            "iss": "portcullis",
            "aud": self.audience,
            "iat": now,
            "exp": now + self.ttl_s,
            "jti": request_id,
            "kind": p.map(|p| vouch::kind_name(p.kind())),
            "cid": p.map(|p| p.id()),
            "sub": p.map(|p| p.user().unwrap_or(p.id())),
            "module": route.module(),
            "action": route.action(),
            "scope": scope,
        });
        let signed = format!("{}.{}", self.header, B64.encode(claims.to_string()));
        let signature = match &self.key {
            Key::Hs256(secret) => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
                mac.update(signed.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            Key::EdDsa(k) => k.sign(signed.as_bytes()).to_bytes().to_vec(),
        };
        format!("{signed}.{}", B64.encode(signature))
    }
}

/// The DER inside a PEM `PRIVATE KEY` block.
fn pem_body(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN PRIVATE KEY-----")? + "-----BEGIN PRIVATE KEY-----".len();
    let end = text[start..].find("-----END PRIVATE KEY-----")? + start;
    let b64: String = text[start..end].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}
