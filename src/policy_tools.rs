//! `portcullis test` and `portcullis diff`: policy tests and access diffs, as CLI commands over
//! the library's `suite` and `diff`. Part of the binary; `main.rs` dispatches to them.
#![expect(clippy::print_stdout, reason = "the CLI prints its results")]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use portcullis::clock::{Clock, SystemClock};
use portcullis::policy;

use crate::{policy_path, process_env};

pub fn test_cmd(
    config: Option<PathBuf>,
    policy: Option<PathBuf>,
    junit: Option<PathBuf>,
    paths: Vec<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let file = policy_path(config, policy)?;
    let load = || policy::load_with(&file, &process_env).map_err(|e| anyhow::anyhow!("{e}"));
    // Compile consumes what it reads; coverage reads the policy as written (the roles of keys).
    let snapshot = policy::compile(load()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let input = load()?;
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(&p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| portcullis::suite::run::is_test_file(p))
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        } else {
            files.push(p);
        }
    }
    let (outcomes, coverage) =
        match portcullis::suite::run_files(&snapshot, &input, &files, SystemClock.now()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
        };
    print!("{}", portcullis::suite::report::text(&outcomes, &coverage));
    if let Some(j) = junit {
        std::fs::write(&j, portcullis::suite::report::junit(&outcomes))
            .with_context(|| format!("cannot write {}", j.display()))?;
    }
    Ok(if outcomes.iter().all(|o| o.failure.is_none()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn diff_cmd(old: &Path, new: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let load = |p: &Path| {
        policy::load_with(p, &process_env)
            .and_then(policy::compile)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
    };
    let (a, b) = (load(old)?, load(new)?);
    let d = portcullis::diff::compare(&a, &b);
    if json {
        println!("{}", portcullis::diff::report::json(&d));
    } else {
        print!("{}", portcullis::diff::report::text(&d));
    }
    Ok(if d.widens {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `diff --git REV PATH`: PATH as committed at REV against PATH now. The whole tree at REV is
/// extracted (`git archive`), so imports beside the policy resolve as they did then.
pub fn diff_git(path: &Path, rev: &str, json: bool) -> anyhow::Result<ExitCode> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let top = std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(dir)
        .output()
        .context("cannot run git")?;
    anyhow::ensure!(
        top.status.success(),
        "{} is not in a git work tree",
        path.display()
    );
    let top = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
    let abs = path
        .canonicalize()
        .with_context(|| format!("cannot find {}", path.display()))?;
    let rel = abs
        .strip_prefix(&top)
        .with_context(|| format!("{} is outside the git work tree", path.display()))?;
    let scratch = std::env::temp_dir().join(format!("portcullis-diff-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let archive = std::process::Command::new("git")
        .args(["archive", "--format=tar", rev])
        .current_dir(&top)
        .output()
        .context("cannot run git archive")?;
    anyhow::ensure!(
        archive.status.success(),
        "git archive {rev}: {}",
        String::from_utf8_lossy(&archive.stderr).trim()
    );
    let mut untar = std::process::Command::new("tar")
        .args(["-x", "-C"])
        .arg(&scratch)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("cannot run tar")?;
    if let Some(mut stdin) = untar.stdin.take() {
        std::io::Write::write_all(&mut stdin, &archive.stdout)?;
    }
    anyhow::ensure!(
        untar.wait()?.success(),
        "cannot unpack {rev}:{}",
        rel.display()
    );
    let result = diff_cmd(&scratch.join(rel), &abs, json);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Ids of the keys that can do nothing: no permission, directly or through a role.
pub fn powerless_keys(s: &policy::Snapshot) -> Vec<&str> {
    use portcullis::grant::Actions;
    s.keys
        .iter()
        .filter(|k| {
            k.grants().modules.values().all(|a| match a {
                Actions::All => false,
                Actions::Some(set) => set.is_empty(),
            })
        })
        .map(|k| k.id())
        .collect()
}
