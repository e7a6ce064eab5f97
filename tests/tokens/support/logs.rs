//! Log capture: one global tracing subscriber for the whole binary (portcullis at TRACE) writing
//! into a buffer, so tests can prove that no secret reaches a log line.
//!
//! Tests run in parallel in one process, so the buffer holds every test's lines; a test looks for
//! its own secrets (and the fixed signing secrets, which no line may ever hold).

use std::io::Write;
use std::sync::{Mutex, Once};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

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
    String::from_utf8_lossy(&BUFFER.lock().unwrap()).into_owned()
}

/// Panic, naming `what`, if any captured line holds `secret`.
pub fn assert_absent(secret: &str, what: &str) {
    assert!(!secret.is_empty(), "empty secret for {what}");
    let logs = text();
    if let Some(line) = logs.lines().find(|l| l.contains(secret)) {
        panic!("{what} reached the logs: {line}");
    }
}

#[derive(Clone, Copy)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BUFFER.lock().unwrap().extend_from_slice(buf);
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
