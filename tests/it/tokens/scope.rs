//! What a valid token may do on proxied routes: a base token only on its own base, a read-only
//! one only GET/HEAD, an account token only where the route accepts accounts and the user holds
//! the permission; what the upstream then sees; and the same refusals in both error styles.

use http::Method;
use serde_json::json;

use crate::support::client::assert_rejected;
use crate::support::seatable::keys::{self, BASE_SECRET};
use crate::support::seatable::*;

const DENIED: &str = "Permission denied.";

fn token(gw: &Gw, sub: &str, base: &str, perm: &str) -> String {
    keys::hs256(
        Some("base-1"),
        BASE_SECRET,
        &keys::base_claims(sub, base, perm, gw.now(), 600),
    )
}

#[tokio::test]
async fn base_token_reaches_only_its_own_base() {
    let gw = Gw::start().await;
    let t = token(&gw, ALICE, SALES, "rw");
    gw.get(&format!("/std/dtables/{SALES}/rows/"), Some(&t))
        .await
        .expect(200);
    let before = gw.upstream.count();
    assert_rejected(
        &gw.get(&format!("/std/dtables/{OTHER}/rows/"), Some(&t))
            .await,
        403,
        "out_of_scope",
    );
    gw.rows(OTHER, &t)
        .await
        .expect_error_msg(403, "Permission denied.");
    gw.get(
        &format!("/api-gateway/api/v2/dtables/{OTHER}/rows/"),
        Some(&t),
    )
    .await
    .expect_error_msg(403, "Permission denied.");
    assert_eq!(gw.upstream.count(), before);
}

#[tokio::test]
async fn read_only_token_passes_only_get_and_head() {
    let gw = Gw::start().await;
    let t = token(&gw, BOB, SALES, "r");
    let auth = format!("Token {t}");
    let path = format!("/std/dtables/{SALES}/rows/");
    for m in [Method::GET, Method::HEAD] {
        let r = gw
            .send(m.clone(), &path, &[("authorization", &auth)], b"")
            .await;
        assert_eq!(r.status, 200, "{m}: {}", r.text());
    }
    let before = gw.upstream.count();
    for m in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let r = gw
            .send(m.clone(), &path, &[("authorization", &auth)], b"{}")
            .await;
        assert_rejected(&r, 403, "read_only");
    }
    gw.post_json(&rows_path(SALES), &t, &json!({"row": {}}))
        .await
        .expect_error_msg(403, "Permission denied.");
    assert_eq!(gw.upstream.count(), before, "a write reached the upstream");
}

#[tokio::test]
async fn upstream_sees_the_principal_and_never_the_token() {
    let gw = Gw::start().await;
    let t = token(&gw, CAROL, SALES, "rw");
    let row = json!({"table_name": "Table1", "row": {"Name": "x"}});
    let r = gw.post_json(&rows_path(SALES), &t, &row).await;
    r.expect(200);
    let seen = gw.upstream.last();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(
        seen.target,
        format!("/dtable-server/api/v1/dtables/{SALES}/rows/?table_name=Table1")
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&seen.body).unwrap(),
        row
    );
    assert_eq!(seen.header("x-portcullis-credential"), "base");
    let key_id = format!("base:{CAROL}");
    assert_eq!(seen.header("x-portcullis-key-id"), key_id.as_str());
    assert_eq!(seen.header("x-portcullis-user"), CAROL);
    assert_eq!(seen.header("x-portcullis-resource-base"), SALES);
    assert!(
        !seen.headers.contains_key("authorization"),
        "token forwarded"
    );
}

#[tokio::test]
async fn account_token_needs_the_users_permission() {
    let gw = Gw::start().await;
    gw.get("/account/me", Some(&gw.account_token(ALICE)))
        .await
        .expect(200);
    assert_rejected(
        &gw.get("/account/me", Some(&gw.account_token(BOB))).await,
        403,
        "permission_denied",
    );
}

/// The same refusals on a route with `error_style: "seatable"` and on one with the standard
/// style.
#[tokio::test]
async fn seatable_style_and_standard_style() {
    let gw = Gw::start().await;
    let now = gw.now();
    let expired = keys::hs256(
        Some("base-1"),
        BASE_SECRET,
        &keys::base_claims(ALICE, SALES, "rw", now - 1000, 600),
    );
    let forged = keys::hs256(
        Some("base-1"),
        &"z".repeat(40),
        &keys::base_claims(ALICE, SALES, "rw", now, 600),
    );
    let other_base = token(&gw, ALICE, OTHER, "rw");
    let reader = token(&gw, BOB, SALES, "r");
    let account = gw.account_token(ALICE);
    let get = Method::GET;
    // (label, token, method, standard status, standard code, SeaTable error_msg)
    let cases = [
        (
            "expired",
            Some(&expired),
            &get,
            401,
            "credential_expired",
            "Token expired.",
        ),
        (
            "badly signed",
            Some(&forged),
            &get,
            401,
            "invalid_credential",
            DENIED,
        ),
        ("missing", None, &get, 401, "missing_credential", DENIED),
        (
            "other base",
            Some(&other_base),
            &get,
            403,
            "out_of_scope",
            DENIED,
        ),
        (
            "read-only",
            Some(&reader),
            &Method::POST,
            403,
            "read_only",
            DENIED,
        ),
        (
            "wrong kind",
            Some(&account),
            &get,
            401,
            "wrong_credential_kind",
            DENIED,
        ),
    ];
    for (label, tok, method, status, code, msg) in cases {
        let auth = tok.map(|t| format!("Token {t}"));
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let r = gw
            .send(
                (*method).clone(),
                &format!("/std/dtables/{SALES}/rows/"),
                &h,
                b"",
            )
            .await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (status, Some(code)),
            "standard {label}"
        );
        let r = gw
            .send(
                method.clone(),
                &format!("/dtable-server/api/v1/dtables/{SALES}/rows/"),
                &h,
                b"",
            )
            .await;
        assert_eq!(r.status, 403, "seatable {label}: {}", r.text());
        assert_eq!(r.json(), json!({ "error_msg": msg }), "seatable {label}");
    }
}

#[tokio::test]
async fn api_gateway_route_serves_a_gateway_base() {
    let gw = Gw::start().await;
    let api = gw.api_token(OTHER_NAME, "gw-app", "r").await;
    let base = gw.base_token_from(&api).await;
    let r = gw
        .get(
            &format!("/api-gateway/api/v2/dtables/{OTHER}/rows/"),
            Some(&base),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["rows"][1]["_id"], "r2");
    let seen = gw.upstream.last();
    assert_eq!(seen.header("x-portcullis-key-id"), "base:app:gw-app");
    assert!(!seen.headers.contains_key("x-portcullis-user"));
}
