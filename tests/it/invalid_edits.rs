//! Last good policy: an edit that does not compile — bad JSON, an unknown field, an unknown
//! role — changes nothing. Old decisions continue, the generation stays, `/readyz` stays 200,
//! and `/status` shows the error with its file, line and column. The next good edit applies.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::client::{self, pause};
use crate::support::policy::{self, ADMIN, READER};
use crate::support::{Harness, Options, Upstream};

/// 1-based (line, column) of the first `needle` after `anchor` in ASCII `text`.
fn position(text: &str, anchor: &str, needle: &str) -> (usize, usize) {
    let from = text.find(anchor).expect("anchor in policy");
    let at = from + text[from..].find(needle).expect("needle in policy");
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    (line, at - before.rfind('\n').map_or(0, |i| i + 1) + 1)
}

/// Write `text` atomically (temp + rename), as an editor would.
fn save(path: &std::path::Path, text: &str) {
    let tmp = path.with_file_name(".policy.json.tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

async fn status(gw: &Harness) -> Value {
    client::get(&gw.admin_url("/status"), &[]).await.json()
}

/// Wait until `/status` lists an error mentioning `message`; returns it.
async fn last_error(gw: &Harness, message: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = status(gw).await;
        let errors = s["errors"].as_array().cloned().unwrap_or_default();
        if let Some(e) = errors
            .iter()
            .filter_map(Value::as_str)
            .find(|e| e.contains(message))
        {
            return e.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bad edit was never reported"
        );
        pause().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_edits_change_nothing_and_are_reported_with_their_place() {
    let up = Upstream::start().await;
    let good = policy::standard(&up.url());
    let gw = Harness::start_with(
        &good,
        Options {
            watch: true,
            ..Options::default()
        },
    )
    .await;
    let path = gw.policy_path.clone();
    let good_text = serde_json::to_string_pretty(&good).expect("serialize");
    let sha = status(&gw).await["sha256"].clone();

    let mut unknown_role = good.clone();
    unknown_role["keys"]["reader"]["roles"] = json!(["indicator-reader", "ghost-role"]);
    let unknown_role = serde_json::to_string_pretty(&unknown_role).expect("serialize");
    let bad_json = good_text.replacen("\"limited-access\",", "\"limited-access\"", 1);
    let unknown_field = good_text.replacen("\"mode\":", "\"mood\":", 1);
    let edits: Vec<(&str, String, (usize, usize), &str)> = vec![
        (
            "bad json",
            bad_json.clone(),
            position(&bad_json, "\"mode\"", "\"roles\""),
            "expected `,` or `}`",
        ),
        (
            "unknown field",
            unknown_field.clone(),
            position(&unknown_field, "", "\"mood\""),
            "unknown field `mood`",
        ),
        (
            "unknown role",
            unknown_role.clone(),
            position(&unknown_role, "", "\"ghost-role\""),
            "unknown role `ghost-role`",
        ),
    ];
    let list = gw.url("/api/?module=indicator&action=list");
    for (case, text, (line, column), message) in edits {
        save(&path, &text);
        let err = last_error(&gw, message).await;
        let place = format!("{}:{line}:{column}: ", path.display());
        assert!(err.contains(&place), "{case}: expected {place} in {err}");
        let s = status(&gw).await;
        assert_eq!(s["generation"], 1, "{case}");
        assert_eq!(
            s["sha256"], sha,
            "{case}: the loaded policy must not change"
        );
        let ready = client::get(&gw.admin_url("/readyz"), &[]).await;
        assert_eq!(ready.status, 200, "{case}");
        assert_eq!(ready.json()["generation"], 1);
        for key in [READER, ADMIN] {
            assert_eq!(
                client::get(&list, &[("x-api-key", key)]).await.status,
                200,
                "{case}"
            );
        }
        // Back to the good text, which the watcher finds already loaded.
        save(&path, &good_text);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(up.count(), 6);

    let mut next = good.clone();
    next["keys"]["reader"]["disabled"] = json!(true);
    save(
        &path,
        &serde_json::to_string_pretty(&next).expect("serialize"),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while status(&gw).await["generation"] != 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the good edit did not apply"
        );
        pause().await;
    }
    let s = status(&gw).await;
    assert_eq!(
        s["errors"],
        serde_json::json!([]),
        "a successful reload clears the errors"
    );
    let resp = client::get(&list, &[("x-api-key", READER)]).await;
    client::assert_rejected(&resp, 401, "credential_disabled");
}

/// The periodic check finds a broken policy again and again: its errors are logged once, and
/// the fix is logged as `policy reloaded (generation N)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_input_is_logged_once_and_the_recovery_is_logged() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    let place = gw.policy_path.display().to_string();
    policy::write_text(&gw.policy_path, "{ \"mode\": \"sometimes\" }");
    for _ in 0..3 {
        gw.reloader.reload_async().await;
    }
    let errors = |t: &str| {
        t.lines()
            .filter(|l| l.contains("policy error") && l.contains(&place))
            .count()
    };
    assert_eq!(errors(&crate::support::logs::text()), 1);
    p["keys"]["reader"]["disabled"] = json!(true);
    gw.rewrite(&p).await;
    let logs = crate::support::logs::text();
    assert!(
        logs.lines()
            .any(|l| l.contains("policy reloaded (generation 2)") && l.contains(&p_sha(&gw))),
        "the recovery is logged"
    );
    assert_eq!(errors(&logs), 1);
}

/// The running policy's SHA-256.
fn p_sha(gw: &Harness) -> String {
    gw.policy.status().sha256.expect("sha256")
}
