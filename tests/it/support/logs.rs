//! Log capture: one global tracing subscriber for the whole test binary, writing every event
//! (portcullis at TRACE, everything else at INFO) into a buffer tests can scan.
//!
//! Tests run in parallel in one process, so the buffer holds every test's lines; a test that
//! scans it looks for its own distinctive secrets and request ids.

use std::io::Write;
use std::sync::{Mutex, Once, OnceLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

static BUFFER: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

fn buffer() -> &'static Mutex<Vec<u8>> {
    BUFFER.get_or_init(Mutex::default)
}

/// Install the capturing subscriber (once; later calls do nothing).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("info,portcullis=trace"))
            .with_writer(Capture)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("install log capture");
    });
}

/// Everything logged so far.
pub fn text() -> String {
    String::from_utf8_lossy(&buffer().lock().unwrap()).into_owned()
}

/// Writes into the global buffer.
#[derive(Clone, Copy)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        buffer().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        Capture
    }
}

/// A writer for a harness's access log: appends to `own` and to the global buffer, so the
/// secret scans of `assert_absent` and `text` see access lines too.
pub struct Tee(pub std::sync::Arc<Mutex<Vec<u8>>>);

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        buffer().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Wait (up to 10 s) until the captured text satisfies `done`; returns it. Access lines are
/// committed when a response body ends and written by a thread of their own, so they may follow
/// the response by a moment.
pub async fn wait_for(done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let t = text();
        if done(&t) || std::time::Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Panic, naming `what`, if any captured line holds `secret`.
pub fn assert_absent(secret: &str, what: &str) {
    assert!(!secret.is_empty(), "empty secret for {what}");
    let logs = text();
    if let Some(line) = logs.lines().find(|l| l.contains(secret)) {
        panic!("{what} reached the logs: {line}");
    }
}
