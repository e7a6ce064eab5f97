//! The gateway under test, wired as `main.rs` wires it: a policy directory of its own (the
//! person-edited `policy.json` plus whatever the management store writes), a reloader with an
//! injected environment, the managed store, a `ManualClock`, the public and admin listeners on
//! `127.0.0.1:0` and a recording upstream.
//!
//! `restart` stops it and serves the same directory with a fresh `Policy`, `Reloader` and
//! `Gateway`, as a new process would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use ipnet::IpNet;
use portcullis::clock::{Clock, ManualClock};
use portcullis::gateway::Gateway;
use portcullis::policy::Policy;
use portcullis::reload::{Outcome, Reloader};
use portcullis::server::ServeOptions;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::client::{self, Resp};
use super::keys::{self, ACCT_SECRET};
use super::policy;
use super::upstream::Upstream;
use crate::support::logs;
use crate::support::tmp::TempDir;

/// A running gateway; it stops when dropped.
pub struct Gw {
    /// The public listener.
    pub addr: SocketAddr,
    /// The admin listener (`/status`, `/readyz`).
    pub admin: SocketAddr,
    /// The clock token times are checked against (starts at a real "now", 10 s into a TOTP step).
    pub clock: Arc<ManualClock>,
    /// The reloader (the managed store reloads through it too).
    pub reloader: Arc<Reloader>,
    /// The recording upstream.
    pub upstream: Upstream,
    /// The policy as last written to `policy.json`.
    policy: Mutex<Value>,
    /// Proxies whose forwarding headers are trusted (kept for `restart`).
    trusted: Vec<IpNet>,
    /// Owns the policy directory; shared so `restart` can reuse it.
    dir: Arc<TempDir>,
    /// Stops the listeners.
    stop: watch::Sender<bool>,
}

/// Unix seconds at the start of the test, 10 s into a 30 s TOTP step.
fn start_time() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    now / 30 * 30 + 10
}

impl Gw {
    /// Serve the standard policy.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Serve the standard policy after `edit`.
    pub async fn start_with(edit: impl FnOnce(&mut Value)) -> Self {
        Self::start_behind(&[], edit).await
    }

    /// Like `start_with`, trusting the forwarding headers of `proxies` (CIDRs).
    pub async fn start_behind(proxies: &[&str], edit: impl FnOnce(&mut Value)) -> Self {
        let trusted: Vec<IpNet> = proxies.iter().map(|p| p.parse().expect("CIDR")).collect();
        logs::install();
        let upstream = Upstream::start().await;
        let mut p = policy::standard(&upstream.url());
        edit(&mut p);
        let dir = TempDir::new("gw");
        let pdir = dir.path().join("policy");
        std::fs::create_dir_all(pdir.join("keys")).expect("policy dir");
        std::fs::write(pdir.join("keys/base-ed.pem"), keys::ED_PRIVATE).expect("write pem");
        write_json(&pdir.join("policy.json"), &p);
        let clock = Arc::new(ManualClock::new(start_time()));
        Self::serve(Arc::new(dir), p, clock, upstream, trusted).await
    }

    async fn serve(
        dir: Arc<TempDir>,
        p: Value,
        clock: Arc<ManualClock>,
        upstream: Upstream,
        trusted: Vec<IpNet>,
    ) -> Self {
        let env: HashMap<String, String> = keys::env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let policy = Policy::new();
        let reloader = Reloader::with_env(
            dir.path().join("policy"),
            Arc::clone(&policy),
            Arc::clone(&dyn_clock),
            Arc::new(move |k: &str| env.get(k).cloned()),
        );
        match reloader.reload_async().await {
            Outcome::Applied { .. } => {}
            other => panic!("test policy did not load: {other:?}"),
        }
        let mut gw = Gateway::new(
            policy,
            dyn_clock,
            portcullis::forward::client(Duration::from_secs(2)),
        );
        gw.trusted_proxies = trusted.clone();
        gw.issuer.store = Some(Arc::new(portcullis::managed::Store::new(Arc::clone(
            &reloader,
        ))));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stop_rx) = watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let opts = ServeOptions {
            drain_timeout: Duration::from_secs(1),
            ..ServeOptions::default()
        };
        tokio::spawn(portcullis::server::run(
            listener,
            Arc::new(gw),
            opts,
            stopped(),
        ));
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
        let admin = admin_listener.local_addr().expect("admin addr");
        tokio::spawn(portcullis::admin::run(
            admin_listener,
            Arc::clone(&reloader),
            stopped(),
        ));
        Self {
            addr,
            admin,
            clock,
            reloader,
            upstream,
            policy: Mutex::new(p),
            trusted,
            dir,
            stop,
        }
    }

    /// Stop this gateway and serve the same policy directory with a fresh gateway.
    pub async fn restart(self) -> Self {
        let p = self.policy.lock().unwrap().clone();
        let (dir, clock) = (Arc::clone(&self.dir), Arc::clone(&self.clock));
        let (upstream, trusted) = (self.upstream.clone(), self.trusted.clone());
        drop(self);
        Self::serve(dir, p, clock, upstream, trusted).await
    }

    /// The policy directory.
    pub fn policy_dir(&self) -> PathBuf {
        self.dir.path().join("policy")
    }

    /// The person-edited policy file.
    pub fn policy_file(&self) -> PathBuf {
        self.policy_dir().join("policy.json")
    }

    /// The managed file's text, if the gateway wrote one.
    pub fn managed_text(&self) -> Option<String> {
        std::fs::read_to_string(self.policy_dir().join("portcullis-managed.json")).ok()
    }

    /// Edit the policy, write it and reload; panics unless the reload applied.
    pub async fn edit(&self, f: impl FnOnce(&mut Value)) {
        match self.try_edit(f).await {
            Outcome::Applied { .. } => {}
            other => panic!("edited policy did not load: {other:?}"),
        }
    }

    /// Edit the policy, write it and reload; returns what the reload did.
    pub async fn try_edit(&self, f: impl FnOnce(&mut Value)) -> Outcome {
        let p = {
            let mut p = self.policy.lock().unwrap();
            f(&mut p);
            p.clone()
        };
        write_json(&self.policy_file(), &p);
        self.reloader.reload_async().await
    }

    /// Now, on the gateway's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Move the gateway's clock by `secs`.
    pub fn advance(&self, secs: i64) {
        self.clock.set(self.clock.now() + secs);
    }

    /// `http://127.0.0.1:port<target>`.
    pub fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    /// `method target` with `headers` and `body`.
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        client::send(method, &self.url(target), headers, body).await
    }

    /// `GET target`, with `Authorization: Token <t>` when `token` is given.
    pub async fn get(&self, target: &str, token: Option<&str>) -> Resp {
        let auth = token.map(client::token);
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.send(Method::GET, target, &headers, b"").await
    }

    /// `POST target` with a JSON body, as SeaTable's client writes rows.
    pub async fn post_json(&self, target: &str, token: &str, body: &Value) -> Resp {
        let auth = client::token(token);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        self.send(Method::POST, target, &headers, body.to_string().as_bytes())
            .await
    }

    /// `POST /api2/auth-token/` with a urlencoded form, and `X-SEAFILE-OTP` when `otp` is given.
    pub async fn login(&self, user: &str, password: &str, otp: Option<&str>) -> Resp {
        self.login_from(None, user, password, otp).await
    }

    /// `login` from the local address `from`.
    pub async fn login_from(
        &self,
        from: Option<std::net::IpAddr>,
        user: &str,
        password: &str,
        otp: Option<&str>,
    ) -> Resp {
        self.login_with(from, &[], user, password, otp).await
    }

    /// `login` from the local address `from` with `extra` headers.
    pub async fn login_with(
        &self,
        from: Option<std::net::IpAddr>,
        extra: &[(&str, &str)],
        user: &str,
        password: &str,
        otp: Option<&str>,
    ) -> Resp {
        let form = form(&[("username", user), ("password", password)]);
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        headers.extend_from_slice(extra);
        if let Some(code) = otp {
            headers.push(("x-seafile-otp", code));
        }
        let url = self.url("/api2/auth-token/");
        client::send_from(from, Method::POST, &url, &headers, form.as_bytes()).await
    }

    /// An account token for `user` signed with the account key, as a login would give (no
    /// password hashing: fast).
    pub fn account_token(&self, user: &str) -> String {
        keys::hs256(
            Some("acct-1"),
            ACCT_SECRET,
            &keys::claims("account", user, self.now(), 3600),
        )
    }

    /// Create an API token on base `name` as the holder of `account`; returns the response.
    pub async fn create_api_token(&self, account: &str, name: &str, app: &str, perm: &str) -> Resp {
        let auth = client::token(account);
        let body = form(&[("app_name", app), ("permission", perm)]);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        self.send(
            Method::POST,
            &policy::base_path(name, "api-tokens/"),
            &headers,
            body.as_bytes(),
        )
        .await
    }

    /// Create an API token as alice and return its plaintext.
    pub async fn api_token(&self, name: &str, app: &str, perm: &str) -> String {
        let r = self
            .create_api_token(&self.account_token(policy::ALICE), name, app, perm)
            .await;
        r.expect(201);
        r.json()["api_token"]
            .as_str()
            .expect("api_token")
            .to_owned()
    }

    /// `GET /api/v2.1/dtable/app-access-token/` with `token` (API or temporary token).
    pub async fn app_access(&self, token: &str) -> Resp {
        self.get("/api/v2.1/dtable/app-access-token/", Some(token))
            .await
    }

    /// A base token minted through `app-access-token` from an API token.
    pub async fn base_token_from(&self, api_token: &str) -> String {
        let r = self.app_access(api_token).await;
        r.expect(200);
        r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `GET` a row list of `base` on the SeaTable-style route with `token`.
    pub async fn rows(&self, base: &str, token: &str) -> Resp {
        self.get(&rows_path(base), Some(token)).await
    }
}

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The dtable-server row path of `base` (SeaTable-style errors).
pub fn rows_path(base: &str) -> String {
    format!("/dtable-server/api/v1/dtables/{base}/rows/?table_name=Table1")
}

/// A urlencoded form body.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn write_json(path: &std::path::Path, v: &Value) {
    let text = serde_json::to_string_pretty(v).expect("json");
    std::fs::write(path, text).expect("write policy");
}
