//! What a node knows of its shared store, for `/status`, `/readyz` and `/metrics`: the revision
//! it runs, when it last confirmed that revision with the database (the age of its state while
//! the database is away: decisions are fail-static on the last state), and the last error.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::time::Instant;

/// The follower's view of the store, shared with the admin listener.
#[derive(Debug, Default)]
pub struct Status {
    /// The revision of the state this node runs (0: nothing synced yet).
    revision: AtomicU64,
    /// Set once the first full sync applied: before that the node has no state to decide on
    /// and is not ready.
    synced: AtomicBool,
    /// Whether the follower's connection is up.
    connected: AtomicBool,
    /// When the database last confirmed this node's revision (tokio time, so tests can pause it).
    confirmed: Mutex<Option<Instant>>,
    /// Why the last attempt failed (no secret: connection strings are never formatted).
    error: Mutex<Option<String>>,
    /// Errors talking to the database, counted.
    errors: AtomicU64,
}

impl Status {
    /// The revision this node runs.
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    /// This node now runs `revision`, confirmed by the database just now.
    pub fn applied(&self, revision: u64) {
        self.revision.fetch_max(revision, Ordering::AcqRel);
        self.confirm();
    }

    /// The database confirmed this node's state just now.
    pub fn confirm(&self) {
        self.synced.store(true, Ordering::Release);
        self.connected.store(true, Ordering::Release);
        *self.confirmed.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Talking to the database failed with `why`.
    pub fn failed(&self, why: String) {
        self.connected.store(false, Ordering::Release);
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }

    /// Whether the node has state to decide on; `Err` says why not.
    pub fn ready(&self) -> Result<(), String> {
        if self.synced.load(Ordering::Acquire) {
            return Ok(());
        }
        let why = self.error.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Err(why.unwrap_or_else(|| "the shared store has not been read yet".into()))
    }

    /// Seconds since the database last confirmed this node's state (`None`: never).
    pub fn age_s(&self) -> Option<f64> {
        let at = *self.confirmed.lock().unwrap_or_else(|p| p.into_inner());
        at.map(|t| t.elapsed().as_secs_f64())
    }

    /// The `/status` section.
    pub fn report(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": "postgres",
            "revision": self.revision(),
            "ready": self.ready().is_ok(),
            "connected": self.connected.load(Ordering::Acquire),
            "state_age_s": self.age_s(),
            "last_error": *self.error.lock().unwrap_or_else(|p| p.into_inner()),
        })
    }

    /// Prometheus text lines: revision, state age, connection, errors.
    pub fn metrics(&self) -> String {
        let age = self.age_s().unwrap_or(-1.0);
        let up = u8::from(self.connected.load(Ordering::Acquire));
        format!(
            "# HELP portcullis_store_revision Revision of the shared store this node runs.\n\
             # TYPE portcullis_store_revision gauge\n\
             portcullis_store_revision {}\n\
             # HELP portcullis_store_state_age_seconds Seconds since the database last confirmed this node's state (-1: never).\n\
             # TYPE portcullis_store_state_age_seconds gauge\n\
             portcullis_store_state_age_seconds {age}\n\
             # HELP portcullis_store_connected Whether the node's connection to the store is up.\n\
             # TYPE portcullis_store_connected gauge\n\
             portcullis_store_connected {up}\n\
             # HELP portcullis_store_errors Errors talking to the store.\n\
             # TYPE portcullis_store_errors counter\n\
             portcullis_store_errors_total {}\n",
            self.revision(),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_ready_only_once_it_has_read_the_state() {
        let s = Status::default();
        assert!(s.ready().is_err());
        s.failed("postgresql: error connecting to server".into());
        assert_eq!(
            s.ready().expect_err("not read"),
            "postgresql: error connecting to server"
        );
        s.applied(3);
        assert!(s.ready().is_ok());
        assert_eq!(s.report()["revision"], 3);
        assert_eq!(s.report()["connected"], true);
        // Losing the database later keeps the node ready (fail-static) and shows it.
        s.failed("the connection to postgresql closed".into());
        assert!(s.ready().is_ok());
        assert_eq!(s.report()["connected"], false);
        assert!(s.metrics().contains("portcullis_store_revision 3\n"));
        assert!(s.metrics().contains("portcullis_store_connected 0\n"));
    }

    #[test]
    fn the_revision_never_goes_back() {
        let s = Status::default();
        s.applied(5);
        s.applied(4);
        assert_eq!(s.revision(), 5);
    }
}
