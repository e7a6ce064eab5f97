//! Per-base API tokens through the gateway's own `.../api-tokens/` endpoints: the lifecycle
//! create → use → list → update (multipart, as SeaTable's client sends it) → delete, SeaTable's
//! error bodies, persistence as digests in the managed file, and survival across a restart.

use http::Method;
use serde_json::json;

use crate::support::seatable::*;

fn list_path() -> String {
    base_path(SALES_NAME, "api-tokens/")
}

fn one_path(app: &str) -> String {
    base_path(SALES_NAME, &format!("api-tokens/{app}/"))
}

/// A multipart body with one text field, shaped like python-requests' `files=` encoding.
fn multipart(field: &str, value: &str) -> (String, String) {
    let boundary = "9f2c3e1d0b8a7f6e5d4c3b2a19080706";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn create_use_list_update_delete() {
    let gw = Gw::start().await;
    let acct = gw.account_token(ALICE);
    let auth = format!("Token {acct}");

    let r = gw
        .create_api_token(&acct, SALES_NAME, "sync app", "rw")
        .await;
    r.expect(201);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let created = r.json();
    let secret = created["api_token"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 40, "{created}");
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(created["app_name"], "sync app");
    assert_eq!(created["permission"], "rw");
    assert_eq!(created["generated_by"], ALICE);

    let base = gw.base_token_from(&secret).await;
    gw.rows(SALES, &base).await.expect(200);
    gw.post_json(
        &rows_path(SALES),
        &base,
        &json!({"table_name": "Table1", "row": {"a": 1}}),
    )
    .await
    .expect(200);

    let r = gw.get(&list_path(), Some(&acct)).await;
    r.expect(200);
    let list = r.json();
    let tokens = list["api_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{list}");
    assert_eq!(tokens[0]["app_name"], "sync app");
    assert_eq!(tokens[0]["permission"], "rw");
    assert!(!r.text().contains(&secret), "the list shows the secret");

    let (ctype, body) = multipart("permission", "r");
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", ctype.as_str()),
    ];
    let r = gw
        .send(Method::PUT, &one_path("sync%20app"), &h, body.as_bytes())
        .await;
    r.expect(200);
    assert_eq!(r.json()["permission"], "r");
    let reader = gw.base_token_from(&secret).await;
    assert_eq!(
        crate::support::seatable::keys::peek(&reader).1["permission"],
        "r"
    );
    gw.rows(SALES, &reader).await.expect(200);
    gw.post_json(&rows_path(SALES), &reader, &json!({"row": {}}))
        .await
        .expect_error_msg(403, "Permission denied.");

    let h = [("authorization", auth.as_str())];
    let r = gw
        .send(Method::DELETE, &one_path("sync%20app"), &h, b"")
        .await;
    r.expect(200);
    assert_eq!(r.json(), json!({ "success": true }));
    gw.app_access(&secret)
        .await
        .expect_error_msg(403, "Permission denied.");
    gw.send(Method::DELETE, &one_path("sync%20app"), &h, b"")
        .await
        .expect_error_msg(404, "api token sync app not found.");
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", ctype.as_str()),
    ];
    gw.send(Method::PUT, &one_path("sync%20app"), &h, body.as_bytes())
        .await
        .expect_error_msg(404, "api token sync app not found.");
    assert_eq!(
        gw.get(&list_path(), Some(&acct)).await.json(),
        json!({ "api_tokens": [] })
    );
}

#[tokio::test]
async fn creation_errors_use_seatables_bodies() {
    let gw = Gw::start().await;
    let alice = gw.account_token(ALICE);
    gw.create_api_token(&alice, SALES_NAME, "app", "rw")
        .await
        .expect(201);
    gw.create_api_token(&alice, SALES_NAME, "app", "r")
        .await
        .expect_error_msg(400, "api token app exists.");
    gw.create_api_token(&alice, SALES_NAME, "app2", "admin")
        .await
        .expect_error_msg(400, "permission invalid.");
    gw.create_api_token(&alice, SALES_NAME, "  ", "r")
        .await
        .expect_error_msg(400, "app_name invalid.");
    gw.create_api_token(&gw.account_token(BOB), SALES_NAME, "mine", "r")
        .await
        .expect_error_msg(403, "Permission denied.");
    gw.create_api_token(&alice, "Nope", "app", "r")
        .await
        .expect_error_msg(404, "dtable Nope not found.");
    let r = gw
        .create_api_token("not-a-token", SALES_NAME, "x", "r")
        .await;
    r.expect(401);
    assert_eq!(r.json(), json!({ "detail": "Invalid token" }));
    // The same app name on another base is another token.
    gw.create_api_token(&alice, OTHER_NAME, "app", "r")
        .await
        .expect(201);
    // Only the owner may list, update or delete.
    let bob = format!("Token {}", gw.account_token(BOB));
    let h = [("authorization", bob.as_str())];
    gw.get(&list_path(), Some(&gw.account_token(BOB)))
        .await
        .expect_error_msg(403, "Permission denied.");
    gw.send(Method::DELETE, &one_path("app"), &h, b"")
        .await
        .expect_error_msg(403, "Permission denied.");
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_one_token() {
    let gw = Gw::start().await;
    let acct = gw.account_token(ALICE);
    let one = || gw.create_api_token(&acct, SALES_NAME, "race", "r");
    let (a, b, c, d) = tokio::join!(one(), one(), one(), one());
    let results = [a, b, c, d];
    let created = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        results.iter().map(Resp::text).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 201) {
        r.expect_error_msg(400, "api token race exists.");
    }
    let list = gw.get(&list_path(), Some(&acct)).await.json();
    assert_eq!(list["api_tokens"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn managed_file_holds_digests_and_the_person_file_is_untouched() {
    let gw = Gw::start().await;
    let before = std::fs::read(gw.policy_file()).unwrap();
    assert!(gw.managed_text().is_none());
    let first = gw.api_token(SALES_NAME, "one", "rw").await;
    let second = gw.api_token(OTHER_NAME, "two", "r").await;

    let managed = gw.managed_text().expect("managed file written");
    for secret in [&first, &second] {
        assert!(
            !managed.contains(secret.as_str()),
            "plaintext in managed file"
        );
        assert!(
            managed.contains(&sha256_hex(secret)),
            "digest missing: {managed}"
        );
    }
    let v: serde_json::Value = serde_json::from_str(&managed).unwrap();
    assert_eq!(v["api_tokens"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        std::fs::read(gw.policy_file()).unwrap(),
        before,
        "policy.json was rewritten"
    );
    let leftovers: Vec<_> = std::fs::read_dir(gw.policy_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[tokio::test]
async fn tokens_survive_a_restart() {
    let gw = Gw::start().await;
    let secret = gw.api_token(SALES_NAME, "durable", "r").await;
    let base = gw.base_token_from(&secret).await;
    let gw = gw.restart().await;
    gw.rows(SALES, &base).await.expect(200);
    let fresh = gw.base_token_from(&secret).await;
    gw.rows(SALES, &fresh).await.expect(200);
    let list = gw
        .get(&list_path(), Some(&gw.account_token(ALICE)))
        .await
        .json();
    assert_eq!(list["api_tokens"][0]["app_name"], "durable", "{list}");
}

#[tokio::test]
async fn a_write_the_reload_rejects_is_rolled_back() {
    let gw = Gw::start().await;
    let kept = gw.api_token(SALES_NAME, "kept", "r").await;
    let managed_before = gw.managed_text().expect("managed file");
    // Someone saves a broken policy.json: the running policy stays, and so must the API's view.
    let outcome = gw
        .try_edit(|p| p["users"][BOB]["password"] = json!("not-a-phc-string"))
        .await;
    assert!(
        matches!(outcome, portcullis::reload::Outcome::Rejected(_)),
        "{outcome:?}"
    );
    let acct = gw.account_token(ALICE);
    gw.create_api_token(&acct, SALES_NAME, "new", "rw")
        .await
        .expect_error_msg(500, "Internal Server Error");
    assert_eq!(gw.managed_text().as_deref(), Some(managed_before.as_str()));
    gw.base_token_from(&kept).await;

    // Back to the bytes that are loaded: nothing to apply.
    let outcome = gw
        .try_edit(|p| p["users"][BOB]["password"] = json!(phc(BOB_PW)))
        .await;
    assert_eq!(outcome, portcullis::reload::Outcome::Unchanged);
    gw.create_api_token(&acct, SALES_NAME, "new", "rw")
        .await
        .expect(201);
}
