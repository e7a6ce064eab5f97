//! Waiting: what a limit tells the client. `Retry-After` on a 429, and the IETF
//! `RateLimit-Policy` / `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers:
//! `"default";q=<requests>;w=<window>` and `"default";r=<remaining>;t=<seconds until a request is
//! allowed>`), on 429s and, when the policy asks, on allowed responses. `ratelimit` decides;
//! `reject` writes a `Wait` into a 429, `gateway` an `Advice` into an allowed response.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};

use crate::grant::RateLimit;

/// Why and how long a 429 waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Seconds until a retry can succeed (`None`: it cannot, e.g. a total quota).
    pub retry_after_s: Option<u64>,
    /// The limit that refused it, for the `RateLimit` headers.
    pub limit: Option<RateLimit>,
}

impl Wait {
    /// A rate limit refused: wait `wait` (rounded up to whole seconds, at least 1).
    pub fn limited(limit: RateLimit, wait: Duration) -> Self {
        Self {
            retry_after_s: Some(wait.as_millis().div_ceil(1000).max(1) as u64),
            limit: Some(limit),
        }
    }

    /// A quota refused: retry after this many seconds, or never.
    pub fn quota(retry_after_s: Option<u64>) -> Self {
        Self {
            retry_after_s,
            limit: None,
        }
    }

    /// The failed-credential throttle refused: retry after this many seconds.
    pub fn failures(retry_after_s: u64) -> Self {
        Self {
            retry_after_s: Some(retry_after_s),
            limit: None,
        }
    }

    /// Write `Retry-After` and, for a rate limit, the `RateLimit` headers.
    pub fn write(&self, h: &mut HeaderMap) {
        if let Some(s) = self.retry_after_s {
            h.insert(http::header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(limit) = self.limit {
            write(h, limit, 0, self.retry_after_s.unwrap_or(1));
        }
    }
}

/// The state of an allowed request's bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    /// The limit.
    pub limit: RateLimit,
    /// Requests left in a burst.
    pub remaining: u32,
}

impl Advice {
    /// Advice for an allowed request.
    pub fn new(limit: RateLimit, remaining: u32) -> Self {
        Self { limit, remaining }
    }

    /// Write the `RateLimit` headers.
    pub fn write(&self, h: &mut HeaderMap) {
        write(h, self.limit, self.remaining, 0);
    }
}

fn write(h: &mut HeaderMap, limit: RateLimit, remaining: u32, reset_s: u64) {
    let policy = format!("\"default\";q={};w={}", limit.requests, limit.per_s);
    let state = format!("\"default\";r={remaining};t={reset_s}");
    if let (Ok(p), Ok(s)) = (
        HeaderValue::from_str(&policy),
        HeaderValue::from_str(&state),
    ) {
        h.insert("ratelimit-policy", p);
        h.insert("ratelimit", s);
    }
}
