//! Policy source: reads the policy file, or every `*.json` of a policy directory in name order,
//! and the foreign files they import; fingerprints what it read with SHA-256.
//!
//! It only reads bytes. `policy::compile` parses and checks them; `reload` decides whether the
//! fingerprint is new.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// One file as read, kept whole so errors can be located in it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where it was read from (as given, not canonicalized, so messages match what the operator wrote).
    pub path: PathBuf,
    /// Its text.
    pub text: String,
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

/// Read the policy at `path`: one file, or a directory's `*.json` files (hidden files skipped) in
/// name order.
pub fn read(path: &Path) -> Result<Vec<SourceFile>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    if !std::fs::metadata(path).map_err(io)?.is_dir() {
        return Ok(vec![read_file(path)?]);
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
    names.iter().map(|p| read_file(p)).collect()
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
    Ok(SourceFile {
        path: path.to_owned(),
        text,
    })
}

/// SHA-256 over every file's name and text, in order: equal fingerprints mean equal policy input.
/// Only the file name counts, not the path it was read from, so the same files give the same
/// hash from any working directory and however the policy path is spelled (policy files are
/// the policy directory's children; an import is named by the policy text, which is hashed).
pub fn fingerprint(files: &[SourceFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        let name = f.path.file_name().unwrap_or(f.path.as_os_str());
        h.update(name.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((f.text.len() as u64).to_be_bytes());
        h.update(f.text.as_bytes());
    }
    hex::encode(h.finalize())
}
