//! Login throttling: failed logins are counted per username and per client address with
//! governor's keyed GCRA limiters; a key that exceeds its quota is locked out until the limiter
//! would allow it again.
//!
//! The state lives outside the policy snapshot, so a reload does not reset it. Only failures
//! consume quota, so a user who types the password right is never slowed down by their own
//! successes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Keys tracked before expired lockouts are pruned.
const PRUNE_AT: usize = 10_000;

/// A keyed limiter that reports how much burst is left after each check.
type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

struct Limiters {
    per_minute: (u32, u32),
    users: Keyed<String>,
    addrs: Keyed<IpAddr>,
}

/// Failed-login throttle.
#[derive(Default)]
pub struct Throttle {
    limiters: Mutex<Option<Limiters>>,
    locked: Mutex<HashMap<String, tokio::time::Instant>>,
    /// TOTP steps already used.
    pub used_codes: UsedCodes,
}

impl std::fmt::Debug for Throttle {
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

impl Throttle {
    /// How long `user` from `addr` must wait before trying again, if locked out.
    pub fn locked_for(&self, user: &str, addr: IpAddr) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        let locked = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        [user_key(user), addr_key(addr)]
            .iter()
            .filter_map(|k| locked.get(k))
            .filter(|until| **until > now)
            .map(|until| *until - now)
            .max()
    }

    /// Count a failed login for `user` from `addr` against quotas of failures per minute.
    pub fn failed(&self, user: &str, addr: IpAddr, per_user: u32, per_addr: u32) {
        let mut guard = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        if guard
            .as_ref()
            .is_none_or(|l| l.per_minute != (per_user, per_addr))
        {
            *guard = Some(Limiters {
                per_minute: (per_user, per_addr),
                users: RateLimiter::keyed(quota(per_user)).with_middleware(),
                addrs: RateLimiter::keyed(quota(per_addr)).with_middleware(),
            });
        }
        let Some(l) = guard.as_ref() else { return };
        let clock = DefaultClock::default();
        let mut lock = Vec::new();
        // The failure that uses up the quota locks at once: the next guess is never checked.
        let user_wait = match l.users.check_key(&user.to_owned()) {
            Ok(state) if state.remaining_burst_capacity() == 0 => {
                Some(state.quota().replenish_interval())
            }
            Ok(_) => None,
            Err(not_until) => Some(not_until.wait_time_from(clock.now())),
        };
        let addr_wait = match l.addrs.check_key(&addr) {
            Ok(state) if state.remaining_burst_capacity() == 0 => {
                Some(state.quota().replenish_interval())
            }
            Ok(_) => None,
            Err(not_until) => Some(not_until.wait_time_from(clock.now())),
        };
        if let Some(w) = user_wait {
            lock.push((user_key(user), w));
        }
        if let Some(w) = addr_wait {
            lock.push((addr_key(addr), w));
        }
        if lock.is_empty() {
            return;
        }
        let now = tokio::time::Instant::now();
        let mut locked = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        if locked.len() > PRUNE_AT {
            locked.retain(|_, until| *until > now);
            l.users.retain_recent();
            l.addrs.retain_recent();
        }
        for (k, wait) in lock {
            locked.insert(k, now + wait.max(Duration::from_secs(1)));
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

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_that_uses_up_the_quota_locks_the_user_and_the_address() {
        let t = Throttle::default();
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
    fn a_totp_step_is_accepted_once() {
        let used = UsedCodes::default();
        assert!(used.claim("alice", 10));
        assert!(!used.claim("alice", 10));
        assert!(!used.claim("alice", 9));
        assert!(used.claim("alice", 11));
        assert!(used.claim("bob", 10));
    }
}
