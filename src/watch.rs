//! The policy watcher: signals, debounced, that the policy may have changed.
//!
//! Owns: the filesystem watch (native inotify via `notify`, falling back to
//! notify's `PollWatcher`), filtering out events that cannot matter (reads of
//! the policy, unrelated files), and debouncing bursts into one `()` signal.
//!
//! Does not own: reading, parsing or compiling policy, nor deciding whether
//! anything really changed. A signal only means "may have changed"; the
//! reloader (its consumer) re-reads, recompiles and swaps, and should tolerate
//! spurious signals.
//!
//! Neighbours: the reload loop receives from the channel [`spawn`] returns;
//! the policy loader reads the same `target` path.
//!
//! The directory containing the target (or the target directory itself) is
//! watched non-recursively, which sees in-place writes, write-temp-then-rename,
//! delete-then-recreate and Kubernetes ConfigMap `..data` symlink swaps (those
//! surface as events on `..`-prefixed entries of the watched directory).
//! Not seen: edits to a symlink's target in some other directory (except the
//! ConfigMap layout above, where the link itself is swapped), and anything
//! after the watched directory itself is removed (one last signal is sent).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Raw (undebounced) events are coalesced beyond this many pending.
const RAW_CAPACITY: usize = 64;

/// Errors from [`spawn`].
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The directory to watch does not exist or is not a directory.
    #[error("cannot watch {path}: directory {dir} does not exist")]
    MissingDir { path: PathBuf, dir: PathBuf },
    /// Neither the native nor the polling watcher could be set up.
    #[error("cannot watch {dir}: {source}")]
    Notify {
        dir: PathBuf,
        #[source]
        source: notify::Error,
    },
    /// Called outside a tokio runtime.
    #[error("policy watcher must be started inside a tokio runtime")]
    NoRuntime,
}

/// Watch `target` (a policy file or a directory of `*.json` files) and send
/// `()` on the returned channel, debounced, whenever it may have changed.
///
/// After the first relevant event the watcher waits for `debounce` of quiet
/// (each event restarts the wait, but the total delay is capped at
/// 4 × `debounce`) and then sends one signal; signals not yet received are
/// coalesced (channel capacity 1). If the native watcher cannot be created,
/// notify's `PollWatcher` with `poll_interval` is used instead. The watcher
/// lives until the receiver is dropped. Must be called inside a tokio
/// runtime.
pub fn spawn(
    target: &Path,
    debounce: Duration,
    poll_interval: Duration,
) -> Result<mpsc::Receiver<()>, WatchError> {
    spawn_with(target, debounce, poll_interval, Backend::Native)
}

/// Which watcher implementation to try first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// inotify (or the platform's equivalent), polling if that fails.
    Native,
    /// notify's `PollWatcher` only.
    #[cfg_attr(not(test), expect(dead_code, reason = "only tests force polling"))]
    Poll,
}

fn spawn_with(
    target: &Path,
    debounce: Duration,
    poll_interval: Duration,
    backend: Backend,
) -> Result<mpsc::Receiver<()>, WatchError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| WatchError::NoRuntime)?;
    let filter = Filter::for_target(target)?;
    let dir = filter.dir.clone();
    let (raw_tx, raw_rx) = mpsc::channel(RAW_CAPACITY);
    let handler = move |res| forward(&filter, &raw_tx, res);
    let watcher = start_watcher(&dir, poll_interval, backend, handler)?;
    let (out_tx, out_rx) = mpsc::channel(1);
    runtime.spawn(debounce_loop(watcher, raw_rx, out_tx, debounce));
    Ok(out_rx)
}

/// Decides which raw events can concern the target.
#[derive(Clone)]
struct Filter {
    /// The directory being watched.
    dir: PathBuf,
    /// The policy file's name, or `None` when the target is a directory.
    file_name: Option<OsString>,
}

impl Filter {
    fn for_target(target: &Path) -> Result<Self, WatchError> {
        let (dir, file_name) = if target.is_dir() {
            (target.to_path_buf(), None)
        } else {
            let parent = target.parent().filter(|p| !p.as_os_str().is_empty());
            let dir = parent.unwrap_or(Path::new(".")).to_path_buf();
            (dir, target.file_name().map(OsString::from))
        };
        if !dir.is_dir() {
            let path = target.to_path_buf();
            return Err(WatchError::MissingDir { path, dir });
        }
        Ok(Self { dir, file_name })
    }

    fn is_relevant(&self, event: &Event) -> bool {
        let kind = &event.kind;
        !is_read(kind)
            && (event.paths.is_empty() || event.paths.iter().any(|p| self.path_matters(p, kind)))
    }

    fn path_matters(&self, path: &Path, kind: &EventKind) -> bool {
        if path == self.dir {
            // Its mtime changes whenever any entry does (the entry itself is
            // reported too); only its removal matters on its own.
            return matches!(kind, EventKind::Remove(_));
        }
        let Some(name) = path.file_name() else {
            return true;
        };
        if name.to_string_lossy().starts_with("..") {
            return true;
        }
        match &self.file_name {
            Some(file_name) => name == file_name,
            None => Path::new(name).extension().is_some_and(|e| e == "json"),
        }
    }
}

/// Opening, reading and closing without writing never changes content (and
/// the reloader's own reads must not trigger another reload).
fn is_read(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(a) if *a != AccessKind::Close(AccessMode::Write))
}

/// Runs on notify's thread: passes relevant events (and errors, which may
/// hide missed changes) on to the debounce task.
fn forward(filter: &Filter, raw_tx: &mpsc::Sender<()>, res: notify::Result<Event>) {
    let relevant = match res {
        Ok(event) => filter.is_relevant(&event),
        Err(err) => {
            tracing::warn!(dir = %filter.dir.display(), error = %err, "policy watcher error");
            true
        }
    };
    if relevant {
        // Full means a signal is already pending, which is all that matters.
        let _ = raw_tx.try_send(());
    }
}

/// Watches `dir` with the native watcher (unless `backend` says poll), or
/// the polling one if that fails.
fn start_watcher<F>(
    dir: &Path,
    poll_interval: Duration,
    backend: Backend,
    handler: F,
) -> Result<Box<dyn Watcher + Send>, WatchError>
where
    F: Fn(notify::Result<Event>) + Clone + Send + 'static,
{
    if backend == Backend::Native {
        match native_watcher(dir, handler.clone()) {
            Ok(watcher) => {
                tracing::info!(dir = %dir.display(), kind = "native", "watching policy");
                return Ok(watcher);
            }
            Err(err) => {
                tracing::warn!(dir = %dir.display(), error = %err, "native watcher unavailable, falling back to polling");
            }
        }
    }
    let watcher =
        poll_watcher(dir, poll_interval, handler).map_err(|source| WatchError::Notify {
            dir: dir.to_path_buf(),
            source,
        })?;
    tracing::info!(dir = %dir.display(), kind = "poll", ?poll_interval, "watching policy");
    Ok(watcher)
}

fn native_watcher<F>(dir: &Path, handler: F) -> notify::Result<Box<dyn Watcher + Send>>
where
    F: Fn(notify::Result<Event>) + Send + 'static,
{
    let mut watcher = RecommendedWatcher::new(handler, notify::Config::default())?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(Box::new(watcher))
}

fn poll_watcher<F>(
    dir: &Path,
    poll_interval: Duration,
    handler: F,
) -> notify::Result<Box<dyn Watcher + Send>>
where
    F: Fn(notify::Result<Event>) + Send + 'static,
{
    // PollWatcher compares mtimes in whole seconds; hashing contents catches
    // writes within the same second (policy files are small).
    let config = notify::Config::default()
        .with_poll_interval(poll_interval)
        .with_compare_contents(true);
    let mut watcher = PollWatcher::new(handler, config)?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(Box::new(watcher))
}

/// Owns the watcher; turns raw events into debounced signals until the
/// receiver is dropped.
async fn debounce_loop(
    watcher: Box<dyn Watcher + Send>,
    mut raw: mpsc::Receiver<()>,
    out: mpsc::Sender<()>,
    debounce: Duration,
) {
    loop {
        tokio::select! {
            () = out.closed() => break,
            ev = raw.recv() => if ev.is_none() { break },
        }
        if !settle(&mut raw, debounce).await {
            break;
        }
        if let Err(mpsc::error::TrySendError::Closed(())) = out.try_send(()) {
            break;
        }
    }
    drop(watcher);
    tracing::debug!("policy watcher stopped");
}

/// Waits until `debounce` passes without a raw event, or 4 × `debounce`
/// since the call, whichever is first. False if the raw channel closed.
async fn settle(raw: &mut mpsc::Receiver<()>, debounce: Duration) -> bool {
    let cap = Instant::now() + debounce.saturating_mul(4);
    let mut deadline = (Instant::now() + debounce).min(cap);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return true,
            ev = raw.recv() => {
                if ev.is_none() {
                    return false;
                }
                deadline = (Instant::now() + debounce).min(cap);
            }
        }
    }
}

/// Watch every path in `targets` (the first must be watchable; the others are watched when
/// they can be, with a warning otherwise) and merge their signals into one channel.
pub fn spawn_many(
    targets: &[PathBuf],
    debounce: Duration,
    poll_interval: Duration,
) -> Result<mpsc::Receiver<()>, WatchError> {
    let (tx, merged) = mpsc::channel(1);
    for (n, target) in targets.iter().enumerate() {
        let mut rx = match spawn(target, debounce, poll_interval) {
            Ok(rx) => rx,
            Err(e) if n == 0 => return Err(e),
            Err(e) => {
                tracing::warn!(path = %target.display(), error = %e, "cannot watch file");
                continue;
            }
        };
        let tx = tx.clone();
        // Ends when either side closes, so dropping the merged receiver stops every watcher.
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tx.closed() => break,
                    s = rx.recv() => if s.is_none() { break },
                }
                let _ = tx.try_send(());
            }
        });
    }
    Ok(merged)
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
