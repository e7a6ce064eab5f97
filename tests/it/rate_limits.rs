//! Rate limits, quotas and the failed-credential throttle through the gateway, in real time:
//! 429 with `Retry-After` and the `RateLimit` headers, nothing forwarded and no body read when
//! limited, others unaffected, buckets kept across a reload that keeps the limit and a changed
//! limit taking effect, role and route limits, per-address anonymous limits, quotas shown on the
//! admin listener, and guessing throttled before any lookup. (Exact GCRA timing is tested with a
//! fake clock in `ratelimit::local`.)

use std::net::IpAddr;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};

use crate::support::client::{self, Resp, assert_rejected};
use crate::support::policy::{self, ADMIN, READER};
use crate::support::{Harness, Upstream};

const LIST: &str = "/api/?module=indicator&action=list";

async fn get_as(gw: &Harness, key: &str) -> Resp {
    client::get(&gw.url(LIST), &[("x-api-key", key)]).await
}

fn limited(p: &mut Value, key: &str, requests: u32) {
    p["keys"][key]["rate_limit"] = json!({ "requests": requests, "per_s": 3600 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_limit_gets_429_with_headers_and_nothing_is_forwarded() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    limited(&mut p, "reader", 2);
    let gw = Harness::start(&p).await;
    for _ in 0..2 {
        assert_eq!(get_as(&gw, READER).await.status, 200);
    }
    let r = get_as(&gw, READER).await;
    assert_rejected(&r, 429, "rate_limited");
    // One request every 1800 s: the next comes in (up to) 1800 s.
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1790..=1800).contains(&retry), "{retry}");
    assert_eq!(r.header("ratelimit-policy"), Some("\"default\";q=2;w=3600"));
    assert_eq!(
        r.header("ratelimit"),
        Some(format!("\"default\";r=0;t={retry}").as_str())
    );
    assert_eq!(up.count(), 2, "the limited request was forwarded");
    // Another key has its own budget.
    assert_eq!(get_as(&gw, ADMIN).await.status, 200);
    // A limited request's body is never read: the 429 comes although the body never does.
    let head = format!(
        "POST {LIST} HTTP/1.1\r\nHost: x\r\nX-API-Key: {READER}\r\nContent-Type: text/plain\r\n\
         Content-Length: 1000000\r\n\r\npartial"
    );
    let raw = tokio::time::timeout(
        Duration::from_secs(5),
        raw_until_head(gw.addr, head.as_bytes()),
    )
    .await
    .expect("answered without waiting for the body");
    assert!(raw.starts_with("HTTP/1.1 429"), "{raw}");
    assert_eq!(up.count(), 3, "only the admin request got through");
}

/// Send `bytes` and read until the end of a response head, leaving the connection open.
async fn raw_until_head(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    client::read_head(&mut s).await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_bucket_and_a_changed_limit_takes_effect() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    limited(&mut p, "reader", 1);
    let gw = Harness::start(&p).await;
    assert_eq!(get_as(&gw, READER).await.status, 200);
    assert_eq!(get_as(&gw, READER).await.status, 429);
    // An unrelated edit: same limit, same bucket, still spent.
    p["keys"]["reader"]["description"] = json!("edited");
    gw.rewrite(&p).await;
    assert_eq!(
        get_as(&gw, READER).await.status,
        429,
        "the reload reset the bucket"
    );
    // A raised limit applies at once.
    limited(&mut p, "reader", 5);
    gw.rewrite(&p).await;
    assert_eq!(get_as(&gw, READER).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_route_and_anonymous_limits() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    // The reader key holds `indicator-reader`: that role's limit applies to it.
    p["rate_limits"] = json!({
        "roles": { "indicator-reader": { "requests": 1, "per_s": 3600 } },
        "anonymous": { "requests": 2, "per_s": 3600 },
    });
    // The admin key's own limit is generous; the route's default does not apply to it.
    p["keys"]["admin"]["rate_limit"] = json!({ "requests": 100, "per_s": 1 });
    let routes = p["routes"].as_array_mut().expect("routes");
    let by_path = routes
        .iter_mut()
        .find(|r| r["id"] == "api-by-path")
        .expect("api-by-path");
    by_path["rate_limit"] = json!({ "requests": 1, "per_s": 3600 });
    let gw = Harness::start(&p).await;
    assert_eq!(get_as(&gw, READER).await.status, 200);
    assert_eq!(get_as(&gw, READER).await.status, 429, "the role's limit");
    let path = gw.url("/api/v1/indicator/list");
    for _ in 0..3 {
        let r = client::get(&path, &[("x-api-key", ADMIN)]).await;
        assert_eq!(r.status, 200, "the key's own limit wins over the route's");
    }
    // Public route, no principal: per client address.
    let public = gw.url("/public/readme");
    let from = |ip: &str| client::h1_from(ip.parse::<IpAddr>().expect("ip"));
    let get = |c: client::TestClient| {
        let url = public.clone();
        async move {
            client::send(
                &c,
                client::request(Method::GET, &url, &[], client::full("")),
            )
            .await
        }
    };
    assert_eq!(get(from("127.0.0.1")).await.status, 200);
    assert_eq!(get(from("127.0.0.1")).await.status, 200);
    assert_eq!(get(from("127.0.0.1")).await.status, 429);
    assert_eq!(get(from("127.0.0.2")).await.status, 200, "another address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_run_out_and_show_on_the_admin_listener() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    p["keys"]["reader"]["quota"] = json!({ "total": 10, "per_day": 2 });
    p["rate_limits"] = json!({ "headers": true });
    let gw = Harness::start(&p).await;
    let first = get_as(&gw, READER).await;
    assert_eq!(first.status, 200);
    assert_eq!(get_as(&gw, READER).await.status, 200);
    let r = get_as(&gw, READER).await;
    assert_rejected(&r, 429, "quota_exhausted");
    let retry: u64 = r
        .header("retry-after")
        .expect("until tomorrow")
        .parse()
        .expect("secs");
    assert!(retry <= 86_400);
    assert_eq!(up.count(), 2);
    let limits = client::get(&gw.admin_url("/limits"), &[]).await.json();
    let q = &limits["quotas"]["reader"];
    assert_eq!(
        (
            &q["used_today"],
            &q["remaining_today"],
            &q["remaining_total"]
        ),
        (&json!(2), &json!(0), &json!(8)),
        "{limits}"
    );
    assert!(
        !limits.to_string().contains(READER),
        "a secret on the admin listener"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_responses_carry_ratelimit_headers_when_asked() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    limited(&mut p, "reader", 3);
    p["rate_limits"] = json!({ "headers": true });
    let gw = Harness::start(&p).await;
    let r = get_as(&gw, READER).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit-policy"), Some("\"default\";q=3;w=3600"));
    assert_eq!(r.header("ratelimit"), Some("\"default\";r=2;t=0"));
    // Without `headers`, allowed responses carry none.
    p["rate_limits"] = json!({});
    gw.rewrite(&p).await;
    let r = get_as(&gw, READER).await;
    assert_eq!(r.status, 200);
    assert!(r.header("ratelimit").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_throttled_per_address_before_any_lookup() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    p["rate_limits"] = json!({ "failed_credentials": { "max": 3, "window_s": 60 } });
    let gw = Harness::start(&p).await;
    let send = |from: &str, key: &str| {
        let c = client::h1_from(from.parse::<IpAddr>().expect("ip"));
        let req = client::request(
            Method::GET,
            &gw.url(LIST),
            &[("x-api-key", key)],
            client::full(""),
        );
        async move { client::send(&c, req).await }
    };
    for n in 0..3 {
        let r = send("127.0.0.3", &format!("guess-{n}")).await;
        assert_rejected(&r, 401, "invalid_credential");
    }
    let r = send("127.0.0.3", "guess-4").await;
    assert_rejected(&r, 429, "too_many_failures");
    assert!(r.header("retry-after").is_some());
    // Locked out, even with a good key: nothing from that address is looked up.
    assert_eq!(send("127.0.0.3", READER).await.status, 429);
    // Another address is not.
    assert_eq!(send("127.0.0.4", READER).await.status, 200);
    // Only the good key from the other address reached the upstream.
    assert_eq!(up.count(), 1);
}
