//! Policy source: reads the policy file, or every `*.json` of a policy directory in name order,
//! and the foreign files they import; fingerprints what it read with SHA-256.
//!
//! It only reads bytes. `policy::compile` parses and checks them; `reload` decides whether the
//! fingerprint is new.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// One file as read: its path, the SHA-256 and length of its bytes, and its text while it is
/// kept. `load` parses a large policy straight from the file (`stream`) and releases every text
/// once parsed (a policy's text is as large as its compiled keys); a problem found later is
/// located in the text read again, if the file still has the same SHA-256.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where it was read from (as given, not canonicalized, so messages match what the operator wrote).
    pub path: PathBuf,
    /// Its text; empty when not kept.
    pub text: String,
    /// SHA-256 of the bytes read.
    sha256: [u8; 32],
    /// How many bytes.
    len: u64,
    kept: bool,
}

impl SourceFile {
    /// A file read from `path` with this text.
    pub fn new(path: PathBuf, text: String) -> Self {
        let sha256 = Sha256::digest(text.as_bytes()).into();
        Self {
            path,
            len: text.len() as u64,
            text,
            sha256,
            kept: true,
        }
    }

    /// Whether `text` is the file's text.
    pub fn kept(&self) -> bool {
        self.kept
    }

    /// Let go of the text.
    pub fn release(&mut self) {
        self.text = String::new();
        self.kept = false;
    }

    /// The text as read: kept, or read again; `None` when the file has changed since (or cannot
    /// be read any more).
    pub fn text_as_read(&self) -> Option<std::borrow::Cow<'_, str>> {
        if self.kept {
            return Some(std::borrow::Cow::Borrowed(&self.text));
        }
        let text = std::fs::read_to_string(&self.path).ok()?;
        let same: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        (same == self.sha256).then_some(std::borrow::Cow::Owned(text))
    }
}

/// Why the policy could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A directory with no `*.json` file.
    #[error("{} holds no *.json policy file", .0.display())]
    Empty(PathBuf),
}

/// The files of the policy at `path`: itself, or a directory's `*.json` files (hidden files
/// skipped) in name order.
pub fn list(path: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    if !std::fs::metadata(path).map_err(io)?.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| is_policy_file(p))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(ReadError::Empty(path.to_owned()));
    }
    Ok(names)
}

fn is_policy_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.') && name.ends_with(".json") && p.is_file()
}

/// Read one file whole.
pub fn read_file(path: &Path) -> Result<SourceFile, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(SourceFile::new(path.to_owned(), text))
}

/// The reader `stream` hands its parser: a concrete `BufReader`, so serde_json's byte-at-a-time
/// reading takes the buffer's fast path (through `&mut dyn Read`, each byte was a call to `read`).
pub type Buffered<'a> = std::io::BufReader<&'a mut Hashing<std::fs::File>>;

/// Parse the file at `path` with `parse` as it is read, without holding its text: `parse` gets
/// the reader and the file's length as opened; the file comes back with its SHA-256 and length
/// and no text. Whatever `parse` leaves unread is read and counted too.
pub fn stream<T>(
    path: &Path,
    parse: impl FnOnce(Buffered<'_>, u64) -> T,
) -> Result<(SourceFile, T), ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut hashing = Hashing {
        inner: file,
        sha256: Sha256::new(),
        len: 0,
    };
    let len = hashing.inner.metadata().map_or(0, |m| m.len());
    let parsed = parse(
        std::io::BufReader::with_capacity(64 * 1024, &mut hashing),
        len,
    );
    // The hash is taken below the buffer: what the parser left buffered is counted already.
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(io)?;
    let file = SourceFile {
        path: path.to_owned(),
        text: String::new(),
        sha256: hashing.sha256.finalize().into(),
        len: hashing.len,
        kept: false,
    };
    Ok((file, parsed))
}

/// A reader that hashes and counts what passes through it.
#[derive(Debug)]
pub struct Hashing<R> {
    inner: R,
    sha256: Sha256,
    len: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Each buffer refill is a point where a paced reload may give way (parsing a buffer's
        // worth of JSON is the bulk of reading).
        super::pace::point();
        let n = self.inner.read(buf)?;
        self.sha256.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// SHA-256 over every file's name, length and SHA-256, in order: equal fingerprints mean equal
/// policy input.
/// Only the file name counts, not the path it was read from, so the same files give the same
/// hash from any working directory and however the policy path is spelled (policy files are
/// the policy directory's children; an import is named by the policy text, which is hashed).
pub fn fingerprint<'a>(files: impl IntoIterator<Item = Fingerprinted<'a>>) -> String {
    let mut h = Sha256::new();
    for f in files {
        let (path, len, sha256) = match f {
            Fingerprinted::File(f) => (f.path.as_path(), f.len, f.sha256),
            Fingerprinted::Text(path, text) => {
                let sha256: [u8; 32] = Sha256::digest(text.as_bytes()).into();
                (path, text.len() as u64, sha256)
            }
        };
        let name = path.file_name().unwrap_or(path.as_os_str());
        h.update(name.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(len.to_be_bytes());
        h.update(sha256);
    }
    hex::encode(h.finalize())
}

/// What `fingerprint` counts for one file.
pub enum Fingerprinted<'a> {
    /// The file as read.
    File(&'a SourceFile),
    /// A file counted as if it held this text instead.
    Text(&'a Path, &'a str),
}
