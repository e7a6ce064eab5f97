//! `portcullis serve`, the real binary: it refuses to start on an invalid policy (exit 1, every
//! error with file:line:col), and once running it reloads on SIGHUP — with the file watcher's
//! debounce set far beyond the test, so only the signal can have applied the change — then
//! stops cleanly on SIGTERM, its log naming keys by id and never by secret.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::support::client::{self, pause};
use crate::support::policy::{self, ADMIN, READER};
use crate::support::ports::free_port;
use crate::support::tmp::TempDir;
use crate::support::{Upstream, cli};

/// `text` without ANSI colour sequences (`ESC [ ... m`), which the text log format writes even
/// when standard error is a file.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn refuses_to_start_on_an_invalid_policy() {
    let dir = TempDir::new("serve-bad");
    let bad = policy::fixtures().join("policy-errors/several-errors.json");
    let settings = dir.join("portcullis.json");
    policy::write(
        &settings,
        &json!({
            "listeners": [{ "address": format!("127.0.0.1:{}", free_port()) }],
            "policy": cli::s(&bad),
        }),
    );
    let run = cli::run(&["serve", "--config", cli::s(&settings)], None).await;
    assert_eq!(run.code, Some(1), "{}", run.all());
    for place in [
        ":9:12: $.keys.a.sha256",
        ":10:100: $.keys.b.roles[0]",
        ":6:63: $.routes[0].upstream",
    ] {
        let want = format!("{}{place}", bad.display());
        assert!(
            run.stderr.contains(&want),
            "missing {want} in {}",
            run.stderr
        );
    }
    assert!(
        run.stderr
            .contains("refusing to start without a valid policy"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_sigterm_stops() {
    let up = Upstream::start().await;
    let dir = TempDir::new("serve");
    let mut p = policy::standard(&up.url());
    let policy_path = dir.join("policy/policy.json");
    policy::write(&policy_path, &p);
    let (port, admin_port) = (free_port(), free_port());
    let settings = dir.join("portcullis.json");
    policy::write(
        &settings,
        &json!({
            "listeners": [{ "address": format!("127.0.0.1:{port}") }],
            "admin": { "address": format!("127.0.0.1:{admin_port}") },
            "policy": "policy",
            "reload": { "debounce_ms": 600000, "poll_interval_ms": 600000, "check_interval_ms": 0 },
            "log": { "format": "text", "level": "info" }
        }),
    );
    let log_path = dir.join("stderr.log");
    let mut child = tokio::process::Command::new(cli::bin())
        .args(["serve", "--config", cli::s(&settings)])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn serve");
    let pid = child.id().expect("pid").to_string();
    let base = format!("http://127.0.0.1:{port}");
    let admin = format!("http://127.0.0.1:{admin_port}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !matches!(client::h1().get(format!("{admin}/readyz").parse().unwrap()).await, Ok(r) if r.status() == 200)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve did not become ready"
        );
        pause().await;
    }
    let list = format!("{base}/api/?module=indicator&action=list");
    assert_eq!(
        client::get(&list, &[("x-api-key", READER)]).await.status,
        200
    );
    let with_token = format!("{list}&token={ADMIN}");
    assert_eq!(client::get(&with_token, &[]).await.status, 200);
    let bearer = format!("Bearer {READER}x");
    assert_eq!(
        client::get(&list, &[("authorization", &bearer)])
            .await
            .status,
        401
    );

    p["keys"]["reader"]["disabled"] = json!(true);
    policy::write(&policy_path, &p);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        client::get(&list, &[("x-api-key", READER)]).await.status,
        200,
        "without a signal nothing reloads yet"
    );

    let hup = tokio::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .await
        .expect("kill");
    assert!(hup.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while client::get(&list, &[("x-api-key", READER)]).await.status != 401 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "SIGHUP did not reload within 5 s"
        );
        pause().await;
    }
    let status = client::get(&format!("{admin}/status"), &[]).await.json();
    assert_eq!(status["generation"], 2, "{status}");

    let term = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(term.success());
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("serve stopped")
        .expect("wait");
    assert_eq!(exit.code(), Some(0));

    let log = strip_ansi(&std::fs::read_to_string(&log_path).expect("read log"));
    assert!(log.contains("SIGHUP: reloading policy"), "{log}");
    assert!(log.contains("\"credential_id\":\"reader\""), "{log}");
    for secret in [READER, ADMIN] {
        assert!(!log.contains(secret), "a secret reached the log: {log}");
    }
}
