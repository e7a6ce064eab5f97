//! `portcullis key new`: prints a fresh secret once and the policy entry holding only its
//! SHA-256 digest; put into a policy, the entry makes that secret work through the gateway.

use serde_json::{Value, json};

use crate::support::client::{self, assert_rejected};
use crate::support::policy;
use crate::support::{Harness, Upstream, cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_key_entry_makes_its_secret_work() {
    let run = cli::run(&["key", "new", "--id", "ci-deploy"], None).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    let (secret, entry) = run
        .stdout
        .split_once('\n')
        .expect("secret line, then the entry");
    assert!(secret.starts_with("pcs_") && secret.len() > 40, "{secret}");
    let mut entry: Value = serde_json::from_str(entry).expect("entry is JSON");
    assert_eq!(entry["ci-deploy"]["sha256"], policy::digest(secret));
    assert!(
        !entry.to_string().contains(secret),
        "the entry must hold only the digest"
    );

    let other = cli::run(&["key", "new", "--id", "ci-deploy"], None).await;
    assert_ne!(
        other.stdout.lines().next(),
        Some(secret),
        "each secret is fresh"
    );

    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    entry["ci-deploy"]["permissions"] = json!({ "level": ["list"] });
    p["keys"]["ci-deploy"] = entry["ci-deploy"].take();
    let gw = Harness::start(&p).await;
    let resp = client::get(
        &gw.url("/api/?module=level&action=list"),
        &[("authorization", &format!("Bearer {secret}"))],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(up.only().header("x-portcullis-key-id"), "ci-deploy");
    let resp = client::get(
        &gw.url("/api/?module=level&action=list"),
        &[("x-api-key", "pcs_guess")],
    )
    .await;
    assert_rejected(&resp, 401, "invalid_credential");
}
