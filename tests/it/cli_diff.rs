//! `portcullis diff OLD NEW` (or `--git REV PATH`): the access a change gives or takes, grouped by credential, exit 2
//! when access widens (so CI can require a review), 0 when it only narrows or nothing changes,
//! and the same as JSON.

use serde_json::{Value, json};

use crate::support::cli;
use crate::support::policy::{self, write};
use crate::support::tmp::TempDir;

async fn diff(old: &Value, new: &Value, extra: &[&str]) -> cli::Run {
    let dir = TempDir::new("diff");
    let (a, b) = (dir.join("old.json"), dir.join("new.json"));
    write(&a, old);
    write(&b, new);
    let mut args = vec!["diff", cli::s(&a), cli::s(&b)];
    args.extend_from_slice(extra);
    cli::run(&args, None).await
}

#[tokio::test]
async fn a_new_permission_is_a_widening_and_exits_2() {
    let old = policy::standard("builtin:echo");
    let mut new = old.clone();
    // `inbox-documents` names documents/list literally: the reader gains it there.
    new["keys"]["reader"]["permissions"] = json!({ "documents": ["list"] });
    let run = diff(&old, &new, &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(run.stdout.contains("reader:"), "{}", run.all());
    assert!(
        run.stdout
            .contains("+ inbox-documents: deny permission_denied -> allow"),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("1 widening"), "{}", run.all());
}

#[tokio::test]
async fn taking_access_away_only_narrows_and_exits_0() {
    let old = policy::standard("builtin:echo");
    let mut new = old.clone();
    new["keys"]["admin"]["disabled"] = json!(true);
    let routes = new["routes"].as_array_mut().expect("routes");
    routes.retain(|r| r["id"] != "files");
    let run = diff(&old, &new, &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        run.stdout.contains("routes removed: files"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("disabled false -> true"),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("0 widening"), "{}", run.all());
    let same = diff(&old, &old, &[]).await;
    assert_eq!(same.code, Some(0));
    assert!(same.stdout.contains("0 access change(s)"), "{}", same.all());
}

#[tokio::test]
async fn a_route_made_public_widens_and_json_says_so() {
    let old = policy::standard("builtin:echo");
    let mut new = old.clone();
    let routes = new["routes"].as_array_mut().expect("routes");
    let r = routes
        .iter_mut()
        .find(|r| r["id"] == "inbox-documents")
        .expect("route");
    r["public"] = json!(true);
    let run = diff(&old, &new, &["--json"]).await;
    assert_eq!(run.code, Some(2), "{}", run.all());
    let v: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(v["widens"], true);
    assert!(v["routes_changed"]["inbox-documents"].is_array(), "{v}");
    let anyone = v["access"]
        .as_array()
        .expect("access")
        .iter()
        .any(|c| c["route"] == "inbox-documents" && c["widening"] == true);
    assert!(anyone, "{v}");
}

#[tokio::test]
async fn against_a_git_revision() {
    let dir = TempDir::new("diff-git");
    let git = |args: &[&str]| {
        let st = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("git");
        assert!(
            st.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    let path = dir.join("policy.json");
    let old = policy::standard("builtin:echo");
    write(&path, &old);
    git(&["init", "-q"]);
    git(&["add", "policy.json"]);
    git(&["commit", "-q", "-m", "policy"]);
    let mut new = old.clone();
    new["keys"]["reader"]["permissions"] = json!({ "documents": ["list"] });
    write(&path, &new);
    let run = cli::run(&["diff", "--git", "HEAD", cli::s(&path)], None).await;
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(run.stdout.contains("+ inbox-documents"), "{}", run.all());
}

#[tokio::test]
async fn completions_and_man_pages() {
    let run = cli::run(&["completions", "bash"], None).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        run.stdout.contains("portcullis") && run.stdout.contains("diff"),
        "{}",
        run.all()
    );
    let dir = TempDir::new("man");
    let run = cli::run(&["man", "--out", cli::s(dir.path())], None).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    let page = std::fs::read_to_string(dir.join("portcullis-test.1")).expect("man page");
    assert!(page.contains(".TH"), "{page}");
}
