//! Identity: turns a presented credential into a `Principal`, the proof that it is valid now.
//!
//! API keys are looked up by the SHA-256 digest of the secret (the plaintext is never stored),
//! so the cost does not grow with the number of keys and no secret is compared byte by byte.
//! Validity (disabled, not-before, expiry) is checked against an injected clock. `credential`
//! comes before it; `authz` after it.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::grant::Grants;
use crate::reject::Rejection;

/// A compiled API key.
#[derive(Debug)]
pub struct Key {
    /// The key id: the only name a key has in logs, metrics and headers.
    pub id: String,
    /// SHA-256 of the secret.
    pub digest: [u8; 32],
    /// What the key may do.
    pub grants: Grants,
    /// Linea21 content status passed upstream (`P` when absent from the policy).
    pub status: String,
    /// Unix seconds before which the key is not valid.
    pub not_before: Option<i64>,
    /// Unix seconds from which the key is expired.
    pub expires_at: Option<i64>,
    /// Disabled by the operator.
    pub disabled: bool,
}

/// Keys indexed by digest and by id.
#[derive(Debug, Default)]
pub struct KeyIndex {
    /// Every key.
    pub keys: Vec<Key>,
    /// digest → index into `keys`.
    pub by_digest: HashMap<[u8; 32], usize>,
    /// id → index into `keys`.
    pub by_id: HashMap<String, usize>,
}

/// Proof that a credential is valid right now, and whom it stands for. Only `validate` (and
/// `validate_id`, for `explain`) make one.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    key: &'a Key,
}

impl<'a> Principal<'a> {
    /// The key this principal authenticated with.
    pub fn key(&self) -> &'a Key {
        self.key
    }
}

/// SHA-256 of a secret.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Validate a presented secret at unix time `now`.
pub fn validate<'a>(
    keys: &'a KeyIndex,
    secret: &str,
    now: i64,
) -> Result<Principal<'a>, Rejection> {
    let d = digest(secret);
    let key = keys
        .by_digest
        .get(&d)
        .map(|&i| &keys.keys[i])
        // The map lookup already matched; the constant-time compare keeps the final equality
        // check free of early exits should the index ever change.
        .filter(|k| bool::from(k.digest.ct_eq(&d)))
        .ok_or(Rejection::UnknownCredential)?;
    check(key, now)
}

/// Validate a key named by id (used by `portcullis explain`, never on the request path).
pub fn validate_id<'a>(keys: &'a KeyIndex, id: &str, now: i64) -> Result<Principal<'a>, Rejection> {
    let key = keys
        .by_id
        .get(id)
        .map(|&i| &keys.keys[i])
        .ok_or(Rejection::UnknownCredential)?;
    check(key, now)
}

fn check(key: &Key, now: i64) -> Result<Principal<'_>, Rejection> {
    if key.disabled {
        return Err(Rejection::CredentialDisabled);
    }
    if key.not_before.is_some_and(|t| now < t) {
        return Err(Rejection::CredentialNotYetValid);
    }
    if key.expires_at.is_some_and(|t| now >= t) {
        return Err(Rejection::CredentialExpired);
    }
    Ok(Principal { key })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(key: Key) -> KeyIndex {
        let mut ix = KeyIndex::default();
        ix.by_digest.insert(key.digest, 0);
        ix.by_id.insert(key.id.clone(), 0);
        ix.keys.push(key);
        ix
    }

    fn key(secret: &str) -> Key {
        Key {
            id: "k1".into(),
            digest: digest(secret),
            grants: Grants::default(),
            status: "P".into(),
            not_before: Some(100),
            expires_at: Some(200),
            disabled: false,
        }
    }

    #[test]
    fn validity_window_and_state() {
        let ix = index(key("s3cret"));
        assert_eq!(validate(&ix, "s3cret", 150).unwrap().key().id, "k1");
        assert!(matches!(
            validate(&ix, "other", 150),
            Err(Rejection::UnknownCredential)
        ));
        assert!(matches!(
            validate(&ix, "s3cret", 99),
            Err(Rejection::CredentialNotYetValid)
        ));
        assert!(matches!(
            validate(&ix, "s3cret", 200),
            Err(Rejection::CredentialExpired)
        ));
        let mut k = key("s3cret");
        k.disabled = true;
        let ix = index(k);
        assert!(matches!(
            validate(&ix, "s3cret", 150),
            Err(Rejection::CredentialDisabled)
        ));
        assert!(matches!(
            validate_id(&ix, "k1", 150),
            Err(Rejection::CredentialDisabled)
        ));
    }
}
