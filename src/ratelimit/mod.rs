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
//! `Backend` is the interface (check, and report) a shared backend can implement; `local` is the
//! default, on `governor`'s GCRA. `quota` counts usage caps, `failures` throttles guessing;
//! `wait` (beside this module) says what the client is told.

pub mod failures;
pub mod local;
pub mod quota;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
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

/// A process-wide random hasher, so bucket digests cannot be predicted from outside.
static SEED: std::sync::LazyLock<std::collections::hash_map::RandomState> =
    std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);

impl Bucket {
    /// The bucket of `scope`.
    pub fn of(scope: Scope<'_>) -> Self {
        let digest = |salt: u8| {
            let mut h = SEED.build_hasher();
            salt.hash(&mut h);
            match scope {
                Scope::Principal(id) => (0u8, id).hash(&mut h),
                Scope::Route(who, route) => (1u8, who_key(who), route).hash(&mut h),
                Scope::Module(who, module) => (2u8, who_key(who), module).hash(&mut h),
                Scope::Address(ip) => (3u8, group(ip)).hash(&mut h),
            }
            h.finish()
        };
        Bucket((u128::from(digest(0)) << 64) | u128::from(digest(1)))
    }
}

/// A principal id or an address group, hashable.
fn who_key(who: Who<'_>) -> (u8, &str, IpAddr) {
    match who {
        Who::Principal(id) => (0, id, IpAddr::from([0u8; 4])),
        Who::Address(ip) => (1, "", group(ip)),
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
