//! The local backend: `governor`'s GCRA, one keyed limiter per distinct limit, buckets in this
//! process only. The default; a fleet plugs a shared backend into the same `Backend` interface.
//!
//! A bucket lives in the limiter of its limit, so a reload that keeps a principal's limit keeps
//! its bucket, and a changed limit takes effect at once (in a fresh bucket of the new limiter).
//! Generic over governor's clock, so tests drive time with `FakeRelativeClock`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::grant::RateLimit;
use crate::ratelimit::{Backend, Bucket, Verdict};

/// One keyed limiter.
type Keyed<C> = RateLimiter<Bucket, DashMapStateStore<Bucket>, C, StateInformationMiddleware>;

/// Buckets in this process.
pub struct Local<C: Clock = DefaultClock> {
    clock: C,
    limiters: RwLock<HashMap<RateLimit, Arc<Keyed<C>>>>,
}

impl Default for Local<DefaultClock> {
    fn default() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl<C: Clock> std::fmt::Debug for Local<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").finish_non_exhaustive()
    }
}

/// The governor quota of a limit: one request every `per_s / requests`, bursts of `burst`.
fn quota(limit: RateLimit) -> Quota {
    let period = Duration::from_secs(u64::from(limit.per_s.max(1))) / limit.requests.max(1);
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl<C: Clock + Clone> Local<C> {
    /// A backend reading `clock`.
    pub fn with_clock(clock: C) -> Self {
        Self {
            clock,
            limiters: RwLock::new(HashMap::new()),
        }
    }

    /// The limiter of `limit`, made on first use.
    fn limiter(&self, limit: RateLimit) -> Arc<Keyed<C>> {
        if let Some(l) = self
            .limiters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&limit)
        {
            return Arc::clone(l);
        }
        let mut all = self.limiters.write().unwrap_or_else(|p| p.into_inner());
        let l = all.entry(limit).or_insert_with(|| {
            Arc::new(
                RateLimiter::<
                    Bucket,
                    DashMapStateStore<Bucket>,
                    C,
                    governor::middleware::NoOpMiddleware<C::Instant>,
                >::new(
                    quota(limit),
                    DashMapStateStore::default(),
                    self.clock.clone(),
                )
                .with_middleware::<StateInformationMiddleware>(),
            )
        });
        Arc::clone(l)
    }
}

impl<C> Backend for Local<C>
where
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    fn check(&self, bucket: Bucket, limit: RateLimit) -> Verdict {
        let limiter = self.limiter(limit);
        match limiter.check_key(&bucket) {
            Ok(state) => Verdict::Allowed {
                remaining: state.remaining_burst_capacity(),
            },
            Err(not_until) => Verdict::Limited {
                wait: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    fn tracked(&self) -> usize {
        let all = self.limiters.read().unwrap_or_else(|p| p.into_inner());
        all.values().map(|l| l.len()).sum()
    }

    fn evict(&self) {
        let mut all = self.limiters.write().unwrap_or_else(|p| p.into_inner());
        for l in all.values() {
            l.retain_recent();
            l.shrink_to_fit();
        }
        // A limit no bucket uses any more (a reload changed it) goes too.
        all.retain(|_, l| !l.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;
    use crate::ratelimit::Scope;

    fn limit(requests: u32, per_s: u32, burst: u32) -> RateLimit {
        RateLimit {
            requests,
            per_s,
            burst,
        }
    }

    fn allowed(v: Verdict) -> bool {
        matches!(v, Verdict::Allowed { .. })
    }

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let clock = FakeRelativeClock::default();
        let local = Local::with_clock(clock.clone());
        let b = Bucket::of(Scope::Principal("k1"));
        let l = limit(2, 1, 3); // 2/s, bursts of 3
        for n in (0..3).rev() {
            assert_eq!(local.check(b, l), Verdict::Allowed { remaining: n });
        }
        let Verdict::Limited { wait } = local.check(b, l) else {
            panic!("the burst is spent");
        };
        assert_eq!(wait, Duration::from_millis(500));
        clock.advance(Duration::from_millis(499));
        assert!(!allowed(local.check(b, l)), "refilled too early");
        clock.advance(Duration::from_millis(1));
        assert!(allowed(local.check(b, l)), "one cell every 500 ms");
        assert!(!allowed(local.check(b, l)));
    }

    #[test]
    fn buckets_are_per_principal() {
        let local = Local::with_clock(FakeRelativeClock::default());
        let l = limit(1, 60, 1);
        let a = Bucket::of(Scope::Principal("a"));
        let b = Bucket::of(Scope::Principal("b"));
        assert!(allowed(local.check(a, l)));
        assert!(!allowed(local.check(a, l)));
        assert!(
            allowed(local.check(b, l)),
            "another principal has its own bucket"
        );
    }

    #[test]
    fn a_kept_limit_keeps_its_bucket_a_changed_one_takes_effect() {
        let local = Local::with_clock(FakeRelativeClock::default());
        let b = Bucket::of(Scope::Principal("k"));
        let old = limit(1, 60, 1);
        assert!(allowed(local.check(b, old)));
        // A reload that keeps the limit: still spent.
        assert!(!allowed(local.check(b, old)));
        // A reload that raises it: the new limit applies now.
        let new = limit(10, 60, 5);
        assert!(allowed(local.check(b, new)));
    }

    #[test]
    fn idle_buckets_are_evicted_busy_ones_kept() {
        let clock = FakeRelativeClock::default();
        let local = Local::with_clock(clock.clone());
        let l = limit(1, 10, 1);
        for i in 0..1000 {
            let id = format!("p{i}");
            local.check(Bucket::of(Scope::Principal(&id)), l);
        }
        assert_eq!(local.tracked(), 1000);
        local.evict();
        assert_eq!(local.tracked(), 1000, "nobody is rested yet");
        // governor keeps a bucket until it has been rested for one more period.
        clock.advance(Duration::from_millis(20_001));
        assert!(allowed(local.check(Bucket::of(Scope::Principal("p0")), l)));
        local.evict();
        // p0 took a cell at 20 s; the rest have been rested since 10 s.
        assert_eq!(local.tracked(), 1);
        clock.advance(Duration::from_millis(20_001));
        local.evict();
        assert_eq!(local.tracked(), 0);
    }
}
