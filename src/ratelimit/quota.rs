//! Quotas: usage caps on API keys, in all and per UTC day, counted per node in memory (a restart
//! starts from zero; the fleet issue moves them to a shared store). Exhausted → 429
//! `quota_exhausted`, with `Retry-After` until the next UTC day when the daily cap is the one hit.
//! The admin listener shows what is left (`Quotas::report`).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::grant::Quota;
use crate::reject::Rejection;
use crate::wait::Wait;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Usage so far of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Requests counted in all.
    pub total: u64,
    /// The UTC day (days since the epoch) `today` counts.
    pub day: i64,
    /// Requests counted that day.
    pub today: u64,
}

/// Usage by key id.
#[derive(Debug, Default)]
pub struct Quotas {
    used: Mutex<HashMap<String, Usage>>,
}

impl Quotas {
    /// Count one request of `key` under `quota` at unix time `now`, or refuse it.
    pub fn take(&self, key: &str, quota: Quota, now: i64) -> Result<(), Rejection> {
        let day = now.div_euclid(DAY);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let u = match used.get_mut(key) {
            Some(u) => u,
            None => used.entry(key.to_owned()).or_default(),
        };
        if u.day != day {
            u.day = day;
            u.today = 0;
        }
        if quota.total.is_some_and(|t| u.total >= t) {
            return Err(Rejection::QuotaExhausted(Wait::quota(None)));
        }
        if quota.per_day.is_some_and(|d| u.today >= d) {
            let next_day = (day + 1) * DAY - now;
            return Err(Rejection::QuotaExhausted(Wait::quota(Some(
                next_day as u64,
            ))));
        }
        u.total += 1;
        u.today += 1;
        Ok(())
    }

    /// Usage of `key` so far (zero if never counted), as of unix time `now`.
    pub fn usage(&self, key: &str, now: i64) -> Usage {
        let day = now.div_euclid(DAY);
        let used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let mut u = used.get(key).copied().unwrap_or_default();
        if u.day != day {
            u.day = day;
            u.today = 0;
        }
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_and_daily_caps() {
        let q = Quotas::default();
        let cap = Quota {
            total: Some(3),
            per_day: Some(2),
        };
        let t0 = 10 * DAY + 100;
        assert!(q.take("k", cap, t0).is_ok());
        assert!(q.take("k", cap, t0 + 1).is_ok());
        let Err(Rejection::QuotaExhausted(w)) = q.take("k", cap, t0 + 2) else {
            panic!("daily cap");
        };
        assert_eq!(
            w.retry_after_s,
            Some((DAY - 102) as u64),
            "until the next UTC day"
        );
        assert!(q.take("other", cap, t0).is_ok(), "per key");
        // Next day: one left in all.
        assert!(q.take("k", cap, 11 * DAY).is_ok());
        let Err(Rejection::QuotaExhausted(w)) = q.take("k", cap, 11 * DAY + 1) else {
            panic!("total cap");
        };
        assert_eq!(w.retry_after_s, None, "a total cap does not come back");
        assert_eq!(
            q.usage("k", 11 * DAY + 1),
            Usage {
                total: 3,
                day: 11,
                today: 1
            }
        );
    }
}
