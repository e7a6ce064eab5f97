//! Signed identity assertions: requests to an upstream that asks for one carry
//! `X-Portcullis-Assertion`, and the shipped PHP snippet
//! (`config/examples/php/portcullis-assertion.php`), run by the real `php`, accepts it and reads
//! its claims — and refuses a forged one, one signed with another key, an expired one, and an
//! EdDSA token presented as HS256.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use hmac::{Hmac, Mac};
use portcullis::assertion::{Algorithm, Signer};
use serde_json::{Value, json};

use crate::support::client;
use crate::support::policy::{self, READER};
use crate::support::tmp::TempDir;
use crate::support::{Harness, Options, Upstream};

const SECRET: &str = "assertion-s3cret-6f1c2e9a7b3d4058a1e2f3c4d5b6a798";

/// Run the PHP snippet on `token`; its claims, or `null` when refused.
async fn php_verify(dir: &Path, token: &str, alg: &str, key: &str, audience: &str) -> Value {
    let script = dir.join("verify.php");
    std::fs::write(
        &script,
        "<?php require $argv[1];\n\
         echo json_encode(portcullis_verify_assertion($argv[2], $argv[3], file_get_contents($argv[4]), $argv[5]));\n",
    )
    .expect("write script");
    let key_file = dir.join("verify.key");
    std::fs::write(&key_file, key).expect("write key");
    let snippet =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/php/portcullis-assertion.php");
    let out = tokio::process::Command::new("php")
        .arg(&script)
        .arg(&snippet)
        .arg(token)
        .arg(alg)
        .arg(&key_file)
        .arg(audience)
        .output()
        .await
        .expect("run php");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("php printed JSON")
}

/// A gateway whose upstream `app` gets assertions signed by `signer`; returns the token the
/// upstream saw for one request by the reader, and that request's id.
async fn forwarded(signer: Signer, clock_offset: i64) -> (String, String) {
    let up = Upstream::start().await;
    let mut signers = HashMap::new();
    signers.insert("app".to_owned(), signer);
    let gw = Harness::start_with(
        &policy::standard(&up.url()),
        Options {
            assertions: Arc::new(signers),
            ..Options::default()
        },
    )
    .await;
    // The assertion is signed at the gateway's time and checked by php at the real time.
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    gw.clock.set(real_now + clock_offset);
    client::get(
        &gw.url("/api/?module=indicator&action=list"),
        &[
            ("x-api-key", READER),
            ("x-portcullis-assertion", "forged.by.client"),
        ],
    )
    .await
    .expect(200);
    let seen = up.only();
    (
        seen.header("x-portcullis-assertion").to_owned(),
        seen.header("x-portcullis-request-id").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_accepts_a_real_hs256_assertion_and_refuses_forgeries() {
    let dir = TempDir::new("assertion-hs256");
    std::fs::write(dir.join("key"), format!("{SECRET}\n")).unwrap();
    let signer = Signer::load("app", Algorithm::Hs256, &dir.join("key"), 30, Some("k1")).unwrap();
    let (token, rid) = forwarded(signer, 0).await;
    assert_ne!(
        token, "forged.by.client",
        "the client's header never passes"
    );

    let claims = php_verify(dir.path(), &token, "HS256", SECRET, "app").await;
    for (k, v) in [
        ("iss", json!("portcullis")),
        ("aud", json!("app")),
        ("jti", json!(rid)),
        ("kind", json!("api_key")),
        ("cid", json!("reader")),
        ("sub", json!("reader")),
        ("module", json!("indicator")),
        ("action", json!("list")),
        // No resource on this route; PHP's json_encode writes its empty array as `[]`.
        ("scope", json!([])),
    ] {
        assert_eq!(claims[k], v, "{k} in {claims}");
    }
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        30
    );
    assert!(!token.contains(READER));

    // The same signature over other claims.
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged_claims = claims.clone();
    forged_claims["module"] = json!("admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(forged_claims.to_string()),
        parts[2]
    );
    assert_eq!(
        php_verify(dir.path(), &forged, "HS256", SECRET, "app").await,
        Value::Null
    );
    // Signed with another key.
    let signed = format!("{}.{}", parts[0], parts[1]);
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(b"another-key-0123456789abcdef0123456789").unwrap();
    mac.update(signed.as_bytes());
    let other = format!("{signed}.{}", B64.encode(mac.finalize().into_bytes()));
    assert_eq!(
        php_verify(dir.path(), &other, "HS256", SECRET, "app").await,
        Value::Null
    );
    // For another upstream.
    assert_eq!(
        php_verify(dir.path(), &token, "HS256", SECRET, "billing").await,
        Value::Null
    );
    // Expired: signed an hour ago.
    let signer = Signer::load("app", Algorithm::Hs256, &dir.join("key"), 30, None).unwrap();
    let (old, _) = forwarded(signer, -3600).await;
    assert_eq!(
        php_verify(dir.path(), &old, "HS256", SECRET, "app").await,
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_accepts_an_eddsa_assertion_with_the_public_key_only() {
    let dir = TempDir::new("assertion-eddsa");
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let der = key.to_pkcs8_der().expect("pkcs8");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der.as_bytes())
    );
    std::fs::write(dir.join("ed.pem"), pem).unwrap();
    let public = STANDARD.encode(key.verifying_key().to_bytes());
    let signer = Signer::load("app", Algorithm::EdDsa, &dir.join("ed.pem"), 60, None).unwrap();
    let (token, rid) = forwarded(signer, 0).await;
    let claims = php_verify(dir.path(), &token, "EdDSA", &public, "app").await;
    assert_eq!(claims["jti"], json!(rid), "{claims}");
    assert_eq!(claims["cid"], "reader");
    // The public key is no HMAC secret: an EdDSA token checked as HS256 is refused.
    assert_eq!(
        php_verify(dir.path(), &token, "HS256", &public, "app").await,
        Value::Null
    );
    let other = STANDARD.encode(
        ed25519_dalek::SigningKey::from_bytes(&[8u8; 32])
            .verifying_key()
            .to_bytes(),
    );
    assert_eq!(
        php_verify(dir.path(), &token, "EdDSA", &other, "app").await,
        Value::Null
    );
}

#[test]
fn a_short_or_malformed_key_refuses_to_load() {
    let dir = TempDir::new("assertion-bad-key");
    std::fs::write(dir.join("short"), "too-short").unwrap();
    let e = Signer::load("app", Algorithm::Hs256, &dir.join("short"), 30, None).unwrap_err();
    assert!(e.to_string().contains("at least 32 bytes"), "{e}");
    let e = Signer::load("app", Algorithm::EdDsa, &dir.join("short"), 30, None).unwrap_err();
    assert!(e.to_string().contains("PEM"), "{e}");
}
