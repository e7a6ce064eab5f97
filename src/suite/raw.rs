//! The test file format: `{"cases": [{"name", "request", "expect"}]}`, read with unknown fields
//! refused so a misspelled expectation is an error, not a pass.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSuite {
    /// Editor schema reference; ignored.
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// A note for people; ignored.
    #[serde(rename = "$comment")]
    pub comment: Option<String>,
    /// The cases, in order.
    pub cases: Vec<RawCase>,
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    /// What it checks, for the report.
    pub name: String,
    /// The request.
    pub request: RawRequest,
    /// What it must get.
    pub expect: RawExpect,
}

/// A request as a client would send it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// Method (default GET).
    pub method: Option<String>,
    /// Host (routes with a `host` match on it).
    pub host: Option<String>,
    /// Path with query, as sent (not normalized).
    pub path: String,
    /// Further headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Decide as this key id (no secret needed).
    pub key_id: Option<String>,
    /// Present this secret as `Authorization: Bearer`.
    pub secret: Option<String>,
    /// Present an account token for this user, minted with the policy's signing keys.
    pub user: Option<String>,
    /// When (RFC 3339); default now.
    pub at: Option<String>,
}

/// The expected outcome: allowed, or refused with a reason code; optionally what the decision
/// found.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// Allowed (true) or refused (false).
    pub allow: Option<bool>,
    /// The reason code of the refusal (implies `allow: false`).
    pub reason: Option<String>,
    /// The route id.
    pub route: Option<String>,
    /// The module.
    pub module: Option<String>,
    /// The action.
    pub action: Option<String>,
    /// Resource values.
    pub resources: Option<BTreeMap<String, String>>,
    /// The upstream name.
    pub upstream: Option<String>,
}
