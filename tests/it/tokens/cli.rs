//! The `portcullis user` commands: `hash-password` (stdin), `totp-secret --user U` and
//! `signing-secret`, and that what they print works in a policy.

use argon2::password_hash::PasswordVerifier;
use base64::Engine;
use serde_json::json;

use crate::support::cli;
use crate::support::seatable::*;

/// Run `portcullis args...` feeding `stdin`: whether it succeeded, its stdout and its stderr.
async fn portcullis(args: &[&str], stdin: &str) -> (bool, String, String) {
    let run = cli::run(args, Some(stdin)).await;
    (run.code == Some(0), run.stdout, run.stderr)
}

#[tokio::test]
async fn printed_hash_and_totp_secret_log_a_user_in() {
    let pw = "cli-password-with spaces-and-ünïcode";
    let (ok, out, err) = portcullis(&["user", "hash-password"], &format!("{pw}\n")).await;
    assert!(ok, "{err}");
    let phc = out.trim().to_owned();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    assert!(
        !out.contains(pw) && !err.contains(pw),
        "the password was echoed"
    );
    let parsed = argon2::password_hash::phc::PasswordHash::new(&phc).expect("PHC string");
    assert!(
        argon2::Argon2::default()
            .verify_password(pw.as_bytes(), &parsed)
            .is_ok()
    );

    let (ok, out, err) =
        portcullis(&["user", "totp-secret", "--user", "dana@example.org"], "").await;
    assert!(ok, "{err}");
    let mut lines = out.lines();
    let secret = lines.next().expect("secret line").to_owned();
    let uri = lines.next().expect("uri line");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(
        uri.contains("dana%40example.org") || uri.contains("dana@example.org"),
        "{uri}"
    );

    let gw = Gw::start_with(|p| {
        p["users"]["dana@example.org"] =
            json!({ "password": phc, "totp_secret": { "inline": secret } });
    })
    .await;
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .with_digits(6)
        .with_step_duration(30)
        .build()
        .unwrap();
    let code = totp.generate(gw.now() as u64).to_string();
    gw.login("dana@example.org", pw, Some(&code))
        .await
        .expect(200);
}

#[tokio::test]
async fn empty_password_is_refused() {
    let (ok, out, _) = portcullis(&["user", "hash-password"], "").await;
    assert!(!ok);
    assert!(out.is_empty());
}

#[tokio::test]
async fn signing_secret_is_random_and_usable() {
    let (ok, first, err) = portcullis(&["user", "signing-secret"], "").await;
    assert!(ok, "{err}");
    let (_, second, _) = portcullis(&["user", "signing-secret"], "").await;
    assert_ne!(first, second);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(first.trim())
        .expect("base64");
    assert!(bytes.len() >= 32, "{} bytes", bytes.len());
    let secret = first.trim().to_owned();
    let gw = Gw::start_with(|p| {
        p["signing_keys"]["base-1"]["secret"] = json!({ "inline": secret });
    })
    .await;
    let r = gw
        .get(
            &base_path(SALES_NAME, "access-token/"),
            Some(&gw.account_token(ALICE)),
        )
        .await;
    let t = r.json()["access_token"].as_str().unwrap().to_owned();
    gw.get(&format!("/std/dtables/{SALES}/rows/"), Some(&t))
        .await
        .expect(200);
}
