//! Revocation, each taking effect on the reload that follows a policy change (and not before):
//! a disabled or removed user, `tokens_valid_after`, the `revoked_tokens` list, a deleted or
//! disabled API token, a disabled external link.

use http::Method;
use serde_json::json;

use crate::support::client::assert_rejected;
use crate::support::seatable::keys::{self, peek};
use crate::support::seatable::*;

#[tokio::test]
async fn disabling_a_user_revokes_every_token_of_theirs() {
    let gw = Gw::start().await;
    let acct = gw.account_token(ALICE);
    let base = gw.base_token(&acct).await;
    let temp = gw.temp_token(&acct).await;
    gw.get("/account/x", Some(&acct)).await.expect(200);
    gw.get(&std_rows_path(SALES), Some(&base)).await.expect(200);

    gw.edit(|p| p["users"][ALICE]["disabled"] = json!(true))
        .await;
    assert_rejected(
        &gw.get("/account/x", Some(&acct)).await,
        401,
        "credential_revoked",
    );
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&base)).await,
        401,
        "credential_revoked",
    );
    gw.rows(SALES, &base)
        .await
        .expect_error_msg(403, "Permission denied.");
    gw.app_access(&temp)
        .await
        .expect_error_msg(403, "Permission denied.");
    let r = gw
        .get(&base_path(SALES_NAME, "access-token/"), Some(&acct))
        .await;
    r.expect(401);

    gw.edit(|p| p["users"][ALICE]["disabled"] = json!(false))
        .await;
    gw.get(&std_rows_path(SALES), Some(&base)).await.expect(200);
}

#[tokio::test]
async fn removing_a_user_revokes_their_tokens() {
    let gw = Gw::start().await;
    let acct = gw.account_token(CAROL);
    let base = gw.base_token(&acct).await;
    gw.get(&std_rows_path(SALES), Some(&base)).await.expect(200);
    gw.edit(|p| {
        p["users"].as_object_mut().unwrap().remove(CAROL);
        p["bases"][SALES]["members"]
            .as_object_mut()
            .unwrap()
            .remove(CAROL);
    })
    .await;
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&base)).await,
        401,
        "credential_revoked",
    );
}

#[tokio::test]
async fn tokens_valid_after_cuts_off_older_tokens_only() {
    let gw = Gw::start().await;
    let acct = gw.account_token(ALICE);
    let old_base = gw.base_token(&acct).await;
    gw.advance(100);
    let cutoff = time::OffsetDateTime::from_unix_timestamp(gw.now() - 50)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    gw.get(&std_rows_path(SALES), Some(&old_base))
        .await
        .expect(200);
    gw.edit(|p| p["users"][ALICE]["tokens_valid_after"] = json!(cutoff))
        .await;
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&old_base)).await,
        401,
        "credential_revoked",
    );
    assert_rejected(
        &gw.get("/account/x", Some(&acct)).await,
        401,
        "credential_revoked",
    );
    let fresh = gw.account_token(ALICE);
    gw.get("/account/x", Some(&fresh)).await.expect(200);
    let new_base = gw.base_token(&fresh).await;
    gw.get(&std_rows_path(SALES), Some(&new_base))
        .await
        .expect(200);
    // Bob's tokens are not Alice's.
    let bob = gw.base_token(&gw.account_token(BOB)).await;
    gw.get(&std_rows_path(SALES), Some(&bob)).await.expect(200);
}

#[tokio::test]
async fn revoked_token_ids_are_refused_and_others_are_not() {
    let gw = Gw::start().await;
    let acct = gw.account_token(ALICE);
    let first = gw.base_token(&acct).await;
    let second = gw.base_token(&acct).await;
    let jti = peek(&first).1["jti"].as_str().unwrap().to_owned();
    assert_ne!(jti, peek(&second).1["jti"].as_str().unwrap());
    gw.edit(|p| p["revoked_tokens"] = json!([jti])).await;
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&first)).await,
        401,
        "credential_revoked",
    );
    gw.get(&std_rows_path(SALES), Some(&second))
        .await
        .expect(200);
}

#[tokio::test]
async fn deleting_an_api_token_revokes_base_tokens_minted_from_it() {
    let gw = Gw::start().await;
    let keep = gw.api_token(SALES_NAME, "keep", "rw").await;
    let doomed = gw.api_token(SALES_NAME, "doomed", "rw").await;
    let kept_base = gw.base_token_from(&keep).await;
    let doomed_base = gw.base_token_from(&doomed).await;
    gw.rows(SALES, &doomed_base).await.expect(200);

    let auth = format!("Token {}", gw.account_token(ALICE));
    gw.send(
        Method::DELETE,
        &base_path(SALES_NAME, "api-tokens/doomed/"),
        &[("authorization", &auth)],
        b"",
    )
    .await
    .expect(200);
    gw.rows(SALES, &doomed_base)
        .await
        .expect_error_msg(403, "Permission denied.");
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&doomed_base)).await,
        401,
        "credential_revoked",
    );
    gw.rows(SALES, &kept_base).await.expect(200);

    // A new token under the same name does not bring the old base tokens back.
    gw.api_token(SALES_NAME, "doomed", "rw").await;
    gw.rows(SALES, &doomed_base)
        .await
        .expect_error_msg(403, "Permission denied.");
}

#[tokio::test]
async fn disabling_an_api_token_in_the_policy_revokes_it() {
    let secret = "policy-api-token-6d0c8a4e2f1b3d5c7e9a";
    let gw = Gw::start_with(|p| {
        p["api_tokens"] = json!([{
            "base": SALES, "app_name": "ops", "sha256": sha256_hex(secret),
            "permission": "rw", "generated_by": ALICE,
            "generated_at": "2025-01-01T00:00:00+00:00"
        }]);
    })
    .await;
    let base = gw.base_token_from(secret).await;
    gw.rows(SALES, &base).await.expect(200);
    gw.edit(|p| p["api_tokens"][0]["disabled"] = json!(true))
        .await;
    gw.rows(SALES, &base)
        .await
        .expect_error_msg(403, "Permission denied.");
    gw.app_access(secret)
        .await
        .expect_error_msg(403, "Permission denied.");
}

#[tokio::test]
async fn disabling_a_link_revokes_its_base_tokens() {
    let gw = Gw::start().await;
    let path = format!("/api/v2.1/external-link-tokens/{LINK_TOKEN}/access-token/");
    let r = gw.get(&path, None).await;
    let base = r.json()["access_token"].as_str().unwrap().to_owned();
    gw.rows(SALES, &base).await.expect(200);
    gw.edit(|p| p["links"]["link-sales"]["disabled"] = json!(true))
        .await;
    gw.rows(SALES, &base)
        .await
        .expect_error_msg(403, "Permission denied.");
    gw.get(&path, None)
        .await
        .expect_error_msg(404, "Link not found.");
}

#[tokio::test]
async fn a_forged_source_claim_does_not_escape_revocation() {
    // A base token whose `src` names an API token id that does not exist is refused, even when
    // correctly signed (the base key signs only what the gateway minted, but belt and braces).
    let gw = Gw::start().await;
    let mut c = keys::base_claims("app:ghost", SALES, "rw", gw.now(), 600);
    c["src"] = json!("api:api-000000000000");
    let t = keys::hs256(Some("base-1"), keys::BASE_SECRET, &c);
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&t)).await,
        401,
        "credential_revoked",
    );
}
