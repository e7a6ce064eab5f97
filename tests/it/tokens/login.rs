//! `POST /api2/auth-token/`: account tokens for a username and password, with the
//! `X-SEAFILE-OTP` code for users with 2FA, and SeaTable's error bodies.

use http::Method;
use serde_json::json;

use crate::support::seatable::keys::{kid_of, peek};
use crate::support::seatable::*;

const BAD_LOGIN: &str = "Unable to login with provided credentials.";

fn non_field(r: &Resp, msg: &str) {
    r.expect(400);
    assert_eq!(r.json(), json!({ "non_field_errors": [msg] }));
}

/// Carol's TOTP code at unix time `t`, computed with totp-rs from her secret.
fn code_at(t: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(CAROL_TOTP).expect("base32");
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(0)
        .build()
        .expect("totp");
    totp.generate(t as u64).to_string()
}

#[tokio::test]
async fn right_password_gives_an_account_token_that_works() {
    let gw = Gw::start().await;
    let r = gw.login(ALICE, ALICE_PW, None).await;
    r.expect(200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    let token = body["token"].as_str().expect("token").to_owned();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let (header, claims) = peek(&token);
    assert_eq!(header["alg"], "HS256");
    assert_eq!(kid_of(&token), "acct-1");
    assert_eq!(claims["kind"], "account");
    assert_eq!(claims["sub"], ALICE);
    assert_eq!(claims["iat"], gw.now());

    let r = gw.get("/account/profile", Some(&token)).await;
    r.expect(200);
    let seen = gw.upstream.last();
    assert_eq!(seen.header("x-portcullis-credential"), "account");
    assert_eq!(
        seen.header("x-portcullis-key-id"),
        format!("user:{ALICE}").as_str()
    );
}

#[tokio::test]
async fn wrong_password_unknown_user_and_disabled_user_look_the_same() {
    let gw = Gw::start_with(|p| p["users"][MALLORY]["disabled"] = json!(true)).await;
    non_field(&gw.login(ALICE, "not-the-password", None).await, BAD_LOGIN);
    non_field(
        &gw.login("nobody@example.org", ALICE_PW, None).await,
        BAD_LOGIN,
    );
    non_field(&gw.login(MALLORY, MALLORY_PW, None).await, BAD_LOGIN);
    non_field(&gw.login(ALICE, "", None).await, BAD_LOGIN);
}

#[tokio::test]
async fn missing_fields_and_wrong_method() {
    let gw = Gw::start().await;
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    let body = form(&[("username", ALICE)]);
    let r = gw
        .send(Method::POST, "/api2/auth-token/", &ct, body.as_bytes())
        .await;
    non_field(&r, "Must include \"username\" and \"password\".");
    let r = gw.get("/api2/auth-token/", None).await;
    r.expect(405);
    assert!(r.json()["detail"].is_string(), "{}", r.text());
}

#[tokio::test]
async fn second_factor_missing_wrong_and_right() {
    let gw = Gw::start().await;
    let now = gw.now();

    let r = gw.login(CAROL, CAROL_PW, None).await;
    non_field(&r, "Two factor auth token is missing.");
    assert_eq!(r.header("x-seafile-otp"), Some("required"));

    let valid: Vec<String> = [-30, 0, 30].iter().map(|d| code_at(now + d)).collect();
    let wrong = ["000000", "111111", "123456", "999999"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .unwrap();
    non_field(
        &gw.login(CAROL, CAROL_PW, Some(wrong)).await,
        "Two factor auth token is invalid.",
    );
    let two_steps_back = code_at(now - 60);
    if !valid.contains(&two_steps_back) {
        non_field(
            &gw.login(CAROL, CAROL_PW, Some(&two_steps_back)).await,
            "Two factor auth token is invalid.",
        );
    }
    non_field(&gw.login(CAROL, "wrong", Some(&valid[1])).await, BAD_LOGIN);

    for code in &valid {
        let r = gw.login(CAROL, CAROL_PW, Some(code)).await;
        r.expect(200);
        assert_eq!(peek(r.json()["token"].as_str().unwrap()).1["sub"], CAROL);
    }
}

#[tokio::test]
async fn an_accepted_code_cannot_be_replayed() {
    let gw = Gw::start().await;
    let code = code_at(gw.now());
    gw.login(CAROL, CAROL_PW, Some(&code)).await.expect(200);
    non_field(
        &gw.login(CAROL, CAROL_PW, Some(&code)).await,
        "Two factor auth token is invalid.",
    );
}

#[tokio::test]
async fn passwords_with_form_special_characters() {
    let pw = "p@ss word+100%&x=ü\u{1F511}";
    let gw =
        Gw::start_with(|p| p["users"]["eve@example.org"] = json!({ "password": phc(pw) })).await;
    gw.login("eve@example.org", pw, None).await.expect(200);
    // The way browsers and python-requests write a space in a form: `+`.
    let plus = form(&[("username", "eve@example.org"), ("password", pw)]).replace("%20", "+");
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    gw.send(Method::POST, "/api2/auth-token/", &ct, plus.as_bytes())
        .await
        .expect(200);
    non_field(
        &gw.login("eve@example.org", &pw.replace(' ', "+"), None)
            .await,
        BAD_LOGIN,
    );
}
