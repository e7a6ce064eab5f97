//! What the CLI says about its settings file and keys: an unreadable `--config` is reported once
//! with the documented exit code (`check` and `serve` 1, `explain` 2); without `--config` the
//! settings are looked for in `config/portcullis.json` then `/etc/portcullis/portcullis.json`;
//! `key new` takes permissions and roles; `check` warns about keys that can do nothing.

use serde_json::{Value, json};

use crate::support::cli::{self, s};
use crate::support::policy;
use crate::support::tmp::TempDir;

const MISSING: &str = "/nonexistent/portcullis/portcullis.json";

#[tokio::test]
async fn an_unreadable_config_is_reported_once_with_the_documented_code() {
    for (args, code) in [
        (vec!["check", "--config", MISSING], 1),
        (vec!["serve", "--config", MISSING], 1),
        (vec!["explain", "--config", MISSING, "--path", "/api/"], 2),
    ] {
        let r = cli::run(&args, None).await;
        assert_eq!(r.code, Some(code), "{args:?}: {}", r.all());
        assert_eq!(
            r.stderr.matches("No such file or directory").count(),
            1,
            "{args:?}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(MISSING), "{}", r.stderr);
    }
}

#[tokio::test]
async fn without_config_the_default_places_are_tried_in_order() {
    let empty = TempDir::new("no-config");
    let r = cli::run_in(empty.path(), &["check"], None).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    for place in ["config/portcullis.json", "/etc/portcullis/portcullis.json"] {
        assert!(r.stderr.contains(place), "{place}: {}", r.stderr);
    }

    let dir = TempDir::new("default-config");
    policy::write(
        &dir.join("config/policy.json"),
        &policy::standard("http://127.0.0.1:1"),
    );
    policy::write(
        &dir.join("config/portcullis.json"),
        &json!({ "listeners": [{ "address": "127.0.0.1:0" }], "policy": "policy.json" }),
    );
    let r = cli::run_in(dir.path(), &["check"], None).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stderr.contains("ok ("), "{}", r.stderr);
}

#[tokio::test]
async fn key_new_grants_what_it_is_told_and_check_warns_about_keys_that_can_do_nothing() {
    let run = cli::run(
        &[
            "key",
            "new",
            "--id",
            "deploy",
            "--permission",
            "indicator:list",
            "--permission",
            "level:all",
            "--role",
            "indicator-reader",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let (_, entry) = run.stdout.split_once('\n').expect("secret, then entry");
    let entry: Value = serde_json::from_str(entry).expect("JSON entry");
    assert_eq!(
        entry["deploy"]["permissions"],
        json!({ "indicator": ["list"], "level": ["all"] })
    );
    assert_eq!(entry["deploy"]["roles"], json!(["indicator-reader"]));

    let bad = cli::run(
        &["key", "new", "--id", "x", "--permission", "indicator"],
        None,
    )
    .await;
    assert_eq!(bad.code, Some(2), "{}", bad.all());
    assert!(bad.stderr.contains("MODULE:ACTION"), "{}", bad.stderr);

    let bare = cli::run(&["key", "new", "--id", "bare"], None).await;
    assert_eq!(bare.code, Some(0));
    assert!(bare.stderr.contains("can do nothing"), "{}", bare.stderr);
    let (_, bare_entry) = bare.stdout.split_once('\n').expect("secret, then entry");
    let bare_entry: Value = serde_json::from_str(bare_entry).expect("JSON entry");

    let dir = TempDir::new("powerless");
    let mut p = policy::standard("http://127.0.0.1:1");
    p["keys"]["bare"] = bare_entry["bare"].clone();
    p["keys"]["deploy"] = entry["deploy"].clone();
    policy::write(&dir.join("policy.json"), &p);
    let r = cli::run(&["check", "--policy", s(&dir.join("policy.json"))], None).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let warned: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("can do nothing"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", r.stderr);
    assert!(warned[0].contains("`bare`"), "{}", r.stderr);
}
