//! The `portcullis` command: `serve`, `check`, `explain`, `key new`, `user`, `store`, and the hidden
//! `schema` (regenerates `schema/*.schema.json`).
//!
//! The only place that reads the environment, binds sockets from settings, installs signal
//! handlers and the log subscriber; everything below takes those as parameters. The arguments
//! are parsed into `cli`'s types; `serve` hands the bound sockets, clock, environment, SIGHUP
//! reload requests and SIGTERM/Ctrl-C shutdown to the library's `run::serve`.
#![expect(clippy::print_stdout, reason = "the CLI prints its results")]

mod cli;
mod logging;
mod policy_tools;
mod store_tools;

/// jemalloc, with a background thread that hands freed pages back to the system
/// (`.cargo/config.toml` sets its options): glibc's malloc kept every reload's parse garbage in
/// per-thread arenas (a 100,000-key policy: 254 MiB resident after start, 430 MiB after ten
/// reloads); with jemalloc it is 105 MiB after start and again seconds after the reloads.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use http::Method;
use portcullis::clock::{Clock, SystemClock};
use portcullis::explain::{self, Who};
use portcullis::policy;
use portcullis::run::{self, Listeners, ServeError, World};
use portcullis::settings::Settings;
use portcullis::{keygen, workers};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cli::{Cli, Command, KeyCommand, UserCommand};

/// Write `portcullis.1` and one page per subcommand into `out`.
fn man_cmd(out: &Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let cmd = <cli::Cli as clap::CommandFactory>::command();
    clap_mangen::generate_to(cmd, out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn schema_cmd(out: &Path) -> anyhow::Result<ExitCode> {
    portcullis::schema::write(out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(config),
        Command::Check { config, policy } => check(config, policy),
        Command::Explain {
            config,
            policy,
            method,
            path,
            host,
            key_id,
            secret_stdin,
        } => explain_cmd(config, policy, method, path, host, key_id, secret_stdin),
        Command::User { command } => user_cmd(command),
        Command::Store { command } => store_tools::run(command),
        Command::Schema { out } => schema_cmd(&out),
        Command::Diff {
            old,
            new,
            git,
            json,
        } => match (new, git) {
            (Some(new), None) => policy_tools::diff_cmd(&old, &new, json),
            (None, Some(rev)) => policy_tools::diff_git(&old, &rev, json),
            (Some(_), Some(_)) | (None, None) => {
                Err(anyhow::anyhow!("give NEW or --git REV, not both"))
            }
        },
        Command::Completions { shell } => {
            let mut cmd = <cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "portcullis", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => man_cmd(&out),
        Command::Test {
            config,
            policy,
            junit,
            paths,
        } => policy_tools::test_cmd(config, policy, junit, paths),
        Command::Key {
            command:
                KeyCommand::New {
                    id,
                    permissions,
                    roles,
                    description,
                },
        } => key_new(&id, &permissions, &roles, description.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portcullis: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Where the settings are read from when `--config` is not given, in order.
const DEFAULT_CONFIGS: [&str; 2] = ["config/portcullis.json", "/etc/portcullis/portcullis.json"];

/// The settings file: `--config`, else the first of `DEFAULT_CONFIGS` that exists.
pub(crate) fn settings_path(config: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(c) = config {
        return Ok(c);
    }
    DEFAULT_CONFIGS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no settings file: give --config FILE, or put one at {} (relative to the working \
                 directory) or {}",
                DEFAULT_CONFIGS[0],
                DEFAULT_CONFIGS[1]
            )
        })
}

pub(crate) fn policy_path(
    config: Option<PathBuf>,
    policy: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    match policy {
        Some(p) => Ok(p),
        None => Ok(Settings::load(&settings_path(config)?)?.policy),
    }
}

fn check(config: Option<PathBuf>, policy: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = match policy_path(config, policy) {
        Ok(p) => p,
        Err(e) => {
            // Unreadable or invalid settings: invalid, like an invalid policy.
            eprintln!("portcullis: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let result = policy::load_with(&path, &process_env).and_then(policy::compile);
    match result {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            for id in policy_tools::powerless_keys(&s) {
                eprintln!(
                    "warning: key `{id}` has no permission and no role that grants one: it can \
                     do nothing (give it `permissions` or `roles`)"
                );
            }
            eprintln!(
                "{}: ok ({} routes, {} keys, {} upstreams), sha256 {}",
                path.display(),
                s.routes.routes.len(),
                s.keys.len(),
                s.upstreams.len(),
                s.sha256
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for p in &errors.0 {
                eprintln!("error: {p}");
            }
            eprintln!("{}: {} error(s)", path.display(), errors.0.len());
            Ok(ExitCode::from(1))
        }
    }
}

fn explain_cmd(
    config: Option<PathBuf>,
    policy: Option<PathBuf>,
    method: String,
    path: String,
    host: Option<String>,
    key_id: Option<String>,
    secret_stdin: bool,
) -> anyhow::Result<ExitCode> {
    let file = policy_path(config, policy)?;
    let snapshot = policy::load_with(&file, &process_env)
        .and_then(policy::compile)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let method = Method::from_bytes(method.as_bytes()).context("invalid method")?;
    let mut secret = String::new();
    if secret_stdin {
        std::io::stdin().read_to_string(&mut secret)?;
    }
    let who = match (&key_id, secret_stdin) {
        (Some(id), _) => Who::KeyId(id),
        (None, true) => Who::Secret(secret.trim()),
        (None, false) => Who::Nobody,
    };
    let (report, allowed) = explain::explain(
        &snapshot,
        &method,
        &path,
        host.as_deref(),
        who,
        SystemClock.now(),
    );
    print!("{report}");
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The process environment, for `{"env": NAME}` secret references.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn key_new(
    id: &str,
    permissions: &[String],
    roles: &[String],
    description: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let grants = keygen::Grants::parse(permissions, roles)?;
    if grants.is_empty() {
        eprintln!(
            "warning: no --permission or --role: the key can do nothing until its entry grants \
             something"
        );
    }
    let secret = keygen::new_secret();
    let entry = keygen::entry(id, &secret, &grants, description.unwrap_or(""));
    if std::io::stderr().is_terminal() {
        eprintln!(
            "Secret for key `{id}` (shown once; give it to the client, keep it nowhere else):"
        );
    }
    println!("{secret}");
    println!("{}", serde_json::to_string_pretty(&entry)?);
    Ok(ExitCode::SUCCESS)
}

fn user_cmd(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::HashPassword => {
            let mut pw = String::new();
            std::io::stdin().read_to_string(&mut pw)?;
            let pw = pw.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(!pw.is_empty(), "expected a password on standard input");
            println!("{}", portcullis::issuer::login::hash_password(pw)?);
        }
        UserCommand::TotpSecret { user } => {
            let (secret, uri) = portcullis::issuer::login::new_totp(&user)?;
            println!("{secret}");
            println!("{uri}");
        }
        UserCommand::SigningSecret => {
            use base64::Engine;
            let bytes: [u8; 48] = rand::random();
            println!(
                "{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let settings = match settings_path(config).and_then(|p| Ok(Settings::load(&p)?)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("portcullis: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let _flush_on_exit = logging::init(&settings);
    // The main runtime only runs the admin listener, reloads and signals; the public listeners
    // have worker runtimes of their own (`workers`).
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(serve_with_signals(settings))
}

/// Install the signal handlers, bind the sockets and serve until SIGTERM or Ctrl-C.
async fn serve_with_signals(settings: Settings) -> anyhow::Result<ExitCode> {
    let world = World {
        clock: Arc::new(SystemClock),
        env: Arc::new(process_env),
        reloads: hangups()?,
        log_reopens: usr1()?,
    };
    let shutdown = terminated()?;
    let listeners = bind(&settings).await?;
    match run::serve(&settings, listeners, world, shutdown).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(ServeError::Policy(errors)) => {
            for p in &errors.0 {
                eprintln!("error: {p}");
            }
            eprintln!("portcullis: refusing to start without a valid policy");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// Bind the public sockets (one set per worker, default one worker per CPU), and the admin and
/// forward-auth sockets the settings name.
async fn bind(settings: &Settings) -> anyhow::Result<Listeners> {
    let workers = settings
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let addrs: Vec<_> = settings.listeners.iter().map(|l| l.address).collect();
    let public = workers::bind(&addrs, workers).context("binding listeners")?;
    let admin = match &settings.admin {
        Some(a) => Some(bind_one(a.address, "admin").await?),
        None => None,
    };
    let forward_auth = match &settings.forward_auth {
        Some(f) => Some(bind_one(f.address, "forward-auth").await?),
        None => None,
    };
    Ok(Listeners {
        public,
        admin,
        forward_auth,
    })
}

/// Bind one plain socket.
async fn bind_one(
    address: std::net::SocketAddr,
    what: &str,
) -> anyhow::Result<std::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .and_then(|l| l.into_std())
        .with_context(|| format!("binding {what} {address}"))
}

/// A reload request for every SIGHUP.
fn hangups() -> std::io::Result<mpsc::Receiver<()>> {
    let mut hup = signal(SignalKind::hangup())?;
    // One pending request is enough: a reload reads the file as it is when it runs.
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading policy");
            let _ = tx.try_send(());
        }
    });
    Ok(rx)
}

/// An access-log reopen request for every SIGUSR1 (logrotate's `postrotate`).
fn usr1() -> std::io::Result<mpsc::Receiver<()>> {
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            let _ = tx.try_send(());
        }
    });
    Ok(rx)
}

/// Resolves on SIGTERM or Ctrl-C.
fn terminated() -> std::io::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    })
}
