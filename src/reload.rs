//! Reload: re-reads the policy, skips input it has already loaded (SHA-256), compiles off the
//! request path, and publishes only a complete snapshot; a policy that does not compile changes
//! nothing and is recorded as the last reload error.
//!
//! `Reloader::reload` is the one entry point: the file watcher (`watch`), SIGHUP and the admin
//! `POST /reload` all end here. It returns an `Outcome` so callers and tests can tell applied,
//! unchanged and rejected apart, and counts it in the metrics. It logs what changes only: a
//! rejected input once (the periodic check finds it again and again), `policy reloaded
//! (generation N)` when one applies, and each compile warning once while it stands.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::background::Background;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::policy::{self, CompileErrors, Policy};

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new snapshot was published under this generation.
    Applied {
        /// The new generation.
        generation: u64,
    },
    /// The input is what is already loaded.
    Unchanged,
    /// The policy does not compile; the running one stays.
    Rejected(CompileErrors),
}

/// Looks up `{"env": NAME}` secret references.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Loads the policy at one path into one `Policy`.
pub struct Reloader {
    /// Where the policy lives.
    pub path: PathBuf,
    /// Where snapshots are published.
    pub policy: Arc<Policy>,
    /// Time for status timestamps.
    pub clock: Arc<dyn Clock>,
    /// Where secret references to environment variables are resolved.
    env: EnvLookup,
    /// Reload outcomes are counted here; the gateway and admin listener share it.
    pub metrics: Arc<Metrics>,
    /// Serializes reloads so two triggers never interleave; holds what was last logged.
    lock: Mutex<Logged>,
    /// Every error of the last reload, while it stands (for `/status`), each with its place.
    errors: Mutex<Vec<String>>,
    /// Where `reload_async` and `check_async` run: a thread that gives way to traffic.
    background: Background,
}

/// The reload lock, held (`Reloader::serial`).
pub struct Serial<'a>(
    #[expect(dead_code, reason = "held for its drop")] std::sync::MutexGuard<'a, Logged>,
);

/// What the reloader has logged already, so it says each thing once.
#[derive(Debug, Default)]
struct Logged {
    /// The errors of the last rejected input, while it stays rejected.
    rejected: Option<String>,
    /// The warnings of the running policy.
    warnings: Vec<String>,
    /// What the files looked like just before the last reload read them.
    stamps: Option<Stamps>,
}

/// Size, modification time and inode of every file a reload reads (the policy directory's
/// listing, each policy, imported and secret file): unchanged stamps mean unchanged input.
type Stamps = Vec<(PathBuf, Option<(u64, std::time::SystemTime, u64)>)>;

/// The stamps of the policy at `path` and of `sources` (files it read last time). A file that
/// cannot be read stamps as `None`, so it differs from any readable state.
fn stamps(path: &std::path::Path, sources: &[PathBuf]) -> Stamps {
    use std::os::unix::fs::MetadataExt;
    let stamp = |p: &std::path::Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?, m.ino())))
    };
    let mut out: Stamps = Vec::new();
    let mut listed: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    };
    listed.sort();
    for p in listed
        .iter()
        .chain(sources)
        .chain(std::iter::once(&path.to_path_buf()))
    {
        out.push((p.clone(), stamp(p)));
    }
    out
}

/// The stamps the next check compares, for a reload that read `read` where the last one had
/// read `sources`, taken from `before` (stamped before the read, so a change made while the
/// files were read shows at the next check): the listing and the policy path as stamped then,
/// each file of `read` as stamped then. `None` (the next check reads everything) when a file of
/// `read` was not stamped then: one outside the policy directory the last reload did not read.
/// The first load (no sources yet) is stamped too, so the first check does not re-read and
/// re-parse a policy nothing changed.
fn carried(before: Stamps, sources: &[PathBuf], read: &[PathBuf]) -> Option<Stamps> {
    if read == sources {
        return Some(before);
    }
    // `before` is the listing, then `sources`, then the policy path (see `stamps`).
    let listed = before.len().checked_sub(sources.len() + 1)?;
    let mut next = before[..listed].to_vec();
    for p in read {
        next.push(before.iter().find(|(q, _)| q == p)?.clone());
    }
    next.push(before.last()?.clone());
    Some(next)
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// A reloader for `path` publishing into `policy`, with no environment.
    pub fn new(path: PathBuf, policy: Arc<Policy>, clock: Arc<dyn Clock>) -> Arc<Self> {
        Self::with_env(path, policy, clock, Arc::new(policy::no_env))
    }

    /// A reloader that resolves `{"env": NAME}` references through `env`.
    pub fn with_env(
        path: PathBuf,
        policy: Arc<Policy>,
        clock: Arc<dyn Clock>,
        env: EnvLookup,
    ) -> Arc<Self> {
        Arc::new(Self {
            path,
            policy,
            clock,
            env,
            metrics: Metrics::new(),
            lock: Mutex::default(),
            errors: Mutex::default(),
            background: Background::default(),
        })
    }

    /// Hold the reload lock: no reload runs until the guard drops (management writes hold it
    /// while they write and publish).
    pub fn serial(&self) -> Serial<'_> {
        Serial(self.lock.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every error of the last reload attempt, each with its file, JSON path and line/column;
    /// empty unless that attempt was rejected.
    pub fn errors(&self) -> Vec<String> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reload now (blocking: call from `spawn_blocking` inside a runtime).
    ///
    /// When the policy files are unchanged but the registry part of the managed file is not
    /// what is running, only the registry is recompiled.
    pub fn reload(&self) -> Outcome {
        let logged = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.reload_locked(logged)
    }

    /// The periodic safety check: reload only if some file the last reload read (or the policy
    /// directory's listing) changed size, modification time or inode. Reading and parsing a
    /// large policy every few seconds to find it unchanged is what this spares.
    pub fn check(&self) -> Outcome {
        let logged = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let sources = self
            .policy
            .current()
            .map(|s| s.sources.clone())
            .unwrap_or_default();
        if logged.stamps.as_ref() == Some(&stamps(&self.path, &sources)) {
            self.metrics.reload("unchanged");
            return Outcome::Unchanged;
        }
        self.reload_locked(logged)
    }

    /// Check on the reload thread (`background`).
    pub async fn check_async(self: &Arc<Self>) -> Outcome {
        let me = Arc::clone(self);
        self.background
            .run(move || me.check())
            .await
            .unwrap_or(Outcome::Unchanged)
    }

    fn reload_locked(&self, mut logged: std::sync::MutexGuard<'_, Logged>) -> Outcome {
        let now = self.clock.now();
        // Stamped before reading: a change made while the files are read shows at the next check.
        let sources = self
            .policy
            .current()
            .map(|s| s.sources.clone())
            .unwrap_or_default();
        let before = stamps(&self.path, &sources);
        // `load_with` parses the policy as it is read, at start-up too (`load::Reading`).
        // Give way to traffic on a shared core (`policy::pace`); the guard ends it.
        let paced = policy::pace::Paced::start();
        let outcome = policy::load_with(&self.path, &*self.env).and_then(|input| {
            match self.policy.current() {
                Some(cur) if cur.sha256 == input.fingerprint() => {
                    policy::compile::registry_only(&input, &cur)
                }
                _ => policy::compile(input).map(Some),
            }
        });
        drop(paced);
        let outcome = match outcome {
            Ok(None) => {
                self.policy.clear_error();
                if logged.rejected.take().is_some() {
                    tracing::info!(
                        "policy input is the running policy again; the rejected change is gone"
                    );
                }
                Outcome::Unchanged
            }
            Ok(Some(snapshot)) => {
                let warnings: Vec<String> =
                    snapshot.warnings.iter().map(|w| w.to_string()).collect();
                for w in warnings.iter().filter(|w| !logged.warnings.contains(w)) {
                    tracing::warn!(problem = %w, "policy warning");
                }
                logged.warnings = warnings;
                logged.rejected = None;
                let sha = snapshot.sha256.clone();
                let generation = self.policy.publish(snapshot, now);
                tracing::info!(generation, sha256 = %sha, "policy reloaded (generation {generation})");
                Outcome::Applied { generation }
            }
            Err(errors) => {
                let text = errors.to_string();
                if logged.rejected.as_deref() != Some(text.as_str()) {
                    for p in &errors.0 {
                        tracing::error!(problem = %p, "policy error; keeping the running policy");
                    }
                }
                self.policy.record_error(text.clone(), now);
                logged.rejected = Some(text);
                Outcome::Rejected(errors)
            }
        };
        // What the next check compares (the files this snapshot read, as stamped before).
        let read = self
            .policy
            .current()
            .map(|s| s.sources.clone())
            .unwrap_or_default();
        logged.stamps = carried(before, &sources, &read);
        *self.errors.lock().unwrap_or_else(|p| p.into_inner()) = match &outcome {
            Outcome::Rejected(e) => e.0.iter().map(|p| p.to_string()).collect(),
            Outcome::Applied { .. } | Outcome::Unchanged => Vec::new(),
        };
        self.metrics.reload(match &outcome {
            Outcome::Applied { .. } => "applied",
            Outcome::Unchanged => "unchanged",
            Outcome::Rejected(_) => "rejected",
        });
        outcome
    }

    /// Reload on the reload thread (`background`).
    pub async fn reload_async(self: &Arc<Self>) -> Outcome {
        let me = Arc::clone(self);
        self.background
            .run(move || me.reload())
            .await
            .unwrap_or_else(|| {
                tracing::error!("reload task failed");
                Outcome::Unchanged
            })
    }
}

/// Reload whenever `signals` fires and every `check_interval` (if non-zero), until `signals`
/// closes.
pub async fn run(
    reloader: Arc<Reloader>,
    mut signals: tokio::sync::mpsc::Receiver<()>,
    check_interval: Duration,
) {
    let mut tick = tokio::time::interval(if check_interval.is_zero() {
        Duration::from_secs(3600 * 24 * 365)
    } else {
        check_interval
    });
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            s = signals.recv() => {
                if s.is_none() { return }
                reloader.reload_async().await;
            }
            _ = tick.tick(), if !check_interval.is_zero() => {
                reloader.check_async().await;
            }
        }
    }
}
