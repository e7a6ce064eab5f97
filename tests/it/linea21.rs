//! Linea21: the seed's permission file, as its documentation shows it (trailing comma and all),
//! is refused with the comma's file, line and column; without the comma its tokens work as API
//! keys (`?token=` and `Bearer`), named only by `l21-<12 hex>` ids, with the content status passed
//! upstream (`all`, or `P` when absent); the three API modes behave as Linea21's do.

use serde_json::{Value, json};

use crate::support::client::{self, assert_rejected};
use crate::support::policy::{digest, fixtures};
use crate::support::{Harness, Upstream, cli, logs};

/// The seed's first token: indicator actions, level list, `status: all`.
const TOKEN_1: &str = "linea21-6685453c9821b";
/// The seed's second token: every indicator action, level list, no status.
const TOKEN_2: &str = "linea21-895223bc9878a";

fn l21_id(token: &str) -> String {
    format!("l21-{}", &digest(token)[..12])
}

fn linea21_dir() -> std::path::PathBuf {
    fixtures().join("linea21")
}

/// A policy importing the comma-free seed file, with `mode` if given.
fn policy(upstream: &str, mode: Option<&str>) -> Value {
    let import = linea21_dir().join("api-permissions-seed-fixed.json");
    let mut p = json!({
        "credential_query_params": ["token"],
        "upstreams": { "app": { "url": upstream } },
        "routes": [
            { "id": "linea21-api", "methods": ["GET"], "path": "/api/",
              "module": { "query": "module" }, "action": { "query": "action" }, "upstream": "app" },
            { "id": "site", "methods": ["GET"], "path": "/public/{*rest}", "upstream": "app", "public": true }
        ],
        "imports": [{ "format": "linea21", "path": import.to_str().expect("utf-8") }]
    });
    if let Some(m) = mode {
        p["mode"] = json!(m);
    }
    p
}

#[tokio::test]
async fn the_seed_file_with_its_trailing_comma_is_refused_at_the_comma() {
    let with_comma = linea21_dir().join("api-permissions-seed.json");
    let text = std::fs::read_to_string(&with_comma).expect("fixture");
    let lines: Vec<&str> = text.lines().collect();
    let comma_line = lines
        .iter()
        .rposition(|l| *l == "  },")
        .expect("comma line")
        + 1;
    assert_eq!(lines[comma_line..], ["}"], "the comma is the last one");
    let policy = linea21_dir().join("policy-seed.json");
    let errs = match portcullis::policy::load(&policy) {
        Err(e) => e,
        Ok(_) => panic!("a trailing comma must not load"),
    };
    assert_eq!(errs.0.len(), 1, "{errs}");
    let p = &errs.0[0];
    assert_eq!(p.file, with_comma);
    assert_eq!((p.line, p.column), (comma_line, 4), "{p}");
    assert_eq!(p.message, "trailing comma");

    let run = cli::run(&["check", "--policy", cli::s(&policy)], None).await;
    assert_eq!(run.code, Some(1), "{}", run.all());
    let place = format!("{}:{comma_line}:4: $: trailing comma", with_comma.display());
    assert!(run.stderr.contains(&place), "{}", run.stderr);
    for token in [TOKEN_1, TOKEN_2, "6685453c9821b", "895223bc9878a"] {
        assert!(
            !run.all().contains(token),
            "check printed a token: {}",
            run.all()
        );
    }
}

#[tokio::test]
async fn check_output_names_tokens_only_by_id() {
    let run = cli::run(
        &[
            "check",
            "--policy",
            cli::s(&linea21_dir().join("policy-seed-fixed.json")),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        run.stderr.contains("2 plaintext token(s)"),
        "{}",
        run.stderr
    );
    let bad = cli::run(
        &[
            "check",
            "--policy",
            cli::s(&linea21_dir().join("policy-bad-status.json")),
        ],
        None,
    )
    .await;
    assert_eq!(bad.code, Some(1), "{}", bad.all());
    let shown = format!(
        "$[\"<token {}>\"].permissions.status: unknown status `everything`",
        l21_id(TOKEN_1)
    );
    assert!(bad.stderr.contains(&shown), "{}", bad.stderr);
    for run in [run, bad] {
        for token in [TOKEN_1, TOKEN_2, "6685453c9821b", "895223bc9878a"] {
            assert!(
                !run.all().contains(token),
                "check printed a token: {}",
                run.all()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_work_as_keys_with_their_status() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy(&up.url(), None)).await;
    let q1 = format!("/api/?module=indicator&action=info-full&token={TOKEN_1}");
    let resp = client::get(&gw.url(&q1), &[]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = up.last();
    assert_eq!(seen.header("x-portcullis-key-id"), l21_id(TOKEN_1));
    assert_eq!(seen.header("x-portcullis-status"), "all");
    assert_eq!(
        seen.query.as_deref(),
        Some("module=indicator&action=info-full")
    );

    let bearer = format!("Bearer {TOKEN_2}");
    let resp = client::get(
        &gw.url("/api/?module=indicator&action=delete"),
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(
        resp.status,
        200,
        "`all` grants every indicator action: {}",
        resp.text()
    );
    let seen = up.last();
    assert_eq!(seen.header("x-portcullis-key-id"), l21_id(TOKEN_2));
    assert_eq!(
        seen.header("x-portcullis-status"),
        "P",
        "absent status means public only"
    );

    let denied: &[(&str, String)] = &[
        (
            "/api/?module=indicator&action=delete",
            format!("Bearer {TOKEN_1}"),
        ),
        (
            "/api/?module=level&action=info",
            format!("Bearer {TOKEN_2}"),
        ),
        (
            "/api/?module=status&action=list",
            format!("Bearer {TOKEN_1}"),
        ),
    ];
    for (target, auth) in denied {
        let resp = client::get(&gw.url(target), &[("authorization", auth)]).await;
        assert_rejected(&resp, 403, "permission_denied");
    }
    assert_eq!(up.count(), 2);
    let named = format!("\"credential_id\":\"{}\"", l21_id(TOKEN_1));
    let logged = logs::wait_for(|t| t.contains(&named)).await;
    assert!(logged.contains(&named), "access log names the id");
    for token in [TOKEN_1, TOKEN_2] {
        assert!(!logged.contains(token), "a Linea21 token reached the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_api_modes() {
    let up = Upstream::start().await;
    let list = "/api/?module=indicator&action=list";
    let with_token = format!("{list}&token={TOKEN_1}");

    let gw = Harness::start(&policy(&up.url(), Some("disabled"))).await;
    assert_rejected(
        &client::get(&gw.url(&with_token), &[]).await,
        403,
        "api_disabled",
    );
    assert_rejected(&client::get(&gw.url(list), &[]).await, 403, "api_disabled");
    assert_eq!(up.count(), 0, "a disabled API forwards nothing");
    assert_eq!(
        client::get(&gw.url("/public/index.php"), &[]).await.status,
        200
    );
    up.clear();

    let gw = Harness::start(&policy(&up.url(), Some("full-access"))).await;
    assert_eq!(client::get(&gw.url(list), &[]).await.status, 200);
    let seen = up.last();
    assert!(
        !seen.headers.contains_key("x-portcullis-key-id"),
        "no key stands behind it"
    );
    assert_eq!(seen.header("x-portcullis-module"), "indicator");
    assert_eq!(client::get(&gw.url(&with_token), &[]).await.status, 200);
    assert_eq!(
        up.last().query.as_deref(),
        Some("module=indicator&action=list")
    );
    up.clear();

    for mode in [None, Some("limited-access")] {
        let gw = Harness::start(&policy(&up.url(), mode)).await;
        assert_rejected(
            &client::get(&gw.url(list), &[]).await,
            401,
            "missing_credential",
        );
        assert_eq!(up.count(), 0, "{mode:?}");
        assert_eq!(
            client::get(&gw.url(&with_token), &[]).await.status,
            200,
            "{mode:?}"
        );
        up.clear();
    }
}
