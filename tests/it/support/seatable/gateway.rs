//! The SeaTable token setup on top of `Harness`: a policy directory of its own (the
//! person-edited `policy.json`, the Ed25519 key file, and whatever the management store writes),
//! the signing secrets in the injected environment, a clock started at a real "now", the
//! recording upstream answering rows, and the requests SeaTable's clients send.
//!
//! `restart` stops the gateway and serves the same directory with a fresh `Harness` (new
//! `Policy`, `Reloader` and `Gateway`, same clock), as a new process would.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::Method;
use portcullis::clock::{Clock, ManualClock};
use portcullis::reload::Outcome;
use serde_json::Value;

use super::keys::{self, ACCT_SECRET};
use super::policy::{self, SALES_NAME};
use crate::support::client::{self, Resp};
use crate::support::tmp::TempDir;
use crate::support::{Harness, Options, Reply, Upstream, policy as writer};

/// The rows the upstream answers with.
pub const ROWS: &str = r#"{"rows":[{"_id":"r1","Name":"first"},{"_id":"r2","Name":"second"}]}"#;

/// A running SeaTable-style gateway; it stops when dropped.
pub struct Gw {
    /// The gateway itself (listeners, clock, reloader).
    pub harness: Harness,
    /// The recording upstream, standing in for dtable-server.
    pub upstream: Upstream,
    /// The policy as last written to `policy.json`.
    policy: Mutex<Value>,
    /// How the gateway was started (kept for `restart`: same clock, proxies, environment).
    opts: Options,
    /// Owns the policy directory, which outlives a restart.
    dir: TempDir,
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
        let upstream = Upstream::start().await;
        upstream.set_reply(Reply {
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from_static(ROWS.as_bytes()),
            ..Reply::default()
        });
        let mut p = policy::standard(&upstream.url());
        edit(&mut p);
        let dir = TempDir::new("gw");
        let pdir = dir.join("policy");
        writer::write_text(&pdir.join("keys/base-ed.pem"), keys::ED_PRIVATE);
        writer::write(&pdir.join("policy.json"), &p);
        let opts = Options {
            trusted_proxies: proxies.iter().map(|p| p.parse().expect("CIDR")).collect(),
            env: keys::env()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            clock: Some(Arc::new(ManualClock::new(start_time()))),
            ..Options::default()
        };
        Self {
            harness: Harness::serve(&pdir, opts.clone()).await,
            upstream,
            policy: Mutex::new(p),
            opts,
            dir,
        }
    }

    /// Stop this gateway and serve the same policy directory with a fresh gateway.
    pub async fn restart(self) -> Self {
        let Self {
            harness,
            upstream,
            policy,
            opts,
            dir,
        } = self;
        drop(harness);
        Self {
            harness: Harness::serve(&dir.join("policy"), opts.clone()).await,
            upstream,
            policy,
            opts,
            dir,
        }
    }

    /// The policy directory.
    pub fn policy_dir(&self) -> PathBuf {
        self.dir.join("policy")
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
        writer::write(&self.policy_file(), &p);
        self.harness.reloader.reload_async().await
    }

    /// Now, on the gateway's clock.
    pub fn now(&self) -> i64 {
        self.harness.clock.now()
    }

    /// Move the gateway's clock by `secs`.
    pub fn advance(&self, secs: i64) {
        self.harness.clock.set(self.now() + secs);
    }

    /// `http://127.0.0.1:port<target>`.
    pub fn url(&self, target: &str) -> String {
        self.harness.url(target)
    }

    /// `method target` with `headers` and `body`.
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let req = client::request(
            method,
            &self.url(target),
            headers,
            client::full(body.to_vec()),
        );
        client::send(&client::h1(), req).await
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
        from: Option<IpAddr>,
        user: &str,
        password: &str,
        otp: Option<&str>,
    ) -> Resp {
        self.login_with(from, &[], user, password, otp).await
    }

    /// `login` from the local address `from` with `extra` headers.
    pub async fn login_with(
        &self,
        from: Option<IpAddr>,
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
        let req = client::request(Method::POST, &url, &headers, client::full(form));
        client::send(&from.map_or_else(client::h1, client::h1_from), req).await
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

    /// A base token for the sales base, minted through `access-token` from the account token
    /// `acct`.
    pub async fn base_token(&self, acct: &str) -> String {
        self.minted(acct, "access-token/", "access_token").await
    }

    /// A temporary API token for the sales base, minted through `temp-api-token` from the
    /// account token `acct`.
    pub async fn temp_token(&self, acct: &str) -> String {
        self.minted(acct, "temp-api-token/", "api_token").await
    }

    /// `GET` the sales base's endpoint `rest` with `acct`; expects 200 and returns `field`.
    async fn minted(&self, acct: &str, rest: &str, field: &str) -> String {
        let r = self
            .get(&policy::base_path(SALES_NAME, rest), Some(acct))
            .await;
        r.expect(200);
        r.json()[field].as_str().expect(field).to_owned()
    }

    /// `GET` a row list of `base` on the SeaTable-style route with `token`.
    pub async fn rows(&self, base: &str, token: &str) -> Resp {
        self.get(&rows_path(base), Some(token)).await
    }
}

/// The dtable-server row path of `base` (SeaTable-style errors).
pub fn rows_path(base: &str) -> String {
    format!("/dtable-server/api/v1/dtables/{base}/rows/?table_name=Table1")
}

/// The row path of `base` on the route with the gateway's standard errors.
pub fn std_rows_path(base: &str) -> String {
    format!("/std/dtables/{base}/rows/")
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
