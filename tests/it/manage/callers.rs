//! Who may call the management APIs: the same decision as proxied traffic, on management
//! modules, whatever the API mode; HTTP Basic is read only on management endpoints.

use http::Method;
use serde_json::json;

use crate::support::client::assert_rejected;
use crate::support::manage::*;

#[tokio::test]
async fn the_api_mode_neither_opens_nor_closes_management() {
    for mode in ["full-access", "disabled"] {
        let mg = Mg::start_with(|p| p["mode"] = json!(mode)).await;
        let r = mg.call(Method::GET, "/admin/roles", &[], None).await;
        assert_rejected(&r, 401, "missing_credential");
        let r = mg
            .as_client(root(), Method::GET, "/api/rest/v1/authorisation", &[], None)
            .await;
        r.expect(200);
        let viewer = mg.login(VIEWER, VIEWER_PW).await;
        let r = mg
            .as_admin(
                &viewer,
                Method::POST,
                "/admin/roles",
                Some(&json!({ "name": "x", "permissions": [] })),
            )
            .await;
        assert_rejected(&r, 403, "permission_denied");
    }
}

#[tokio::test]
async fn clients_keys_and_users_hold_only_what_they_are_granted() {
    let mg = Mg::start().await;
    let k = mg.key_setup(None).await;
    // A management client without api_key rights, on contract.fit endpoints.
    let r = mg
        .as_client(root(), Method::GET, "/admin/auth/api-key", &[], None)
        .await;
    assert_rejected(&r, 403, "permission_denied");
    // A contract.fit key manages nothing.
    let r = mg
        .call(
            Method::GET,
            "/admin/auth/api-key",
            &[("x-api-key", &k.token)],
            None,
        )
        .await;
    assert_rejected(&r, 403, "permission_denied");
    // Trivore endpoints take management clients only.
    let r = mg
        .as_admin(&k.admin, Method::GET, "/api/rest/v1/authorisation", None)
        .await;
    r.expect(401);
    assert!(r.json()["errorMessage"].is_string(), "{}", r.text());
    // A wrong secret, an unknown client, a malformed Basic value.
    for (id, secret) in [(CLIENT, "wrong"), ("999", CLIENT_SECRET)] {
        let r = mg
            .as_client(
                (id, secret),
                Method::GET,
                "/api/rest/v1/authorisation",
                &[],
                None,
            )
            .await;
        assert_rejected(&r, 401, "invalid_credential");
    }
    let r = mg
        .call(
            Method::GET,
            "/api/rest/v1/authorisation",
            &[("authorization", "Basic %%%")],
            None,
        )
        .await;
    assert_rejected(&r, 401, "invalid_credential");
    crate::support::logs::assert_absent(CLIENT_SECRET, "a client secret");
}

#[tokio::test]
async fn basic_credentials_on_proxied_routes_are_the_applications_business() {
    let mg = Mg::start_with(|p| {
        p["routes"].as_array_mut().unwrap().push(json!({
            "id": "open", "path": "/open", "public": true, "upstream": "app"
        }));
    })
    .await;
    // Not read as a credential: the public route forwards it untouched.
    let r = mg.as_client(root(), Method::GET, "/open", &[], None).await;
    r.expect(200);
    assert!(
        mg.upstream
            .last()
            .header("authorization")
            .starts_with("Basic ")
    );
    // And it grants nothing on a protected route.
    let r = mg
        .as_client(
            root(),
            Method::GET,
            &format!("/inboxes/{INBOX}/documents"),
            &[],
            None,
        )
        .await;
    assert_rejected(&r, 401, "missing_credential");
}
