//! Lexer for SCIM filters: the input as parentheses, words (attribute paths, operators,
//! keywords), JSON strings and JSON numbers, each with its byte offset.
//!
//! It works on bytes: every delimiter is ASCII, so slices taken at them fall on char
//! boundaries (and are taken with `get`, never indexing). Offsets stay in bytes here; the
//! parser's caller turns the offset of an error into characters once.

use serde_json::Number;

/// An error at a byte offset.
pub(super) type Error = (usize, String);

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok<'a> {
    /// `(`
    Open,
    /// `)`
    Close,
    /// An attribute path, operator or keyword.
    Word(&'a str),
    /// A quoted string, escapes decoded.
    Str(String),
    /// A JSON number.
    Num(Number),
}

/// A token and where it starts.
#[derive(Debug)]
pub(super) struct Token<'a> {
    pub(super) tok: Tok<'a>,
    /// Byte offset of the first byte.
    pub(super) at: usize,
}

/// Longest word or number quoted whole in a message.
const QUOTE_MAX: usize = 40;

/// `text` in backquotes, cut after [`QUOTE_MAX`] characters.
pub(super) fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => format!("`{}…`", text.get(..cut).unwrap_or_default()),
        None => format!("`{text}`"),
    }
}

impl Tok<'_> {
    /// The token as a message names it.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Open => "`(`".to_owned(),
            Tok::Close => "`)`".to_owned(),
            Tok::Word(w) => quote(w),
            Tok::Str(_) => "a string".to_owned(),
            Tok::Num(n) => format!("the number {}", quote(&n.to_string())),
        }
    }
}

fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'-' | b'+')
}

/// The tokens of `input`, or the first lexical error.
pub(super) fn lex(input: &str) -> Result<Vec<Token<'_>>, Error> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let at = i;
        let tok = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Tok::Open
            }
            b')' => {
                i += 1;
                Tok::Close
            }
            b'"' => {
                let (s, next) = lex_string(input, at)?;
                i = next;
                Tok::Str(s)
            }
            b if is_bare(b) => {
                while bytes.get(i).copied().is_some_and(is_bare) {
                    i += 1;
                }
                let text = input.get(at..i).unwrap_or_default();
                if b.is_ascii_digit() || b == b'-' {
                    Tok::Num(lex_number(text, at)?)
                } else {
                    Tok::Word(text)
                }
            }
            _ => {
                let c = input
                    .get(at..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('?');
                let hint = if c == '[' {
                    " (value paths like `emails[type eq \"work\"]` are not supported)"
                } else {
                    ""
                };
                return Err((at, format!("unexpected character `{c}`{hint}")));
            }
        };
        tokens.push(Token { tok, at });
    }
    Ok(tokens)
}

/// A JSON number token, in range.
fn lex_number(text: &str, at: usize) -> Result<Number, Error> {
    if !is_json_number(text) {
        return Err((at, format!("invalid number {}", quote(text))));
    }
    number_value(text).ok_or_else(|| (at, format!("number {} is out of range", quote(text))))
}

/// `text` as a number if it is exactly a JSON number, in range.
pub(super) fn json_number(text: &str) -> Option<Number> {
    is_json_number(text).then(|| number_value(text)).flatten()
}

/// Whether `text` is exactly `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    let Some(int_end) = digits(i) else {
        return false;
    };
    if b.get(i) == Some(&b'0') && int_end > i + 1 {
        return false; // leading zero
    }
    i = int_end;
    if b.get(i) == Some(&b'.') {
        let Some(end) = digits(i + 1) else {
            return false;
        };
        i = end;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let Some(end) = digits(i) else {
            return false;
        };
        i = end;
    }
    i == b.len()
}

/// The value of a JSON number: an integer that fits as `u64`/`i64`, anything else as the
/// correctly rounded `f64` (serde_json's own parser may be off by a unit in the last place
/// for long mantissas, and then the printed form would not parse back to the same number);
/// `None` past `f64`'s range.
fn number_value(text: &str) -> Option<Number> {
    let exact = if text.contains(['.', 'e', 'E']) {
        None
    } else if text.starts_with('-') {
        text.parse::<i64>().ok().map(Number::from)
    } else {
        text.parse::<u64>().ok().map(Number::from)
    };
    exact.or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
}

/// The string whose opening quote is at byte `open`, and the byte after its closing quote.
fn lex_string(input: &str, open: usize) -> Result<(String, usize), Error> {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut i = open + 1;
    let mut run = i; // start of the unescaped run being copied
    loop {
        let Some(&b) = bytes.get(i) else {
            return Err((open, "unterminated string".to_owned()));
        };
        match b {
            b'"' | b'\\' => {
                out.push_str(input.get(run..i).unwrap_or_default());
                if b == b'"' {
                    return Ok((out, i + 1));
                }
                i = lex_escape(input, i, &mut out)?;
                run = i;
            }
            0x00..=0x1f => {
                return Err((i, "control character in a string (escape it)".to_owned()));
            }
            _ => i += 1,
        }
    }
}

/// Decode the escape whose `\` is at byte `at` into `out`; the byte after it.
fn lex_escape(input: &str, at: usize, out: &mut String) -> Result<usize, Error> {
    let bytes = input.as_bytes();
    let simple = match bytes.get(at + 1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let (c, next) = lex_unicode(input, at)?;
            out.push(c);
            return Ok(next);
        }
        None => return Err((at, "unterminated string".to_owned())),
        Some(_) => return Err((at, "invalid escape in a string".to_owned())),
    };
    out.push(simple);
    Ok(at + 2)
}

/// A `\uXXXX` escape at byte `at` (with its low surrogate if it is a high one).
fn lex_unicode(input: &str, at: usize) -> Result<(char, usize), Error> {
    let hex4 = |i: usize| {
        input
            .get(i..i + 4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| {
                (
                    at,
                    "invalid \\u escape (four hex digits expected)".to_owned(),
                )
            })
    };
    let first = hex4(at + 2)?;
    let lone = || (at, "invalid \\u escape (lone surrogate)".to_owned());
    match first {
        0xD800..=0xDBFF => {
            if input.get(at + 6..at + 8) != Some("\\u") {
                return Err(lone());
            }
            let second = hex4(at + 8)?;
            if !(0xDC00..=0xDFFF).contains(&second) {
                return Err(lone());
            }
            let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            char::from_u32(c).map(|c| (c, at + 12)).ok_or_else(lone)
        }
        _ => char::from_u32(first).map(|c| (c, at + 6)).ok_or_else(lone),
    }
}
