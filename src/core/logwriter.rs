//! The request-log writer: one task that takes log rows from a queue and writes them to
//! SQLite in batches, so no request ever waits on the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::store::Store;
use crate::store::logs::LogRow;

/// Rows held in memory at most; beyond it rows are dropped and counted.
const QUEUE_CAPACITY: usize = 65_536;
/// Rows written per transaction at most.
const BATCH: usize = 1_000;
/// The writer's pause after each transaction: rows arriving meanwhile go into the next one,
/// so a busy gateway commits a few times a second instead of once per request or two.
const BATCH_INTERVAL: Duration = Duration::from_millis(200);
/// A batch that cannot be written (a full disk, a locked database) is tried this many times,
/// a second apart, before its rows are given up and counted as dropped.
const WRITE_ATTEMPTS: u32 = 5;

enum Message {
    Row(Box<LogRow>),
    Flush(oneshot::Sender<()>),
}

/// The sending side, held by the core; cheap to clone.
#[derive(Clone)]
pub struct LogQueue {
    tx: mpsc::Sender<Message>,
    depth: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    busy: Arc<AtomicU64>,
    /// Cuts the writer's pause short when someone waits for a flush.
    flushing: Arc<Notify>,
}

impl LogQueue {
    pub fn spawn(store: Store) -> LogQueue {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let depth = Arc::new(AtomicU64::new(0));
        let busy = Arc::new(AtomicU64::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let flushing = Arc::new(Notify::new());
        let counters = Counters { depth: depth.clone(), busy: busy.clone(), dropped: dropped.clone() };
        tokio::spawn(run(store, rx, counters, flushing.clone()));
        LogQueue { tx, depth, dropped, busy, flushing }
    }

    /// Queues a row without waiting; a full queue drops the row (counted in `dropped`).
    pub fn push(&self, row: LogRow) {
        if self.tx.try_send(Message::Row(Box::new(row))).is_ok() {
            self.depth.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until every row queued before this call is in SQLite.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            self.flushing.notify_one();
            let _ = wait.await;
        }
    }

    pub fn depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Batches that failed because SQLite was busy or locked.
    pub fn db_busy(&self) -> u64 {
        self.busy.load(Ordering::Relaxed)
    }
}

/// What the writer reports back to the queue's handle.
struct Counters {
    depth: Arc<AtomicU64>,
    busy: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
}

async fn run(store: Store, mut rx: mpsc::Receiver<Message>, counters: Counters, flushing: Arc<Notify>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut waiters = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Row(row) => batch.push(*row),
                Message::Flush(done) => waiters.push(done),
            }
            if batch.len() >= BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        let full = batch.len() >= BATCH;
        if !batch.is_empty() {
            write(&store, Arc::new(std::mem::take(&mut batch)), &counters).await;
        }
        for done in waiters.drain(..) {
            let _ = done.send(());
        }
        if !full {
            tokio::select! {
                _ = tokio::time::sleep(BATCH_INTERVAL) => {}
                _ = flushing.notified() => {}
            }
        }
    }
}

/// Writes one batch, trying again a few times when the database refuses it; rows given up
/// are counted as dropped.
async fn write(store: &Store, rows: Arc<Vec<LogRow>>, counters: &Counters) {
    let count = rows.len() as u64;
    for attempt in 1..=WRITE_ATTEMPTS {
        let batch = rows.clone();
        let result = store.insert_logs(batch).await;
        let Err(err) = result else {
            counters.depth.fetch_sub(count, Ordering::Relaxed);
            return;
        };
        let text = err.to_string();
        if text.contains("locked") || text.contains("busy") {
            counters.busy.fetch_add(1, Ordering::Relaxed);
        }
        if attempt == WRITE_ATTEMPTS {
            tracing::error!("writing {count} request-log rows failed {WRITE_ATTEMPTS} times ({err}); they are dropped");
        } else {
            tracing::warn!("writing {count} request-log rows failed ({err}); trying again in a second");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    counters.depth.fetch_sub(count, Ordering::Relaxed);
    counters.dropped.fetch_add(count, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::logs::LogFilter;

    fn row(ts: i64) -> LogRow {
        LogRow {
            ts,
            method: "POST".into(),
            path: "/v1/responses".into(),
            status: 200,
            attempts: 1,
            ..LogRow::default()
        }
    }

    #[tokio::test]
    async fn a_flush_does_not_wait_out_the_writers_pause() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("w.db")).unwrap();
        let queue = LogQueue::spawn(store.clone());
        queue.push(row(1));
        queue.flush().await;
        // The writer now pauses; a flush right away is answered without waiting it out.
        let started = Instant::now();
        for ts in 2..=500 {
            queue.push(row(ts));
        }
        queue.flush().await;
        assert!(started.elapsed() < BATCH_INTERVAL / 2, "the flush waited {:?}", started.elapsed());
        let count = store.log_count(LogFilter::default()).await.unwrap();
        assert_eq!(count, 500);
        assert_eq!(queue.depth(), 0);
    }
}
