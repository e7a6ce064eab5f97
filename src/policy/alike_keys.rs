//! Keys alike but for their digest, read once per reload.
//!
//! In a large policy most keys differ only by id and digest: `{"sha256": "…", "permissions":
//! {…}}` with one of a few permission sets. serde builds each key's maps and strings, and the
//! builder then finds its shape already known and drops them: on a reload of 100,000 keys that
//! was about half of the parse. So a key whose value begins with its digest (`{"sha256":
//! "<64 hex digits>"`) is cut there, and what follows the digest (the rest of the value, byte for
//! byte) remembered with the shape it gave. The next key whose rest is the same bytes takes that
//! shape without being parsed.
//!
//! The same bytes after a digest of 64 hex digits parse to the same fields, so a remembered rest
//! gives what serde would. Only keys serde read in full and found plain (no field of `KeyRest`)
//! are remembered; a rest naming `sha256` again never parsed, so it is never remembered. Anything
//! else (a digest elsewhere in the value, escapes in the name, another spelling) goes through
//! serde as before. What is remembered is bounded, and lives for one reload.

use std::hash::BuildHasher;

/// At most this many distinct rests are remembered in one reload, each at most `MAX_REST` bytes:
/// a policy whose keys each have a description of their own costs serde's time, as before, not
/// memory.
const MAX_ENTRIES: usize = 4096;
const MAX_REST: usize = 512;

/// What a plain key's rest gave: its shape and whether it is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alike {
    /// The shape number in the builder.
    pub shape: u32,
    /// `"disabled": true`.
    pub disabled: bool,
}

/// The rests seen in this reload, by their bytes.
#[derive(Default)]
pub struct Memo {
    seen: hashbrown::HashTable<(Box<[u8]>, Alike)>,
    hasher: foldhash::fast::RandomState,
}

impl Memo {
    /// What the key whose value is cut as `rest` gave before, if one did.
    pub fn get(&self, rest: &[u8]) -> Option<Alike> {
        let hash = self.hasher.hash_one(rest);
        self.seen.find(hash, |(r, _)| **r == *rest).map(|(_, a)| *a)
    }

    /// Remember what the plain key whose value was cut as `rest` gave (within the bounds).
    pub fn remember(&mut self, rest: &[u8], alike: Alike) {
        if self.seen.len() >= MAX_ENTRIES || rest.len() > MAX_REST || self.get(rest).is_some() {
            return;
        }
        let hasher = &self.hasher;
        let hash = hasher.hash_one(rest);
        self.seen
            .insert_unique(hash, (rest.into(), alike), |(r, _)| hasher.hash_one(&**r));
    }
}

/// A key's value (JSON text, as cut from the file) whose first field is its digest: `digest` is
/// the digest decoded, `rest` everything after the digest's closing quote.
pub struct Cut<'a> {
    pub digest: [u8; 32],
    pub rest: &'a [u8],
}

/// `value` cut after its digest, when it begins (after whitespace) with `{`, the name
/// `"sha256"` as written here, `:` and a string of exactly 64 hex digits; `None` otherwise.
pub fn cut(value: &[u8]) -> Option<Cut<'_>> {
    let value = after(value, b"{")?;
    let value = after(value, b"\"sha256\"")?;
    let value = after(value, b":")?;
    let value = after(value, b"\"")?;
    let (digits, rest) = (value.get(..64)?, value.get(64..)?);
    let rest = rest.strip_prefix(b"\"")?;
    let digest = crate::hex_digest::decode_bytes(digits)?;
    Some(Cut { digest, rest })
}

/// JSON's whitespace, exactly (not form feed: a value serde would refuse must not be cut).
pub const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `text` after any JSON whitespace and then `token`.
fn after<'a>(text: &'a [u8], token: &[u8]) -> Option<&'a [u8]> {
    let start = text.iter().position(|b| !is_space(*b))?;
    text[start..].strip_prefix(token)
}

/// A quoted JSON string (`"…"`, quotes included) read as is, when it holds no escape and no
/// control character (the common id); `None` when serde must read it.
pub fn plain_string(quoted: &[u8]) -> Option<&str> {
    let inner = quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if inner.iter().any(|&b| b == b'\\' || b == b'"' || b < 0x20) {
        return None;
    }
    std::str::from_utf8(inner).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn a_value_that_begins_with_its_digest_is_cut_after_it() {
        let v = format!(" {{ \"sha256\" :\n\"{D}\", \"permissions\": {{}}}} ");
        let c = cut(v.as_bytes()).unwrap();
        assert_eq!(c.digest[0], 0x9f);
        assert_eq!(c.rest, b", \"permissions\": {}} ");
        let upper = format!("{{\"sha256\": \"{}\"}}", D.to_uppercase());
        assert_eq!(cut(upper.as_bytes()).unwrap().rest, b"}");
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for v in [
            format!("{{\"description\": \"x\", \"sha256\": \"{D}\"}}"),
            format!("{{\"sha\\u0032256\": \"{D}\"}}"),
            format!("{{\"sha256\": \"{}\"}}", &D[1..]),
            format!("{{\"sha256\": \"{D}0\"}}"),
            format!("{{\"sha256\": \"{}g\"}}", &D[1..]),
            format!("[\"sha256\", \"{D}\"]"),
            "{\"sha256\": \"".to_owned(),
            format!("\x0c{{\"sha256\": \"{D}\"}}"),
        ] {
            assert!(cut(v.as_bytes()).is_none(), "{v}");
        }
    }

    #[test]
    fn plain_ids_are_read_as_they_stand() {
        assert_eq!(plain_string(b"\"k1\""), Some("k1"));
        assert_eq!(plain_string("\"clé\"".as_bytes()), Some("clé"));
        for quoted in [
            &b"\"a\\nb\""[..],
            b"\"a\tb\"",
            b"\"a\"b\"",
            b"k",
            b"\"",
            b"\"\xff\"",
        ] {
            assert_eq!(plain_string(quoted), None, "{quoted:?}");
        }
    }

    #[test]
    fn rests_are_remembered_within_bounds() {
        let mut m = Memo::default();
        let a = Alike {
            shape: 3,
            disabled: true,
        };
        m.remember(b"}", a);
        m.remember(
            b"}",
            Alike {
                shape: 4,
                disabled: false,
            },
        );
        assert_eq!(m.get(b"}"), Some(a));
        assert_eq!(m.get(b" }"), None);
        m.remember(&[b' '; MAX_REST + 1], a);
        assert_eq!(m.get(&[b' '; MAX_REST + 1]), None);
        for i in 0..MAX_ENTRIES + 10 {
            m.remember(format!("{i}").as_bytes(), a);
        }
        assert_eq!(m.seen.len(), MAX_ENTRIES);
    }
}
