//! The minting endpoints: temporary tokens, base tokens from API tokens, temporary tokens,
//! account tokens and external links, their JSON shapes, lifetimes and SeaTable error bodies,
//! and the whole `Authorization: Bearer` flow through curl.

use http::Method;
use serde_json::{Value, json};

use crate::support::client::{self, assert_rejected};
use crate::support::seatable::keys::{self, peek};
use crate::support::seatable::*;

const THREE_DAYS: i64 = 3 * 86400;

fn invalid_token(r: &Resp) {
    r.expect(401);
    assert_eq!(r.json(), json!({ "detail": "Invalid token" }));
    assert!(r.header("www-authenticate").is_some());
}

fn access_token(body: &Value) -> String {
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

#[tokio::test]
async fn temporary_token_lives_one_hour_and_is_scoped_to_the_base() {
    let gw = Gw::start().await;
    let acct = gw.account_token(ALICE);
    let r = gw
        .get(&base_path(SALES_NAME, "temp-api-token/"), Some(&acct))
        .await;
    r.expect(200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let temp = r.json()["api_token"]
        .as_str()
        .expect("api_token")
        .to_owned();
    let (h, c) = peek(&temp);
    assert_eq!(
        (h["kid"].as_str(), c["kind"].as_str()),
        (Some("temp-1"), Some("temporary"))
    );
    assert_eq!(c["dtable_uuid"], SALES);
    assert_eq!(c["sub"], ALICE);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );

    gw.advance(3600 + 60);
    gw.app_access(&temp)
        .await
        .expect_error_msg(403, "Token expired.");
}

#[tokio::test]
async fn temporary_token_errors() {
    let gw = Gw::start().await;
    let path = base_path(SALES_NAME, "temp-api-token/");
    invalid_token(&gw.get(&path, None).await);
    invalid_token(&gw.get(&path, Some("garbage")).await);
    let temp_as_account = keys::hs256(
        Some("temp-1"),
        keys::TEMP_SECRET,
        &keys::claims("temporary", ALICE, gw.now(), 60),
    );
    invalid_token(&gw.get(&path, Some(&temp_as_account)).await);
    gw.get(
        &base_path("No Such Base", "temp-api-token/"),
        Some(&gw.account_token(ALICE)),
    )
    .await
    .expect_error_msg(404, "dtable No Such Base not found.");
    gw.get(&path, Some(&gw.account_token(MALLORY)))
        .await
        .expect_error_msg(403, "Permission denied.");
}

#[tokio::test]
async fn app_access_token_from_a_temporary_token_has_seatables_shape() {
    let gw = Gw::start().await;
    let acct = gw.account_token(BOB);
    let r = gw
        .get(&base_path(SALES_NAME, "temp-api-token/"), Some(&acct))
        .await;
    let temp = r.json()["api_token"].as_str().unwrap().to_owned();
    let r = gw.app_access(&temp).await;
    r.expect(200);
    let body = r.json();
    let token = access_token(&body);
    let mut rest = body.clone();
    rest.as_object_mut().unwrap().remove("access_token");
    assert_eq!(
        rest,
        json!({
            "dtable_uuid": SALES,
            "dtable_server": "https://cloud.example/dtable-server/",
            "dtable_socket": "https://cloud.example/",
            "dtable_db": "https://cloud.example/dtable-db/",
            "workspace_id": WS,
            "dtable_name": SALES_NAME,
        })
    );
    let (h, c) = peek(&token);
    assert_eq!(
        (h["kid"].as_str(), c["kind"].as_str()),
        (Some("base-1"), Some("base"))
    );
    assert_eq!(c["permission"], "r", "bob is a read-only member");
    assert_eq!(c["dtable_uuid"], SALES);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        THREE_DAYS
    );
    gw.rows(SALES, &token).await.expect(200);
}

#[tokio::test]
async fn app_access_token_from_an_api_token_names_the_app_and_omits_null_db() {
    let gw = Gw::start().await;
    let api = gw.api_token(OTHER_NAME, "reporter", "rw").await;
    let r = gw.app_access(&api).await;
    r.expect(200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert_eq!(body["app_name"], "reporter");
    assert_eq!(body["dtable_uuid"], OTHER);
    assert_eq!(body["dtable_name"], OTHER_NAME);
    assert_eq!(body["use_api_gateway"], true);
    assert!(
        body.get("dtable_db").is_none(),
        "dtable_db is absent, never null: {body}"
    );
    let (_, c) = peek(&access_token(&body));
    assert_eq!(c["permission"], "rw");
    assert_eq!(c["sub"], "app:reporter");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        THREE_DAYS
    );

    let sales = gw.api_token(SALES_NAME, "reporter", "r").await;
    let body = gw.app_access(&sales).await.json();
    assert!(body.get("use_api_gateway").is_none(), "{body}");
    assert_eq!(body["dtable_db"], "https://cloud.example/dtable-db/");
}

#[tokio::test]
async fn app_access_token_refusals() {
    let gw = Gw::start().await;
    let denied = |r: Resp| r.expect_error_msg(403, "Permission denied.");
    denied(
        gw.app_access("0123456789abcdef0123456789abcdef01234567")
            .await,
    );
    denied(gw.get("/api/v2.1/dtable/app-access-token/", None).await);
    denied(gw.app_access(&gw.account_token(ALICE)).await);
    let forged = keys::hs256(Some("temp-1"), "x".repeat(40).as_str(), &{
        let mut c = keys::claims("temporary", ALICE, gw.now(), 60);
        c["dtable_uuid"] = json!(SALES);
        c
    });
    denied(gw.app_access(&forged).await);
    // A real temporary token for a base the user has since lost access to.
    let temp = keys::hs256(Some("temp-1"), keys::TEMP_SECRET, &{
        let mut c = keys::claims("temporary", MALLORY, gw.now(), 60);
        c["dtable_uuid"] = json!(SALES);
        c
    });
    denied(gw.app_access(&temp).await);
}

#[tokio::test]
async fn access_token_carries_the_users_permission() {
    let gw = Gw::start().await;
    let path = base_path(SALES_NAME, "access-token/");
    for (user, perm) in [(ALICE, "rw"), (BOB, "r"), (CAROL, "rw")] {
        let r = gw.get(&path, Some(&gw.account_token(user))).await;
        r.expect(200);
        let body = r.json();
        assert_eq!(body["dtable_uuid"], SALES);
        assert_eq!(body["workspace_id"], WS);
        let (_, c) = peek(&access_token(&body));
        assert_eq!(
            (c["sub"].as_str(), c["permission"].as_str()),
            (Some(user), Some(perm))
        );
    }
    gw.get(&path, Some(&gw.account_token(MALLORY)))
        .await
        .expect_error_msg(403, "Permission denied.");
    gw.get(
        &base_path("Missing", "access-token/"),
        Some(&gw.account_token(ALICE)),
    )
    .await
    .expect_error_msg(404, "dtable Missing not found.");
    invalid_token(&gw.get(&path, None).await);
}

#[tokio::test]
async fn external_link_gives_a_read_only_base_token() {
    let gw = Gw::start().await;
    let r = gw
        .get(
            &format!("/api/v2.1/external-link-tokens/{LINK_TOKEN}/access-token/"),
            None,
        )
        .await;
    r.expect(200);
    let token = access_token(&r.json());
    let (_, c) = peek(&token);
    assert_eq!(c["permission"], "r");
    assert_eq!(c["sub"], "link:link-sales");
    gw.rows(SALES, &token).await.expect(200);
    let before = gw.upstream.count();
    gw.post_json(&rows_path(SALES), &token, &json!({"row": {}}))
        .await
        .expect_error_msg(403, "Permission denied.");
    assert_eq!(
        gw.upstream.count(),
        before,
        "a refused write reached the upstream"
    );

    gw.get(
        "/api/v2.1/external-link-tokens/not-a-link/access-token/",
        None,
    )
    .await
    .expect_error_msg(404, "Link not found.");
}

#[tokio::test]
async fn wrong_methods_get_405() {
    let gw = Gw::start().await;
    let acct = gw.account_token(ALICE);
    let auth = format!("Token {acct}");
    let h = [("authorization", auth.as_str())];
    for (m, p) in [
        (Method::POST, base_path(SALES_NAME, "temp-api-token/")),
        (
            Method::DELETE,
            "/api/v2.1/dtable/app-access-token/".to_owned(),
        ),
        (Method::PUT, base_path(SALES_NAME, "api-tokens/")),
        (Method::GET, base_path(SALES_NAME, "api-tokens/app/")),
    ] {
        let r = gw.send(m.clone(), &p, &h, b"").await;
        assert_eq!(r.status, 405, "{m} {p}: {}", r.text());
    }
}

/// The SeaTable flow with `Authorization: Bearer` through curl: login, temporary token, base
/// token, rows.
#[tokio::test]
async fn bearer_flow_with_curl() {
    let gw = Gw::start().await;
    let r = client::curl(&[
        "--data-urlencode",
        &format!("username={ALICE}"),
        "--data-urlencode",
        &format!("password={ALICE_PW}"),
        &gw.url("/api2/auth-token/"),
    ])
    .await;
    r.expect(200);
    let acct = r.json()["token"].as_str().unwrap().to_owned();
    let bearer = |t: &str| format!("Authorization: Bearer {t}");

    let r = client::curl(&[
        "-H",
        &bearer(&acct),
        &gw.url(&base_path(SALES_NAME, "temp-api-token/")),
    ])
    .await;
    r.expect(200);
    let temp = r.json()["api_token"].as_str().unwrap().to_owned();

    let r = client::curl(&[
        "-H",
        &bearer(&temp),
        &gw.url("/api/v2.1/dtable/app-access-token/"),
    ])
    .await;
    r.expect(200);
    let base = access_token(&r.json());

    let r = client::curl(&["-H", &bearer(&base), &gw.url(&rows_path(SALES))]).await;
    r.expect(200);
    assert_eq!(r.json()["rows"][0]["_id"], "r1");
    let seen = gw.upstream.last();
    assert_eq!(seen.header("x-portcullis-credential"), "base");
    assert!(
        !seen.headers.contains_key("authorization"),
        "the token was forwarded"
    );

    let r = client::curl(&[
        "-H",
        &bearer(&base),
        "-X",
        "DELETE",
        &gw.url(&rows_path(OTHER)),
    ])
    .await;
    r.expect_error_msg(403, "Permission denied.");

    let r = client::curl(&[
        "-H",
        &bearer(&acct),
        &gw.url(&base_path(SALES_NAME, "api-tokens/")),
    ])
    .await;
    r.expect(200);
    assert_eq!(r.json(), json!({ "api_tokens": [] }));
}

#[tokio::test]
async fn prefix_lifetimes_and_disabling_are_settings() {
    let gw = Gw::start_with(|p| {
        p["seatable"] = json!({
            "prefix": "/seatable/",
            "base_token_ttl_s": 120,
            "temporary_token_ttl_s": 60,
            "account_token_ttl_s": 600
        });
    })
    .await;
    let r = gw
        .send(
            Method::POST,
            "/seatable/api2/auth-token/",
            &[("content-type", "application/x-www-form-urlencoded")],
            form(&[("username", BOB), ("password", BOB_PW)]).as_bytes(),
        )
        .await;
    r.expect(200);
    let acct = r.json()["token"].as_str().unwrap().to_owned();
    let (_, c) = peek(&acct);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    let r = gw
        .get(
            &format!("/seatable{}", base_path(SALES_NAME, "temp-api-token/")),
            Some(&acct),
        )
        .await;
    let temp = r.json()["api_token"].as_str().unwrap().to_owned();
    let (_, c) = peek(&temp);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
    let r = gw
        .get("/seatable/api/v2.1/dtable/app-access-token/", Some(&temp))
        .await;
    let (_, c) = peek(&access_token(&r.json()));
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 120);
    // Without the prefix the path is not an endpoint: no route, so denied.
    assert_rejected(&gw.login(BOB, BOB_PW, None).await, 404, "no_route");

    gw.edit(|p| p["seatable"] = json!({ "enabled": false }))
        .await;
    assert_rejected(&gw.login(BOB, BOB_PW, None).await, 404, "no_route");
    assert_rejected(&gw.app_access(&temp).await, 404, "no_route");
}

#[tokio::test]
async fn base_names_are_matched_after_percent_decoding() {
    let name = "Ventes été & co";
    let gw = Gw::start_with(|p| {
        let mut b = p["bases"][OTHER].clone();
        b["name"] = json!(name);
        p["bases"]["0e7e0000-0000-4000-8000-000000000003"] = b;
    })
    .await;
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    let path = format!("/api/v2.1/workspace/{WS}/dtable/{encoded}/access-token/");
    let r = gw.get(&path, Some(&gw.account_token(ALICE))).await;
    r.expect(200);
    assert_eq!(r.json()["dtable_name"], name);
    assert_eq!(
        r.json()["dtable_uuid"],
        "0e7e0000-0000-4000-8000-000000000003"
    );
}

/// The token endpoints extract credentials like every route: two `Authorization` headers (or a
/// bearer and an `X-API-Key`) are refused, never resolved by taking the first; an account token
/// where an API token is expected is the wrong kind, and the access log names the route.
#[tokio::test]
async fn token_endpoints_extract_credentials_like_every_route() {
    let gw = Gw::start().await;
    let acct = client::token(&gw.account_token(ALICE));
    let target = base_path(SALES_NAME, "access-token/");
    let two = [
        ("authorization", acct.as_str()),
        ("authorization", acct.as_str()),
    ];
    let r = gw.send(Method::GET, &target, &two, b"").await;
    assert_rejected(&r, 400, "multiple_credentials");
    let mixed = [("authorization", acct.as_str()), ("x-api-key", "whatever")];
    let r = gw.send(Method::GET, &target, &mixed, b"").await;
    assert_rejected(&r, 400, "multiple_credentials");
    // The same account token alone passes.
    gw.send(Method::GET, &target, &two[..1], b"")
        .await
        .expect(200);
    // An account token at the API-token exchange: a valid credential of the wrong kind, in
    // SeaTable's error style there.
    let r = gw.app_access(&gw.account_token(ALICE)).await;
    r.expect_error_msg(403, "Permission denied.");
}
