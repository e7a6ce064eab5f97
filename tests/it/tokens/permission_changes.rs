//! Permission changes reach base tokens already minted from an API token: the token's `src`
//! claim names the API token, and verification applies its permission and state in the current
//! snapshot, in both token shapes. Downgraded to `r`, an earlier base token can no longer write;
//! deleted, it no longer works at all.

use http::Method;
use serde_json::json;

use crate::support::seatable::keys::{self, BASE_SECRET};
use crate::support::seatable::*;

/// `PUT .../api-tokens/{app}/` with `permission`, as alice.
async fn set_permission(gw: &Gw, app: &str, perm: &str) {
    let auth = format!("Token {}", gw.account_token(ALICE));
    let body = form(&[("permission", perm)]);
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let path = base_path(SALES_NAME, &format!("api-tokens/{app}/"));
    gw.send(Method::PUT, &path, &h, body.as_bytes())
        .await
        .expect(200);
}

async fn write(gw: &Gw, token: &str) -> Resp {
    gw.post_json(&rows_path(SALES), token, &json!({"row": {"a": 1}}))
        .await
}

async fn downgrade_then_restore(shape: &str) {
    let gw = Gw::start_with(|p| seatable_interop(p, shape)).await;
    let api = gw.api_token(SALES_NAME, "sync", "rw").await;
    let earlier = gw.base_token_from(&api).await;
    assert_eq!(keys::peek(&earlier).1["permission"], "rw", "{shape}");
    write(&gw, &earlier).await.expect(200);

    set_permission(&gw, "sync", "r").await;
    let before = gw.upstream.count();
    write(&gw, &earlier)
        .await
        .expect_error_msg(403, "Permission denied.");
    assert_eq!(
        gw.upstream.count(),
        before,
        "{shape}: a downgraded write passed"
    );
    gw.rows(SALES, &earlier).await.expect(200);

    // The permission follows the API token, both ways (never above the token's own claim).
    set_permission(&gw, "sync", "rw").await;
    write(&gw, &earlier).await.expect(200);

    let auth = format!("Token {}", gw.account_token(ALICE));
    let path = base_path(SALES_NAME, "api-tokens/sync/");
    gw.send(Method::DELETE, &path, &[("authorization", &auth)], b"")
        .await
        .expect(200);
    gw.rows(SALES, &earlier)
        .await
        .expect_error_msg(403, "Permission denied.");
}

#[tokio::test]
async fn a_downgrade_reaches_portcullis_shaped_tokens() {
    downgrade_then_restore("portcullis").await;
}

#[tokio::test]
async fn a_downgrade_reaches_seatable_shaped_tokens() {
    downgrade_then_restore("seatable").await;
}

#[tokio::test]
async fn a_read_only_claim_stays_read_only() {
    let gw = Gw::start().await;
    let api = gw.api_token(SALES_NAME, "reader", "r").await;
    let token = gw.base_token_from(&api).await;
    set_permission(&gw, "reader", "rw").await;
    write(&gw, &token)
        .await
        .expect_error_msg(403, "Permission denied.");
    write(&gw, &gw.base_token_from(&api).await)
        .await
        .expect(200);
}

#[tokio::test]
async fn a_source_of_another_base_revokes() {
    let gw = Gw::start().await;
    let api = gw.api_token(SALES_NAME, "sync", "rw").await;
    let id = format!("api-{}", &sha256_hex(&api)[..12]);
    let mut c = keys::base_claims("app:sync", OTHER, "rw", gw.now(), 600);
    c["src"] = json!(format!("api:{id}"));
    let forged = keys::hs256(Some("base-1"), BASE_SECRET, &c);
    gw.rows(OTHER, &forged)
        .await
        .expect_error_msg(403, "Permission denied.");
    c["dtable_uuid"] = json!(SALES);
    let good = keys::hs256(Some("base-1"), BASE_SECRET, &c);
    gw.rows(SALES, &good).await.expect(200);
}
