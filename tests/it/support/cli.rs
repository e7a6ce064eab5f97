//! The built `portcullis` binary: run a subcommand to completion and capture its exit code and
//! output, or start `serve` as a child process.

use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// What a finished command produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_portcullis")
}

/// Run `portcullis args...` in the crate root, feeding `stdin`.
pub async fn run(args: &[&str], stdin: Option<&str>) -> Run {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, stdin).await
}

/// Run `portcullis args...` in `dir`, feeding `stdin`.
pub async fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = tokio::process::Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn portcullis");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.expect("write stdin");
    }
    drop(input);
    let out = tokio::time::timeout(super::client::LIMIT, child.wait_with_output())
        .await
        .expect("portcullis did not finish")
        .expect("wait for portcullis");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `path` as a `&str` (test paths are UTF-8).
pub fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
