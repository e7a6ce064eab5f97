//! Raw types of the `management` section: the contract.fit and Trivore management APIs, the
//! clients that may call them, and what authorisation records grant.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::policy::formats::Sha256Hex;
use crate::policy::raw::Permissions;

/// Management APIs answered by the gateway itself. What they write (roles, users, API keys,
/// authorisation records) is kept in portcullis-managed.json in the policy directory. At most one
/// policy file may set it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "management")]
pub struct RawManagement {
    /// contract.fit-compatible API keys scoped to inboxes and documents (`POST {prefix}/auth`,
    /// `{prefix}/roles`, `{prefix}/users`, `{prefix}/auth/api-key`). Absent: not served.
    pub contractfit: Option<RawContractFit>,
    /// Trivore onePortal-compatible authorisation records (`{prefix}/api/rest/v1/authorisation`).
    /// Absent: not served.
    pub trivore: Option<RawTrivore>,
    /// Management API clients by client id. They authenticate with HTTP Basic
    /// (`client_id:client_secret`), as onePortal's Management API clients do.
    #[serde(default)]
    pub clients: BTreeMap<String, RawClient>,
    /// What an active authorisation record grants its subject, by authorisation type. Records of
    /// other types are kept and listed but grant nothing.
    #[serde(default)]
    pub authorisation_types: BTreeMap<String, RawAuthorisationType>,
}

/// The contract.fit API.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "contractfit")]
pub struct RawContractFit {
    /// Path prefix of the endpoints. Default `/admin`.
    #[schemars(regex(pattern = "^(/.*)?$"))]
    pub prefix: Option<String>,
    /// Lifetime of the tokens `POST {prefix}/auth` returns, in seconds. Default 3600.
    pub token_ttl_s: Option<u64>,
    /// Failed logins allowed per username per minute before further attempts are throttled
    /// (429). Default 5; 0 counts as 1.
    pub login_failures_per_user_per_minute: Option<u32>,
    /// Failed logins allowed per client address per minute before further attempts are throttled
    /// (429). Default 20; 0 counts as 1.
    pub login_failures_per_address_per_minute: Option<u32>,
}

/// The Trivore API.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "trivore")]
pub struct RawTrivore {
    /// Path prefix of the endpoints. Default none: onePortal's own paths (`/api/rest/v1/...`).
    #[schemars(regex(pattern = "^(/.*)?$"))]
    pub prefix: Option<String>,
}

/// A management API client.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "management_client")]
pub struct RawClient {
    /// SHA-256 of the client secret as 64 hexadecimal digits.
    #[schemars(with = "Sha256Hex")]
    pub sha256: String,
    /// Permissions on management modules (`authorisation`: `view`, `create`, `update`,
    /// `delete`, `revoke`; `api_key`, `user`, `role`: `view`, `create`, ...).
    #[serde(default)]
    pub permissions: Permissions,
    /// Names of roles (in `roles`) whose permissions the client also holds.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Namespaces (`nsCode`) whose authorisation records the client sees and writes; the first
    /// is its default namespace. Default `["root"]`.
    pub namespaces: Option<Vec<String>>,
    /// A disabled client is refused. Default false.
    #[serde(default)]
    pub disabled: bool,
}

/// What an authorisation type grants.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "authorisation_type")]
pub struct RawAuthorisationType {
    /// The role (in `roles`) the subject holds while a record is active.
    pub role: String,
    /// The resource a record's object value is (e.g. `permit`, `inbox`): the role holds only on
    /// routes that capture this resource with that value.
    pub resource: String,
}
