//! One scratch directory per fuzzing process, created once and reused by every input: the
//! policy loader reads files, so the policy targets write each input to the same paths there.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The process's scratch directory (under the system temp dir, named by process id).
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("portcullis-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    })
}

/// Write `data` to `name` in the scratch directory and return its path.
pub fn write(name: &str, data: &[u8]) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, data).expect("write scratch file");
    path
}
