//! Raw token policy: serde types for users, signing keys, bases, link tokens, per-base API tokens,
//! revocations and the SeaTable-compatible endpoints. They mirror the JSON and hold no logic;
//! `token::compile` checks them. Unknown fields are rejected.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::kinds::{KeyUse, TokenShape};
use crate::policy::formats::{BasePermission, Rfc3339, Sha256Hex};
use crate::policy::raw::{Permissions, RawStatus};

/// A user who can log in (POST /api2/auth-token/) and hold account, temporary and base tokens.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "user")]
pub struct RawUser {
    /// argon2id PHC string of the password (`portcullis user hash-password` reads the password on
    /// standard input and prints it).
    #[schemars(regex(pattern = r"^\$argon2id\$\S+$"))]
    pub password: String,
    /// RFC 6238 TOTP secret (base32, at least 128 bits; `portcullis user totp-secret --user NAME`),
    /// by reference. When set, login also needs the 6-digit code in the `X-SEAFILE-OTP` header.
    pub totp_secret: Option<SecretRef>,
    /// Permissions of the user's account token on proxied routes (module → actions); the user also
    /// holds those of their `roles`.
    #[serde(default)]
    pub permissions: Permissions,
    /// Names of roles (in `roles`) whose permissions the user also holds. An unknown role is a load
    /// error.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Resource scope of the user's permissions: resource name → allowed values.
    #[serde(default)]
    pub scope: BTreeMap<String, Vec<String>>,
    /// Linea21 content status passed upstream with the user's account and base tokens. Absent: P.
    pub status: Option<RawStatus>,
    /// RFC 3339 instant: the user's tokens issued before it are refused (401 `credential_revoked`).
    /// Set it to now to log the user out everywhere.
    #[schemars(with = "Option<Rfc3339>")]
    pub tokens_valid_after: Option<String>,
    /// A disabled user cannot log in and all their tokens are refused. Default false.
    #[serde(default)]
    pub disabled: bool,
    /// How fast this user's tokens may go together; overrides their roles' limits.
    pub rate_limit: Option<crate::policy::raw::RawRateLimit>,
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

/// Signature algorithms.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(rename = "alg")]
pub enum Alg {
    /// HMAC-SHA256 (SeaTable compatible).
    HS256,
    /// Ed25519.
    EdDSA,
}

/// A token signing key. HS256 keys need `secret`; EdDSA keys need `public_key`, and `private_key`
/// to sign. A SeaTable key (`"shape": "seatable"`) is the deployment's `DTABLE_PRIVATE_KEY`:
/// HS256, no `use`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "signing_key",
    extend("allOf" = [
        {
            "if": { "required": ["shape"], "properties": { "shape": { "const": "seatable" } } },
            "then": { "not": { "required": ["use"] } },
            "else": { "required": ["use"] }
        },
        {
            "if": {
                "required": ["shape", "alg"],
                "properties": { "shape": { "const": "seatable" }, "alg": { "const": "EdDSA" } }
            },
            "then": { "not": {} }
        },
        {
            "if": { "required": ["alg"], "properties": { "alg": { "const": "HS256" } } },
            "then": {
                "required": ["secret"],
                "not": { "anyOf": [{ "required": ["private_key"] }, { "required": ["public_key"] }] }
            }
        },
        {
            "if": { "required": ["alg"], "properties": { "alg": { "const": "EdDSA" } } },
            "then": { "required": ["public_key"], "not": { "required": ["secret"] } }
        }
    ])
)]
pub struct RawSigningKey {
    /// The kind of token this key signs and verifies: `account` (login tokens), `temporary` (1-hour
    /// API tokens minted from an account token) or `base` (access to one base). A token signed for
    /// one kind never verifies as another. Required, except on a SeaTable key, which has none.
    #[serde(rename = "use")]
    pub key_use: Option<KeyUse>,
    /// `portcullis` (default): Portcullis' own tokens, with the key's name as `kid`. `seatable`:
    /// SeaTable's secret (`DTABLE_PRIVATE_KEY`, HS256): it verifies tokens without `kid` in
    /// SeaTable's shapes (base tokens and temporary API tokens, told apart by their claims), and
    /// signs the base tokens of bases whose `token_shape` is `seatable`.
    pub shape: Option<TokenShape>,
    /// Signature algorithm: `HS256` (HMAC-SHA256, SeaTable compatible) or `EdDSA` (Ed25519). A
    /// token whose header names another algorithm is refused.
    pub alg: Alg,
    /// HS256 only: the shared secret, at least 32 bytes (used as the bytes written, not decoded;
    /// `portcullis user signing-secret` prints one).
    pub secret: Option<SecretRef>,
    /// EdDSA only: the Ed25519 private key in PKCS#8 PEM. Omit on nodes that only verify.
    pub private_key: Option<SecretRef>,
    /// EdDSA only: the Ed25519 public key in PEM (not secret: `inline` gives no warning).
    pub public_key: Option<SecretRef>,
    /// RFC 3339 creation time: of the keys of one use that can sign, the newest signs (ties broken
    /// by kid). Absent: the epoch (oldest).
    #[schemars(with = "Option<Rfc3339>")]
    pub created: Option<String>,
    /// Keep verifying tokens with this key but never sign with it (for rotation). Default false.
    #[serde(default)]
    pub verify_only: bool,
}

/// A SeaTable base (table database).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "base")]
pub struct RawBase {
    /// Id of the workspace the base belongs to (the `{ws}` of
    /// /api/v2.1/workspace/{ws}/dtable/{name}/...).
    pub workspace_id: u64,
    /// Base name, unique within its workspace (the `{name}` of
    /// /api/v2.1/workspace/{ws}/dtable/{name}/...).
    pub name: String,
    /// The user (in `users`) who owns the base: read-write, and manages its API tokens.
    pub owner: String,
    /// Other users (in `users`) and their permission on the base: `rw` (read-write) or `r`
    /// (read-only).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BasePermission>")]
    pub members: BTreeMap<String, String>,
    /// dtable-server URL handed to clients in access-token answers.
    pub dtable_server: String,
    /// Socket URL handed to clients in access-token answers.
    pub dtable_socket: String,
    /// dtable-db URL handed to clients, if the base has one.
    pub dtable_db: Option<String>,
    /// Tell clients (in access-token answers) to use the API gateway paths (/api-gateway/...).
    /// Default false.
    #[serde(default)]
    pub use_api_gateway: bool,
    /// Shape of the base tokens minted for this base: `portcullis` (default) or `seatable`, which
    /// a real dtable-server behind the gateway accepts (signed with the `seatable` signing key).
    pub token_shape: Option<TokenShape>,
}

/// An external link token: exchanged for a read-only base token.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "link")]
pub struct RawLink {
    /// SHA-256 of the link token as 64 hexadecimal digits.
    #[schemars(with = "Sha256Hex")]
    pub sha256: String,
    /// Uuid of the base (in `bases`) the link opens.
    pub base: String,
    /// A disabled link is refused and the base tokens minted from it are revoked. Default false.
    #[serde(default)]
    pub disabled: bool,
}

/// A per-base API token, exchanged at /api/v2.1/dtable/app-access-token/ for a base token. Written
/// by the management endpoints.
#[derive(Debug, Deserialize, serde::Serialize, JsonSchema, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "api_token")]
pub struct RawApiToken {
    /// Uuid of the base (in `bases`).
    pub base: String,
    /// App name, unique per base.
    pub app_name: String,
    /// SHA-256 of the token as 64 hexadecimal digits.
    #[schemars(with = "Sha256Hex")]
    pub sha256: String,
    /// `rw` (read-write) or `r` (read-only) on the base.
    #[schemars(with = "BasePermission")]
    pub permission: String,
    /// Who created the token.
    pub generated_by: String,
    /// RFC 3339 creation time (shown to clients; not interpreted).
    pub generated_at: String,
    /// A disabled token is refused and the base tokens minted from it are revoked. Default false.
    #[serde(default)]
    pub disabled: bool,
}

/// SeaTable-compatible token endpoints answered by the gateway itself (login, temporary tokens,
/// base tokens, external links, API token management), never routed or forwarded. Present and not
/// disabled: served.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "seatable")]
pub struct RawSeaTable {
    /// Serve the endpoints. Default true when the section is present.
    pub enabled: Option<bool>,
    /// Path prefix the endpoints are mounted under, e.g. `/seatable` (trailing `/` ignored).
    /// Default none: SeaTable's own paths (/api2/auth-token/, /api/v2.1/...).
    #[schemars(regex(pattern = "^(/.*)?$"))]
    pub prefix: Option<String>,
    /// Account token lifetime in seconds. Default 2592000 (30 days).
    pub account_token_ttl_s: Option<u64>,
    /// Temporary token lifetime in seconds. Default 3600 (1 hour).
    pub temporary_token_ttl_s: Option<u64>,
    /// Base token lifetime in seconds. Default 259200 (3 days).
    pub base_token_ttl_s: Option<u64>,
    /// Failed logins allowed per username per minute before further attempts are throttled (429).
    /// Default 5; 0 counts as 1.
    pub login_failures_per_user_per_minute: Option<u32>,
    /// Failed logins allowed per client address per minute before further attempts are throttled
    /// (429). Default 20; 0 counts as 1.
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
