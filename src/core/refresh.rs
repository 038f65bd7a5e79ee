//! Token refresh for one account at a time, safe against every way a rotating refresh token
//! can be lost:
//!
//! - single flight per account inside the process (a mutex), and across processes on one
//!   database (on SQLite a refresh lease row, on PostgreSQL a transaction-scoped advisory
//!   lock): whoever gets it re-reads the stored tokens first and uses what another refresh
//!   produced instead of spending the old refresh token again;
//! - the new tokens are used at once and saved; when saving fails (a full disk) they stay in
//!   memory, reloads keep them, and they are saved again until it works — never dropped;
//! - a refresh token the issuer calls reused is checked against the store first: another
//!   process may have refreshed a moment ago. Only a failure that stands marks the account
//!   unavailable.

use std::sync::Arc;
use std::time::Duration;

use super::{Core, CoreError};
use crate::auth::claims::Claims;
use crate::auth::refresh;
use crate::auth::tokens::Tokens;
use crate::core::pool::PoolAccount;
use crate::store::accounts::AccountStatus;
use crate::store::{now_millis, now_secs};

pub use crate::auth::refresh::RefreshError;

/// How long a refresh lease lasts: longer than the issuer call may take, so it only runs out
/// when its holder died.
const LEASE_TTL: Duration = Duration::from_secs(45);
/// How often a refresh waiting for another process's lease looks again.
const LEASE_POLL: Duration = Duration::from_millis(100);
/// Retries of a failed token save: this, doubling, up to `SAVE_RETRY_MAX`.
const SAVE_RETRY_FIRST: Duration = Duration::from_secs(1);
const SAVE_RETRY_MAX: Duration = Duration::from_secs(30);

impl Core {
    /// Refreshes an account's tokens. `seen` is the token set the caller found stale: when
    /// another task or process refreshed meanwhile, that newer set is returned without a
    /// second call, so a refresh token is never sent twice.
    pub async fn refresh_account(&self, id: &str, seen: Option<&Arc<Tokens>>) -> Result<Arc<Tokens>, RefreshError> {
        let account = self
            .pool()
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| RefreshError::Transient(format!("no account with id {id:?}")))?;
        let _flight = account.live.refresh.lock().await;
        let current = account.tokens().ok_or_else(|| RefreshError::Permanent { code: "no_tokens".into() })?;
        if let Some(seen) = seen
            && seen.access_token != current.access_token
        {
            return Ok(current);
        }
        match self.store().lock_refresh(id, LEASE_TTL).await {
            Ok(Some(lock)) => {
                // Re-read under the lock: another instance may have spent the refresh token.
                let result = self.refresh_leased(&account, current).await;
                lock.release().await;
                return result;
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(account = %id, "cannot take the refresh lock ({err}); refreshing without it");
                return self.refresh_leased(&account, current).await;
            }
        }
        let leased = self.take_refresh_lease(id).await;
        let result = self.refresh_leased(&account, current).await;
        if leased {
            self.release_refresh_lease(id).await;
        }
        result
    }

    /// The refresh proper, with the lease held (or no lease to be had).
    async fn refresh_leased(
        &self,
        account: &Arc<PoolAccount>,
        current: Arc<Tokens>,
    ) -> Result<Arc<Tokens>, RefreshError> {
        let id = account.row.id.as_str();
        if let Some(stored) = self.adopt_stored_tokens(account, &current).await {
            return Ok(stored);
        }
        let Some(refresh_token) = current.refresh_token.clone() else {
            self.mark_unavailable(id, "no_refresh_token").await;
            return Err(RefreshError::Permanent { code: "no_refresh_token".into() });
        };
        let config = self.config();
        let (http, _) = self.client_for(account).map_err(|err| RefreshError::Transient(err.to_string()))?;
        match refresh::refresh(&http, &config.issuer, &config.client_id, &refresh_token).await {
            Ok(response) => {
                let tokens = Arc::new(Tokens {
                    access_token: response.access_token.unwrap_or_else(|| current.access_token.clone()),
                    refresh_token: response.refresh_token.or(Some(refresh_token)),
                    id_token: response.id_token.or_else(|| current.id_token.clone()),
                });
                self.keep_tokens(account, tokens.clone()).await;
                self.reload_soon();
                tracing::info!(account = %id, "tokens refreshed");
                Ok(tokens)
            }
            Err(RefreshError::Permanent { code }) => {
                if let Some(stored) = self.adopt_stored_tokens(account, &current).await {
                    tracing::info!(account = %id, %code, "the refresh token was already spent by another process; using its tokens");
                    return Ok(stored);
                }
                tracing::warn!(account = %id, %code, "token refresh failed for good; account marked unavailable");
                self.mark_unavailable(id, &code).await;
                Err(RefreshError::Permanent { code })
            }
            Err(error) => {
                tracing::warn!(account = %id, "token refresh failed: {error}");
                Err(error)
            }
        }
    }

    /// When the store holds other tokens than `current` (another process refreshed or the
    /// account was signed in again), installs and returns them.
    async fn adopt_stored_tokens(&self, account: &Arc<PoolAccount>, current: &Tokens) -> Option<Arc<Tokens>> {
        if account.unsaved_tokens().is_some() {
            return None;
        }
        let id = account.row.id.clone();
        let sealed = match self.store().tokens_of(id).await {
            Ok(Some(sealed)) => sealed,
            Ok(None) => return None,
            Err(err) => {
                tracing::warn!(account = %account.row.id, "cannot re-read the stored tokens before a refresh: {err}");
                return None;
            }
        };
        // Compared with `current`, not with what the account holds now: a reload may have put
        // the stored tokens in place since `current` was read, and they are still the ones to use.
        let plain = self.vault().open(&Tokens::seal_purpose(&account.row.id), &sealed).ok()?;
        let stored: Tokens = serde_json::from_slice(&plain).ok()?;
        if stored.access_token == current.access_token && stored.refresh_token == current.refresh_token {
            return None;
        }
        let stored = Arc::new(stored);
        account.set_tokens(stored.clone(), sealed, true);
        Some(stored)
    }

    /// Puts new tokens to use at once and saves them; a save that fails is retried in the
    /// background until it works, and until then reloads keep the tokens in memory.
    async fn keep_tokens(&self, account: &Arc<PoolAccount>, tokens: Arc<Tokens>) {
        let sealed = self.seal_tokens(&account.row.id, &tokens);
        account.set_tokens(tokens.clone(), sealed.clone(), false);
        match self.save_tokens(&account.row.id, &tokens, sealed.clone()).await {
            Ok(()) => account.mark_saved(&sealed),
            Err(err) => {
                tracing::error!(
                    account = %account.row.id,
                    "saving the refreshed tokens failed ({err}); they are kept in memory and saved again until it works"
                );
                self.retry_token_save(account.clone());
            }
        }
    }

    fn seal_tokens(&self, id: &str, tokens: &Tokens) -> Vec<u8> {
        self.vault().seal(&Tokens::seal_purpose(id), &serde_json::to_vec(tokens).expect("token set serialises"))
    }

    /// Stores a sealed token set with its refresh time and expiry.
    async fn save_tokens(&self, id: &str, tokens: &Tokens, sealed: Vec<u8>) -> Result<(), CoreError> {
        let expires = Claims::from_tokens(tokens).access_expires_at;
        let id = id.to_string();
        self.store().save_tokens(id, sealed, now_secs(), expires).await?;
        Ok(())
    }

    /// Saves an account's unsaved tokens again, backing off, until it works or the account is
    /// gone.
    fn retry_token_save(&self, account: Arc<PoolAccount>) {
        let core = self.clone();
        tokio::spawn(async move {
            let mut delay = SAVE_RETRY_FIRST;
            loop {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(SAVE_RETRY_MAX);
                if !core.pool().by_id.contains_key(&account.row.id) {
                    return;
                }
                if core.save_unsaved(&account).await {
                    tracing::info!(account = %account.row.id, "the refreshed tokens are saved now");
                    return;
                }
            }
        });
    }

    /// One attempt to save an account's unsaved tokens; true when nothing is left to save.
    async fn save_unsaved(&self, account: &PoolAccount) -> bool {
        let Some(sealed) = account.unsaved_tokens() else { return true };
        let Some(tokens) = account.tokens() else { return true };
        match self.save_tokens(&account.row.id, &tokens, sealed.to_vec()).await {
            Ok(()) => {
                account.mark_saved(&sealed);
                account.unsaved_tokens().is_none()
            }
            Err(err) => {
                tracing::warn!(account = %account.row.id, "saving the refreshed tokens failed again: {err}");
                false
            }
        }
    }

    /// Saves every account's unsaved tokens once more (at shutdown); says which could not be.
    pub(super) async fn save_all_unsaved(&self) {
        for account in self.pool().accounts.iter().filter(|a| a.unsaved_tokens().is_some()) {
            if !self.save_unsaved(account).await {
                tracing::error!(
                    account = %account.row.id,
                    "the refreshed tokens could not be saved before exit; this account will need a new sign-in"
                );
            }
        }
    }

    /// Takes this process's refresh lease on an account, waiting while another process holds
    /// it. False when the store cannot be written (a full disk): the refresh goes on without
    /// it, single-flight within this process still holding.
    async fn take_refresh_lease(&self, id: &str) -> bool {
        let deadline = tokio::time::Instant::now() + LEASE_TTL;
        loop {
            let (account, holder) = (id.to_string(), self.instance_id().to_string());
            let now = now_millis();
            let expires = now + LEASE_TTL.as_millis() as i64;
            let taken = self.store().take_refresh_lease(account, holder, now, expires).await;
            match taken {
                Ok(true) => return true,
                Ok(false) if tokio::time::Instant::now() < deadline => tokio::time::sleep(LEASE_POLL).await,
                Ok(false) => {
                    tracing::warn!(account = %id, "another process held the refresh lease too long; refreshing anyway");
                    return false;
                }
                Err(err) => {
                    tracing::warn!(account = %id, "cannot take the refresh lease ({err}); refreshing without it");
                    return false;
                }
            }
        }
    }

    async fn release_refresh_lease(&self, id: &str) {
        let (account, holder) = (id.to_string(), self.instance_id().to_string());
        if let Err(err) = self.store().release_refresh_lease(account, holder).await {
            tracing::warn!(account = %id, "cannot release the refresh lease ({err}); it runs out by itself");
        }
    }

    /// Takes an account out of routing with a reason the user sees.
    pub async fn mark_unavailable(&self, id: &str, reason: &str) {
        let result =
            self.store().set_status(id.to_string(), AccountStatus::Unavailable, Some(reason.to_string())).await;
        if let Err(err) = result {
            tracing::error!(account = %id, "cannot mark the account unavailable: {err}");
        }
        if let Err(err) = self.reload().await {
            tracing::error!("reload after marking an account unavailable failed: {err}");
        }
    }

    /// Persists a cooldown so a restart keeps skipping the account until it ends.
    pub fn persist_cooldown(&self, id: &str, until_secs: i64, reason: &str) {
        let (id, reason) = (id.to_string(), reason.to_string());
        let store = self.store().clone();
        tokio::spawn(async move {
            if let Err(err) = store.set_cooldown(id, Some(until_secs), Some(reason)).await {
                tracing::warn!("persisting a cooldown failed: {err}");
            }
        });
    }
}
