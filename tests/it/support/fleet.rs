//! Gateway nodes as real processes (`portcullis serve`), each with its own policy directory
//! (the management test policy) and settings naming one PostgreSQL store; plus the management
//! calls the fleet tests make through any node.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::client::{self, Resp, full, request, send};
use super::manage::{ADMIN, ADMIN_PW, INBOX, standard};
use super::seatable::keys;
use super::tmp::TempDir;
use super::{cli, policy};

/// The environment variable the nodes read the connection string from.
pub const PG_ENV: &str = "PORTCULLIS_TEST_DATABASE";

pub use super::ports::free_port;

/// One gateway process of the fleet.
pub struct Node {
    /// Its public side.
    pub api: Api,
    /// Admin port.
    pub admin: u16,
    /// Its directory: settings, `policy/`, `stderr.log`.
    pub dir: PathBuf,
    /// The process (killed when dropped).
    pub child: Child,
}

impl Node {
    /// Start a node in `parent/name` serving the management policy for `upstream`, its store
    /// PostgreSQL at `connection`.
    pub fn start(parent: &TempDir, name: &str, upstream: &str, connection: &str) -> Self {
        Self::serving(parent, name, &standard(upstream), connection)
    }

    /// Start a node in `parent/name` serving `policy` (and the SeaTable test signing key file),
    /// its store PostgreSQL at `connection`.
    pub fn serving(parent: &TempDir, name: &str, policy_json: &Value, connection: &str) -> Self {
        Self::launch(parent, name, policy_json, connection, json!({}), &[])
    }

    /// Like `serving`, with more boot settings (`extra`'s keys) and environment variables.
    pub fn launch(
        parent: &TempDir,
        name: &str,
        policy_json: &Value,
        connection: &str,
        extra: Value,
        env: &[(&str, &str)],
    ) -> Self {
        let dir = parent.join(name);
        policy::write(&dir.join("policy/policy.json"), policy_json);
        policy::write_text(&dir.join("policy/keys/base-ed.pem"), keys::ED_PRIVATE);
        let (port, admin) = (free_port(), free_port());
        let mut settings = json!({
                "listeners": [{ "address": format!("127.0.0.1:{port}") }],
                "admin": { "address": format!("127.0.0.1:{admin}") },
                "workers": 1,
                "policy": "policy",
                "limits": { "shutdown_grace_ms": 200, "drain_timeout_ms": 2000 },
                "log": { "level": "info" },
                "store": { "kind": "postgres", "connection_env": PG_ENV,
                           "check_interval_ms": 500, "write_timeout_ms": 1000 }
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            settings[k] = v.clone();
        }
        policy::write(&dir.join("settings.json"), &settings);
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        std::fs::write(
            dir.join("env.json"),
            serde_json::to_string(&env).expect("env"),
        )
        .expect("write env");
        let child = Self::spawn(&dir, connection);
        Self {
            api: Api { port },
            admin,
            dir,
            child,
        }
    }

    fn spawn(dir: &std::path::Path, connection: &str) -> Child {
        let log = std::fs::File::create(dir.join("stderr.log")).expect("log file");
        let mut cmd = Command::new(cli::bin());
        cmd.args(["serve", "--config", cli::s(&dir.join("settings.json"))])
            .env(PG_ENV, connection)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        for (k, v) in keys::env() {
            cmd.env(k, v);
        }
        let extra: Vec<(String, String)> = std::fs::read_to_string(dir.join("env.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.spawn().expect("spawn portcullis")
    }

    /// Kill the process and start it again on the same ports and directory.
    pub async fn restart(&mut self, connection: &str) {
        let _ = self.child.kill().await;
        self.child = Self::spawn(&self.dir, connection);
    }

    /// `GET /status` on the admin listener.
    pub async fn status(&self) -> Value {
        client::get(&format!("http://127.0.0.1:{}/status", self.admin), &[])
            .await
            .json()
    }

    /// The store revision `/status` shows.
    pub async fn revision(&self) -> u64 {
        self.status().await["store"]["revision"]
            .as_u64()
            .expect("store revision")
    }

    /// `GET /readyz`, once the admin listener accepts connections.
    pub async fn readyz(&self) -> Option<Resp> {
        tokio::net::TcpStream::connect(("127.0.0.1", self.admin))
            .await
            .ok()?;
        let url = format!("http://127.0.0.1:{}/readyz", self.admin);
        tokio::time::timeout(Duration::from_millis(500), client::get(&url, &[]))
            .await
            .ok()
    }

    /// Wait (up to 10 s) until `/readyz` answers 200.
    pub async fn ready(&self) {
        for _ in 0..200 {
            if let Some(r) = self.readyz().await
                && r.status == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
        panic!(
            "node on admin port {} never became ready:\n{log}",
            self.admin
        );
    }
}

/// The public side of a node, or of the balancer in front of the nodes.
pub struct Api {
    /// Public port.
    pub port: u16,
}

impl Api {
    /// `path` on the public listener.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A management call with `Authorization: Bearer <token>` and a JSON body.
    pub async fn call(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        let auth = format!("Bearer {token}");
        let mut h = vec![("authorization", auth.as_str())];
        if body.is_some() {
            h.push(("content-type", "application/json"));
        }
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        send(
            &client::h1(),
            request(method, &self.url(path), &h, full(text)),
        )
        .await
    }

    /// A management call with `If-Match: tag` and a JSON body.
    pub async fn call_if_match(
        &self,
        token: &str,
        method: Method,
        path: &str,
        tag: &str,
        body: Value,
    ) -> Resp {
        let auth = format!("Bearer {token}");
        let h = [
            ("authorization", auth.as_str()),
            ("if-match", tag),
            ("content-type", "application/json"),
        ];
        send(
            &client::h1(),
            request(method, &self.url(path), &h, full(body.to_string())),
        )
        .await
    }

    /// The admin's account token (verifies on every node: one signing key).
    pub async fn login(&self) -> String {
        let r = client::send(
            &client::h1(),
            request(
                Method::POST,
                &self.url("/admin/auth"),
                &[("content-type", "application/json")],
                full(json!({ "username": ADMIN, "password": ADMIN_PW }).to_string()),
            ),
        )
        .await;
        r.expect(200);
        r.json()["authentication_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// A reader role and a placeholder user on `INBOX`: (role id, user id).
    pub async fn key_owner(&self, admin: &str) -> (String, String) {
        let r = self
            .call(
                admin,
                Method::POST,
                "/admin/roles",
                Some(json!({ "name": "reader", "permissions": ["inbox_reader"] })),
            )
            .await;
        r.expect(201);
        let role = r.json()["id"].as_str().expect("role id").to_owned();
        let r = self
            .call(
                admin,
                Method::POST,
                "/admin/users",
                Some(json!({
                    "username": "shared-link", "active": true, "password": "unused-pw-1",
                    "roles": [{ "role": role, "inbox": INBOX }]
                })),
            )
            .await;
        r.expect(201);
        (role, r.json()["id"].as_str().expect("user id").to_owned())
    }

    /// Create a key for `user` on `INBOX`: (id, token), or the refusal.
    pub async fn new_key(
        &self,
        admin: &str,
        user: &str,
        role: &str,
    ) -> Result<(String, String), Resp> {
        let r = self
            .call(
                admin,
                Method::POST,
                "/admin/auth/api-key",
                Some(json!({ "user": user, "roles": [{ "role": role, "inbox": INBOX }] })),
            )
            .await;
        if r.status != 201 {
            return Err(r);
        }
        let k = r.json();
        Ok((
            k["id"].as_str().expect("id").to_owned(),
            k["token"].as_str().expect("token").to_owned(),
        ))
    }

    /// A proxied request with `key`: its status.
    pub async fn proxied(&self, key: &str) -> u16 {
        client::get(
            &self.url(&format!("/inboxes/{INBOX}/documents")),
            &[("x-api-key", key)],
        )
        .await
        .status
    }
}

impl std::ops::Deref for Node {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

/// Create a contract.fit key through the first node (admin login, a role and a user for it) and
/// wait until every node in `nodes` proxies with it (at most `within`); returns its token.
pub async fn key_on_every_node(nodes: &[&Node], within: Duration) -> String {
    let first = nodes.first().expect("a node");
    let admin = first.login().await;
    let (role, user) = first.key_owner(&admin).await;
    let (_, key) = first.new_key(&admin, &user, &role).await.expect("key");
    for n in nodes {
        let start = std::time::Instant::now();
        while n.proxied(&key).await != 200 {
            assert!(
                start.elapsed() < within,
                "the key did not reach the node on admin port {} within {within:?}",
                n.admin
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    key
}

/// Wait until every node in `nodes` reports the same store revision, all read again on every look
/// (a node may move on meanwhile). The bound is for a loaded CI machine: with the whole suite
/// running beside it on two cores, 1 s was once not enough.
pub async fn same_revision(nodes: &[&Node], what: &str) {
    let start = std::time::Instant::now();
    loop {
        let mut revs = Vec::with_capacity(nodes.len());
        for n in nodes {
            revs.push(n.revision().await);
        }
        if revs.windows(2).all(|w| w[0] == w[1]) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "revisions differ {what}: {revs:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
