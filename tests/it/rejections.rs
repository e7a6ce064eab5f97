//! Rejections: each deny reason answers its exact status, `WWW-Authenticate` challenge and JSON
//! body (`error`, `message`, `request_id`), and the upstream records nothing for any of them.

use http::Method;
use serde_json::json;

use crate::support::client::{self, assert_rejected, full, request};
use crate::support::policy::{self, DISABLED, EXPIRED, FUTURE, INBOX_A, READ_ONLY, READER};
use crate::support::{Harness, Upstream};

const INVALID_TOKEN: &str = r#"Bearer realm="portcullis", error="invalid_token""#;
const INSUFFICIENT: &str = r#"Bearer realm="portcullis", error="insufficient_scope""#;

/// (case, method, target, headers, status, code, challenge)
type Case<'a> = (
    &'a str,
    Method,
    &'a str,
    Vec<(&'a str, String)>,
    u16,
    &'a str,
    Option<&'a str>,
);

fn bearer(secret: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {secret}"))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_deny_has_its_status_challenge_and_body_and_forwards_nothing() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let list = "/api/?module=indicator&action=list";
    let cases: Vec<Case> = vec![
        (
            "missing",
            Method::GET,
            list,
            vec![],
            401,
            "missing_credential",
            Some(INVALID_TOKEN),
        ),
        (
            "unknown",
            Method::GET,
            list,
            bearer("no-such-key"),
            401,
            "invalid_credential",
            Some(INVALID_TOKEN),
        ),
        (
            "expired",
            Method::GET,
            list,
            bearer(EXPIRED),
            401,
            "credential_expired",
            Some(INVALID_TOKEN),
        ),
        (
            "not yet valid",
            Method::GET,
            list,
            bearer(FUTURE),
            401,
            "credential_not_yet_valid",
            Some(INVALID_TOKEN),
        ),
        (
            "disabled",
            Method::GET,
            list,
            bearer(DISABLED),
            401,
            "credential_disabled",
            Some(INVALID_TOKEN),
        ),
        (
            "basic is not a credential",
            Method::GET,
            list,
            vec![("authorization", "Basic dXNlcjpwYXNz".into())],
            401,
            "missing_credential",
            Some(INVALID_TOKEN),
        ),
        (
            "no permission",
            Method::GET,
            "/api/?module=indicator&action=delete",
            bearer(READER),
            403,
            "permission_denied",
            Some(INSUFFICIENT),
        ),
        (
            "other module",
            Method::GET,
            "/inboxes/a/documents",
            bearer(READER),
            403,
            "permission_denied",
            Some(INSUFFICIENT),
        ),
        (
            "out of scope",
            Method::GET,
            "/inboxes/b/documents",
            bearer(INBOX_A),
            403,
            "out_of_scope",
            Some(INSUFFICIENT),
        ),
        (
            "read-only",
            Method::POST,
            "/api/v1/indicator/update",
            bearer(READ_ONLY),
            403,
            "read_only",
            Some(INSUFFICIENT),
        ),
        (
            "unmapped",
            Method::GET,
            "/nowhere",
            bearer(READER),
            404,
            "no_route",
            None,
        ),
        (
            "unmapped without credential",
            Method::GET,
            "/api/v1/x",
            vec![],
            404,
            "no_route",
            None,
        ),
        (
            "wrong method",
            Method::DELETE,
            list,
            bearer(READER),
            405,
            "method_not_allowed",
            None,
        ),
        (
            "missing selector",
            Method::GET,
            "/api/?module=indicator",
            bearer(READER),
            400,
            "missing_parameter",
            None,
        ),
    ];
    for (case, method, target, headers, status, code, challenge) in cases {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = client::send(
            &client::h1(),
            request(method, &gw.url(target), &h, full("")),
        )
        .await;
        assert_rejected(&resp, status, code);
        assert_eq!(resp.header("www-authenticate"), challenge, "{case}");
        assert_eq!(resp.header("cache-control"), Some("no-store"), "{case}");
        assert_eq!(up.count(), 0, "{case}: the upstream saw a denied request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validity_window_follows_the_clock() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let url = gw.url("/api/?module=indicator&action=list");
    let ask = || client::get(&url, &[("x-api-key", FUTURE)]);
    assert_rejected(&ask().await, 401, "credential_not_yet_valid");
    gw.clock
        .set(time::macros::datetime!(2026-07-01 0:00 UTC).unix_timestamp());
    assert_eq!(ask().await.status, 200);
    let expiring = client::get(&url, &[("x-api-key", EXPIRED)]).await;
    assert_rejected(&expiring, 401, "credential_expired");
    gw.clock
        .set(time::macros::datetime!(2025-12-31 23:59:59 UTC).unix_timestamp());
    assert_eq!(
        client::get(&url, &[("x-api-key", EXPIRED)]).await.status,
        200
    );
    assert_rejected(&ask().await, 401, "credential_not_yet_valid");
    assert_eq!(up.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmapped_status_403_is_configurable() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    p["unmapped_status"] = json!(403);
    let gw = Harness::start(&p).await;
    let resp = client::get(&gw.url("/nowhere"), &[("x-api-key", READER)]).await;
    assert_rejected(&resp, 403, "no_route");
    assert_eq!(resp.header("www-authenticate"), None);
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_limits_are_enforced_before_forwarding() {
    let up = Upstream::start().await;
    let limits = portcullis::gateway::Limits {
        max_uri_bytes: 64,
        max_params: 4,
        ..Default::default()
    };
    let opts = crate::support::Options {
        limits,
        ..Default::default()
    };
    let gw = Harness::start_with(&policy::standard(&up.url()), opts).await;
    let key = [("x-api-key", policy::ADMIN)];
    let long = format!("/api/?module=indicator&action=list&pad={}", "x".repeat(40));
    assert_rejected(
        &client::get(&gw.url(&long), &key).await,
        414,
        "uri_too_long",
    );
    let many = "/api/?module=indicator&action=list&a=1&b=2&c=3";
    assert_rejected(
        &client::get(&gw.url(many), &key).await,
        400,
        "too_many_parameters",
    );
    assert_eq!(up.count(), 0);
    let ok = "/api/?module=indicator&action=list&a=1&b=2";
    assert_eq!(client::get(&gw.url(ok), &key).await.status, 200);
}

/// RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405 response
/// containing a list of the target resource's currently supported methods."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn method_not_allowed_lists_the_allowed_methods() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let req = request(
        Method::DELETE,
        &gw.url("/api/?module=indicator&action=list"),
        &[],
        full(""),
    );
    let resp = client::send(&client::h1(), req).await;
    assert_rejected(&resp, 405, "method_not_allowed");
    let allow = resp.header("allow").expect("an Allow header");
    let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    methods.sort_unstable();
    assert_eq!(methods, ["GET", "POST"]);
}
