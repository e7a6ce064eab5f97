//! `last_access` of API tokens: when each last obtained a base token, on this node.
//!
//! Kept in memory, outside the policy snapshot (like the login throttle): a reload keeps it, a
//! restart forgets it, and each node of a fleet reports its own. `mint` records an exchange;
//! `api_tokens::list` reads it. Keyed by API token id, so it never holds a secret.

use std::collections::HashMap;
use std::sync::Mutex;

/// API token id → unix seconds of its last exchange.
#[derive(Debug, Default)]
pub struct LastAccess(Mutex<HashMap<String, i64>>);

impl LastAccess {
    /// Record that API token `id` obtained a base token at `now`.
    pub fn record(&self, id: &str, now: i64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(id.to_owned(), now);
    }

    /// When API token `id` last obtained a base token on this node, if it has.
    pub fn get(&self, id: &str) -> Option<i64> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_exchange_wins() {
        let l = LastAccess::default();
        assert_eq!(l.get("api-1"), None);
        l.record("api-1", 10);
        l.record("api-1", 20);
        assert_eq!((l.get("api-1"), l.get("api-2")), (Some(20), None));
    }
}
