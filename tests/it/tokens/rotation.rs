//! Key rotation by `kid`: the newest signing key of a kind signs, every listed key verifies, a
//! removed key's tokens stop verifying, `verify_only` keys never sign; EdDSA keys sign too.

use portcullis::reload::Outcome;
use serde_json::json;

use crate::support::client::assert_rejected;
use crate::support::seatable::keys::{ED_PUBLIC, kid_of, peek};
use crate::support::seatable::*;

/// Add `base-2`, an HS256 base key created after `base-1`, so it signs from now on.
async fn add_newer_base_key(gw: &Gw) {
    gw.edit(|p| {
        p["signing_keys"]["base-2"] = json!({
            "use": "base", "alg": "HS256", "secret": { "env": "PC_BASE_KEY_2" },
            "created": "2026-01-01T00:00:00Z"
        });
    })
    .await;
}

#[tokio::test]
async fn newer_key_signs_old_tokens_verify_until_their_key_goes() {
    let gw = Gw::start().await;
    let old = gw.base_token(&gw.account_token(ALICE)).await;
    assert_eq!(kid_of(&old), "base-1");

    add_newer_base_key(&gw).await;
    let new = gw.base_token(&gw.account_token(ALICE)).await;
    assert_eq!(kid_of(&new), "base-2");
    gw.get(&std_rows_path(SALES), Some(&old)).await.expect(200);
    gw.get(&std_rows_path(SALES), Some(&new)).await.expect(200);

    gw.edit(|p| {
        p["signing_keys"].as_object_mut().unwrap().remove("base-1");
    })
    .await;
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&old)).await,
        401,
        "invalid_credential",
    );
    gw.get(&std_rows_path(SALES), Some(&new)).await.expect(200);
}

#[tokio::test]
async fn verify_only_key_verifies_but_never_signs() {
    let gw = Gw::start().await;
    add_newer_base_key(&gw).await;
    let by_two = gw.base_token(&gw.account_token(ALICE)).await;
    assert_eq!(kid_of(&by_two), "base-2");
    gw.edit(|p| p["signing_keys"]["base-2"]["verify_only"] = json!(true))
        .await;
    let next = gw.base_token(&gw.account_token(ALICE)).await;
    assert_eq!(kid_of(&next), "base-1", "a verify-only key signed");
    gw.get(&std_rows_path(SALES), Some(&by_two))
        .await
        .expect(200);
}

#[tokio::test]
async fn eddsa_key_signs_when_newest() {
    let gw = Gw::start().await;
    gw.edit(|p| p["signing_keys"]["base-ed"]["created"] = json!("2026-06-01T00:00:00Z"))
        .await;
    let t = gw.base_token(&gw.account_token(ALICE)).await;
    let (h, c) = peek(&t);
    assert_eq!(
        (h["alg"].as_str(), h["kid"].as_str()),
        (Some("EdDSA"), Some("base-ed"))
    );
    assert_eq!(c["dtable_uuid"], SALES);
    gw.get(&std_rows_path(SALES), Some(&t)).await.expect(200);

    // A node holding only the public key verifies it but cannot mint base tokens.
    gw.edit(|p| {
        p["signing_keys"].as_object_mut().unwrap().remove("base-1");
        p["signing_keys"]["base-ed"] = json!({
            "use": "base", "alg": "EdDSA", "public_key": { "inline": ED_PUBLIC }
        });
    })
    .await;
    gw.get(&std_rows_path(SALES), Some(&t)).await.expect(200);
    let r = gw
        .get(
            &base_path(SALES_NAME, "access-token/"),
            Some(&gw.account_token(ALICE)),
        )
        .await;
    r.expect_error_msg(500, "Internal Server Error");
}

#[tokio::test]
async fn account_keys_rotate_independently_of_base_keys() {
    let gw = Gw::start().await;
    let before = gw.login(ALICE, ALICE_PW, None).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(kid_of(&before), "acct-1");
    gw.edit(|p| {
        p["signing_keys"]["acct-2"] = json!({
            "use": "account", "alg": "HS256", "secret": { "inline": "acct-two-".repeat(5) },
            "created": "2026-01-01T00:00:00Z"
        });
    })
    .await;
    let after = gw.login(ALICE, ALICE_PW, None).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(kid_of(&after), "acct-2");
    assert_eq!(
        kid_of(&gw.base_token(&gw.account_token(ALICE)).await),
        "base-1"
    );
    for t in [&before, &after] {
        gw.get("/account/x", Some(t)).await.expect(200);
    }
}

/// A key file in a subdirectory of the policy is stamped by the periodic check: replacing it is
/// seen without any policy file changing.
#[tokio::test]
async fn the_periodic_check_sees_a_replaced_key_file() {
    let gw = Gw::start().await;
    let reloader = &gw.harness.reloader;
    assert_eq!(reloader.check_async().await, Outcome::Unchanged);
    std::fs::write(
        gw.policy_dir().join("keys/base-ed.pem"),
        crate::support::seatable::keys::ED_OTHER_PRIVATE,
    )
    .unwrap();
    assert_ne!(reloader.check_async().await, Outcome::Unchanged);
}
