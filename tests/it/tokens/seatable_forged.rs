//! Tokens in SeaTable's own shape, made exactly as dtable-web makes them (no `kid`, signed with
//! `DTABLE_PRIVATE_KEY`), on a base route with standard errors: base tokens pass with their
//! permission, temporary tokens are exchanged for base tokens, and every forgery is refused and
//! never reaches the upstream.

use http::Method;
use serde_json::{Value, json};

use crate::support::client::assert_rejected;
use crate::support::seatable::keys::{self, BASE_SECRET, DTABLE_SECRET};
use crate::support::seatable::*;

async fn interop() -> Gw {
    Gw::start_with(|p| seatable_interop(p, "portcullis")).await
}

/// POST a row on the standard route with `token`.
async fn write(gw: &Gw, token: &str) -> Resp {
    gw.post_json(&std_rows_path(SALES), token, &json!({"row": {"a": 1}}))
        .await
}

#[tokio::test]
async fn dtable_web_base_tokens_pass_with_their_permission() {
    let gw = interop().await;
    let exp = gw.now() + 3 * 86400;
    let rw = keys::hs256(
        None,
        DTABLE_SECRET,
        &keys::dtable_web_base("u1@auth.local", None, SALES, "rw", exp),
    );
    let before = gw.upstream.count();
    gw.get(&std_rows_path(SALES), Some(&rw)).await.expect(200);
    write(&gw, &rw).await.expect(200);
    assert_eq!(gw.upstream.count(), before + 2);
    let seen = gw.upstream.last();
    assert_eq!(seen.header("x-portcullis-credential"), "base");
    assert_eq!(seen.header("x-portcullis-key-id"), "base:u1@auth.local");

    // An API token's base token (empty username, app_name) with `r`: reads only.
    let r = keys::hs256(
        None,
        DTABLE_SECRET,
        &keys::dtable_web_base("", Some("postman"), SALES, "r", exp),
    );
    gw.get(&std_rows_path(SALES), Some(&r)).await.expect(200);
    let head = gw
        .send(
            Method::HEAD,
            &std_rows_path(SALES),
            &[("authorization", &format!("Token {r}"))],
            b"",
        )
        .await;
    assert_eq!(head.status, 200);
    let before = gw.upstream.count();
    assert_rejected(&write(&gw, &r).await, 403, "read_only");
    assert_eq!(
        gw.upstream.count(),
        before,
        "a read-only write reached the upstream"
    );

    // Without dashes, as `uuid.hex` writes it: the same base.
    let hex = keys::hs256(
        None,
        DTABLE_SECRET,
        &keys::dtable_web_base("u1@auth.local", None, &SALES.replace('-', ""), "rw", exp),
    );
    gw.get(&std_rows_path(SALES), Some(&hex)).await.expect(200);
}

#[tokio::test]
async fn dtable_web_temporary_tokens_are_exchanged() {
    let gw = interop().await;
    let exp = gw.now() as f64 + 3_599.786_901_7;
    let temp = keys::hs256(
        None,
        DTABLE_SECRET,
        &keys::dtable_web_temp(CAROL, SALES, exp),
    );
    let base = gw.base_token_from(&temp).await;
    gw.get(&std_rows_path(SALES), Some(&base)).await.expect(200);
    write(&gw, &base).await.expect(200);
    // Bob is a read-only member: his temporary token yields a read-only base token.
    let temp = keys::hs256(None, DTABLE_SECRET, &keys::dtable_web_temp(BOB, SALES, exp));
    let base = gw.base_token_from(&temp).await;
    assert_rejected(&write(&gw, &base).await, 403, "read_only");
    // A temporary token is not a base token.
    let temp = keys::hs256(
        None,
        DTABLE_SECRET,
        &keys::dtable_web_temp(CAROL, SALES, exp),
    );
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&temp)).await,
        401,
        "wrong_credential_kind",
    );
}

#[tokio::test]
async fn forgeries_are_refused() {
    let gw = interop().await;
    let now = gw.now();
    let good = keys::dtable_web_base("u1@auth.local", None, SALES, "rw", now + 600);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut no_uuid = good.clone();
    no_uuid.as_object_mut().unwrap().remove("dtable_uuid");
    let unsigned = {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            e.encode(br#"{"alg":"none","typ":"JWT"}"#),
            e.encode(good.to_string())
        )
    };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("alg none", unsigned, 401, "invalid_credential"),
        (
            "another secret",
            keys::hs256(None, &"s".repeat(40), &good),
            401,
            "invalid_credential",
        ),
        (
            "a Portcullis base key without kid",
            keys::hs256(None, BASE_SECRET, &good),
            401,
            "invalid_credential",
        ),
        (
            "the SeaTable secret under a Portcullis kid",
            keys::hs256(Some("base-1"), DTABLE_SECRET, &good),
            401,
            "invalid_credential",
        ),
        (
            "expired beyond the leeway",
            keys::hs256(None, DTABLE_SECRET, &with("exp", json!(now - 6))),
            401,
            "credential_expired",
        ),
        (
            "decimal exp on a base token",
            keys::hs256(None, DTABLE_SECRET, &with("exp", json!(now as f64 + 600.5))),
            401,
            "invalid_credential",
        ),
        (
            "no exp",
            keys::hs256(None, DTABLE_SECRET, &no_exp),
            401,
            "invalid_credential",
        ),
        (
            "no dtable_uuid",
            keys::hs256(None, DTABLE_SECRET, &no_uuid),
            401,
            "invalid_credential",
        ),
        (
            "unknown permission",
            keys::hs256(None, DTABLE_SECRET, &with("permission", json!("admin"))),
            401,
            "invalid_credential",
        ),
        (
            "another base",
            keys::hs256(None, DTABLE_SECRET, &with("dtable_uuid", json!(OTHER))),
            403,
            "out_of_scope",
        ),
        (
            "a temporary token without exp",
            keys::hs256(
                None,
                DTABLE_SECRET,
                &json!({"username": CAROL, "dtable_uuid": SALES}),
            ),
            401,
            "invalid_credential",
        ),
    ];
    for (label, token, status, code) in cases {
        let before = gw.upstream.count();
        let r = gw.get(&std_rows_path(SALES), Some(&token)).await;
        assert_eq!(r.status, status, "{label}: {}", r.text());
        assert_rejected(&r, status, code);
        assert_eq!(gw.upstream.count(), before, "{label} reached the upstream");
    }
    // Within the 5 s leeway the same token still passes: the refusal above was the expiry.
    let late = keys::hs256(None, DTABLE_SECRET, &with("exp", json!(now - 4)));
    gw.get(&std_rows_path(SALES), Some(&late)).await.expect(200);
    // Temporary tokens: an expired one and one for a base the user has no part in.
    let expired = keys::dtable_web_temp(CAROL, SALES, now as f64 - 6.5);
    let r = gw
        .app_access(&keys::hs256(None, DTABLE_SECRET, &expired))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let foreign = keys::dtable_web_temp(MALLORY, SALES, now as f64 + 600.0);
    let r = gw
        .app_access(&keys::hs256(None, DTABLE_SECRET, &foreign))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
}

#[tokio::test]
async fn without_a_seatable_key_such_tokens_are_refused() {
    let gw = Gw::start().await;
    let c = keys::dtable_web_base("u1@auth.local", None, SALES, "rw", gw.now() + 600);
    let r = gw
        .get(
            &std_rows_path(SALES),
            Some(&keys::hs256(None, DTABLE_SECRET, &c)),
        )
        .await;
    assert_rejected(&r, 401, "invalid_credential");
}

#[tokio::test]
async fn a_revoked_user_loses_dtable_web_tokens_too() {
    let gw = interop().await;
    let c = keys::dtable_web_base(CAROL, None, SALES, "rw", gw.now() + 600);
    let t = keys::hs256(None, DTABLE_SECRET, &c);
    gw.get(&std_rows_path(SALES), Some(&t)).await.expect(200);
    gw.edit(|p| p["users"][CAROL]["disabled"] = json!(true))
        .await;
    assert_rejected(
        &gw.get(&std_rows_path(SALES), Some(&t)).await,
        401,
        "credential_revoked",
    );
}
