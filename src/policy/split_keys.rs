//! Reading a policy file as it streams, fast: its `keys` one key at a time from a slice.
//!
//! serde_json reads an `io::Read` one byte at a time, through a cursor that counts lines and
//! columns; on a reload of a large policy that was most of the parse. So a streamed file is
//! read in blocks and split as it comes: each entry of the top-level `keys` object is cut out
//! and parsed from its own slice (`from_slice`) straight into the key columns, and everything
//! else, the document with `"keys": {}` left empty, is gathered and parsed at the end. On a
//! policy of 100,000 keys that is 672 M instructions where `from_reader` took 977 M. Only one key's text and the rest of the document (small beside the keys)
//! are held at once. A key alike but for its digest to one read before is not parsed again
//! (`alike_keys`).
//!
//! Cutting out a valid object and putting `{}` in its place leaves a valid document valid and an
//! invalid one invalid, and the splitter lexes strings as JSON does, so the result is the one a
//! parse of the whole text gives. Anything the splitter does not expect, or an entry that does
//! not parse, gives `None`: the caller then reads the file whole and parses it again, which
//! locates the error by line and column.

use std::borrow::Cow;
use std::io::BufRead;

use crate::policy::alike_keys::{self, Memo, is_space};
use crate::policy::raw::{RawKey, RawPolicy};
use crate::policy::raw_keys::{self, Builder};

/// Parse the policy `reader` holds (`len` bytes as opened); `None` when it does not parse, or
/// cannot be read.
pub fn parse(mut reader: impl BufRead, len: u64) -> Option<RawPolicy> {
    let mut split = Split {
        mode: Mode::Rest,
        in_string: false,
        escaped: false,
        depth: 0,
        string_at: 0,
        rest: Vec::new(),
        entry: Vec::new(),
        id_end: 0,
        keys_cut: false,
        builder: Builder::with_room(len),
        memo: Memo::default(),
        read: 0,
    };
    loop {
        let block = reader.fill_buf().ok()?;
        if block.is_empty() {
            break;
        }
        let n = block.len();
        split.feed(block)?;
        reader.consume(n);
    }
    split.finish()
}

/// Where the splitter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Outside `keys`: bytes go to the rest.
    Rest,
    /// After a string `"keys"` in the top-level object: whitespace, then `:` makes it the name.
    KeysName,
    /// After `"keys":`: whitespace, then `{` opens the keys.
    KeysColon,
    /// Inside `keys`, before an entry (`first`: right after `{`, where `}` may close it).
    Before { first: bool },
    /// In an entry's id.
    Id,
    /// After the id: whitespace, then `:`.
    IdColon,
    /// In an entry's value, `depth` brackets deep.
    Value { depth: u32 },
}

struct Split {
    mode: Mode,
    /// In a string, and right after a backslash in one (in the rest, an id or a value).
    in_string: bool,
    escaped: bool,
    /// Brackets open in the rest (below 0 in a document that does not parse).
    depth: i64,
    /// Where in `rest` the last string at depth 1 began.
    string_at: usize,
    rest: Vec<u8>,
    /// The current entry: its id (quoted) up to `id_end`, then its value.
    entry: Vec<u8>,
    id_end: usize,
    /// `keys` has been cut out (a second one makes the parse fail).
    keys_cut: bool,
    builder: Builder,
    /// What keys alike but for their digest gave.
    memo: Memo,
    /// Entries read, for pacing.
    read: u32,
}

impl Split {
    /// Split one block. `None`: the file does not parse this way.
    fn feed(&mut self, block: &[u8]) -> Option<()> {
        let mut i = 0;
        while i < block.len() {
            i = match self.mode {
                Mode::Rest => self.rest_until_mode_change(block, i),
                Mode::Value { .. } => self.value(block, i)?,
                Mode::Id => self.id(block, i),
                _ => {
                    self.step(block[i])?;
                    i + 1
                }
            };
        }
        Some(())
    }

    /// Copy rest bytes from `i` to the rest, up to and including the byte that changes the mode
    /// (the end of a depth-1 string `"keys"`); the index after what was taken.
    fn rest_until_mode_change(&mut self, block: &[u8], from: usize) -> usize {
        let mut i = from;
        while i < block.len() {
            if self.in_string {
                i = self.string_end(block, i);
                if !self.in_string && self.depth == 1 {
                    self.rest.extend_from_slice(&block[from..i]);
                    if self.rest[self.string_at..] == *b"\"keys\"" {
                        self.mode = Mode::KeysName;
                    }
                    return i;
                }
                continue;
            }
            match block[i] {
                b'"' => {
                    self.in_string = true;
                    self.string_at = self.rest.len() + (i - from);
                }
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth -= 1,
                _ => {}
            }
            i += 1;
        }
        self.rest.extend_from_slice(&block[from..i]);
        i
    }

    /// Inside a string, from `from`: the index just past its closing quote (no longer
    /// `in_string`), or the block's length when the block ends first (still `in_string`;
    /// `escaped` then says whether a backslash waits for its character).
    fn string_end(&mut self, block: &[u8], from: usize) -> usize {
        let mut i = from;
        if std::mem::take(&mut self.escaped) {
            i += 1;
        }
        // Most of a key is strings (its digest): skip to the next quote or backslash.
        while let Some(at) = block.get(i..).and_then(|b| memchr::memchr2(b'"', b'\\', b)) {
            i += at;
            if block[i] == b'"' {
                self.in_string = false;
                return i + 1;
            }
            if i + 1 == block.len() {
                self.escaped = true;
                break;
            }
            i += 2;
        }
        block.len()
    }

    /// One byte between the tokens the splitter acts on.
    fn step(&mut self, b: u8) -> Option<()> {
        match self.mode {
            Mode::KeysName | Mode::KeysColon if is_space(b) => self.rest.push(b),
            Mode::KeysName if b == b':' => {
                self.rest.push(b);
                self.mode = Mode::KeysColon;
            }
            Mode::KeysColon if b == b'{' => {
                self.rest.extend_from_slice(b"{}");
                if std::mem::replace(&mut self.keys_cut, true) {
                    // Two `keys`: a duplicate field, which the whole-text parse reports.
                    return None;
                }
                self.mode = Mode::Before { first: true };
            }
            // `"keys"` was not the name of an object: the byte is the rest's.
            Mode::KeysName | Mode::KeysColon => {
                self.mode = Mode::Rest;
                self.rest_until_mode_change(&[b], 0);
            }
            Mode::Before { .. } | Mode::IdColon if is_space(b) => {}
            Mode::Before { .. } if b == b'"' => {
                self.entry.clear();
                self.entry.push(b);
                self.in_string = true;
                self.mode = Mode::Id;
            }
            Mode::Before { first: true } if b == b'}' => self.mode = Mode::Rest,
            Mode::IdColon if b == b':' => self.mode = Mode::Value { depth: 0 },
            _ => return None,
        }
        Some(())
    }

    /// Copy an id's bytes from `from` into the entry, up to and including its closing quote.
    fn id(&mut self, block: &[u8], from: usize) -> usize {
        let end = self.string_end(block, from);
        self.entry.extend_from_slice(&block[from..end]);
        if !self.in_string {
            self.id_end = self.entry.len();
            self.mode = Mode::IdColon;
        }
        end
    }

    /// Copy a value's bytes from `from` into the entry; at the `,` or `}` that ends it, parse
    /// the entry. The index after what was taken.
    fn value(&mut self, block: &[u8], from: usize) -> Option<usize> {
        let Mode::Value { mut depth } = self.mode else {
            return Some(from);
        };
        let mut i = from;
        while i < block.len() {
            if self.in_string {
                i = self.string_end(block, i);
                continue;
            }
            match block[i] {
                b'"' => self.in_string = true,
                b'{' | b'[' => depth += 1,
                b',' | b'}' if depth == 0 => {
                    self.entry.extend_from_slice(&block[from..i]);
                    self.push_entry()?;
                    self.mode = match block[i] {
                        b',' => Mode::Before { first: false },
                        _ => Mode::Rest,
                    };
                    return Some(i + 1);
                }
                b'}' | b']' => depth = depth.checked_sub(1)?,
                _ => {}
            }
            i += 1;
        }
        self.entry.extend_from_slice(&block[from..i]);
        self.mode = Mode::Value { depth };
        Some(i)
    }

    fn push_entry(&mut self) -> Option<()> {
        let (id, value) = self.entry.split_at(self.id_end);
        let id: Cow<'_, str> = match alike_keys::plain_string(id) {
            Some(id) => id.into(),
            None => serde_json::from_slice::<String>(id).ok()?.into(),
        };
        let cut = alike_keys::cut(value);
        let known = cut
            .as_ref()
            .and_then(|c| Some((c.digest, self.memo.get(c.rest)?)));
        if let Some((digest, alike)) = known {
            self.builder
                .push_alike::<serde_json::Error>(&id, Some(digest), alike)
                .ok()?;
        } else {
            let raw: RawKey = serde_json::from_slice(value).ok()?;
            let plain = self.builder.push::<serde_json::Error>(&id, raw).ok()?;
            if let (Some(cut), Some(alike)) = (cut, plain) {
                self.memo.remember(cut.rest, alike);
            }
        }
        self.read = self.read.wrapping_add(1);
        if self.read.is_multiple_of(64) {
            super::pace::point();
        }
        Some(())
    }

    fn finish(self) -> Option<RawPolicy> {
        if self.mode != Mode::Rest {
            return None;
        }
        // The rest's `keys` (if it was cut out) is `{}`: no room to reserve for it.
        let mut policy: RawPolicy = raw_keys::sized_by(0, || {
            let mut de = serde_json::Deserializer::from_slice(&self.rest);
            let policy = serde::Deserialize::deserialize(&mut de).ok()?;
            de.end().ok()?;
            Some(policy)
        })?;
        if self.keys_cut {
            policy.keys = self.builder.finish();
        }
        Some(policy)
    }
}

#[cfg(test)]
#[path = "split_keys_tests.rs"]
mod tests;
