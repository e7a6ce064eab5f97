//! Signing key compilation: `signing_keys` entries → key-ring keys, and the secret references
//! (env, file, inline) they and TOTP secrets are read from.
//!
//! The bytes were read by `load`; here they become HS256 or Ed25519 keys, or a SeaTable key
//! (`"shape": "seatable"`: HS256, no `use`). An inline secret compiles with a warning; a field the
//! algorithm does not use is an error.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::kinds::TokenShape;
use crate::policy::compile::Cx;
use crate::policy::key_fields;
use crate::policy::load::Input;
use crate::policy::locate::JsonPath;
use crate::policy::raw::{Alg, RawSigningKey, SecretRef};
use crate::token::keyring::RingKey;
use crate::token::seatable::SeaTableKey;

/// A compiled signing key: for Portcullis' own tokens, or SeaTable's secret.
#[derive(Debug)]
pub enum Compiled {
    /// A key-ring key, named by `kid`.
    Ring(RingKey),
    /// SeaTable's `DTABLE_PRIVATE_KEY`.
    SeaTable(SeaTableKey),
}

/// Shortest HS256 secret accepted.
pub const MIN_HS256_SECRET: usize = 32;

/// The bytes of a secret reference, with a warning when inline and an error when unreadable.
pub fn secret(
    cx: &mut Cx<'_>,
    input: &Input,
    file: usize,
    at: &JsonPath,
    r: &SecretRef,
) -> Option<Vec<u8>> {
    if matches!(r, SecretRef::Inline(_)) {
        cx.warn(
            file,
            at.clone(),
            "secret is inline in the policy; prefer {\"env\": ...} or {\"file\": ...}",
        );
    }
    match input.secret(file, at) {
        Some(Ok(v)) => Some(v.clone()),
        Some(Err(e)) => {
            cx.error(file, at.clone(), e.clone());
            None
        }
        None => {
            cx.error(file, at.clone(), "secret was not resolved");
            None
        }
    }
}

/// Compile the signing key named `name`.
pub fn signing_key(
    cx: &mut Cx<'_>,
    input: &Input,
    file: usize,
    at: &JsonPath,
    name: &str,
    raw: &RawSigningKey,
) -> Option<Compiled> {
    let shape = raw.shape.unwrap_or_default();
    match (shape, raw.key_use, raw.alg) {
        (TokenShape::Seatable, None, Alg::HS256) | (TokenShape::Portcullis, Some(_), _) => {}
        (TokenShape::Seatable, Some(_), _) => cx.error(
            file,
            at.key("use"),
            "a SeaTable key has no `use`: it verifies SeaTable's base and temporary tokens alike",
        ),
        (TokenShape::Seatable, None, Alg::EdDSA) => cx.error(
            file,
            at.key("alg"),
            "a SeaTable key is HS256 (SeaTable signs with DTABLE_PRIVATE_KEY)",
        ),
        (TokenShape::Portcullis, None, _) => cx.error(
            file,
            at.clone(),
            "expected `use`: `account`, `temporary` or `base`",
        ),
    }
    let created =
        key_fields::instant(cx, file, &at.key("created"), raw.created.as_deref()).unwrap_or(0);
    let unused: &[(&str, bool)] = match raw.alg {
        Alg::HS256 => &[
            ("private_key", raw.private_key.is_some()),
            ("public_key", raw.public_key.is_some()),
        ],
        Alg::EdDSA => &[("secret", raw.secret.is_some())],
    };
    for (field, present) in unused {
        if *present {
            cx.error(
                file,
                at.key(field),
                format!("`{field}` is not used by {:?} keys", raw.alg),
            );
        }
    }
    let (alg, encoding, decoding) = match raw.alg {
        Alg::HS256 => {
            let Some(r) = &raw.secret else {
                cx.error(file, at.clone(), "an HS256 key needs `secret`");
                return None;
            };
            let bytes = secret(cx, input, file, &at.key("secret"), r)?;
            if bytes.len() < MIN_HS256_SECRET {
                cx.error(
                    file,
                    at.key("secret"),
                    format!(
                        "expected at least {MIN_HS256_SECRET} bytes of secret, got {}",
                        bytes.len()
                    ),
                );
                return None;
            }
            (
                Algorithm::HS256,
                Some(EncodingKey::from_secret(&bytes)),
                DecodingKey::from_secret(&bytes),
            )
        }
        Alg::EdDSA => {
            let Some(r) = &raw.public_key else {
                cx.error(file, at.clone(), "an EdDSA key needs `public_key` (PEM)");
                return None;
            };
            let public = secret_plain(input, file, &at.key("public_key"), r, cx)?;
            let Ok(decoding) = DecodingKey::from_ed_pem(&public) else {
                cx.error(
                    file,
                    at.key("public_key"),
                    "expected an Ed25519 public key in PEM",
                );
                return None;
            };
            let encoding = match &raw.private_key {
                Some(r) => {
                    let private = secret(cx, input, file, &at.key("private_key"), r)?;
                    match EncodingKey::from_ed_pem(&private) {
                        Ok(e) => Some(e),
                        Err(_) => {
                            cx.error(
                                file,
                                at.key("private_key"),
                                "expected an Ed25519 PKCS#8 private key in PEM",
                            );
                            return None;
                        }
                    }
                }
                None => None,
            };
            (Algorithm::EdDSA, encoding, decoding)
        }
    };
    let encoding = if raw.verify_only { None } else { encoding };
    match (shape, raw.key_use) {
        (TokenShape::Seatable, None) if alg == Algorithm::HS256 => {
            Some(Compiled::SeaTable(SeaTableKey {
                name: name.to_owned(),
                encoding,
                decoding,
                created,
            }))
        }
        (TokenShape::Portcullis, Some(key_use)) => Some(Compiled::Ring(RingKey {
            key_use,
            alg,
            encoding,
            decoding,
            created,
        })),
        // Reported above.
        (TokenShape::Seatable | TokenShape::Portcullis, _) => None,
    }
}

/// A public key is not secret: no warning when inline.
fn secret_plain(
    input: &Input,
    file: usize,
    at: &JsonPath,
    _r: &SecretRef,
    cx: &mut Cx<'_>,
) -> Option<Vec<u8>> {
    match input.secret(file, at) {
        Some(Ok(v)) => Some(v.clone()),
        Some(Err(e)) => {
            cx.error(file, at.clone(), e.clone());
            None
        }
        None => None,
    }
}
