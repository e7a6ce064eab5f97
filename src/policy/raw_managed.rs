//! The gateway's own file in the policy directory, `portcullis-managed.json`: what the
//! management APIs wrote. SeaTable API tokens are part of the policy (compiled with it); the
//! `registry` section is compiled apart (`registry::Index`), so a write to it never recompiles
//! the policy files.

use serde::{Deserialize, Serialize};

use crate::policy::raw::RawApiToken;
use crate::registry;

/// The managed file's name inside the policy directory.
pub const MANAGED_FILE: &str = "portcullis-managed.json";

/// What the managed file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManagedFile {
    /// A note for people who open it.
    #[serde(rename = "$comment", default)]
    pub comment: String,
    /// Per-base SeaTable API tokens.
    #[serde(default)]
    pub api_tokens: Vec<RawApiToken>,
    /// contract.fit roles, users and API keys; Trivore authorisation records.
    #[serde(default)]
    pub registry: registry::State,
}

/// Whether `path` is the managed file of a policy directory.
pub fn is_managed(path: &std::path::Path) -> bool {
    path.file_name().is_some_and(|n| n == MANAGED_FILE)
}
