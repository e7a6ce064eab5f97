//! The `portcullis` command: `serve`, `check`, `explain`, `key new`, `user`, and the hidden
//! `schema` (regenerates `schema/*.schema.json`).
//!
//! The only place that reads the environment, binds sockets from settings, installs signal
//! handlers and the log subscriber; everything below takes those as parameters.
#![expect(clippy::print_stdout, reason = "the CLI prints its results")]

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use http::Method;
use portcullis::clock::{Clock, SystemClock};
use portcullis::explain::{self, Who};
use portcullis::gateway::{Gateway, IssuerState};
use portcullis::managed::Store;
use portcullis::policy::{self, Policy};
use portcullis::reload::{self, Outcome, Reloader};
use portcullis::server::ServeOptions;
use portcullis::settings::{LogFormat, Settings};
use portcullis::{admin, forward, keygen, watch, workers};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "A reverse-proxy authorization gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// Boot settings file.
        #[arg(long, default_value = "config/portcullis.json")]
        config: PathBuf,
    },
    /// Validate the settings and policy without serving (exit 0 valid, 1 invalid).
    Check {
        /// Boot settings file.
        #[arg(long, default_value = "config/portcullis.json")]
        config: PathBuf,
        /// Check this policy file or directory instead of the one the settings name.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Show how the policy decides one request (exit 0 allowed, 1 denied).
    Explain {
        /// Boot settings file.
        #[arg(long, default_value = "config/portcullis.json")]
        config: PathBuf,
        /// Explain against this policy instead of the one the settings name.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// HTTP method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// Request target: path and query, e.g. '/api/x?y=1'.
        #[arg(long)]
        path: String,
        /// Host header.
        #[arg(long)]
        host: Option<String>,
        /// Decide as this key id.
        #[arg(long, conflicts_with = "secret_stdin")]
        key_id: Option<String>,
        /// Read the credential's secret from standard input.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write the JSON Schemas of the policy and settings files, generated from their types.
    #[command(hide = true)]
    Schema {
        /// Directory to write `policy.schema.json` and `settings.schema.json` into.
        #[arg(long, default_value = "schema")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Read a password from standard input and print its argon2id PHC string.
    HashPassword,
    /// Print a new TOTP secret (base32) and its otpauth:// URI.
    TotpSecret {
        /// The user name shown in authenticator apps.
        #[arg(long)]
        user: String,
    },
    /// Print a new random HS256 signing secret (base64) for `signing_keys`.
    SigningSecret,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print a fresh secret (once) and the policy entry holding only its digest.
    New {
        /// The key id.
        #[arg(long)]
        id: String,
    },
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
        Command::Schema { out } => schema_cmd(&out),
        Command::Key {
            command: KeyCommand::New { id },
        } => key_new(&id),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portcullis: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn policy_path(config: &Path, policy: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match policy {
        Some(p) => Ok(p),
        None => Ok(Settings::load(config)?.policy),
    }
}

fn check(config: PathBuf, policy: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = policy_path(&config, policy)?;
    let result = policy::load_with(&path, &process_env).and_then(|input| policy::compile(&input));
    match result {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            eprintln!(
                "{}: ok ({} routes, {} keys, {} upstreams), sha256 {}",
                path.display(),
                s.routes.routes.len(),
                s.keys.keys.len(),
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
    config: PathBuf,
    policy: Option<PathBuf>,
    method: String,
    path: String,
    host: Option<String>,
    key_id: Option<String>,
    secret_stdin: bool,
) -> anyhow::Result<ExitCode> {
    let file = policy_path(&config, policy)?;
    let snapshot = policy::load_with(&file, &process_env)
        .and_then(|i| policy::compile(&i))
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
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Files the current snapshot imported from outside the policy directory.
fn imports_outside(policy_path: &Path, policy: &Policy) -> Vec<PathBuf> {
    let dir = if policy_path.is_dir() {
        policy_path
    } else {
        policy_path.parent().unwrap_or(Path::new(""))
    };
    policy
        .current()
        .map(|s| {
            s.sources
                .iter()
                .filter(|p| p.parent() != Some(dir))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn key_new(id: &str) -> anyhow::Result<ExitCode> {
    let secret = keygen::new_secret();
    let entry = keygen::entry(id, &secret);
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

/// Log lines are written by a dedicated thread, so a request never waits on a write to stderr.
/// The writer blocks (never drops lines) if that thread falls behind; the guard flushes on exit.
fn init_logging(settings: &Settings) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log.level));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .with_writer(writer);
    match settings.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    guard
}

fn serve(config: PathBuf) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&config)?;
    let _flush_on_exit = init_logging(&settings);
    // The main runtime only runs the admin listener, reloads and signals; the public listeners
    // have worker runtimes of their own (`workers`).
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(run(settings))
}

async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let policy = Policy::new();
    let env: reload::EnvLookup = Arc::new(process_env);
    let reloader = Reloader::with_env(
        settings.policy.clone(),
        Arc::clone(&policy),
        Arc::clone(&clock),
        env,
    );
    if let Outcome::Rejected(errors) = reloader.reload_async().await {
        for p in &errors.0 {
            eprintln!("error: {p}");
        }
        eprintln!("portcullis: refusing to start without a valid policy");
        return Ok(ExitCode::from(1));
    }
    let issuer = IssuerState {
        store: Some(Arc::new(Store::new(Arc::clone(&reloader)))),
        ..Default::default()
    };
    let make_gateway = || {
        Arc::new(Gateway {
            policy: Arc::clone(&policy),
            clock: Arc::clone(&clock),
            client: forward::client(settings.upstream_connect_timeout()),
            limits: settings.limits(),
            trusted_proxies: settings.trusted_proxies.clone(),
            issuer: IssuerState {
                throttle: Arc::clone(&issuer.throttle),
                store: issuer.store.clone(),
            },
            forward_auth: Default::default(),
        })
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = {
        let stop_rx = stop_rx.clone();
        move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    let opts = ServeOptions {
        header_read_timeout: settings.header_read_timeout(),
        ..Default::default()
    };
    let workers = settings
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let addrs: Vec<_> = settings.listeners.iter().map(|l| l.address).collect();
    let sockets = workers::bind(&addrs, workers).context("binding listeners")?;
    for s in sockets.first().into_iter().flatten() {
        tracing::info!(address = %s.local_addr()?, workers, "listening");
    }
    let threads = workers::spawn(sockets, make_gateway, opts, stop_rx)?;
    if let Some(a) = &settings.admin {
        let listener = TcpListener::bind(a.address)
            .await
            .with_context(|| format!("binding admin {}", a.address))?;
        tracing::info!(address = %listener.local_addr()?, "admin listening");
        tasks.spawn(admin::run(listener, Arc::clone(&reloader), stopped()));
    }
    let r = &settings.reload;
    let debounce = Duration::from_millis(r.debounce_ms);
    let poll = Duration::from_millis(r.poll_interval_ms);
    // Imported files (a Linea21 permission file) may live outside the policy directory: watch
    // them too. The periodic check still catches imports added by a later reload.
    let mut paths = vec![settings.policy.clone()];
    paths.extend(imports_outside(&settings.policy, &policy));
    let signals = watch::spawn_many(&paths, debounce, poll)?;
    tokio::spawn(reload::run(
        Arc::clone(&reloader),
        signals,
        Duration::from_millis(r.check_interval_ms),
    ));
    let hup_reloader = Arc::clone(&reloader);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading policy");
            hup_reloader.reload_async().await;
        }
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    for t in threads {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    Ok(ExitCode::SUCCESS)
}
