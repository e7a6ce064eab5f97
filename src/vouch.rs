//! What the gateway vouches for: the identity headers it sets for a permit —
//! `X-Portcullis-Request-Id`, `-Key-Id` (never the secret), `-Credential`, `-User`, `-Module`,
//! `-Action`, `-Status` and `-Resource-<name>`.
//!
//! `forward` sets them on the request it sends upstream; `forward_auth` on its 200 answer, for
//! the fronting proxy to copy upstream. `headers::sanitize` has already removed any client header
//! in the namespace, so the upstream sees only these.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::authz::Permit;
use crate::kinds::CredentialKind;
use crate::reject::Rejection;

/// The `X-Portcullis-Credential` value of a credential kind.
pub fn kind_name(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ApiKey => "api_key",
        CredentialKind::Account => "account",
        CredentialKind::Base => "base",
        CredentialKind::ApiToken => "api_token",
        CredentialKind::Temporary => "temporary",
        CredentialKind::ClientCertificate => "client_certificate",
        CredentialKind::ManagementClient => "management_client",
    }
}

/// Insert the identity headers of `permit` into `h`.
pub fn insert(h: &mut HeaderMap, permit: &Permit<'_>, request_id: &str) -> Result<(), Rejection> {
    let route = permit.route();
    let principal = permit.principal();
    let own = [
        ("x-portcullis-request-id", Some(request_id)),
        ("x-portcullis-key-id", principal.map(|p| p.id())),
        (
            "x-portcullis-credential",
            principal.map(|p| kind_name(p.kind())),
        ),
        ("x-portcullis-user", principal.and_then(|p| p.user())),
        ("x-portcullis-module", route.module()),
        ("x-portcullis-action", route.action()),
        ("x-portcullis-status", principal.map(|p| p.status())),
    ];
    for (name, v) in own {
        if let Some(v) = v {
            h.insert(HeaderName::from_static(name), encoded(v)?);
        }
    }
    for (name, v) in route.resources() {
        let name = HeaderName::from_bytes(format!("x-portcullis-resource-{name}").as_bytes())
            .map_err(|_| Rejection::Internal)?;
        h.insert(name, encoded(v)?);
    }
    Ok(())
}

/// Captured values may hold any decoded character: percent-encode controls, non-ASCII, `%` and
/// spaces (a header value loses leading and trailing spaces) so the header is always valid and
/// decodes back to the same value.
const HEADER_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%').add(b' ');

fn encoded(s: &str) -> Result<HeaderValue, Rejection> {
    HeaderValue::from_str(&percent_encoding::utf8_percent_encode(s, HEADER_UNSAFE).to_string())
        .map_err(|_| Rejection::Internal)
}
