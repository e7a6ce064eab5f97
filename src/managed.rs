//! The gateway's own policy file: where management APIs persist what they create (per-base API
//! tokens), as SHA-256 digests only.
//!
//! It lives inside the policy directory under a name of its own, so an API write never rewrites
//! a file a person edits, and takes effect through the normal reload. Writes are atomic: temp
//! file, fsync, rename, fsync of the directory. A write that the reload rejects is rolled back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::policy::raw::RawApiToken;
use crate::reload::{Outcome, Reloader};

/// The managed file's name inside the policy directory.
pub const FILE_NAME: &str = "portcullis-managed.json";

/// What the managed file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Managed {
    /// A note for people who open it.
    #[serde(rename = "$comment", default)]
    pub comment: String,
    /// Per-base API tokens.
    #[serde(default)]
    pub api_tokens: Vec<RawApiToken>,
}

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
    /// The reload rejected the change (it was rolled back).
    #[error("the change did not compile and was rolled back: {0}")]
    Rejected(String),
}

/// Writes the managed file of one policy directory, one change at a time.
#[derive(Debug)]
pub struct Store {
    reloader: Arc<Reloader>,
    lock: tokio::sync::Mutex<()>,
}

impl Store {
    /// A store for `reloader`'s policy directory.
    pub fn new(reloader: Arc<Reloader>) -> Self {
        Self {
            reloader,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn path(&self) -> Result<PathBuf, ManagedError> {
        let dir = &self.reloader.path;
        if !dir.is_dir() {
            return Err(ManagedError::NotADirectory);
        }
        Ok(dir.join(FILE_NAME))
    }

    /// Apply `change` to the managed file, write it atomically and reload. Returns what `change`
    /// returned once the new policy is live.
    pub async fn update<T>(
        &self,
        change: impl FnOnce(&mut Managed) -> T,
    ) -> Result<T, ManagedError> {
        let _one_at_a_time = self.lock.lock().await;
        let path = self.path()?;
        let io = |source| ManagedError::Io {
            path: path.clone(),
            source,
        };
        // File reads, writes and fsyncs run on the blocking pool, never on a request worker.
        let before = match blocking(&path, |p| std::fs::read_to_string(p)).await {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let mut managed: Managed = match &before {
            Some(t) => serde_json::from_str(t).map_err(|e| ManagedError::Invalid(e.to_string()))?,
            None => Managed::default(),
        };
        let out = change(&mut managed);
        managed.comment = "Written by Portcullis management APIs. Do not edit by hand.".into();
        let text = serde_json::to_string_pretty(&managed)
            .map_err(|e| ManagedError::Invalid(e.to_string()))?;
        blocking(&path, move |p| write_atomic(p, text.as_bytes()))
            .await
            .map_err(io)?;
        if let Outcome::Rejected(errors) = self.reloader.reload_async().await {
            match before {
                Some(t) => blocking(&path, move |p| write_atomic(p, t.as_bytes())).await,
                None => blocking(&path, |p| std::fs::remove_file(p)).await,
            }
            .map_err(io)?;
            self.reloader.reload_async().await;
            return Err(ManagedError::Rejected(errors.to_string()));
        }
        Ok(out)
    }
}

/// Run file I/O on `path` on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce(&Path) -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || f(&path))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// Write `bytes` to `path` so that readers see the old or the new content, never a mix:
/// temp file in the same directory, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
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
