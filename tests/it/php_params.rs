//! Parameters agree with PHP: a selector (`module`, `action`) sent twice, as an array, under a
//! spelling PHP mangles into it (` module`, `mod.name` for `mod_name`), or repeated in a form
//! body that `$_REQUEST` would let win, is refused with 400 and never forwarded.

use http::Method;
use serde_json::json;

use crate::support::client::{self, assert_rejected, full, request};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Upstream};

/// The standard policy plus `/legacy/`, whose module comes from `mod_name` and action from `do`.
fn policy_with_legacy(upstream: &str) -> serde_json::Value {
    let mut p = policy::standard(upstream);
    p["routes"].as_array_mut().expect("routes").push(json!({
        "id": "legacy", "methods": ["GET", "POST"], "path": "/legacy/",
        "module": { "query": "mod_name" }, "action": { "query": "do" }, "upstream": "app"
    }));
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_selectors_in_the_query_are_400() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy_with_legacy(&up.url())).await;
    let cases: &[(&str, &str)] = &[
        (
            "/api/?module=indicator&module=admin&action=list",
            "repeated_parameter",
        ),
        (
            "/api/?module=indicator&action=list&action=delete",
            "repeated_parameter",
        ),
        (
            "/api/?module=indicator&action=list&module=indicator",
            "repeated_parameter",
        ),
        ("/api/?module[]=indicator&action=list", "array_parameter"),
        (
            "/api/?module%5B%5D=indicator&action=list",
            "array_parameter",
        ),
        ("/api/?module[0]=indicator&action=list", "array_parameter"),
        (
            "/api/?module=indicator&action=list&action[x]=delete",
            "array_parameter",
        ),
        (
            "/api/?%20module=admin&module=indicator&action=list",
            "mangled_parameter",
        ),
        ("/api/?+module=admin&action=list", "mangled_parameter"),
        (
            "/api/?module=indicator&%20%20action=delete",
            "mangled_parameter",
        ),
        ("/legacy/?mod.name=admin&do=list", "mangled_parameter"),
        ("/legacy/?mod%20name=admin&do=list", "mangled_parameter"),
        ("/legacy/?mod[name=admin&do=list", "mangled_parameter"),
        (
            "/legacy/?mod_name=indicator&mod.name=admin&do=list",
            "mangled_parameter",
        ),
        (
            "/legacy/?mod_name=indicator&do=list&mod_name=admin",
            "repeated_parameter",
        ),
    ];
    for (target, code) in cases {
        let url = gw.url(target);
        let resp = client::curl(&[
            "--globoff",
            "--path-as-is",
            "-H",
            &format!("X-API-Key: {ADMIN}"),
            &url,
        ])
        .await;
        assert_rejected(&resp, 400, code);
        assert_eq!(up.count(), 0, "{target} was forwarded");
    }
    let resp = client::get(
        &gw.url("/legacy/?mod_name=indicator&do=list"),
        &[("x-api-key", ADMIN)],
    )
    .await;
    assert_eq!(
        resp.status,
        200,
        "the exact spelling is accepted: {}",
        resp.text()
    );
    assert_eq!(up.only().header("x-portcullis-module"), "indicator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_body_naming_a_query_selector_is_400() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy_with_legacy(&up.url())).await;
    let form = "application/x-www-form-urlencoded";
    let multipart = "multipart/form-data; boundary=XyZ";
    let part = |name: &str| {
        format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\nadmin\r\n--XyZ--\r\n"
        )
    };
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "/api/?module=indicator&action=list",
            form,
            "module=admin".into(),
        ),
        (
            "/api/?module=indicator&action=list",
            form,
            "title=x&action=delete".into(),
        ),
        (
            "/api/?module=indicator&action=list",
            form,
            "%20module=admin".into(),
        ),
        (
            "/api/?module=indicator&action=list",
            form,
            "x=1&mod%75le=admin".into(),
        ),
        (
            "/api/?module=indicator&action=list",
            form,
            "module[]=admin".into(),
        ),
        (
            "/api/?module=indicator&action=list",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            "module=admin".into(),
        ),
        (
            "/api/?module=indicator&action=list",
            multipart,
            part("module"),
        ),
        (
            "/api/?module=indicator&action=list",
            multipart,
            part("action[]"),
        ),
        (
            "/legacy/?mod_name=indicator&do=list",
            form,
            "mod.name=admin".into(),
        ),
    ];
    for (target, ctype, body) in cases {
        let req = request(
            Method::POST,
            &gw.url(target),
            &[("x-api-key", ADMIN), ("content-type", ctype)],
            full(body.clone()),
        );
        let resp = client::send(&client::h1(), req).await;
        assert_rejected(&resp, 400, "body_overrides_parameter");
        assert_eq!(up.count(), 0, "{target} with {body:?} was forwarded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_php_would_not_read_as_selectors_are_forwarded_intact() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy_with_legacy(&up.url())).await;
    let form = "application/x-www-form-urlencoded";
    let cases: &[(&str, &str, &str)] = &[
        (
            "/api/?module=indicator&action=list",
            form,
            "title=hello+world&modules=2&x=module",
        ),
        (
            "/api/?module=indicator&action=list",
            form,
            "a=1;module=admin",
        ),
        (
            "/api/?module=indicator&action=list",
            "application/json",
            r#"{"module":"admin"}"#,
        ),
        ("/api/v1/indicator/list", form, "module=admin&action=delete"),
    ];
    for (target, ctype, body) in cases {
        up.clear();
        let req = request(
            Method::POST,
            &gw.url(target),
            &[("x-api-key", ADMIN), ("content-type", ctype)],
            full(body.to_string()),
        );
        let resp = client::send(&client::h1(), req).await;
        assert_eq!(resp.status, 200, "{target} {body}: {}", resp.text());
        let seen = up.only();
        assert_eq!(seen.body, body.as_bytes(), "{target}");
        assert_eq!(seen.header("x-portcullis-module"), "indicator");
        assert_eq!(seen.header("x-portcullis-action"), "list");
    }
}

/// Without a php.ini (the official Docker images ship none enabled), PHP's `request_order` is
/// empty and `$_REQUEST` follows `variables_order` = "EGPCS": cookies are merged last and win
/// over the query. A `Cookie: module=admin` then overrides the module the gateway decided on,
/// exactly like the form body the gateway already refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_cookie_naming_a_query_selector_is_400() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy_with_legacy(&up.url())).await;
    let url = gw.url("/api/?module=indicator&action=list");
    for cookie in ["module=admin", "session=1; action=delete", "module[]=x"] {
        let resp = client::get(&url, &[("x-api-key", ADMIN), ("cookie", cookie)]).await;
        assert_rejected(&resp, 400, "cookie_overrides_parameter");
        assert_eq!(up.count(), 0, "{cookie} was forwarded");
    }
}
