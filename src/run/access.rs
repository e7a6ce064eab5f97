//! The access log while serving: reopening its file when asked (SIGUSR1 in `main`).

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::access_log::AccessLog;

/// Reopen the access-log file once per request on `requests`, until it closes.
pub(super) async fn reopen_on_request(log: Arc<AccessLog>, mut requests: mpsc::Receiver<()>) {
    while requests.recv().await.is_some() {
        let log = Arc::clone(&log);
        match tokio::task::spawn_blocking(move || log.reopen()).await {
            Ok(Ok(())) => tracing::info!("access log reopened"),
            Ok(Err(e)) => tracing::error!(error = %e, "cannot reopen the access log"),
            Err(e) => tracing::error!(error = %e, "access log reopen task failed"),
        }
    }
}
