//! The gateway's own file (`portcullis-managed.json` in the policy directory): where the
//! management APIs persist what they create — SeaTable API tokens, and the registry of
//! contract.fit roles, users and API keys and Trivore authorisation records — secrets as digests
//! only.
//!
//! One write at a time, each durable before it is acknowledged: the file is replaced atomically
//! (temp file, fsync, rename, fsync of the directory) while the reload lock is held, so a reload
//! never interleaves with a write. A registry write compiles only the registry (against the
//! running policy's rules) and publishes it beside the unchanged compiled policy; a state that
//! does not compile is refused before anything is written. A SeaTable API token write changes
//! the policy itself, so it goes through the full reload, and is rolled back if that fails.
//!
//! Where the state lives is behind `Backend`: the file by default, or PostgreSQL for a fleet
//! (`store::postgres`), which reads, changes and writes it in one transaction
//! (`Backend::transact`) so that two nodes never overwrite each other's change.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::policy::raw_managed::RawManagedFile;
use crate::policy::{CompileErrors, Snapshot};
use crate::registry::{Fault, Index};
use crate::reload::{Outcome, Reloader};

pub use crate::policy::raw_managed::MANAGED_FILE as FILE_NAME;

/// What the managed file holds.
pub type Managed = RawManagedFile;

/// Why a management write failed.
#[derive(Debug, thiserror::Error)]
pub enum ManagedError {
    /// The policy is a single file, so there is no directory to write into.
    #[error("the policy is a single file; management APIs need a policy directory")]
    NotADirectory,
    /// Reading or writing failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The managed file is not valid.
    #[error("portcullis-managed.json is not valid: {0}")]
    Invalid(String),
    /// The change would not compile; nothing was written.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused(Vec<Fault>),
    /// The reload rejected the change (it was rolled back).
    #[error("the change did not compile and was rolled back: {0}")]
    Rejected(String),
    /// No policy is loaded yet.
    #[error("no policy is loaded")]
    NoPolicy,
    /// The shared store cannot be reached; nothing was written.
    #[error("the shared store is unavailable: {0}")]
    Unavailable(String),
}

/// Changes a stored state: gets what is stored (`None`: nothing yet) and returns what to store
/// (`None`: store nothing).
pub type Edit<'a> = dyn FnMut(Option<Managed>) -> Result<Option<Managed>, ManagedError> + Send + 'a;

/// Where the managed state is kept.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The stored state (`None`: nothing stored yet).
    fn load(&self) -> Result<Option<Managed>, ManagedError>;
    /// Store `state` durably: when this returns `Ok`, the state survives a crash.
    fn persist(&self, state: &Managed) -> Result<(), ManagedError>;
    /// Remove the stored state.
    fn clear(&self) -> Result<(), ManagedError>;
    /// Whether other writers (other nodes) share the state: a roll-back then restores only
    /// what the failed write changed, keeping what they wrote since.
    fn shared(&self) -> bool {
        false
    }
    /// Read the stored state (or take `cached`, when the backend trusts it), let `edit` change
    /// it and store the result, as one step: a backend shared by several writers holds its lock
    /// from the read to the write. `edit` is called once.
    fn transact(&self, cached: Option<Managed>, edit: &mut Edit<'_>) -> Result<(), ManagedError> {
        let before = match cached {
            Some(c) => Some(c),
            None => self.load()?,
        };
        match edit(before)? {
            Some(next) => self.persist(&next),
            None => Ok(()),
        }
    }
}

/// The managed file of a policy directory.
#[derive(Debug)]
pub struct FileBackend {
    /// The file.
    pub path: PathBuf,
}

impl FileBackend {
    fn io(&self, source: std::io::Error) -> ManagedError {
        ManagedError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl Backend for FileBackend {
    fn load(&self) -> Result<Option<Managed>, ManagedError> {
        match std::fs::read_to_string(&self.path) {
            Ok(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| ManagedError::Invalid(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    fn persist(&self, state: &Managed) -> Result<(), ManagedError> {
        let text = serde_json::to_string_pretty(state)
            .map_err(|e| ManagedError::Invalid(e.to_string()))?;
        write_atomic(&self.path, text.as_bytes()).map_err(|e| self.io(e))
    }

    fn clear(&self) -> Result<(), ManagedError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.io(e)),
            _ => Ok(()),
        }
    }
}

/// Writes the managed state of one policy directory, one change at a time.
#[derive(Debug)]
pub struct Store {
    reloader: Arc<Reloader>,
    backend: Option<Arc<dyn Backend>>,
    lock: tokio::sync::Mutex<()>,
    /// The state as last written, with what it runs as (`running_key`): reused by the next
    /// write while that is what runs (a reload of a hand edit makes it stale).
    last: std::sync::Mutex<Option<(Managed, String)>>,
}

impl Store {
    /// A store for `reloader`'s policy directory (the file backend). Temp files a killed
    /// process left behind are removed.
    pub fn new(reloader: Arc<Reloader>) -> Self {
        let backend: Option<Arc<dyn Backend>> = reloader.path.is_dir().then(|| {
            remove_leftovers(&reloader.path);
            Arc::new(FileBackend {
                path: reloader.path.join(FILE_NAME),
            }) as Arc<dyn Backend>
        });
        Self::with_backend(reloader, backend)
    }

    /// A store writing through `backend` (`None`: writes answer "not available").
    pub fn with_backend(reloader: Arc<Reloader>, backend: Option<Arc<dyn Backend>>) -> Self {
        Self {
            reloader,
            backend,
            lock: tokio::sync::Mutex::new(()),
            last: std::sync::Mutex::new(None),
        }
    }

    /// Apply `change` to the managed state and, unless it returns `Err` (then nothing is
    /// written), make the result durable and live. Returns what `change` returned once the new
    /// state is live: the very next request sees it.
    pub async fn update<T, E>(
        &self,
        change: impl FnOnce(&mut Managed) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, ManagedError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let _one_at_a_time = self.lock.lock().await;
        let backend = self.backend.clone().ok_or(ManagedError::NotADirectory)?;
        let reloader = Arc::clone(&self.reloader);
        let cached = self.last.lock().unwrap_or_else(|p| p.into_inner()).take();
        let done = tokio::task::spawn_blocking(move || {
            // Held across read, write and publish: a reload never sees half of a write.
            let _serial = reloader.serial();
            let running = reloader.policy.current().map(|c| running_key(&c));
            let cached = cached
                .filter(|(_, sha)| Some(sha) == running.as_ref())
                .map(|(m, _)| m);
            let mut change = Some(change);
            let mut plan = Plan::Nothing;
            backend.transact(cached, &mut |before| {
                let change = change
                    .take()
                    .ok_or_else(|| ManagedError::Invalid("a change was applied twice".into()))?;
                let (next, p) = apply(&reloader, before, change)?;
                plan = p;
                Ok(next)
            })?;
            let written = match plan {
                Plan::Nothing => {
                    return Err(ManagedError::Invalid("the change did not run".into()));
                }
                // Nothing written: what was read is still what runs.
                Plan::Unchanged(out, before) => return Ok((out, None, before.zip(running))),
                Plan::Reload(out, before) => return Ok((Ok(out), Some(before), None)),
                Plan::Publish(out, state, index) => {
                    let current = reloader.policy.current().ok_or(ManagedError::NoPolicy)?;
                    let next = Snapshot {
                        generation: 0,
                        compiled: Arc::clone(&current.compiled),
                        managed: Arc::new(*index),
                    };
                    let sha = running_key(&next);
                    reloader.policy.publish(next, reloader.clock.now());
                    (Ok(out), state, sha)
                }
            };
            let (out, state, sha) = written;
            Ok((out, None, Some((state, sha))))
        })
        .await
        .map_err(|e| ManagedError::Invalid(e.to_string()))??;
        let (out, full_reload, written) = done;
        if let Some(w) = written {
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(w);
        }
        let Some(before) = full_reload else {
            return Ok(out);
        };
        // SeaTable API tokens are part of the policy: apply them through the full reload.
        if let Outcome::Rejected(errors) = self.reloader.reload_async().await {
            self.roll_back(before, &errors).await?;
            return Err(ManagedError::Rejected(errors.to_string()));
        }
        Ok(out)
    }

    async fn roll_back(
        &self,
        before: Option<Managed>,
        _errors: &CompileErrors,
    ) -> Result<(), ManagedError> {
        let backend = self.backend.clone().ok_or(ManagedError::NotADirectory)?;
        let reloader = Arc::clone(&self.reloader);
        tokio::task::spawn_blocking(move || {
            let _serial = reloader.serial();
            match before {
                None if !backend.shared() => backend.clear(),
                // Only the API tokens changed: put them back, keep anything written since.
                before => {
                    let tokens = before.map(|b| b.api_tokens).unwrap_or_default();
                    backend.transact(None, &mut |current| {
                        let mut state = current.unwrap_or_default();
                        state.api_tokens = tokens.clone();
                        Ok(Some(state))
                    })
                }
            }
        })
        .await
        .map_err(|e| ManagedError::Invalid(e.to_string()))??;
        self.reloader.reload_async().await;
        Ok(())
    }
}

/// What a write does once the backend has stored its result.
enum Plan<T, E> {
    /// The change has not run (yet).
    Nothing,
    /// The change refused: nothing stored; what was read.
    Unchanged(Result<T, E>, Option<Managed>),
    /// SeaTable API tokens changed: stored; the full reload applies them (rolled back to the
    /// state before if it fails).
    Reload(T, Option<Managed>),
    /// The registry changed: stored; publish its compiled index.
    Publish(T, Managed, Box<Index>),
}

/// Apply `change` to `before` (what is stored): what to store and what to do next.
fn apply<T, E>(
    reloader: &Reloader,
    before: Option<Managed>,
    change: impl FnOnce(&mut Managed) -> Result<T, E>,
) -> Result<(Option<Managed>, Plan<T, E>), ManagedError> {
    let mut state = before.clone().unwrap_or_default();
    let out = match change(&mut state) {
        Ok(t) => t,
        Err(e) => return Ok((None, Plan::Unchanged(Err(e), before))),
    };
    state.comment = "Written by Portcullis management APIs. Do not edit by hand.".into();
    let old_tokens = before
        .as_ref()
        .map(|b| b.api_tokens.as_slice())
        .unwrap_or(&[]);
    if state.api_tokens != old_tokens {
        return Ok((Some(state), Plan::Reload(out, before)));
    }
    let current = reloader.policy.current().ok_or(ManagedError::NoPolicy)?;
    let index = current
        .management
        .with_rules(|rules| Index::build(Arc::new(state.registry.clone()), rules))
        .map_err(ManagedError::Refused)?;
    Ok((
        Some(state.clone()),
        Plan::Publish(out, state, Box::new(index)),
    ))
}

/// What a snapshot runs of the managed file: the policy input (with its API tokens) and the
/// registry, by fingerprint.
fn running_key(s: &Snapshot) -> String {
    format!("{}/{}", s.sha256, s.managed.sha256)
}

/// Remove the temp files of writes a killed process did not finish (`.portcullis-managed.json.*.tmp`).
fn remove_leftovers(dir: &Path) {
    let prefix = format!(".{FILE_NAME}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Write `bytes` to `path` so that readers see the old or the new content, never a mix:
/// temp file in the same directory, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("managed");
    // A leading dot keeps the temp file out of the policy (hidden files are skipped).
    let tmp = dir.join(format!(
        ".{name}.{}.tmp",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
