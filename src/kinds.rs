//! Kinds: the small closed vocabularies that the policy file names and the request path acts on
//! — the API mode, credential kinds, token uses and rejection styles.
//!
//! They are read from the policy (with `serde`, described in its JSON Schema with `schemars`;
//! `policy::raw` re-exports them) and used by routing, identity, tokens, the decision and the
//! rejection mapping. Keeping them here, apart from the policy module, lets those modules name
//! them without importing the policy that compiles them.

use schemars::JsonSchema;
use serde::Deserialize;

/// Linea21's three API modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "mode")]
pub enum Mode {
    /// API routes are denied.
    Disabled,
    /// API routes are forwarded without a credential.
    FullAccess,
    /// API routes need a credential with the permission.
    LimitedAccess,
}

/// Kinds of credential a route can accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "credential_kind")]
pub enum CredentialKind {
    /// An API key from `keys` or an import.
    ApiKey,
    /// An account token (a user's login).
    Account,
    /// A base token (access to one base).
    Base,
    /// A SeaTable API token (one base, `rw` or `r`). Only the built-in token endpoints take it,
    /// to exchange it for a base token; a policy route may not list it.
    ApiToken,
    /// A SeaTable temporary token. Only the built-in token endpoints take it; a policy route may
    /// not list it.
    Temporary,
    /// A verified TLS client certificate (mutual TLS) whose SHA-256 fingerprint a key names in
    /// `client_certificate_sha256`; used only when the request presents no other credential.
    ClientCertificate,
    /// A management API client (HTTP Basic `client_id:client_secret`). Only the built-in
    /// management endpoints take it; a policy route may not list it.
    ManagementClient,
}

/// Rejection body styles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "error_style")]
pub enum ErrorStyle {
    /// `{"error", "message", "request_id"}` with 401/403 as documented.
    #[default]
    Standard,
    /// SeaTable's: 403 `{"error_msg": "Token expired."}` / `{"error_msg": "Permission denied."}`.
    Seatable,
    /// SeaTable's web API (Django REST framework): `401 {"detail": "Invalid token"}` for a bad
    /// credential, `403 {"detail": ...}` without the permission, `405 {"detail": ...}`; other
    /// rejections as `standard`.
    SeatableWeb,
    /// onePortal's Management API: `{"errorMessage": ...}` (with the reason code beside it).
    Trivore,
}

/// Which tokens a signing key is for. Each kind has its own keys, so a token signed for one
/// kind never verifies as another.
#[derive(
    Debug,
    Clone,
    Copy,
    Deserialize,
    serde::Serialize,
    JsonSchema,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "key_use")]
pub enum KeyUse {
    /// Account tokens (login).
    Account,
    /// Temporary API tokens (1 hour).
    Temporary,
    /// Base tokens (access to one base).
    Base,
}

/// The claim shape of signed tokens: Portcullis' own (`kid` header, `kind`, `sub`, `jti`), or
/// SeaTable's (no `kid`, `dtable_uuid`, `permission`, `username`…), which dtable-web issues and
/// dtable-server verifies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "token_shape")]
pub enum TokenShape {
    /// Portcullis' own claims, signed under a `kid`.
    #[default]
    Portcullis,
    /// SeaTable's claims, signed with the deployment's `DTABLE_PRIVATE_KEY` (HS256, no `kid`).
    Seatable,
}

/// The methods accepted before routing when the policy names none (`allowed_methods`): RFC
/// 9110's, without CONNECT, and PATCH.
pub const DEFAULT_METHODS: [http::Method; 8] = [
    http::Method::GET,
    http::Method::HEAD,
    http::Method::POST,
    http::Method::PUT,
    http::Method::DELETE,
    http::Method::OPTIONS,
    http::Method::TRACE,
    http::Method::PATCH,
];
