//! What makes `serve` reload the policy: file changes in the policy directory and in imported
//! files outside it (debounced, with a polling fallback), and reload requests from outside
//! (SIGHUP in `main`); and the shadow policy's first load and watcher. The reload itself is
//! `reload::Reloader`'s.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::policy::Policy;
use crate::reload::{EnvLookup, Outcome, Reloader};
use crate::settings::Settings;
use crate::watch::{self, WatchError};

/// Debounced change signals for the policy and the files it imports.
pub(super) fn policy_signals(
    settings: &Settings,
    policy: &Policy,
) -> Result<mpsc::Receiver<()>, WatchError> {
    let r = &settings.reload;
    // Imported files (a Linea21 permission file) may live outside the policy directory: watch
    // them too. The periodic check still catches imports added by a later reload.
    let mut paths = vec![settings.policy.clone()];
    paths.extend(imports_outside(&settings.policy, policy));
    watch::spawn_many(
        &paths,
        Duration::from_millis(r.debounce_ms),
        Duration::from_millis(r.poll_interval_ms),
    )
}

/// Reload once per request on `requests`, until it closes.
pub(super) async fn forward_reloads(reloader: Arc<Reloader>, mut requests: mpsc::Receiver<()>) {
    while requests.recv().await.is_some() {
        reloader.reload_async().await;
    }
}

/// Files the current snapshot imported from outside the policy directory.
fn imports_outside(policy_path: &Path, policy: &Policy) -> Vec<PathBuf> {
    let dir = if policy_path.is_dir() {
        policy_path
    } else {
        policy_path.parent().unwrap_or(Path::new(""))
    };
    policy
        .current()
        .map(|s| {
            s.sources
                .iter()
                .filter(|p| p.parent() != Some(dir))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Load the shadow policy and watch it. A shadow that does not load is logged and retried by
/// its reload loop; it never stops the live gateway from starting.
pub(super) async fn start_shadow(
    settings: &Settings,
    path: &std::path::Path,
    clock: &Arc<dyn Clock>,
    env: &EnvLookup,
) -> Result<(Arc<Reloader>, mpsc::Receiver<()>), super::ServeError> {
    let reloader = Reloader::with_env(
        path.to_owned(),
        Policy::new(),
        Arc::clone(clock),
        Arc::clone(env),
    );
    if let Outcome::Rejected(e) = reloader.reload_async().await {
        tracing::error!(
            errors = e.0.len(),
            "shadow policy not loaded; deciding without it"
        );
    }
    let r = &settings.reload;
    let signals = crate::watch::spawn(
        path,
        Duration::from_millis(r.debounce_ms),
        Duration::from_millis(r.poll_interval_ms),
    )?;
    Ok((reloader, signals))
}
