//! A real PostgreSQL server (Debian's `postgresql` package) for the fleet tests: a fresh
//! cluster in a temp directory, reached over a unix socket in that directory only (no port to
//! collide on), stopped and started again by the tests, removed when dropped.
//!
//! PostgreSQL refuses to run as root: as root (CI) the cluster is made and run as `nobody`
//! through `runuser`; as anyone else, as that user.

use std::path::PathBuf;
use std::process::Command;

use super::ca::Ca;
use super::tmp::TempDir;

/// Make a file the cluster reads private to its owner (PostgreSQL refuses a key others can
/// read), owned by `nobody` when the cluster runs as `nobody`.
fn chmod_own(path: &str) {
    let ok = Command::new("chmod")
        .args(["600", path])
        .status()
        .expect("chmod");
    assert!(ok.success());
    if is_root() {
        let ok = Command::new("chown")
            .args(["nobody", path])
            .status()
            .expect("chown");
        assert!(ok.success());
    }
}

/// A running PostgreSQL cluster.
pub struct Pg {
    /// Data directory, socket and log.
    dir: TempDir,
    /// `initdb`, `pg_ctl`: the newest installed version's.
    bin: PathBuf,
    /// The loopback port it also listens on, TLS only, when started with [`Pg::start_tls`].
    tls_port: Option<u16>,
}

/// The newest `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (apt-get install postgresql; scripts/test.sh does)")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let v = versions.last().expect("a PostgreSQL version");
    PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl Pg {
    /// Make a cluster and start it.
    pub fn start() -> Self {
        let pg = Self::init();
        pg.resume();
        pg
    }

    /// Make a cluster that also listens on a loopback port for TLS connections only (a
    /// certificate for 127.0.0.1 signed by `ca`; `pg_hba.conf` admits TCP clients by `hostssl`
    /// alone, so a plain TCP connection is refused), and start it.
    pub fn start_tls(ca: &Ca) -> Self {
        let mut pg = Self::init();
        let (cert, key, _) = ca.issue("127.0.0.1");
        std::fs::write(pg.dir.join("server.crt"), cert).expect("write cert");
        std::fs::write(pg.dir.join("server.key"), key).expect("write key");
        for f in ["server.crt", "server.key"] {
            let path = pg.dir.join(f).display().to_string();
            chmod_own(&path);
        }
        let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";
        std::fs::write(pg.dir.join("data/pg_hba.conf"), hba).expect("write pg_hba.conf");
        let port = super::fleet::free_port();
        let conf = format!(
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            pg.dir.join("server.crt").display(),
            pg.dir.join("server.key").display()
        );
        let mut text = std::fs::read_to_string(pg.dir.join("data/postgresql.conf")).expect("conf");
        text.push_str(&conf);
        std::fs::write(pg.dir.join("data/postgresql.conf"), text).expect("write conf");
        pg.tls_port = Some(port);
        pg.resume();
        pg
    }

    /// A TLS connection string for the cluster started by [`Pg::start_tls`].
    pub fn tls_connection(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=portcullis dbname=postgres sslmode=require",
            self.tls_port.expect("started with start_tls")
        )
    }

    fn init() -> Self {
        let dir = TempDir::new("pg");
        if is_root() {
            let ok = Command::new("chown")
                .args(["nobody", &dir.path().display().to_string()])
                .status()
                .expect("chown");
            assert!(ok.success(), "chown the cluster directory to nobody");
        }
        let pg = Self {
            dir,
            bin: bin_dir(),
            tls_port: None,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data(),
                "-A",
                "trust",
                "-U",
                "portcullis",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Run a PostgreSQL program as the cluster's owner; panics with its output on failure.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run a PostgreSQL program");
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start (again) and wait until it accepts connections.
    pub fn resume(&self) {
        let listen = match self.tls_port {
            Some(port) => format!("-c listen_addresses=127.0.0.1 -p {port}"),
            None => "-c listen_addresses=''".to_owned(),
        };
        let opts = format!(
            "{listen} -k {} -c fsync=off -c max_connections=50",
            self.dir.path().display()
        );
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        );
    }

    /// Stop at once (as a crash or a network cut looks to clients).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// The connection string (unix socket; trust authentication).
    pub fn connection(&self) -> String {
        let port = self
            .tls_port
            .map(|p| format!(" port={p}"))
            .unwrap_or_default();
        format!(
            "host={} user=portcullis dbname=postgres{port}",
            self.dir.path().display()
        )
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = Command::new(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        if is_root() {
            let _ = Command::new("runuser")
                .args(["-u", "nobody", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", &self.data(), "-m", "immediate", "stop"])
                .output();
        }
    }
}
