//! Freeing a replaced snapshot off the request path.
//!
//! When a reload publishes a new snapshot, requests still in flight hold the old one. Whoever
//! drops the last reference frees it, and with many keys that takes milliseconds: were it a
//! request, its worker would stop serving for that long (a p99 spike on every reload). So the
//! publisher hands the old snapshot to `retire`, which frees it on the publishing thread when
//! nothing else holds it, else on a thread of its own, of low priority (`background`), once the
//! requests are done with it.

use std::sync::Arc;
use std::time::Duration;

/// Free `old` here if nothing else holds it, else on a `portcullis-retire` thread once the other
/// holders let go. `old` must be unreachable for new holders (out of the swap), so its count
/// only falls.
pub fn retire<T: Send + Sync + 'static>(old: Arc<T>) {
    if Arc::strong_count(&old) == 1 {
        return drop(old);
    }
    let reaper = std::thread::Builder::new().name("portcullis-retire".into());
    // Should the thread not start, the closure (and the snapshot) is dropped right here.
    let _ = reaper.spawn(move || {
        crate::background::lower_this_thread();
        let mut wait = Duration::from_millis(1);
        while Arc::strong_count(&old) > 1 {
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_millis(100));
        }
        drop(old);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Instant;

    /// Records the name of the thread that drops it.
    struct Noted(Arc<Mutex<Option<String>>>);

    impl Drop for Noted {
        fn drop(&mut self) {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            *self.0.lock().unwrap() = Some(name);
        }
    }

    fn dropped_by(note: &Mutex<Option<String>>) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(name) = note.lock().unwrap().clone() {
                return Some(name);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        None
    }

    #[test]
    fn a_snapshot_a_request_still_holds_is_freed_off_that_request_thread() {
        let note = Arc::new(Mutex::new(None));
        let old = Arc::new(Noted(Arc::clone(&note)));
        let request = Arc::clone(&old);
        retire(old);
        assert_eq!(
            *note.lock().unwrap(),
            None,
            "freed while a request holds it"
        );
        // The request ends: its reference is the last but one, never the last.
        drop(request);
        assert_eq!(dropped_by(&note).as_deref(), Some("portcullis-retire"));
    }

    #[test]
    fn a_snapshot_nothing_holds_is_freed_at_once() {
        let note = Arc::new(Mutex::new(None));
        retire(Arc::new(Noted(Arc::clone(&note))));
        let here = std::thread::current().name().unwrap_or("").to_owned();
        assert_eq!(*note.lock().unwrap(), Some(here));
    }
}
