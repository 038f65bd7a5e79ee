//! Several instances on one PostgreSQL database behaving as one: the changes other instances
//! commit arrive as notifications and are applied to memory (cooldowns and usage directly,
//! accounts and keys by a reload, settings by resolving the configuration again), the quota
//! counters follow the shared request totals, and the in-flight cap is split between the
//! instances connected now. The request path reads only the memory this keeps current.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Core, models};
use crate::store::{Change, now_millis};

/// Quota counters are read again at most this often, however many totals other instances write.
const QUOTA_REFRESH: Duration = Duration::from_secs(1);
/// How far back the quota counters look (the longest window, a month, and a day to spare).
const QUOTA_HISTORY_MS: i64 = 31 * 86_400_000;

impl Core {
    /// Applies one change another instance committed.
    pub(super) async fn apply_change(&self, change: Change, stats_due: &Arc<std::sync::atomic::AtomicBool>) {
        match change {
            Change::Accounts | Change::Keys => self.reload_soon(),
            Change::Cooldown { account_id, until_secs: Some(until), reason } => {
                if let Some(account) = self.pool().by_id.get(&account_id) {
                    account.cool_down_until(until * 1000, reason.as_deref().unwrap_or("cooling down"));
                }
            }
            Change::Cooldown { .. } => {}
            Change::Usage(ids) => match self.store().usage_of(ids).await {
                Ok(snapshots) => {
                    let pool = self.pool();
                    for snapshot in snapshots {
                        if let Some(account) = pool.by_id.get(&snapshot.account_id) {
                            account.set_usage(std::sync::Arc::new(snapshot));
                        }
                    }
                    self.inner.usage_dirty.store(true, Ordering::Release);
                }
                Err(err) => tracing::warn!("reading usage another instance saved failed: {err}"),
            },
            Change::Settings => self.follow_settings().await,
            Change::Models => self.follow_models().await,
            Change::Stats => self.refresh_quotas_soon(stats_due),
            Change::Resync => {
                self.reload_soon();
                self.follow_settings().await;
                self.follow_models().await;
                self.refresh_quotas_soon(stats_due);
            }
        }
    }

    async fn follow_settings(&self) {
        match self.store().settings().await {
            Ok(stored) => self.apply_stored_settings(stored),
            Err(err) => tracing::warn!("reading settings another instance saved failed: {err}"),
        }
    }

    async fn follow_models(&self) {
        match models::load(self.store()).await {
            Ok(list) => self.inner.models.store(Arc::new(list)),
            Err(err) => tracing::warn!("reading the model list another instance saved failed: {err}"),
        }
    }

    /// Reads the shared request totals into the quota counters, at most once a second.
    fn refresh_quotas_soon(&self, due: &Arc<std::sync::atomic::AtomicBool>) {
        if due.swap(true, Ordering::AcqRel) {
            return;
        }
        let (core, due) = (self.clone(), due.clone());
        tokio::spawn(async move {
            tokio::time::sleep(QUOTA_REFRESH).await;
            due.store(false, Ordering::Release);
            match core.store().slot_use_since(now_millis() - QUOTA_HISTORY_MS, None).await {
                Ok(uses) => core.quotas().restore(uses),
                Err(err) => tracing::warn!("reading the shared request totals failed: {err}"),
            }
        });
    }

    /// Whether other instances may share this pool (the store is PostgreSQL).
    pub fn shares_store(&self) -> bool {
        self.store().sqlite_path().is_none()
    }

    /// The per-account in-flight cap this instance applies: the configured cap split between
    /// the instances connected to the database now (rounded up), so together they stay near
    /// it. One instance (SQLite) applies it whole.
    pub fn account_max_inflight(&self) -> u32 {
        let cap = self.config().account_max_inflight;
        if cap == 0 || cap == u32::MAX {
            return cap;
        }
        cap.div_ceil(self.store().instances()).max(1)
    }
}
