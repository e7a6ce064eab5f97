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

use std::borrow::Cow;

use crate::php::php_name;

/// A decoded (name, value) parameter, borrowed when nothing had to be decoded.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// A request target proven canonical, parsed once for routing and forwarding.
///
/// It borrows from the request's URI: nothing is copied unless it had to be decoded.
#[derive(Debug, Clone)]
pub struct Canonical<'u> {
    /// Percent-decoded path used for route matching, e.g. "/api/My Base/rows".
    pub path: Cow<'u, str>,
    /// The path exactly as received (already proven canonical); forwarded unchanged.
    pub raw_path: &'u str,
    /// The query exactly as received, without '?', if any; forwarded unchanged (minus credential
    /// params, which `forward` removes via `query_without`).
    pub raw_query: Option<&'u str>,
    /// Decoded (name, value) pairs in order of appearance ('+' → ' ').
    pub query: Vec<Pair<'u>>,
    /// True when the path or query contained `%25`.
    pub has_encoded_percent: bool,
    /// The path held an encoded `?` or `#` (`%3F`, `%23`), which a PHP or CGI upstream may read as
    /// the end of the script name: refused unless the route allows it.
    pub has_encoded_delimiter: bool,
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
pub fn canonicalize(uri: &http::Uri) -> Result<Canonical<'_>, CanonicalError> {
    let raw_path = uri.path();
    let (path, path_percent) = decode_path(raw_path)?;
    let (query, query_percent) = match uri.query() {
        Some(raw) => {
            check_raw_target(raw.as_bytes())?;
            parse_form(raw)?
        }
        None => (Vec::new(), false),
    };
    let has_encoded_delimiter = path.contains(['?', '#']);
    Ok(Canonical {
        path,
        raw_path,
        raw_query: uri.query(),
        query,
        has_encoded_percent: path_percent || query_percent,
        has_encoded_delimiter,
    })
}

/// Decode an `application/x-www-form-urlencoded` body (or query string) into pairs.
///
/// Pairs are split on `&` (empty pieces skipped, as PHP does), name and
/// value on the first `=` (a missing `=` gives an empty value), and `+`
/// decodes to a space. Control bytes (raw or encoded), malformed escapes and
/// bad UTF-8 are rejected; `;` is not (see the module docs).
pub fn parse_pairs(input: &str) -> Result<Vec<Pair<'_>>, CanonicalError> {
    parse_form(input).map(|(pairs, _)| pairs)
}

impl Canonical<'_> {
    /// The raw query with every parameter whose PHP name equals one of `names` removed (used to strip a credential passed as `?token=...`), keeping the others byte-for-byte in order; None when nothing is left.
    ///
    /// "PHP name" is the mangled base ([`crate::php::php_name`]), so `token`,
    /// ` token`, `tok%65n` and `token[]` are all removed for `names = ["token"]`.
    /// When nothing is removed the raw query is returned as is; otherwise
    /// the kept parameters are joined with `&` and empty pieces are dropped.
    pub fn query_without(&self, names: &[&str]) -> Option<String> {
        let raw = self.raw_query?;
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
fn decode_path(raw: &str) -> Result<(Cow<'_, str>, bool), CanonicalError> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(CanonicalError::NotOriginForm);
    };
    check_raw_target(raw.as_bytes())?;
    if !raw.as_bytes().contains(&b'%') {
        // Nothing escaped: the path is its own decoded form; only the segments need checking
        // (as bytes: a search for a `char` costs several times more on paths this short).
        let mut segments = rest.as_bytes().split(|&b| b == b'/').peekable();
        while let Some(segment) = segments.next() {
            if segment.is_empty() && segments.peek().is_some() {
                return Err(CanonicalError::EmptySegment);
            }
            if segment == b"." || segment == b".." {
                return Err(CanonicalError::DotSegment);
            }
        }
        return Ok((Cow::Borrowed(raw), false));
    }
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
    Ok((Cow::Owned(path), percent))
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
fn parse_form(input: &str) -> Result<(Vec<Pair<'_>>, bool), CanonicalError> {
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
fn decode(src: &str, part: Part) -> Result<(Cow<'_, str>, bool), CanonicalError> {
    if !needs_decoding(src, part) {
        return Ok((Cow::Borrowed(src), false));
    }
    let mut out = Vec::with_capacity(src.len());
    let percent = decode_into(src, part, &mut out)?;
    let text = String::from_utf8(out).map_err(|_| CanonicalError::BadUtf8)?;
    Ok((Cow::Owned(text), percent))
}

/// Percent-decode `src` onto `out` with the rules of `part`; returns whether it held `%25`.
/// UTF-8 validity is left to the caller, which owns the whole buffer.
fn decode_into(src: &str, part: Part, out: &mut Vec<u8>) -> Result<bool, CanonicalError> {
    // Fast path: nothing to decode (the common case for keys, names and plain segments).
    if !needs_decoding(src, part) {
        out.extend_from_slice(src.as_bytes());
        return Ok(false);
    }
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

/// Whether `src` holds anything decoding would change or refuse.
fn needs_decoding(src: &str, part: Part) -> bool {
    src.bytes()
        .any(|b| b == b'%' || (b == b'+' && part == Part::Form) || is_control(b))
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
#[path = "canonical_tests.rs"]
mod tests;
