//! Rejections: every way a request can be refused, and the one exhaustive mapping from each to
//! its status, headers and JSON body.
//!
//! A deny is a value, not an error: pipeline steps return `Err(Rejection)` and `gateway::handle`
//! calls `respond` once. There is no catch-all arm, so a new rejection cannot ship without a
//! status; a unit test pins every mapping. Bodies carry a stable reason code and the request id,
//! never a credential or an internal error text.

use http::StatusCode;

use crate::canonical::CanonicalError;
use crate::php::ParamError;
use crate::wait::Wait;

mod respond;

pub use respond::{REASON, REQUEST_ID, request_id_value, respond};

/// The methods a path accepts: the `Allow` header of a 405 (`GET, POST`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allow(pub String);

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The target is not canonical (dot segment, `//`, `%2F`, control byte...).
    NonCanonical(CanonicalError),
    /// `%25` on a route that does not allow it.
    EncodedPercent,
    /// `%3F` or `%23` in the path on a route that does not allow it.
    EncodedDelimiter,
    /// A `_method` parameter (query or form body) on a route that does not allow it: frameworks
    /// would run another method than the one decided.
    MethodOverride,
    /// A method outside the policy's allow-list.
    MethodNotImplemented,
    /// An HTTP/1.1 request without `Host`.
    MissingHost,
    /// `Host` and the target's (or HTTP/2's `:authority`) authority disagree.
    HostMismatch,
    /// A parameter that selects the module or action is ambiguous to PHP.
    AmbiguousParameter(ParamError),
    /// A form body names a parameter that selects the module or action.
    BodyOverridesSelector,
    /// A cookie names a parameter that selects the module or action.
    CookieOverridesSelector,
    /// More query parameters than PHP would read.
    TooManyParameters,
    /// A header the gateway judges holds bytes it cannot read (obs-text, invalid UTF-8).
    UnreadableHeader,
    /// A header the gateway judges is given twice.
    RepeatedHeader,
    /// More than one credential, or one credential parameter given twice.
    MultipleCredentials,
    /// A forward-auth sub-request without `X-Forwarded-Uri` or `X-Original-URI`.
    MissingForwardedUri,
    /// A forward-auth sub-request from a peer outside the trusted list.
    UntrustedForwarder,
    /// The route captures module or action from a query parameter that is absent.
    MissingSelector,
    /// No route maps the request; `unmapped_status` says 404 or 403.
    NoRoute,
    /// The path is mapped, but not for this method; the methods it is mapped for.
    MethodNotAllowed(Allow),
    /// The policy `mode` is `disabled`.
    ApiDisabled,
    /// No credential presented.
    MissingCredential,
    /// The credential is not known.
    UnknownCredential,
    /// The credential is past its expiry.
    CredentialExpired,
    /// The credential is not valid yet.
    CredentialNotYetValid,
    /// The credential was disabled.
    CredentialDisabled,
    /// The token was revoked (by id, by its user's `tokens_valid_after`, or because its user,
    /// API token or link is disabled or gone).
    CredentialRevoked,
    /// A valid credential of a kind this route does not accept (e.g. a temporary token where a
    /// base token is expected).
    WrongTokenKind,
    /// Valid credential without the (module, action) permission.
    PermissionDenied,
    /// Valid credential, but the resource is outside its scope.
    OutOfScope,
    /// Read-only credential on a writing method.
    ReadOnly,
    /// Body larger than allowed.
    BodyTooLarge,
    /// `Transfer-Encoding` other than exactly `chunked`, or with `Content-Length`: the connection
    /// is closed after the answer.
    BadFraming,
    /// The client's body broke off or had malformed chunked framing.
    MalformedBody,
    /// The client's body paused longer than allowed.
    BodyTimeout,
    /// Request target longer than allowed.
    UriTooLong,
    /// On a TLS listener that requires it, the Host differs from the server name the client
    /// asked for in the handshake (SNI).
    MisdirectedRequest,
    /// The principal (or client address) went faster than its rate limit.
    RateLimited(Wait),
    /// The key used up its quota.
    QuotaExhausted(Wait),
    /// The client address sent too many unknown credentials; not looked up.
    TooManyFailures(Wait),
    /// The upstream refused the connection or could not be reached.
    UpstreamUnreachable,
    /// The upstream connection failed mid-exchange.
    UpstreamFailed,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// No valid policy is loaded.
    NoPolicy,
    /// A bug or resource failure inside the gateway; details are logged, not sent.
    Internal,
}

/// Status, reason code and message of a rejection.
pub struct Mapping {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable reason code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: &'static str,
    /// RFC 6750 `error` for the `WWW-Authenticate` header, when one is sent.
    pub bearer_error: Option<&'static str>,
}

impl Rejection {
    /// The one mapping from rejection to response fields.
    pub fn mapping(&self, unmapped: StatusCode) -> Mapping {
        use Rejection::*;
        let m = |status, code, message| Mapping {
            status,
            code,
            message,
            bearer_error: None,
        };
        let unauthorized = |code, message| Mapping {
            status: StatusCode::UNAUTHORIZED,
            code,
            message,
            bearer_error: Some("invalid_token"),
        };
        let forbidden = |code, message| Mapping {
            status: StatusCode::FORBIDDEN,
            code,
            message,
            bearer_error: Some("insufficient_scope"),
        };
        let bad = StatusCode::BAD_REQUEST;
        match self {
            NonCanonical(e) => m(bad, e.code(), "the request target is not in canonical form"),
            EncodedPercent => m(bad, "encoded_percent", "%25 is not allowed on this route"),
            EncodedDelimiter => m(
                bad,
                "encoded_delimiter",
                "an encoded ? or # in the path is not allowed on this route",
            ),
            MethodOverride => m(
                bad,
                "method_override",
                "a _method parameter is not allowed on this route",
            ),
            MethodNotImplemented => m(
                StatusCode::NOT_IMPLEMENTED,
                "method_not_implemented",
                "this method is not accepted",
            ),
            MissingHost => m(
                bad,
                "missing_host",
                "an HTTP/1.1 request needs a Host header",
            ),
            HostMismatch => m(
                bad,
                "host_mismatch",
                "the Host header and the request target name different hosts",
            ),
            AmbiguousParameter(e) => m(
                bad,
                e.code(),
                "a parameter that selects the action is ambiguous",
            ),
            BodyOverridesSelector => m(
                bad,
                "body_overrides_parameter",
                "the body repeats a parameter that selects the action",
            ),
            CookieOverridesSelector => m(
                bad,
                "cookie_overrides_parameter",
                "a cookie repeats a parameter that selects the action",
            ),
            TooManyParameters => m(
                bad,
                "too_many_parameters",
                "the query has more parameters than allowed",
            ),
            UnreadableHeader => m(
                bad,
                "unreadable_header",
                "a header holds bytes that are not visible ASCII",
            ),
            RepeatedHeader => m(
                bad,
                "repeated_header",
                "a header that must appear once appears twice",
            ),
            MultipleCredentials => m(
                bad,
                "multiple_credentials",
                "present exactly one credential",
            ),
            MissingForwardedUri => m(
                bad,
                "missing_forwarded_uri",
                "a forward-auth request needs X-Forwarded-Uri or X-Original-URI",
            ),
            UntrustedForwarder => m(
                StatusCode::FORBIDDEN,
                "untrusted_forwarder",
                "this peer may not ask for decisions",
            ),
            MissingSelector => m(
                bad,
                "missing_parameter",
                "a parameter that selects the module or action is missing",
            ),
            NoRoute => m(unmapped, "no_route", "no route matches this request"),
            MethodNotAllowed(_) => m(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not accept this method",
            ),
            ApiDisabled => m(StatusCode::FORBIDDEN, "api_disabled", "the API is disabled"),
            MissingCredential => unauthorized("missing_credential", "a credential is required"),
            UnknownCredential => unauthorized("invalid_credential", "the credential is not valid"),
            CredentialExpired => unauthorized("credential_expired", "the credential has expired"),
            CredentialNotYetValid => unauthorized(
                "credential_not_yet_valid",
                "the credential is not valid yet",
            ),
            CredentialDisabled => unauthorized("credential_disabled", "the credential is disabled"),
            CredentialRevoked => {
                unauthorized("credential_revoked", "the credential has been revoked")
            }
            WrongTokenKind => unauthorized(
                "wrong_credential_kind",
                "this kind of credential is not accepted here",
            ),
            PermissionDenied => forbidden(
                "permission_denied",
                "the credential does not permit this action",
            ),
            OutOfScope => forbidden(
                "out_of_scope",
                "the resource is outside the credential's scope",
            ),
            ReadOnly => forbidden("read_only", "the credential is read-only"),
            BodyTooLarge => m(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is too large",
            ),
            BadFraming => m(
                bad,
                "bad_framing",
                "Transfer-Encoding must be exactly chunked, without Content-Length",
            ),
            MalformedBody => m(bad, "malformed_body", "the request body is malformed"),
            BodyTimeout => m(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the request body stalled",
            ),
            UriTooLong => m(
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                "the request target is too long",
            ),
            MisdirectedRequest => m(
                StatusCode::MISDIRECTED_REQUEST,
                "misdirected_request",
                "the host differs from the server name of the TLS connection",
            ),
            RateLimited(_) => m(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry after the time given",
            ),
            QuotaExhausted(_) => m(
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exhausted",
                "the credential's quota is used up",
            ),
            TooManyFailures(_) => m(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_failures",
                "too many failed credentials from this address; retry later",
            ),
            UpstreamUnreachable => m(
                StatusCode::BAD_GATEWAY,
                "upstream_unreachable",
                "the upstream could not be reached",
            ),
            UpstreamFailed => m(
                StatusCode::BAD_GATEWAY,
                "upstream_failed",
                "the upstream connection failed",
            ),
            UpstreamTimeout => m(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "the upstream did not answer in time",
            ),
            NoPolicy => m(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_policy",
                "no valid policy is loaded",
            ),
            Internal => m(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error",
            ),
        }
    }
}

#[cfg(test)]
mod tests;
