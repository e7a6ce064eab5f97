//! Tests of `reject`.
use super::*;
use Rejection::*;

#[test]
fn every_rejection_maps_to_its_documented_status_and_code() {
    let s = |r: Rejection| {
        let m = r.mapping(StatusCode::NOT_FOUND);
        (m.status.as_u16(), m.code, m.bearer_error)
    };
    type Want = (u16, &'static str, Option<&'static str>);
    let table: &[(Rejection, Want)] = &[
        (
            NonCanonical(CanonicalError::DotSegment),
            (400, CanonicalError::DotSegment.code(), None),
        ),
        (EncodedPercent, (400, "encoded_percent", None)),
        (
            AmbiguousParameter(ParamError::Repeated),
            (400, ParamError::Repeated.code(), None),
        ),
        (
            BodyOverridesSelector,
            (400, "body_overrides_parameter", None),
        ),
        (TooManyParameters, (400, "too_many_parameters", None)),
        (
            CookieOverridesSelector,
            (400, "cookie_overrides_parameter", None),
        ),
        (MultipleCredentials, (400, "multiple_credentials", None)),
        (MissingSelector, (400, "missing_parameter", None)),
        (NoRoute, (404, "no_route", None)),
        (MethodNotAllowed, (405, "method_not_allowed", None)),
        (ApiDisabled, (403, "api_disabled", None)),
        (
            MissingCredential,
            (401, "missing_credential", Some("invalid_token")),
        ),
        (
            UnknownCredential,
            (401, "invalid_credential", Some("invalid_token")),
        ),
        (
            CredentialExpired,
            (401, "credential_expired", Some("invalid_token")),
        ),
        (
            CredentialNotYetValid,
            (401, "credential_not_yet_valid", Some("invalid_token")),
        ),
        (
            CredentialDisabled,
            (401, "credential_disabled", Some("invalid_token")),
        ),
        (
            PermissionDenied,
            (403, "permission_denied", Some("insufficient_scope")),
        ),
        (
            OutOfScope,
            (403, "out_of_scope", Some("insufficient_scope")),
        ),
        (ReadOnly, (403, "read_only", Some("insufficient_scope"))),
        (BodyTooLarge, (413, "body_too_large", None)),
        (UriTooLong, (414, "uri_too_long", None)),
        (UpstreamUnreachable, (502, "upstream_unreachable", None)),
        (UpstreamFailed, (502, "upstream_failed", None)),
        (UpstreamTimeout, (504, "upstream_timeout", None)),
        (NoPolicy, (503, "no_policy", None)),
        (Internal, (500, "internal_error", None)),
    ];
    for (r, want) in table {
        assert_eq!(s(*r), *want, "{r:?}");
    }
    assert_eq!(NoRoute.mapping(StatusCode::FORBIDDEN).status, 403);
}

#[test]
fn unauthorized_carries_rfc6750_challenge_and_json_body() {
    let resp = respond(
        MissingCredential,
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
    let r = respond(CredentialExpired, StatusCode::NOT_FOUND, "x", st);
    assert_eq!(r.status(), 403);
    assert_eq!(body(r), r#"{"error_msg":"Token expired."}"#);
    for rej in [
        MissingCredential,
        UnknownCredential,
        ReadOnly,
        OutOfScope,
        CredentialRevoked,
    ] {
        let r = respond(rej, StatusCode::NOT_FOUND, "x", st);
        assert_eq!(r.status(), 403);
        assert_eq!(body(r), r#"{"error_msg":"Permission denied."}"#);
    }
    assert_eq!(
        respond(UpstreamTimeout, StatusCode::NOT_FOUND, "x", st).status(),
        504
    );
}

#[test]
fn every_body_is_json_with_code_message_and_request_id() {
    use http_body_util::BodyExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let all = [
        NonCanonical(CanonicalError::DotSegment),
        EncodedPercent,
        AmbiguousParameter(ParamError::Array),
        BodyOverridesSelector,
        CookieOverridesSelector,
        TooManyParameters,
        MultipleCredentials,
        MissingSelector,
        NoRoute,
        MethodNotAllowed,
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
        UriTooLong,
        UpstreamUnreachable,
        UpstreamFailed,
        UpstreamTimeout,
        NoPolicy,
        Internal,
    ];
    for r in all {
        let resp = respond(r, StatusCode::NOT_FOUND, "0123abcd", ErrorStyle::Standard);
        let bytes = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let m = r.mapping(StatusCode::NOT_FOUND);
        assert_eq!(v["error"], m.code);
        assert_eq!(v["message"], m.message);
        assert_eq!(v["request_id"], "0123abcd");
    }
}
