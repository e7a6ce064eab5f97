//! Temporary directories, removed when dropped: each gateway gets a policy directory of its own.

use std::path::{Path, PathBuf};

/// A directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh empty directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> Self {
        let name = format!(
            "portcullis-tokens-{prefix}-{}",
            hex::encode(rand::random::<[u8; 8]>())
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
