//! A latency histogram that records with three relaxed atomic additions: no lock and no
//! allocation when observing (prometheus-client's own histogram takes a mutex per observation).
//! Buckets are fixed at build time; `render` encodes it through prometheus-client.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (the `+Inf` bucket is implicit).
pub const LATENCY_BUCKETS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Fixed-bucket histogram of durations.
#[derive(Debug)]
pub struct Histogram {
    /// Upper bounds in nanoseconds, ascending.
    bounds_ns: [u64; LATENCY_BUCKETS_S.len()],
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    counts: [AtomicU64; LATENCY_BUCKETS_S.len() + 1],
    /// Sum of every observation, in nanoseconds.
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            bounds_ns: LATENCY_BUCKETS_S.map(|s| (s * 1e9) as u64),
            counts: Default::default(),
            sum_ns: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Record one duration.
    pub fn observe(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = self.bounds_ns.partition_point(|&b| b < ns);
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    /// Sum in seconds, count, and `(upper bound, count)` per bucket (not cumulative), as
    /// prometheus-client's encoder takes them.
    pub fn read(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS_S
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.counts.iter().map(|c| c.load(Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.sum_ns.load(Relaxed) as f64 / 1e9;
        (sum, count, buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_observation_lands_in_the_first_bucket_that_holds_it() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_micros(501));
        h.observe(Duration::from_secs(60));
        let (sum, count, buckets) = h.read();
        assert_eq!(count, 3);
        assert_eq!(buckets[0], (0.0005, 1), "le is inclusive");
        assert_eq!(buckets[1], (0.001, 1));
        assert_eq!(buckets[14], (f64::INFINITY, 1));
        assert!((sum - 60.001001).abs() < 1e-9);
    }
}
