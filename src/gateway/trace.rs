//! `gateway-trace.log` beside the database: one line per routing decision
//! (`CANDIDATE_POOL`, `CANDIDATE_SKIP`, `CANDIDATE_START`, `CANDIDATE_FAIL`, `REQUEST_FINAL`),
//! written by one background thread, in batches, so requests never wait on the disk.

use std::io::Write;
use std::path::PathBuf;

use tokio::sync::mpsc;

/// Lines waiting for the writer at most; beyond that lines are dropped.
const CAPACITY: usize = 16_384;
/// The writer's pause after each write.
const BATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

#[derive(Clone)]
pub struct Trace {
    tx: mpsc::Sender<String>,
}

impl Trace {
    pub fn spawn(path: PathBuf) -> Trace {
        let (tx, mut rx) = mpsc::channel::<String>(CAPACITY);
        tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
            let mut file = match file {
                Ok(file) => std::io::BufWriter::new(file),
                Err(err) => {
                    tracing::warn!("cannot open {}: {err}; routing decisions are not traced", path.display());
                    while rx.blocking_recv().is_some() {}
                    return;
                }
            };
            while let Some(line) = rx.blocking_recv() {
                let _ = file.write_all(line.as_bytes());
                while let Ok(more) = rx.try_recv() {
                    let _ = file.write_all(more.as_bytes());
                }
                let _ = file.flush();
                // Lines queue up meanwhile and are written together: a busy gateway does not
                // wake this thread (a system call) for every line.
                std::thread::sleep(BATCH_INTERVAL);
            }
        });
        Trace { tx }
    }

    /// Queues `EVENT request=ID fields...` with a timestamp.
    pub fn line(&self, event: &str, request: u64, fields: std::fmt::Arguments<'_>) {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let _ = self.tx.try_send(format!("{now} {event} request={request} {fields}\n"));
    }
}
