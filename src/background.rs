//! A thread of low priority for work that must not take a core from traffic: reloads.
//!
//! A reload of a large policy is a tenth of a second of CPU or more. On a core that a worker
//! shares with it, every request that arrives meanwhile waits for the reload's time slice to
//! end (a p99 rise while reloading). `policy::pace` makes the reload yield often; this lowers
//! the reload thread's scheduling weight as well (`NICE`), so that a worker woken by a request
//! runs first and an idle core still runs the reload at full speed.
//!
//! The priority is the thread's own (Linux applies a nice value per thread), so the thread is
//! one of our own: a shared blocking-pool thread would keep it for whatever runs there next, and
//! an unprivileged process cannot raise it back. On a core that traffic saturates the reload
//! still gets its weighted share, about a tenth of the core at `NICE` = 10: a 100,000-key policy
//! edit took effect after 1.6-2.4 s there in session 11, against 1.1 s at the workers' priority
//! (at nice 19, only 2 of 10 edits made a second apart took effect within 10 s); since session
//! 13, with reloads four times cheaper and pacing 250 ms, after 0.57-0.81 s. That is the price
//! of the quieter core when it is not saturated.

use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};

/// The nice value of background threads (0 is normal, 19 the lowest priority).
pub const NICE: i32 = 10;

/// Lower the calling thread's priority to `NICE`. A platform or sandbox that refuses leaves it
/// as it was: the work still runs, only without giving way.
pub fn lower_this_thread() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE);
}

type Job = Box<dyn FnOnce() + Send>;

/// A thread of low priority that runs jobs one after another, started on first use and ended
/// when this is dropped.
#[derive(Debug, Default)]
pub struct Background {
    jobs: Mutex<Option<Sender<Job>>>,
}

impl Background {
    /// Run `work` on the thread and wait for its result. `None` if the thread cannot be started
    /// or `work` panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = done.send(out.ok());
        });
        self.send(job)?;
        result.await.ok().flatten()
    }

    fn send(&self, job: Job) -> Option<()> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        // A thread that is gone (it cannot be, but should it) hands the job back.
        let job = match jobs.as_ref() {
            Some(sender) => match sender.send(job) {
                Ok(()) => return Some(()),
                Err(back) => back.0,
            },
            None => job,
        };
        let (sender, receiver) = channel::<Job>();
        std::thread::Builder::new()
            .name("portcullis-reload".into())
            .spawn(move || {
                lower_this_thread();
                while let Ok(job) = receiver.recv() {
                    job();
                }
            })
            .ok()?;
        sender.send(job).ok()?;
        *jobs = Some(sender);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nice_here() -> i32 {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
    }

    #[tokio::test]
    async fn jobs_run_on_one_thread_of_lower_priority_than_the_caller() {
        let background = Background::default();
        let caller = nice_here();
        let first = background
            .run(|| (std::thread::current().id(), nice_here()))
            .await
            .unwrap();
        let second = background
            .run(|| std::thread::current().id())
            .await
            .unwrap();
        assert_eq!(first.0, second, "one thread for every job");
        assert_ne!(first.0, std::thread::current().id());
        // Where the caller already runs at NICE or lower, the thread cannot go lower.
        assert_eq!(first.1, NICE.max(caller), "caller at {caller}");
        assert_eq!(nice_here(), caller, "the caller's priority is its own");
    }

    #[tokio::test]
    async fn a_job_that_panics_is_none_and_the_thread_goes_on() {
        let background = Background::default();
        assert_eq!(background.run(|| -> u8 { panic!("boom") }).await, None);
        assert_eq!(background.run(|| 7).await, Some(7));
    }
}
