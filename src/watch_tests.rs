//! Tests of `watch`.
use super::*;
use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};

const DEBOUNCE: Duration = Duration::from_millis(100);
const POLL: Duration = Duration::from_millis(50);
const WITHIN: Duration = Duration::from_secs(2);

/// A unique temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("portcullis-watch-{tag}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

async fn signalled(rx: &mut mpsc::Receiver<()>, within: Duration) -> bool {
    matches!(tokio::time::timeout(within, rx.recv()).await, Ok(Some(())))
}

/// Nothing pending now, nor arriving within a while.
async fn quiet(rx: &mut mpsc::Receiver<()>) -> bool {
    !signalled(rx, DEBOUNCE * 6).await
}

/// Drains signals until quiet; how many there were.
async fn drain(rx: &mut mpsc::Receiver<()>) -> usize {
    let mut count = 0;
    while signalled(rx, DEBOUNCE * 6).await {
        count += 1;
    }
    count
}

fn policy_dir(tag: &str) -> (TempDir, PathBuf) {
    let tmp = TempDir::new(tag);
    let file = tmp.0.join("policy.json");
    fs::write(&file, "{}").unwrap();
    (tmp, file)
}

/// Starts watching, giving a polling watcher time for its first scan.
async fn watch(target: &Path, backend: Backend) -> mpsc::Receiver<()> {
    let rx = spawn_with(target, DEBOUNCE, POLL, backend).unwrap();
    if backend == Backend::Poll {
        tokio::time::sleep(POLL * 3).await;
    }
    rx
}

async fn in_place_write(backend: Backend) {
    let (_tmp, file) = policy_dir("inplace");
    let mut rx = watch(&file, backend).await;
    fs::write(&file, r#"{"version": 2}"#).unwrap();
    assert!(signalled(&mut rx, WITHIN).await);
}

async fn temp_then_rename(backend: Backend) {
    let (tmp, file) = policy_dir("rename");
    let mut rx = watch(&file, backend).await;
    let temp = tmp.0.join(".policy.json.swp");
    fs::write(&temp, r#"{"version": 2}"#).unwrap();
    fs::rename(&temp, &file).unwrap();
    assert!(signalled(&mut rx, WITHIN).await);
}

async fn delete_then_recreate(backend: Backend) {
    let (_tmp, file) = policy_dir("recreate");
    let mut rx = watch(&file, backend).await;
    fs::remove_file(&file).unwrap();
    tokio::time::sleep(DEBOUNCE * 2).await;
    fs::write(&file, r#"{"version": 2}"#).unwrap();
    assert!(signalled(&mut rx, WITHIN).await);
    // The deletion and the re-creation may be two signals; either way the
    // last one comes after the file is back.
    drain(&mut rx).await;
    assert!(file.exists());
}

#[cfg(unix)]
async fn configmap_symlink_swap(backend: Backend) {
    use std::os::unix::fs::symlink;
    let tmp = TempDir::new("configmap");
    let d = &tmp.0;
    fs::create_dir(d.join("..2026_01")).unwrap();
    fs::write(d.join("..2026_01/policy.json"), "{}").unwrap();
    symlink("..2026_01", d.join("..data")).unwrap();
    symlink("..data/policy.json", d.join("policy.json")).unwrap();
    let file = d.join("policy.json");
    let mut rx = watch(&file, backend).await;

    fs::create_dir(d.join("..2026_02")).unwrap();
    fs::write(d.join("..2026_02/policy.json"), r#"{"version": 2}"#).unwrap();
    symlink("..2026_02", d.join("..data_tmp")).unwrap();
    fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
    fs::remove_dir_all(d.join("..2026_01")).unwrap();

    assert!(signalled(&mut rx, WITHIN).await);
    assert_eq!(fs::read_to_string(&file).unwrap(), r#"{"version": 2}"#);
}

async fn burst_of_writes(backend: Backend) {
    let (_tmp, file) = policy_dir("burst");
    let mut rx = watch(&file, backend).await;
    for i in 0..20 {
        fs::write(&file, format!(r#"{{"version": {i}}}"#)).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let count = drain(&mut rx).await;
    assert!((1..=3).contains(&count), "{count} signals for 20 writes");
}

async fn reads_and_unrelated_files(backend: Backend) {
    let (tmp, file) = policy_dir("quiet");
    let mut rx = watch(&file, backend).await;
    let _ = fs::read_to_string(&file).unwrap();
    fs::write(tmp.0.join("other.json"), "{}").unwrap();
    fs::write(tmp.0.join("notes.txt"), "x").unwrap();
    assert!(quiet(&mut rx).await);
}

async fn directory_target(backend: Backend) {
    let tmp = TempDir::new("dir");
    let mut rx = watch(&tmp.0, backend).await;
    fs::write(tmp.0.join("notes.txt"), "x").unwrap();
    assert!(quiet(&mut rx).await);
    fs::write(tmp.0.join("extra.json"), "{}").unwrap();
    assert!(signalled(&mut rx, WITHIN).await);
}

/// One `#[tokio::test]` per backend for each scenario.
macro_rules! both_backends {
        ($($(#[$attr:meta])* $case:ident),* $(,)?) => {
            mod native {
                use super::*;
                $($(#[$attr])* #[tokio::test] async fn $case() { super::$case(Backend::Native).await })*
            }
            mod poll {
                use super::*;
                $($(#[$attr])* #[tokio::test] async fn $case() { super::$case(Backend::Poll).await })*
            }
        };
    }

both_backends!(
    in_place_write,
    temp_then_rename,
    delete_then_recreate,
    #[cfg(unix)]
    configmap_symlink_swap,
    burst_of_writes,
    reads_and_unrelated_files,
    directory_target,
);

#[tokio::test]
async fn dropping_receiver_stops_the_task() {
    let (_tmp, file) = policy_dir("drop");
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let rx = spawn(&file, DEBOUNCE, POLL).unwrap();
    assert_eq!(metrics.num_alive_tasks(), before + 1);
    drop(rx);
    tokio::time::sleep(DEBOUNCE).await;
    assert_eq!(metrics.num_alive_tasks(), before);
}

#[tokio::test]
async fn missing_directory_is_an_error() {
    let path = std::env::temp_dir().join("portcullis-watch-no-such-dir/policy.json");
    let err = spawn(&path, DEBOUNCE, POLL).unwrap_err();
    assert!(matches!(err, WatchError::MissingDir { .. }), "{err}");
}

#[test]
fn outside_runtime_is_an_error() {
    let err = spawn(Path::new("."), DEBOUNCE, POLL).unwrap_err();
    assert!(matches!(err, WatchError::NoRuntime));
}

/// Real time (tokio's `test-util` clock pausing is not enabled in this
/// crate), so the bounds leave slack for a loaded machine.
#[tokio::test]
async fn settle_caps_total_delay() {
    let (tx, mut rx) = mpsc::channel(RAW_CAPACITY);
    let start = Instant::now();
    let feeder = tokio::spawn(async move {
        loop {
            tokio::time::sleep(DEBOUNCE / 4).await;
            if tx.send(()).await.is_err() {
                break;
            }
        }
    });
    assert!(settle(&mut rx, DEBOUNCE).await);
    let took = start.elapsed();
    assert!(took >= DEBOUNCE * 4 && took < DEBOUNCE * 6, "{took:?}");
    feeder.abort();
}

#[tokio::test]
async fn settle_waits_for_quiet() {
    let (tx, mut rx) = mpsc::channel(RAW_CAPACITY);
    let start = Instant::now();
    let feeder = tokio::spawn(async move {
        tokio::time::sleep(DEBOUNCE / 2).await;
        let _ = tx.send(()).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    assert!(settle(&mut rx, DEBOUNCE).await);
    let took = start.elapsed();
    assert!(took >= DEBOUNCE * 3 / 2 && took < DEBOUNCE * 3, "{took:?}");
    feeder.abort();
}
