//! Credential extraction from header bytes: the input is split on `\n` into an `Authorization`
//! value, an `X-API-Key` value and a query string (a `\n` in a header value is refused by `http`
//! anyway). Values `http` accepts go into a header map, the query through canonicalization, and
//! `credential::extract` must then either refuse or name one non-empty secret that occurs
//! verbatim in what was sent.

use http::{HeaderMap, HeaderValue};
use portcullis::canonical::canonicalize;
use portcullis::credential::extract;

/// The query parameters the fuzzed policy lets carry a credential.
const QUERY_PARAMS: [&str; 2] = ["token", "api_key"];

/// Check one input.
pub fn run(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let (auth, key, query) = (parts.next(), parts.next(), parts.next());
    let mut headers = HeaderMap::new();
    for (name, value) in [("authorization", auth), ("x-api-key", key)] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(v).ok()) {
            headers.append(name, v);
        }
    }
    let mut target = b"/?".to_vec();
    target.extend_from_slice(query.unwrap_or_default());
    let Ok(uri) = http::Uri::try_from(target) else {
        return;
    };
    let Ok(canonical) = canonicalize(&uri) else {
        return;
    };
    let params: Vec<String> = QUERY_PARAMS.iter().map(|p| (*p).to_owned()).collect();
    let forms = portcullis::credential::Forms {
        basic: true,
        bare: true,
    };
    if let Ok(Some(c)) = extract(&headers, &canonical, &params, forms) {
        assert!(!c.secret.is_empty(), "empty secret accepted");
        let sent = String::from_utf8_lossy(data);
        let decoded = canonical.query.iter().any(|(_, v)| v == c.secret);
        assert!(
            sent.contains(c.secret) || decoded,
            "secret not in the request"
        );
    }
}
