//! Reloads that give way to traffic.
//!
//! A reload of a large policy is hundreds of milliseconds of CPU. Where it shares a core with a
//! worker, the scheduler lets it run for whole time slices (milliseconds) while requests wait:
//! a p99 spike on every reload. So while a reload is paced (`Paced`, set by the reloader on its
//! own thread), the loops that do its work call `point`, which yields the core to any runnable
//! thread every `SLICE` of work. A worker then waits at most about a slice, and an idle core
//! runs the reload at full speed (a yield with nothing else runnable returns at once).
//!
//! On a core that traffic saturates, yielding would starve the reload, and a revoked key would
//! stay usable for as long. So pacing ends `WINDOW` after the reload started; the rest runs at
//! the reload thread's share of the core (`background`: nice 10).

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Work between two yields.
pub const SLICE: Duration = Duration::from_micros(100);

/// How long a reload gives way before it takes its fair share: a few times what a one-key edit
/// of 100,000 keys costs (45-60 ms of CPU since session 13), so a core that traffic only keeps
/// busy runs the whole reload paced, and a saturated one applies a revocation within about a
/// second (it was 1 s when a reload cost four times more).
pub const WINDOW: Duration = Duration::from_millis(250);

thread_local! {
    /// While paced: when pacing ends, and when this thread last yielded.
    static PACING: Cell<Option<(Instant, Instant)>> = const { Cell::new(None) };
}

/// Pacing for this thread until dropped.
#[derive(Debug)]
pub struct Paced(());

impl Paced {
    /// Pace this thread's reload work from now for `WINDOW`.
    pub fn start() -> Self {
        let now = Instant::now();
        PACING.with(|p| p.set(Some((now + WINDOW, now))));
        Self(())
    }
}

impl Drop for Paced {
    fn drop(&mut self) {
        PACING.with(|p| p.set(None));
    }
}

/// A point in reload work where it may give way: yields if this thread is paced and has worked
/// a `SLICE` since it last did. Costs one clock read when paced, nothing otherwise.
pub fn point() {
    PACING.with(|p| {
        let Some((until, last)) = p.get() else {
            return;
        };
        let now = Instant::now();
        if now >= until {
            return p.set(None);
        }
        if now.duration_since(last) >= SLICE {
            std::thread::yield_now();
            p.set(Some((until, Instant::now())));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paced() -> bool {
        PACING.with(|p| p.get().is_some())
    }

    #[test]
    fn pacing_lasts_while_the_guard_lives_and_within_its_window() {
        assert!(!paced());
        point();
        {
            let _paced = Paced::start();
            assert!(paced());
            point();
            assert!(paced());
            // Past the window, the next point ends pacing.
            PACING.with(|p| p.set(Some((Instant::now(), Instant::now()))));
            point();
            assert!(!paced());
        }
        let guard = Paced::start();
        drop(guard);
        assert!(!paced());
    }

    #[test]
    fn a_point_after_a_slice_of_work_restarts_the_slice() {
        let _paced = Paced::start();
        let long_ago = Instant::now() - SLICE * 10;
        PACING.with(|p| p.set(Some((Instant::now() + WINDOW, long_ago))));
        point();
        let (_, last) = PACING.with(|p| p.get()).expect("still paced");
        assert!(last > long_ago, "the slice did not restart");
    }
}
