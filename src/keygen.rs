//! Key generation for `portcullis key new`: a fresh high-entropy secret, shown once, and the
//! policy entry that holds only its SHA-256 digest.

/// Prefix of generated secrets, so leaked ones are easy to search for.
pub const SECRET_PREFIX: &str = "pcs_";

/// A new secret: 256 random bits, hex, with a recognisable prefix.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// The `keys` entry for `id` holding the digest of `secret`.
pub fn entry(id: &str, secret: &str) -> serde_json::Value {
    serde_json::json!({
        id: {
            "sha256": hex::encode(crate::identity::digest(secret)),
            "description": "",
            "permissions": {},
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_entries_hold_only_the_digest() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), SECRET_PREFIX.len() + 64);
        let e = entry("ci", &a).to_string();
        assert!(!e.contains(&a));
        assert!(e.contains(&hex::encode(crate::identity::digest(&a))));
    }
}
