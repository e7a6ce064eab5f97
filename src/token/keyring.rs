//! The key ring: signing and verification keys by `kid`, one set per token kind.
//!
//! Verification trusts nothing in the token before the signature checks out except the `kid`,
//! which only selects a key: the header's `alg` must equal that key's algorithm (no `none`, no
//! HS/EdDSA confusion), the key's use must be one the caller accepts, and the claims' `kind` must
//! equal the key's use. A token without `kid` can only be SeaTable-shaped: it verifies against
//! the SeaTable keys (`seatable`), HS256 only, and its kind comes from its claims. Time claims are
//! checked here with `LEEWAY_S` for both shapes; revocation is checked by `directory`, which knows
//! users and API tokens.

use std::collections::{HashMap, HashSet};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::kinds::KeyUse;
use crate::token::seatable::{self, SeaTableKey};
use crate::token::{Claims, LEEWAY_S, crypto};

/// Why a token was refused or could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, unknown `kid`, wrong algorithm or bad signature.
    #[error("the token is not valid")]
    Invalid,
    /// A valid token of a kind this place does not accept.
    #[error("this kind of token is not accepted here")]
    WrongKind,
    /// Past `exp`.
    #[error("the token has expired")]
    Expired,
    /// Before `nbf`, or issued in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Revoked: by id, by its user's `tokens_valid_after`, or because its user, API token or
    /// link is disabled or gone.
    #[error("the token has been revoked")]
    Revoked,
    /// No signing key for this kind.
    #[error("no signing key is configured for this kind of token")]
    NoSigningKey,
}

/// One compiled key.
pub struct RingKey {
    /// Which tokens it signs and verifies.
    pub key_use: KeyUse,
    /// Its algorithm.
    pub alg: Algorithm,
    /// Signing half (absent on verify-only keys).
    pub encoding: Option<EncodingKey>,
    /// Verification half.
    pub decoding: DecodingKey,
    /// Creation time; the newest signing key of a use signs.
    pub created: i64,
}

impl std::fmt::Debug for RingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingKey")
            .field("key_use", &self.key_use)
            .field("alg", &self.alg)
            .field("can_sign", &self.encoding.is_some())
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Every key, by `kid`.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: HashMap<String, RingKey>,
    signers: HashMap<KeyUse, String>,
    /// SeaTable deployment secrets, tried in turn for tokens without `kid`.
    seatable: Vec<SeaTableKey>,
    /// Index into `seatable` of the key that signs SeaTable-shaped tokens.
    seatable_signer: Option<usize>,
}

impl KeyRing {
    /// A ring of `keys` and SeaTable keys; for each use, and for the SeaTable shape, the newest
    /// key that can sign becomes its signer (ties broken by name).
    pub fn new(keys: HashMap<String, RingKey>, seatable: Vec<SeaTableKey>) -> Self {
        crypto::install();
        let mut signers: HashMap<KeyUse, (i64, String)> = HashMap::new();
        for (kid, k) in &keys {
            if k.encoding.is_none() {
                continue;
            }
            let newer = signers
                .get(&k.key_use)
                .is_none_or(|(t, id)| (k.created, kid) > (*t, id));
            if newer {
                signers.insert(k.key_use, (k.created, kid.clone()));
            }
        }
        let signers = signers.into_iter().map(|(u, (_, kid))| (u, kid)).collect();
        let seatable_signer = seatable
            .iter()
            .enumerate()
            .filter(|(_, k)| k.encoding.is_some())
            .max_by(|(_, a), (_, b)| (a.created, &a.name).cmp(&(b.created, &b.name)))
            .map(|(i, _)| i);
        Self {
            keys,
            signers,
            seatable,
            seatable_signer,
        }
    }

    /// Whether SeaTable-shaped base tokens can be signed.
    pub fn can_sign_seatable(&self) -> bool {
        self.seatable_signer.is_some()
    }

    /// Sign base-token `claims` in SeaTable's shape (no `kid`) with the SeaTable key, for a base
    /// owned by `owner`.
    pub fn sign_seatable(&self, claims: &Claims, owner: &str) -> Result<String, TokenError> {
        let key = self
            .seatable_signer
            .map(|i| &self.seatable[i])
            .ok_or(TokenError::NoSigningKey)?;
        seatable::sign(key, claims, owner)
    }

    /// Whether a token of `key_use` can be signed.
    pub fn can_sign(&self, key_use: KeyUse) -> bool {
        self.signers.contains_key(&key_use)
    }

    /// Sign `claims` with the current key for `claims.kind`.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let kid = self
            .signers
            .get(&claims.kind)
            .ok_or(TokenError::NoSigningKey)?;
        let key = &self.keys[kid];
        let enc = key.encoding.as_ref().ok_or(TokenError::NoSigningKey)?;
        let mut header = Header::new(key.alg);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, enc).map_err(|_| TokenError::Invalid)
    }

    /// Verify `token` as one of the `accepted` kinds at unix time `now`.
    pub fn verify(&self, token: &str, accepted: &[KeyUse], now: i64) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let Some(kid) = header.kid.as_deref() else {
            let claims = seatable::verify(&self.seatable, token, header.alg)?;
            if !accepted.contains(&claims.kind) {
                return Err(TokenError::WrongKind);
            }
            check_times(&claims, now as f64)?;
            return Ok(claims);
        };
        let key = self.keys.get(kid).ok_or(TokenError::Invalid)?;
        if header.alg != key.alg {
            return Err(TokenError::Invalid);
        }
        let mut v = Validation::new(key.alg);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims = HashSet::new();
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &v)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.kind != key.key_use {
            return Err(TokenError::Invalid);
        }
        if !accepted.contains(&key.key_use) {
            return Err(TokenError::WrongKind);
        }
        check_times(&claims, now as f64)?;
        Ok(claims)
    }
}

fn check_times(c: &Claims, now: f64) -> Result<(), TokenError> {
    if !c.exp.is_finite() || now > c.exp + LEEWAY_S {
        return Err(TokenError::Expired);
    }
    let future = |t: f64| !t.is_finite() || t > now + LEEWAY_S;
    if c.nbf.is_some_and(future) || future(c.iat) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn hs(key_use: KeyUse, secret: &[u8], created: i64) -> RingKey {
        RingKey {
            key_use,
            alg: Algorithm::HS256,
            encoding: Some(EncodingKey::from_secret(secret)),
            decoding: DecodingKey::from_secret(secret),
            created,
        }
    }

    fn ring() -> KeyRing {
        KeyRing::new(
            HashMap::from([
                (
                    "base-old".to_string(),
                    hs(KeyUse::Base, b"base-old-secret-0123456789abcdef", 1),
                ),
                (
                    "base-new".to_string(),
                    hs(KeyUse::Base, b"base-new-secret-0123456789abcdef", 2),
                ),
                (
                    "temp".to_string(),
                    hs(KeyUse::Temporary, b"temp-secret-0123456789abcdef0123", 1),
                ),
            ]),
            vec![SeaTableKey {
                name: "dtable".into(),
                encoding: Some(EncodingKey::from_secret(SEATABLE)),
                decoding: DecodingKey::from_secret(SEATABLE),
                created: 0,
            }],
        )
    }

    const SEATABLE: &[u8] = b"dtable-private-key-0123456789abcdef";

    fn seatable_token(secret: &[u8], alg: Algorithm, claims: serde_json::Value) -> String {
        crypto::install();
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    #[test]
    fn tokens_without_kid_verify_only_as_seatable_shapes() {
        let r = ring();
        let uuid = "5a1e5000-0000-4000-8000-000000000001";
        let base = serde_json::json!({"exp": 2000, "dtable_uuid": uuid, "permission": "rw", "username": "a"});
        let t = seatable_token(SEATABLE, Algorithm::HS256, base.clone());
        let c = r.verify(&t, &[KeyUse::Base], 1000).unwrap();
        assert_eq!(
            (c.kind, c.shape),
            (KeyUse::Base, crate::kinds::TokenShape::Seatable)
        );
        assert_eq!(
            r.verify(&t, &[KeyUse::Temporary], 1000),
            Err(TokenError::WrongKind)
        );
        assert_eq!(
            r.verify(&t, &[KeyUse::Base], 2006),
            Err(TokenError::Expired)
        );
        assert!(r.verify(&t, &[KeyUse::Base], 2004).is_ok(), "within leeway");
        let other = seatable_token(
            b"another-secret-0123456789abcdef!!",
            Algorithm::HS256,
            base.clone(),
        );
        assert_eq!(
            r.verify(&other, &[KeyUse::Base], 1000),
            Err(TokenError::Invalid)
        );
        let body = URL_SAFE_NO_PAD.encode(base.to_string());
        // The HS256 signature under a header naming HS512: the algorithm is pinned.
        let sig = t.rsplit('.').next().unwrap();
        let hs512 = format!(
            "{}.{body}.{sig}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512"}"#)
        );
        assert_eq!(
            r.verify(&hs512, &[KeyUse::Base], 1000),
            Err(TokenError::Invalid)
        );
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#));
        assert_eq!(
            r.verify(&none, &[KeyUse::Base], 1000),
            Err(TokenError::Invalid)
        );
        // Signed with a Portcullis key but without kid: not a SeaTable key, so invalid.
        let portcullis =
            seatable_token(b"base-new-secret-0123456789abcdef", Algorithm::HS256, base);
        assert_eq!(
            r.verify(&portcullis, &[KeyUse::Base], 1000),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn newest_key_signs_and_every_key_verifies() {
        let r = ring();
        let t = r
            .sign(&Claims::new(KeyUse::Base, "alice", 1000, 60))
            .unwrap();
        let h = jsonwebtoken::decode_header(&t).unwrap();
        assert_eq!(h.kid.as_deref(), Some("base-new"));
        assert_eq!(r.verify(&t, &[KeyUse::Base], 1000).unwrap().sub, "alice");
        let old = KeyRing::new(
            HashMap::from([(
                "base-old".to_string(),
                hs(KeyUse::Base, b"base-old-secret-0123456789abcdef", 1),
            )]),
            Vec::new(),
        );
        let t_old = old
            .sign(&Claims::new(KeyUse::Base, "bob", 1000, 60))
            .unwrap();
        assert_eq!(r.verify(&t_old, &[KeyUse::Base], 1000).unwrap().sub, "bob");
    }

    #[test]
    fn kinds_times_and_forgeries() {
        let r = ring();
        let temp = r
            .sign(&Claims::new(KeyUse::Temporary, "a", 1000, 3600))
            .unwrap();
        assert_eq!(
            r.verify(&temp, &[KeyUse::Base], 1000),
            Err(TokenError::WrongKind)
        );
        assert!(r.verify(&temp, &[KeyUse::Temporary], 1000).is_ok());
        assert_eq!(
            r.verify(&temp, &[KeyUse::Temporary], 4606),
            Err(TokenError::Expired)
        );
        assert!(
            r.verify(&temp, &[KeyUse::Temporary], 4604).is_ok(),
            "within leeway"
        );
        assert_eq!(
            r.verify(&temp, &[KeyUse::Temporary], 900),
            Err(TokenError::NotYetValid)
        );
        // alg none
        let parts: Vec<&str> = temp.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"temp"}"#);
        let forged = format!("{none_header}.{}.", parts[1]);
        assert_eq!(
            r.verify(&forged, &[KeyUse::Temporary], 1000),
            Err(TokenError::Invalid)
        );
        // claims say base, signed with the temporary key
        let mut c = Claims::new(KeyUse::Base, "a", 1000, 60);
        c.kind = KeyUse::Base;
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        let tampered = format!("{}.{body}.{}", parts[0], parts[2]);
        assert_eq!(
            r.verify(&tampered, &[KeyUse::Base, KeyUse::Temporary], 1000),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            r.verify("garbage", &[KeyUse::Base], 1000),
            Err(TokenError::Invalid)
        );
    }
}
