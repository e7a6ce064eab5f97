//! The one parse of a request target.
//!
//! Owns: turning `uri.path()` + `uri.query()` into a [`Canonical`] — the
//! percent-decoded path used for routing, the raw path and query forwarded
//! unchanged, and the decoded query pairs — and refusing every target that
//! is not already canonical (dot or empty segments, encoded slashes,
//! backslashes, `;`, control bytes, malformed escapes, bad UTF-8, ...).
//! Nothing is normalised or guessed at: a target is either canonical as sent
//! or rejected with a [`CanonicalError`]. Also owns [`parse_pairs`], the same
//! decoding rules for `application/x-www-form-urlencoded` bodies, and
//! [`Canonical::query_without`], which strips credential parameters.
//!
//! `%25` (an encoded `%`) is not rejected here but flagged in
//! [`Canonical::has_encoded_percent`]: a route may allow it, and the gateway
//! rejects it later if the route does not.
//!
//! `;` is rejected only in the request target (raw anywhere; encoded `%3B`
//! also in the path), never in bodies: PHP splits POST bodies on `&` alone,
//! whatever `arg_separator.input` says, so a `;` in a body is plain data.
//!
//! Does not own: what PHP makes of parameter names ([`crate::php`] reads the
//! pairs produced here), route matching, or the decision to accept `%25`
//! (both the gateway's).

use crate::php::php_name;

/// A request target proven canonical, parsed once for routing and forwarding.
#[derive(Debug, Clone)]
pub struct Canonical {
    /// Percent-decoded path used for route matching, e.g. "/api/My Base/rows".
    pub path: String,
    /// The path exactly as received (already proven canonical); forwarded unchanged.
    pub raw_path: String,
    /// The query exactly as received, without '?', if any; forwarded unchanged (minus credential params, which the lead removes via `query_without`).
    pub raw_query: Option<String>,
    /// Decoded (name, value) pairs in order of appearance ('+' → ' ').
    pub query: Vec<(String, String)>,
    /// True when the path or query contained `%25`.
    pub has_encoded_percent: bool,
}

/// Why a request target (or form body) is not canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The path is empty or does not start with `/` (asterisk-form `*`, authority-form).
    #[error("expected an origin-form target starting with '/'")]
    NotOriginForm,
    /// A path segment is `.` or `..`, raw or percent-encoded (`%2e`, `.%2E`, ...).
    #[error("expected no '.' or '..' path segments")]
    DotSegment,
    /// The path has an empty segment (`//`); only a single trailing `/` is allowed.
    #[error("expected no empty path segments")]
    EmptySegment,
    /// The path contains `%2F`/`%2f`, an encoded `/`.
    #[error("expected no encoded '/' in the path")]
    EncodedSlash,
    /// The target contains a raw `\`, or the path an encoded one (`%5C`/`%5c`).
    #[error("expected no backslash in the target")]
    Backslash,
    /// The target contains a raw `;`, or the path an encoded one (`%3B`/`%3b`).
    #[error("expected no ';' in the target")]
    Semicolon,
    /// A control byte (0x00–0x1F or 0x7F), raw or percent-encoded.
    #[error("expected no control bytes, raw or encoded")]
    ControlByte,
    /// A `%` not followed by two hex digits (`%`, `%4`, `%G1`).
    #[error("expected '%' to be followed by two hex digits")]
    BadEscape,
    /// The percent-decoded bytes are not valid UTF-8 (`%ff`, a lone `%c3`, overlong forms).
    #[error("expected valid utf-8 after percent-decoding")]
    BadUtf8,
    /// The target contains `#` (a fragment is never sent to a server).
    #[error("expected no '#' fragment in the target")]
    Fragment,
    /// The raw target contains a space or a non-ASCII byte, which must be percent-encoded.
    #[error("expected spaces and non-ascii bytes to be percent-encoded")]
    UnescapedByte,
}

impl CanonicalError {
    /// A stable snake_case reason for logs and error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotOriginForm => "not_origin_form",
            Self::DotSegment => "dot_segment",
            Self::EmptySegment => "empty_segment",
            Self::EncodedSlash => "encoded_slash",
            Self::Backslash => "backslash",
            Self::Semicolon => "semicolon",
            Self::ControlByte => "control_byte",
            Self::BadEscape => "bad_escape",
            Self::BadUtf8 => "bad_utf8",
            Self::Fragment => "fragment",
            Self::UnescapedByte => "unescaped_byte",
        }
    }
}

/// Which part of the input is being decoded; the path has stricter rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// A path segment: `+` is literal; encoded `/`, `\` and `;` are refused.
    Path,
    /// A form-encoded name or value: `+` is a space.
    Form,
}

/// Parse and verify the request target (`uri.path()` + `uri.query()`).
pub fn canonicalize(uri: &http::Uri) -> Result<Canonical, CanonicalError> {
    let raw_path = uri.path();
    let (path, path_percent) = decode_path(raw_path)?;
    let (query, query_percent) = match uri.query() {
        Some(raw) => {
            check_raw_target(raw.as_bytes())?;
            parse_form(raw)?
        }
        None => (Vec::new(), false),
    };
    Ok(Canonical {
        path,
        raw_path: raw_path.to_owned(),
        raw_query: uri.query().map(str::to_owned),
        query,
        has_encoded_percent: path_percent || query_percent,
    })
}

/// Decode an `application/x-www-form-urlencoded` body (or query string) into pairs.
///
/// Pairs are split on `&` (empty pieces skipped, as PHP does), name and
/// value on the first `=` (a missing `=` gives an empty value), and `+`
/// decodes to a space. Control bytes (raw or encoded), malformed escapes and
/// bad UTF-8 are rejected; `;` is not (see the module docs).
pub fn parse_pairs(input: &str) -> Result<Vec<(String, String)>, CanonicalError> {
    parse_form(input).map(|(pairs, _)| pairs)
}

impl Canonical {
    /// The raw query with every parameter whose PHP name equals one of `names` removed (used to strip a credential passed as `?token=...`), keeping the others byte-for-byte in order; None when nothing is left.
    ///
    /// "PHP name" is the mangled base ([`crate::php::php_name`]), so `token`,
    /// ` token`, `tok%65n` and `token[]` are all removed for `names = ["token"]`.
    /// When nothing is removed the raw query is returned as is; otherwise
    /// the kept parameters are joined with `&` and empty pieces are dropped.
    pub fn query_without(&self, names: &[&str]) -> Option<String> {
        let raw = self.raw_query.as_deref()?;
        let mut kept = String::with_capacity(raw.len());
        let mut removed = false;
        for piece in raw.split('&').filter(|p| !p.is_empty()) {
            if names_piece(piece, names) {
                removed = true;
                continue;
            }
            if !kept.is_empty() {
                kept.push('&');
            }
            kept.push_str(piece);
        }
        let out = if removed { kept } else { raw.to_owned() };
        (!out.is_empty()).then_some(out)
    }
}

/// True when the raw `name[=value]` piece registers in PHP under one of `names`.
/// A name that cannot be decoded counts as a match, so it is stripped rather than forwarded.
fn names_piece(piece: &str, names: &[&str]) -> bool {
    let raw_name = piece.split_once('=').map_or(piece, |(name, _)| name);
    let Ok((name, _)) = decode(raw_name, Part::Form) else {
        return true;
    };
    let base = php_name(&name).base;
    names.iter().any(|n| {
        let wanted = php_name(n).base;
        !wanted.is_empty() && wanted == base
    })
}

/// Verify and decode the raw path; returns the decoded path and whether it held `%25`.
fn decode_path(raw: &str) -> Result<(String, bool), CanonicalError> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(CanonicalError::NotOriginForm);
    };
    check_raw_target(raw.as_bytes())?;
    let mut out = Vec::with_capacity(raw.len());
    let mut percent = false;
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        if segment.is_empty() && segments.peek().is_some() {
            return Err(CanonicalError::EmptySegment);
        }
        out.push(b'/');
        let start = out.len();
        percent |= decode_into(segment, Part::Path, &mut out)?;
        if matches!(&out[start..], b"." | b"..") {
            return Err(CanonicalError::DotSegment);
        }
    }
    let path = String::from_utf8(out).map_err(|_| CanonicalError::BadUtf8)?;
    Ok((path, percent))
}

/// Refuse raw bytes that never belong in a canonical target (path or query).
fn check_raw_target(raw: &[u8]) -> Result<(), CanonicalError> {
    for &b in raw {
        match b {
            b'#' => return Err(CanonicalError::Fragment),
            b';' => return Err(CanonicalError::Semicolon),
            b'\\' => return Err(CanonicalError::Backslash),
            b' ' | 0x80..=0xFF => return Err(CanonicalError::UnescapedByte),
            _ if is_control(b) => return Err(CanonicalError::ControlByte),
            _ => {}
        }
    }
    Ok(())
}

/// Split form-encoded `input` into decoded pairs; also reports whether it held `%25`.
fn parse_form(input: &str) -> Result<(Vec<(String, String)>, bool), CanonicalError> {
    let mut pairs = Vec::new();
    let mut percent = false;
    for piece in input.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        let (name, name_percent) = decode(raw_name, Part::Form)?;
        let (value, value_percent) = decode(raw_value, Part::Form)?;
        percent |= name_percent || value_percent;
        pairs.push((name, value));
    }
    Ok((pairs, percent))
}

/// Percent-decode `src` into a new string; also reports whether it held `%25`.
fn decode(src: &str, part: Part) -> Result<(String, bool), CanonicalError> {
    let mut out = Vec::with_capacity(src.len());
    let percent = decode_into(src, part, &mut out)?;
    let text = String::from_utf8(out).map_err(|_| CanonicalError::BadUtf8)?;
    Ok((text, percent))
}

/// Percent-decode `src` onto `out` with the rules of `part`; returns whether it held `%25`.
/// UTF-8 validity is left to the caller, which owns the whole buffer.
fn decode_into(src: &str, part: Part, out: &mut Vec<u8>) -> Result<bool, CanonicalError> {
    let mut percent = false;
    let mut bytes = src.bytes();
    while let Some(b) = bytes.next() {
        let decoded = match b {
            b'%' => {
                let byte = hex_pair(bytes.next(), bytes.next())?;
                check_escaped(byte, part)?;
                percent |= byte == b'%';
                byte
            }
            b'+' if part == Part::Form => b' ',
            _ if is_control(b) => return Err(CanonicalError::ControlByte),
            _ => b,
        };
        out.push(decoded);
    }
    Ok(percent)
}

/// Refuse a byte that arrived percent-encoded but may not appear in `part`.
fn check_escaped(byte: u8, part: Part) -> Result<(), CanonicalError> {
    if is_control(byte) {
        return Err(CanonicalError::ControlByte);
    }
    if part == Part::Path {
        match byte {
            b'/' => return Err(CanonicalError::EncodedSlash),
            b'\\' => return Err(CanonicalError::Backslash),
            b';' => return Err(CanonicalError::Semicolon),
            _ => {}
        }
    }
    Ok(())
}

/// The byte spelled by two hex digits after a `%`.
fn hex_pair(high: Option<u8>, low: Option<u8>) -> Result<u8, CanonicalError> {
    let digit = |d: Option<u8>| {
        d.and_then(|d| char::from(d).to_digit(16))
            .ok_or(CanonicalError::BadEscape)
    };
    let value = digit(high)? * 16 + digit(low)?;
    u8::try_from(value).map_err(|_| CanonicalError::BadEscape)
}

/// 0x00–0x1F and 0x7F.
fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7F
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Uri;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    use proptest::prelude::*;

    fn canon(target: &str) -> Result<Canonical, CanonicalError> {
        let uri: Uri = target
            .parse()
            .expect("test target must be a valid http::Uri");
        canonicalize(&uri)
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
            assert_eq!(got.raw_query.as_deref(), *raw_query, "{target:?}");
            let want: Vec<(String, String)> = query
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(got.query, want, "{target:?}");
            assert_eq!(got.has_encoded_percent, *percent, "{target:?}");
        }
    }

    #[test]
    fn absolute_form_uses_its_path() {
        let got = canon("http://example.com/a%20b?x=1").expect("absolute-form is canonical");
        assert_eq!(got.path, "/a b");
        assert_eq!(got.raw_query.as_deref(), Some("x=1"));
        assert_eq!(
            canon("http://example.com").map(|c| c.path),
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
            assert_eq!(parse_pairs(input), want, "{input:?}");
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
            prop_assert_eq!(got.query, pairs);
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
                    let reparsed = parse_pairs(c.raw_query.as_deref().unwrap_or_default());
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
}
