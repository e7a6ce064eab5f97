//! A real PostgreSQL server (Debian's `postgresql` package) for the fleet tests: a fresh
//! cluster in a temp directory, reached over a unix socket in that directory only (no port to
//! collide on), stopped and started again by the tests, removed when dropped.
//!
//! PostgreSQL refuses to run as root: as root (CI) the cluster is made and run as `nobody`
//! through `runuser`; as anyone else, as that user.

use std::path::PathBuf;
use std::process::Command;

use super::tmp::TempDir;

/// A running PostgreSQL cluster.
pub struct Pg {
    /// Data directory, socket and log.
    dir: TempDir,
    /// `initdb`, `pg_ctl`: the newest installed version's.
    bin: PathBuf,
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
        pg.resume();
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
        let opts = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c max_connections=50",
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
        format!(
            "host={} user=portcullis dbname=postgres",
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
