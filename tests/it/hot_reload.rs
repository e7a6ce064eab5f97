//! Hot reload under load: while a client sends requests continuously, the policy file is changed
//! in each of the four ways files change on disk — in-place write, write-temp-then-rename, a
//! Kubernetes ConfigMap `..data` symlink swap, delete-then-recreate. No request fails (each gets
//! the old or the new decision, never a 5xx or a connection error), and a key the edit disabled
//! is refused within a few seconds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::client::{self, pause};
use crate::support::policy::{self, READER};
use crate::support::tmp::TempDir;
use crate::support::{Harness, Options, Upstream};

const VICTIM: &str = "vic-s3cret-2d9f6a0c8e4b1735";
const WITHIN: Duration = Duration::from_secs(5);

/// The standard policy plus `victim`, a key the edit disables.
fn with_victim(upstream: &str, disabled: bool) -> Value {
    let mut p = policy::standard(upstream);
    p["keys"]["victim"] = policy::key(
        VICTIM,
        json!({ "indicator": ["list"] }),
        json!({ "disabled": disabled }),
    );
    p
}

fn text(p: &Value) -> String {
    serde_json::to_string_pretty(p).expect("serialize")
}

/// Requests sent continuously until stopped, over one kept-alive HTTP/1.1 client and one h2c
/// client; every answer that is neither the old nor the new decision is recorded.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl Load {
    fn start(gw: &Harness) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let url = gw.url("/api/?module=indicator&action=list");
        let (s, n) = (Arc::clone(&stop), Arc::clone(&sent));
        let task = tokio::spawn(async move {
            let clients = [client::h1(), client::h2()];
            let mut failures = Vec::new();
            let mut i = 0usize;
            while !s.load(Ordering::Relaxed) && i < 20_000 {
                let key = if i.is_multiple_of(2) { READER } else { VICTIM };
                let req = client::request(
                    http::Method::GET,
                    &url,
                    &[("x-api-key", key)],
                    client::full(""),
                );
                let sent =
                    tokio::time::timeout(client::LIMIT, clients[i / 2 % 2].request(req)).await;
                let status = match sent {
                    Ok(Ok(resp)) => resp.status().as_u16(),
                    Ok(Err(e)) => {
                        failures.push(format!("request {i}: {e}"));
                        0
                    }
                    Err(_) => {
                        failures.push(format!("request {i}: timed out"));
                        0
                    }
                };
                let ok = status == 200 || (key == VICTIM && status == 401);
                if status != 0 && !ok {
                    failures.push(format!("request {i} ({key}): status {status}"));
                }
                i += 1;
                n.fetch_add(1, Ordering::Relaxed);
            }
            failures
        });
        Self { stop, sent, task }
    }

    async fn wait_for(&self, more: usize) {
        let target = self.sent.load(Ordering::Relaxed) + more;
        let deadline = tokio::time::Instant::now() + WITHIN;
        while self.sent.load(Ordering::Relaxed) < target {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the load loop stalled"
            );
            pause().await;
        }
    }

    async fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("load task")
    }
}

/// Wait until the victim key is refused; panics after `WITHIN`.
async fn victim_refused(gw: &Harness) {
    let url = gw.url("/api/?module=indicator&action=list");
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let resp = client::get(&url, &[("x-api-key", VICTIM)]).await;
        if resp.status == 401 {
            client::assert_rejected(&resp, 401, "credential_disabled");
            return;
        }
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edit did not apply within {WITHIN:?}"
        );
        pause().await;
    }
}

/// Serve `path` (whose policy forwards to `url`), run load, apply `edit`, check the outcome.
async fn reload_under_load(url: &str, path: PathBuf, edit: impl FnOnce(&str)) {
    let gw = Harness::serve(
        &path,
        Options {
            watch: true,
            ..Options::default()
        },
    )
    .await;
    let load = Load::start(&gw);
    load.wait_for(20).await;
    edit(&text(&with_victim(url, true)));
    victim_refused(&gw).await;
    load.wait_for(20).await;
    let failures = load.finish().await;
    assert!(
        failures.is_empty(),
        "requests failed during reload: {failures:#?}"
    );
    let status = gw.policy.status();
    assert_eq!(status.generation, 2, "{status:?}");
    assert_eq!(status.last_error, None, "{status:?}");
    let resp = client::get(
        &gw.url("/api/?module=indicator&action=list"),
        &[("x-api-key", READER)],
    )
    .await;
    assert_eq!(resp.status, 200);
}

/// A directory holding `policy.json` with the starting policy.
fn plain_dir(up_url: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new("reload");
    let path = dir.join("policy.json");
    policy::write_text(&path, &text(&with_victim(up_url, false)));
    (dir, path)
}

async fn run_style(edit: impl FnOnce(&Path, &str)) {
    let up = Upstream::start().await;
    let (_dir, path) = plain_dir(&up.url());
    let p = path.clone();
    reload_under_load(&up.url(), path, move |new| edit(&p, new)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_write() {
    run_style(|path, new| std::fs::write(path, new).expect("write in place")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_temp_then_rename() {
    run_style(|path, new| {
        let tmp = path.with_file_name(".policy.json.swp");
        std::fs::write(&tmp, new).expect("write temp");
        std::fs::rename(&tmp, path).expect("rename over");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_then_recreate() {
    run_style(|path, new| {
        std::fs::remove_file(path).expect("delete");
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(path, new).expect("recreate");
    })
    .await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_symlink_swap() {
    use std::os::unix::fs::symlink;
    let up = Upstream::start().await;
    let url = up.url();
    let dir = TempDir::new("configmap");
    let d = dir.path().to_owned();
    policy::write_text(
        &d.join("..2026_a/policy.json"),
        &text(&with_victim(&url, false)),
    );
    symlink("..2026_a", d.join("..data")).expect("..data");
    symlink("..data/policy.json", d.join("policy.json")).expect("policy.json");
    reload_under_load(&url, d.join("policy.json"), |new| {
        policy::write_text(&d.join("..2026_b/policy.json"), new);
        symlink("..2026_b", d.join("..data_tmp")).expect("..data_tmp");
        std::fs::rename(d.join("..data_tmp"), d.join("..data")).expect("swap ..data");
        std::fs::remove_dir_all(d.join("..2026_a")).expect("remove old");
    })
    .await;
}

/// The periodic check reads nothing while every file keeps its size, modification time and
/// inode (from the first check after the start on), and reloads as soon as one of them changes (a policy file, or a secret file outside
/// the policy directory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_check_reads_only_what_changed() {
    use portcullis::reload::Outcome;
    let up = crate::support::Upstream::start().await;
    let gw = Harness::start(&crate::support::policy::standard(&up.url())).await;
    let path = gw.policy_path.clone();
    // Same size, same mtime, same inode, but not JSON: the check does not even read it, also
    // the first check after the start (it used to re-read and re-parse the whole policy)...
    let text = std::fs::read_to_string(&path).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let broken = "x".repeat(text.len());
    std::fs::write(&path, &broken).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(gw.reloader.check_async().await, Outcome::Unchanged);
    // ...which a full reload does, and refuses.
    assert!(matches!(
        gw.reloader.reload_async().await,
        Outcome::Rejected(_)
    ));
    // Restored (a new mtime): the check reads it and finds the running policy.
    std::fs::write(&path, &text).unwrap();
    assert_eq!(gw.reloader.check_async().await, Outcome::Unchanged);
    let generation = gw.generation();
    // A real edit is applied by the check.
    let mut p: Value = serde_json::from_str(&text).unwrap();
    p["keys"]["reader"]["disabled"] = serde_json::json!(true);
    std::fs::write(&path, p.to_string()).unwrap();
    assert!(matches!(
        gw.reloader.check_async().await,
        Outcome::Applied { .. }
    ));
    assert_eq!(gw.generation(), generation + 1);
    assert_eq!(gw.reloader.check_async().await, Outcome::Unchanged);
}
