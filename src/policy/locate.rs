//! Where in a JSON text a JSON path points.
//!
//! Owns: [`locate`] (a small hand-written, allocation-light JSON scanner that
//! maps a [`JsonPath`] back to a 1-based line/column in the source text) and
//! [`serde_position`] (where a serde_json error really points).
//!
//! Does not own: parsing or validating policy (the policy compiler does that
//! with serde_json and only asks this module "where is this?"), nor error
//! formatting. serde_json already reports line/column for syntax errors; this
//! module exists for semantic errors, which only know a JSON path.
//!
//! Neighbours: the policy compiler (`policy` module) builds `JsonPath`s while
//! checking and calls [`locate`] when it renders a diagnostic.
//!
//! Columns count characters (Unicode scalar values), not bytes. Note that
//! serde_json's own syntax-error columns count bytes, so the two agree only on
//! lines that are ASCII up to the reported position.

pub use crate::policy::json_path::{JsonPath, Seg};

/// Where serde_json error `e`, raised while parsing `text`, points: a 1-based (line, column)
/// in characters.
///
/// serde_json reports the line and the *byte* column of the last byte it read. This turns the
/// byte column into characters (so a line with `é` before the error reports the column an
/// editor shows) and moves the position to the token at fault: a trailing comma to the comma
/// itself (serde_json stops at the bracket after it), and a data error that stopped at a
/// string's closing quote (`unknown field`, `unknown variant`, a string of the wrong type) to
/// that string's opening quote. Never panics; an out-of-range position is clamped.
pub fn serde_position(text: &str, e: &serde_json::Error) -> (usize, usize) {
    let line_start = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let mut at = (line_start + e.column().saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let bytes = text.as_bytes();
    if e.to_string().starts_with("trailing comma") {
        if let Some(comma) = bytes[..at].iter().rposition(|&b| !b.is_ascii_whitespace())
            && bytes[comma] == b','
        {
            at = comma;
        }
    } else if e.is_data()
        && bytes.get(at) == Some(&b'"')
        && let Some(open) = opening_quote(bytes, at)
    {
        at = open;
    }
    position_of(text, at)
}

/// The index of the `"` that opens the JSON string whose closing quote is at `close`.
fn opening_quote(bytes: &[u8], close: usize) -> Option<usize> {
    let mut i = close;
    while i > 0 {
        i -= 1;
        if bytes[i] == b'"' {
            let backslashes = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes % 2 == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// 1-based (line, column in characters) of byte index `at` (a char boundary) in `text`.
fn position_of(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// 1-based (line, column) of the value at `path` in `text`.
///
/// When the last segment is a [`Seg::Key`], the position of the member's key
/// string (its opening quote) is returned instead of the value's. If the path
/// does not fully exist, the position of the deepest existing ancestor is
/// returned. `None` only if the text is not valid JSON up to the point where
/// the answer was found (or is empty). With duplicate keys the first
/// occurrence wins. Columns count characters, not bytes. Never panics.
pub fn locate(text: &str, path: &JsonPath) -> Option<(usize, usize)> {
    let mut s = Scanner::new(text);
    s.skip_ws();
    if !s.peek().is_some_and(starts_value) {
        return None;
    }
    let mut best = s.pos();
    for seg in &path.0 {
        let step = match seg {
            Seg::Key(k) => s.enter_member(k)?,
            Seg::Index(i) => s.enter_element(*i)?,
        };
        match step {
            Step::Found(pos) => best = pos,
            Step::Missing => break,
        }
    }
    Some(best)
}

/// The outcome of descending one segment.
enum Step {
    /// The segment exists; its reported position. The scanner is left at the
    /// start of its value.
    Found((usize, usize)),
    /// The segment does not exist (or the current value is not a container
    /// of the right kind).
    Missing,
}

fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9'
    )
}

/// A cursor over the bytes of a `&str` that tracks line and column.
///
/// Every method returns `None` on malformed input or end of text; nothing
/// indexes out of bounds.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
    /// 1-based column (in characters) of the byte at `at`.
    col: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            at: 0,
            line: 1,
            col: 1,
        }
    }

    fn pos(&self) -> (usize, usize) {
        (self.line, self.col)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Consumes one byte. UTF-8 continuation bytes do not advance the
    /// column, so columns count characters.
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        if b == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if b & 0xC0 != 0x80 {
            self.col += 1;
        }
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn eat(&mut self, want: u8) -> bool {
        let hit = self.peek() == Some(want);
        if hit {
            self.at += 1;
            self.col += 1;
        }
        hit
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.next();
        }
    }

    /// At a `{`: finds member `key` and leaves the scanner at its value.
    /// `Missing` if the value here is not an object or has no such key.
    fn enter_member(&mut self, key: &str) -> Option<Step> {
        if !self.eat(b'{') {
            return Some(Step::Missing);
        }
        self.skip_ws();
        if self.eat(b'}') {
            return Some(Step::Missing);
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos();
            let found = self.member_key_is(key)?;
            self.skip_ws();
            if found {
                return Some(Step::Found(key_pos));
            }
            self.skip_value()?;
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b'}' => return Some(Step::Missing),
                _ => return None,
            }
        }
    }

    /// Reads a member's key and the `:` after it; whether the key is `want`.
    fn member_key_is(&mut self, want: &str) -> Option<bool> {
        let mut key = String::new();
        self.string(Some(&mut key))?;
        self.skip_ws();
        self.expect(b':')?;
        Some(key == want)
    }

    /// At a `[`: finds element `index` and leaves the scanner at it.
    /// `Missing` if the value here is not an array or is too short.
    fn enter_element(&mut self, index: usize) -> Option<Step> {
        if !self.eat(b'[') {
            return Some(Step::Missing);
        }
        self.skip_ws();
        if self.eat(b']') {
            return Some(Step::Missing);
        }
        let mut i = 0;
        loop {
            self.skip_ws();
            if i == index {
                return self
                    .peek()
                    .is_some_and(starts_value)
                    .then(|| Step::Found(self.pos()));
            }
            self.skip_value()?;
            self.skip_ws();
            match self.next()? {
                b',' => i += 1,
                b']' => return Some(Step::Missing),
                _ => return None,
            }
        }
    }

    /// Skips one complete value, validating it. Iterative (an explicit stack
    /// of closing brackets), so deep nesting cannot overflow the call stack.
    fn skip_value(&mut self) -> Option<()> {
        let mut closers: Vec<u8> = Vec::new();
        loop {
            self.skip_ws();
            if let Some(close) = self.open_or_scalar()? {
                closers.push(close);
                continue;
            }
            loop {
                let Some(&close) = closers.last() else {
                    return Some(());
                };
                self.skip_ws();
                let b = self.next()?;
                if b == close {
                    closers.pop();
                } else if b == b',' {
                    if close == b'}' {
                        self.skip_ws();
                        self.member_key_is("")?;
                    }
                    break;
                } else {
                    return None;
                }
            }
        }
    }

    /// Consumes a scalar, an empty container, or the opening of a non-empty
    /// one (including its first key and `:` for an object). Returns the
    /// closing bracket to expect when a container was left open.
    fn open_or_scalar(&mut self) -> Option<Option<u8>> {
        match self.peek()? {
            open @ (b'{' | b'[') => {
                self.next();
                self.skip_ws();
                let close = if open == b'{' { b'}' } else { b']' };
                if self.eat(close) {
                    return Some(None);
                }
                if open == b'{' {
                    self.member_key_is("")?;
                }
                Some(Some(close))
            }
            b'"' => self.string(None).map(|()| None),
            b't' => self.literal(b"true").map(|()| None),
            b'f' => self.literal(b"false").map(|()| None),
            b'n' => self.literal(b"null").map(|()| None),
            b'-' | b'0'..=b'9' => self.number().map(|()| None),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        word.iter().try_for_each(|&b| self.expect(b))
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        if !self.eat(b'0') {
            self.digits()?;
        }
        if self.eat(b'.') {
            self.digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            self.digits()?;
        }
        Some(())
    }

    /// One or more ASCII digits.
    fn digits(&mut self) -> Option<()> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.next();
        }
        (self.at > start).then_some(())
    }

    /// A string literal, decoded into `out` when given (escapes included;
    /// lone surrogates become U+FFFD). Control characters are rejected.
    fn string(&mut self, mut out: Option<&mut String>) -> Option<()> {
        self.expect(b'"')?;
        loop {
            let start = self.at;
            while self
                .peek()
                .is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20)
            {
                self.next();
            }
            if let Some(out) = out.as_deref_mut() {
                out.push_str(std::str::from_utf8(self.bytes.get(start..self.at)?).ok()?);
            }
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => {
                    let c = self.escape()?;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                }
                _ => return None,
            }
        }
    }

    /// The character after a backslash.
    fn escape(&mut self) -> Option<char> {
        Some(match self.next()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return None,
        })
    }

    /// The rest of a `\uXXXX` escape, joining a following low surrogate.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if !(0xD800..0xDC00).contains(&first) {
            return Some(char::from_u32(first).unwrap_or('\u{FFFD}'));
        }
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        if !rest.starts_with(b"\\u") {
            return Some('\u{FFFD}');
        }
        self.next();
        self.next();
        let second = self.hex4()?;
        if !(0xDC00..0xE000).contains(&second) {
            return Some('\u{FFFD}');
        }
        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        Some(char::from_u32(code).unwrap_or('\u{FFFD}'))
    }

    fn hex4(&mut self) -> Option<u32> {
        (0..4).try_fold(0u32, |acc, _| {
            let d = char::from(self.next()?).to_digit(16)?;
            Some(acc * 16 + d)
        })
    }
}

#[cfg(test)]
#[path = "locate_tests.rs"]
mod tests;
