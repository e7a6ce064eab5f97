//! The signature backend jsonwebtoken uses: HS256 and EdDSA only, on RustCrypto's `hmac` and
//! `ed25519-dalek`.
//!
//! jsonwebtoken's own `rust_crypto` backend also compiles the `rsa` crate (RUSTSEC-2023-0071, no
//! fixed release) for algorithms Portcullis never accepts; this provider leaves it out of the
//! build, and every other algorithm is refused when a key is used, so none can verify by
//! accident. `keyring` calls [`install`] before signing or verifying; it is idempotent.

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use sha2::Sha256;

/// The provider: HS256 and EdDSA; no JWK support (Portcullis reads no JWKs).
static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Make this the process's jsonwebtoken provider (once; later calls do nothing).
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // Err means a provider is already installed: only this module installs one.
    ONCE.call_once(|| _ = PROVIDER.install_default());
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match (alg, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => Ok(Box::new(Hs256(hmac(key.as_bytes())?))),
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => Ok(Box::new(EdSigner(
            SigningKey::from_pkcs8_der(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?,
        ))),
        (Algorithm::HS256 | Algorithm::EdDSA, _) => Err(ErrorKind::InvalidKeyFormat.into()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    match (alg, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => {
            Ok(Box::new(Hs256(hmac(key.try_get_as_bytes()?)?)))
        }
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => {
            let bytes: &[u8; 32] = key
                .try_get_as_bytes()?
                .get(..32)
                .and_then(|b| b.try_into().ok())
                .ok_or(ErrorKind::InvalidEddsaKey)?;
            let key = VerifyingKey::from_bytes(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
            Ok(Box::new(EdVerifier(key)))
        }
        (Algorithm::HS256 | Algorithm::EdDSA, _) => Err(ErrorKind::InvalidKeyFormat.into()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn hmac(secret: &[u8]) -> Result<Hmac<Sha256>, Error> {
    Hmac::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat.into())
}

/// HMAC-SHA256 with one key, signing and verifying (in constant time).
struct Hs256(Hmac<Sha256>);

impl signature::Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl signature::Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        mac.verify_slice(sig).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

/// An Ed25519 private key.
struct EdSigner(SigningKey);

impl signature::Signer<Vec<u8>> for EdSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(signature::Signer::<Signature>::sign(&self.0, msg)
            .to_bytes()
            .to_vec())
    }
}

impl JwtSigner for EdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

/// An Ed25519 public key.
struct EdVerifier(VerifyingKey);

impl signature::Verifier<Vec<u8>> for EdVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        self.0.verify_strict(msg, &Signature::from_slice(sig)?)
    }
}

impl JwtVerifier for EdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Header, Validation};

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn hs256_signs_and_verifies() {
        install();
        let claims = serde_json::json!({"sub": "a"});
        let enc = EncodingKey::from_secret(SECRET);
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &enc).unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims.clear();
        let dec = DecodingKey::from_secret(SECRET);
        let got = jsonwebtoken::decode::<serde_json::Value>(&token, &dec, &v).unwrap();
        assert_eq!(got.claims, claims);
        let wrong = DecodingKey::from_secret(b"another secret of thirty-two byt");
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &wrong, &v).is_err());
    }

    #[test]
    fn other_algorithms_are_refused() {
        let enc = EncodingKey::from_secret(SECRET);
        let dec = DecodingKey::from_secret(SECRET);
        for alg in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
        ] {
            assert!((PROVIDER.signer_factory)(&alg, &enc).is_err(), "{alg:?}");
            assert!((PROVIDER.verifier_factory)(&alg, &dec).is_err(), "{alg:?}");
        }
        // An HMAC secret is not an Ed25519 key.
        assert!((PROVIDER.verifier_factory)(&Algorithm::EdDSA, &dec).is_err());
    }
}
