//! Table tests for compile rules that guard the request path: each snippet must fail with a
//! message naming what is wrong, at the right JSON path.

use std::path::PathBuf;

use crate::policy::{compile, load};

fn compile_text(text: &str) -> Result<crate::policy::Snapshot, Vec<String>> {
    let dir = std::env::temp_dir().join(format!(
        "pc-compile-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join("policy.json");
    std::fs::write(&path, text).unwrap();
    let out = load(&path).and_then(compile).map_err(|e| {
        e.0.iter()
            .map(|p| format!("{} {}", p.path, p.message))
            .collect()
    });
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Each policy text fails to compile with an error containing its expected text.
fn expect_errors(cases: &[(String, &str)]) {
    for (text, want) in cases {
        let errors = compile_text(text).err().unwrap_or_default();
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{want:?} not in {errors:?}"
        );
    }
}

const BASE: &str = r#""upstreams": {"app": {"url": "builtin:echo"}}"#;

#[test]
fn rules_that_protect_the_request_path() {
    let empty_digest = hex::encode(crate::identity::digest(""));
    let cases = [
        (
            format!(r#"{{{BASE}, "keys": {{"k": {{"sha256": "{empty_digest}"}}}}}}"#),
            "$.keys.k.sha256 this is the SHA-256 of the empty string",
        ),
        (
            format!(r#"{{{BASE}, "credential_query_params": ["token", "token"]}}"#),
            "$.credential_query_params[1] `token` is listed twice",
        ),
        (
            format!(
                r#"{{{BASE}, "routes": [{{"id": "r", "path": "/x/{{i}}", "module": "m", "action": "a",
                "upstream": "app", "resources": {{"my inbox": {{"path": "i"}}}}}}]}}"#
            ),
            "must be letters, digits",
        ),
        (
            format!(
                r#"{{{BASE}, "keys": {{"k": {{"sha256": "{}", "status": []}}}}}}"#,
                "ab".repeat(32)
            ),
            "$.keys.k.status expected at least one status",
        ),
        (
            format!(
                r#"{{{BASE}, "keys": {{"k": {{"sha256": "{}", "rate_limit": {{"requests": 0}}}}}}}}"#,
                "ab".repeat(32)
            ),
            "$.keys.k.rate_limit.requests expected `requests` of at least 1",
        ),
        (
            format!(r#"{{{BASE}, "rate_limits": {{"roles": {{"ghost": {{"requests": 1}}}}}}}}"#),
            "$.rate_limits.roles.ghost unknown role `ghost`",
        ),
        (
            format!(
                r#"{{{BASE}, "rate_limits": {{"failed_credentials": {{"max": 0, "window_s": 60}}}}}}"#
            ),
            "$.rate_limits.failed_credentials.max expected `max` of at least 1",
        ),
        (
            format!(
                r#"{{{BASE}, "routes": [{{"id": "r", "path": "/x", "module": "m", "action": "a",
                "upstream": "app", "rate_limit": {{"requests": 1, "burst": 0}}}}]}}"#
            ),
            "$.routes[0].rate_limit.burst expected `burst` of at least 1",
        ),
    ];
    expect_errors(&cases);
}

/// Keys are read into a compact form (`raw_keys`): what that form shares or decodes early must
/// still be reported at each key's own place.
#[test]
fn key_errors_keep_their_place() {
    let (a, b) = ("ab".repeat(32), "cd".repeat(32));
    let cases = [
        (
            format!(
                r#"{{{BASE}, "keys": {{"k": {{"sha256": "{a}"}}, "k": {{"sha256": "{b}"}}}}}}"#
            ),
            "$.keys.k key id `k` is already defined at",
        ),
        (
            format!(
                r#"{{{BASE}, "keys": {{"k": {{"sha256": "{}"}}}}}}"#,
                "g".repeat(64)
            ),
            "$.keys.k.sha256 expected 64 hexadecimal characters",
        ),
        (
            format!(
                r#"{{{BASE}, "keys": {{"k1": {{"sha256": "{a}", "roles": ["ghost"]}},
                "k2": {{"sha256": "{b}", "roles": ["ghost"]}}}}}}"#
            ),
            "$.keys.k2.roles[0] unknown role `ghost`",
        ),
    ];
    expect_errors(&cases);
}
