//! Login throttling: failed logins are counted per username and per client address with
//! governor's keyed GCRA limiters; a key that exceeds its quota is locked out until the limiter
//! would allow it again.
//!
//! The state lives outside the policy snapshot, so a reload does not reset it. Only failures
//! consume quota, so a user who types the password right is never slowed down by their own
//! successes. Time comes from an injected governor clock: the default (monotonic) clock in
//! production, `governor::clock::FakeRelativeClock` in tests, which advance it instead of
//! sleeping. The limiters and the lockouts read the same clock.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Keys tracked before expired lockouts are pruned.
const PRUNE_AT: usize = 10_000;

/// The shortest lockout, whatever the limiter says.
const MIN_LOCK: Duration = Duration::from_secs(1);

/// A keyed limiter on clock `C` that reports how much burst is left after each check.
type Keyed<K, C> = RateLimiter<K, DefaultKeyedStateStore<K>, C, StateInformationMiddleware>;

/// The limiters for one pair of quotas (rebuilt when the policy changes them).
struct Limiters<C: Clock> {
    /// Failures allowed per minute: (per user, per address).
    per_minute: (u32, u32),
    /// Per-username limiter.
    users: Keyed<String, C>,
    /// Per-client-address limiter.
    addrs: Keyed<IpAddr, C>,
}

/// Failed-login throttle on clock `C`.
pub struct Throttle<C: Clock = DefaultClock> {
    /// Where time comes from, for the limiters and the lockouts alike.
    clock: C,
    /// Built on the first failure, from the quotas the policy then sets.
    limiters: Mutex<Option<Limiters<C>>>,
    /// Locked keys (`u:name`, `a:address`) and when their lockout ends.
    locked: Mutex<HashMap<String, C::Instant>>,
    /// TOTP steps already used.
    pub used_codes: UsedCodes,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl<C: Clock> std::fmt::Debug for Throttle<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

fn user_key(user: &str) -> String {
    format!("u:{user}")
}

fn addr_key(addr: IpAddr) -> String {
    format!("a:{addr}")
}

impl<C: Clock + Clone> Throttle<C> {
    /// A throttle reading time from `clock`.
    pub fn with_clock(clock: C) -> Self {
        Self {
            clock,
            limiters: Mutex::new(None),
            locked: Mutex::new(HashMap::new()),
            used_codes: UsedCodes::default(),
        }
    }

    /// How long `user` from `addr` must wait before trying again, if locked out.
    pub fn locked_for(&self, user: &str, addr: IpAddr) -> Option<Duration> {
        let now = self.clock.now();
        let locked = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        [user_key(user), addr_key(addr)]
            .iter()
            .filter_map(|k| locked.get(k))
            .filter(|until| **until > now)
            .map(|until| until.duration_since(now).into())
            .max()
    }

    /// Count a failed login for `user` from `addr` against quotas of failures per minute.
    pub fn failed(&self, user: &str, addr: IpAddr, per_user: u32, per_addr: u32) {
        let mut guard = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        let l = match guard.take() {
            Some(l) if l.per_minute == (per_user, per_addr) => guard.insert(l),
            _ => guard.insert(self.limiters(per_user, per_addr)),
        };
        let mut lock = Vec::new();
        if let Some(w) = self.wait(l.users.check_key(&user.to_owned())) {
            lock.push((user_key(user), w));
        }
        if let Some(w) = self.wait(l.addrs.check_key(&addr)) {
            lock.push((addr_key(addr), w));
        }
        if lock.is_empty() {
            return;
        }
        let now = self.clock.now();
        let mut locked = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        if locked.len() > PRUNE_AT {
            locked.retain(|_, until| *until > now);
            l.users.retain_recent();
            l.addrs.retain_recent();
        }
        for (k, wait) in lock {
            locked.insert(k, now + Nanos::from(wait.max(MIN_LOCK)));
        }
    }

    /// Fresh limiters for these quotas, on this throttle's clock.
    fn limiters(&self, per_user: u32, per_addr: u32) -> Limiters<C> {
        Limiters {
            per_minute: (per_user, per_addr),
            users: keyed(per_user, self.clock.clone()),
            addrs: keyed(per_addr, self.clock.clone()),
        }
    }

    /// How long a checked key must be locked, if at all. The failure that uses up the quota
    /// locks at once: the next guess is never checked.
    fn wait(
        &self,
        checked: Result<governor::middleware::StateSnapshot, governor::NotUntil<C::Instant>>,
    ) -> Option<Duration> {
        match checked {
            Ok(state) if state.remaining_burst_capacity() == 0 => {
                Some(state.quota().replenish_interval())
            }
            Ok(_) => None,
            Err(not_until) => Some(not_until.wait_time_from(self.clock.now())),
        }
    }
}

/// TOTP steps already used, per user: RFC 6238 §5.2 accepts a code once.
#[derive(Debug, Default)]
pub struct UsedCodes(Mutex<HashMap<String, u64>>);

impl UsedCodes {
    /// Record that `user` logged in with the code of `step`; false if that step (or a later one)
    /// was already used.
    pub fn claim(&self, user: &str, step: u64) -> bool {
        let mut used = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match used.get(user) {
            Some(&last) if step <= last => false,
            _ => {
                used.insert(user.to_owned(), step);
                true
            }
        }
    }
}

/// A keyed limiter allowing `per_minute` failures a minute, on `clock`.
fn keyed<K: Clone + Eq + Hash, C: Clock>(per_minute: u32, clock: C) -> Keyed<K, C> {
    RateLimiter::new(quota(per_minute), DefaultKeyedStateStore::default(), clock)
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    /// A throttle on a fake clock the test advances.
    fn throttle() -> (Throttle<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Throttle::with_clock(clock.clone()), clock)
    }

    #[test]
    fn the_failure_that_uses_up_the_quota_locks_the_user_and_the_address() {
        let (t, _) = throttle();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..2 {
            t.failed("alice", a, 3, 100);
        }
        assert!(t.locked_for("alice", b).is_none(), "quota not yet used up");
        t.failed("alice", a, 3, 100);
        assert!(
            t.locked_for("alice", b).is_some(),
            "user locked from any address after 3"
        );
        assert!(t.locked_for("bob", b).is_none());
        for _ in 0..2 {
            t.failed("x", b, 100, 2);
        }
        assert!(
            t.locked_for("carol", b).is_some(),
            "address locked for any user"
        );
    }

    #[test]
    fn a_lockout_ends_exactly_when_its_window_does() {
        let (t, clock) = throttle();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        // 3 failures a minute: one comes back every 20 s.
        let window = Duration::from_secs(20);
        for _ in 0..3 {
            t.failed("alice", a, 3, 100);
        }
        assert_eq!(t.locked_for("alice", a), Some(window));
        clock.advance(window - Duration::from_nanos(1));
        assert_eq!(
            t.locked_for("alice", a),
            Some(Duration::from_nanos(1)),
            "still locked just before the window ends"
        );
        clock.advance(Duration::from_nanos(1));
        assert_eq!(t.locked_for("alice", a), None, "unlocked as it ends");
        clock.advance(Duration::from_secs(1));
        assert_eq!(t.locked_for("alice", a), None, "and after");
    }

    #[test]
    fn after_a_lockout_one_failure_came_back_so_the_next_locks_again() {
        let (t, clock) = throttle();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            t.failed("alice", a, 3, 100);
        }
        clock.advance(Duration::from_secs(20));
        assert_eq!(t.locked_for("alice", a), None);
        t.failed("alice", a, 3, 100);
        assert_eq!(t.locked_for("alice", a), Some(Duration::from_secs(20)));
    }

    #[test]
    fn a_lockout_lasts_at_least_a_second() {
        let (t, clock) = throttle();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        // 600 a minute replenish every 100 ms; the lockout is still a whole second.
        for _ in 0..600 {
            t.failed("alice", a, 600, 10_000);
        }
        assert_eq!(t.locked_for("alice", a), Some(MIN_LOCK));
        clock.advance(MIN_LOCK);
        assert_eq!(t.locked_for("alice", a), None);
    }

    #[test]
    fn a_totp_step_is_accepted_once() {
        let used = UsedCodes::default();
        assert!(used.claim("alice", 10));
        assert!(!used.claim("alice", 10));
        assert!(!used.claim("alice", 9));
        assert!(used.claim("alice", 11));
        assert!(used.claim("bob", 10));
    }
}
