//! TLS to the fleet's shared services, against real servers that accept nothing else: a
//! PostgreSQL whose `pg_hba.conf` admits TCP clients by `hostssl` only, and a Redis with no
//! plain port. Both have certificates for 127.0.0.1 from a test CA.
//!
//! - Two nodes whose store is that PostgreSQL over TLS (`sslmode=require`, `tls.ca_file` the
//!   test CA): both become ready, a key created through one is accepted by the other (the change
//!   notification crossed a TLS connection too).
//! - A node asking for a plain connection is refused by the server and says so on `/readyz`; a
//!   node trusting another CA refuses the server's certificate and says so. Neither is ready.
//! - Two nodes sharing one rate limit through the TLS-only Redis (`rediss://`): the limit holds
//!   across them, which it could not if either had fallen back to its local limiter. A node
//!   trusting another CA falls back (fail open) and counts Redis errors in its metrics.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::Upstream;
use crate::support::ca::Ca;
use crate::support::client;
use crate::support::fleet::{Node, PG_ENV, key_on_every_node};
use crate::support::manage::{INBOX, standard};
use crate::support::postgres::Pg;
use crate::support::redis::RedisServer;
use crate::support::tmp::TempDir;

/// The store settings: PostgreSQL from [`PG_ENV`], TLS trusting `ca_file` when given.
fn store(ca_file: Option<&std::path::Path>) -> Value {
    let mut store = json!({ "kind": "postgres", "connection_env": PG_ENV,
                            "check_interval_ms": 500, "write_timeout_ms": 1000 });
    if let Some(ca) = ca_file {
        store["tls"] = json!({ "ca_file": ca });
    }
    json!({ "store": store })
}

/// Wait (up to 10 s) until the node's `/readyz` answers 503 with a store reason containing
/// `needle`; returns that reason.
async fn not_ready_because(n: &Node, needle: &str) -> String {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(r) = n.readyz().await {
            assert_eq!(r.status, 503, "{}", r.text());
            last = r.json()["store"].as_str().unwrap_or_default().to_owned();
            if last.contains(needle) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("readyz never said {needle:?}; last: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_over_verified_tls_and_nothing_else() {
    let ca = Ca::new("fleet test CA");
    let pg = Pg::start_tls(&ca);
    let up = Upstream::start().await;
    let dir = TempDir::new("fleet-tls-pg");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).expect("write ca");
    let p = standard(&up.url());
    let conn = pg.tls_connection();
    let n1 = Node::launch(&dir, "n1", &p, &conn, store(Some(&ca_file)), &[]);
    let n2 = Node::launch(&dir, "n2", &p, &conn, store(Some(&ca_file)), &[]);
    n1.ready().await;
    n2.ready().await;
    let key = key_on_every_node(&[&n1, &n2], Duration::from_secs(2)).await;
    assert_eq!(n1.revision().await, n2.revision().await);

    // Plain TCP: the server admits no such client.
    let plain = conn.replace("sslmode=require", "sslmode=disable");
    let n3 = Node::launch(&dir, "plain", &p, &plain, store(None), &[]);
    let why = not_ready_because(&n3, "no encryption").await;
    assert!(why.contains("pg_hba.conf"), "{why}");

    // TLS, but trusting another CA: the node refuses the server's certificate.
    let other = Ca::new("another CA");
    let other_file = dir.join("other-ca.pem");
    std::fs::write(&other_file, &other.pem).expect("write other ca");
    let n4 = Node::launch(&dir, "other-ca", &p, &conn, store(Some(&other_file)), &[]);
    let why = not_ready_because(&n4, "certificate").await;
    eprintln!("a node trusting another CA: {why}");
    assert!(!why.contains("password"), "{why}");
    // Neither stopped the others: n2 still decides with the shared state.
    assert_eq!(n2.proxied(&key).await, 200);
}

/// Requests per second the test key may make (burst 1), fleet-wide.
const R: u32 = 4;

fn limited(upstream: &str) -> Value {
    let mut p = standard(upstream);
    for r in p["routes"].as_array_mut().expect("routes") {
        if r["id"] == "inbox-docs" {
            r["rate_limit"] = json!({ "requests": R, "per_s": 1, "burst": 1 });
        }
    }
    p
}

/// One request with `key` through `n`: its status.
async fn once(n: &Node, key: &str) -> u16 {
    let url = n.url(&format!("/inboxes/{INBOX}/documents"));
    client::get(&url, &[("x-api-key", key)]).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_through_a_tls_only_redis() {
    let ca = Ca::new("fleet test CA");
    let pg = Pg::start();
    let dir = TempDir::new("fleet-tls-redis");
    let redis = RedisServer::start_tls(&ca, &dir);
    let up = Upstream::start().await;
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).expect("write ca");
    let other = Ca::new("another CA");
    let other_file = dir.join("other-ca.pem");
    std::fs::write(&other_file, &other.pem).expect("write other ca");
    let url = redis.tls_url();
    let env = [("PORTCULLIS_TEST_REDIS", url.as_str())];
    let limits = |ca: &std::path::Path| {
        json!({ "ratelimit_store": { "kind": "redis", "url_env": "PORTCULLIS_TEST_REDIS",
                                     "timeout_ms": 200, "fail": "open",
                                     "tls": { "ca_file": ca } } })
    };
    let p = limited(&up.url());
    let n1 = Node::launch(&dir, "n1", &p, &pg.connection(), limits(&ca_file), &env);
    let n2 = Node::launch(&dir, "n2", &p, &pg.connection(), limits(&ca_file), &env);
    let wrong = Node::launch(
        &dir,
        "wrong",
        &p,
        &pg.connection(),
        limits(&other_file),
        &env,
    );
    for n in [&n1, &n2, &wrong] {
        n.ready().await;
    }
    let key = key_on_every_node(&[&n1, &n2, &wrong], Duration::from_secs(2)).await;
    // Let the shared bucket rest (burst 1, 4 per second), then one request through n1 and one
    // through n2 at once: the second finds the bucket spent only if both asked Redis. Retried a
    // few times in case the second came a full interval (250 ms) after the first.
    let mut shared = false;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let (a, b) = tokio::join!(once(&n1, &key), once(&n2, &key));
        let mut got = [a, b];
        got.sort_unstable();
        if got == [200, 429] {
            shared = true;
            break;
        }
    }
    assert!(shared, "the two nodes never shared the bucket");

    // The node that trusts another CA cannot reach Redis: it decides alone (fail open) and
    // counts the failures.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(once(&wrong, &key).await, 200);
    let metrics = client::get(&format!("http://127.0.0.1:{}/metrics", wrong.admin), &[])
        .await
        .text();
    let errors = metrics
        .lines()
        .find(|l| l.starts_with("portcullis_ratelimit_backend_errors_total"))
        .unwrap_or_else(|| panic!("no Redis error counter in:\n{metrics}"));
    let count: f64 = errors.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0, "{errors}");
}
