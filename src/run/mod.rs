//! Serving: what `portcullis serve` does once its world exists. [`serve`] loads the policy,
//! starts the per-core workers on the public sockets, the admin listener, the file watcher and
//! the reload loop, and runs until the shutdown future resolves.
//!
//! It owns none of the world: the sockets come bound ([`Listeners`]), time and the environment
//! for `{"env": NAME}` secret references come in a [`World`], reload requests from outside
//! (SIGHUP) arrive on a channel, and shutdown is a future. `main.rs` reads the environment,
//! installs the signal handlers and binds the sockets; a test binds `127.0.0.1:0` and passes the
//! sockets in. Neighbours: [`workers`] serves the public sockets, [`admin`] the admin socket,
//! [`reload`] and [`crate::watch`] reload the policy.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch as signal};
use tokio::task::JoinSet;

use crate::access_log::AccessLog;
use crate::clock::Clock;
use crate::forward_auth::ForwardAuth;
use crate::gateway::{Gateway, IssuerState, Role};
use crate::ratelimit::{self, RateLimiter};

/// How often idle rate-limit buckets are evicted.
const EVICT_EVERY: Duration = Duration::from_secs(30);
use crate::managed::{Backend, Store};
use crate::policy::{CompileErrors, Policy};
use crate::reload::{self, EnvLookup, Outcome, Reloader};
use crate::server::ServeOptions;
use crate::settings::Settings;
use crate::tls::{Tls, TlsError};
use crate::watch::WatchError;
use crate::{admin, forward, server, workers};

mod access;
mod reloads;
mod shared;
mod sockets;
mod tls;

use access::reopen_on_request;
use reloads::{forward_reloads, policy_signals, start_shadow};
use shared::{rate_limiter, start_store};
pub use sockets::Listeners;
use sockets::{log_address, nonblocking, tokio_listener};
use tls::{start_tls, tls_statuses};

/// What `serve` would otherwise read from the process.
pub struct World {
    /// Time for validity windows and status timestamps.
    pub clock: Arc<dyn Clock>,
    /// Where `{"env": NAME}` secret references resolve.
    pub env: EnvLookup,
    /// Reload requests from outside (SIGHUP in `main`); each reloads like a file change. A
    /// closed channel just means none will come.
    pub reloads: mpsc::Receiver<()>,
    /// Requests to reopen the access-log file (SIGUSR1 in `main`, for logrotate). A closed
    /// channel just means none will come.
    pub log_reopens: mpsc::Receiver<()>,
}

/// Why `serve` stopped before serving, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The policy did not load at start; nothing was served. Carries every error.
    #[error("refusing to start without a valid policy: {0}")]
    Policy(CompileErrors),
    /// A bound socket could not be switched to non-blocking mode or registered.
    #[error("cannot use a bound listener: {0}")]
    Listener(#[source] std::io::Error),
    /// The policy watcher could not start.
    #[error("cannot watch the policy: {0}")]
    Watch(#[from] WatchError),
    /// The TLS settings for upstreams (CA files, client certificate) are unusable.
    #[error("upstream tls: {0}")]
    UpstreamTls(#[source] crate::tls::TlsError),
    /// The access log's file could not be opened, or its writer thread started.
    #[error("cannot start the access log: {0}")]
    AccessLog(#[source] std::io::Error),
    /// An assertion key could not be read or is not what its algorithm needs.
    #[error("{0}")]
    Assertion(#[from] crate::assertion::AssertionError),
    /// A worker thread could not be started.
    #[error("cannot start worker threads: {0}")]
    Workers(#[source] std::io::Error),
    /// A shared store (PostgreSQL for management state, Redis for rate limits) is configured
    /// but cannot be used (no connection string, a single-file policy). Never carries the
    /// connection string.
    #[error("store: {0}")]
    Store(String),
    /// A TLS listener's certificate did not load; nothing was served.
    #[error("refusing to start listener {address}: {source}")]
    Tls {
        /// The listener's address in the settings.
        address: std::net::SocketAddr,
        /// Why.
        source: TlsError,
    },
}

/// Serve `listeners` with the policy and tuning of `settings` until `shutdown` resolves, then
/// stop accepting, let in-flight requests drain and return once every worker has stopped.
///
/// `settings.admin` and `settings.workers` are not read here: they told `main` what to bind, and
/// the worker count is the number of socket sets in `listeners`. Of `settings.listeners` only
/// `tls` is read: listener `i` terminates TLS on each set's socket `i`.
pub async fn serve(
    settings: &Settings,
    listeners: Listeners,
    world: World,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let policy = Policy::new();
    let reloader = Reloader::with_env(
        settings.policy.clone(),
        Arc::clone(&policy),
        Arc::clone(&world.clock),
        Arc::clone(&world.env),
    );
    if let Outcome::Rejected(errors) = reloader.reload_async().await {
        return Err(ServeError::Policy(errors));
    }
    // Not ready until the store's state is read (the follower starts at once, in the background).
    let store = start_store(settings, &reloader, &world.env)?;
    let public = nonblocking(listeners.public)?;
    // A CA or client-certificate file for upstreams that cannot be read refuses the start.
    let upstream_tls = match &settings.upstream_tls {
        Some(u) => crate::tls::upstream::config(u).map_err(ServeError::UpstreamTls)?,
        None => crate::tls::upstream::default_config(),
    };
    let tls = start_tls(settings)?;
    let assertions = Arc::new(settings.assertion_signers()?);
    let shadow = match &settings.shadow_policy {
        Some(path) => Some(start_shadow(settings, path, &world.clock, &world.env).await?),
        None => None,
    };
    let access_log = match settings.access_log() {
        Some((format, to)) => Some(AccessLog::start(format, to).map_err(ServeError::AccessLog)?),
        None => None,
    };
    let admin = listeners.admin.map(tokio_listener).transpose()?;
    let forward_auth = listeners.forward_auth.map(tokio_listener).transpose()?;
    // Start the fallible parts before the workers, so an error leaves nothing running.
    let mut background = JoinSet::new();
    let shadow = shadow.map(|(shadow, signals)| {
        // The same watcher and periodic check as the live policy's.
        background.spawn(reload::run(
            Arc::clone(&shadow),
            signals,
            Duration::from_millis(settings.reload.check_interval_ms),
        ));
        shadow
    });
    background.spawn(reload::run(
        Arc::clone(&reloader),
        policy_signals(settings, &policy)?,
        Duration::from_millis(settings.reload.check_interval_ms),
    ));
    background.spawn(forward_reloads(Arc::clone(&reloader), world.reloads));
    if let Some(log) = &access_log {
        background.spawn(reopen_on_request(Arc::clone(log), world.log_reopens));
    }
    let tls: Vec<_> = tls
        .into_iter()
        .map(|t| {
            t.map(|(tls, certs)| {
                background.spawn(certs.run());
                tls
            })
        })
        .collect();
    // Dropping `stop` (an early return) stops whatever already started, as `true` does.
    // Rate-limit buckets outlive snapshots and are shared by every worker; idle ones are evicted.
    let ratelimit = Arc::new(rate_limiter(settings, &world.env)?);
    background.spawn(ratelimit::evict_every(
        Arc::clone(&ratelimit),
        Arc::clone(&world.clock),
        EVICT_EVERY,
    ));
    let (stop, stop_rx) = signal::channel(false);
    let (admin_stop, admin_stop_rx) = signal::channel(false);
    let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let denials = Arc::new(crate::denials::Denials::default());
    // A JoinSet, so an early return (a worker that cannot start) stops the admin listener too.
    let mut admin_task = JoinSet::new();
    let mut serving = JoinSet::new();
    if let Some(listener) = admin {
        log_address(&listener, "admin listening");
        let state = Arc::new(admin::Admin {
            reloader: Arc::clone(&reloader),
            limits: Arc::clone(&ratelimit),
            tls: tls_statuses(settings, &tls),
            draining: Arc::clone(&draining),
            metrics: Arc::clone(&reloader.metrics),
            access_log: access_log.clone(),
            shadow: shadow.as_ref().map(Arc::clone),
            denials: Arc::clone(&denials),
            store: store.as_ref().map(|s| Arc::clone(&s.status)),
        });
        // The admin listener answers through the grace period and the drain; it stops last.
        let until = stopped(admin_stop_rx.clone());
        admin_task.spawn(admin::run(listener, state, until));
    }
    let shared = Shared {
        clock: world.clock,
        ratelimit: Arc::clone(&ratelimit),
        access_log: access_log.clone(),
        shadow: shadow.as_ref().map(|r| Arc::clone(&r.policy)),
        assertions,
        denials: Arc::clone(&denials),
        backend: store.map(|s| s as Arc<dyn Backend>),
    };
    let make_gateway = gateways(settings, &reloader, shared, &upstream_tls);
    if let Some(listener) = forward_auth {
        // Sub-requests are small and answered without an upstream: the main runtime serves them.
        log_address(&listener, "forward-auth listening");
        let opts = ServeOptions {
            role: Role::ForwardAuth,
            listener: listener_name(&listener),
            ..settings.serve_options()
        };
        let stopped = stopped(stop_rx.clone());
        serving.spawn(server::run(listener, make_gateway(), opts, stopped));
    }
    let threads = spawn_workers(settings, public, tls, make_gateway, stop_rx)?;
    shutdown.await;
    // Draining: /readyz turns 503 at once, so load balancers stop sending; new connections are
    // still served for the grace period (they notice at their next health check); then the
    // listeners close, in-flight requests finish (HTTP/2 gets GOAWAY, keep-alive connections
    // close after their current response) and the process returns.
    draining.store(true, std::sync::atomic::Ordering::Relaxed);
    let grace = settings.shutdown_grace();
    tracing::info!(
        grace_ms = grace.as_millis() as u64,
        "shutting down: draining"
    );
    tokio::time::sleep(grace).await;
    let _ = stop.send(true);
    while serving.join_next().await.is_some() {}
    for t in threads {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    let _ = admin_stop.send(true);
    while admin_task.join_next().await.is_some() {}
    if let Some(log) = access_log {
        let _ = tokio::task::spawn_blocking(move || log.flush()).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// What every worker's gateway shares.
struct Shared {
    /// Time for validity windows.
    clock: Arc<dyn Clock>,
    /// Rate-limit buckets, quotas and the failed-credential throttle.
    ratelimit: Arc<RateLimiter>,
    /// The access log each worker takes a writer of.
    access_log: Option<Arc<AccessLog>>,
    /// The shadow policy.
    shadow: Option<Arc<Policy>>,
    /// Assertion signers by upstream name.
    assertions: Arc<std::collections::HashMap<String, crate::assertion::Signer>>,
    /// Recent denials.
    denials: Arc<crate::denials::Denials>,
    /// The shared store writes go through (PostgreSQL), if any.
    backend: Option<Arc<dyn Backend>>,
}

/// A maker of gateways: one per worker (and one for the forward-auth listener), each with an
/// upstream pool of its own; the throttle and management store are shared by all.
fn gateways(
    settings: &Settings,
    reloader: &Arc<Reloader>,
    shared: Shared,
    upstream_tls: &rustls::ClientConfig,
) -> impl Fn() -> Arc<Gateway> + use<> {
    let Shared {
        clock,
        ratelimit,
        access_log,
        shadow,
        assertions,
        denials,
        backend,
    } = shared;
    let metrics = Arc::clone(&reloader.metrics);
    let store = match backend {
        Some(backend) => Store::with_backend(Arc::clone(reloader), Some(backend)),
        None => Store::new(Arc::clone(reloader)),
    };
    let issuer = IssuerState {
        store: Some(Arc::new(store)),
        ..Default::default()
    };
    let policy = Arc::clone(&reloader.policy);
    let connect_timeout = settings.upstream_connect_timeout();
    let upstream_tls = upstream_tls.clone();
    let limits = settings.limits();
    let trusted_proxies = settings.trusted_proxies.clone();
    let forward_auth = ForwardAuth {
        trusted_peers: settings
            .forward_auth
            .as_ref()
            .map(|f| f.trusted_peers.clone())
            .unwrap_or_default(),
    };
    move || {
        Arc::new(Gateway {
            policy: Arc::clone(&policy),
            clock: Arc::clone(&clock),
            client: forward::client_with_tls(connect_timeout, upstream_tls.clone()),
            limits: limits.clone(),
            trusted_proxies: trusted_proxies.clone(),
            issuer: IssuerState {
                throttle: Arc::clone(&issuer.throttle),
                store: issuer.store.clone(),
                last_access: Arc::clone(&issuer.last_access),
            },
            forward_auth: forward_auth.clone(),
            ratelimit: Arc::clone(&ratelimit),
            metrics: Arc::clone(&metrics),
            access_log: access_log.as_ref().map(|l| Arc::new(l.writer())),
            shadow: shadow.clone(),
            assertions: Arc::clone(&assertions),
            denials: Arc::clone(&denials),
        })
    }
}

/// The `listener` label of a socket's connections: its address.
fn listener_name(l: &tokio::net::TcpListener) -> Arc<str> {
    l.local_addr()
        .map_or_else(|_| Arc::from("unknown"), |a| Arc::from(a.to_string()))
}

/// Start one worker thread per socket set, each with a gateway from `make_gateway`.
fn spawn_workers(
    settings: &Settings,
    public: Vec<Vec<std::net::TcpListener>>,
    tls: Vec<Option<Arc<Tls>>>,
    make_gateway: impl Fn() -> Arc<Gateway>,
    stop: signal::Receiver<bool>,
) -> Result<Vec<std::thread::JoinHandle<()>>, ServeError> {
    let workers = public.len();
    for s in public.first().into_iter().flatten() {
        if let Ok(address) = s.local_addr() {
            tracing::info!(%address, workers, "listening");
        }
    }
    let opts = tls
        .into_iter()
        .enumerate()
        .map(|(i, tls)| ServeOptions {
            tls,
            listener: public
                .first()
                .and_then(|set| set.get(i))
                .and_then(|s| s.local_addr().ok())
                .map_or_else(|| Arc::from("public"), |a| Arc::from(a.to_string())),
            proxy_protocol: settings.listeners.get(i).is_some_and(|l| l.proxy_protocol),
            hosts: settings
                .listeners
                .get(i)
                .and_then(|l| l.hosts.as_ref())
                .map(|hs| {
                    hs.iter()
                        .map(|h| crate::gateway::normalize_host(h).into_owned())
                        .collect::<Vec<_>>()
                        .into()
                }),
            ..settings.serve_options()
        })
        .collect();
    workers::spawn(public, make_gateway, opts, stop).map_err(ServeError::Workers)
}

/// A future that resolves when `stop` turns true or its sender is dropped.
async fn stopped(mut stop: signal::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
