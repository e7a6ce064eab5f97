//! Raw policy: serde types that mirror the policy JSON and hold no logic.
//!
//! Every object a person writes is read with unknown fields rejected, so a misspelled field is a
//! load error, not a silently ignored rule. `policy::compile` turns these into a `Snapshot`;
//! `policy::source` reads the files; nothing here is used on the request path.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::policy::raw_tokens::*;

/// One policy file as written. Every section is optional so a policy can be split across files.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Optional `$schema` reference for editors; ignored.
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// A note for people; ignored.
    #[serde(rename = "$comment")]
    pub comment: Option<String>,
    /// Linea21's API_PROVIDE: `disabled`, `full-access` or `limited-access` (the default).
    pub mode: Option<Mode>,
    /// What an unmapped request gets: 404 (default) or 403.
    pub unmapped_status: Option<u16>,
    /// Query parameters that may carry a credential (Linea21 `token`, contract.fit `api_key`).
    pub credential_query_params: Option<Vec<String>>,
    /// Forward-auth answers (the decision service of nginx `auth_request` and the like).
    pub forward_auth: Option<RawForwardAuth>,
    /// Upstream applications by name.
    #[serde(default)]
    pub upstreams: BTreeMap<String, RawUpstream>,
    /// Routes, in any order: precedence comes from specificity, not position.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// Named permission sets.
    #[serde(default)]
    pub roles: BTreeMap<String, Permissions>,
    /// API keys by id.
    #[serde(default)]
    pub keys: BTreeMap<String, RawKey>,
    /// Foreign permission files read as they are.
    #[serde(default)]
    pub imports: Vec<RawImport>,
    /// Users (account, temporary and base tokens).
    #[serde(default)]
    pub users: BTreeMap<String, RawUser>,
    /// Token signing keys by `kid`.
    #[serde(default)]
    pub signing_keys: BTreeMap<String, RawSigningKey>,
    /// Bases by uuid.
    #[serde(default)]
    pub bases: BTreeMap<String, RawBase>,
    /// External link tokens by id.
    #[serde(default)]
    pub links: BTreeMap<String, RawLink>,
    /// Per-base API tokens (the gateway writes these to its own file).
    #[serde(default)]
    pub api_tokens: Vec<RawApiToken>,
    /// Revoked token ids (`jti`).
    #[serde(default)]
    pub revoked_tokens: Vec<String>,
    /// SeaTable-compatible token endpoints.
    pub seatable: Option<RawSeaTable>,
}

/// Linea21's three API modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// API routes are denied.
    Disabled,
    /// API routes are forwarded without a credential.
    FullAccess,
    /// API routes need a credential with the permission.
    LimitedAccess,
}

/// An upstream application.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// `http://host:port[/prefix]`, or `builtin:echo` for the in-process demo upstream.
    pub url: String,
    /// Time allowed for the response head, in milliseconds (default 30000).
    pub timeout_ms: Option<u64>,
}

/// Where a module, action or resource value comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "a literal string, {\"path\": \"<param>\"} or {\"query\": \"<name>\"}"
)]
pub enum RawValue {
    /// A fixed value.
    Literal(String),
    /// A capture.
    Capture(RawCapture),
}

/// A value captured from the request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCapture {
    /// Name of a `{param}` in the route path.
    pub path: Option<String>,
    /// Name of a query parameter.
    pub query: Option<String>,
}

/// A route: (method, host, path, query) → module, action, resources, upstream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Stable id, used in logs, errors and `explain`.
    pub id: String,
    /// Methods this route matches; absent or empty means any method.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Host (without port) this route is limited to.
    pub host: Option<String>,
    /// matchit path template: `/api/{module}/{action}`, `/static/{*rest}`.
    pub path: String,
    /// Query constraints: name → exact value, or `"*"` for "present".
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// The module this request acts on.
    pub module: Option<RawValue>,
    /// The action this request performs.
    pub action: Option<RawValue>,
    /// Resource values (e.g. `inbox`, `document`, `base`) the request targets.
    #[serde(default)]
    pub resources: BTreeMap<String, RawValue>,
    /// Upstream name.
    pub upstream: String,
    /// No credential needed (module and action are then optional).
    #[serde(default)]
    pub public: bool,
    /// Forward the credential to the upstream instead of removing it.
    #[serde(default)]
    pub keep_credential: bool,
    /// Allow `%25` (an encoded percent sign) in the target.
    #[serde(default)]
    pub allow_encoded_percent: bool,
    /// Credential kinds this route accepts (default `api_key` and `account`).
    pub accept: Option<Vec<CredentialKind>>,
    /// How rejections look (default `standard`; `seatable` for SeaTable clients).
    #[serde(default)]
    pub error_style: ErrorStyle,
}

/// Forward-auth answers.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForwardAuth {
    /// `Cache-Control: max-age` on allowed decisions, in seconds (default 0: `no-store`). A
    /// fronting proxy that caches may keep serving an allow for this long after a revocation.
    pub cache_max_age_s: Option<u32>,
}

/// Kinds of credential a route can accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
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
}

/// Rejection body styles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
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
}

/// Permissions: module → actions, where `["all"]` grants every action.
pub type Permissions = BTreeMap<String, Vec<String>>;

/// An API key. Only the SHA-256 digest of its secret is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// Lowercase hex SHA-256 of the secret.
    pub sha256: String,
    /// Who or what the key is for.
    pub description: Option<String>,
    /// Whom to call about it.
    pub contact: Option<String>,
    /// Direct permissions.
    #[serde(default)]
    pub permissions: Permissions,
    /// Role names whose permissions the key also holds.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Resource scope: resource name → allowed values.
    #[serde(default)]
    pub scope: BTreeMap<String, Vec<String>>,
    /// Content status the upstream may return (Linea21): absent = public only, `"all"`, or a list.
    pub status: Option<RawStatus>,
    /// Only read actions (GET, HEAD).
    #[serde(default)]
    pub read_only: bool,
    /// RFC 3339 instant before which the key is not valid.
    pub not_before: Option<String>,
    /// RFC 3339 instant from which the key is expired.
    pub expires_at: Option<String>,
    /// A disabled key is rejected like an unknown one.
    #[serde(default)]
    pub disabled: bool,
}

/// Linea21 content status scope.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "\"all\", a status (P, D, PA, AA) or a list of statuses"
)]
pub enum RawStatus {
    /// `"all"` or one status code.
    One(String),
    /// Several status codes (`P`, `D`, `PA`, `AA`).
    Many(Vec<String>),
}

/// A foreign file imported as it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImport {
    /// The format: `linea21`.
    pub format: ImportFormat,
    /// Path, relative to the importing file.
    pub path: String,
}

/// Foreign formats Portcullis reads.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportFormat {
    /// A Linea21 `api-permissions*.json`.
    Linea21,
}

/// One entry of a Linea21 permission file (token → entry).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linea21Entry {
    /// Who the token is for.
    pub description: Option<String>,
    /// Whom to call about it.
    pub contact: Option<String>,
    /// module → actions, plus the optional `status` member.
    pub permissions: BTreeMap<String, Linea21Value>,
}

/// A member of Linea21's `permissions`: an action list, or the `status` string.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a list of actions, or the status string")]
pub enum Linea21Value {
    /// Actions of one module.
    Actions(Vec<String>),
    /// The `status` scope.
    Status(String),
}
