//! Signed identity assertion settings, per upstream.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

/// How one upstream's assertions are signed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "assertion")]
pub struct AssertionSettings {
    /// `hs256` (a shared secret: the file holds at least 32 bytes) or `eddsa` (Ed25519: the file
    /// holds a PKCS#8 PEM private key; the upstream holds the public key).
    pub algorithm: AssertionAlgorithm,
    /// The key file, relative to this settings file. Read at start.
    pub key_file: PathBuf,
    /// Lifetime of an assertion in seconds. Default 30.
    #[serde(default = "thirty")]
    #[schemars(range(min = 1))]
    pub ttl_s: u32,
    /// A key id put in the token header (`kid`), for rotation. Absent: none.
    pub kid: Option<String>,
}

fn thirty() -> u32 {
    30
}

/// Assertion signature algorithms.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "assertion_algorithm")]
pub enum AssertionAlgorithm {
    /// HMAC-SHA-256.
    Hs256,
    /// Ed25519.
    Eddsa,
}
