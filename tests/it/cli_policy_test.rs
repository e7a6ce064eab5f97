//! `portcullis test`: the shipped policy's and the SeaTable example's own tests pass (exit 0); failing cases are reported
//! with file, line, expected and actual outcome (exit 1) and in a JUnit report; a misspelled
//! expectation is an error naming its place (exit 2), never a silent pass; what no case
//! exercised is listed.

use crate::support::cli;
use crate::support::policy::fixtures;
use crate::support::tmp::TempDir;

/// The repository root (where `config/` lives).
fn root() -> std::path::PathBuf {
    fixtures().join("../..")
}

fn path(rel: &str) -> String {
    root().join(rel).display().to_string()
}

#[tokio::test]
async fn the_shipped_policy_passes_its_own_tests() {
    let config = path("config/portcullis.json");
    let run = cli::run(&["test", "--config", &config, &path("config/tests")], None).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains(" passed, 0 failed"), "{}", run.all());
    assert!(!run.stdout.contains("not exercised: keys"), "{}", run.all());
}

#[tokio::test]
async fn the_seatable_example_passes_its_own_tests() {
    let config = path("config/examples/seatable/portcullis.json");
    let tests = path("config/examples/seatable/tests");
    let run = cli::run(&["test", "--config", &config, &tests], None).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("5 passed, 0 failed"), "{}", run.all());
}

#[tokio::test]
async fn the_management_example_passes_its_own_tests() {
    let config = path("config/examples/management/portcullis.json");
    let tests = path("config/examples/management/tests");
    let run = cli::run(&["test", "--config", &config, &tests], None).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("8 passed, 0 failed"), "{}", run.all());
}

#[tokio::test]
async fn failures_name_file_line_and_both_outcomes_and_go_to_junit() {
    let dir = TempDir::new("policy-test");
    let junit = dir.join("junit.xml");
    let failing = path("tests/fixtures/suite/failing.json");
    let config = path("config/portcullis.json");
    let args = [
        "test",
        "--config",
        &config,
        "--junit",
        cli::s(&junit),
        &failing,
    ];
    let run = cli::run(&args, None).await;
    assert_eq!(run.code, Some(1), "{}", run.all());
    for line in [
        "failing.json:8: expects too much: expected allow, got deny permission_denied",
        "failing.json:13: expects the wrong reason: expected reason permission_denied, got no_route",
        "1 passed, 2 failed",
        "not exercised: routes public, api-by-path, inbox-documents",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in {}",
            run.all()
        );
    }
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.contains("tests=\"3\" failures=\"2\""), "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
}

#[tokio::test]
async fn a_misspelled_expectation_is_an_error_with_its_place() {
    let config = path("config/portcullis.json");
    let file = path("tests/fixtures/suite/misspelled.json");
    let run = cli::run(&["test", "--config", &config, &file], None).await;
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(
        run.stderr
            .contains("misspelled.json:6:19: unknown field `alow`"),
        "{}",
        run.all()
    );
}
