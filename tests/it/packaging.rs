//! Packaging checked against the binary: the Dockerfile's runtime stage (its files laid out as
//! the image would hold them, its user, ports, health check and command) and the systemd unit
//! (`systemd-analyze verify`, and its commands run for real). No image is built: the base images
//! come from a registry these machines cannot reach.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::cli;
use crate::support::tmp::TempDir;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The instructions of the Dockerfile's last stage, as (keyword, rest), continuation lines
/// joined.
fn runtime_stage() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    let joined = text.replace("\\\n", " ");
    let mut stage = Vec::new();
    for line in joined.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (kw, rest) = line.split_once(' ').unwrap_or((line, ""));
        if kw.eq_ignore_ascii_case("FROM") {
            stage.clear();
        }
        stage.push((kw.to_ascii_uppercase(), rest.trim().to_owned()));
    }
    stage
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            if e.file_name().to_string_lossy() == "portcullis-managed.json" {
                continue;
            }
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

fn port(address: &str) -> u16 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_dockerfile_runtime_stage_fits_the_binary() {
    let stage = runtime_stage();
    let get = |kw: &str| -> Vec<String> {
        stage
            .iter()
            .filter(|(k, _)| k == kw)
            .map(|(_, r)| r.clone())
            .collect()
    };
    // A non-root user.
    let user = get("USER");
    assert_eq!(user.len(), 1, "{stage:?}");
    assert!(!["root", "0"].contains(&user[0].as_str()), "{user:?}");
    // Lay out what the stage copies from the repository, as the image would hold it.
    let root = TempDir::new("image");
    for copy in get("COPY") {
        if copy.starts_with("--from") {
            assert!(copy.ends_with(" /usr/local/bin/portcullis"), "{copy}");
            continue;
        }
        let (src, dest) = copy.split_once(' ').unwrap();
        let dest = dest.trim().trim_start_matches('/');
        assert!(
            repo().join(src).exists(),
            "the Dockerfile copies a missing {src}"
        );
        copy_tree(&repo().join(src), &root.join(dest));
    }
    // The command is `serve` without --config: the binary must then read /etc/portcullis.
    assert_eq!(get("ENTRYPOINT"), vec![r#"["/usr/local/bin/portcullis"]"#]);
    assert_eq!(get("CMD"), vec![r#"["serve"]"#]);
    let help = cli::run(&["serve", "--help"], None).await;
    assert!(
        help.stdout.contains("/etc/portcullis/portcullis.json"),
        "{}",
        help.stdout
    );
    let settings_path = root.join("etc/portcullis/portcullis.json");
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings_path).unwrap()).unwrap();
    // The policy it names is there and valid.
    let check = cli::run(&["check", "--config", cli::s(&settings_path)], None).await;
    assert_eq!(check.code, Some(0), "{}", check.all());
    // Ports: what it exposes is where it listens; the health check asks the admin listener.
    let listen = settings["listeners"][0]["address"].as_str().unwrap();
    assert!(
        listen.starts_with("0.0.0.0:"),
        "reachable from outside the container: {listen}"
    );
    assert_eq!(get("EXPOSE"), vec![port(listen).to_string()]);
    let admin = settings["admin"]["address"].as_str().unwrap();
    let health = get("HEALTHCHECK").join(" ");
    assert!(
        health.contains(&format!("http://{admin}/healthz")),
        "{health} asks {admin}?"
    );
    assert_eq!(get("STOPSIGNAL"), vec!["SIGTERM"]);
}

#[tokio::test]
async fn the_systemd_unit_verifies_and_its_commands_run() {
    let unit = std::fs::read_to_string(repo().join("packaging/portcullis.service")).unwrap();
    for needed in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/etc/portcullis/policy",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(needed), "{needed}");
    }
    let dir = TempDir::new("unit");
    let here = dir.join("portcullis.service");
    std::fs::write(&here, unit.replace("/usr/local/bin/portcullis", cli::bin())).unwrap();
    let out = tokio::process::Command::new("systemd-analyze")
        .args(["verify", cli::s(&here)])
        .output()
        .await
        .expect("systemd-analyze (Debian package systemd)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Its ExecStartPre and ExecStart, run against the shipped settings in place of /etc.
    let settings = repo().join("config/portcullis.json");
    for line in unit.lines().filter(|l| l.starts_with("ExecStart")) {
        let (_, cmd) = line.split_once('=').unwrap();
        let args: Vec<String> = cmd
            .split_whitespace()
            .skip(1)
            .map(|a| a.replace("/etc/portcullis/portcullis.json", cli::s(&settings)))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if args[0] == "check" {
            let run = cli::run(&args, None).await;
            assert_eq!(run.code, Some(0), "{line}: {}", run.all());
        } else {
            // `serve` parses its flags (`--help` after them proves they exist).
            let mut with_help = args.clone();
            with_help.push("--help");
            let run = cli::run(&with_help, None).await;
            assert_eq!(run.code, Some(0), "{line}: {}", run.all());
        }
    }
}

#[tokio::test]
async fn version_names_the_revision() {
    let run = cli::run(&["--version"], None).await;
    let out = run.stdout.trim();
    assert!(
        out.starts_with(&format!("portcullis {} (", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.ends_with(')') && !out.contains("()"), "{out}");
}
