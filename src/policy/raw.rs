//! Raw policy: serde types that mirror the policy JSON and hold no logic.
//!
//! Every object a person writes is read with unknown fields rejected, so a misspelled field is a
//! load error, not a silently ignored rule. `policy::compile` turns these into a `Snapshot`;
//! `policy::source` reads the files; nothing here is used on the request path.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::kinds::{CredentialKind, ErrorStyle, KeyUse, Mode};
use crate::policy::formats::{Rfc3339, Sha256Hex};
pub use crate::policy::raw_imports::*;
pub use crate::policy::raw_keys::RawKeys;
pub use crate::policy::raw_limits::*;
pub use crate::policy::raw_management::*;
pub use crate::policy::raw_tokens::*;

/// One Portcullis policy file. The policy is one such file, or every *.json file of a directory
/// (hidden files skipped) merged in name order, so every section is optional. Sections that are
/// maps (upstreams, roles, keys, users, signing_keys, bases, links) are merged by name, and a name
/// defined in two files is a load error naming both places; lists (routes, imports, api_tokens,
/// revoked_tokens) are concatenated; the single settings (mode, unmapped_status,
/// credential_query_params) may be given by at most one file. Unknown fields are rejected
/// everywhere, so a misspelled field is a load error rather than an ignored rule. The whole policy
/// is hot reloaded; a policy that does not compile changes nothing. `portcullis check` validates a
/// policy beyond what this schema can express (references between sections, route conflicts, secret
/// files). See docs/policy.md.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Portcullis policy file")]
pub struct RawPolicy {
    /// Reference to this schema, for editors. Ignored by Portcullis.
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// A note for people. Ignored by Portcullis. Only accepted at the top level of a policy file.
    #[serde(rename = "$comment")]
    pub comment: Option<String>,
    /// The API mode, as Linea21's API_PROVIDE: `disabled` denies every non-public route (403
    /// `api_disabled`); `full-access` forwards every non-public route without checking any
    /// credential; `limited-access` requires a valid credential holding the route's (module,
    /// action) permission. Public routes are not affected. Default `limited-access`. At most one
    /// policy file may set it.
    pub mode: Option<Mode>,
    /// HTTP status for a request no route maps (reason `no_route`): 404 or 403. Default 404.
    /// Unmapped requests are never forwarded. At most one policy file may set it.
    #[schemars(extend("enum" = [404, 403]))]
    pub unmapped_status: Option<u16>,
    /// Names of query parameters that may carry a credential, besides `Authorization: Bearer|Token`
    /// and `X-API-Key` (e.g. Linea21's `token`, contract.fit's `api_key`). Default none. A request
    /// presenting more than one credential, or one of these parameters twice or as an array, is
    /// refused with 400 `multiple_credentials`; the parameter is removed from the forwarded query
    /// unless the route sets `keep_credential`. List each name once (a name listed twice makes
    /// every credential in that parameter count twice). At most one policy file may set it.
    #[schemars(extend("uniqueItems" = true))]
    pub credential_query_params: Option<Vec<String>>,
    /// Forward-auth answers (when the gateway is the decision service of nginx `auth_request`,
    /// Traefik `ForwardAuth` or Caddy `forward_auth`). At most one policy file may set it.
    pub forward_auth: Option<RawForwardAuth>,
    /// Upstream applications by name. Routes name one in `upstream`.
    #[serde(default)]
    pub upstreams: BTreeMap<String, RawUpstream>,
    /// Routes, in any order: which route a request belongs to is decided by specificity, never by
    /// position. Routes that a request could match with equal specificity are a load error naming
    /// both ids.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// Named permission sets, by role name. Keys and users list role names in `roles` and hold the
    /// union of those permissions and their own.
    #[serde(default)]
    pub roles: BTreeMap<String, Permissions>,
    /// API keys by key id. The id is the only name a key has in logs, metrics and the
    /// `X-Portcullis-Key-Id` header; the secret itself is never stored, only its SHA-256 digest
    /// (`portcullis key new --id ID` prints a fresh secret and the entry). Ids of the form `l21-<12
    /// hex digits>` are taken by imported Linea21 tokens.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawKey>")]
    pub keys: RawKeys,
    /// Foreign permission files read as they are (a Linea21 api-permissions*.json). Their tokens
    /// become API keys.
    #[serde(default)]
    pub imports: Vec<RawImport>,
    /// Users by login name: they log in on the SeaTable-compatible endpoints to get account tokens,
    /// and from those temporary and base tokens.
    #[serde(default)]
    pub users: BTreeMap<String, RawUser>,
    /// Token signing and verification keys by `kid` (the JWT header's key id). Each key is for one
    /// kind of token (`use`); for each use the newest key (by `created`) that can sign signs new
    /// tokens, and every key of that use verifies. Rotate by adding a newer key and keeping the old
    /// one (`verify_only`) until its tokens have expired.
    #[serde(default)]
    pub signing_keys: BTreeMap<String, RawSigningKey>,
    /// SeaTable bases by uuid. The uuid is the value base tokens are scoped to: routes capture it
    /// as the `base` resource.
    #[serde(default)]
    pub bases: BTreeMap<String, RawBase>,
    /// External link tokens by id. A link token is exchanged at
    /// `/api/v2.1/external-link-tokens/{token}/access-token/` for a read-only base token; tokens
    /// minted from a link are revoked when the link is disabled or removed.
    #[serde(default)]
    pub links: BTreeMap<String, RawLink>,
    /// Per-base API tokens (SeaTable's). The management endpoints write these into
    /// portcullis-managed.json in the policy directory; do not edit that file by hand.
    #[serde(default)]
    pub api_tokens: Vec<RawApiToken>,
    /// Ids (`jti` claim) of signed tokens that are rejected from the next reload on (401
    /// `credential_revoked`). Lists from several files are combined.
    #[serde(default)]
    pub revoked_tokens: Vec<String>,
    /// SeaTable-compatible token endpoints (login, temporary and base tokens, external links, API
    /// token management), answered by the gateway itself. Absent: not served. Give this section in
    /// one file only: when several files give it, the last enabled one (in name order) is used, and
    /// `enabled: false` in one file does not disable a section another file enables.
    pub seatable: Option<RawSeaTable>,
    /// Rate limits by role and module, for anonymous requests, the failed-credential throttle,
    /// and whether allowed responses carry `RateLimit` headers.
    pub rate_limits: Option<RawRateLimits>,
    /// Methods the gateway accepts at all, before routing (anything else: 501
    /// `method_not_implemented`; CONNECT: 405). Default: GET, HEAD, POST, PUT, DELETE, OPTIONS,
    /// TRACE, PATCH. At most one policy file may set it.
    pub allowed_methods: Option<Vec<String>>,
    /// More request headers never forwarded (compared case-insensitively, `_` as `-`), besides
    /// the built-in list of method and URL override headers. At most one policy file may set it.
    pub never_forward: Option<Vec<String>>,
    /// contract.fit and Trivore management APIs, their clients, and what authorisation records
    /// grant. At most one policy file may set it.
    pub management: Option<RawManagement>,
}

/// An upstream application.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "upstream")]
pub struct RawUpstream {
    /// `http://host:port[/prefix]`, or `builtin:echo` for the in-process demo upstream that echoes
    /// the request it receives. A path prefix (trailing `/` ignored) is prepended to every
    /// forwarded path. No query, no fragment; only plain http.
    #[schemars(regex(pattern = r"^(builtin:echo|[Hh][Tt][Tt][Pp]://[^/?#\s]+[^?#\s]*)$"))]
    pub url: String,
    /// Time allowed for the upstream's response head, in milliseconds; past it the client gets 504
    /// `upstream_timeout`. Default 30000.
    pub timeout_ms: Option<u64>,
    /// The `Host` the upstream receives (as nginx's `proxy_set_header Host`). Default: the
    /// client's. `X-Forwarded-Host` still carries the client's.
    pub host: Option<String>,
}

/// Where a module, action or resource value comes from: a literal string, `{"path": "<param>"}` (a
/// `{param}` or `{*param}` of the route's path template) or `{"query": "<name>"}` (a query
/// parameter, read as PHP reads it: a repeated, array or mangled-alias parameter is refused with
/// 400).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a literal string, {\"path\": \"<param>\"} or {\"query\": \"<name>\"}"
)]
#[schemars(rename = "value")]
pub enum RawValue {
    /// A fixed value.
    Literal(#[schemars(length(min = 1))] String),
    /// A capture.
    Capture(RawCapture),
}

/// A value captured from the request: exactly one of `path`, `query` or `seatable_base`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "capture", extend("minProperties" = 1, "maxProperties" = 1))]
pub struct RawCapture {
    /// Name of a `{param}` or `{*param}` in this route's `path` template (without braces or `*`).
    #[schemars(length(min = 1))]
    pub path: Option<String>,
    /// Name of a query parameter. When it is absent from a request, a non-public route answers 400
    /// `missing_parameter` (for module or action) or captures nothing (for a resource).
    #[schemars(length(min = 1))]
    pub query: Option<String>,
    /// Name of a `{param}` or `{*param}` in this route's `path` template holding a SeaTable path:
    /// the value is the base uuid SeaTable puts there (`api/v1/dtables/{uuid}/…`,
    /// `api/v2/dtables/{uuid}/…` or `dtables/{uuid}/…`, lowercase with dashes). A request whose
    /// capture has no such uuid is refused (403 `out_of_scope`). With `"resources": {"base":
    /// {"seatable_base": "rest"}}` a catch-all route such as `/dtable-server/{*rest}` admits a base
    /// token only on its own base's URLs.
    #[schemars(length(min = 1))]
    pub seatable_base: Option<String>,
}

/// A route: (method, host, path, query) → module, action, resources and upstream. Precedence:
/// routes of the request's host before routes without `host`; then the most specific path template
/// (static segment over `{param}` over `{*rest}`); among routes on that same template, a route
/// listing methods over one matching any method, then the route with more query constraints.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "route",
    extend(
        "if" = { "required": ["public"], "properties": { "public": { "const": true } } },
        "else" = { "required": ["module", "action"] },
    )
)]
pub struct RawRoute {
    /// Stable, unique id of the route, used in access logs, load errors and `portcullis explain`.
    #[schemars(length(min = 1))]
    pub id: String,
    /// Upper-case HTTP methods this route matches. Absent or empty: any method. HEAD is not implied
    /// by GET: list it. A path whose routes all exclude the request's method answers 405.
    #[serde(default)]
    #[schemars(inner(regex(pattern = "^[A-Z]+$")))]
    pub methods: Vec<String>,
    /// Limit the route to this host (compared case-insensitively with the request's Host or
    /// :authority, without port; an IPv6 address without brackets). Absent: any host. Host routes
    /// take precedence over routes without host.
    pub host: Option<String>,
    /// matchit path template, matched against the percent-decoded request path: static segments,
    /// `{name}` (one segment, or part of one such as `img-{id}.png`), `{*rest}` (the rest of the
    /// path, at least one character; last only). `{{` and `}}` are literal braces. Must start with
    /// `/` and contain neither `//` nor `?`. Two templates matchit cannot tell apart (`/a/{x}` and
    /// `/a/{y}`) are a load error.
    #[schemars(regex(pattern = "^/[^?]*$"), extend("not" = { "pattern": "//" }))]
    pub path: String,
    /// Query constraints, all of which must hold for the route to match: parameter name → exact
    /// value, or "*" for present with any value. A constrained parameter that is repeated or an
    /// array is refused with 400, never skipped.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// The module the request acts on (the first half of the permission it needs). Required unless
    /// `public` is true.
    pub module: Option<RawValue>,
    /// The action the request performs (the second half of the permission it needs). Required
    /// unless `public` is true.
    pub action: Option<RawValue>,
    /// Resource values the request targets (e.g. `inbox`, `document`, `base`), by resource name.
    /// They are checked against a credential's `scope`; a base token passes only routes whose
    /// `base` resource is its base. Each is sent upstream as `X-Portcullis-Resource-<name>`, so
    /// names are HTTP header-name characters.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }))]
    pub resources: BTreeMap<String, RawValue>,
    /// Name of the upstream (in `upstreams`) permitted requests are forwarded to.
    pub upstream: String,
    /// No credential needed, whatever the mode: every request the route matches is forwarded.
    /// `module` and `action` are then optional. Default false.
    #[serde(default)]
    pub public: bool,
    /// Forward the credential (Authorization, X-API-Key or credential query parameter) to the
    /// upstream instead of removing it. Default false.
    #[serde(default)]
    pub keep_credential: bool,
    /// Allow `%25` (an encoded percent sign) in the request target; otherwise such a request is
    /// refused with 400 `encoded_percent`. Default false.
    #[serde(default)]
    pub allow_encoded_percent: bool,
    /// Allow an encoded `?` or `#` (`%3F`, `%23`) in the path, which a PHP or CGI upstream may read
    /// as the end of the script name; otherwise 400 `encoded_delimiter`. Default false.
    #[serde(default)]
    pub allow_encoded_delimiters: bool,
    /// Allow a `_method` parameter in the query or a form body (frameworks such as Laravel and
    /// Symfony run the method it names instead of the one decided); otherwise 400
    /// `method_override`. Default false.
    #[serde(default)]
    pub allow_method_override: bool,
    /// Forward WebSocket upgrades (HTTP/1.1 `Upgrade: websocket`): the upgrade request is decided
    /// like any other, and the tunnel opens only once the upstream answers 101. Elsewhere
    /// `Upgrade` is never forwarded. Default false.
    #[serde(default)]
    pub websocket: bool,
    /// Credential kinds this route accepts: `api_key` (keys and imported Linea21 tokens), `account`
    /// (a user's account token), `base` (a base token for the route's `base` resource). Another
    /// valid kind is refused with 401 `wrong_credential_kind`. Default ["api_key", "account"].
    #[schemars(with = "Option<Vec<RouteCredentialKind>>")]
    pub accept: Option<Vec<CredentialKind>>,
    /// How rejections on this route look: `standard` (JSON `{"error", "message", "request_id"}`
    /// with the documented status) or `seatable` (every 401/403 becomes 403 `{"error_msg": "Token
    /// expired."}` or `{"error_msg": "Permission denied."}`, as SeaTable clients expect). Default
    /// `standard`.
    #[serde(default)]
    pub error_style: ErrorStyle,
    /// Default rate limit of this route, per principal (or per client address without one),
    /// for principals without a limit of their own or from their roles.
    pub rate_limit: Option<RawRateLimit>,
}

/// The credential kinds a policy route may accept (the schema of `accept`; `CredentialKind` also
/// has the kinds only built-in endpoints take, which the compiler refuses on policy routes).
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "route_credential_kind")]
#[expect(dead_code, reason = "describes the schema only")]
enum RouteCredentialKind {
    /// An API key from `keys` or an import.
    ApiKey,
    /// An account token (a user's login).
    Account,
    /// A base token (access to one base).
    Base,
    /// A verified TLS client certificate a key names by fingerprint.
    ClientCertificate,
}

/// Permissions: module → actions, where `["all"]` grants every action.
pub type Permissions = BTreeMap<String, Vec<String>>;

/// An API key. Only the SHA-256 digest of its secret is stored; the client presents the secret as
/// `Authorization: Bearer <secret>`, `Authorization: Token <secret>`, `X-API-Key: <secret>` or a
/// credential query parameter. Keys are replaced, not edited: to rotate, add a new key and remove
/// (or disable) the old one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "key")]
pub struct RawKey {
    /// SHA-256 of the secret as 64 hexadecimal digits. Every key needs its own secret: two keys
    /// with the same digest are a load error.
    #[schemars(with = "Sha256Hex")]
    pub sha256: String,
    /// Who or what the key is for.
    pub description: Option<String>,
    /// Whom to call about the key.
    pub contact: Option<String>,
    /// The key's own permissions (module → actions); it also holds those of its `roles`.
    #[serde(default)]
    pub permissions: Permissions,
    /// Names of roles (in `roles`) whose permissions the key also holds. An unknown role is a load
    /// error.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Resource scope of the key's permissions: resource name → allowed values.
    #[serde(default)]
    pub scope: BTreeMap<String, Vec<String>>,
    /// Linea21 content status passed upstream in `X-Portcullis-Status`. Absent: P.
    pub status: Option<RawStatus>,
    /// Only GET and HEAD requests pass; other methods are refused with 403 `read_only`. Default
    /// false.
    #[serde(default)]
    pub read_only: bool,
    /// RFC 3339 instant before which the key is refused (401 `credential_not_yet_valid`).
    #[schemars(with = "Option<Rfc3339>")]
    pub not_before: Option<String>,
    /// RFC 3339 instant from which the key is refused (401 `credential_expired`).
    #[schemars(with = "Option<Rfc3339>")]
    pub expires_at: Option<String>,
    /// A disabled key is refused (401 `credential_disabled`). Default false.
    #[serde(default)]
    pub disabled: bool,
    /// SHA-256 fingerprint (hex, colons allowed) of a TLS client certificate that stands for this
    /// key on listeners with `tls.client_ca`, when the request presents no other credential and
    /// the route accepts `client_certificate`.
    pub client_certificate_sha256: Option<String>,
    /// How fast this key may go; overrides its roles' limits (`rate_limits.roles`).
    pub rate_limit: Option<RawRateLimit>,
    /// How much this key may use: requests in all and per UTC day (429 `quota_exhausted`).
    pub quota: Option<RawQuota>,
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
