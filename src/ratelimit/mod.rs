//! Rate limits, quotas and the failed-credential throttle: the pipeline's `ratelimit::check`
//! step, decided after authentication and before anything is forwarded or a body is read.
//!
//! Which limit applies to a permitted request: the principal's own (key or user, else the most
//! generous of its roles', compiled into its `Grants`), else the route's, else its module's
//! default, else — without a principal — the anonymous limit per client address. Buckets are
//! keyed by the principal's id (or the client address, IPv6 by /64), never by the raw credential
//! or anything else a client can vary, and live here, outside the policy snapshot, so a reload
//! neither resets nor loses them; a changed limit takes effect on reload. Idle buckets are
//! evicted (`RateLimiter::evict`).
//!
//! `Backend` is the interface (check, and report); `local` is the default, on `governor`'s
//! GCRA; `redis` shares buckets across a fleet (the same GCRA in a Lua script). `quota` counts usage caps, `failures` throttles guessing;
//! `wait` (beside this module) says what the client is told.

pub mod failures;
mod lease;
pub mod local;
pub mod quota;
pub mod redis;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::authz::Permit;
use crate::grant::{Grants, RateLimit};
use crate::reject::Rejection;
use crate::wait::{Advice, Wait};

pub use failures::{FailedCredentials, Failures};
pub use local::Local;
pub use quota::Quotas;
pub use redis::{FailMode, RateLimitStore, Redis, RedisSettings};

/// The rate-limit settings of one policy snapshot.
#[derive(Debug, Clone, Default)]
pub struct RatePolicy {
    /// Default limits by module.
    pub modules: HashMap<String, RateLimit>,
    /// The limit per client address for requests without a principal.
    pub anonymous: Option<RateLimit>,
    /// The failed-credential throttle.
    pub failed_credentials: Option<FailedCredentials>,
    /// Send `RateLimit` headers on allowed responses too.
    pub headers: bool,
}

/// Which bucket a request draws from: a digest of what it is keyed by, so a lookup allocates
/// nothing and a bucket never holds a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bucket(u128);

/// What a bucket is keyed by.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// A principal, across everything it does.
    Principal(&'a str),
    /// A principal (or address group) on one route.
    Route(Who<'a>, &'a str),
    /// A principal (or address group) on one module.
    Module(Who<'a>, &'a str),
    /// An address group, without a principal.
    Address(IpAddr),
}

/// Who a route or module default counts.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// A principal by id.
    Principal(&'a str),
    /// A client address (IPv6 grouped by /64).
    Address(IpAddr),
}

impl Bucket {
    /// The bucket of `scope`: the first 128 bits of a SHA-256 of what it is keyed by, the same
    /// on every node (a shared backend keys Redis by it) and in every build; a bucket map hashes
    /// it again with its own random state.
    pub fn of(scope: Scope<'_>) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut part = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        let who = |part: &mut dyn FnMut(&[u8]), who: Who<'_>| match who {
            Who::Principal(id) => {
                part(b"p");
                part(id.as_bytes());
            }
            Who::Address(ip) => {
                part(b"a");
                address(part, ip);
            }
        };
        match scope {
            Scope::Principal(id) => {
                part(b"principal");
                part(id.as_bytes());
            }
            Scope::Route(w, route) => {
                part(b"route");
                who(&mut part, w);
                part(route.as_bytes());
            }
            Scope::Module(w, module) => {
                part(b"module");
                who(&mut part, w);
                part(module.as_bytes());
            }
            Scope::Address(ip) => {
                part(b"address");
                address(&mut part, ip);
            }
        }
        let d = h.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&d[..16]);
        Bucket(u128::from_be_bytes(first))
    }

    /// The digest, as a shared backend names the bucket.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// An address group's bytes, for a bucket digest.
fn address(part: &mut dyn FnMut(&[u8]), ip: IpAddr) {
    match group(ip) {
        IpAddr::V4(v4) => part(&v4.octets()),
        IpAddr::V6(v6) => part(&v6.octets()),
    }
}

/// An address as a bucket sees it: IPv4 as is, IPv6 by its /64 (one subscriber's prefix).
pub fn group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut b = v6.octets();
            b[8..].fill(0);
            IpAddr::from(b)
        }
    }
}

/// What a check found: how much is left, or how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; this many requests left in a burst right now.
    Allowed {
        /// Remaining burst capacity after this request.
        remaining: u32,
    },
    /// Refused; retry after this long.
    Limited {
        /// Time until one request would be allowed.
        wait: Duration,
    },
}

/// A rate-limit backend: the local one, or a shared one for a fleet.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Take one request from `bucket` under `limit`.
    fn check(&self, bucket: Bucket, limit: RateLimit) -> Verdict;
    /// How many buckets are tracked (for the admin listener and memory reports).
    fn tracked(&self) -> usize;
    /// Forget buckets that are indistinguishable from fresh ones.
    fn evict(&self);
    /// Checks a shared backend could not answer (decided by its fail mode); `None` for a
    /// backend that cannot fail.
    fn errors(&self) -> Option<u64> {
        None
    }
}

/// Everything the step needs that outlives snapshots, shared by every worker.
#[derive(Debug)]
pub struct RateLimiter {
    /// Where buckets live.
    pub backend: Arc<dyn Backend>,
    /// Usage caps.
    pub quotas: Quotas,
    /// The failed-credential throttle.
    pub failures: Failures,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            backend: Arc::new(Local::default()),
            quotas: Quotas::default(),
            failures: Failures::default(),
        }
    }
}

/// The limit that applies to a permitted request, and its bucket.
pub fn applicable(
    rp: &RatePolicy,
    permit: &Permit<'_>,
    grants: Option<&Grants>,
    client: IpAddr,
) -> Option<(RateLimit, Bucket)> {
    let principal = permit.principal().map(|p| p.user().unwrap_or(p.id()));
    let who = principal.map_or(Who::Address(client), Who::Principal);
    if let (Some(id), Some(limit)) = (principal, grants.and_then(|g| g.rate_limit)) {
        return Some((limit, Bucket::of(Scope::Principal(id))));
    }
    let route = permit.route().route();
    if let Some(limit) = route.rate_limit {
        return Some((limit, Bucket::of(Scope::Route(who, &route.id))));
    }
    if let Some(module) = permit.route().module()
        && let Some(limit) = rp.modules.get(module)
    {
        return Some((*limit, Bucket::of(Scope::Module(who, module))));
    }
    match (principal, rp.anonymous) {
        (None, Some(limit)) => Some((limit, Bucket::of(Scope::Address(client)))),
        _ => None,
    }
}

impl RateLimiter {
    /// The step: may this permitted request go on? `grants` are the principal's (a key's, or the
    /// user's behind a token), `client` the client address after trusted-proxy resolution, `now`
    /// unix seconds (for quotas' days). Returns the advice for an allowed response's headers.
    pub fn check(
        &self,
        rp: &RatePolicy,
        permit: &Permit<'_>,
        grants: Option<&Grants>,
        client: IpAddr,
        now: i64,
    ) -> Result<Option<Advice>, Rejection> {
        let mut advice = None;
        if let Some((limit, bucket)) = applicable(rp, permit, grants, client) {
            match self.backend.check(bucket, limit) {
                Verdict::Allowed { remaining } => advice = Some(Advice::new(limit, remaining)),
                Verdict::Limited { wait } => {
                    return Err(Rejection::RateLimited(Wait::limited(limit, wait)));
                }
            }
        }
        if let (Some(q), Some(p)) = (grants.and_then(|g| g.quota), permit.principal()) {
            self.quotas.take(p.id(), q, now)?;
        }
        Ok(advice.filter(|_| rp.headers))
    }
}

/// Every `every`, forget idle buckets and ended failure windows, until the task is dropped.
pub async fn evict_every(
    limiter: Arc<RateLimiter>,
    clock: Arc<dyn crate::clock::Clock>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        limiter.backend.evict();
        // Failure windows are at most a day long in any sane policy; older ones are gone.
        limiter.failures.evict(86_400, clock.now());
    }
}
