//! `gateway-trace.log` beside the database: one line per routing decision
//! (`CANDIDATE_POOL`, `CANDIDATE_SKIP`, `CANDIDATE_START`, `CANDIDATE_FAIL`, `REQUEST_FINAL`),
//! each ending with the request's id, written by one background thread, in batches, so
//! requests never wait on the disk; rotated at 64 MiB (one old file kept).

use std::io::Write;
use std::path::PathBuf;

use tokio::sync::mpsc;

/// Lines waiting for the writer at most; beyond that lines are dropped.
const CAPACITY: usize = 16_384;
/// The writer's pause after each write.
const BATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

enum Message {
    Line(String),
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Trace {
    tx: mpsc::Sender<Message>,
}

impl Trace {
    pub fn spawn(path: PathBuf) -> Trace {
        let (tx, mut rx) = mpsc::channel::<Message>(CAPACITY);
        tokio::task::spawn_blocking(move || {
            let mut file = match TraceFile::open(path) {
                Ok(file) => Some(file),
                Err((path, err)) => {
                    tracing::warn!("cannot open {}: {err}; routing decisions are not traced", path.display());
                    None
                }
            };
            while let Some(first) = rx.blocking_recv() {
                let mut waiting = Vec::new();
                let mut next = Some(first);
                while let Some(message) = next.take() {
                    match message {
                        Message::Line(line) => {
                            if let Some(file) = &mut file {
                                file.write(&line);
                            }
                        }
                        Message::Flush(done) => waiting.push(done),
                    }
                    next = rx.try_recv().ok();
                }
                if let Some(file) = &mut file {
                    file.flush();
                }
                let flushed = !waiting.is_empty();
                for done in waiting {
                    let _ = done.send(());
                }
                // Lines queue up meanwhile and are written together: a busy gateway does not
                // wake this thread (a system call) for every line.
                if !flushed {
                    std::thread::sleep(BATCH_INTERVAL);
                }
            }
        });
        Trace { tx }
    }

    /// Queues `EVENT request=N fields... rid=REQUEST-ID` with a timestamp.
    pub fn line(&self, event: &str, request: u64, rid: &str, fields: std::fmt::Arguments<'_>) {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let _ = self.tx.try_send(Message::Line(format!("{now} {event} request={request} {fields} rid={rid}\n")));
    }

    /// Waits until every line queued before this call is on disk.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// The trace file, rotated when it passes [`MAX_BYTES`]: the full file becomes
/// `gateway-trace.log.1` (replacing the one before), so the trace never takes more than twice
/// that on disk.
struct TraceFile {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    size: u64,
}

/// The size at which the trace file is rotated.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

impl TraceFile {
    fn open(path: PathBuf) -> Result<TraceFile, (PathBuf, std::io::Error)> {
        match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => {
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                Ok(TraceFile { path, file: std::io::BufWriter::new(file), size })
            }
            Err(err) => Err((path, err)),
        }
    }

    fn write(&mut self, line: &str) {
        if self.size + line.len() as u64 > MAX_BYTES {
            self.rotate();
        }
        if self.file.write_all(line.as_bytes()).is_ok() {
            self.size += line.len() as u64;
        }
    }

    fn flush(&mut self) {
        let _ = self.file.flush();
    }

    fn rotate(&mut self) {
        self.flush();
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        if let Err(err) = std::fs::rename(&self.path, &old) {
            tracing::warn!("cannot rotate {}: {err}", self.path.display());
        }
        match TraceFile::open(self.path.clone()) {
            Ok(fresh) => *self = fresh,
            Err((path, err)) => tracing::warn!("cannot reopen {} after rotating it: {err}", path.display()),
        }
    }
}
