//! A real PHP upstream: `php -S 127.0.0.1:<port>` with `tests/fixtures/php/index.php` as its
//! router script, answering every request with what PHP made of it (`$_GET`, `$_POST`,
//! `$_COOKIE`, `$_REQUEST`, the `HTTP_*` keys of `$_SERVER`, ...) as JSON.
//!
//! The port is found by binding `127.0.0.1:0` and releasing it; if PHP loses the race for it, the
//! start is retried on another. The server is killed when the `PhpApp` is dropped. Every request
//! PHP serves is appended to a log file, so a test can prove that a refused request never reached
//! PHP. `send` drives the `curl` binary, which sends targets and header bytes exactly as given
//! (`module[]`, tabs in `Cookie`, `X_Portcullis_Key_Id`).

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::client::{self, Resp};
use super::tmp::TempDir;

/// How PHP is configured. Both run with `-n` (no php.ini) so the machine's php.ini cannot change
/// the outcome, `max_input_vars = 1000` and errors logged, never displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ini {
    /// PHP's built-in defaults, as with no php.ini at all (the official Docker images):
    /// `request_order` unset and `variables_order = "EGPCS"`, so `$_REQUEST` merges GET, POST
    /// and then COOKIE, and a cookie wins over the query.
    Builtin,
    /// What `php.ini-production`/`-development` (and Debian's copies) set: `request_order = "GP"`,
    /// `variables_order = "GPCS"` (no cookies in `$_REQUEST`, POST wins over GET), plus the
    /// legacy `arg_separator.input = "&;"`, so PHP itself would split the query on `;`.
    Shipped,
}

impl Ini {
    fn args(self) -> &'static [&'static str] {
        match self {
            Ini::Builtin => &[],
            Ini::Shipped => &[
                "-d",
                "request_order=GP",
                "-d",
                "variables_order=GPCS",
                "-d",
                "arg_separator.input=&;",
            ],
        }
    }
}

/// A running `php -S`. Killed on drop.
pub struct PhpApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its configuration.
    pub ini: Ini,
    child: Child,
    dir: TempDir,
}

impl std::fmt::Debug for PhpApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhpApp")
            .field("addr", &self.addr)
            .field("ini", &self.ini)
            .finish()
    }
}

/// The router script.
fn script() -> PathBuf {
    super::policy::fixtures().join("php/index.php")
}

impl PhpApp {
    /// Start `php -S` with `ini` and wait until it answers.
    pub async fn start(ini: Ini) -> Self {
        let dir = TempDir::new("php");
        for _ in 0..5 {
            let port = {
                let l = TcpListener::bind("127.0.0.1:0").expect("find a free port");
                l.local_addr().expect("free port").port()
            };
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let mut child = spawn(ini, addr, &dir);
            if wait_ready(&mut child, addr).await {
                let _ = std::fs::write(dir.join("requests.log"), "");
                return Self {
                    addr,
                    ini,
                    child,
                    dir,
                };
            }
            // Lost the race for the port (or did not start): try another.
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.join("php.log")).unwrap_or_default();
        panic!("php -S did not start in 5 attempts: {log}");
    }

    /// `http://127.0.0.1:port`, for a policy's `upstreams`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:port` + `target`, to ask PHP directly.
    pub fn url_for(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    /// The `REQUEST_URI` of every request PHP served since it became ready.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// How many requests PHP served since it became ready.
    pub fn count(&self) -> usize {
        self.requests().len()
    }
}

impl Drop for PhpApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `php -S addr index.php` with `ini`, logging into `dir`.
fn spawn(ini: Ini, addr: SocketAddr, dir: &TempDir) -> Child {
    let log = std::fs::File::create(dir.join("php.log")).expect("php log");
    Command::new("php")
        .args(["-n", "-d", "max_input_vars=1000"])
        .args(["-d", "display_errors=0", "-d", "log_errors=1"])
        .args(ini.args())
        .arg("-S")
        .arg(addr.to_string())
        .arg(script())
        .current_dir(script().parent().expect("fixtures dir"))
        .env("PHP_UPSTREAM_LOG", dir.join("requests.log"))
        .env_remove("PHP_CLI_SERVER_WORKERS")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("php log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `php` ({e}): install php-cli (scripts/test.sh does)")
        })
}

/// Poll until PHP answers with its JSON (true), or it exits or 10 s pass (false).
async fn wait_ready(child: &mut Child, addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if probe(addr)
            .await
            .is_some_and(|body| body.contains("\"variables_order\""))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// One raw `GET /` on a fresh connection; the body if anything answered.
async fn probe(addr: SocketAddr) -> Option<String> {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /__ready HTTP/1.0\r\nHost: ready\r\n\r\n")
            .await
            .ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        Some(String::from_utf8_lossy(&out).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
}

/// Send `method url` with raw `headers` (`"Name: value"`, bytes as given) and an optional body,
/// through `curl` (no globbing, no path normalization). Bodies go through stdin, byte for byte.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[impl AsRef<[u8]>],
    body: Option<&[u8]>,
) -> Resp {
    use std::os::unix::ffi::OsStrExt;
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args([
        "-s",
        "-S",
        "-i",
        "--max-time",
        "15",
        "--globoff",
        "--path-as-is",
    ])
    .args(["-X", method]);
    for h in headers {
        // Bytes as given: obs-text and invalid UTF-8 reach the server unchanged.
        cmd.arg("-H").arg(std::ffi::OsStr::from_bytes(h.as_ref()));
    }
    if body.is_some() {
        cmd.args(["--data-binary", "@-"]);
    }
    cmd.arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let exchange = async {
        let mut child = cmd.spawn().expect("run curl");
        let mut stdin = child.stdin.take().expect("curl stdin");
        if let Some(b) = body {
            stdin.write_all(b).await.expect("write curl stdin");
        }
        drop(stdin);
        child.wait_with_output().await.expect("wait for curl")
    };
    let out = tokio::time::timeout(client::LIMIT, exchange)
        .await
        .expect("curl timed out");
    assert!(
        out.status.success(),
        "curl {method} {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    client::parse_response(&out.stdout)
}

/// What PHP reported for one request (the JSON `index.php` answers).
#[derive(Debug, Clone)]
pub struct View(pub Value);

impl View {
    /// Parse PHP's answer; panics with the body when it is not PHP's JSON.
    pub fn of(resp: &Resp) -> Self {
        let v = resp.json();
        assert!(
            v.get("server").is_some() && v.get("ini").is_some(),
            "not an answer from index.php: {v}"
        );
        Self(v)
    }

    /// `$_GET[name]`, as JSON (a string, an object for arrays, or null).
    pub fn get(&self, name: &str) -> &Value {
        &self.0["get"][name]
    }

    /// `$_POST[name]`.
    pub fn post(&self, name: &str) -> &Value {
        &self.0["post"][name]
    }

    /// `$_COOKIE[name]`.
    pub fn cookie(&self, name: &str) -> &Value {
        &self.0["cookie"][name]
    }

    /// `$_REQUEST[name]`.
    pub fn request(&self, name: &str) -> &Value {
        &self.0["request"][name]
    }

    /// `$_SERVER[key]` (only `HTTP_*` and the request line keys are reported).
    pub fn server(&self, key: &str) -> Option<&str> {
        self.0["server"][key].as_str()
    }

    /// Every reported `$_SERVER` key.
    pub fn server_keys(&self) -> Vec<String> {
        self.0["server"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// `getallheaders()`: every request header PHP received, as (name as received, value).
    pub fn headers(&self) -> Vec<(String, String)> {
        self.0["headers"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The value of request header `name` (case-insensitive) as PHP received it.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The gateway's `X-Portcullis-Module`, rawurldecoded by PHP; None when absent.
    pub fn decided_module(&self) -> Option<&str> {
        self.0["decided"]["module"].as_str()
    }

    /// The gateway's `X-Portcullis-Action`, rawurldecoded by PHP; None when absent.
    pub fn decided_action(&self) -> Option<&str> {
        self.0["decided"]["action"].as_str()
    }

    /// Path segment `i` of `REQUEST_URI` (0 is the empty one before the first `/`), rawurldecoded.
    pub fn segment(&self, i: usize) -> Option<&str> {
        self.0["segments"][i].as_str()
    }
}
