//! A node follows the database: it listens for `portcullis_state` notifications, compares its
//! revision with the database's every check interval, and reads the whole state after every
//! (re)connect. A newer state is copied into the node's managed file and applied by the
//! reloader (only the registry is recompiled when SeaTable API tokens did not change).
//!
//! The copy is written under the reload lock and only when it is newer than what the node runs,
//! so a node's own write (which copies its state under the same lock) is never replaced by an
//! older state the follower read before it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::{PgError, Postgres, check_version, read, revision, schema};
use crate::managed::{FILE_NAME, Managed};
use crate::reload::{Outcome, Reloader};

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Follow the database until the store is dropped: reconnect with backoff, record each failure
/// in the store's status.
pub async fn follow(pg: Arc<Postgres>, reloader: Arc<Reloader>, check: Duration) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let err = session(&pg, &reloader, check).await;
        let why = err.to_string();
        if pg.status.ready().is_ok() || backoff == Duration::from_millis(100) {
            tracing::warn!(error = %why, "store unreachable; deciding on the last state");
        }
        pg.status.failed(why);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: migrate, listen, read everything, then follow until it fails.
async fn session(pg: &Postgres, reloader: &Arc<Reloader>, check: Duration) -> PgError {
    match run(pg, reloader, check).await {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

async fn run(
    pg: &Postgres,
    reloader: &Arc<Reloader>,
    check: Duration,
) -> Result<std::convert::Infallible, PgError> {
    let (mut client, mut conn) = pg.config.connect(pg.tls.clone()).await?;
    let (tx, mut notified) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(m) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            match m {
                Ok(AsyncMessage::Notification(_)) => {
                    let _ = tx.send(());
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    let _driver = AbortOnDrop(driver);
    check_version(schema::migrate(&mut client).await?)?;
    client.batch_execute("LISTEN portcullis_state").await?;
    // After every (re)connect: read everything, whatever notifications were missed.
    let (rev, state) = read(&client).await?;
    apply(pg, reloader, rev, state).await;
    let mut tick = tokio::time::interval(check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            n = notified.recv() => {
                n.ok_or(PgError::Closed)?;
                while notified.try_recv().is_ok() {}
            }
            _ = tick.tick() => {}
        }
        let at = tokio::time::timeout(pg.timeout, revision(&client))
            .await
            .map_err(|_| PgError::Timeout(pg.timeout.as_millis()))??;
        if at == pg.status.revision() {
            pg.status.confirm();
            continue;
        }
        let (rev, state) = read(&client).await?;
        apply(pg, reloader, rev, state).await;
    }
}

/// Make `state` (revision `rev`) what the node runs, unless it runs something newer already.
async fn apply(pg: &Postgres, reloader: &Arc<Reloader>, rev: u64, state: Option<Managed>) {
    let first = pg.status.ready().is_err();
    let status = Arc::clone(&pg.status);
    let mirror = pg.mirror.clone();
    let me = Arc::clone(reloader);
    let copied = tokio::task::spawn_blocking(move || {
        let _serial = me.serial();
        if !first && status.revision() >= rev {
            return Ok(false);
        }
        let Some(path) = mirror else {
            return Ok(true);
        };
        if first && rev == 0 {
            keep_unimported(&path);
        }
        let text =
            serde_json::to_string_pretty(&state.unwrap_or_default()).map_err(|e| e.to_string())?;
        crate::managed::write_atomic(&path, text.as_bytes()).map_err(|e| e.to_string())?;
        Ok::<_, String>(true)
    })
    .await;
    match copied {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            pg.status.confirm();
            return;
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot copy the store's state into the managed file");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "store apply task failed");
            return;
        }
    }
    if let Outcome::Rejected(errors) = reloader.reload_async().await {
        // The running state stays; the reloader's status shows why.
        tracing::error!(revision = rev, errors = %errors, "the store's state does not compile here");
    }
    pg.status.applied(rev);
    tracing::info!(revision = rev, "store state applied");
}

/// An empty database and a managed file from file-mode days: keep the file's content beside it
/// (`portcullis-managed.json.unimported`, not read as policy) and say how to import it.
fn keep_unimported(path: &std::path::Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let Ok(old) = serde_json::from_str::<Managed>(&text) else {
        return;
    };
    if old.api_tokens.is_empty() && old.registry == Managed::default().registry {
        return;
    }
    let keep = path.with_file_name(format!("{FILE_NAME}.unimported"));
    if std::fs::copy(path, &keep).is_ok() {
        tracing::warn!(
            kept = %keep.display(),
            "the store is empty but the managed file was not: its content is kept beside it; \
             `portcullis store import` loads it into the store"
        );
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
