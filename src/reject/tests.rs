//! Tests of `reject`.
use super::*;
use Rejection::*;
use http::{HeaderValue, Response, header};

use crate::body::Body;
use crate::kinds::ErrorStyle;

type Want = (u16, &'static str, Option<&'static str>);

const LIMIT: crate::grant::RateLimit = crate::grant::RateLimit {
    requests: 10,
    per_s: 60,
    burst: 5,
};

/// The documented mapping, written as an exhaustive match: a new variant does not compile here
/// until its status and code are pinned.
fn documented(r: &Rejection) -> Want {
    let invalid = Some("invalid_token");
    let scope = Some("insufficient_scope");
    match r {
        NonCanonical(e) => (400, e.code(), None),
        EncodedPercent => (400, "encoded_percent", None),
        EncodedDelimiter => (400, "encoded_delimiter", None),
        MethodOverride => (400, "method_override", None),
        MethodNotImplemented => (501, "method_not_implemented", None),
        MissingHost => (400, "missing_host", None),
        HostMismatch => (400, "host_mismatch", None),
        AmbiguousParameter(e) => (400, e.code(), None),
        BodyOverridesSelector => (400, "body_overrides_parameter", None),
        CookieOverridesSelector => (400, "cookie_overrides_parameter", None),
        TooManyParameters => (400, "too_many_parameters", None),
        UnreadableHeader => (400, "unreadable_header", None),
        RepeatedHeader => (400, "repeated_header", None),
        MultipleCredentials => (400, "multiple_credentials", None),
        MissingForwardedUri => (400, "missing_forwarded_uri", None),
        UntrustedForwarder => (403, "untrusted_forwarder", None),
        MissingSelector => (400, "missing_parameter", None),
        NoRoute => (404, "no_route", None),
        MethodNotAllowed(_) => (405, "method_not_allowed", None),
        ApiDisabled => (403, "api_disabled", None),
        MissingCredential => (401, "missing_credential", invalid),
        UnknownCredential => (401, "invalid_credential", invalid),
        CredentialExpired => (401, "credential_expired", invalid),
        CredentialNotYetValid => (401, "credential_not_yet_valid", invalid),
        CredentialDisabled => (401, "credential_disabled", invalid),
        CredentialRevoked => (401, "credential_revoked", invalid),
        WrongTokenKind => (401, "wrong_credential_kind", invalid),
        PermissionDenied => (403, "permission_denied", scope),
        OutOfScope => (403, "out_of_scope", scope),
        ReadOnly => (403, "read_only", scope),
        BodyTooLarge => (413, "body_too_large", None),
        BadFraming => (400, "bad_framing", None),
        MalformedBody => (400, "malformed_body", None),
        BodyTimeout => (408, "body_timeout", None),
        RateLimited(_) => (429, "rate_limited", None),
        QuotaExhausted(_) => (429, "quota_exhausted", None),
        TooManyFailures(_) => (429, "too_many_failures", None),
        UriTooLong => (414, "uri_too_long", None),
        MisdirectedRequest => (421, "misdirected_request", None),
        UpstreamUnreachable => (502, "upstream_unreachable", None),
        UpstreamFailed => (502, "upstream_failed", None),
        UpstreamTimeout => (504, "upstream_timeout", None),
        NoPolicy => (503, "no_policy", None),
        Internal => (500, "internal_error", None),
    }
}

/// One value of every variant.
fn all() -> Vec<Rejection> {
    vec![
        NonCanonical(CanonicalError::DotSegment),
        EncodedPercent,
        EncodedDelimiter,
        MethodOverride,
        MethodNotImplemented,
        MissingHost,
        HostMismatch,
        AmbiguousParameter(ParamError::Array),
        BodyOverridesSelector,
        CookieOverridesSelector,
        TooManyParameters,
        UnreadableHeader,
        RepeatedHeader,
        MultipleCredentials,
        MissingForwardedUri,
        UntrustedForwarder,
        MissingSelector,
        NoRoute,
        MethodNotAllowed(Allow("GET, POST".into())),
        ApiDisabled,
        MissingCredential,
        UnknownCredential,
        CredentialExpired,
        CredentialNotYetValid,
        CredentialDisabled,
        CredentialRevoked,
        WrongTokenKind,
        PermissionDenied,
        OutOfScope,
        ReadOnly,
        BodyTooLarge,
        BadFraming,
        MalformedBody,
        BodyTimeout,
        RateLimited(Wait::limited(LIMIT, std::time::Duration::from_millis(1500))),
        QuotaExhausted(Wait::quota(Some(60))),
        TooManyFailures(Wait::failures(30)),
        UriTooLong,
        MisdirectedRequest,
        UpstreamUnreachable,
        UpstreamFailed,
        UpstreamTimeout,
        NoPolicy,
        Internal,
    ]
}

#[test]
fn every_rejection_maps_to_its_documented_status_and_code() {
    let all = all();
    // `documented` is exhaustive; this count makes sure `all` names every variant it names.
    let kinds: std::collections::HashSet<_> = all.iter().map(std::mem::discriminant).collect();
    assert_eq!(kinds.len(), 44, "add the new variant to `all()`");
    for r in &all {
        let m = r.mapping(StatusCode::NOT_FOUND);
        assert_eq!(
            (m.status.as_u16(), m.code, m.bearer_error),
            documented(r),
            "{r:?}"
        );
    }
    assert_eq!(NoRoute.mapping(StatusCode::FORBIDDEN).status, 403);
}

#[test]
fn the_response_carries_what_the_rejection_needs() {
    for r in all() {
        let resp = respond(&r, StatusCode::NOT_FOUND, "0123abcd", ErrorStyle::Standard);
        let h = resp.headers();
        assert_eq!(h[REQUEST_ID], "0123abcd", "{r:?}");
        assert_eq!(h[REASON], documented(&r).1, "{r:?}");
        assert_eq!(h[header::CACHE_CONTROL], "no-store", "{r:?}");
        match &r {
            MethodNotAllowed(Allow(list)) => assert_eq!(h[header::ALLOW], list.as_str()),
            _ => assert!(h.get(header::ALLOW).is_none(), "{r:?}"),
        }
        match &r {
            RateLimited(_) => {
                assert_eq!(h[header::RETRY_AFTER], "2", "rounded up");
                assert_eq!(h["ratelimit-policy"], "\"default\";q=10;w=60");
                assert_eq!(h["ratelimit"], "\"default\";r=0;t=2");
            }
            QuotaExhausted(_) => assert_eq!(h[header::RETRY_AFTER], "60"),
            TooManyFailures(_) => assert_eq!(h[header::RETRY_AFTER], "30"),
            _ => assert!(h.get(header::RETRY_AFTER).is_none(), "{r:?}"),
        }
        let challenge = h.get(header::WWW_AUTHENTICATE).map(HeaderValue::as_bytes);
        let want = documented(&r)
            .2
            .map(|e| format!("Bearer realm=\"portcullis\", error=\"{e}\""));
        assert_eq!(challenge, want.as_deref().map(str::as_bytes), "{r:?}");
    }
}

#[test]
fn unauthorized_carries_rfc6750_challenge_and_json_body() {
    let resp = respond(
        &MissingCredential,
        StatusCode::NOT_FOUND,
        "rid-1",
        ErrorStyle::Standard,
    );
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"portcullis\", error=\"invalid_token\""
    );
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
}

#[test]
fn trivore_style_carries_error_message_with_the_code() {
    use http_body_util::BodyExt;
    let r = respond(
        &PermissionDenied,
        StatusCode::NOT_FOUND,
        "0123abcd",
        ErrorStyle::Trivore,
    );
    assert_eq!(r.status(), 403);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let b = rt.block_on(r.into_body().collect()).unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["error"], "permission_denied");
    assert_eq!(v["request_id"], "0123abcd");
    assert!(v["errorMessage"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn seatable_style_turns_auth_failures_into_403_error_msg() {
    use http_body_util::BodyExt;
    let body = |r: Response<Body>| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let b = rt.block_on(r.into_body().collect()).unwrap().to_bytes();
        String::from_utf8(b.to_vec()).unwrap()
    };
    let st = ErrorStyle::Seatable;
    let r = respond(&CredentialExpired, StatusCode::NOT_FOUND, "x", st);
    assert_eq!(r.status(), 403);
    assert_eq!(body(r), r#"{"error_msg":"Token expired."}"#);
    for rej in [
        MissingCredential,
        UnknownCredential,
        ReadOnly,
        OutOfScope,
        CredentialRevoked,
    ] {
        let r = respond(&rej, StatusCode::NOT_FOUND, "x", st);
        assert_eq!(r.status(), 403);
        assert_eq!(body(r), r#"{"error_msg":"Permission denied."}"#);
    }
    assert_eq!(
        respond(&UpstreamTimeout, StatusCode::NOT_FOUND, "x", st).status(),
        504
    );
}

#[test]
fn every_body_is_json_with_code_message_and_request_id() {
    use http_body_util::BodyExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for r in all() {
        let resp = respond(&r, StatusCode::NOT_FOUND, "0123abcd", ErrorStyle::Standard);
        let bytes = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let m = r.mapping(StatusCode::NOT_FOUND);
        assert_eq!(v["error"], m.code);
        assert_eq!(v["message"], m.message);
        assert_eq!(v["request_id"], "0123abcd");
    }
}

#[test]
fn seatable_web_style_answers_like_django_rest_framework() {
    use http_body_util::BodyExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let st = ErrorStyle::SeatableWeb;
    let cases = [
        (MissingCredential, 401, r#"{"detail":"Invalid token"}"#),
        (CredentialExpired, 401, r#"{"detail":"Invalid token"}"#),
        (
            PermissionDenied,
            403,
            r#"{"detail":"You do not have permission to perform this action."}"#,
        ),
        (
            MethodNotAllowed(Allow("GET".into())),
            405,
            r#"{"detail":"Method not allowed."}"#,
        ),
    ];
    for (r, status, body) in cases {
        let resp = respond(&r, StatusCode::NOT_FOUND, "x", st);
        assert_eq!(resp.status(), status, "{r:?}");
        let b = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
        assert_eq!(std::str::from_utf8(&b).unwrap(), body, "{r:?}");
    }
}

#[test]
fn the_request_id_header_is_marked_never_to_be_indexed() {
    let resp = respond(
        &MissingCredential,
        StatusCode::NOT_FOUND,
        "0123abcd",
        ErrorStyle::Standard,
    );
    let v = &resp.headers()[REQUEST_ID];
    assert_eq!(v, "0123abcd");
    // HPACK sends it as a never-indexed literal: no table entry per response on HTTP/2.
    assert!(v.is_sensitive());
    let v = request_id_value("0123abcd").expect("hex is a valid value");
    assert!(v.is_sensitive());
    assert_eq!(request_id_value("a\nb"), None);
}
