//! Write-behind queues for what the gateway learns on the request path: usage from response
//! headers and when each platform key was last used. Memory is updated at once; the store is
//! written by one task every second, latest value per account or key.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::Core;
use crate::store::usage::UsageSnapshot;
use crate::store::{self, Store};
use crate::usage::availability::Availability;

enum Message<T> {
    Item(String, T),
    Flush(oneshot::Sender<()>),
}

/// A latest-value-wins queue drained into the store by one background task.
pub struct Queue<T> {
    tx: mpsc::UnboundedSender<Message<T>>,
}

/// How a queue writes one batch.
type Write<T> = fn(Store, Vec<(String, T)>) -> BoxFuture<'static, Result<(), store::StoreError>>;

impl<T: Send + 'static> Queue<T> {
    fn start(store: Store, write: Write<T>) -> Queue<T> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Message<T>>();
        tokio::spawn(async move {
            let mut pending: HashMap<String, T> = HashMap::new();
            let mut waiters = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    message = rx.recv() => match message {
                        Some(Message::Item(key, value)) => { pending.insert(key, value); continue; }
                        Some(Message::Flush(done)) => waiters.push(done),
                        None => break,
                    },
                    _ = tick.tick() => {}
                }
                if !pending.is_empty() {
                    let batch: Vec<(String, T)> = pending.drain().collect();
                    if let Err(err) = write(store.clone(), batch).await {
                        tracing::warn!("write-behind update failed: {err}");
                    }
                }
                for done in waiters.drain(..) {
                    let _ = done.send(());
                }
            }
        });
        Queue { tx }
    }

    fn push(&self, key: String, value: T) {
        let _ = self.tx.send(Message::Item(key, value));
    }

    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

pub type UsageQueue = Queue<UsageSnapshot>;
pub type KeyUseQueue = Queue<i64>;

impl UsageQueue {
    pub fn spawn(store: Store) -> UsageQueue {
        Queue::start(store, |store, batch| {
            let snapshots: Vec<UsageSnapshot> = batch.into_iter().map(|(_, s)| s).collect();
            Box::pin(async move { store.put_usage(snapshots).await })
        })
    }
}

impl KeyUseQueue {
    pub fn spawn(store: Store) -> KeyUseQueue {
        Queue::start(store, |store, batch| Box::pin(async move { store.touch_keys(batch).await }))
    }
}

impl Core {
    /// Records an account's usage as just observed: routing sees it at once; the store within
    /// a second.
    pub fn record_usage(&self, snapshot: UsageSnapshot) {
        if let Some(account) = self.pool().by_id.get(&snapshot.account_id) {
            account.set_usage(std::sync::Arc::new(snapshot.clone()));
        }
        self.inner.usage_queue.push(snapshot.account_id.clone(), snapshot);
        self.inner.usage_dirty.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Copies the pool's live usage into the snapshot the front doors read, when it changed
    /// since the last call (the change watcher calls this once a second).
    pub fn publish_live_usage(&self) {
        if !self.inner.usage_dirty.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let snapshot = self.snapshot();
        let pool = self.pool();
        let now = store::now_secs();
        let accounts = snapshot
            .accounts
            .iter()
            .map(|view| {
                let mut view = view.clone();
                if let Some(usage) = pool.by_id.get(&view.account.id).and_then(|a| a.usage()) {
                    view.availability =
                        Availability::of(view.account.status, view.account.status_reason.as_deref(), Some(&usage), now);
                    view.usage = Some(usage);
                }
                view
            })
            .collect();
        self.inner.snapshot.store(std::sync::Arc::new(super::Snapshot { accounts, keys: snapshot.keys.clone() }));
        self.inner.changed.send_modify(|version| *version += 1);
    }

    /// Notes that a platform key was used now (persisted off the request path).
    pub fn note_key_used(&self, key_id: &str) {
        self.inner.key_uses.push(key_id.to_string(), store::now_secs());
    }
}
