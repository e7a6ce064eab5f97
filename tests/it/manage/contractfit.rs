//! contract.fit setup calls: login, roles, placeholder users and API keys, with the seed's
//! rules (unknown role 406, a document entry needs its inbox, never broader than the user).

use http::Method;
use serde_json::json;

use crate::support::client::assert_rejected;
use crate::support::manage::*;

fn is_id(v: &serde_json::Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn login_gives_a_token_and_wrong_credentials_get_401() {
    let mg = Mg::start().await;
    let token = mg.login(ADMIN, ADMIN_PW).await;
    assert_eq!(token.split('.').count(), 3, "a signed token: {token}");
    for (user, pw) in [(ADMIN, "wrong"), ("nobody@contract.fit", ADMIN_PW)] {
        let r = mg.try_login(user, pw).await;
        r.expect(401);
        assert!(r.json()["message"].is_string());
        assert!(r.json().get("authentication_token").is_none());
    }
    // The inboxes are the application's: forwarded with the admin's identity.
    let r = mg
        .as_admin(&token, Method::GET, "/admin/inboxes", None)
        .await;
    r.expect(200);
    let seen = mg.upstream.only();
    assert_eq!(seen.path, "/admin/inboxes");
    assert_eq!(seen.header("x-portcullis-user"), ADMIN);
    assert!(
        seen.headers_named("authorization").is_empty(),
        "the token is not forwarded"
    );
    crate::support::logs::assert_absent(ADMIN_PW, "the admin password");
}

#[tokio::test]
async fn failed_logins_are_throttled() {
    let mg = Mg::start().await;
    let mut last = 0;
    for _ in 0..8 {
        last = mg.try_login(VIEWER, "nope").await.status;
    }
    assert_eq!(last, 429, "five failures per user per minute by default");
    let r = mg.try_login(VIEWER, VIEWER_PW).await;
    r.expect(429);
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn roles_users_and_keys_follow_the_seed() {
    let mg = Mg::start().await;
    let admin = mg.login(ADMIN, ADMIN_PW).await;
    // Roles: 24-hex ids, listed back.
    let r = mg
        .as_admin(
            &admin,
            Method::POST,
            "/admin/roles",
            Some(&json!({ "name": "reader", "permissions": ["inbox_reader"] })),
        )
        .await;
    r.expect(201);
    let role = r.json();
    assert!(is_id(&role["id"]), "{role}");
    assert_eq!(role["name"], "reader");
    assert_eq!(role["permissions"], json!(["inbox_reader"]));
    let listed = mg.as_admin(&admin, Method::GET, "/admin/roles", None).await;
    listed.expect(200);
    assert_eq!(listed.json(), json!([role]));
    // A permission that names nothing is refused, and nothing is stored.
    let r = mg
        .as_admin(
            &admin,
            Method::POST,
            "/admin/roles",
            Some(&json!({ "name": "bad", "permissions": ["no_such_role"] })),
        )
        .await;
    r.expect(400);
    assert!(r.text().contains("no_such_role"), "{}", r.text());
    assert!(!mg.managed_file().contains("\"bad\""));

    // The placeholder user.
    let rid = role["id"].as_str().unwrap();
    let r = mg
        .as_admin(
            &admin,
            Method::POST,
            "/admin/users",
            Some(&json!({
                "username": "shared-link", "active": true, "password": "Zq9x-unused-pw",
                "roles": [{ "role": rid, "inbox": INBOX }]
            })),
        )
        .await;
    r.expect(201);
    let user = r.json();
    assert!(is_id(&user["id"]));
    assert_eq!(user["username"], "shared-link");
    assert_eq!(user["active"], true);
    assert_eq!(user["roles"], json!([{ "role": rid, "inbox": INBOX }]));
    assert!(user["confirmed_at"].is_string());
    assert!(user.get("password").is_none() && user.get("password_phc").is_none());
    let uid = user["id"].as_str().unwrap();
    let got = mg
        .as_admin(&admin, Method::GET, &format!("/admin/users/{uid}"), None)
        .await;
    got.expect(200);
    assert_eq!(got.json(), user);
    assert_eq!(
        mg.as_admin(&admin, Method::GET, "/admin/users", None)
            .await
            .json(),
        json!([user])
    );
    mg.as_admin(
        &admin,
        Method::GET,
        "/admin/users/000000000000000000000000",
        None,
    )
    .await
    .expect(404);
    let r = mg
        .as_admin(
            &admin,
            Method::POST,
            "/admin/users",
            Some(&json!({
                "username": "ghost", "active": true, "password": "x",
                "roles": [{ "role": "ffffffffffffffffffffffff" }]
            })),
        )
        .await;
    r.expect(406);
    assert_eq!(r.json()["message"], "Role does not exist");
    assert!(!mg.managed_file().contains("ghost"));
    assert!(
        !mg.managed_file().contains("Zq9x-unused-pw"),
        "only a hash is kept"
    );

    // API keys: the seed's two entries, the document one with its inbox.
    let r = mg
        .as_admin(
            &admin,
            Method::POST,
            "/admin/auth/api-key",
            Some(&json!({ "user": uid, "roles": [
                { "role": rid, "inbox": INBOX },
                { "role": rid, "inbox": INBOX, "document_id": DOC }
            ]})),
        )
        .await;
    r.expect(201);
    let key = r.json();
    assert!(is_id(&key["id"]));
    let token = key["token"].as_str().unwrap();
    assert!(token.len() >= 40, "{token}");
    assert_eq!(key["user"], uid);
    assert_eq!(key["active"], true);
    assert_eq!(key["expire_at"], json!(null));
    assert!(
        !mg.managed_file().contains(token),
        "only the digest is stored"
    );

    // The seed's literal sample leaves the inbox out: 400 saying so.
    let r = mg
        .as_admin(
            &admin,
            Method::POST,
            "/admin/auth/api-key",
            Some(&json!({ "user": uid, "roles": [
                { "role": rid, "inbox": INBOX },
                { "role": rid, "document_id": DOC }
            ]})),
        )
        .await;
    r.expect(400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("inbox is missing")
    );

    // Never broader than the user: another inbox, or no inbox at all.
    for roles in [
        json!([{ "role": rid, "inbox": OTHER_INBOX }]),
        json!([{ "role": rid }]),
    ] {
        let r = mg
            .as_admin(
                &admin,
                Method::POST,
                "/admin/auth/api-key",
                Some(&json!({ "user": uid, "roles": roles })),
            )
            .await;
        r.expect(403);
        assert!(
            r.json()["message"].as_str().unwrap().contains("roles[0]"),
            "{}",
            r.text()
        );
    }
    // Unknown fields and unknown users.
    let r = mg
        .as_admin(
            &admin,
            Method::POST,
            "/admin/auth/api-key",
            Some(
                &json!({ "user": uid, "roles": [{ "role": rid, "inbox": INBOX }], "scope": "all" }),
            ),
        )
        .await;
    r.expect(400);
    let r = mg
        .as_admin(
            &admin,
            Method::POST,
            "/admin/auth/api-key",
            Some(&json!({ "user": "ffffffffffffffffffffffff", "roles": [{ "role": rid, "inbox": INBOX }] })),
        )
        .await;
    r.expect(406);
    // One key stored, listed without secrets.
    let list = mg
        .as_admin(&admin, Method::GET, "/admin/auth/api-key", None)
        .await;
    list.expect(200);
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("token").is_none() && list[0].get("sha256").is_none());
    crate::support::logs::assert_absent(token, "a contract.fit API key");
}

#[tokio::test]
async fn without_the_permission_a_caller_gets_403_and_nothing() {
    let mg = Mg::start().await;
    let viewer = mg.login(VIEWER, VIEWER_PW).await;
    // May view keys, not create roles or keys.
    mg.as_admin(&viewer, Method::GET, "/admin/auth/api-key", None)
        .await
        .expect(200);
    let r = mg
        .as_admin(
            &viewer,
            Method::POST,
            "/admin/roles",
            Some(&json!({ "name": "x", "permissions": [] })),
        )
        .await;
    assert_rejected(&r, 403, "permission_denied");
    let r = mg
        .as_admin(&viewer, Method::GET, "/admin/users", None)
        .await;
    assert_rejected(&r, 403, "permission_denied");
    assert!(mg.managed_file().is_empty(), "nothing was written");
    // No credential at all.
    let r = mg.call(Method::GET, "/admin/roles", &[], None).await;
    assert_rejected(&r, 401, "missing_credential");
}

#[tokio::test]
async fn login_attempts_name_existing_users_in_the_access_log() {
    let mg = Mg::start().await;
    let cases = [
        (ADMIN, ADMIN_PW, Some(ADMIN)),
        (ADMIN, "wrong-pw-1", Some(ADMIN)),
        ("nobody@contract.fit", "wrong-pw-2", None),
        // A password typed into the username field is never named.
        (ADMIN_PW, ADMIN_PW, None),
    ];
    for (user, pw, named) in cases {
        let r = mg.try_login(user, pw).await;
        let id = r.header("x-request-id").expect("request id").to_owned();
        let line = mg.harness.access_line(&id).await;
        assert_eq!(line["user"], json!(named), "{user}: {line}");
        assert_eq!(line["route"], "builtin:contractfit:auth");
    }
    crate::support::logs::assert_absent(ADMIN_PW, "the admin password");
}
