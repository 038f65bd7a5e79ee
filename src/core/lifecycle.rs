//! The background work of a long-running process (`serve`, the window), started once by
//! [`Core::spawn_background`] and stopped by `shutdown`; on a shared (PostgreSQL) database it
//! runs only on the instance that holds the leader lock, and another takes over when it dies:
//!
//! - the token keeper refreshes each active account's access token a few minutes before it
//!   expires (through `refresh_account`, so it shares the gateway's single flight), backs off
//!   after transient failures, leaves accounts a permanent failure made unavailable alone, and
//!   ticks the keepalive every `CODEXMANAGER_GATEWAY_KEEPALIVE_INTERVAL_SECS`;
//! - the usage poller fetches every active account's usage on the poll interval, and at once
//!   for an account that appears without any usage (just imported or signed in).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Core, RefreshError};
use crate::auth::claims::decode_payload;
use crate::auth::tokens::Tokens;
use crate::store::accounts::AccountStatus;
use crate::store::now_secs;
use crate::usage::poller::{self, BACKGROUND_JITTER};

/// Refresh this long before the access token expires.
const REFRESH_MARGIN_SECS: i64 = 5 * 60;
/// Without an expiry in the token, refresh this long after the last refresh (as Codex does).
const REFRESH_WITHOUT_EXPIRY_SECS: i64 = 8 * 24 * 60 * 60;
/// Token refreshes the keeper runs at once.
const REFRESH_CONCURRENCY: usize = 4;
/// Retry delays after transient refresh failures: this, doubling, up to `BACKOFF_MAX_SECS`.
const BACKOFF_FIRST_SECS: i64 = 30;
const BACKOFF_MAX_SECS: i64 = 30 * 60;

/// The background tasks and what they share with the rest of the core.
pub(super) struct Background {
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    keepalive: watch::Sender<u64>,
    reload_pending: AtomicBool,
}

impl Default for Background {
    fn default() -> Self {
        Background {
            tasks: std::sync::Mutex::default(),
            keepalive: watch::Sender::new(0),
            reload_pending: AtomicBool::new(false),
        }
    }
}

impl Core {
    /// Starts the token keeper and (unless `CODEXMANAGER_DISABLE_POLLING`) the usage poller.
    /// Calling it again does nothing.
    pub fn spawn_background(&self) {
        let mut tasks = self.inner.background.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if !tasks.is_empty() {
            return;
        }
        tasks.push(tokio::spawn(lead_when_leader(self.clone())));
    }

    /// The work only one instance of a shared database may do.
    fn leader_jobs(&self) -> Jobs {
        let mut jobs = vec![tokio::spawn(keep_tokens(self.clone())), tokio::spawn(prune_logs(self.clone()))];
        if poller::schedule(&self.config()).is_some() {
            jobs.push(tokio::spawn(poll_usage(self.clone())));
        } else {
            tracing::info!("usage polling is off (CODEXMANAGER_DISABLE_POLLING is set)");
        }
        Jobs(jobs)
    }

    /// `CODEXMANAGER_GATEWAY_KEEPALIVE_INTERVAL_SECS` (at least 30 s).
    pub fn keepalive_interval(&self) -> Duration {
        Duration::from_secs(self.config().gateway_keepalive_interval_secs.max(30))
    }

    /// Changes once per keepalive interval while the background runs: the hook for other
    /// periodic upkeep (the gateway's model cache).
    pub fn subscribe_keepalive(&self) -> watch::Receiver<u64> {
        self.inner.background.keepalive.subscribe()
    }

    pub(super) fn stop_background(&self) {
        for task in self.inner.background.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            task.abort();
        }
    }

    /// Reloads shortly, off the caller's path; requests made meanwhile share one reload.
    pub(super) fn reload_soon(&self) {
        if self.inner.background.reload_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let core = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            core.inner.background.reload_pending.store(false, Ordering::Release);
            if let Err(err) = core.reload().await {
                tracing::warn!("reloading after a token refresh failed: {err}");
            }
        });
    }

    /// Starts a refresh for every account that is due and not already refreshing; returns
    /// when the next one falls due (Unix seconds). Due-ness comes from the stored expiry, so
    /// thousands of accounts are not decrypted to find the few that are due. A refresh whose
    /// new token is due at once (a wrong clock) backs off like a failure instead of repeating.
    fn start_due_refreshes(&self, keeper: &mut Keeper) -> Option<i64> {
        let now = now_secs();
        let last_refresh: HashMap<String, Option<i64>> =
            self.snapshot().accounts.iter().map(|v| (v.account.id.clone(), v.account.last_refresh_at)).collect();
        let mut next = None::<i64>;
        for account in &self.pool().accounts {
            if account.row.status != AccountStatus::Active || keeper.running.contains(&account.row.id) {
                continue;
            }
            if !account.has_tokens() {
                continue;
            }
            // The stored expiry says when; the tokens are opened only once that has come.
            let last = last_refresh.get(&account.row.id).copied().flatten();
            let stored_due = match account.row.access_expires_at {
                Some(expires) => expires - REFRESH_MARGIN_SECS,
                None => match last {
                    Some(at) => at + REFRESH_WITHOUT_EXPIRY_SECS,
                    None => continue,
                },
            };
            let due = keeper.backoff.get(&account.row.id).map_or(stored_due, |b| stored_due.max(b.next_at));
            if due > now {
                next = Some(next.map_or(due, |n| n.min(due)));
                continue;
            }
            let Some(tokens) = account.tokens() else { continue };
            let Some(due) = refresh_due(&tokens, last) else { continue };
            if due > now {
                next = Some(next.map_or(due, |n| n.min(due)));
                continue;
            }
            keeper.running.insert(account.row.id.clone());
            let (core, id, slots, done) =
                (self.clone(), account.row.id.clone(), keeper.slots.clone(), keeper.done_tx.clone());
            tokio::spawn(async move {
                let _slot = slots.acquire_owned().await.ok();
                let result = match core.refresh_account(&id, Some(&tokens)).await {
                    Ok(fresh) if refresh_due(&fresh, None).is_some_and(|due| due <= now_secs()) => {
                        tracing::warn!(account = %id, "the refreshed access token is already due; is the clock right?");
                        Err(RefreshError::Transient("the refreshed access token is already due".into()))
                    }
                    other => other.map(|_| ()),
                };
                let _ = done.send((id, result));
            });
        }
        next
    }
}

/// When the keeper should refresh these tokens (Unix seconds); `None` when it cannot (no
/// refresh token) or has nothing to go by.
fn refresh_due(tokens: &Tokens, last_refresh_at: Option<i64>) -> Option<i64> {
    tokens.refresh_token.as_ref()?;
    let expires = decode_payload(&tokens.access_token).and_then(|p| p.get("exp").and_then(|e| e.as_i64()));
    match expires {
        Some(exp) => Some(exp - REFRESH_MARGIN_SECS),
        None => last_refresh_at.map(|at| at + REFRESH_WITHOUT_EXPIRY_SECS),
    }
}

/// Retry timing for an account whose refresh failed transiently.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Backoff {
    failures: u32,
    next_at: i64,
}

impl Backoff {
    fn fail(&mut self, now: i64) {
        self.failures += 1;
        let delay = BACKOFF_FIRST_SECS.saturating_mul(1 << (self.failures - 1).min(16)).min(BACKOFF_MAX_SECS);
        self.next_at = now + delay;
    }
}

/// The token keeper's own state.
struct Keeper {
    running: HashSet<String>,
    backoff: HashMap<String, Backoff>,
    slots: Arc<Semaphore>,
    done_tx: mpsc::UnboundedSender<(String, Result<(), RefreshError>)>,
}

/// Background jobs, stopped when dropped (with the task that holds them).
struct Jobs(Vec<JoinHandle<()>>);

impl Drop for Jobs {
    fn drop(&mut self) {
        for job in &self.0 {
            job.abort();
        }
    }
}

/// Runs the leader's jobs while this instance leads (always, on SQLite), and stops them when
/// another instance takes over.
async fn lead_when_leader(core: Core) {
    let mut leading = core.store().leadership();
    let mut jobs: Option<Jobs> = None;
    loop {
        let leads = *leading.borrow_and_update();
        match (leads, jobs.is_some()) {
            (true, false) => jobs = Some(core.leader_jobs()),
            (false, true) => {
                jobs = None;
                tracing::warn!("this instance no longer leads; its usage poller and token keeper stopped");
            }
            _ => {}
        }
        if leading.changed().await.is_err() {
            // The leadership can no longer change (SQLite): keep what runs until stopped.
            std::future::pending::<()>().await;
        }
    }
}

async fn keep_tokens(core: Core) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut keeper = Keeper {
        running: HashSet::new(),
        backoff: HashMap::new(),
        slots: Arc::new(Semaphore::new(REFRESH_CONCURRENCY)),
        done_tx,
    };
    let mut changes = core.subscribe_reloads();
    let mut next_keepalive = Instant::now() + core.keepalive_interval();
    loop {
        let wake = match core.start_due_refreshes(&mut keeper) {
            Some(due) => {
                let wait = Duration::from_secs((due - now_secs()).max(1) as u64);
                (Instant::now() + wait).min(next_keepalive)
            }
            None => next_keepalive,
        };
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            changed = changes.changed() => if changed.is_err() { return },
            Some((id, result)) = done_rx.recv() => {
                keeper.running.remove(&id);
                match result {
                    Err(RefreshError::Transient(_)) => keeper.backoff.entry(id).or_default().fail(now_secs()),
                    Ok(()) | Err(RefreshError::Permanent { .. }) => {
                        keeper.backoff.remove(&id);
                    }
                }
            }
        }
        if Instant::now() >= next_keepalive {
            core.inner.background.keepalive.send_modify(|ticks| *ticks += 1);
            next_keepalive = Instant::now() + core.keepalive_interval();
        }
    }
}

async fn poll_usage(core: Core) {
    let mut changes = core.subscribe_reloads();
    let mut asked: HashSet<String> = HashSet::new();
    let mut next_poll = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next_poll) => {
                let targets = core.usage_targets_all();
                asked.extend(targets.iter().map(|a| a.row.id.clone()));
                core.run_usage(targets, BACKGROUND_JITTER, &|_| {}).await;
                next_poll = Instant::now() + poller::interval(&core.config());
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let new: Vec<_> = core
                    .usage_targets_all()
                    .into_iter()
                    .filter(|a| a.usage().is_none() && !asked.contains(&a.row.id))
                    .collect();
                if !new.is_empty() {
                    asked.extend(new.iter().map(|a| a.row.id.clone()));
                    core.run_usage(new, Duration::ZERO, &|_| {}).await;
                }
            }
        }
    }
}

impl Core {
    /// Deletes request-log rows beyond the retention settings, a batch at a time, and chart
    /// totals older than a year; returns how many log rows went.
    pub async fn prune_logs_now(&self) -> Result<usize, super::CoreError> {
        let config = self.config();
        let now = crate::store::now_millis();
        let before = match config.log_retention_days {
            0 => i64::MIN,
            days => now - i64::try_from(days).unwrap_or(i64::MAX / 86_400_000).saturating_mul(86_400_000),
        };
        let max_rows = i64::try_from(config.log_max_rows).unwrap_or(i64::MAX);
        let mut total = 0;
        loop {
            let pruned = self.store().prune_logs(before, max_rows, PRUNE_BATCH).await?;
            total += pruned;
            if pruned < PRUNE_BATCH as usize {
                break;
            }
            tokio::task::yield_now().await;
        }
        self.store().prune_stats(now - STATS_KEEP_MS).await?;
        Ok(total)
    }
}

/// Request-log rows pruned per transaction, so the log writer and token saves never wait long.
const PRUNE_BATCH: i64 = 5_000;
/// The 15-minute totals behind the charts are kept this long, whatever the log keeps.
const STATS_KEEP_MS: i64 = 366 * 86_400_000;

/// Prunes the request log (`logRetentionDays`, `logMaxRows`) a minute after start and then
/// every hour, in small transactions.
async fn prune_logs(core: Core) {
    tokio::time::sleep(Duration::from_secs(60)).await;
    loop {
        match core.prune_logs_now().await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old request-log rows pruned"),
            Err(err) => tracing::warn!("pruning the request log failed: {err}"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(payload: serde_json::Value) -> String {
        crate::auth::claims::tests::jwt(&payload)
    }

    #[test]
    fn refresh_falls_due_five_minutes_before_expiry() {
        let tokens =
            Tokens { access_token: jwt(json!({"exp": 10_000})), refresh_token: Some("r".into()), id_token: None };
        assert_eq!(refresh_due(&tokens, Some(1)), Some(10_000 - 300));
    }

    #[test]
    fn without_expiry_the_last_refresh_decides_and_without_refresh_token_nothing() {
        let opaque = Tokens { access_token: "opaque".into(), refresh_token: Some("r".into()), id_token: None };
        assert_eq!(refresh_due(&opaque, Some(100)), Some(100 + 8 * 86_400));
        assert_eq!(refresh_due(&opaque, None), None);
        let no_refresh = Tokens { access_token: jwt(json!({"exp": 5})), refresh_token: None, id_token: None };
        assert_eq!(refresh_due(&no_refresh, Some(1)), None);
    }

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_half_an_hour() {
        let mut backoff = Backoff::default();
        let delays: Vec<i64> = (0..9)
            .map(|_| {
                backoff.fail(1_000);
                backoff.next_at - 1_000
            })
            .collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
    }
}
