//! Tokens forged by the tests against a base route with standard errors: only a token signed
//! with the right kind's key, with that key's algorithm, inside its validity window, passes.
//! Wrong key, other kind's key, `alg: none`, HS256/EdDSA confusion, expiry, `nbf`, future `iat`
//! and a missing or unknown `kid` are refused (401) and never reach the upstream.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::support::client::assert_rejected;
use crate::support::seatable::keys::{
    self, ACCT_SECRET, BASE_SECRET, ED_OTHER_PRIVATE, ED_PRIVATE, ED_PUBLIC, TEMP_SECRET,
};
use crate::support::seatable::*;

fn base(now: i64, ttl: i64) -> Value {
    keys::base_claims(ALICE, SALES, "rw", now, ttl)
}

/// Expect `token` on the standard base route to get `status` with reason `code` (or 200), and a
/// refusal never to reach the upstream.
async fn check(gw: &Gw, label: &str, token: &str, want: Result<(), &str>) {
    let before = gw.upstream.count();
    let r = gw.get(&std_rows_path(SALES), Some(token)).await;
    match want {
        Ok(()) => {
            assert_eq!(r.status, 200, "{label}: {}", r.text());
            assert_eq!(gw.upstream.count(), before + 1, "{label}");
        }
        Err(code) => {
            assert_eq!(r.status, 401, "{label}: {}", r.text());
            assert_eq!(r.json()["error"], code, "{label}");
            assert_eq!(
                r.header("www-authenticate"),
                Some("Bearer realm=\"portcullis\", error=\"invalid_token\""),
                "{label}"
            );
            assert_eq!(gw.upstream.count(), before, "{label} reached the upstream");
        }
    }
}

#[tokio::test]
async fn only_the_right_key_and_algorithm_verify() {
    let gw = Gw::start().await;
    let now = gw.now();
    let c = base(now, 600);
    let invalid = Err("invalid_credential");
    let cases: Vec<(&str, String, Result<(), &str>)> = vec![
        (
            "HS256 with the base key",
            keys::hs256(Some("base-1"), BASE_SECRET, &c),
            Ok(()),
        ),
        (
            "EdDSA with the base Ed25519 key",
            keys::eddsa("base-ed", ED_PRIVATE, &c),
            Ok(()),
        ),
        (
            "HS256 with an unknown secret",
            keys::hs256(Some("base-1"), &"k".repeat(40), &c),
            invalid,
        ),
        (
            "base claims, account key and kid",
            keys::hs256(Some("acct-1"), ACCT_SECRET, &c),
            invalid,
        ),
        (
            "base claims, account key, base kid",
            keys::hs256(Some("base-1"), ACCT_SECRET, &c),
            invalid,
        ),
        (
            "base claims, temporary key and kid",
            keys::hs256(Some("temp-1"), TEMP_SECRET, &c),
            invalid,
        ),
        ("alg none", keys::unsigned("base-1", &c), invalid),
        (
            "HS256 keyed with the Ed25519 public key",
            keys::hs256(Some("base-ed"), ED_PUBLIC, &c),
            invalid,
        ),
        (
            "EdDSA under the HS256 kid",
            keys::eddsa("base-1", ED_PRIVATE, &c),
            invalid,
        ),
        (
            "EdDSA with an unknown Ed25519 key",
            keys::eddsa("base-ed", ED_OTHER_PRIVATE, &c),
            invalid,
        ),
        ("no kid", keys::hs256(None, BASE_SECRET, &c), invalid),
        (
            "unknown kid",
            keys::hs256(Some("base-9"), BASE_SECRET, &c),
            invalid,
        ),
    ];
    for (label, token, want) in &cases {
        check(&gw, label, token, *want).await;
    }
}

#[tokio::test]
async fn tampered_and_malformed_tokens_are_invalid() {
    let gw = Gw::start().await;
    let good = keys::hs256(Some("base-1"), BASE_SECRET, &base(gw.now(), 600));
    let parts: Vec<&str> = good.split('.').collect();
    let mut c = base(gw.now(), 600);
    c["dtable_uuid"] = json!(OTHER);
    c["permission"] = json!("rw");
    let body = URL_SAFE_NO_PAD.encode(c.to_string());
    let swapped = format!("{}.{body}.{}", parts[0], parts[2]);
    check(&gw, "payload swapped", &swapped, Err("invalid_credential")).await;
    let no_sig = format!("{}.{}.", parts[0], parts[1]);
    check(
        &gw,
        "signature stripped",
        &no_sig,
        Err("invalid_credential"),
    )
    .await;
    let mut no_kind = base(gw.now(), 600);
    no_kind.as_object_mut().unwrap().remove("kind");
    let t = keys::hs256(Some("base-1"), BASE_SECRET, &no_kind);
    check(&gw, "no kind claim", &t, Err("invalid_credential")).await;
    let mut string_exp = base(gw.now(), 600);
    string_exp["exp"] = json!((gw.now() + 600).to_string());
    let t = keys::hs256(Some("base-1"), BASE_SECRET, &string_exp);
    check(&gw, "exp as a string", &t, Err("invalid_credential")).await;
    check(&gw, "valid control", &good, Ok(())).await;
}

#[tokio::test]
async fn validity_window() {
    let gw = Gw::start().await;
    let now = gw.now();
    let sign = |c: &Value| keys::hs256(Some("base-1"), BASE_SECRET, c);
    let mut c = base(now - 700, 600);
    check(
        &gw,
        "expired 100 s ago",
        &sign(&c),
        Err("credential_expired"),
    )
    .await;
    c["exp"] = json!(now - 3);
    check(
        &gw,
        "expired 3 s ago, inside the 5 s leeway",
        &sign(&c),
        Ok(()),
    )
    .await;
    c["exp"] = json!(now as f64 + 100.25);
    check(&gw, "decimal exp in the future", &sign(&c), Ok(())).await;
    c["exp"] = json!(now as f64 - 10.5);
    check(
        &gw,
        "decimal exp in the past",
        &sign(&c),
        Err("credential_expired"),
    )
    .await;

    let mut c = base(now, 600);
    c["nbf"] = json!(now + 60);
    check(
        &gw,
        "nbf in a minute",
        &sign(&c),
        Err("credential_not_yet_valid"),
    )
    .await;
    c["nbf"] = json!(now - 60);
    check(&gw, "nbf a minute ago", &sign(&c), Ok(())).await;
    let c = base(now + 60, 600);
    check(
        &gw,
        "issued in a minute",
        &sign(&c),
        Err("credential_not_yet_valid"),
    )
    .await;

    // The same token, as the clock moves past its expiry.
    let t = sign(&base(now, 60));
    check(&gw, "fresh", &t, Ok(())).await;
    gw.advance(120);
    check(&gw, "after expiry", &t, Err("credential_expired")).await;
}

#[tokio::test]
async fn tokens_of_another_kind_are_refused() {
    let gw = Gw::start().await;
    let now = gw.now();
    let account = gw.account_token(ALICE);
    check(
        &gw,
        "account token on a base route",
        &account,
        Err("wrong_credential_kind"),
    )
    .await;
    let mut t = keys::claims("temporary", ALICE, now, 600);
    t["dtable_uuid"] = json!(SALES);
    let temp = keys::hs256(Some("temp-1"), TEMP_SECRET, &t);
    check(
        &gw,
        "temporary token on a base route",
        &temp,
        Err("wrong_credential_kind"),
    )
    .await;

    let base_token = keys::hs256(Some("base-1"), BASE_SECRET, &base(now, 600));
    let r = gw.get("/account/profile", Some(&base_token)).await;
    assert_rejected(&r, 401, "wrong_credential_kind");
    let r = gw.get("/account/profile", None).await;
    assert_rejected(&r, 401, "missing_credential");
}
