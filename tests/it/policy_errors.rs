//! Policy errors: one fixture per kind of mistake under `tests/fixtures/policy-errors/`, each
//! reported with its file, JSON path, exact line and column, and a message that says what was
//! expected; `portcullis check` prints every error and exits 1, and exits 0 on the shipped
//! configuration.

use std::path::{Path, PathBuf};

use portcullis::policy::{self, CompileErrors};

use crate::support::cli;
use crate::support::policy::fixtures;

/// (fixture, file holding the error, JSON path, line, column, message fragment)
type Expected = (
    &'static str,
    &'static str,
    &'static str,
    usize,
    usize,
    &'static str,
);

const CASES: &[Expected] = &[
    (
        "bad-json.json",
        "bad-json.json",
        "$.upstreams.app",
        4,
        20,
        "expected `:`",
    ),
    (
        "trailing-comma.json",
        "trailing-comma.json",
        "$",
        5,
        15,
        "trailing comma",
    ),
    (
        "unknown-field.json",
        "unknown-field.json",
        "$.routes[0].methdos",
        8,
        7,
        "unknown field `methdos`, expected one of `id`, `methods`",
    ),
    (
        "unknown-role.json",
        "unknown-role.json",
        "$.keys.k.roles[1]",
        8,
        27,
        "unknown role `writer` (defined roles: reader)",
    ),
    (
        "unknown-upstream.json",
        "unknown-upstream.json",
        "$.routes[1].upstream",
        8,
        7,
        "unknown upstream `backend` (defined upstreams: app)",
    ),
    (
        "conflicting-routes.json",
        "conflicting-routes.json",
        "$.routes[2]",
        8,
        5,
        "route `read-a` conflicts with route `list-a` (at ",
    ),
    (
        "malformed-digest.json",
        "malformed-digest.json",
        "$.keys.k.sha256",
        5,
        7,
        "expected 64 hexadecimal characters",
    ),
    (
        "bad-unmapped-status.json",
        "bad-unmapped-status.json",
        "$.unmapped_status",
        3,
        3,
        "expected 404 or 403, got 500",
    ),
    (
        "bad-content-status.json",
        "bad-content-status.json",
        "$.keys.k.status",
        5,
        7,
        "unknown status `X` (expected \"all\" or P, D, PA, AA)",
    ),
    (
        "bad-date.json",
        "bad-date.json",
        "$.keys.k.expires_at",
        6,
        7,
        "expected an RFC 3339 instant",
    ),
    (
        "duplicate-key-id",
        "duplicate-key-id/20-team.json",
        "$.keys.ci",
        4,
        5,
        "key id `ci` is already defined at ",
    ),
    (
        "missing-module.json",
        "missing-module.json",
        "$.routes[0]",
        6,
        5,
        "needs `module` and `action`",
    ),
    (
        "missing-path-param.json",
        "missing-path-param.json",
        "$.routes[0].action.path",
        10,
        19,
        "the path template has no `{verb}` (its parameters: action, module)",
    ),
];

fn fixture(name: &str) -> PathBuf {
    fixtures().join("policy-errors").join(name)
}

fn errors(path: &Path) -> CompileErrors {
    match policy::load(path).and_then(policy::compile) {
        Ok(_) => panic!("{} loaded but should not", path.display()),
        Err(e) => e,
    }
}

#[test]
fn each_error_names_file_path_line_and_column() {
    for (name, file, path, line, column, message) in CASES {
        let errs = errors(&fixture(name));
        assert_eq!(errs.0.len(), 1, "{name}: {errs}");
        let p = &errs.0[0];
        assert_eq!(p.file, fixture(file), "{name}");
        assert_eq!(p.path.to_string(), *path, "{name}");
        assert_eq!((p.line, p.column), (*line, *column), "{name}: {p}");
        assert!(p.message.contains(message), "{name}: {}", p.message);
    }
}

#[test]
fn duplicates_name_the_other_place_too() {
    let conflict = errors(&fixture("conflicting-routes.json")).to_string();
    let first = fixture("conflicting-routes.json");
    assert!(
        conflict.contains(&format!("(at {}:6:5)", first.display())),
        "{conflict}"
    );
    let dup = errors(&fixture("duplicate-key-id")).to_string();
    let first = fixture("duplicate-key-id/10-main.json");
    assert!(
        dup.contains(&format!("already defined at {}:4:5", first.display())),
        "{dup}"
    );
}

#[tokio::test]
async fn check_exits_1_printing_every_error() {
    for (name, file, _, line, column, message) in CASES {
        let path = fixture(name);
        let run = cli::run(&["check", "--policy", cli::s(&path)], None).await;
        assert_eq!(run.code, Some(1), "{name}: {}", run.all());
        let place = format!("{}:{line}:{column}: ", fixture(file).display());
        assert!(
            run.stderr.contains(&place),
            "{name}: expected {place} in {}",
            run.stderr
        );
        assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
    }
    let several = fixture("several-errors.json");
    let run = cli::run(&["check", "--policy", cli::s(&several)], None).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.matches("error: ").count(), 3, "{}", run.stderr);
    for fragment in [
        "several-errors.json:9:12: $.keys.a.sha256: expected 64 hexadecimal",
        "several-errors.json:10:100: $.keys.b.roles[0]: unknown role `ghost` (defined roles: none)",
        "several-errors.json:6:63: $.routes[0].upstream: unknown upstream `nope`",
    ] {
        assert!(
            run.stderr.contains(fragment),
            "{fragment} missing from {}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("3 error(s)"), "{}", run.stderr);
}

#[tokio::test]
async fn check_exits_0_on_the_shipped_configuration() {
    let run = cli::run(&["check", "--config", "config/portcullis.json"], None).await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stderr.contains(": ok ("), "{}", run.stderr);
}
