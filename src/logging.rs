//! The diagnostic log of `serve`: a `tracing` subscriber (text or JSON, filtered by the settings'
//! level or `RUST_LOG`) writing to stderr through a thread of its own.

use std::io::IsTerminal;

use portcullis::settings::{LogFormat, Settings};

/// Diagnostic log lines queued for the writer thread before a logging thread waits.
const LOG_LINES_BUFFERED: usize = 1024;

/// Log lines are written by a dedicated thread, so a request never waits on a write to stderr.
/// The writer blocks (never drops lines) if that thread falls behind; the guard flushes on exit.
pub fn init(settings: &Settings) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log.level));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        // The default, 128,000 lines, is a channel of 4 MiB written in full at start (a quarter
        // of the gateway's resident memory with a small policy). Diagnostic lines are rare; the
        // access log has its own writer.
        .buffered_lines_limit(LOG_LINES_BUFFERED)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .with_writer(writer);
    match settings.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    guard
}
