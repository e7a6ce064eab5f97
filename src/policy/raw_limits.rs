//! Raw limits policy: serde types for rate limits, quotas, the failed-credential throttle and
//! forward-auth answers. They mirror the JSON and hold no logic; `policy::rate_limits` checks
//! them. Unknown fields are rejected.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// A rate limit: `requests` per `per_s` seconds on average, in bursts of at most `burst`
/// (default `requests`). Decided with GCRA after authentication, before anything is forwarded
/// (429 `rate_limited` with `Retry-After`).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "rate_limit")]
pub struct RawRateLimit {
    /// Requests per window (at least 1).
    #[schemars(range(min = 1))]
    pub requests: u32,
    /// The window in seconds (default 1).
    #[schemars(range(min = 1))]
    pub per_s: Option<u32>,
    /// Most requests at once from a rested bucket (default `requests`).
    #[schemars(range(min = 1))]
    pub burst: Option<u32>,
}

/// A usage cap on an API key. Counted per node, in memory: a restart starts again from zero.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "quota")]
pub struct RawQuota {
    /// Requests in all.
    pub total: Option<u64>,
    /// Requests per UTC day.
    pub per_day: Option<u64>,
}

/// Rate limits beyond those of keys and users. At most one policy file may set it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "rate_limits")]
pub struct RawRateLimits {
    /// Limits by role name, for keys and users that hold the role and have no limit of their
    /// own (the most generous of their roles' limits applies).
    #[serde(default)]
    pub roles: BTreeMap<String, RawRateLimit>,
    /// Default limits by module, per principal and module, for requests whose principal and
    /// route set none.
    #[serde(default)]
    pub modules: BTreeMap<String, RawRateLimit>,
    /// The limit per client address (IPv6 grouped by /64) for requests without a principal
    /// (public routes, `full-access` mode) whose route sets none.
    pub anonymous: Option<RawRateLimit>,
    /// Failed-credential throttle: after `max` unknown credentials from one client address
    /// (IPv6 by /64) within `window_s` seconds, that address gets 429 `too_many_failures`
    /// without its credentials being looked up, until the window has passed.
    pub failed_credentials: Option<RawFailedCredentials>,
    /// Send `RateLimit-Policy` and `RateLimit` headers on allowed responses too (429s always
    /// carry them). Default false.
    #[serde(default)]
    pub headers: bool,
}

/// The failed-credential throttle.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "failed_credentials")]
pub struct RawFailedCredentials {
    /// Unknown credentials allowed per window.
    #[schemars(range(min = 1))]
    pub max: u32,
    /// The window, in seconds.
    #[schemars(range(min = 1))]
    pub window_s: u32,
}

/// Forward-auth answers.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "forward_auth")]
pub struct RawForwardAuth {
    /// `Cache-Control: max-age` on allowed decisions, in seconds (default 0: `no-store`). A
    /// fronting proxy that caches may keep serving an allow for this long after a revocation.
    pub cache_max_age_s: Option<u32>,
}
