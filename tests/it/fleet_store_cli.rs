//! `portcullis store migrate|export|import` against a real PostgreSQL: the schema is created
//! once, a node's state exported in the file format and imported into another database serves
//! the same keys there, a file store is refused, and a connection string never shows in a
//! message.

use serde_json::json;

use crate::support::Upstream;
use crate::support::cli::{self, Run};
use crate::support::fleet::Node;
use crate::support::policy;
use crate::support::postgres::Pg;
use crate::support::tmp::TempDir;

/// Settings `name` in `dir` for a store whose connection string is in `conn_file`.
fn settings(dir: &TempDir, name: &str, conn_file: &str, conn: &str) {
    std::fs::write(dir.join(conn_file), conn).expect("write connection file");
    policy::write(
        &dir.join(name),
        &json!({
            "listeners": [],
            "policy": "policy",
            "store": { "kind": "postgres", "connection_file": conn_file }
        }),
    );
}

async fn store(dir: &TempDir, args: &[&str]) -> Run {
    let mut all = vec!["store"];
    all.extend_from_slice(args);
    cli::run_in(dir.path(), &all, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_moves_between_the_file_format_and_databases() {
    let pg = Pg::start();
    let up = Upstream::start().await;
    let dir = TempDir::new("store-cli");
    settings(&dir, "one.json", "one.conn", &pg.connection());
    let r = store(&dir, &["migrate", "--config", "one.json"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stderr.contains("version 0 found, 1 now"), "{}", r.all());
    let r = store(&dir, &["migrate", "--config", "one.json"]).await;
    assert!(r.stderr.contains("version 1 found, 1 now"), "{}", r.all());

    let n1 = Node::start(&dir, "n1", &up.url(), &pg.connection());
    n1.ready().await;
    let admin = n1.login().await;
    let (role, user) = n1.key_owner(&admin).await;
    let (id, key) = n1.new_key(&admin, &user, &role).await.expect("key");
    let r = store(
        &dir,
        &["export", "--config", "one.json", "--out", "exported.json"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stderr.contains("exported revision 3"), "{}", r.all());
    let exported = std::fs::read_to_string(dir.join("exported.json")).expect("exported");
    assert!(exported.contains(&id), "{exported}");
    assert!(!exported.contains(&key), "only the key's digest is stored");

    // Into another database: a node there knows the key.
    let other = Pg::start();
    settings(&dir, "two.json", "two.conn", &other.connection());
    let r = store(&dir, &["import", "--config", "two.json", "exported.json"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stderr.contains("imported; revision 1"), "{}", r.all());
    let n2 = Node::start(&dir, "n2", &up.url(), &other.connection());
    n2.ready().await;
    assert_eq!(n2.proxied(&key).await, 200);
    assert_eq!(n2.revision().await, 1);

    // A file store has nothing to export; a bad connection string is never shown.
    policy::write(
        &dir.join("file.json"),
        &json!({ "listeners": [], "policy": "policy" }),
    );
    let r = store(&dir, &["export", "--config", "file.json"]).await;
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("`file`"), "{}", r.all());
    settings(
        &dir,
        "bad.json",
        "bad.conn",
        "host=/nonexistent-socket-dir user=x password=hunter2-secret",
    );
    let r = store(&dir, &["migrate", "--config", "bad.json"]).await;
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("postgresql"), "{}", r.all());
    assert!(!r.all().contains("hunter2"), "{}", r.all());
    settings(
        &dir,
        "worse.json",
        "worse.conn",
        "host='unterminated password=hunter2-secret",
    );
    let r = store(&dir, &["migrate", "--config", "worse.json"]).await;
    assert_ne!(r.code, Some(0));
    assert!(!r.all().contains("hunter2"), "{}", r.all());
}
