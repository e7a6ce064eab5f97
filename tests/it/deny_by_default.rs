//! Deny by default: a request no route maps is denied and never forwarded, and removing a rule
//! by reload can only deny more — the request it allowed is refused from the next request on.

use portcullis::reload::Outcome;

use crate::support::client::{self, assert_rejected};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_route_by_reload_denies_its_requests() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    let url = gw.url("/inboxes/a/documents");
    assert_eq!(client::get(&url, &[("x-api-key", ADMIN)]).await.status, 200);

    let routes = p["routes"].as_array_mut().expect("routes");
    routes.retain(|r| r["id"] != "inbox-documents");
    assert!(matches!(
        gw.rewrite(&p).await,
        Outcome::Applied { generation: 2 }
    ));
    assert_eq!(gw.generation(), 2);
    assert_rejected(
        &client::get(&url, &[("x-api-key", ADMIN)]).await,
        404,
        "no_route",
    );
    assert_eq!(
        up.count(),
        1,
        "only the request before the reload was forwarded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_permission_by_reload_denies_it() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    let url = gw.url("/api/?module=level&action=list");
    assert_eq!(client::get(&url, &[("x-api-key", ADMIN)]).await.status, 200);

    p["keys"]["admin"]["permissions"]
        .as_object_mut()
        .expect("permissions")
        .remove("level");
    assert!(matches!(gw.rewrite(&p).await, Outcome::Applied { .. }));
    assert_rejected(
        &client::get(&url, &[("x-api-key", ADMIN)]).await,
        403,
        "permission_denied",
    );
    assert_eq!(up.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_policy_denies_everything() {
    let up = Upstream::start().await;
    let gw = Harness::start(&serde_json::json!({})).await;
    for target in [
        "/",
        "/api/?module=indicator&action=list",
        "/public/x",
        "/anything/at/all",
    ] {
        let resp = client::get(&gw.url(target), &[("x-api-key", ADMIN)]).await;
        assert_rejected(&resp, 404, "no_route");
    }
    assert_eq!(up.count(), 0);
}
