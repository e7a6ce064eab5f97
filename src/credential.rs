//! Credentials: finds the one credential a request presents, without judging it.
//!
//! Accepted carriers: `Authorization: Bearer X` or `Authorization: Token X` (scheme
//! case-insensitive), `X-API-Key: X`, and the query parameters the policy names
//! (`credential_query_params`, e.g. Linea21 `token`, contract.fit `api_key`). Two carriers, or one
//! carrier twice, are refused rather than guessed between. `identity::validate` judges what is
//! found; `forward` removes it from the forwarded request.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::canonical::Canonical;
use crate::field;
use crate::php;
use crate::reject::Rejection;

/// The header that carries a bare API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The same, parsed once.
static API_KEY: http::HeaderName = http::HeaderName::from_static(API_KEY_HEADER);

/// Where the credential was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier<'a> {
    /// `Authorization: Bearer` or `Token` (on management endpoints also a bare token, as the
    /// contract.fit client sends it).
    Authorization,
    /// `Authorization: Basic` (management endpoints only): the secret is the base64 of
    /// `client_id:client_secret`.
    Basic,
    /// `X-API-Key`.
    ApiKeyHeader,
    /// A query parameter with this name.
    Query(&'a str),
}

/// A credential as presented. Its secret is never logged; only the key id after validation is.
#[derive(Clone, Copy)]
pub struct Credential<'a, 'p> {
    /// The secret (borrowed from the request).
    pub secret: &'a str,
    /// Where it came from (a query name is borrowed from the policy).
    pub carrier: Carrier<'p>,
}

impl std::fmt::Debug for Credential<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("secret", &"<redacted>")
            .field("carrier", &self.carrier)
            .finish()
    }
}

/// Which `Authorization` forms besides `Bearer` and `Token` a request may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forms {
    /// HTTP Basic client credentials (management endpoints only).
    pub basic: bool,
    /// A bare token without a scheme word, as contract.fit's client sends its login token
    /// (management endpoints, and every route of a policy serving the contract.fit API).
    pub bare: bool,
}

/// Find the request's credential, if any. `Authorization` forms other than `Bearer` and
/// `Token` are read only where `forms` says; elsewhere they are the upstream's business.
pub fn extract<'a, 'p>(
    headers: &'a HeaderMap,
    query: &'a Canonical,
    query_params: &'p [String],
    forms: Forms,
) -> Result<Option<Credential<'a, 'p>>, Rejection> {
    let mut found: Option<Credential<'a, 'p>> = None;
    let mut put = |c: Credential<'a, 'p>| {
        // An empty secret is never a credential, even if a key's digest matches it.
        if c.secret.is_empty() {
            return Err(Rejection::UnknownCredential);
        }
        if found.replace(c).is_some() {
            Err(Rejection::MultipleCredentials)
        } else {
            Ok(())
        }
    };
    // An unreadable value is refused, not skipped: skipping it would let a second carrier win.
    for value in field::all(headers, AUTHORIZATION)? {
        if let Some(secret) = bearer(value) {
            put(Credential {
                secret,
                carrier: Carrier::Authorization,
            })?;
        } else {
            let v = value.trim();
            match v.split_once(' ') {
                Some((scheme, rest)) if forms.basic && scheme.eq_ignore_ascii_case("basic") => {
                    put(Credential {
                        secret: rest.trim(),
                        carrier: Carrier::Basic,
                    })?;
                }
                None if forms.bare => put(Credential {
                    secret: v,
                    carrier: Carrier::Authorization,
                })?,
                _ => {}
            }
        }
    }
    for value in field::all(headers, &API_KEY)? {
        let secret = value.trim();
        put(Credential {
            secret,
            carrier: Carrier::ApiKeyHeader,
        })?;
    }
    for name in query_params {
        let value =
            php::single_value(&query.query, name).map_err(|_| Rejection::MultipleCredentials)?;
        if let Some(secret) = value {
            put(Credential {
                secret,
                carrier: Carrier::Query(name),
            })?;
        }
    }
    Ok(found)
}

/// The token of a `Bearer` or `Token` authorization value (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let ok = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    let token = rest.trim();
    (ok && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn canon(q: &str) -> Canonical<'static> {
        let uri: http::Uri = format!("/x{q}").parse().unwrap();
        crate::canonical::canonicalize(Box::leak(Box::new(uri))).unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    type Headers = &'static [(&'static str, &'static str)];

    #[test]
    fn carriers() {
        let params = vec!["token".to_string(), "api_key".to_string()];
        let none = canon("");
        let cases: &[(Headers, &str, Option<&str>)] = &[
            (&[("authorization", "Bearer abc")], "", Some("abc")),
            (&[("authorization", "bEaReR   abc ")], "", Some("abc")),
            (&[("authorization", "Token abc")], "", Some("abc")),
            (&[("authorization", "Basic abc")], "", None),
            (&[("x-api-key", "abc")], "", Some("abc")),
            (&[], "?token=abc", Some("abc")),
            (&[], "?api_key=abc", Some("abc")),
            (&[], "?other=abc", None),
        ];
        for (h, q, want) in cases {
            let h = headers(h);
            let c = canon(q);
            let got = extract(
                &h,
                if q.is_empty() { &none } else { &c },
                &params,
                Forms::default(),
            )
            .unwrap();
            assert_eq!(got.map(|c| c.secret), *want, "{h:?} {q}");
        }
    }

    #[test]
    fn two_carriers_or_repeats_are_refused() {
        let params = vec!["token".to_string()];
        let cases: &[(Headers, &str)] = &[
            (&[("authorization", "Bearer a"), ("x-api-key", "b")], ""),
            (
                &[("authorization", "Bearer a"), ("authorization", "Bearer a")],
                "",
            ),
            (&[("x-api-key", "a")], "?token=a"),
            (&[], "?token=a&token=b"),
            (&[], "?token[]=a"),
        ];
        for (h, q) in cases {
            let h = headers(h);
            let c = canon(q);
            assert_eq!(
                extract(&h, &c, &params, Forms::default()).unwrap_err(),
                Rejection::MultipleCredentials
            );
        }
    }

    const MANAGEMENT: Forms = Forms {
        basic: true,
        bare: true,
    };

    #[test]
    fn basic_and_bare_tokens_only_on_management_endpoints() {
        let none = canon("");
        let cases: &[(&str, Option<(&str, Carrier)>)] = &[
            ("Basic YTpi", Some(("YTpi", Carrier::Basic))),
            ("basic   YTpi ", Some(("YTpi", Carrier::Basic))),
            ("eyJ.a.b", Some(("eyJ.a.b", Carrier::Authorization))),
            ("Bearer t", Some(("t", Carrier::Authorization))),
            ("Digest x=1", None),
        ];
        for (value, want) in cases {
            let h = headers(&[(
                "authorization",
                Box::leak(value.to_string().into_boxed_str()),
            )]);
            let got = extract(&h, &none, &[], MANAGEMENT).unwrap();
            assert_eq!(got.map(|c| (c.secret, c.carrier)), *want, "{value}");
            // Elsewhere only Bearer and Token are credentials: the rest is the upstream's.
            let plain = extract(&h, &none, &[], Forms::default()).unwrap();
            assert_eq!(plain.is_some(), value.starts_with("Bearer"), "{value}");
        }
        let h = headers(&[("authorization", "Basic YTpi"), ("x-api-key", "k")]);
        assert_eq!(
            extract(&h, &none, &[], MANAGEMENT).unwrap_err(),
            Rejection::MultipleCredentials
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credential {
            secret: "hunter2",
            carrier: Carrier::ApiKeyHeader,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
