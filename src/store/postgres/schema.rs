//! The database schema, created and migrated by the gateway itself: numbered migrations, each
//! applied once in one transaction under an advisory lock, so that several nodes starting at
//! once migrate exactly once and none reads a half-made schema.

use tokio_postgres::Client;

/// The advisory lock key of migrations ("portcul" in ASCII).
const LOCK: i64 = 0x0070_6f72_7463_756c;

/// The migrations, in order; the database records the highest applied.
const MIGRATIONS: &[&str] = &[
    // 1: the managed state as one document with a revision (the write counter every node
    // compares; record ETags are computed from the records inside).
    "CREATE TABLE portcullis_state (
        id integer PRIMARY KEY CHECK (id = 1),
        revision bigint NOT NULL,
        state jsonb,
        updated_at timestamptz NOT NULL DEFAULT now()
     );
     INSERT INTO portcullis_state (id, revision, state) VALUES (1, 0, NULL);",
];

/// The schema version this build expects.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Bring the schema to [`VERSION`]; returns the version found before.
pub async fn migrate(client: &mut Client) -> Result<i32, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS portcullis_schema (version integer NOT NULL)")
        .await?;
    let found: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM portcullis_schema",
            &[],
        )
        .await?
        .get(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.batch_execute(sql).await?;
        let v = i as i32 + 1;
        tx.execute("INSERT INTO portcullis_schema (version) VALUES ($1)", &[&v])
            .await?;
        tracing::info!(version = v, "store schema migrated");
    }
    tx.commit().await?;
    Ok(found)
}
