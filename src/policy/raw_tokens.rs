//! Raw token policy: serde types for users, signing keys, bases, link tokens, per-base API tokens,
//! revocations and the SeaTable-compatible endpoints. They mirror the JSON and hold no logic;
//! `token::compile` checks them. Unknown fields are rejected.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::policy::raw::{Permissions, RawStatus};

/// A user who can log in and hold account, temporary and base tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    /// argon2id PHC string (`portcullis user hash-password`).
    pub password: String,
    /// RFC 6238 secret (base32) for 2FA, by reference.
    pub totp_secret: Option<SecretRef>,
    /// Direct permissions (for account tokens on proxied routes).
    #[serde(default)]
    pub permissions: Permissions,
    /// Roles whose permissions the user also holds.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Resource scope of those permissions.
    #[serde(default)]
    pub scope: BTreeMap<String, Vec<String>>,
    /// Linea21 content status passed upstream with the user's account token.
    pub status: Option<RawStatus>,
    /// Tokens issued before this RFC 3339 instant are rejected.
    pub tokens_valid_after: Option<String>,
    /// A disabled user cannot log in and all their tokens are rejected.
    #[serde(default)]
    pub disabled: bool,
}

/// Where secret material comes from. Its deserializer never quotes what it was given, so a
/// secret pasted in the wrong place does not reach an error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable of the gateway process.
    Env(String),
    /// A file, relative to the policy file naming it (trailing newline ignored).
    File(String),
    /// The value itself (accepted with a warning).
    Inline(String),
}

/// Which tokens a signing key is for. Each kind has its own keys, so a token signed for one
/// kind never verifies as another.
#[derive(
    Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyUse {
    /// Account tokens (login).
    Account,
    /// Temporary API tokens (1 hour).
    Temporary,
    /// Base tokens (access to one base).
    Base,
}

/// Signature algorithms.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum Alg {
    /// HMAC-SHA256 (SeaTable compatible).
    HS256,
    /// Ed25519.
    EdDSA,
}

/// A signing key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSigningKey {
    /// What it signs.
    #[serde(rename = "use")]
    pub key_use: KeyUse,
    /// Algorithm.
    pub alg: Alg,
    /// HS256: the shared secret (at least 32 bytes).
    pub secret: Option<SecretRef>,
    /// EdDSA: PKCS#8 PEM private key (omit on verify-only nodes).
    pub private_key: Option<SecretRef>,
    /// EdDSA: PEM public key.
    pub public_key: Option<SecretRef>,
    /// RFC 3339 creation time: the newest key of a use signs; all verify.
    pub created: Option<String>,
    /// Keep verifying with this key but never sign with it.
    #[serde(default)]
    pub verify_only: bool,
}

/// A base (SeaTable's table database).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBase {
    /// Workspace id.
    pub workspace_id: u64,
    /// Base name, unique within its workspace.
    pub name: String,
    /// The user who owns it (read-write, manages its API tokens).
    pub owner: String,
    /// Other users and their permission, `rw` or `r`.
    #[serde(default)]
    pub members: BTreeMap<String, String>,
    /// URL clients use for dtable-server.
    pub dtable_server: String,
    /// URL clients use for the socket.
    pub dtable_socket: String,
    /// URL clients use for dtable-db, if any.
    pub dtable_db: Option<String>,
    /// Tell clients to use the API gateway (`/api-gateway/...`).
    #[serde(default)]
    pub use_api_gateway: bool,
}

/// An external link token: exchanged for a read-only base token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    /// SHA-256 hex of the link token.
    pub sha256: String,
    /// Base uuid.
    pub base: String,
    /// A disabled link is rejected.
    #[serde(default)]
    pub disabled: bool,
}

/// A per-base API token (written by the gateway into its own file).
#[derive(Debug, Deserialize, serde::Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawApiToken {
    /// Base uuid.
    pub base: String,
    /// App name, unique per base.
    pub app_name: String,
    /// SHA-256 hex of the token.
    pub sha256: String,
    /// `rw` or `r`.
    pub permission: String,
    /// Who created it.
    pub generated_by: String,
    /// RFC 3339 creation time.
    pub generated_at: String,
    /// A disabled token is rejected.
    #[serde(default)]
    pub disabled: bool,
}

/// SeaTable-compatible endpoints served by the gateway itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeaTable {
    /// Serve the endpoints (default true when present).
    pub enabled: Option<bool>,
    /// Path prefix the endpoints are mounted under (default none: SeaTable's own paths).
    pub prefix: Option<String>,
    /// Account token lifetime in seconds (default 30 days).
    pub account_token_ttl_s: Option<u64>,
    /// Temporary token lifetime in seconds (default 3600).
    pub temporary_token_ttl_s: Option<u64>,
    /// Base token lifetime in seconds (default 3 days).
    pub base_token_ttl_s: Option<u64>,
    /// Failed logins allowed per username per minute (default 5).
    pub login_failures_per_user_per_minute: Option<u32>,
    /// Failed logins allowed per client address per minute (default 20).
    pub login_failures_per_address_per_minute: Option<u32>,
}

const SECRET_REF_EXPECTED: &str =
    "an object with exactly one of {\"env\": NAME}, {\"file\": PATH} or {\"inline\": VALUE}";

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecretRefVisitor)
    }
}

struct SecretRefVisitor;

impl<'de> serde::de::Visitor<'de> for SecretRefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(SECRET_REF_EXPECTED)
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SecretRef, E> {
        Err(E::custom(format!(
            "expected {SECRET_REF_EXPECTED}, not a bare string (its value is not shown)"
        )))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
        use serde::de::Error;
        let mut found: Option<SecretRef> = None;
        while let Some(key) = map.next_key::<String>()? {
            let value: String = map
                .next_value()
                .map_err(|_| A::Error::custom(format!("`{key}` must be a string")))?;
            let r = match key.as_str() {
                "env" => SecretRef::Env(value),
                "file" => SecretRef::File(value),
                "inline" => SecretRef::Inline(value),
                _ => {
                    return Err(A::Error::custom(format!(
                        "unknown field `{key}`, expected {SECRET_REF_EXPECTED}"
                    )));
                }
            };
            if found.replace(r).is_some() {
                return Err(A::Error::custom(format!(
                    "expected {SECRET_REF_EXPECTED}, got several"
                )));
            }
        }
        found.ok_or_else(|| A::Error::custom(format!("expected {SECRET_REF_EXPECTED}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_refs_never_echo_the_value() {
        let ok: SecretRef = serde_json::from_str(r#"{"env": "K"}"#).unwrap();
        assert_eq!(ok, SecretRef::Env("K".into()));
        for bad in [
            r#""hunter2-secret""#,
            r#"{"inline": "hunter2-secret", "env": "X"}"#,
            r#"{"x": "hunter2-secret"}"#,
        ] {
            let e = serde_json::from_str::<SecretRef>(bad)
                .unwrap_err()
                .to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
