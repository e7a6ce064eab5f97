//! Recent denials: a bounded ring of the last denied requests (request id, time, route, reason,
//! credential id), for the admin listener and its dashboard.
//!
//! Recording claims a slot with one atomic increment and writes it under that slot's own lock,
//! so two workers only meet when they land on the same slot; nothing grows. Only ids and reason
//! codes are kept, never a secret or a path.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Denials kept.
pub const CAPACITY: usize = 256;

/// One denied request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Denial {
    /// Its request id.
    pub request_id: String,
    /// Unix milliseconds.
    pub at_ms: u64,
    /// The route it matched, if any.
    pub route: Option<String>,
    /// The reason code.
    pub reason: &'static str,
    /// The status answered.
    pub status: u16,
    /// The credential it presented, by id, when one was identified.
    pub credential_id: Option<String>,
}

/// The ring.
#[derive(Debug)]
pub struct Denials {
    /// Slots, written round-robin.
    slots: Box<[Mutex<Option<Denial>>]>,
    /// Denials recorded so far (the next slot is `next % CAPACITY`).
    next: AtomicU64,
}

impl Default for Denials {
    fn default() -> Self {
        Self {
            slots: (0..CAPACITY).map(|_| Mutex::new(None)).collect(),
            next: AtomicU64::new(0),
        }
    }
}

impl Denials {
    /// Keep `d`, dropping the oldest when full.
    pub fn record(&self, d: Denial) {
        let i = self.next.fetch_add(1, Relaxed) as usize % CAPACITY;
        *self.slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(d);
    }

    /// The kept denials, newest first, and how many were ever recorded.
    pub fn recent(&self) -> (Vec<Denial>, u64) {
        let total = self.next.load(Relaxed);
        let mut out: Vec<Denial> = self
            .slots
            .iter()
            .filter_map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        out.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(b.request_id.cmp(&a.request_id)));
        (out, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_last_capacity_denials() {
        let d = Denials::default();
        for i in 0..(CAPACITY as u64 + 10) {
            d.record(Denial {
                request_id: format!("{i:04}"),
                at_ms: i,
                route: None,
                reason: "no_route",
                status: 404,
                credential_id: None,
            });
        }
        let (kept, total) = d.recent();
        assert_eq!(total, CAPACITY as u64 + 10);
        assert_eq!(kept.len(), CAPACITY);
        assert_eq!(kept[0].request_id, format!("{:04}", CAPACITY + 9));
        assert_eq!(kept[CAPACITY - 1].request_id, "0010");
    }
}
