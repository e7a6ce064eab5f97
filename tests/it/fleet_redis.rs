//! Fleet-wide rate limits in a real Redis (Debian's package): three gateway processes (sharing
//! their keys through PostgreSQL) enforce one per-key limit of R requests per second together,
//! within 10 % of R. The timeout is 100 ms (the default is 5): a debug build on shared cores can
//! be late, and a late answer is decided by the fail mode, which is not what the accuracy part
//! measures. With Redis frozen, no request waits much longer than the timeout: fail-open
//! nodes decide with their local limiter, a fail-closed node answers 429. Prints what it measured
//! (docs/fleet.md quotes it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::Upstream;
use crate::support::fleet::{Node, key_on_every_node};
use crate::support::manage::standard;
use crate::support::postgres::Pg;
use crate::support::redis::RedisServer;
use crate::support::tmp::TempDir;

/// Requests per second the test key may make, fleet-wide.
const R: u32 = 40;

/// Hammer `nodes` with `key` (one sequential client per node) for `span`: (allowed, refused,
/// other, elapsed, every latency).
async fn hammer(
    nodes: &[&Node],
    key: &str,
    span: Duration,
) -> (u32, u32, u32, Duration, Vec<Duration>) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for n in nodes {
        let url = n.url(&format!(
            "/inboxes/{}/documents",
            crate::support::manage::INBOX
        ));
        let key = key.to_owned();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut limited, mut other, mut lat) = (0, 0, 0, Vec::new());
            let c = crate::support::client::h1();
            while start.elapsed() < span {
                let t = Instant::now();
                let req = crate::support::client::request(
                    http::Method::GET,
                    &url,
                    &[("x-api-key", &key)],
                    crate::support::client::full(""),
                );
                let s = crate::support::client::send(&c, req).await.status;
                lat.push(t.elapsed());
                match s {
                    200 => ok += 1,
                    429 => limited += 1,
                    _ => other += 1,
                }
            }
            (ok, limited, other, lat)
        }));
    }
    let (mut ok, mut limited, mut other, mut lat) = (0, 0, 0, Vec::new());
    for t in tasks {
        let (o, l, x, mut v) = t.await.expect("client task");
        ok += o;
        limited += l;
        other += x;
        lat.append(&mut v);
    }
    lat.sort();
    (ok, limited, other, start.elapsed(), lat)
}

fn policy(upstream: &str) -> Value {
    policy_with(upstream, R, 1)
}

fn policy_with(upstream: &str, requests: u32, burst: u32) -> Value {
    let mut p = standard(upstream);
    let routes = p["routes"].as_array_mut().expect("routes");
    for r in routes.iter_mut().filter(|r| r["id"] == "inbox-docs") {
        r["rate_limit"] = json!({ "requests": requests, "per_s": 1, "burst": burst });
    }
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_limit_across_three_nodes_and_a_frozen_redis() {
    let pg = Pg::start();
    let redis = RedisServer::start();
    let up = Upstream::start().await;
    let dir = TempDir::new("fleet-redis");
    let p = policy(&up.url());
    let url = redis.url();
    let env = [("PORTCULLIS_TEST_REDIS", url.as_str())];
    let store = |fail: &str| {
        json!({ "ratelimit_store": { "kind": "redis", "url_env": "PORTCULLIS_TEST_REDIS",
                                     "timeout_ms": 100, "fail": fail } })
    };
    let nodes: Vec<Node> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| Node::launch(&dir, n, &p, &pg.connection(), store("open"), &env))
        .collect();
    let closed = Node::launch(&dir, "closed", &p, &pg.connection(), store("closed"), &env);
    for n in nodes.iter().chain([&closed]) {
        n.ready().await;
    }
    let n1 = &nodes[0];
    let every: Vec<&Node> = nodes.iter().chain([&closed]).collect();
    let key = Arc::new(key_on_every_node(&every, Duration::from_secs(1)).await);
    // Let the bucket rest, then three nodes at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let all: Vec<&Node> = nodes.iter().collect();
    redis.reset_stats();
    let (ok, limited, other, took, lat) = hammer(&all, &key, Duration::from_secs(3)).await;
    assert_eq!(other, 0, "only 200 and 429 expected");
    let rate = f64::from(ok) / took.as_secs_f64();
    let calls = redis.script_calls();
    eprintln!(
        "redis limiter: {ok} allowed, {limited} refused in {took:?} across 3 nodes: {rate:.1}/s \
         for a limit of {R}/s; {calls} Redis calls ({:.2} per request); latency p50 {:?} p99 {:?} \
         max {:?}",
        calls as f64 / f64::from(ok + limited),
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100],
        lat[lat.len() - 1],
    );
    assert!(limited > 0, "the clients never reached the limit");
    assert!(
        (rate - f64::from(R)).abs() <= f64::from(R) * 0.1,
        "{rate:.1}/s allowed across the fleet for a limit of {R}/s"
    );

    // Redis frozen: nobody waits much longer than the timeout; open nodes go on locally.
    redis.pause();
    let (ok, limited, other, took, lat) = hammer(&all, &key, Duration::from_secs(2)).await;
    eprintln!(
        "redis frozen (fail open): {ok} allowed, {limited} refused in {took:?}; latency p50 {:?} \
         p99 {:?} max {:?}",
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100],
        lat[lat.len() - 1],
    );
    assert_eq!(other, 0);
    assert!(ok > 0, "fail-open nodes refused everything");
    assert!(
        lat[lat.len() - 1] < Duration::from_millis(500),
        "a request waited {:?}",
        lat[lat.len() - 1]
    );
    let metrics =
        crate::support::client::get(&format!("http://127.0.0.1:{}/metrics", n1.admin), &[])
            .await
            .text();
    assert!(
        metrics.contains("portcullis_ratelimit_backend_errors_total ")
            && !metrics.contains("portcullis_ratelimit_backend_errors_total 0\n"),
        "{metrics}"
    );
    let (ok, limited, other, _, lat) = hammer(&[&closed], &key, Duration::from_millis(500)).await;
    assert_eq!(
        (ok, other),
        (0, 0),
        "a fail-closed node let requests through"
    );
    assert!(limited > 0);
    assert!(
        lat[lat.len() - 1] < Duration::from_millis(500),
        "a request waited {:?}",
        lat[lat.len() - 1]
    );
    redis.resume();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_cut_the_round_trips_and_keep_the_limit() {
    // 100 a second, bursts of 10; each node takes up to 5 tokens per Redis call.
    const LIMIT: u32 = 100;
    const BURST: u32 = 10;
    let pg = Pg::start();
    let redis = RedisServer::start();
    let up = Upstream::start().await;
    let dir = TempDir::new("fleet-redis-batch");
    let p = policy_with(&up.url(), LIMIT, BURST);
    let url = redis.url();
    let env = [("PORTCULLIS_TEST_REDIS", url.as_str())];
    let store = json!({ "ratelimit_store": { "kind": "redis", "url_env": "PORTCULLIS_TEST_REDIS",
                                             "timeout_ms": 100, "fail": "closed", "batch": 5 } });
    let nodes: Vec<Node> = ["b1", "b2", "b3"]
        .iter()
        .map(|n| Node::launch(&dir, n, &p, &pg.connection(), store.clone(), &env))
        .collect();
    for n in &nodes {
        n.ready().await;
    }
    let all: Vec<&Node> = nodes.iter().collect();
    let key = key_on_every_node(&all, Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.reset_stats();
    let (ok, limited, other, took, lat) = hammer(&all, &key, Duration::from_secs(3)).await;
    let calls = redis.script_calls();
    assert_eq!(other, 0, "only 200 and 429 expected");
    // What a perfect limiter admits in that time from a rested bucket: the rate, plus the burst.
    let ideal = f64::from(LIMIT) * took.as_secs_f64() + f64::from(BURST);
    eprintln!(
        "redis limiter, batch 5: {ok} allowed (ideal {ideal:.0}), {limited} refused in {took:?} \
         across 3 nodes; {calls} Redis calls ({:.3} per request, {:.3} per allowed request); \
         latency p50 {:?} p99 {:?}",
        calls as f64 / f64::from(ok + limited),
        calls as f64 / f64::from(ok),
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100],
    );
    assert!(limited > 0, "the clients never reached the limit");
    assert!(
        f64::from(ok) <= ideal * 1.1 && f64::from(ok) >= ideal * 0.9,
        "{ok} allowed where a perfect limiter admits {ideal:.0}"
    );
    // Tokens come up to five at a time, and a refusal is remembered until a batch can have
    // gathered: fewer round trips than admitted requests (one per request or more without).
    assert!(
        calls < u64::from(ok),
        "{calls} Redis calls for {ok} allowed requests"
    );
}
