//! Gateway processes sharing one real PostgreSQL (Debian's package): a contract.fit key created
//! through one node works on the others within a second and, deleted through another, is refused
//! everywhere within a second; every node shows the same store revision. With the database
//! stopped, proxied requests keep being decided on the last state (fail-static) and writes get
//! 503; once it is back, writes work and the nodes converge. A node that starts while the
//! database is down is not ready, and says why.

use std::time::{Duration, Instant};

use http::Method;
use serde_json::json;

use crate::support::Upstream;
use crate::support::fleet::Node;
use crate::support::postgres::Pg;
use crate::support::tmp::TempDir;

/// Poll `check` every 5 ms until it holds or `limit` passes: how long it took.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// Every node's store revision, once they agree (waits up to `limit`).
async fn converged(nodes: &[&Node], limit: Duration) -> u64 {
    let start = Instant::now();
    loop {
        let mut revs = Vec::new();
        for n in nodes {
            revs.push(n.revision().await);
        }
        if revs.windows(2).all(|w| w[0] == w[1]) {
            return revs[0];
        }
        assert!(
            start.elapsed() < limit,
            "nodes did not converge: revisions {revs:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_propagate_across_nodes_and_the_database_can_go_away() {
    let pg = Pg::start();
    let up = Upstream::start().await;
    let dir = TempDir::new("fleet");
    let conn = pg.connection();
    let n1 = Node::start(&dir, "n1", &up.url(), &conn);
    let n2 = Node::start(&dir, "n2", &up.url(), &conn);
    n1.ready().await;
    n2.ready().await;

    let admin = n1.login().await;
    let (role, user) = n1.key_owner(&admin).await;
    let (_, keep) = n1.new_key(&admin, &user, &role).await.expect("key");
    let (id, key) = n1.new_key(&admin, &user, &role).await.expect("key");
    let seen = within(Duration::from_secs(1), || async {
        n2.proxied(&key).await == 200
    })
    .await;
    assert!(
        seen.is_some(),
        "a key created through node 1 did not work on node 2 within 1 s"
    );

    // Deleted through node 2 (the account token verifies there too): refused by node 1.
    n2.call(
        &admin,
        Method::DELETE,
        &format!("/admin/auth/api-key/{id}"),
        None,
    )
    .await
    .expect(204);
    let gone = within(Duration::from_secs(1), || async {
        n1.proxied(&key).await == 401
    })
    .await;
    assert!(
        gone.is_some(),
        "a key deleted through node 2 still worked on node 1 after 1 s"
    );

    // ETags hold across nodes: a change through node 2 makes node 1's tag stale (412).
    let (third_id, third) = n1.new_key(&admin, &user, &role).await.expect("key");
    let one = format!("/admin/auth/api-key/{third_id}");
    let got = n1.call(&admin, Method::GET, &one, None).await;
    got.expect(200);
    let tag = got.header("etag").expect("etag").to_owned();
    let r = n2
        .call_if_match(
            &admin,
            Method::PATCH,
            &one,
            &tag,
            json!({ "active": false }),
        )
        .await;
    r.expect(200);
    let r = n1
        .call_if_match(&admin, Method::PATCH, &one, &tag, json!({ "active": true }))
        .await;
    r.expect(412);
    let off = within(Duration::from_secs(1), || async {
        n1.proxied(&third).await == 401
    })
    .await;
    assert!(
        off.is_some(),
        "a key deactivated through node 2 still worked on node 1"
    );

    let rev = converged(&[&n1, &n2], Duration::from_secs(1)).await;
    assert!(
        rev >= 6,
        "role, user, three keys, a delete, a change: revision {rev}"
    );

    // The database goes away: decisions go on from the last state, writes are refused.
    pg.stop();
    assert_eq!(n1.proxied(&keep).await, 200);
    assert_eq!(n2.proxied(&keep).await, 200);
    assert_eq!(n2.proxied(&key).await, 401);
    let refused = n1
        .new_key(&admin, &user, &role)
        .await
        .expect_err("no database");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(refused.text().contains("unavailable"), "{}", refused.text());
    let lost = within(Duration::from_secs(3), || async {
        n2.status().await["store"]["connected"] == false
    })
    .await;
    assert!(
        lost.is_some(),
        "node 2 did not notice the database went away"
    );
    let status = n2.status().await;
    assert_eq!(status["store"]["revision"], rev);
    assert!(
        status["store"]["state_age_s"].as_f64().is_some(),
        "{status}"
    );
    assert!(!status.to_string().contains("user=portcullis"), "{status}");
    let metrics =
        crate::support::client::get(&format!("http://127.0.0.1:{}/metrics", n2.admin), &[])
            .await
            .text();
    assert!(
        metrics.contains(&format!("portcullis_store_revision {rev}")),
        "{metrics}"
    );
    assert!(
        metrics.contains("portcullis_store_connected 0"),
        "{metrics}"
    );
    // Nothing half-written: the refused key does not exist anywhere.
    assert_eq!(n1.revision().await, rev);

    // Back: writes work again (once the node reconnects) and every node converges.
    pg.resume();
    let start = Instant::now();
    let fresh = loop {
        match n2.new_key(&admin, &user, &role).await {
            Ok((_, k)) => break k,
            Err(r) => assert_eq!(r.status, 503, "{}", r.text()),
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "writes did not work again after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seen = within(Duration::from_secs(1), || async {
        n1.proxied(&fresh).await == 200
    })
    .await;
    assert!(
        seen.is_some(),
        "a key created after the outage did not reach node 1"
    );
    assert_eq!(
        converged(&[&n1, &n2], Duration::from_secs(2)).await,
        rev + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_starting_without_its_database_is_not_ready_and_says_why() {
    let pg = Pg::start();
    let conn = pg.connection();
    pg.stop();
    let up = Upstream::start().await;
    let dir = TempDir::new("fleet-down");
    let n = Node::start(&dir, "n1", &up.url(), &conn);
    let start = Instant::now();
    let r = loop {
        if let Some(r) = n.readyz().await
            && r.status == 503
            && r.json()["store"]
                .as_str()
                .is_some_and(|s| s.contains("postgresql"))
        {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the node did not say it waits for its database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!r.text().contains("user=portcullis"), "{}", r.text());
    pg.resume();
    n.ready().await;
    assert_eq!(n.status().await["store"]["revision"], 0);
}
