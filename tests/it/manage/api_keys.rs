//! contract.fit API keys in use: accepted in `X-API-Key` and `?api_key=` (removed before
//! forwarding), only inside their inbox/document scope, seen upstream as their placeholder user;
//! changed (`active`, `expire_at`, never `roles`) and deleted with effect on the next request.

use http::Method;
use serde_json::json;

use crate::support::client::assert_rejected;
use crate::support::manage::*;

#[tokio::test]
async fn keys_work_in_header_and_query_inside_their_scope_only() {
    let mg = Mg::start().await;
    let k = mg
        .key_setup(Some(
            json!([{ "role": "$ROLE", "inbox": INBOX, "document_id": DOC }]),
        ))
        .await;
    let inside = format!("/inboxes/{INBOX}/documents/{DOC}");
    let r = mg
        .call(Method::GET, &inside, &[("x-api-key", &k.token)], None)
        .await;
    r.expect(200);
    let seen = mg.upstream.last();
    assert_eq!(seen.header("x-portcullis-user"), k.user);
    assert_eq!(seen.header("x-portcullis-key-id"), k.id);
    assert!(seen.headers_named("x-api-key").is_empty());
    // The query form: the parameter is removed, the rest kept.
    let r = mg
        .call(
            Method::GET,
            &format!("{inside}?lang=en&api_key={}", k.token),
            // contract.fit clients send a content type on GETs without a body.
            &[("content-type", "application/json")],
            None,
        )
        .await;
    r.expect(200);
    let seen = mg.upstream.last();
    assert_eq!(seen.target, format!("{inside}?lang=en"));
    assert_eq!(seen.header("x-portcullis-user"), k.user);
    // Outside: another document, the inbox listing (the key is limited to one document),
    // another inbox.
    for path in [
        format!("/inboxes/{INBOX}/documents/60ddb937b260064252bd5a99"),
        format!("/inboxes/{INBOX}/documents"),
        format!("/inboxes/{OTHER_INBOX}/documents/{DOC}"),
    ] {
        let r = mg
            .call(Method::GET, &path, &[("x-api-key", &k.token)], None)
            .await;
        assert_rejected(&r, 403, "out_of_scope");
    }
    // A permission the role does not hold.
    let r = mg
        .call(
            Method::POST,
            "/permits/p1",
            &[("x-api-key", &k.token)],
            None,
        )
        .await;
    assert_rejected(&r, 403, "permission_denied");
    let before = mg.upstream.count();
    assert_eq!(before, 2, "nothing else was forwarded");
}

#[tokio::test]
async fn an_inbox_key_passes_its_inbox_and_its_documents() {
    let mg = Mg::start().await;
    let k = mg.key_setup(None).await;
    for path in [
        format!("/inboxes/{INBOX}/documents"),
        format!("/inboxes/{INBOX}/documents/{DOC}"),
    ] {
        mg.call(Method::GET, &path, &[("x-api-key", &k.token)], None)
            .await
            .expect(200);
    }
    let r = mg
        .call(
            Method::GET,
            &format!("/inboxes/{OTHER_INBOX}/documents"),
            &[("x-api-key", &k.token)],
            None,
        )
        .await;
    assert_rejected(&r, 403, "out_of_scope");
    // The admin inbox list captures no inbox: an inbox key cannot be shown to be inside it.
    let r = mg
        .call(
            Method::GET,
            "/admin/inboxes",
            &[("x-api-key", &k.token)],
            None,
        )
        .await;
    assert_rejected(&r, 403, "out_of_scope");
}

#[tokio::test]
async fn patch_changes_state_not_roles_and_delete_refuses_the_next_request() {
    let mg = Mg::start().await;
    let k = mg.key_setup(None).await;
    let use_key = || async {
        mg.call(
            Method::GET,
            &format!("/inboxes/{INBOX}/documents"),
            &[("x-api-key", &k.token)],
            None,
        )
        .await
    };
    use_key().await.expect(200);
    let one = format!("/admin/auth/api-key/{}", k.id);
    let r = mg
        .as_admin(
            &k.admin,
            Method::PATCH,
            &one,
            Some(&json!({ "roles": [{ "role": k.role }] })),
        )
        .await;
    r.expect(400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("create a new key")
    );
    let r = mg
        .as_admin(
            &k.admin,
            Method::PATCH,
            &one,
            Some(&json!({ "label": "x" })),
        )
        .await;
    r.expect(400);
    // Deactivate: refused at once.
    let got = mg.as_admin(&k.admin, Method::GET, &one, None).await;
    got.expect(200);
    let tag = got.header("etag").expect("etag").to_owned();
    let auth = format!("Bearer {}", k.admin);
    let r = mg
        .call(
            Method::PATCH,
            &one,
            &[("authorization", &auth), ("if-match", &tag)],
            Some(&json!({ "active": false })),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["active"], false);
    assert_rejected(&use_key().await, 401, "credential_disabled");
    // The old tag is stale now: 412, nothing changes.
    let r = mg
        .call(
            Method::PATCH,
            &one,
            &[("authorization", &auth), ("if-match", &tag)],
            Some(&json!({ "active": true })),
        )
        .await;
    r.expect(412);
    assert_rejected(&use_key().await, 401, "credential_disabled");
    // Reactivate with an expiry in the past: expired.
    let r = mg
        .as_admin(
            &k.admin,
            Method::PATCH,
            &one,
            Some(&json!({ "active": true, "expire_at": "2020-01-01T00:00:00Z" })),
        )
        .await;
    r.expect(200);
    assert_rejected(&use_key().await, 401, "credential_expired");
    mg.as_admin(
        &k.admin,
        Method::PATCH,
        &one,
        Some(&json!({ "expire_at": null })),
    )
    .await
    .expect(200);
    use_key().await.expect(200);
    // contract.fit names keys by token too.
    let by_token = mg
        .as_admin(
            &k.admin,
            Method::GET,
            &format!("/admin/auth/api-key/{}", k.token),
            None,
        )
        .await;
    by_token.expect(200);
    assert_eq!(by_token.json()["id"], k.id.as_str());
    let r = mg
        .as_admin(
            &k.admin,
            Method::DELETE,
            &format!("/admin/auth/api-key/{}", k.token),
            None,
        )
        .await;
    r.expect(204);
    assert_rejected(&use_key().await, 401, "invalid_credential");
    mg.as_admin(&k.admin, Method::GET, &one, None)
        .await
        .expect(404);
    // Mistyped calls naming the token: a wrong method (405), a trailing slash (no route).
    let by_token = format!("/admin/auth/api-key/{}", k.token);
    mg.as_admin(&k.admin, Method::PUT, &by_token, None)
        .await
        .expect(405);
    mg.as_admin(&k.admin, Method::GET, &format!("{by_token}/"), None)
        .await
        .expect(404);
    crate::support::logs::assert_absent(&k.token, "a key token in a path");
}

#[tokio::test]
async fn the_inbox_endpoints_serve_callers_limited_to_that_inbox() {
    let mg = Mg::start().await;
    let k = mg.key_setup(None).await;
    let limited = mg.login(INBOX_ADMIN, INBOX_ADMIN_PW).await;
    // Its rights hold in its inbox only.
    let body = json!({ "user": k.user, "roles": [{ "role": k.role }] });
    let r = mg
        .as_admin(
            &limited,
            Method::POST,
            &format!("/admin/auth/api-key/inbox/{INBOX}"),
            Some(&body),
        )
        .await;
    r.expect(201);
    assert_eq!(
        r.json()["roles"],
        json!([{ "role": k.role, "inbox": INBOX }])
    );
    let r = mg
        .as_admin(
            &limited,
            Method::POST,
            &format!("/admin/auth/api-key/inbox/{OTHER_INBOX}"),
            Some(&body),
        )
        .await;
    assert_rejected(&r, 403, "out_of_scope");
    let r = mg
        .as_admin(&limited, Method::POST, "/admin/auth/api-key", Some(&body))
        .await;
    assert_rejected(&r, 403, "out_of_scope");
    let listed = mg
        .as_admin(
            &limited,
            Method::GET,
            &format!("/admin/auth/api-key/inbox/{INBOX}"),
            None,
        )
        .await;
    listed.expect(200);
    assert_eq!(listed.json().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_admin_token_is_accepted_without_a_scheme_word() {
    let mg = Mg::start().await;
    let admin = mg.login(ADMIN, ADMIN_PW).await;
    // The management API and, with contract.fit served, the application's routes too.
    for path in ["/admin/roles", "/admin/inboxes"] {
        mg.call(
            Method::GET,
            path,
            &[
                ("authorization", &admin),
                ("content-type", "application/json"),
            ],
            None,
        )
        .await
        .expect(200);
    }
}

#[tokio::test]
async fn bare_authorization_values_are_the_applications_without_contractfit() {
    let mg = Mg::start_with(|p| {
        p["management"]
            .as_object_mut()
            .unwrap()
            .remove("contractfit");
        p["routes"].as_array_mut().unwrap().push(json!({
            "id": "open", "path": "/open", "public": true, "upstream": "app"
        }));
    })
    .await;
    mg.call(
        Method::GET,
        "/open",
        &[("authorization", "app-own-token")],
        None,
    )
    .await
    .expect(200);
    assert_eq!(mg.upstream.last().header("authorization"), "app-own-token");
}

#[tokio::test]
async fn the_admin_key_view_lists_managed_keys_without_secrets() {
    let mg = Mg::start().await;
    let k = mg.key_setup(None).await;
    let r = crate::support::client::get(&mg.harness.admin_url("/keys"), &[]).await;
    r.expect(200);
    let v = r.json();
    let managed = v["managed_keys"].as_array().unwrap();
    assert_eq!(managed.len(), 1, "{v}");
    assert_eq!(managed[0]["id"], k.id.as_str());
    assert_eq!(managed[0]["user"], k.user.as_str());
    assert_eq!(managed[0]["state"], "valid");
    let text = r.text();
    assert!(!text.contains(&k.token));
    assert!(!text.contains(&hex::encode(portcullis::identity::digest(&k.token))));
}
