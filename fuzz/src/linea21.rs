//! The Linea21 import: the input is written as a Linea21 `api-permissions` file that a fixed,
//! valid policy imports, and the pair goes through `policy::load` + `policy::compile` with the
//! same checks as [`crate::policy`]: no panic, every error of a readable file located.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::{policy, scratch};

const POLICY: &str = r#"{
  "mode": "limited-access",
  "upstreams": { "app": { "url": "builtin:echo" } },
  "routes": [],
  "imports": [ { "format": "linea21", "path": "linea21-import.json" } ]
}"#;

/// The importing policy, written once per process.
fn policy_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| scratch::write("linea21-policy.json", POLICY.as_bytes()))
}

/// Check one input.
pub fn run(data: &[u8]) {
    let importing = policy_path();
    scratch::write("linea21-import.json", data);
    policy::check(importing, std::str::from_utf8(data).is_ok());
}
