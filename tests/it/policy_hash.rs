//! The policy SHA-256 depends on the policy's content and its files' names only, never on how
//! the policy path is spelled or which directory the command runs from, so two nodes with the
//! same files show the same hash (on `/status`, in the metrics and in `portcullis check`).

use serde_json::json;

use crate::support::cli::{self, s};
use crate::support::policy;
use crate::support::tmp::TempDir;

fn sha(path: &std::path::Path) -> String {
    portcullis::policy::load(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .fingerprint()
}

#[test]
fn spelling_the_path_differently_gives_the_same_hash() {
    let dir = TempDir::new("policy-hash");
    let p = policy::standard("http://127.0.0.1:1");
    policy::write(&dir.join("policies/10-main.json"), &p);
    policy::write(&dir.join("policies/20-more.json"), &json!({ "keys": {} }));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink(dir.join("policies"), dir.join("linked")).unwrap();
    let other = TempDir::new("policy-hash-copy");
    for f in ["10-main.json", "20-more.json"] {
        std::fs::create_dir_all(other.join("elsewhere")).unwrap();
        std::fs::copy(
            dir.join("policies").join(f),
            other.join("elsewhere").join(f),
        )
        .unwrap();
    }
    let want = sha(&dir.join("policies"));
    for spelled in [
        dir.join("policies/."),
        dir.join("sub/../policies"),
        dir.join("linked"),
        other.join("elsewhere"),
    ] {
        assert_eq!(sha(&spelled), want, "{}", spelled.display());
    }
    let single = sha(&dir.join("policies/10-main.json"));
    assert_eq!(sha(&dir.join("sub/../policies/./10-main.json")), single);
    std::fs::rename(
        other.join("elsewhere/20-more.json"),
        other.join("elsewhere/30-more.json"),
    )
    .unwrap();
    assert_ne!(
        sha(&other.join("elsewhere")),
        want,
        "a file's name is part of the policy"
    );
}

#[tokio::test]
async fn check_prints_the_same_hash_from_any_working_directory() {
    let dir = TempDir::new("policy-hash-cli");
    policy::write(
        &dir.join("p/policy.json"),
        &policy::standard("http://127.0.0.1:1"),
    );
    let abs = dir.join("p");
    let from_parent = cli::run_in(dir.path(), &["check", "--policy", "p"], None).await;
    let from_inside = cli::run_in(&abs, &["check", "--policy", "."], None).await;
    let absolute = cli::run(&["check", "--policy", s(&abs)], None).await;
    let hash = |r: &cli::Run| {
        assert_eq!(r.code, Some(0), "{}", r.all());
        r.stderr
            .split("sha256 ")
            .nth(1)
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|| panic!("no sha256 in {}", r.all()))
    };
    let want = hash(&absolute);
    assert_eq!(want.len(), 64);
    assert_eq!(hash(&from_parent), want);
    assert_eq!(hash(&from_inside), want);
}
