//! What the gateway vouches for: the identity headers it sets for a permit —
//! `X-Portcullis-Request-Id`, `-Key-Id` (never the secret), `-Credential`, `-User`, `-Module`,
//! `-Action`, `-Status` and `-Resource-<name>`.
//!
//! `forward` sets them on the request it sends upstream; `forward_auth` on its 200 answer, for
//! the fronting proxy to copy upstream. `headers::sanitize` has already removed any client header
//! in the namespace, so the upstream sees only these.

use std::borrow::Cow;

use http::HeaderName;

use crate::authz::Permit;
use crate::fields::Fields;
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

/// `X-Portcullis-Request-Id`.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-portcullis-request-id");
/// `X-Portcullis-Key-Id`.
pub const KEY_ID: HeaderName = HeaderName::from_static("x-portcullis-key-id");
/// `X-Portcullis-Credential`.
pub const CREDENTIAL: HeaderName = HeaderName::from_static("x-portcullis-credential");
/// `X-Portcullis-User`.
pub const USER: HeaderName = HeaderName::from_static("x-portcullis-user");
/// `X-Portcullis-Module`.
pub const MODULE: HeaderName = HeaderName::from_static("x-portcullis-module");
/// `X-Portcullis-Action`.
pub const ACTION: HeaderName = HeaderName::from_static("x-portcullis-action");
/// `X-Portcullis-Status`.
pub const STATUS: HeaderName = HeaderName::from_static("x-portcullis-status");

/// Set the identity headers of `permit` on `out`.
pub fn insert<F: Fields + ?Sized>(
    out: &mut F,
    permit: &Permit<'_>,
    request_id: &str,
) -> Result<(), Rejection> {
    let route = permit.route();
    let principal = permit.principal();
    // The request id (hex digits) and the credential kind's name are the gateway's own words:
    // set as they are. The rest come from the policy and the request, and are encoded.
    out.set(&REQUEST_ID, request_id)?;
    if let Some(p) = principal {
        out.set(&CREDENTIAL, kind_name(p.kind()))?;
    }
    let own = [
        (KEY_ID, principal.map(|p| p.id())),
        (USER, principal.and_then(|p| p.user())),
        (MODULE, route.module()),
        (ACTION, route.action()),
        (STATUS, principal.map(|p| p.status())),
    ];
    for (name, v) in own {
        if let Some(v) = v {
            out.set(&name, &encoded(v))?;
        }
    }
    for (name, v) in route.resources() {
        let name = HeaderName::from_bytes(format!("x-portcullis-resource-{name}").as_bytes())
            .map_err(|_| Rejection::Internal)?;
        out.set(&name, &encoded(v))?;
    }
    Ok(())
}

/// Captured values may hold any decoded character: percent-encode controls, non-ASCII, `%` and
/// spaces (a header value loses leading and trailing spaces) so the header is always valid and
/// decodes back to the same value.
const HEADER_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%').add(b' ');

fn encoded(s: &str) -> Cow<'_, str> {
    // Most values (ids, module and action names) need no encoding: used as they are.
    // Every byte checked, without an early exit: the loop vectorizes.
    let plain = s
        .bytes()
        .fold(true, |ok, b| ok & b.is_ascii_graphic() & (b != b'%'));
    match plain {
        true => Cow::Borrowed(s),
        false => Cow::Owned(percent_encoding::utf8_percent_encode(s, HEADER_UNSAFE).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_copied_or_percent_encoded() {
        for (raw, sent) in [
            ("k1", "k1"),
            ("a b", "a%20b"),
            ("50%", "50%25"),
            ("caf\u{e9}", "caf%C3%A9"),
            ("tab\there", "tab%09here"),
            ("", ""),
        ] {
            assert_eq!(encoded(raw), sent, "{raw:?}");
        }
    }
}
