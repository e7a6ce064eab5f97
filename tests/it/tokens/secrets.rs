//! No secret in logs, bodies or headers: passwords, TOTP secrets, account, temporary, base, API
//! and link tokens and signing keys never reach a log line (captured at TRACE), a refusal never
//! echoes the credential, and the upstream never receives the token.

use http::Method;
use serde_json::json;

use portcullis::reload::Outcome;

use crate::support::seatable::keys::{self, ACCT_SECRET, BASE_SECRET, BASE_SECRET_2, TEMP_SECRET};
use crate::support::seatable::*;
use crate::support::{client, logs};

/// The middle line of a PEM: the key material itself.
fn pem_body(pem: &str) -> &str {
    pem.lines().nth(1).expect("pem body")
}

#[tokio::test]
async fn token_flows_leave_no_secret_in_logs_or_bodies() {
    let gw = Gw::start().await;
    let mut secrets: Vec<(String, &str)> = vec![
        (ALICE_PW.into(), "alice's password"),
        (CAROL_PW.into(), "carol's password"),
        (CAROL_TOTP.into(), "carol's TOTP secret"),
        (ACCT_SECRET.into(), "account signing secret"),
        (TEMP_SECRET.into(), "temporary signing secret"),
        (BASE_SECRET.into(), "base signing secret"),
        (BASE_SECRET_2.into(), "second base signing secret"),
        (pem_body(keys::ED_PRIVATE).into(), "Ed25519 private key"),
    ];
    let mut bodies = Vec::new();

    let r = gw.login(ALICE, "alice-typo-password-8c1d", None).await;
    secrets.push(("alice-typo-password-8c1d".into(), "a mistyped password"));
    bodies.push(r);
    let r = gw.login(CAROL, CAROL_PW, Some("000001")).await;
    bodies.push(r);
    let r = gw.login(ALICE, ALICE_PW, None).await;
    let acct = r.json()["token"].as_str().unwrap().to_owned();
    secrets.push((acct.clone(), "account token"));

    let r = gw
        .get(&base_path(SALES_NAME, "temp-api-token/"), Some(&acct))
        .await;
    let temp = r.json()["api_token"].as_str().unwrap().to_owned();
    secrets.push((temp.clone(), "temporary token"));
    let r = gw.create_api_token(&acct, SALES_NAME, "leaky", "r").await;
    let api = r.json()["api_token"].as_str().unwrap().to_owned();
    secrets.push((api.clone(), "API token"));
    let base = gw.base_token_from(&api).await;
    secrets.push((base.clone(), "base token"));
    let from_temp = gw.app_access(&temp).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push((from_temp, "base token from a temporary token"));

    // Uses and refusals of each.
    gw.rows(SALES, &base).await.expect(200);
    let seen = gw.upstream.last();
    assert!(
        !seen.headers.contains_key("authorization"),
        "base token forwarded"
    );
    for (label, r) in [
        (
            "write with read-only token",
            gw.post_json(&rows_path(SALES), &base, &json!({})).await,
        ),
        ("other base", gw.rows(OTHER, &base).await),
        (
            "account token on base route",
            gw.get(&format!("/std/dtables/{SALES}/rows/"), Some(&acct))
                .await,
        ),
        (
            "api token on base route",
            gw.get(&format!("/std/dtables/{SALES}/rows/"), Some(&api))
                .await,
        ),
        (
            "temp token as account",
            gw.get(&base_path(SALES_NAME, "access-token/"), Some(&temp))
                .await,
        ),
    ] {
        assert!(r.status >= 400, "{label}: {}", r.text());
        bodies.push(r);
    }
    let forged = keys::hs256(
        Some("base-1"),
        &"f".repeat(40),
        &keys::base_claims(ALICE, SALES, "rw", gw.now(), 60),
    );
    secrets.push((forged.clone(), "forged token"));
    bodies.push(
        gw.get(&format!("/std/dtables/{SALES}/rows/"), Some(&forged))
            .await,
    );
    let auth = format!("Token {acct}");
    let r = gw
        .send(
            Method::DELETE,
            &base_path(SALES_NAME, "api-tokens/leaky/"),
            &[("authorization", &auth)],
            b"",
        )
        .await;
    r.expect(200);
    bodies.push(gw.app_access(&api).await);

    for (secret, what) in &secrets {
        logs::assert_absent(secret, what);
        for r in &bodies {
            assert!(
                !r.text().contains(secret.as_str()),
                "{what} in a body: {}",
                r.text()
            );
            for (name, v) in &r.headers {
                let v = String::from_utf8_lossy(v.as_bytes());
                assert!(!v.contains(secret.as_str()), "{what} in header {name}");
            }
        }
    }
}

#[tokio::test]
async fn link_token_stays_out_of_the_access_log() {
    let gw = Gw::start().await;
    let link = "linktok-only-for-the-log-test-0f1e2d3c4b5a69788796";
    gw.edit(|p| {
        p["links"]["log-link"] = json!({ "sha256": sha256_hex(link), "base": SALES });
    })
    .await;
    let path = format!("/api/v2.1/external-link-tokens/{link}/access-token/");
    gw.get(&path, None).await.expect(200);
    gw.get(
        "/api/v2.1/external-link-tokens/wrong-link-7a7a7a7a7a/access-token/",
        None,
    )
    .await
    .expect(404);
    logs::assert_absent(link, "link token");
    logs::assert_absent("wrong-link-7a7a7a7a7a", "a mistyped link token");
}

/// The admin `/status` answer, as text.
async fn status(gw: &Gw) -> String {
    let r = client::get(&gw.harness.admin_url("/status"), &[]).await;
    r.expect(200);
    r.text()
}

#[tokio::test]
async fn a_plaintext_password_in_the_policy_is_not_echoed() {
    let gw = Gw::start().await;
    let pasted = "pasted-plaintext-password-2b9d41";
    let outcome = gw
        .try_edit(|p| p["users"][BOB]["password"] = json!(pasted))
        .await;
    assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    let s = status(&gw).await;
    assert!(s.contains("argon2id"), "the error is not in /status: {s}");
    assert!(!s.contains(pasted), "password in /status: {s}");
    logs::assert_absent(pasted, "a plaintext password pasted into the policy");
    gw.login(BOB, BOB_PW, None).await.expect(200);
}

#[tokio::test]
async fn a_secret_written_as_a_bare_string_is_not_echoed() {
    let gw = Gw::start().await;
    let signing = "bare-string-signing-secret-9f8e7d6c5b4a39281706";
    let totp = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let outcome = gw
        .try_edit(|p| {
            p["signing_keys"]["acct-1"]["secret"] = json!(signing);
            p["users"][CAROL]["totp_secret"] = json!(totp);
        })
        .await;
    assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    let s = status(&gw).await;
    assert!(s.contains("\"errors\""), "{s}");
    for (secret, what) in [(signing, "signing secret"), (totp, "TOTP secret")] {
        assert!(!s.contains(secret), "{what} in /status: {s}");
        logs::assert_absent(secret, what);
    }
}
