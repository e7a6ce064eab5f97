//! Build script: records the git revision the binary is built from, for `portcullis --version`.
//!
//! `PORTCULLIS_GIT_REVISION` from the environment wins (a container build without `.git` passes
//! it as a build argument); else `git rev-parse`; else `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=PORTCULLIS_GIT_REVISION");
    let revision = std::env::var("PORTCULLIS_GIT_REVISION")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            // Rebuild when HEAD moves: its file, and the branch it names.
            if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
                println!("cargo:rerun-if-changed={dir}/HEAD");
                if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                    let common = git(&["rev-parse", "--git-common-dir"]).unwrap_or(dir);
                    println!("cargo:rerun-if-changed={common}/{r}");
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PORTCULLIS_GIT_REVISION={revision}");
}
