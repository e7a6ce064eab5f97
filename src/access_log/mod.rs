//! The access log: one line per request, JSON by default (human text optional), written off the
//! request path.
//!
//! [`AccessLog`] is the process-wide log (its writer thread and destination); each worker takes
//! a [`Writer`] of its own from it, whose batch collects that worker's finished lines. `gateway`
//! builds each request's [`Line`] (the fields are its business) and commits it when the response
//! body ends. Nothing here knows the request; nothing here is ever given a secret to write: the
//! gateway writes credential ids, never credentials.

mod line;
mod text;
mod writer;

use std::io;
use std::sync::{Arc, Mutex, mpsc};

pub use line::{Format, Key, Line, key};
pub use text::rfc3339_ms;
pub use writer::{BATCH_BYTES, Destination};

use writer::{Batch, Command};

/// The process-wide access log.
#[derive(Debug)]
pub struct AccessLog {
    /// Line format.
    format: Format,
    /// Every worker's batch, collected by the writer thread.
    batches: Arc<Mutex<Vec<Arc<Batch>>>>,
    /// Commands to the writer thread.
    tx: Mutex<mpsc::Sender<Command>>,
}

impl AccessLog {
    /// Start writing `format` lines to `destination` (a file is opened now).
    pub fn start(format: Format, destination: Destination) -> io::Result<Arc<Self>> {
        let batches = Arc::default();
        let tx = writer::spawn(destination, Arc::clone(&batches))?;
        Ok(Arc::new(Self {
            format,
            batches,
            tx: Mutex::new(tx),
        }))
    }

    fn sender(&self) -> mpsc::Sender<Command> {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A writer for one worker, with a batch of its own.
    pub fn writer(&self) -> Writer {
        let batch = Arc::new(Mutex::new(Vec::with_capacity(BATCH_BYTES)));
        self.batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::clone(&batch));
        Writer {
            format: self.format,
            batch,
            tx: self.sender(),
        }
    }

    /// Write every line committed so far; returns once they are written.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.sender().send(Command::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// Flush, then reopen the file (logrotate moved it away). Blocking: call it from
    /// `spawn_blocking` inside a runtime.
    pub fn reopen(&self) -> io::Result<()> {
        let (done, wait) = mpsc::channel();
        self.sender()
            .send(Command::Reopen(done))
            .map_err(|_| io::Error::other("the access log writer stopped"))?;
        wait.recv()
            .unwrap_or_else(|_| Err(io::Error::other("the access log writer stopped")))
    }
}

/// One worker's handle on the access log.
#[derive(Debug)]
pub struct Writer {
    /// Line format.
    format: Format,
    /// This worker's lines not yet handed over.
    batch: Arc<Batch>,
    /// Where full batches go.
    tx: mpsc::Sender<Command>,
}

impl Writer {
    /// A new line in this log's format.
    pub fn line(&self) -> Line {
        Line::new(self.format)
    }

    /// Commit a finished line: appended to the batch, handed over when the batch is full.
    pub fn commit(&self, line: Line) {
        let bytes = line.finish();
        let mut batch = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        if batch.len() + bytes.len() > BATCH_BYTES && !batch.is_empty() {
            // Handed over before it would outgrow its allocation (a copy of everything in it).
            // Sent while the lock is held, so the writer sees it before this batch's next lines.
            let full = std::mem::replace(&mut *batch, Vec::with_capacity(BATCH_BYTES));
            let _ = self.tx.send(Command::Chunk(full));
        }
        batch.extend_from_slice(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared buffer a test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_committed_line_is_written_once_in_order_per_worker() {
        let out = Shared::default();
        let log = AccessLog::start(Format::Json, Destination::Writer(Box::new(out.clone())))
            .expect("start");
        let (a, b) = (log.writer(), log.writer());
        for i in 0..2000u64 {
            for (w, name) in [(&a, "a"), (&b, "b")] {
                let mut l = w.line();
                l.str(key!("worker"), name);
                l.num(key!("n"), i);
                w.commit(l);
            }
        }
        log.flush();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 4000);
        for name in ["a", "b"] {
            let ns: Vec<u64> = lines
                .iter()
                .filter(|v| v["worker"] == name)
                .map(|v| v["n"].as_u64().unwrap())
                .collect();
            assert_eq!(ns, (0..2000).collect::<Vec<_>>(), "{name}");
        }
    }

    #[test]
    fn reopen_writes_to_the_new_file_after_a_rename() {
        let dir = std::env::temp_dir().join(format!("portcullis-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("access.log");
        let log = AccessLog::start(Format::Text, Destination::File(path.clone())).unwrap();
        let w = log.writer();
        let mut l = w.line();
        l.str(key!("n"), "one");
        w.commit(l);
        log.flush();
        std::fs::rename(&path, dir.join("access.log.1")).unwrap();
        log.reopen().expect("reopen");
        let mut l = w.line();
        l.str(key!("n"), "two");
        w.commit(l);
        log.flush();
        assert_eq!(
            std::fs::read_to_string(dir.join("access.log.1")).unwrap(),
            "n=\"one\"\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "n=\"two\"\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
