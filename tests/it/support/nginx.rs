//! A real nginx (Debian's `nginx-light`, which has `auth_request`), started on loopback with a
//! configuration of the test's own and temp dirs of its own, and stopped when dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::tmp::TempDir;

/// A running nginx.
pub struct Nginx {
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
    dir: TempDir,
}

/// The nginx binary: on PATH, or where Debian puts it.
fn binary() -> String {
    let on_path = Command::new("sh")
        .args(["-c", "command -v nginx"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    on_path.unwrap_or_else(|| "/usr/sbin/nginx".to_owned())
}

impl Nginx {
    /// Start nginx with the template at `conf`, filling `@PREFIX@`, `@LISTEN@` and `vars`, and
    /// wait until it answers.
    pub async fn start(conf: &Path, vars: &[(&str, String)]) -> Self {
        let template = std::fs::read_to_string(conf).expect("read the nginx template");
        let dir = TempDir::new("nginx");
        std::fs::create_dir_all(dir.join("tmp")).expect("nginx temp dir");
        for _ in 0..5 {
            let port = {
                let l = TcpListener::bind("127.0.0.1:0").expect("find a free port");
                l.local_addr().expect("free port").port()
            };
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let mut text = template
                .replace("@PREFIX@", &dir.path().display().to_string())
                .replace("@LISTEN@", &addr.to_string());
            for (name, value) in vars {
                text = text.replace(&format!("@{name}@"), value);
            }
            let conf_path = dir.join("nginx.conf");
            std::fs::write(&conf_path, text).expect("write nginx.conf");
            let mut child = Command::new(binary())
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(&conf_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("run nginx (apt-get install nginx-light)");
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    return Self { addr, child, dir };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        panic!("nginx did not start in 5 attempts: {log}");
    }

    /// `http://127.0.0.1:port` + `target`.
    pub fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    /// nginx's error log so far, for failure messages.
    pub fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    /// SIGTERM to the master, which stops its workers; SIGKILL would leave them running, still
    /// holding the port (found as orphaned `nginx: worker process`es after test runs).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
