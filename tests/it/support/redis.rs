//! A real Redis server (Debian's `redis-server` package) on a free loopback port, no
//! persistence; paused (`SIGSTOP`: a Redis that hangs), resumed, killed when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ca::Ca;
use super::fleet::free_port;
use super::tmp::TempDir;

/// A running redis-server.
pub struct RedisServer {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl RedisServer {
    /// Start one and wait until it accepts connections.
    pub fn start() -> Self {
        let port = free_port();
        Self::spawn(port, &["--port", &port.to_string()])
    }

    /// Start one that speaks TLS only (`--port 0`), with a certificate for 127.0.0.1 signed by
    /// `ca` (files in `dir`), not asking clients for certificates.
    pub fn start_tls(ca: &Ca, dir: &TempDir) -> Self {
        let (cert, key, _) = ca.issue("127.0.0.1");
        let (cert_path, key_path) = (dir.join("redis.crt"), dir.join("redis.key"));
        std::fs::write(&cert_path, cert).expect("write cert");
        std::fs::write(&key_path, key).expect("write key");
        let ca_path = dir.join("redis-ca.pem");
        std::fs::write(&ca_path, &ca.pem).expect("write ca");
        let port = free_port();
        let p = port.to_string();
        let s = |path: &std::path::PathBuf| path.display().to_string();
        let (c, k, a) = (s(&cert_path), s(&key_path), s(&ca_path));
        Self::spawn(
            port,
            &[
                "--port",
                "0",
                "--tls-port",
                &p,
                "--tls-cert-file",
                &c,
                "--tls-key-file",
                &k,
                "--tls-ca-cert-file",
                &a,
                "--tls-auth-clients",
                "no",
            ],
        )
    }

    fn spawn(port: u16, listen: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(listen)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run redis-server (apt-get install redis-server; scripts/test.sh does)");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `redis-cli` against it (plain servers only); its output.
    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli (Debian package redis-tools, with redis-server)");
        assert!(out.status.success(), "redis-cli {args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Zero the command statistics.
    pub fn reset_stats(&self) {
        self.cli(&["CONFIG", "RESETSTAT"]);
    }

    /// Script calls (`EVAL` and `EVALSHA`) since the last reset: one per round trip a rate-limit
    /// check made.
    pub fn script_calls(&self) -> u64 {
        self.cli(&["INFO", "commandstats"])
            .lines()
            .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
            .filter_map(|l| {
                l.split("calls=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }

    /// Its TLS URL (for [`RedisServer::start_tls`]).
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}/", self.port)
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Freeze it: connections stay open, nothing is answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaw it.
    pub fn resume(&self) {
        self.signal("-CONT");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
