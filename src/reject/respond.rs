//! The one place a rejection becomes a response: status, body in the route's error style, the
//! `WWW-Authenticate` challenge, `Allow`, `Retry-After` and `RateLimit` headers, `Cache-Control`,
//! the request id and the reason code.

use http::{HeaderValue, Response, StatusCode, header};

use crate::body::{self, Body};
use crate::kinds::ErrorStyle;
use crate::reject::{Allow, Mapping, Rejection};

/// RFC 6750 challenge for a missing or bad credential.
const INVALID_TOKEN: HeaderValue =
    HeaderValue::from_static("Bearer realm=\"portcullis\", error=\"invalid_token\"");
/// RFC 6750 challenge for a valid credential without the permission.
const INSUFFICIENT_SCOPE: HeaderValue =
    HeaderValue::from_static("Bearer realm=\"portcullis\", error=\"insufficient_scope\"");

/// Build the response for `rejection`, in the route's error style: status, body, the
/// `WWW-Authenticate` challenge, the `Allow` list of a 405, `Cache-Control: no-store` and the
/// request id. The only place a rejection becomes a response.
pub fn respond(
    rejection: &Rejection,
    unmapped: StatusCode,
    request_id: &str,
    style: ErrorStyle,
) -> Response<Body> {
    let map = rejection.mapping(unmapped);
    let auth_failure =
        map.status == StatusCode::UNAUTHORIZED || map.status == StatusCode::FORBIDDEN;
    let (status, body, challenge) = match style {
        ErrorStyle::Seatable if auth_failure => {
            (StatusCode::FORBIDDEN, seatable_body(rejection), false)
        }
        ErrorStyle::SeatableWeb if auth_failure || map.status == StatusCode::METHOD_NOT_ALLOWED => {
            (map.status, seatable_web_body(&map), true)
        }
        // Codes and messages are fixed ASCII without quotes or backslashes, and the request id
        // is hex, so the body is written directly (a test checks it parses as JSON).
        // onePortal's clients read `errorMessage`; the reason code and request id come along.
        ErrorStyle::Trivore => (
            map.status,
            object([
                ("errorMessage", map.message),
                ("error", map.code),
                ("request_id", request_id),
            ]),
            true,
        ),
        ErrorStyle::Seatable | ErrorStyle::SeatableWeb | ErrorStyle::Standard => (
            map.status,
            object([
                ("error", map.code),
                ("message", map.message),
                ("request_id", request_id),
            ]),
            true,
        ),
    };
    let mut resp = Response::new(body::full(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match map.bearer_error {
        Some("invalid_token") if challenge => {
            drop(h.insert(header::WWW_AUTHENTICATE, INVALID_TOKEN))
        }
        Some(_) if challenge => drop(h.insert(header::WWW_AUTHENTICATE, INSUFFICIENT_SCOPE)),
        Some(_) | None => {}
    }
    if let Rejection::MethodNotAllowed(Allow(methods)) = rejection
        && let Ok(v) = HeaderValue::from_str(methods)
    {
        h.insert(header::ALLOW, v);
    }
    if let Rejection::RateLimited(w)
    | Rejection::QuotaExhausted(w)
    | Rejection::TooManyFailures(w) = rejection
    {
        w.write(h);
    }
    if let Some(v) = request_id_value(request_id) {
        h.insert(REQUEST_ID, v);
    }
    if *rejection == Rejection::BadFraming {
        // The framing cannot be trusted, so neither can the rest of the connection.
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    // The reason code in a header too, for fronting proxies that log sub-request headers.
    h.insert(REASON_HEADER, HeaderValue::from_static(map.code));
    resp
}

const REASON_HEADER: http::HeaderName = http::HeaderName::from_static(REASON);

/// A JSON object of string fields whose values need no escaping (see `respond`), written
/// directly: a `format!` cost as much as the rest of a 401. Sized exactly (each field is
/// `"key":"value"` and a comma or a brace): `Bytes` takes a buffer whose length is its
/// capacity as it is, and allocates a second block for any other.
fn object<const N: usize>(fields: [(&str, &str); N]) -> String {
    let len: usize = fields.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let mut out = String::with_capacity(len + 1);
    out.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for part in ["\"", key, "\":\"", value, "\""] {
            out.push_str(part);
        }
    }
    out.push('}');
    out
}

/// The response header that carries the reason code.
pub const REASON: &str = "x-portcullis-reason";

/// The response header that names the request (the upstream gets `X-Portcullis-Request-Id`).
pub const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// The `X-Request-Id` value for `request_id`, marked never to be indexed: it is unique to its
/// response, so HPACK would add it to an HTTP/2 connection's table only to evict it (and the
/// fields worth keeping there, such as `content-type`) a few responses later. HTTP/1.1 ignores
/// the mark.
pub fn request_id_value(request_id: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(request_id).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// SeaTable's answer to an authentication or authorization failure: 403 with `error_msg`, which
/// its Python client turns into `AuthExpiredError` for "Token expired.".
fn seatable_body(rejection: &Rejection) -> String {
    let msg = match rejection {
        Rejection::CredentialExpired => "Token expired.",
        _ => "Permission denied.",
    };
    serde_json::json!({ "error_msg": msg }).to_string()
}

/// SeaTable's web API (Django REST framework): `{"detail": ...}`.
fn seatable_web_body(map: &Mapping) -> String {
    let detail = match map.status {
        StatusCode::UNAUTHORIZED => "Invalid token",
        StatusCode::FORBIDDEN => "You do not have permission to perform this action.",
        _ => "Method not allowed.",
    };
    serde_json::json!({ "detail": detail }).to_string()
}

#[cfg(test)]
mod tests {
    /// A body whose length is its capacity becomes `Bytes` without a second allocation.
    #[test]
    fn an_error_object_fills_its_buffer_exactly() {
        let one = super::object([("error", "no_route")]);
        let three = super::object([
            ("error", "unknown_credential"),
            ("message", "the credential is not known"),
            ("request_id", "0123456789abcdef0123456789abcdef"),
        ]);
        for body in [one, three] {
            assert_eq!(body.len(), body.capacity(), "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).expect(&body);
            assert!(v["error"].is_string(), "{body}");
        }
    }
}
