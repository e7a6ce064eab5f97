//! The writer: one thread that owns the destination (stdout, stderr, a file, or any writer a
//! test hands in) and writes the lines the workers batch.
//!
//! Workers append finished lines to a batch of their own (`Batch`: a buffer behind a mutex only
//! its worker and this thread touch); a batch that would pass `BATCH_BYTES` is handed over
//! whole, and every `FLUSH_EVERY` this thread collects what the batches hold. A request never
//! waits on a write, and nothing is dropped. A file destination is reopened on request (SIGUSR1
//! and the admin `POST /logs/reopen`, for logrotate).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A batch past this size is handed to the writer at once.
pub const BATCH_BYTES: usize = 32 * 1024;

/// How often the writer collects the batches.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Where lines go.
pub enum Destination {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// A file, appended to, reopened on request.
    File(PathBuf),
    /// Any writer (tests).
    Writer(Box<dyn Write + Send>),
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stdout => f.write_str("Stdout"),
            Self::Stderr => f.write_str("Stderr"),
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Writer(_) => f.write_str("Writer"),
        }
    }
}

/// The lines one worker has not handed over yet.
pub type Batch = Mutex<Vec<u8>>;

/// What the writer is asked to do.
pub enum Command {
    /// Write a full batch.
    Chunk(Vec<u8>),
    /// Write what every batch holds, then answer.
    Flush(mpsc::Sender<()>),
    /// Flush, reopen the file, then answer.
    Reopen(mpsc::Sender<io::Result<()>>),
}

/// The open destination.
struct Sink {
    destination: Destination,
    file: Option<io::BufWriter<File>>,
}

fn open(path: &PathBuf) -> io::Result<io::BufWriter<File>> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    // Half a batch: a full batch is longer, so it goes to the file without a copy in the buffer.
    Ok(io::BufWriter::with_capacity(BATCH_BYTES / 2, f))
}

impl Sink {
    fn new(destination: Destination) -> io::Result<Self> {
        let file = match &destination {
            Destination::File(p) => Some(open(p)?),
            _ => None,
        };
        Ok(Self { destination, file })
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match (&mut self.destination, &mut self.file) {
            (_, Some(f)) => f.write_all(bytes),
            (Destination::Stdout, None) => io::stdout().lock().write_all(bytes),
            (Destination::Stderr, None) => io::stderr().lock().write_all(bytes),
            (Destination::Writer(w), None) => w.write_all(bytes),
            (Destination::File(_), None) => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match (&mut self.destination, &mut self.file) {
            (_, Some(f)) => f.flush(),
            (Destination::Writer(w), None) => w.flush(),
            _ => Ok(()),
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.flush()?;
        if let Destination::File(p) = &self.destination {
            self.file = Some(open(p)?);
        }
        Ok(())
    }
}

/// Start the writer thread on `destination`; it runs until every sender is dropped. The file
/// is opened here, so an unwritable path fails the start.
pub fn spawn(
    destination: Destination,
    batches: Arc<Mutex<Vec<Arc<Batch>>>>,
) -> io::Result<mpsc::Sender<Command>> {
    let mut sink = Sink::new(destination)?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("portcullis-access-log".into())
        .spawn(move || run(&mut sink, &rx, &batches))?;
    Ok(tx)
}

fn run(sink: &mut Sink, rx: &mpsc::Receiver<Command>, batches: &Mutex<Vec<Arc<Batch>>>) {
    let report = |e: io::Error| tracing::error!(error = %e, "cannot write the access log");
    let mut pending = Vec::new();
    loop {
        let command = match pending.pop() {
            Some(c) => Ok(c),
            None => rx.recv_timeout(FLUSH_EVERY),
        };
        if let Ok(Command::Chunk(bytes)) = &command {
            sink.write(bytes).unwrap_or_else(report);
            continue;
        }
        collect(sink, rx, batches, &mut pending).unwrap_or_else(report);
        sink.flush().unwrap_or_else(report);
        match command {
            Ok(Command::Flush(done)) => drop(done.send(())),
            Ok(Command::Reopen(done)) => drop(done.send(sink.reopen())),
            Ok(Command::Chunk(_)) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Write what every batch holds. A worker hands a full batch over while it holds the batch's
/// lock, so under that lock the chunks waiting in the channel are all this worker's earlier
/// lines: they are taken with the batch, and written, in that order, once the lock is released.
/// A worker never waits for a write (a slow disk included). Other commands met on the way wait
/// in `pending`. Every taken chunk is tried; the first error is returned.
fn collect(
    sink: &mut Sink,
    rx: &mpsc::Receiver<Command>,
    batches: &Mutex<Vec<Arc<Batch>>>,
    pending: &mut Vec<Command>,
) -> io::Result<()> {
    let batches: Vec<Arc<Batch>> = batches.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut result = Ok(());
    for b in batches {
        let mut taken = Vec::new();
        // The worker keeps a batch of full size: one that grows again from nothing reallocates
        // (and copies) its way up to it. Allocated before the lock is taken.
        let fresh = Vec::with_capacity(BATCH_BYTES);
        {
            let mut held = b.lock().unwrap_or_else(|p| p.into_inner());
            while let Ok(c) = rx.try_recv() {
                match c {
                    Command::Chunk(bytes) => taken.push(bytes),
                    other => pending.insert(0, other),
                }
            }
            taken.push(std::mem::replace(&mut *held, fresh));
        }
        for bytes in &taken {
            result = result.and(sink.write(bytes));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Condvar;

    /// A destination whose every write says it started, then waits for the test's permit.
    struct Gated {
        started: mpsc::Sender<()>,
        permit: Arc<(Mutex<bool>, Condvar)>,
        out: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gated {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let _ = self.started.send(());
            let (open, opened) = &*self.permit;
            let mut open = open.lock().unwrap();
            while !*open {
                open = opened.wait(open).unwrap();
            }
            self.out.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn collecting_writes_without_holding_a_workers_batch() {
        let (started_tx, started) = mpsc::channel();
        let permit = Arc::new((Mutex::new(false), Condvar::new()));
        let out = Arc::default();
        let gated = Gated {
            started: started_tx,
            permit: Arc::clone(&permit),
            out: Arc::clone(&out),
        };
        let mut sink = Sink::new(Destination::Writer(Box::new(gated))).unwrap();
        // A worker handed a full batch over, and has a line in its next one.
        let batch: Arc<Batch> = Arc::new(Mutex::new(b"tail\n".to_vec()));
        let batches = Mutex::new(vec![Arc::clone(&batch)]);
        let (tx, rx) = mpsc::channel();
        tx.send(Command::Chunk(b"chunk\n".to_vec())).unwrap();
        let free_while_writing = std::thread::scope(|s| {
            let collecting = s.spawn(move || collect(&mut sink, &rx, &batches, &mut Vec::new()));
            started
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect("collect writes the chunk");
            // The write is in progress: the worker must still be able to append its lines.
            let free = batch.try_lock().is_ok();
            *permit.0.lock().unwrap() = true;
            permit.1.notify_all();
            collecting.join().unwrap().expect("collected");
            free
        });
        assert!(
            free_while_writing,
            "the writer held a batch's lock during a write"
        );
        assert_eq!(out.lock().unwrap().as_slice(), b"chunk\ntail\n");
        assert!(batch.lock().unwrap().is_empty());
    }
}
