//! `portcullis explain`: decides one request offline and says what each step found — route,
//! module, action, resources, key and decision — exiting 0 for allow and 1 for deny, for a key
//! named by id or a secret read from standard input (never echoed).

use serde_json::json;

use crate::support::cli::{self, Run};
use crate::support::policy::{self, READER};
use crate::support::tmp::TempDir;

/// A settings file (with its policy beside it) for the standard policy on the echo upstream.
fn settings() -> (TempDir, String) {
    let dir = TempDir::new("explain");
    policy::write(&dir.join("policy.json"), &policy::standard("builtin:echo"));
    let settings = dir.join("portcullis.json");
    policy::write(
        &settings,
        &json!({ "listeners": [{ "address": "127.0.0.1:0" }], "policy": "policy.json" }),
    );
    let s = cli::s(&settings).to_owned();
    (dir, s)
}

async fn explain(config: &str, method: &str, path: &str, who: &[&str], stdin: Option<&str>) -> Run {
    let mut args = vec![
        "explain", "--config", config, "--method", method, "--path", path,
    ];
    args.extend_from_slice(who);
    cli::run(&args, stdin).await
}

#[tokio::test]
async fn explain_shows_each_step_and_the_decision() {
    let (_dir, config) = settings();
    let list = "/api/?module=indicator&action=list";
    let run = explain(&config, "GET", list, &["--key-id", "reader"], None).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    for line in [
        "route: linea21-api",
        "upstream: app",
        "module: indicator",
        "action: list",
        "key: reader",
        "decision: allow",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == line),
            "missing {line:?} in {}",
            run.stdout
        );
    }

    let run = explain(
        &config,
        "GET",
        "/api/?module=indicator&action=delete",
        &["--key-id", "reader"],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(run.stdout.contains("action: delete"), "{}", run.stdout);
    assert!(
        run.stdout.contains("decision: deny 403 permission_denied"),
        "{}",
        run.stdout
    );

    let run = explain(
        &config,
        "GET",
        "/inboxes/b/documents",
        &["--key-id", "inbox-a"],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("resource inbox: b"), "{}", run.stdout);
    assert!(
        run.stdout.contains("decision: deny 403 out_of_scope"),
        "{}",
        run.stdout
    );

    let cases: &[(&str, &str, &[&str], &str)] = &[
        ("GET", list, &[], "decision: deny 401 missing_credential"),
        (
            "GET",
            list,
            &["--key-id", "nobody"],
            "decision: deny 401 invalid_credential",
        ),
        (
            "GET",
            list,
            &["--key-id", "disabled"],
            "decision: deny 401 credential_disabled",
        ),
        (
            "DELETE",
            list,
            &["--key-id", "reader"],
            "decision: deny 405 method_not_allowed",
        ),
        (
            "GET",
            "/nowhere",
            &["--key-id", "reader"],
            "decision: deny 404 no_route",
        ),
        (
            "GET",
            "/api/../admin",
            &["--key-id", "admin"],
            "decision: deny 400 dot_segment",
        ),
        ("GET", "/public/logo.png", &[], "decision: allow"),
    ];
    for (method, path, who, want) in cases {
        let run = explain(&config, method, path, who, None).await;
        let code = if want.ends_with("allow") { 0 } else { 1 };
        assert_eq!(run.code, Some(code), "{method} {path}: {}", run.all());
        assert!(run.stdout.contains(want), "{method} {path}: {}", run.stdout);
    }
}

#[tokio::test]
async fn explain_reads_a_secret_from_stdin_without_echoing_it() {
    let (_dir, config) = settings();
    let list = "/api/?module=level&action=list";
    let run = explain(
        &config,
        "GET",
        list,
        &["--secret-stdin"],
        Some(&format!("{READER}\n")),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("key: reader"), "{}", run.stdout);
    assert!(run.stdout.contains("decision: allow"), "{}", run.stdout);
    assert!(!run.all().contains(READER), "the secret was echoed");

    let wrong = "wrong-s3cret-0a1b2c3d";
    let run = explain(&config, "GET", list, &["--secret-stdin"], Some(wrong)).await;
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stdout.contains("decision: deny 401 invalid_credential"),
        "{}",
        run.stdout
    );
    assert!(!run.all().contains(wrong), "the secret was echoed");
}
