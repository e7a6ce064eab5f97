//! Request-target canonicalization: arbitrary bytes parsed as an `http::Uri`, then
//! `canonical::canonicalize`. A canonical result must route on a clean path: rooted, no empty or
//! dot segments, no backslash or `;`, and a raw path without encoded `/`, `\` or `;`; its query
//! must re-parse to the same pairs. Also runs `parse_pairs` on the bytes as a form body.

use portcullis::canonical::{canonicalize, parse_pairs};

/// Check one input.
pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_pairs(text);
    }
    let Ok(uri) = http::Uri::try_from(data) else {
        return;
    };
    let Ok(c) = canonicalize(&uri) else {
        return;
    };
    let path: &str = &c.path;
    assert!(path.starts_with('/'), "not rooted: {path:?}");
    assert!(!path.contains("//"), "empty segment: {path:?}");
    assert!(
        !path.split('/').any(|s| s == "." || s == ".."),
        "dot segment: {path:?}"
    );
    assert!(!path.contains(['\\', ';']), "backslash or ';': {path:?}");
    let raw = c.raw_path.to_ascii_lowercase();
    for encoded in ["%2f", "%5c", "%3b"] {
        assert!(!raw.contains(encoded), "{encoded} in {:?}", c.raw_path);
    }
    let again = parse_pairs(c.raw_query.unwrap_or_default());
    assert_eq!(again, Ok(c.query.clone()), "query does not re-parse");
}
