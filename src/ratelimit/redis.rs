//! Fleet-wide rate limits in Redis: the same GCRA as the local backend, run atomically by a Lua
//! script (no Redis module needed) on a key per bucket (`portcullis:rl:<bucket digest>`; the
//! digest is the same on every node, and is of the principal id, never of a credential).
//!
//! The rate-limit step is synchronous on the per-core workers, so a check waits for Redis at
//! most `timeout_ms` (a few milliseconds). When Redis errs or is late, the request is decided by
//! the configured fail mode — `open`: the local limiter of this node (so each node enforces the
//! limit on its own), `closed`: refused with 429 — and Redis is left alone for a short backoff,
//! so an outage costs no request more than one timeout. Neighbours: [`super::local`], the
//! fallback; `run` builds it from the boot settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ::redis::aio::MultiplexedConnection;
use arc_swap::ArcSwapOption;
use schemars::JsonSchema;
use serde::Deserialize;

use super::lease::Leases;
use super::{Backend, Bucket, Local, Verdict};
use crate::grant::RateLimit;
use crate::tls::backend::{self, BackendTlsSettings};

/// GCRA taking up to `ARGV[3]` tokens at once: `KEYS[1]` the bucket, `ARGV[1]` ms per request,
/// `ARGV[2]` the burst tolerance in ms (ms per request × burst). Grants as many of the tokens
/// asked for as the bucket holds now (at least one, or none). Returns {granted, ms until the
/// bucket holds a token again, remaining}. Time is Redis' own, so the nodes' clocks do not matter. With one token asked for,
/// this is the plain GCRA: allowed when the new theoretical arrival time is within the
/// tolerance.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local room = math.floor((now + tolerance - tat) / interval + 1e-9)
if room < 1 then
  return {0, math.ceil(tat + interval - tolerance - now), 0}
end
local grant = math.min(want, room)
local next_tat = tat + grant * interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil(next_tat - now) + 1000)
return {grant, math.max(0, math.ceil(next_tat + interval - tolerance - now)), room - grant}
";

/// How long Redis is left alone after it failed or was late.
const BACKOFF: Duration = Duration::from_millis(500);

/// Longest a connection attempt or a call may run in the background after a check gave up.
const BACKGROUND_LIMIT: Duration = Duration::from_secs(1);

/// What a check does while Redis is unreachable or late.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Decide with this node's local limiter (each node enforces the limit alone).
    #[default]
    Open,
    /// Refuse with 429.
    Closed,
}

/// Where rate-limit buckets live (boot settings, `ratelimit_store`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
#[schemars(transform = crate::schema::describe_kind)]
pub enum RateLimitStore {
    /// In this process (the default).
    #[default]
    Local,
    /// In Redis, shared by every node.
    Redis(RedisSettings),
}

/// How to reach Redis. The URL (`redis://host:port/0`, `rediss://` for TLS, `redis+unix:///path`,
/// with a password if any) comes from an environment variable or a file, never from the settings, and is never
/// logged.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// The environment variable holding the URL.
    pub url_env: Option<String>,
    /// A file holding the URL (relative to the settings file).
    pub url_file: Option<PathBuf>,
    /// How long a request waits for Redis before the fail mode decides. Default 5.
    #[serde(default = "timeout_ms")]
    #[schemars(range(min = 1))]
    pub timeout_ms: u64,
    /// `open` (default: the local limiter decides) or `closed` (429).
    #[serde(default)]
    pub fail: FailMode,
    /// Tokens a node takes from Redis in one call (never more than the bucket holds at that
    /// moment, so a limit with a burst of 1 always asks per request); the rest are spent on this
    /// node without asking Redis, each within the span it was granted for. Default 1: every
    /// limited request asks Redis.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 1000))]
    pub batch: u32,
    /// TLS settings for a `rediss://` URL: the CA that signed the server's certificate
    /// (default: the system's roots) and an optional client certificate. The server is always
    /// verified; `rediss://...#insecure` is refused.
    pub tls: Option<BackendTlsSettings>,
}

fn timeout_ms() -> u64 {
    5
}

fn one() -> u32 {
    1
}

/// Why the Redis backend could not be set up. Never carries the URL.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// Neither or both sources given, or the variable is unset, or the file unreadable.
    #[error("ratelimit_store: {0}")]
    Source(String),
    /// The URL does not parse.
    #[error("ratelimit_store: the Redis URL is not valid (its text is not shown)")]
    Invalid,
    /// TLS settings without a `rediss://` URL, or an unverified `rediss://` URL.
    #[error("ratelimit_store: {0}")]
    TlsUrl(&'static str),
    /// The TLS files are missing or unusable.
    #[error("ratelimit_store.tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The backend's runtime did not start.
    #[error("ratelimit_store: cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl RedisSettings {
    /// The Redis client for the URL from `env` or the file.
    fn client(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<::redis::Client, RedisError> {
        let url = match (&self.url_env, &self.url_file) {
            (Some(name), None) => env(name)
                .ok_or_else(|| RedisError::Source(format!("the variable {name} is not set")))?,
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| RedisError::Source(format!("cannot read {}: {e}", path.display())))?,
            _ => {
                return Err(RedisError::Source(
                    "expected exactly one of url_env and url_file".into(),
                ));
            }
        };
        let url = url.trim();
        let tls = url.starts_with("rediss://");
        if !tls {
            if self.tls.is_some() {
                return Err(RedisError::TlsUrl("tls is set: the URL must be rediss://"));
            }
            return ::redis::Client::open(url).map_err(|_| RedisError::Invalid);
        }
        if url.ends_with("#insecure") {
            return Err(RedisError::TlsUrl(
                "rediss://...#insecure would not verify the server: name its CA in tls.ca_file",
            ));
        }
        let certs = backend::redis_certificates(self.tls.as_ref().unwrap_or(&Default::default()))?;
        ::redis::Client::build_with_tls(url, certs).map_err(|_| RedisError::Invalid)
    }
}

/// What the check's background task needs.
struct Shared {
    client: ::redis::Client,
    conn: ArcSwapOption<MultiplexedConnection>,
    script: ::redis::Script,
}

/// The Redis backend, with the local limiter as its fallback.
pub struct Redis {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    timeout: Duration,
    fail: FailMode,
    local: Local,
    /// Milliseconds after `epoch` before which Redis is not asked (backoff after a failure).
    quiet_until_ms: AtomicU64,
    epoch: Instant,
    /// Checks Redis did not answer in time or answered with an error.
    errors: AtomicU64,
    /// Tokens to ask Redis for per call.
    batch: u32,
    /// Tokens taken from Redis and not spent yet.
    leases: Leases,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("timeout", &self.timeout)
            .field("fail", &self.fail)
            .finish_non_exhaustive()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Redis {
    /// A backend for `settings`, the URL looked up in `env`. Connects on first use.
    pub fn new(
        settings: &RedisSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, RedisError> {
        let client = settings.client(env)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("portcullis-redis")
            .enable_all()
            .build()
            .map_err(RedisError::Runtime)?;
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                conn: ArcSwapOption::empty(),
                script: ::redis::Script::new(GCRA),
            }),
            runtime: Some(runtime),
            timeout: Duration::from_millis(settings.timeout_ms),
            fail: settings.fail,
            local: Local::default(),
            quiet_until_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            errors: AtomicU64::new(0),
            batch: settings.batch.max(1),
            leases: Leases::default(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Redis failed or was late: count it, leave it alone for a while, decide by the fail mode.
    fn fall_back(&self, bucket: Bucket, limit: RateLimit) -> Verdict {
        let quiet = self.now_ms() + BACKOFF.as_millis() as u64;
        let was = self.quiet_until_ms.swap(quiet, Ordering::AcqRel);
        if was <= self.now_ms() {
            tracing::warn!(
                fail = ?self.fail,
                "redis rate limiter unreachable or late; deciding by the fail mode"
            );
        }
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.decide_without_redis(bucket, limit)
    }

    fn decide_without_redis(&self, bucket: Bucket, limit: RateLimit) -> Verdict {
        match self.fail {
            FailMode::Open => self.local.check(bucket, limit),
            FailMode::Closed => Verdict::Limited {
                wait: Duration::from_secs(1),
            },
        }
    }
}

/// What Redis answered: tokens granted (0: refused), ms to wait when refused, tokens left.
type Grant = (i64, i64, i64);

/// One GCRA call asking for `want` tokens; drops the connection on error so the next call
/// reconnects.
async fn call(
    shared: &Shared,
    key: String,
    interval: f64,
    tolerance: f64,
    want: u32,
) -> Option<Grant> {
    let mut conn = match shared.conn.load_full() {
        Some(c) => (*c).clone(),
        None => {
            let c = shared
                .client
                .get_multiplexed_async_connection()
                .await
                .ok()?;
            shared.conn.store(Some(Arc::new(c.clone())));
            c
        }
    };
    let result: Result<Grant, _> = shared
        .script
        .key(key)
        .arg(interval)
        .arg(tolerance)
        .arg(want)
        .invoke_async(&mut conn)
        .await;
    if result.is_err() {
        shared.conn.store(None);
    }
    result.ok()
}

impl Backend for Redis {
    fn check(&self, bucket: Bucket, limit: RateLimit) -> Verdict {
        let now = Instant::now();
        if let Some(held) = self.leases.take(bucket, now) {
            return held;
        }
        if self.quiet_until_ms.load(Ordering::Acquire) > self.now_ms() {
            return self.decide_without_redis(bucket, limit);
        }
        let Some(rt) = &self.runtime else {
            return self.decide_without_redis(bucket, limit);
        };
        let interval = f64::from(limit.per_s.max(1)) * 1000.0 / f64::from(limit.requests.max(1));
        let tolerance = interval * f64::from(limit.burst.max(1));
        let key = format!("portcullis:rl:{}", bucket.hex());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let shared = Arc::clone(&self.shared);
        let want = self.batch;
        rt.spawn(async move {
            let asked = call(&shared, key, interval, tolerance, want);
            let answer = tokio::time::timeout(BACKGROUND_LIMIT, asked).await;
            let _ = tx.send(answer.ok().flatten());
        });
        // The worker waits here, at most the timeout: the step is synchronous.
        match rx.recv_timeout(self.timeout) {
            Ok(Some((granted, wait_ms, remaining))) if granted >= 1 => {
                let granted = u32::try_from(granted).unwrap_or(u32::MAX);
                // This request spends one; the rest are this node's for the span they cover.
                // When that emptied the bucket, the node refuses after them, without asking,
                // until a batch can have gathered (as after a refusal).
                let span = Duration::from_secs_f64(interval * f64::from(granted) / 1000.0);
                let empty = (remaining <= 0).then(|| {
                    let batch = Duration::from_secs_f64(interval * f64::from(want - 1) / 1000.0);
                    now + Duration::from_millis(wait_ms.max(1) as u64) + batch
                });
                self.leases.keep(bucket, granted - 1, now, span, empty);
                let left = u32::try_from(remaining.max(0)).unwrap_or(u32::MAX);
                Verdict::Allowed {
                    remaining: left.saturating_add(granted - 1),
                }
            }
            Ok(Some((_, wait_ms, _))) => {
                // No token can appear before `wait`: refuse here until then without asking.
                // With batches, until a batch can have gathered, so that a saturated bucket
                // costs each node one call per batch rather than one per token.
                let batch = Duration::from_secs_f64(interval * f64::from(want - 1) / 1000.0);
                let wait = Duration::from_millis(wait_ms.max(1) as u64) + batch;
                self.leases.refuse(bucket, now, wait);
                Verdict::Limited { wait }
            }
            Ok(None) | Err(_) => self.fall_back(bucket, limit),
        }
    }

    fn tracked(&self) -> usize {
        self.local.tracked() + self.leases.buckets()
    }

    fn evict(&self) {
        self.local.evict();
        self.leases.evict(Instant::now());
    }

    fn errors(&self) -> Option<u64> {
        Some(self.errors.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
#[path = "redis_tests.rs"]
mod tests;
