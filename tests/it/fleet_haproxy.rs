//! Three gateway processes behind a real HAProxy (round robin, `/readyz` health checks), one
//! real PostgreSQL. Keys created through one node work through every node and through the
//! balancer within a second, deletions are refused everywhere within a second, and all nodes
//! show one store revision. A node killed and restarted under load loses no acknowledged write
//! and the surviving nodes fail no request. Prints the propagation delays it measured
//! (docs/fleet.md quotes them).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::Method;
use tokio::process::{Child, Command};

use crate::support::fleet::{Api, Node, free_port, same_revision};
use crate::support::manage::INBOX;
use crate::support::postgres::Pg;
use crate::support::tmp::TempDir;
use crate::support::{Upstream, cli, client};

/// How long until every node in `nodes` answers `status` for `key` (panics after 1 s).
async fn until_all(nodes: &[&Node], key: &str, status: u16) -> Duration {
    let start = Instant::now();
    let mut pending: Vec<&Node> = nodes.to_vec();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for n in pending {
            if n.proxied(key).await != status {
                still.push(n);
            }
        }
        pending = still;
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{} node(s) did not answer {status} within 1 s",
            pending.len()
        );
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    start.elapsed()
}

fn haproxy(dir: &Path, front: u16, nodes: &[&Node]) -> Child {
    let mut servers = String::new();
    for (i, n) in nodes.iter().enumerate() {
        servers += &format!(
            "  server n{i} 127.0.0.1:{} check port {}\n",
            n.port, n.admin
        );
    }
    let conf = format!(
        "global\n  maxconn 256\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
           retries 3\n  option redispatch 1\n  retry-on conn-failure\n\
         frontend in\n  bind 127.0.0.1:{front}\n  default_backend gateways\n\
         backend gateways\n  balance roundrobin\n  option httpchk GET /readyz\n\
           default-server inter 200ms fall 1 rise 2\n{servers}"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, conf).expect("write haproxy.cfg");
    let bin = if Path::new("/usr/sbin/haproxy").exists() {
        "/usr/sbin/haproxy"
    } else {
        "haproxy"
    };
    Command::new(bin)
        .args(["-db", "-f", cli::s(&path)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run haproxy (apt-get install haproxy)")
}

/// The `q`-quantile of sorted `v`.
fn quantile(v: &[Duration], q: f64) -> Duration {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_behind_haproxy_share_one_store() {
    let pg = Pg::start();
    let up = Upstream::start().await;
    let dir = TempDir::new("fleet-ha");
    let conn = pg.connection();
    let n1 = Node::start(&dir, "n1", &up.url(), &conn);
    let mut n2 = Node::start(&dir, "n2", &up.url(), &conn);
    let n3 = Node::start(&dir, "n3", &up.url(), &conn);
    for n in [&n1, &n2, &n3] {
        n.ready().await;
    }
    let front = free_port();
    let mut lb = haproxy(dir.path(), front, &[&n1, &n2, &n3]);
    let via_lb = |key: &str| {
        let url = format!("http://127.0.0.1:{front}/inboxes/{INBOX}/documents");
        let key = key.to_owned();
        async move { client::get(&url, &[("x-api-key", &key)]).await.status }
    };
    let admin = n1.login().await;
    let (role, user) = n1.key_owner(&admin).await;
    let (_, keep) = n1.new_key(&admin, &user, &role).await.expect("key");
    let start = Instant::now();
    while via_lb(&keep).await != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "haproxy did not serve"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Created through node 1: every other node, and every node behind the balancer.
    let (mut created, mut deleted, mut acks) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..30 {
        let asked = Instant::now();
        let (id, key) = n1.new_key(&admin, &user, &role).await.expect("key");
        acks.push(asked.elapsed());
        created.push(until_all(&[&n2, &n3], &key, 200).await);
        for _ in 0..3 {
            assert_eq!(via_lb(&key).await, 200);
        }
        n3.call(
            &admin,
            Method::DELETE,
            &format!("/admin/auth/api-key/{id}"),
            None,
        )
        .await
        .expect(204);
        deleted.push(until_all(&[&n1, &n2], &key, 401).await);
        for _ in 0..3 {
            assert_eq!(via_lb(&key).await, 401);
        }
    }
    created.sort();
    deleted.sort();
    acks.sort();
    eprintln!(
        "fleet propagation (3 nodes, {} samples each): key creation acknowledged p50 {:?} \
         max {:?}; create p50 {:?} p99 {:?} max {:?}; delete p50 {:?} p99 {:?} max {:?}",
        created.len(),
        quantile(&acks, 0.5),
        acks[acks.len() - 1],
        quantile(&created, 0.5),
        quantile(&created, 0.99),
        created[created.len() - 1],
        quantile(&deleted, 0.5),
        quantile(&deleted, 0.99),
        deleted[deleted.len() - 1],
    );
    same_revision(&[&n1, &n2, &n3], "after the writes").await;

    // Node 2 killed and restarted under load: the survivors fail nothing, no acknowledged
    // write (made through the balancer meanwhile) is lost.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for port in [n1.port, n3.port] {
        let (stop, sent, failed, keep) = (stop.clone(), sent.clone(), failed.clone(), keep.clone());
        load.push(tokio::spawn(async move {
            let url = format!("http://127.0.0.1:{port}/inboxes/{INBOX}/documents");
            while !stop.load(Ordering::Relaxed) {
                let s = client::get(&url, &[("x-api-key", &keep)]).await.status;
                sent.fetch_add(1, Ordering::Relaxed);
                if s != 200 {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let lb_node = Api { port: front };
    let mut acked = Vec::new();
    n2.restart(&conn).await;
    let restarted = Instant::now();
    while restarted.elapsed() < Duration::from_millis(1500) {
        if let Ok((_, key)) = lb_node.new_key(&admin, &user, &role).await {
            acked.push(key);
        }
    }
    n2.ready().await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.expect("load task");
    }
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(sent > 100, "too little load to mean anything: {sent}");
    assert_eq!(
        failed, 0,
        "{failed} of {sent} requests to the surviving nodes failed"
    );
    assert!(
        !acked.is_empty(),
        "no write was acknowledged during the restart"
    );
    for key in &acked {
        until_all(&[&n1, &n2, &n3], key, 200).await;
    }
    same_revision(&[&n1, &n2, &n3], "after the restart").await;
    let _ = lb.kill().await;
}
