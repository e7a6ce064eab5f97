//! Raw imports: serde types for the foreign permission files a policy imports as they are (a
//! Linea21 `api-permissions*.json`). `policy::linea21` compiles them into keys.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// A foreign permission file read as it is.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "import")]
pub struct RawImport {
    /// The file's format. `linea21`: a Linea21 api-permissions*.json (token → {description,
    /// contact, permissions}); each token becomes an API key with id `l21-` + the first 12 hex
    /// digits of its SHA-256, its `permissions.status` becomes the key's content status. Plaintext
    /// tokens are digested at load and never logged; loading warns about them.
    pub format: ImportFormat,
    /// Path of the file, relative to the policy file that imports it. It may live outside the
    /// policy directory; it is watched and re-read like the policy.
    #[schemars(length(min = 1))]
    pub path: String,
}

/// Foreign formats Portcullis reads.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "import_format")]
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
