//! One field of a key checked and decoded, with an error at its place: a secret's digest, a
//! client certificate's fingerprint, a Linea21 status, an RFC 3339 instant. Keys, users, API
//! tokens and signing keys share them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::policy::compile::Cx;
use crate::policy::locate::JsonPath;
use crate::policy::raw::RawStatus;

/// Linea21 content statuses.
pub const STATUSES: &[&str] = &["P", "D", "PA", "AA"];

/// A certificate fingerprint: 64 hex digits, colons allowed (as `openssl x509 -fingerprint
/// -sha256` prints it).
pub fn fingerprint(cx: &mut Cx<'_>, file: usize, at: &JsonPath, text: &str) -> Option<[u8; 32]> {
    let hex_digits: String = text.chars().filter(|c| *c != ':').collect();
    let parsed = crate::hex_digest::decode(&hex_digits);
    if parsed.is_none() {
        cx.error(
            file,
            at.clone(),
            "expected a SHA-256 fingerprint: 64 hex digits, colons allowed",
        );
    }
    parsed
}

/// SHA-256 of the empty string (computing it for every key cost 5 % of a 100,000-key compile).
pub const EMPTY_DIGEST: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// A 64-hex-digit SHA-256 at `at.sha256`, or an error there.
pub fn parse_digest(
    cx: &mut Cx<'_>,
    file: usize,
    at: &JsonPath,
    hex_digest: &str,
) -> Option<[u8; 32]> {
    check_digest(cx, file, at, crate::hex_digest::decode(hex_digest))
}

/// A SHA-256 decoded while reading (`None`: it was not 64 hex digits), or an error at `at.sha256`.
pub fn check_digest(
    cx: &mut Cx<'_>,
    file: usize,
    at: &JsonPath,
    decoded: Option<[u8; 32]>,
) -> Option<[u8; 32]> {
    match decoded {
        Some(out) if out == EMPTY_DIGEST => {
            cx.error(
                file,
                at.key("sha256"),
                "this is the SHA-256 of the empty string; a key needs a secret",
            );
            None
        }
        Some(out) => Some(out),
        None => {
            cx.error(
                file,
                at.key("sha256"),
                "expected 64 hexadecimal characters, the SHA-256 of the secret (see `portcullis key new`)",
            );
            None
        }
    }
}

/// Linea21 status scope → header value (`P` when absent).
pub fn status(cx: &mut Cx<'_>, file: usize, at: &JsonPath, raw: Option<&RawStatus>) -> String {
    let list: Vec<&str> = match raw {
        None => return "P".into(),
        Some(RawStatus::One(s)) if s == "all" => return "all".into(),
        Some(RawStatus::One(s)) => vec![s.as_str()],
        Some(RawStatus::Many(v)) => v.iter().map(String::as_str).collect(),
    };
    if list.is_empty() {
        cx.error(file, at.clone(), "expected at least one status, or \"all\"");
    }
    for s in &list {
        if !STATUSES.contains(s) {
            cx.error(
                file,
                at.clone(),
                format!(
                    "unknown status `{s}` (expected \"all\" or {})",
                    STATUSES.join(", ")
                ),
            );
        }
    }
    list.join(",")
}

/// An RFC 3339 instant in unix seconds, or an error at `at`.
pub fn instant(cx: &mut Cx<'_>, file: usize, at: &JsonPath, raw: Option<&str>) -> Option<i64> {
    let raw = raw?;
    match OffsetDateTime::parse(raw, &Rfc3339) {
        Ok(t) => Some(t.unix_timestamp()),
        Err(_) => {
            cx.error(
                file,
                at.clone(),
                format!("expected an RFC 3339 instant such as 2026-01-31T12:00:00Z, got `{raw}`"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_empty_digest_is_the_digest_of_nothing() {
        assert_eq!(super::EMPTY_DIGEST, crate::identity::digest(""));
    }
}
