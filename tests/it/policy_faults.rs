//! Faults around the policy and the clock: a policy file that disappears or cannot be read keeps
//! the last good policy running and is reported until it is back; validity windows follow the
//! clock when it jumps forward and back (nothing is cached past a jump).

use serde_json::Value;

use crate::support::client::{self, assert_rejected};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Upstream};
use portcullis::reload::Outcome;

const LIST: &str = "/api/?module=indicator&action=list";

/// A way to break the policy file, and its name.
type Fault<'a> = (&'a str, Box<dyn Fn() + 'a>);

async fn status(gw: &Harness) -> Value {
    client::get(&gw.admin_url("/status"), &[]).await.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_or_unreadable_policy_keeps_the_last_good_one() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let path = gw.policy_path.clone();
    let text = std::fs::read_to_string(&path).unwrap();
    let generation = gw.generation();
    // Deleted; then a dangling symlink in its place; then a directory.
    let faults: [Fault<'_>; 3] = [
        ("deleted", Box::new(|| std::fs::remove_file(&path).unwrap())),
        (
            "dangling symlink",
            Box::new(|| {
                std::fs::remove_file(&path).unwrap();
                std::os::unix::fs::symlink(path.with_extension("gone"), &path).unwrap()
            }),
        ),
        (
            "a directory",
            Box::new(|| {
                std::fs::remove_file(&path).unwrap();
                std::fs::create_dir(&path).unwrap()
            }),
        ),
    ];
    for (what, break_it) in faults {
        break_it();
        match gw.reloader.reload_async().await {
            Outcome::Rejected(e) => assert!(
                e.to_string()
                    .contains(path.file_name().unwrap().to_str().unwrap()),
                "{what}: {e}"
            ),
            other => panic!("{what}: {other:?}"),
        }
        // Still deciding with the last good policy.
        client::get(&gw.url(LIST), &[("x-api-key", ADMIN)])
            .await
            .expect(200);
        assert_eq!(gw.generation(), generation, "{what}");
        let s = status(&gw).await;
        assert!(
            s["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{what} is reported: {s}"
        );
        // Back as it was.
        if path.is_dir() {
            std::fs::remove_dir(&path).unwrap();
        } else {
            let _ = std::fs::remove_file(&path);
        }
        std::fs::write(&path, &text).unwrap();
        let back = gw.reloader.reload_async().await;
        assert!(
            matches!(back, Outcome::Unchanged | Outcome::Applied { .. }),
            "{what}: {back:?}"
        );
        let s = status(&gw).await;
        assert!(
            s["errors"].as_array().is_none_or(|e| e.is_empty()),
            "{what}: recovered, no error stands: {s}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validity_windows_follow_clock_jumps_both_ways() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    p["keys"]["window"] = policy::key(
        "window-s3cret-77e1",
        serde_json::json!({ "indicator": ["all"] }),
        serde_json::json!({ "not_before": "2030-01-01T00:00:00Z", "expires_at": "2030-01-02T00:00:00Z" }),
    );
    let gw = Harness::start(&p).await;
    let url = gw.url(LIST);
    let call = || client::get(&url, &[("x-api-key", "window-s3cret-77e1")]);
    let at = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
    };
    assert_rejected(&call().await, 401, "credential_not_yet_valid");
    gw.clock.set(at("2030-01-01T12:00:00Z"));
    call().await.expect(200);
    gw.clock.set(at("2031-06-01T00:00:00Z"));
    assert_rejected(&call().await, 401, "credential_expired");
    // Back in time: valid again, then not yet valid.
    gw.clock.set(at("2030-01-01T23:59:59Z"));
    call().await.expect(200);
    gw.clock.set(at("2029-12-31T23:59:59Z"));
    assert_rejected(&call().await, 401, "credential_not_yet_valid");
}
