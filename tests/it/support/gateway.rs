//! Spawning the gateway in-process, the one way every test does: the public listener and the
//! admin listener on `127.0.0.1:0`, a policy file or directory, a reloader with an injected
//! environment, the managed store, a `ManualClock`, trusted proxies, and optionally the file
//! watcher and reload loop, as `run::serve` wires them (`serve_in_process` tests `run::serve`
//! itself; this harness also hands tests the reloader, policy and clock).
//!
//! The SeaTable token setup (`seatable::Gw`) builds on it; the policy content is the business
//! of `policy` and `seatable::policy`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use portcullis::clock::{Clock, ManualClock};
use portcullis::gateway::{Gateway, Limits};
use portcullis::policy::Policy;
use portcullis::reload::{Outcome, Reloader};
use portcullis::server::ServeOptions;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::logs;
use super::policy;
use super::tmp::TempDir;

/// How to start a gateway.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run the file watcher and reload loop (debounce 50 ms).
    pub watch: bool,
    /// Request limits.
    pub limits: Limits,
    /// Start even if the policy does not load (requests then get 503 until a reload applies).
    pub allow_no_policy: bool,
    /// Proxies whose forwarding headers are trusted.
    pub trusted_proxies: Vec<IpNet>,
    /// The environment `{"env": NAME}` secret references resolve in (empty: none resolve).
    pub env: HashMap<String, String>,
    /// The clock to serve with, shared so a restarted gateway keeps its time; `None`: a new one
    /// reading `policy::now()`.
    pub clock: Option<Arc<ManualClock>>,
    /// Also serve a forward-auth listener trusting these peers.
    pub forward_auth_peers: Option<Vec<IpNet>>,
    /// Connection options of the public listener (`None`: the defaults, 1 s drain).
    pub serve: Option<ServeOptions>,
    /// A shadow policy, written beside the policy as `shadow/policy.json`.
    pub shadow: Option<Value>,
    /// Assertion signers by upstream name.
    pub assertions: Arc<HashMap<String, portcullis::assertion::Signer>>,
}

/// A running gateway. Its listeners stop when it is dropped.
pub struct Harness {
    /// The public listener.
    pub addr: SocketAddr,
    /// The admin listener.
    pub admin: SocketAddr,
    /// The forward-auth listener, when `Options::forward_auth_peers` asked for one.
    pub forward_auth: Option<SocketAddr>,
    /// The policy path the reloader reads.
    pub policy_path: PathBuf,
    /// The reloader (call `reload()` to force one).
    pub reloader: Arc<Reloader>,
    /// The published policy.
    pub policy: Arc<Policy>,
    /// The clock validity windows are checked against.
    pub clock: Arc<ManualClock>,
    /// Owns the policy directory (when the harness made it).
    pub dir: Option<TempDir>,
    /// The access log (JSON lines), also copied into the global log capture.
    pub access_log: Arc<portcullis::access_log::AccessLog>,
    /// What the access log wrote.
    access_lines: Arc<std::sync::Mutex<Vec<u8>>>,
    /// The shadow policy's reloader, when `Options::shadow` asked for one.
    pub shadow: Option<Arc<Reloader>>,
    stop: watch::Sender<bool>,
}

impl Harness {
    /// Write `policy` to a fresh directory as `policy.json` and serve it.
    pub async fn start(policy: &Value) -> Self {
        Self::start_with(policy, Options::default()).await
    }

    /// Like `start`, with options.
    pub async fn start_with(policy: &Value, opts: Options) -> Self {
        let dir = TempDir::new("gw");
        let path = dir.join("policy.json");
        policy::write(&path, policy);
        let mut h = Self::serve(&path, opts).await;
        h.dir = Some(dir);
        h
    }

    /// Serve the policy at `path` (file or directory). Panics if it does not load, unless
    /// `opts.allow_no_policy`.
    pub async fn serve(path: &Path, opts: Options) -> Self {
        logs::install();
        let clock = opts
            .clock
            .unwrap_or_else(|| Arc::new(ManualClock::new(policy::now())));
        let policy = Policy::new();
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let env = opts.env;
        let reloader = Reloader::with_env(
            path.to_owned(),
            Arc::clone(&policy),
            Arc::clone(&dyn_clock),
            Arc::new(move |k: &str| env.get(k).cloned()),
        );
        match reloader.reload_async().await {
            Outcome::Applied { .. } => {}
            _ if opts.allow_no_policy => {}
            other => panic!("test policy did not load: {other:?}"),
        }
        let shadow = match &opts.shadow {
            Some(candidate) => {
                let at = path.with_file_name("shadow").join("policy.json");
                policy::write(&at, candidate);
                let r = Reloader::new(at, Policy::new(), Arc::clone(&dyn_clock));
                assert!(
                    matches!(r.reload_async().await, Outcome::Applied { .. }),
                    "shadow policy did not load"
                );
                Some(r)
            }
            None => None,
        };
        let ratelimit = Arc::new(portcullis::ratelimit::RateLimiter::default());
        let denials = Arc::new(portcullis::denials::Denials::default());
        let access_lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let access_log = portcullis::access_log::AccessLog::start(
            portcullis::access_log::Format::Json,
            portcullis::access_log::Destination::Writer(Box::new(logs::Tee(Arc::clone(
                &access_lines,
            )))),
        )
        .expect("start the access log");
        let gw = Arc::new(Gateway {
            policy: Arc::clone(&policy),
            clock: dyn_clock,
            client: portcullis::forward::client(Duration::from_secs(2)),
            limits: opts.limits,
            trusted_proxies: opts.trusted_proxies,
            issuer: portcullis::gateway::IssuerState {
                store: Some(Arc::new(portcullis::managed::Store::new(Arc::clone(
                    &reloader,
                )))),
                ..Default::default()
            },
            forward_auth: portcullis::forward_auth::ForwardAuth {
                trusted_peers: opts.forward_auth_peers.clone().unwrap_or_default(),
            },
            ratelimit: Arc::clone(&ratelimit),
            metrics: Arc::clone(&reloader.metrics),
            access_log: Some(Arc::new(access_log.writer())),
            shadow: shadow.as_ref().map(|r| Arc::clone(&r.policy)),
            assertions: Arc::clone(&opts.assertions),
            denials: Arc::clone(&denials),
        });
        let (stop, stop_rx) = watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let addr = listener.local_addr().expect("gateway addr");
        let serve_opts = opts.serve.clone().unwrap_or(ServeOptions {
            drain_timeout: Duration::from_secs(1),
            ..ServeOptions::default()
        });
        let forward_auth = match opts.forward_auth_peers {
            Some(_) => {
                let l = TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind forward-auth");
                let addr = l.local_addr().expect("forward-auth addr");
                let fa_opts = ServeOptions {
                    role: portcullis::gateway::Role::ForwardAuth,
                    ..serve_opts.clone()
                };
                tokio::spawn(portcullis::server::run(
                    l,
                    Arc::clone(&gw),
                    fa_opts,
                    stopped(),
                ));
                Some(addr)
            }
            None => None,
        };
        tokio::spawn(portcullis::server::run(listener, gw, serve_opts, stopped()));
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
        let admin = admin_listener.local_addr().expect("admin addr");
        let admin_state = Arc::new(portcullis::admin::Admin {
            reloader: Arc::clone(&reloader),
            limits: ratelimit,
            tls: Arc::from([]),
            draining: Arc::default(),
            metrics: Arc::clone(&reloader.metrics),
            access_log: Some(Arc::clone(&access_log)),
            shadow: shadow.clone(),
            denials,
            store: None,
        });
        tokio::spawn(portcullis::admin::run(
            admin_listener,
            admin_state,
            stopped(),
        ));
        if opts.watch {
            let signals = portcullis::watch::spawn(
                path,
                Duration::from_millis(50),
                Duration::from_millis(100),
            )
            .expect("start watcher");
            tokio::spawn(portcullis::reload::run(
                Arc::clone(&reloader),
                signals,
                Duration::ZERO,
            ));
        }
        Self {
            addr,
            admin,
            forward_auth,
            policy_path: path.to_owned(),
            reloader,
            policy,
            clock,
            dir: None,
            access_log,
            access_lines,
            shadow,
            stop,
        }
    }

    /// Every access-log line written so far, parsed (after a flush).
    pub async fn access_lines(&self) -> Vec<Value> {
        let log = Arc::clone(&self.access_log);
        tokio::task::spawn_blocking(move || log.flush())
            .await
            .expect("flush");
        let bytes = self.access_lines.lock().unwrap().clone();
        String::from_utf8(bytes)
            .expect("utf-8 access log")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The access-log line of request `id`, waiting (up to 10 s) for its body to end.
    pub async fn access_line(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.access_lines().await;
            if let Some(l) = lines.into_iter().find(|l| l["request_id"] == id) {
                return l;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no access line for request {id}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The admin `/metrics` text.
    pub async fn metrics(&self) -> String {
        super::client::get(&self.admin_url("/metrics"), &[])
            .await
            .text()
    }

    /// `http://127.0.0.1:port` + `target`.
    pub fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    /// `http://127.0.0.1:admin-port` + `target`.
    pub fn admin_url(&self, target: &str) -> String {
        format!("http://{}{target}", self.admin)
    }

    /// Replace the policy file with `policy` and reload now; returns the outcome.
    pub async fn rewrite(&self, policy: &Value) -> Outcome {
        policy::write(&self.policy_path, policy);
        self.reloader.reload_async().await
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.policy.status().generation
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
