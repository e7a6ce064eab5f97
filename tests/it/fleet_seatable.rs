//! SeaTable API tokens in a fleet: they are part of the policy (a full reload applies them), so
//! they travel the other path through the store. Created through node 1, usable through node 2
//! within a second; deleted through node 2, refused by node 1 (403, as SeaTable answers) within a second.

use std::time::{Duration, Instant};

use http::Method;

use crate::support::client::{self, full, request, send};
use crate::support::fleet::{Node, same_revision};
use crate::support::postgres::Pg;
use crate::support::seatable::keys::{self, ACCT_SECRET};
use crate::support::seatable::policy::{self, ALICE, SALES_NAME};
use crate::support::tmp::TempDir;
use crate::support::{Reply, Upstream};

/// `GET /api/v2.1/dtable/app-access-token/` with `token` on `node`: the status.
async fn app_access(node: &Node, token: &str) -> u16 {
    client::get(
        &node.url("/api/v2.1/dtable/app-access-token/"),
        &[("authorization", &client::token(token))],
    )
    .await
    .status
}

/// Poll until `node` answers `status` for `token` (panics after 1 s).
async fn until(node: &Node, token: &str, status: u16) {
    let start = Instant::now();
    while app_access(node, token).await != status {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node did not answer {status} within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_travel_through_the_store() {
    let pg = Pg::start();
    let up = Upstream::start().await;
    up.set_reply(Reply::default());
    let dir = TempDir::new("fleet-seatable");
    let p = policy::standard(&up.url());
    let n1 = Node::serving(&dir, "n1", &p, &pg.connection());
    let n2 = Node::serving(&dir, "n2", &p, &pg.connection());
    n1.ready().await;
    n2.ready().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let acct = keys::hs256(
        Some("acct-1"),
        ACCT_SECRET,
        &keys::claims("account", ALICE, now, 3600),
    );
    let auth = client::token(&acct);
    let form = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let r = send(
        &client::h1(),
        request(
            Method::POST,
            &n1.url(&policy::base_path(SALES_NAME, "api-tokens/")),
            &form,
            full("app_name=sync&permission=rw"),
        ),
    )
    .await;
    r.expect(201);
    let token = r.json()["api_token"]
        .as_str()
        .expect("api_token")
        .to_owned();
    until(&n2, &token, 200).await;

    let r = send(
        &client::h1(),
        request(
            Method::DELETE,
            &n2.url(&policy::base_path(SALES_NAME, "api-tokens/sync/")),
            &form[..1],
            full(""),
        ),
    )
    .await;
    r.expect(200);
    until(&n1, &token, 403).await;
    same_revision(&[&n1, &n2], "after the token change").await;
}
