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
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys tracked before expired lockouts are pruned.
const PRUNE_AT: usize = 10_000;

struct Limiters {
    per_minute: (u32, u32),
    users: DefaultKeyedRateLimiter<String>,
    addrs: DefaultKeyedRateLimiter<IpAddr>,
}

/// Failed-login throttle.
#[derive(Default)]
pub struct Throttle {
    limiters: Mutex<Option<Limiters>>,
    locked: Mutex<HashMap<String, tokio::time::Instant>>,
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
                users: RateLimiter::keyed(quota(per_user)),
                addrs: RateLimiter::keyed(quota(per_addr)),
            });
        }
        let Some(l) = guard.as_ref() else { return };
        let clock = DefaultClock::default();
        let mut lock = Vec::new();
        if let Err(not_until) = l.users.check_key(&user.to_owned()) {
            lock.push((user_key(user), not_until.wait_time_from(clock.now())));
        }
        if let Err(not_until) = l.addrs.check_key(&addr) {
            lock.push((addr_key(addr), not_until.wait_time_from(clock.now())));
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

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_quota_lock_the_user_and_the_address() {
        let t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            t.failed("alice", a, 3, 100);
        }
        assert!(t.locked_for("alice", b).is_none(), "quota not yet exceeded");
        t.failed("alice", a, 3, 100);
        assert!(
            t.locked_for("alice", b).is_some(),
            "user locked from any address"
        );
        assert!(t.locked_for("bob", b).is_none());
        for _ in 0..3 {
            t.failed("x", b, 100, 2);
        }
        assert!(
            t.locked_for("carol", b).is_some(),
            "address locked for any user"
        );
    }
}
