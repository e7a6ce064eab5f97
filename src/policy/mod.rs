//! Policy: raw → compiled → published.
//!
//! `load` reads and parses the files (raw types in `raw`), `compile` checks everything and builds
//! an immutable `Snapshot` with every index ready, and `Policy` publishes snapshots atomically
//! (arc-swap): a request loads the current snapshot once and uses it to the end. Only a complete
//! snapshot is ever published; `reload` drives this at run time.

mod alike_keys;
mod builtin_routes;
pub mod compile;
#[cfg(test)]
mod compile_tests;
pub mod error;
pub mod formats;
pub mod json_path;
pub(crate) mod key_fields;
pub(crate) mod keys;
pub mod linea21;
pub mod load;
#[cfg(test)]
mod load_tests;
pub mod locate;
pub mod management;
pub mod pace;
mod rate_limits;
pub mod raw;
pub mod raw_imports;
pub mod raw_keys;
pub mod raw_limits;
pub mod raw_managed;
pub mod raw_management;
pub mod raw_tokens;
mod retire;
mod routes;
mod signing_keys;
pub mod source;
mod split_keys;
mod tokens;

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use http::StatusCode;

use crate::identity::KeyIndex;
use crate::route::RouteTable;
use crate::token::Directory;
use crate::upstream::Upstream;

pub use compile::compile;
pub use error::{CompileErrors, Problem};
pub use load::{Env, Input, Reading, load, load_reading, load_with, no_env};

/// What requests are decided with: the compiled policy files and the compiled managed state
/// (what the management APIs wrote), published together. A management write replaces only
/// `managed` and shares `compiled`; a policy edit recompiles both. Derefs to the compiled policy.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Reload counter value this snapshot was published under (0 until published).
    pub generation: u64,
    /// The compiled policy files.
    pub compiled: Arc<Compiled>,
    /// The compiled managed state.
    pub managed: Arc<crate::registry::Index>,
}

impl std::ops::Deref for Snapshot {
    type Target = Compiled;
    fn deref(&self) -> &Compiled {
        &self.compiled
    }
}

/// A compiled policy: immutable, every index built.
#[derive(Debug)]
pub struct Compiled {
    /// SHA-256 of the policy input (see `source::fingerprint`).
    pub sha256: String,
    /// API mode.
    pub mode: raw::Mode,
    /// Status for unmapped requests (404 or 403).
    pub unmapped_status: StatusCode,
    /// Query parameters that may carry a credential.
    pub credential_query_params: Vec<String>,
    /// `Cache-Control: max-age` of allowed forward-auth decisions (0: `no-store`).
    pub forward_auth_max_age_s: u32,
    /// Module and anonymous rate limits, the failed-credential throttle, header advice.
    pub rate_limits: crate::ratelimit::RatePolicy,
    /// Methods accepted before routing.
    pub allowed_methods: Vec<http::Method>,
    /// Extra request header names never forwarded (normalized: lowercase, separators as `-`).
    pub never_forward: Vec<String>,
    /// Routes.
    pub routes: RouteTable,
    /// API keys.
    pub keys: KeyIndex,
    /// Upstreams, indexed by `Route::upstream`.
    pub upstreams: Vec<Upstream>,
    /// Users, bases, links, API tokens and token keys.
    pub directory: Directory,
    /// Every file the snapshot was compiled from (policy files, imports, then files secrets were
    /// read from), so the watcher can watch those outside the policy directory too and the
    /// periodic check can tell, from their stamps alone, that nothing changed.
    pub sources: Vec<std::path::PathBuf>,
    /// Warnings found while compiling (e.g. plaintext secrets in an imported file).
    pub warnings: Vec<Problem>,
    /// Management APIs: who may call them and what authorisation records grant.
    pub management: management::Management,
}

/// What the admin listener and metrics show about the policy.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// Generation of the current snapshot (0: none loaded).
    pub generation: u64,
    /// SHA-256 of the current snapshot's input.
    pub sha256: Option<String>,
    /// Unix seconds when it was published.
    pub loaded_at: Option<i64>,
    /// The last reload failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// Unix seconds of the last failure.
    pub last_error_at: Option<i64>,
}

/// The published policy: the current snapshot and its status.
#[derive(Debug, Default)]
pub struct Policy {
    current: ArcSwapOption<Snapshot>,
    status: Mutex<Status>,
}

impl Policy {
    /// An empty handle: no snapshot yet, so requests get 503.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The current snapshot, loaded once per request.
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.load_full()
    }

    /// Publish `snapshot` as the next generation; returns that generation.
    pub fn publish(&self, mut snapshot: Snapshot, now: i64) -> u64 {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.generation += 1;
        snapshot.generation = status.generation;
        status.sha256 = Some(snapshot.sha256.clone());
        status.loaded_at = Some(now);
        status.last_error = None;
        status.last_error_at = None;
        let replaced = self.current.swap(Some(Arc::new(snapshot)));
        if let Some(old) = replaced {
            retire::retire(old);
        }
        status.generation
    }

    /// Record a failed reload; the current snapshot stays.
    pub fn record_error(&self, message: String, now: i64) {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.last_error = Some(message);
        status.last_error_at = Some(now);
    }

    /// The last reload found nothing new: the running policy is the file's, so no error stands.
    pub fn clear_error(&self) {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.last_error = None;
        status.last_error_at = None;
    }

    /// A copy of the status.
    pub fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
