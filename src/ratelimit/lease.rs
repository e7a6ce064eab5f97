//! What a node remembers of a shared (Redis) bucket between calls, so that most checks need no
//! round trip:
//!
//! - **tokens** taken in one call and spent locally: with `batch` above 1, one Redis call admits
//!   up to `batch` requests of the same bucket on this node. Redis counted every token when it
//!   granted them, so the fleet never admits more than Redis granted; a token not spent within
//!   the span it was granted for is dropped (spending it later would stretch the window), which
//!   can only admit fewer;
//! - **a refusal**: Redis said the bucket holds no token for the next `wait`, so requests of
//!   that bucket on this node are refused until then without asking again (exact: no token can
//!   appear in the bucket before then).
//!
//! Neighbours: [`super::redis`] asks Redis and keeps what it answered here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Bucket, Verdict};

/// What this node holds of one bucket.
#[derive(Debug, Clone, Copy)]
enum Held {
    /// Tokens not spent yet, valid until then; once spent, the bucket is known empty until
    /// `then_empty` when that is given.
    Tokens {
        left: u32,
        until: Instant,
        then_empty: Option<Instant>,
    },
    /// The bucket is empty until then.
    Empty { until: Instant },
}

impl Held {
    fn until(self) -> Instant {
        match self {
            Held::Tokens {
                until, then_empty, ..
            } => then_empty.map_or(until, |e| e.max(until)),
            Held::Empty { until } => until,
        }
    }
}

/// This node's leases and refusals, by bucket.
#[derive(Debug, Default)]
pub struct Leases(Mutex<HashMap<Bucket, Held>>);

impl Leases {
    /// Decide from what is held for `bucket` at `now`: spend a leased token, or refuse while
    /// the bucket is known empty; `None` when Redis must be asked.
    pub fn take(&self, bucket: Bucket, now: Instant) -> Option<Verdict> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let held = map.get_mut(&bucket)?;
        // Tokens past their span are dropped; what is known of the bucket after them stays.
        if let Held::Tokens {
            until, then_empty, ..
        } = *held
            && now >= until
        {
            *held = Held::Empty {
                until: then_empty.unwrap_or(until),
            };
        }
        if now >= held.until() {
            map.remove(&bucket);
            return None;
        }
        match held {
            Held::Empty { until } => Some(Verdict::Limited { wait: *until - now }),
            Held::Tokens {
                left, then_empty, ..
            } => {
                *left -= 1;
                let remaining = *left;
                if remaining == 0 {
                    match *then_empty {
                        Some(until) if until > now => *held = Held::Empty { until },
                        _ => _ = map.remove(&bucket),
                    }
                }
                Some(Verdict::Allowed { remaining })
            }
        }
    }

    /// Keep `left` tokens of `bucket`, granted at `now`, valid for `span`; `then_empty`: the
    /// bucket is known empty until then once they are spent (or now, when there are none).
    pub fn keep(
        &self,
        bucket: Bucket,
        left: u32,
        now: Instant,
        span: Duration,
        then_empty: Option<Instant>,
    ) {
        if left > 0 {
            let until = now + span;
            self.hold(
                bucket,
                Held::Tokens {
                    left,
                    until,
                    then_empty,
                },
            );
        } else if let Some(until) = then_empty {
            self.hold(bucket, Held::Empty { until });
        }
    }

    /// Remember that `bucket` holds no token for `wait` after `now`.
    pub fn refuse(&self, bucket: Bucket, now: Instant, wait: Duration) {
        self.hold(bucket, Held::Empty { until: now + wait });
    }

    fn hold(&self, bucket: Bucket, held: Held) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(bucket, held);
    }

    /// Forget what has run out.
    pub fn evict(&self, now: Instant) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, h| now < h.until());
    }

    /// Buckets something is held for.
    pub fn buckets(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Scope;
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn tokens_are_spent_once_and_dropped_after_their_span() {
        let leases = Leases::default();
        let b = Bucket::of(Scope::Principal("leased"));
        let t0 = Instant::now();
        assert!(leases.take(b, t0).is_none());
        leases.keep(b, 2, t0, 100 * MS, None);
        assert!(matches!(
            leases.take(b, t0),
            Some(Verdict::Allowed { remaining: 1 })
        ));
        assert!(matches!(
            leases.take(b, t0),
            Some(Verdict::Allowed { remaining: 0 })
        ));
        assert!(leases.take(b, t0).is_none(), "spent: ask Redis");
        leases.keep(b, 3, t0, 100 * MS, None);
        assert!(leases.take(b, t0 + 100 * MS).is_none(), "expired");
        assert_eq!(leases.buckets(), 0);
        leases.keep(b, 3, t0, 100 * MS, None);
        leases.evict(t0 + 50 * MS);
        assert_eq!(leases.buckets(), 1);
        leases.evict(t0 + 150 * MS);
        assert_eq!(leases.buckets(), 0);
    }

    #[test]
    fn a_bucket_emptied_by_a_grant_refuses_once_its_tokens_are_spent() {
        let leases = Leases::default();
        let b = Bucket::of(Scope::Principal("drained"));
        let t0 = Instant::now();
        leases.keep(b, 1, t0, 20 * MS, Some(t0 + 50 * MS));
        assert!(matches!(
            leases.take(b, t0),
            Some(Verdict::Allowed { remaining: 0 })
        ));
        assert!(matches!(
            leases.take(b, t0 + MS),
            Some(Verdict::Limited { .. })
        ));
        assert!(leases.take(b, t0 + 50 * MS).is_none());
        leases.keep(b, 0, t0, 20 * MS, Some(t0 + 50 * MS));
        assert!(matches!(leases.take(b, t0), Some(Verdict::Limited { .. })));
        // Tokens left past their span are dropped, and the bucket is still known empty.
        leases.keep(b, 3, t0, 20 * MS, Some(t0 + 50 * MS));
        assert!(matches!(
            leases.take(b, t0 + 30 * MS),
            Some(Verdict::Limited { .. })
        ));
        assert!(leases.take(b, t0 + 50 * MS).is_none());
    }

    #[test]
    fn a_refusal_holds_until_its_wait_has_passed() {
        let leases = Leases::default();
        let b = Bucket::of(Scope::Principal("refused"));
        let t0 = Instant::now();
        leases.refuse(b, t0, 40 * MS);
        match leases.take(b, t0 + 10 * MS) {
            Some(Verdict::Limited { wait }) => assert_eq!(wait, 30 * MS),
            other => panic!("{other:?}"),
        }
        assert!(
            leases.take(b, t0 + 40 * MS).is_none(),
            "then Redis is asked again"
        );
    }
}
