//! PostgreSQL as the management store of a fleet.
//!
//! The state is one row (`portcullis_state`: the managed document and its `revision`). A write
//! reads it `FOR UPDATE`, lets the management change (with its `If-Match` check) and the
//! registry compile run on what it read, then stores the result with the next revision and
//! `NOTIFY portcullis_state`, all in one transaction: two nodes never overwrite each other's
//! change and nothing is half-written. After the commit the writing node copies the state into
//! its policy directory's managed file (the copy every node reloads from) and publishes it.
//!
//! Every node follows the database ([`follow`]): `LISTEN`, a revision check every
//! `check_interval_ms`, and a full read after every (re)connect, so a missed notification is
//! never a missed revocation. While the database is away, requests are decided on the last
//! state (fail-static; its age is in `/status` and the metrics) and writes answer 503.
//!
//! The connection string is never formatted: errors carry PostgreSQL's message only. TLS (rustls,
//! the server always verified) when the settings ask for it; see [`super::PostgresSettings::tls`].

mod follow;
pub mod schema;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Connection, Status};
use crate::managed::{Backend, Edit, Managed, ManagedError, write_atomic};

pub use follow::follow;

/// Why talking to PostgreSQL failed. Never carries the connection string.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// PostgreSQL answered an error, or the connection failed.
    #[error("postgresql: {}", explain(.0))]
    Db(#[from] tokio_postgres::Error),
    /// No answer in time.
    #[error("postgresql did not answer within {0} ms")]
    Timeout(u128),
    /// The schema is newer than this build knows.
    #[error("the store schema is version {0}; this build knows up to {1}: upgrade the gateway")]
    NewerSchema(i32, i32),
    /// The stored state is not a valid managed document.
    #[error("the stored state is not valid: {0}")]
    Invalid(#[from] serde_json::Error),
    /// The connection closed.
    #[error("the connection to postgresql closed")]
    Closed,
    /// The store's runtime did not start.
    #[error("cannot start the store's runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// The error with its causes ("db error" alone says nothing): PostgreSQL's own message, or
/// why the connection or its TLS handshake failed. None of them carries the connection string.
fn explain(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The PostgreSQL backend of one node.
pub struct Postgres {
    /// Where to connect (never formatted: it may hold a password).
    config: Config,
    /// TLS, when the connection string's `sslmode` is `require`.
    tls: MakeRustlsConnect,
    /// The store's own runtime: its connections live here, whichever runtime asks.
    runtime: Option<tokio::runtime::Runtime>,
    /// The connection writes go through, opened on first use and after a failure.
    writer: tokio::sync::Mutex<Option<Client>>,
    /// The node's copy of the state (the managed file of its policy directory), if it has one.
    mirror: Option<PathBuf>,
    /// What `/status` shows.
    pub status: Arc<Status>,
    /// How long a write may wait for the database.
    timeout: Duration,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("mirror", &self.mirror)
            .finish_non_exhaustive()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Postgres {
    /// A backend connecting as `connection` says, copying each state it writes to `mirror`, waiting at
    /// most `timeout` for each operation. Connects on first use.
    pub fn new(
        connection: Connection,
        mirror: Option<PathBuf>,
        timeout: Duration,
    ) -> Result<Self, PgError> {
        let Connection { mut config, tls } = connection;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeout);
        }
        config.application_name("portcullis");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("portcullis-store")
            .enable_all()
            .build()
            .map_err(PgError::Runtime)?;
        Ok(Self {
            config,
            tls,
            runtime: Some(runtime),
            writer: tokio::sync::Mutex::new(None),
            mirror,
            status: Arc::default(),
            timeout,
        })
    }

    /// The store's runtime, where the follower runs.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("runtime lives until drop")
            .handle()
    }

    /// A new connection, driven on the store's runtime.
    async fn connect(&self) -> Result<Client, PgError> {
        let (client, conn) = self.config.connect(self.tls.clone()).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "store connection ended");
            }
        });
        Ok(client)
    }

    /// Run `fut` on the store's runtime from a blocking thread, bounded by the timeout.
    fn block<T>(&self, fut: impl Future<Output = Result<T, PgError>>) -> Result<T, PgError> {
        let timeout = self.timeout;
        self.handle().block_on(async move {
            tokio::time::timeout(timeout, fut)
                .await
                .map_err(|_| PgError::Timeout(timeout.as_millis()))?
        })
    }

    /// Create or migrate the schema (what `portcullis store migrate` does; nodes do it at start).
    pub fn migrate(&self) -> Result<i32, PgError> {
        self.block(async {
            let mut client = self.connect().await?;
            let found = schema::migrate(&mut client).await?;
            check_version(found)
        })
    }

    /// The stored state and its revision.
    pub fn read(&self) -> Result<(u64, Option<Managed>), PgError> {
        self.block(async {
            let client = self.connect().await?;
            read(&client).await
        })
    }

    /// Run `edit` on the stored state inside one transaction; the new revision and state when
    /// something was stored.
    async fn write(&self, edit: &mut Edit<'_>) -> Result<Option<(u64, Managed)>, Failure> {
        let mut slot = self.writer.lock().await;
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = Some(self.connect().await?);
        }
        let client = slot.as_mut().ok_or(PgError::Closed)?;
        let result = write(client, edit).await;
        if let Err(Failure::Pg(_)) = &result {
            // Whatever state the connection is in, the next write starts afresh.
            *slot = None;
        }
        result
    }

    /// Copy `state` into the node's managed file.
    fn copy(&self, state: &Managed) -> Result<(), ManagedError> {
        let Some(path) = &self.mirror else {
            return Ok(());
        };
        let text = serde_json::to_string_pretty(state)
            .map_err(|e| ManagedError::Invalid(e.to_string()))?;
        write_atomic(path, text.as_bytes()).map_err(|source| ManagedError::Io {
            path: path.clone(),
            source,
        })
    }
}

/// Why a write did not store: the change refused, or the database failed.
#[derive(Debug)]
enum Failure {
    /// The change or its compilation refused; nothing stored.
    Managed(ManagedError),
    /// The database failed; nothing stored (the transaction rolled back).
    Pg(PgError),
}

impl From<PgError> for Failure {
    fn from(e: PgError) -> Self {
        Self::Pg(e)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Pg(PgError::Db(e))
    }
}

/// The schema version found must not be newer than this build's.
fn check_version(found: i32) -> Result<i32, PgError> {
    if found > schema::VERSION {
        return Err(PgError::NewerSchema(found, schema::VERSION));
    }
    Ok(found)
}

/// The stored revision and state.
async fn read(client: &Client) -> Result<(u64, Option<Managed>), PgError> {
    let row = client
        .query_one(
            "SELECT revision, state FROM portcullis_state WHERE id = 1",
            &[],
        )
        .await?;
    let revision: i64 = row.get(0);
    let state: Option<serde_json::Value> = row.get(1);
    let state = state.map(serde_json::from_value).transpose()?;
    Ok((revision.max(0) as u64, state))
}

/// The stored revision only.
async fn revision(client: &Client) -> Result<u64, PgError> {
    let row = client
        .query_one("SELECT revision FROM portcullis_state WHERE id = 1", &[])
        .await?;
    Ok(row.get::<_, i64>(0).max(0) as u64)
}

/// One write transaction: lock the row, edit, store with the next revision, notify, commit.
async fn write(
    client: &mut Client,
    edit: &mut Edit<'_>,
) -> Result<Option<(u64, Managed)>, Failure> {
    let tx = client.transaction().await?;
    let row = tx
        .query_one(
            "SELECT revision, state FROM portcullis_state WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?;
    let revision: i64 = row.get(0);
    let state: Option<serde_json::Value> = row.get(1);
    let before = state
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| Failure::Pg(e.into()))?;
    // Dropping `tx` without a commit rolls back: a refused change stores nothing.
    let Some(next) = edit(before).map_err(Failure::Managed)? else {
        return Ok(None);
    };
    let json = serde_json::to_value(&next).map_err(|e| Failure::Pg(e.into()))?;
    let next_revision = revision + 1;
    tx.execute(
        "UPDATE portcullis_state SET revision = $1, state = $2, updated_at = now() WHERE id = 1",
        &[&next_revision, &json],
    )
    .await?;
    tx.execute(
        "SELECT pg_notify('portcullis_state', $1)",
        &[&next_revision.to_string()],
    )
    .await?;
    tx.commit().await?;
    Ok(Some((next_revision as u64, next)))
}

impl Backend for Postgres {
    fn load(&self) -> Result<Option<Managed>, ManagedError> {
        self.read()
            .map(|(_, state)| state)
            .map_err(|e| ManagedError::Unavailable(e.to_string()))
    }

    fn persist(&self, state: &Managed) -> Result<(), ManagedError> {
        let state = state.clone();
        self.transact(None, &mut move |_| Ok(Some(state.clone())))
    }

    fn clear(&self) -> Result<(), ManagedError> {
        self.persist(&Managed::default())
    }

    fn shared(&self) -> bool {
        true
    }

    /// The stored state is always read inside the transaction: another node may have written.
    fn transact(&self, _cached: Option<Managed>, edit: &mut Edit<'_>) -> Result<(), ManagedError> {
        let timeout = self.timeout;
        let result = self.handle().block_on(async {
            tokio::time::timeout(timeout, self.write(edit))
                .await
                .unwrap_or(Err(Failure::Pg(PgError::Timeout(timeout.as_millis()))))
        });
        match result {
            Ok(Some((revision, state))) => {
                self.copy(&state)?;
                self.status.applied(revision);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(Failure::Managed(e)) => Err(e),
            Err(Failure::Pg(e)) => {
                self.status.failed(e.to_string());
                Err(ManagedError::Unavailable(e.to_string()))
            }
        }
    }
}
