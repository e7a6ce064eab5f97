//! `run::serve`, the library entry point `portcullis serve` calls, run in process on sockets the
//! test binds on port 0, with a manual clock, an empty environment, a reload-request channel
//! standing in for SIGHUP and a shutdown future standing in for SIGTERM.
//!
//! It serves the gateway on the public sockets (one worker, or several sharing a port through
//! `SO_REUSEPORT`) and the admin endpoints on the admin socket, refuses to start on an invalid
//! policy, reloads on request, and returns once shutdown resolves, its sockets closed. The real
//! binary and its signals are `cli_serve`'s business. Its sockets are on 127.0.0.77, an address
//! no other test binds, so "the socket is closed" cannot be fooled by another test reusing the
//! port on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis::clock::ManualClock;
use portcullis::run::{self, Listeners, ServeError, World};
use portcullis::settings::Settings;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::support::client::{self, pause};
use crate::support::policy::{self, READER};
use crate::support::tmp::TempDir;
use crate::support::{Upstream, logs};

/// A `serve` running in a task.
struct Served {
    /// The public address.
    addr: SocketAddr,
    /// The admin address.
    admin: SocketAddr,
    /// The forward-auth address.
    forward_auth: SocketAddr,
    /// Where the policy lives.
    policy_path: std::path::PathBuf,
    /// Resolves the shutdown future.
    stop: oneshot::Sender<()>,
    /// Requests a reload, as SIGHUP does.
    reload: mpsc::Sender<()>,
    /// Requests an access-log reopen, as SIGUSR1 does.
    reopen: mpsc::Sender<()>,
    /// The serve future.
    task: JoinHandle<Result<(), ServeError>>,
    /// Owns the settings and policy files (and `access.log`).
    dir: TempDir,
}

impl Served {
    fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    fn admin_url(&self, target: &str) -> String {
        format!("http://{}{target}", self.admin)
    }

    /// Resolve the shutdown future and wait for `serve` to return.
    async fn shut_down(self) -> Result<(), ServeError> {
        self.stop.send(()).expect("serve still running");
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("serve returned after shutdown")
            .expect("serve task")
    }
}

/// Settings naming `policy/policy.json` in `dir`, with reload timings so long that only a
/// reload request reloads.
/// `extra`'s fields are added to the settings.
fn settings(dir: &TempDir, extra: &Value) -> Settings {
    let path = dir.join("portcullis.json");
    let mut s = json!({
        "listeners": [{ "address": "127.0.0.1:0" }],
        "policy": "policy/policy.json",
        "reload": { "debounce_ms": 600000, "poll_interval_ms": 600000, "check_interval_ms": 0 },
        "forward_auth": { "address": "127.0.0.1:0" },
        "log": { "access": { "destination": "file", "path": "access.log" } }
    });
    for (k, v) in extra.as_object().expect("an object") {
        s[k] = v.clone();
    }
    policy::write(&path, &s);
    Settings::load(&path).expect("settings")
}

/// Bind the admin socket and start `serve` on `public` with `policy`.
fn start(policy: &Value, public: Vec<Vec<std::net::TcpListener>>) -> Served {
    start_text(
        &serde_json::to_string_pretty(policy).expect("policy"),
        public,
    )
}

/// Like `start`, with the policy file's text.
fn start_text(policy: &str, public: Vec<Vec<std::net::TcpListener>>) -> Served {
    let dir = TempDir::new("serve-in-process");
    start_in(dir, policy, public, &json!({}))
}

/// Like `start_text`, in `dir` (where `extra` settings may point), with `extra` settings.
fn start_in(
    dir: TempDir,
    policy: &str,
    public: Vec<Vec<std::net::TcpListener>>,
    extra: &Value,
) -> Served {
    logs::install();
    let settings = settings(&dir, extra);
    policy::write_text(&settings.policy, policy);
    let addr = public[0][0].local_addr().expect("public addr");
    let admin = std::net::TcpListener::bind("127.0.0.77:0").expect("bind admin");
    let admin_addr = admin.local_addr().expect("admin addr");
    let forward_auth = std::net::TcpListener::bind("127.0.0.77:0").expect("bind forward-auth");
    let forward_auth_addr = forward_auth.local_addr().expect("forward-auth addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let (reload, reloads) = mpsc::channel(1);
    let (reopen, log_reopens) = mpsc::channel(1);
    let world = World {
        clock: Arc::new(ManualClock::new(policy::now())),
        env: Arc::new(|_: &str| None),
        reloads,
        log_reopens,
    };
    let listeners = Listeners {
        public,
        admin: Some(admin),
        forward_auth: Some(forward_auth),
    };
    let policy_path = settings.policy.clone();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        run::serve(&settings, listeners, world, shutdown).await
    });
    Served {
        addr,
        admin: admin_addr,
        forward_auth: forward_auth_addr,
        policy_path,
        stop,
        reload,
        reopen,
        task,
        dir,
    }
}

/// One plain socket on port 0, served by one worker.
fn one_socket() -> Vec<Vec<std::net::TcpListener>> {
    vec![vec![
        std::net::TcpListener::bind("127.0.0.77:0").expect("bind public"),
    ]]
}

/// Wait until the admin listener reports a loaded policy.
async fn ready(s: &Served) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !matches!(client::h1().get(s.admin_url("/readyz").parse().unwrap()).await, Ok(r) if r.status() == 200)
    {
        assert!(tokio::time::Instant::now() < deadline, "serve not ready");
        pause().await;
    }
}

/// Whether anything accepts connections at `addr`.
async fn accepts(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_public_and_admin_until_shutdown_then_returns() {
    let up = Upstream::start().await;
    let s = start(&policy::standard(&up.url()), one_socket());
    ready(&s).await;

    let list = s.url("/api/?module=indicator&action=list");
    assert_eq!(
        client::get(&list, &[("x-api-key", READER)]).await.status,
        200
    );
    assert_eq!(up.count(), 1, "the request reached the upstream");
    assert_eq!(client::get(&list, &[]).await.status, 401);

    let health = client::get(&s.admin_url("/healthz"), &[]).await;
    assert_eq!(
        (health.status, health.json()),
        (200, json!({"status": "ok"}))
    );
    let status = client::get(&s.admin_url("/status"), &[]).await;
    assert_eq!(status.status, 200);
    let status = status.json();
    assert_eq!(status["generation"], 1, "{status}");
    assert_eq!(
        status["policy_path"],
        s.policy_path.display().to_string(),
        "{status}"
    );

    // The forward-auth listener decides what a fronting proxy describes, forwarding nothing.
    let sub = client::get(
        &format!("http://{}/", s.forward_auth),
        &[
            ("x-api-key", READER),
            ("x-original-uri", "/api/?module=indicator&action=list"),
        ],
    )
    .await;
    assert_eq!(sub.status, 200, "{}", sub.text());
    assert_eq!(sub.header("x-portcullis-key-id"), Some("reader"));
    assert_eq!(up.count(), 1, "forward-auth forwarded nothing");

    let (addr, admin, fa) = (s.addr, s.admin, s.forward_auth);
    s.shut_down().await.expect("serve ends cleanly");
    assert!(!accepts(addr).await, "public socket closed on return");
    assert!(!accepts(admin).await, "admin socket closed on return");
    assert!(!accepts(fa).await, "forward-auth socket closed on return");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_workers_share_one_port() {
    let up = Upstream::start().await;
    let addr: SocketAddr = "127.0.0.77:0".parse().unwrap();
    let public = portcullis::workers::bind(&[addr], 3).expect("bind workers");
    let ports: Vec<u16> = public
        .iter()
        .map(|set| set[0].local_addr().expect("addr").port())
        .collect();
    assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    let s = start(&policy::standard(&up.url()), public);
    ready(&s).await;
    let list = s.url("/api/?module=indicator&action=list");
    for _ in 0..6 {
        assert_eq!(
            client::get(&list, &[("x-api-key", READER)]).await.status,
            200
        );
    }
    let addr = s.addr;
    s.shut_down().await.expect("serve ends cleanly");
    assert!(!accepts(addr).await, "every worker closed its socket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_request_applies_a_changed_policy() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let s = start(&p, one_socket());
    ready(&s).await;
    let list = s.url("/api/?module=indicator&action=list");

    p["keys"]["reader"]["disabled"] = json!(true);
    policy::write(&s.policy_path, &p);
    assert_eq!(
        client::get(&list, &[("x-api-key", READER)]).await.status,
        200,
        "nothing reloads without a request"
    );
    s.reload
        .send(())
        .await
        .expect("serve takes reload requests");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while client::get(&list, &[("x-api-key", READER)]).await.status != 401 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reload request did not apply"
        );
        pause().await;
    }
    let status = client::get(&s.admin_url("/status"), &[]).await.json();
    assert_eq!(status["generation"], 2, "{status}");
    s.shut_down().await.expect("serve ends cleanly");
}

#[tokio::test]
async fn refuses_to_start_on_an_invalid_policy() {
    let bad = policy::fixtures().join("policy-errors/several-errors.json");
    let bad = std::fs::read_to_string(bad).expect("fixture");
    let s = start_text(&bad, one_socket());
    let (addr, admin) = (s.addr, s.admin);
    let result = tokio::time::timeout(Duration::from_secs(15), s.task)
        .await
        .expect("serve returned without a shutdown")
        .expect("serve task");
    match result {
        Err(ServeError::Policy(errors)) => assert_eq!(errors.0.len(), 3, "{errors}"),
        other => panic!("expected the policy errors, got {other:?}"),
    }
    assert!(!accepts(addr).await, "public socket closed");
    assert!(!accepts(admin).await, "admin socket closed");
}

/// Access-log lines in `path` that name request `id`, waiting (up to 10 s) for one.
async fn logged(path: &std::path::Path, id: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<Value> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .filter(|v: &Value| v["request_id"] == id)
            .collect();
        if !lines.is_empty() || tokio::time::Instant::now() > deadline {
            return lines;
        }
        pause().await;
    }
}

/// The access log goes to the file the settings name, and is reopened (after logrotate moved
/// it) on a reopen request (SIGUSR1 in `main`) and on the admin `POST /logs/reopen`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_file_is_reopened_on_request() {
    let up = Upstream::start().await;
    let s = start(&policy::standard(&up.url()), one_socket());
    ready(&s).await;
    let path = s.dir.join("access.log");
    let list = s.url("/api/?module=indicator&action=list");
    let id = |r: &client::Resp| r.header("x-request-id").expect("request id").to_owned();

    let first = id(&client::get(&list, &[("x-api-key", READER)])
        .await
        .expect(200)
        .clone());
    assert_eq!(logged(&path, &first).await.len(), 1, "one line per request");
    std::fs::rename(&path, s.dir.join("access.log.1")).expect("rotate");
    s.reopen.send(()).await.expect("reopen request");
    // The reopen is asynchronous: a request answered after the new file exists is logged there.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(tokio::time::Instant::now() < deadline, "not reopened");
        pause().await;
    }
    let second = id(&client::get(&list, &[("x-api-key", READER)]).await);
    assert_eq!(logged(&path, &second).await[0]["credential_id"], "reader");
    assert_eq!(logged(&s.dir.join("access.log.1"), &first).await.len(), 1);

    std::fs::rename(&path, s.dir.join("access.log.2")).expect("rotate again");
    let r = client::send(
        &client::h1(),
        client::request(
            http::Method::POST,
            &s.admin_url("/logs/reopen"),
            &[],
            client::full(""),
        ),
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!({"reopened": true})));
    let third = id(&client::get(&list, &[("x-api-key", READER)]).await);
    assert_eq!(logged(&path, &third).await.len(), 1);
    assert!(logged(&s.dir.join("access.log.2"), &second).await.len() == 1);
    s.shut_down().await.expect("clean shutdown");
}

/// The boot settings' `shadow_policy` and `assertions` reach the gateway `serve` runs: the shadow
/// is decided (and counted) beside the live policy, and the upstream named gets assertions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_policy_and_assertions_come_from_the_settings() {
    let up = Upstream::start().await;
    let live = policy::standard(&up.url());
    let mut shadow = live.clone();
    shadow["keys"]["reader"]["disabled"] = json!(true);
    let dir = TempDir::new("serve-shadow");
    policy::write(&dir.join("shadow/policy.json"), &shadow);
    std::fs::write(dir.join("assertion.key"), "k".repeat(40)).expect("key");
    let extra = json!({
        "shadow_policy": "shadow",
        "assertions": { "app": { "algorithm": "hs256", "key_file": "assertion.key" } }
    });
    let text = serde_json::to_string_pretty(&live).expect("policy");
    let s = start_in(dir, &text, one_socket(), &extra);
    ready(&s).await;
    let list = s.url("/api/?module=indicator&action=list");
    client::get(&list, &[("x-api-key", READER)])
        .await
        .expect(200);
    assert_eq!(
        up.only()
            .header("x-portcullis-assertion")
            .split('.')
            .count(),
        3
    );
    let metrics = client::get(&s.admin_url("/metrics"), &[]).await.text();
    let series = "portcullis_shadow_disagreements_total{route=\"linea21-api\",live=\"allow\",shadow=\"credential_disabled\"} 1";
    assert!(metrics.contains(series), "{metrics}");
    let status = client::get(&s.admin_url("/status"), &[]).await.json();
    assert_eq!(status["shadow"]["generation"], 1, "{status}");
    s.shut_down().await.expect("clean shutdown");
}
