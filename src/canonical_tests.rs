//! Tests of `canonical`.
use super::*;
use http::Uri;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

/// Canonicalize `target`; the URI is leaked so the borrowed result can outlive this helper.
fn canon(target: &str) -> Result<Canonical<'static>, CanonicalError> {
    let uri: Uri = target
        .parse()
        .expect("test target must be a valid http::Uri");
    canonicalize(Box::leak(Box::new(uri)))
}

#[test]
fn rejects_attack_targets() {
    use CanonicalError::*;
    let table: &[(&str, CanonicalError)] = &[
        ("*", NotOriginForm),
        ("/api/../admin", DotSegment),
        ("/api/./admin", DotSegment),
        ("/api/..", DotSegment),
        ("/.", DotSegment),
        ("/..", DotSegment),
        ("/api/%2e%2e/admin", DotSegment),
        ("/api/%2E%2E/admin", DotSegment),
        ("/api/.%2e/admin", DotSegment),
        ("/api/%2e./admin", DotSegment),
        ("/api/%2e/admin", DotSegment),
        ("/api//x", EmptySegment),
        ("//", EmptySegment),
        ("//api", EmptySegment),
        ("/api/x//", EmptySegment),
        ("/a%2fb", EncodedSlash),
        ("/a%2Fb", EncodedSlash),
        ("/a%5cb", Backslash),
        ("/a%5Cb", Backslash),
        ("/a\\b", Backslash),
        ("/a?x=\\", Backslash),
        ("/a;x=1/b", Semicolon),
        ("/a%3bx", Semicolon),
        ("/a%3Bx", Semicolon),
        ("/a?x=1;y=2", Semicolon),
        ("/a?module=a;module=b", Semicolon),
        ("/a%00", ControlByte),
        ("/a%0a", ControlByte),
        ("/a%0D%0Aheader:x", ControlByte),
        ("/a%1f", ControlByte),
        ("/a%7f", ControlByte),
        ("/a?x=%00", ControlByte),
        ("/a?x%0a=1", ControlByte),
        ("/a?x=%7F", ControlByte),
        ("/%ff", BadUtf8),
        ("/%c3", BadUtf8),
        ("/%c3/%a9", BadUtf8),
        ("/%c0%ae%c0%ae/etc", BadUtf8),
        ("/%ed%a0%80", BadUtf8),
        ("/a?x=%ff", BadUtf8),
        ("/a%2", BadEscape),
        ("/a%", BadEscape),
        ("/a%zz", BadEscape),
        ("/a%G1", BadEscape),
        ("/a%4", BadEscape),
        ("/a%%31", BadEscape),
        ("/a?x=%", BadEscape),
        ("/a?x=%4g", BadEscape),
        ("/a?%=1", BadEscape),
    ];
    for (target, want) in table {
        let got = canon(target).map(|c| c.path);
        assert_eq!(got, Err(*want), "{target:?}");
    }
}

#[test]
fn accepts_canonical_targets() {
    /// (target, decoded path, raw query, decoded pairs, has_encoded_percent)
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a [(&'a str, &'a str)],
        bool,
    );
    let table: &[Case] = &[
        ("/", "/", None, &[], false),
        ("/a/b/", "/a/b/", None, &[], false),
        ("/api/My%20Base/rows", "/api/My Base/rows", None, &[], false),
        ("/api/caf%C3%A9", "/api/caf\u{e9}", None, &[], false),
        ("/api/caf%c3%a9", "/api/caf\u{e9}", None, &[], false),
        ("/a+b", "/a+b", None, &[], false),
        ("/...", "/...", None, &[], false),
        ("/.well-known/x", "/.well-known/x", None, &[], false),
        ("/a..b/.x", "/a..b/.x", None, &[], false),
        ("/%7Euser", "/~user", None, &[], false),
        ("/100%25", "/100%", None, &[], true),
        (
            "/x?a=1&b=&c",
            "/x",
            Some("a=1&b=&c"),
            &[("a", "1"), ("b", ""), ("c", "")],
            false,
        ),
        ("/x?", "/x", Some(""), &[], false),
        ("/x?&&a=1&", "/x", Some("&&a=1&"), &[("a", "1")], false),
        (
            "/x?q=a+b%2Bc",
            "/x",
            Some("q=a+b%2Bc"),
            &[("q", "a b+c")],
            false,
        ),
        ("/x?a=b=c", "/x", Some("a=b=c"), &[("a", "b=c")], false),
        (
            "/x?module[]=a",
            "/x",
            Some("module[]=a"),
            &[("module[]", "a")],
            false,
        ),
        (
            "/x?p=%2Fhome%5C",
            "/x",
            Some("p=%2Fhome%5C"),
            &[("p", "/home\\")],
            false,
        ),
        ("/x?p=%3B", "/x", Some("p=%3B"), &[("p", ";")], false),
        ("/x?p=50%25", "/x", Some("p=50%25"), &[("p", "50%")], true),
        (
            "/x?n=caf%C3%A9",
            "/x",
            Some("n=caf%C3%A9"),
            &[("n", "caf\u{e9}")],
            false,
        ),
        ("/x?=v", "/x", Some("=v"), &[("", "v")], false),
    ];
    for (target, path, raw_query, query, percent) in table {
        let got = canon(target).unwrap_or_else(|e| panic!("{target:?}: {e}"));
        assert_eq!(got.path, *path, "{target:?}");
        assert_eq!(got.raw_path, target.split('?').next().unwrap_or_default());
        assert_eq!(got.raw_query, *raw_query, "{target:?}");
        let want: Vec<(String, String)> = query
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(owned(&got.query), want, "{target:?}");
        assert_eq!(got.has_encoded_percent, *percent, "{target:?}");
    }
}

#[test]
fn absolute_form_uses_its_path() {
    let got = canon("http://example.com/a%20b?x=1").expect("absolute-form is canonical");
    assert_eq!(got.path, "/a b");
    assert_eq!(got.raw_query, Some("x=1"));
    assert_eq!(
        canon("http://example.com").map(|c| c.path.into_owned()),
        Ok("/".to_owned())
    );
}

#[test]
fn authority_form_is_not_origin_form() {
    let got = canon("example.com:443").map(|c| c.path);
    assert_eq!(got, Err(CanonicalError::NotOriginForm));
}

#[test]
fn php_selector_attacks_decode_to_what_php_sees() {
    use crate::php::{ParamError, single_value};
    let table: &[(&str, Result<Option<&str>, ParamError>)] = &[
        ("/?module=a", Ok(Some("a"))),
        ("/?module=a&module=b", Err(ParamError::Repeated)),
        ("/?module[]=a", Err(ParamError::Array)),
        ("/?module%5B%5D=a", Err(ParamError::Array)),
        ("/?module[x]=a", Err(ParamError::Array)),
        ("/?%20module=a", Err(ParamError::Mangled)),
        ("/?+module=a", Err(ParamError::Mangled)),
        ("/?modu%6ce=a&module=b", Err(ParamError::Repeated)),
        ("/?modu%6ce=a", Ok(Some("a"))),
    ];
    for (target, want) in table {
        let got = canon(target).unwrap_or_else(|e| panic!("{target:?}: {e}"));
        assert_eq!(single_value(&got.query, "module"), *want, "{target:?}");
    }
    let got = canon("/?mod.ule=a").expect("canonical");
    assert_eq!(
        single_value(&got.query, "mod_ule"),
        Err(ParamError::Mangled)
    );
}

#[test]
fn raw_space_and_fragment_are_rejected_when_present() {
    // http::Uri refuses raw spaces and strips fragments, so check the raw scanners directly.
    assert_eq!(
        check_raw_target(b"/a b"),
        Err(CanonicalError::UnescapedByte)
    );
    assert_eq!(
        check_raw_target("/caf\u{e9}".as_bytes()),
        Err(CanonicalError::UnescapedByte)
    );
    assert_eq!(check_raw_target(b"/a#x"), Err(CanonicalError::Fragment));
    assert_eq!(check_raw_target(b"/a\nb"), Err(CanonicalError::ControlByte));
    assert_eq!(decode_path("/a b"), Err(CanonicalError::UnescapedByte));
    assert_eq!(decode_path(""), Err(CanonicalError::NotOriginForm));
    assert_eq!(decode_path("a/b"), Err(CanonicalError::NotOriginForm));
    assert!("/a b".parse::<Uri>().is_err());
}

#[test]
fn parse_pairs_table() {
    type Want<'a> = Result<&'a [(&'a str, &'a str)], CanonicalError>;
    let table: &[(&str, Want)] = &[
        ("", Ok(&[])),
        ("a=1&b=2", Ok(&[("a", "1"), ("b", "2")])),
        ("a=x+y%21", Ok(&[("a", "x y!")])),
        ("a=1;module=admin", Ok(&[("a", "1;module=admin")])),
        ("msg=caf\u{e9}", Ok(&[("msg", "caf\u{e9}")])),
        ("k", Ok(&[("k", "")])),
        ("a=1%0A", Err(CanonicalError::ControlByte)),
        ("a=1\n", Err(CanonicalError::ControlByte)),
        ("a=%", Err(CanonicalError::BadEscape)),
        ("a=%e9", Err(CanonicalError::BadUtf8)),
    ];
    for (input, want) in table {
        let want = want.map(|list| {
            list.iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        });
        assert_eq!(parse_pairs(input).map(|p| owned(&p)), want, "{input:?}");
    }
}

#[test]
fn query_without_table() {
    let table: &[(&str, &[&str], Option<&str>)] = &[
        ("/x", &["token"], None),
        ("/x?", &["token"], None),
        ("/x?token=s", &["token"], None),
        ("/x?a=1&token=s&b=%20", &["token"], Some("a=1&b=%20")),
        ("/x?token=s&a=1", &["token"], Some("a=1")),
        ("/x?a=1&token=s", &["token"], Some("a=1")),
        (
            "/x?a=1&%20token=s&tok%65n=t&token[]=u&tok.en=v",
            &["token", "tok_en"],
            Some("a=1"),
        ),
        ("/x?a=1&&b=2", &["token"], Some("a=1&&b=2")),
        ("/x?a=1&&token=s&b=2", &["token"], Some("a=1&b=2")),
        (
            "/x?tokens=1&xtoken=2",
            &["token"],
            Some("tokens=1&xtoken=2"),
        ),
        ("/x?key=1&token=2", &["token", "key"], None),
        ("/x?a+b=1", &[], Some("a+b=1")),
    ];
    for (target, names, want) in table {
        let got = canon(target).unwrap_or_else(|e| panic!("{target:?}: {e}"));
        assert_eq!(got.query_without(names).as_deref(), *want, "{target:?}");
    }
}

#[test]
fn error_codes_are_distinct_snake_case() {
    use CanonicalError::*;
    let all = [
        NotOriginForm,
        DotSegment,
        EmptySegment,
        EncodedSlash,
        Backslash,
        Semicolon,
        ControlByte,
        BadEscape,
        BadUtf8,
        Fragment,
        UnescapedByte,
    ];
    let mut codes: Vec<_> = all.iter().map(CanonicalError::code).collect();
    assert!(codes.iter().all(|c| {
        c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }));
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
    assert_eq!(DotSegment.code(), "dot_segment");
}

fn segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._~%+!$&'()*,=:@\u{e9}\u{4e2d}\u{1f600}-]{1,8}"
        .prop_filter("dot segments are not canonical", |s| s != "." && s != "..")
}

proptest! {
    #[test]
    fn encoded_segments_round_trip(segments in prop::collection::vec(segment(), 0..6), trailing in any::<bool>()) {
        let original = format!("/{}{}", segments.join("/"), if trailing && !segments.is_empty() { "/" } else { "" });
        let encoded: Vec<String> = segments
            .iter()
            .map(|s| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string())
            .collect();
        let target = format!("/{}{}", encoded.join("/"), if trailing && !segments.is_empty() { "/" } else { "" });
        let uri: Uri = target.parse().expect("encoded target parses");
        let got = canonicalize(&uri).expect("encoded target is canonical");
        prop_assert_eq!(&got.path, &original);
        prop_assert_eq!(&got.raw_path, &target);
        prop_assert_eq!(got.has_encoded_percent, original.contains('%'));
    }

    #[test]
    fn encoded_pairs_round_trip(pairs in prop::collection::vec(("[a-z_\\[\\] .+&=%\u{e9}]{1,6}", "[a-z .+&=%;/\u{e9}]{0,6}"), 0..5)) {
        let encode = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let query: Vec<String> = pairs.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
        let uri: Uri = format!("/q?{}", query.join("&")).parse().expect("encoded query parses");
        let got = canonicalize(&uri).expect("encoded query is canonical");
        prop_assert_eq!(owned(&got.query), pairs);
    }

    #[test]
    fn never_panics_on_targets_uri_accepts(target in "[/a-zA-Z0-9%.;\\\\?#&=+\\[\\] \"{}|^`~*:@-]{0,24}") {
        if let Ok(uri) = target.parse::<Uri>()
            && let Ok(c) = canonicalize(&uri)
        {
                prop_assert!(c.path.starts_with('/'));
                prop_assert!(!c.path.contains("//"));
                prop_assert!(!c.path.contains("/./") && !c.path.contains("/../"));
                prop_assert!(!c.path.ends_with("/.") && !c.path.ends_with("/.."));
                prop_assert!(!c.path.contains(['\\', ';']));
                prop_assert!(!c.raw_path.contains(['\\', ';', '#']));
                let reparsed = parse_pairs(c.raw_query.unwrap_or_default());
                prop_assert_eq!(reparsed, Ok(c.query.clone()));
                let _ = c.query_without(&["a", "token"]);
        }
    }

    #[test]
    fn never_panics_on_arbitrary_strings(target in any::<String>()) {
        if let Ok(uri) = target.parse::<Uri>() {
            let _ = canonicalize(&uri);
        }
        let _ = parse_pairs(&target);
    }
}

/// Target pieces rich in what canonicalization must refuse: dots, slashes, encoded delimiters.
fn hostile_target() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "/", "a", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "%3b", "%3F", "%23", "%25",
        "%41", "+", "~", "%c3%a9", "?", "&", "=", "x=y",
    ]);
    prop::collection::vec(piece, 0..10).prop_map(|p| format!("/{}", p.concat()))
}

/// A decoded path encoded again: only unreserved bytes and `/` stay raw.
fn reencode(path: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(path, KEEP).to_string()
}

proptest! {
    #[test]
    fn canonical_output_is_clean_and_idempotent(target in hostile_target()) {
        let Ok(c) = canon(&target) else { return Ok(()) };
        let raw = c.raw_path.to_ascii_lowercase();
        prop_assert!(!raw.contains("%2f") && !raw.contains("%5c"), "encoded delimiter in {}", c.raw_path);
        prop_assert!(!c.path.contains("//"), "empty segment in {}", c.path);
        prop_assert!(!c.path.split('/').any(|s| s == "." || s == ".."), "dot segment in {}", c.path);
        // The forwarded target is canonical and means the same thing again.
        let forwarded = match c.raw_query {
            Some(q) => format!("{}?{q}", c.raw_path),
            None => c.raw_path.to_owned(),
        };
        let again = canon(&forwarded).expect("a canonical target stays canonical");
        prop_assert_eq!(&again.path, &c.path);
        prop_assert_eq!(&again.query, &c.query);
        // The decoded path, encoded once more, decodes to itself.
        let reencoded = canon(&reencode(&c.path)).expect("a re-encoded canonical path is canonical");
        prop_assert_eq!(&reencoded.path, &c.path);
    }
}

fn owned(pairs: &[Pair<'_>]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}
