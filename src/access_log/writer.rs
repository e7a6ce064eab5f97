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
/// lock, so the chunks waiting in the channel are written first (keeping each worker's lines in
/// order); other commands met on the way wait in `pending`.
fn collect(
    sink: &mut Sink,
    rx: &mpsc::Receiver<Command>,
    batches: &Mutex<Vec<Arc<Batch>>>,
    pending: &mut Vec<Command>,
) -> io::Result<()> {
    let batches: Vec<Arc<Batch>> = batches.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for b in batches {
        let mut held = b.lock().unwrap_or_else(|p| p.into_inner());
        while let Ok(c) = rx.try_recv() {
            match c {
                Command::Chunk(bytes) => sink.write(&bytes)?,
                other => pending.insert(0, other),
            }
        }
        // The worker keeps a batch of full size: one that grows again from nothing reallocates
        // (and copies) its way up to it.
        let bytes = std::mem::replace(&mut *held, Vec::with_capacity(BATCH_BYTES));
        drop(held);
        sink.write(&bytes)?;
    }
    Ok(())
}
