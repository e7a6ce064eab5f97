//! The failed-credential throttle: after `max` unknown credentials from one client address
//! (after trusted-proxy resolution; IPv6 grouped by /64) within `window_s` seconds, that address
//! gets 429 `too_many_failures` for the rest of the window, before its credential is looked up,
//! so guessing costs the guesser time and the gateway nothing. Fixed windows counted in unix
//! seconds from the injected clock; windows that have passed are evicted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::ratelimit::group;
use crate::reject::Rejection;
use crate::wait::Wait;

/// The throttle's setting (from the policy's `rate_limits.failed_credentials`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedCredentials {
    /// Unknown credentials allowed per window.
    pub max: u32,
    /// The window, in seconds.
    pub window_s: u32,
}

/// Failures by address group: (window start, count).
#[derive(Debug, Default)]
pub struct Failures {
    seen: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl Failures {
    /// Refuse `addr` if it used up its failures in the current window.
    pub fn check(
        &self,
        setting: FailedCredentials,
        addr: IpAddr,
        now: i64,
    ) -> Result<(), Rejection> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get(&group(addr)) {
            Some(&(start, count))
                if count >= setting.max && now < start + i64::from(setting.window_s) =>
            {
                let left = (start + i64::from(setting.window_s) - now).max(1) as u64;
                Err(Rejection::TooManyFailures(Wait::failures(left)))
            }
            Some(_) | None => Ok(()),
        }
    }

    /// Count one unknown credential from `addr`.
    pub fn failed(&self, setting: FailedCredentials, addr: IpAddr, now: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let e = seen.entry(group(addr)).or_insert((now, 0));
        if now >= e.0 + i64::from(setting.window_s) {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
    }

    /// Forget windows that ended before `now` (at most `window_s` ago is kept).
    pub fn evict(&self, max_window_s: u32, now: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, (start, _)| now < *start + i64::from(max_window_s));
    }

    /// Addresses tracked.
    pub fn tracked(&self) -> usize {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: FailedCredentials = FailedCredentials {
        max: 3,
        window_s: 60,
    };

    #[test]
    fn locks_after_max_failures_until_the_window_ends() {
        let f = Failures::default();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        for t in 0..3 {
            assert!(f.check(S, a, 100 + t).is_ok());
            f.failed(S, a, 100 + t);
        }
        let Err(Rejection::TooManyFailures(w)) = f.check(S, a, 110) else {
            panic!("locked");
        };
        assert_eq!(w.retry_after_s, Some(50));
        assert!(
            f.check(S, "192.0.2.8".parse().unwrap(), 110).is_ok(),
            "per address"
        );
        assert!(f.check(S, a, 159).is_err());
        assert!(f.check(S, a, 160).is_ok(), "the window is over");
        f.failed(S, a, 160);
        assert!(f.check(S, a, 161).is_ok(), "a new window counts from zero");
    }

    #[test]
    fn ipv6_is_grouped_by_64() {
        let f = Failures::default();
        for i in 1..=3 {
            let a: IpAddr = format!("2001:db8:1:2::{i}").parse().unwrap();
            f.failed(S, a, 0);
        }
        assert!(
            f.check(S, "2001:db8:1:2:ffff::1".parse().unwrap(), 1)
                .is_err()
        );
        assert!(f.check(S, "2001:db8:1:3::1".parse().unwrap(), 1).is_ok());
        f.evict(60, 61);
        assert_eq!(f.tracked(), 0);
    }
}
