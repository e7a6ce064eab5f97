//! Tests of the Redis backend: settings, TLS choices, the fail mode with no server.

use super::*;

fn settings(json: &str) -> RedisSettings {
    serde_json::from_str(json).expect("settings")
}

#[test]
fn the_url_comes_from_one_source_and_is_never_shown() {
    let s = settings(r#"{"url_env": "R"}"#);
    assert_eq!((s.timeout_ms, s.fail), (5, FailMode::Open));
    let e = s.client(&|_| None).expect_err("unset");
    assert!(e.to_string().contains("R is not set"), "{e}");
    let e = s
        .client(&|_| Some("nonsense://:hunter2@x".into()))
        .expect_err("invalid");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(s.client(&|_| Some("redis://127.0.0.1:1/".into())).is_ok());
    let none = settings(r#"{"fail": "closed"}"#);
    assert!(matches!(none.client(&|_| None), Err(RedisError::Source(_))));
}

#[test]
fn tls_is_verified_and_needs_a_rediss_url() {
    let tls = settings(r#"{"url_env": "R", "tls": {}}"#);
    let e = tls
        .client(&|_| Some("redis://127.0.0.1:1/".into()))
        .expect_err("plain URL with tls");
    assert!(matches!(e, RedisError::TlsUrl(_)), "{e}");
    assert!(
        tls.client(&|_| Some("rediss://127.0.0.1:1/".into()))
            .is_ok()
    );
    let plain = settings(r#"{"url_env": "R"}"#);
    assert!(
        plain
            .client(&|_| Some("rediss://127.0.0.1:1/".into()))
            .is_ok()
    );
    let e = plain
        .client(&|_| Some("rediss://:hunter2@127.0.0.1:1/#insecure".into()))
        .expect_err("unverified");
    assert!(matches!(e, RedisError::TlsUrl(_)), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let missing = settings(r#"{"url_env": "R", "tls": {"ca_file": "/nonexistent/ca.pem"}}"#);
    let e = missing
        .client(&|_| Some("rediss://127.0.0.1:1/".into()))
        .expect_err("missing CA");
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
}

#[test]
fn an_unreachable_redis_is_decided_by_the_fail_mode() {
    let limit = RateLimit {
        requests: 1,
        per_s: 60,
        burst: 1,
    };
    let bucket = Bucket::of(super::super::Scope::Principal("k1"));
    let env = |_: &str| Some("redis://127.0.0.1:1/".to_owned());
    let open =
        Redis::new(&settings(r#"{"url_env": "R", "timeout_ms": 1000}"#), &env).expect("open");
    // Refused (or late): the local limiter decides, one allowed, then limited.
    assert!(matches!(open.check(bucket, limit), Verdict::Allowed { .. }));
    assert!(matches!(open.check(bucket, limit), Verdict::Limited { .. }));
    assert_eq!(
        open.errors(),
        Some(1),
        "the second check skipped redis (backoff)"
    );
    let closed = Redis::new(
        &settings(r#"{"url_env": "R", "timeout_ms": 1000, "fail": "closed"}"#),
        &env,
    )
    .expect("closed");
    assert!(matches!(
        closed.check(bucket, limit),
        Verdict::Limited { .. }
    ));
}
