//! Fetching usage from the usage endpoint for chosen accounts, now ("refresh all", `usage
//! refresh`) or on the poller's schedule: bounded and with progress (`usage::poller`), a 401
//! answered by one token refresh and one retry, each snapshot recorded through
//! `record_usage`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::pool::PoolAccount;
use super::{Core, CoreError};
use crate::store::accounts::AccountStatus;
use crate::store::now_secs;
use crate::store::usage::UsageSnapshot;
use crate::usage::endpoint::{self, UsageError};
use crate::usage::poller::{self, Progress};

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRefreshReport {
    pub total: usize,
    pub refreshed: usize,
    pub failed: Vec<UsageFailure>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageFailure {
    pub account_id: String,
    pub label: String,
    pub message: String,
}

impl Core {
    /// Fetches usage now for `ids`, or for every active account when `None`, calling
    /// `progress` as each finishes. Unknown ids are refused before anything is fetched.
    pub async fn refresh_usage(
        &self,
        ids: Option<Vec<String>>,
        progress: impl Fn(Progress) + Send + Sync,
    ) -> Result<UsageRefreshReport, CoreError> {
        let targets = self.usage_targets(ids)?;
        Ok(self.run_usage(targets, Duration::ZERO, &progress).await)
    }

    /// As [`Core::refresh_usage`], running in the background; the receiver follows its
    /// progress (`finished` turns true at the end).
    pub fn start_usage_refresh(&self, ids: Option<Vec<String>>) -> Result<watch::Receiver<Progress>, CoreError> {
        let targets = self.usage_targets(ids)?;
        let (sender, receiver) = watch::channel(Progress { total: targets.len(), ..Progress::default() });
        let core = self.clone();
        tokio::spawn(async move {
            core.run_usage(targets, Duration::ZERO, &|progress| {
                sender.send_replace(progress);
            })
            .await;
        });
        Ok(receiver)
    }

    fn usage_targets(&self, ids: Option<Vec<String>>) -> Result<Vec<Arc<PoolAccount>>, CoreError> {
        let Some(ids) = ids else { return Ok(self.usage_targets_all()) };
        let pool = self.pool();
        let unknown: Vec<&str> = ids.iter().filter(|id| !pool.by_id.contains_key(*id)).map(String::as_str).collect();
        if !unknown.is_empty() {
            return Err(CoreError::NotFound(format!("no account with id {}", unknown.join(", "))));
        }
        Ok(ids.iter().filter_map(|id| pool.by_id.get(id).cloned()).collect())
    }

    /// Every active account that has tokens.
    pub(super) fn usage_targets_all(&self) -> Vec<Arc<PoolAccount>> {
        let pool = self.pool();
        pool.accounts.iter().filter(|a| a.row.status == AccountStatus::Active && a.has_tokens()).cloned().collect()
    }

    /// Fetches for `targets` within the shared concurrency cap, then makes the results visible
    /// to every front door.
    pub(super) async fn run_usage(
        &self,
        targets: Vec<Arc<PoolAccount>>,
        jitter: Duration,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> UsageRefreshReport {
        if targets.is_empty() {
            progress(Progress { finished: true, ..Progress::default() });
            return UsageRefreshReport::default();
        }
        let total = targets.len();
        let job = |account: Arc<PoolAccount>| async move {
            self.fetch_usage(&account).await.map_err(|message| UsageFailure {
                account_id: account.row.id.clone(),
                label: account.row.label.clone(),
                message,
            })
        };
        let results = poller::run_bounded(targets, &self.inner.usage_slots, jitter, job, progress).await;
        let failed: Vec<UsageFailure> = results.into_iter().filter_map(Result::err).collect();
        self.inner.usage_queue.flush().await;
        if let Err(err) = self.reload().await {
            tracing::warn!("reloading after a usage refresh failed: {err}");
        }
        tracing::info!(total, failed = failed.len(), "usage refreshed");
        UsageRefreshReport { total, refreshed: total - failed.len(), failed }
    }

    /// One account: fetch, and on 401 refresh the token once and fetch again.
    async fn fetch_usage(&self, account: &PoolAccount) -> Result<(), String> {
        if account.row.status == AccountStatus::Unavailable {
            let reason = account.row.status_reason.as_deref().unwrap_or("unavailable");
            return Err(format!("the account is unavailable ({reason}); sign in to it again"));
        }
        let tokens = account.tokens().ok_or("the account has no tokens; sign in to it again")?;
        let snapshot = match self.fetch_usage_with(account, &tokens.access_token).await {
            Err(UsageError::Unauthorized) => {
                let fresh = self.refresh_account(&account.row.id, Some(&tokens)).await.map_err(|e| e.to_string())?;
                self.fetch_usage_with(account, &fresh.access_token).await
            }
            other => other,
        }
        .map_err(|e| e.to_string())?;
        self.record_usage(snapshot);
        Ok(())
    }

    async fn fetch_usage_with(&self, account: &PoolAccount, access_token: &str) -> Result<UsageSnapshot, UsageError> {
        let base = self.config().usage_base_url.clone();
        let chatgpt = account.row.chatgpt_account_id.as_deref();
        let (http, _) = self
            .client_for(account)
            .map_err(|err| UsageError::Network { url: base.clone(), reason: err.to_string() })?;
        endpoint::fetch(&http, &base, access_token, chatgpt, &account.row.id, now_secs()).await
    }
}
