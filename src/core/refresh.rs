//! Token refresh for one account at a time: single-flight per account, the new tokens
//! persisted before they are used, permanent failures marking the account unavailable.

use std::sync::Arc;

use super::{Core, CoreError};
use crate::auth::claims::Claims;
use crate::auth::refresh;
use crate::auth::tokens::Tokens;
use crate::store::accounts::{self as rows, AccountStatus};
use crate::store::now_secs;

pub use crate::auth::refresh::RefreshError;

impl Core {
    /// Refreshes an account's tokens. `seen` is the token set the caller found stale: when
    /// another task refreshed meanwhile, that newer set is returned without a second call,
    /// so a refresh token is never sent twice.
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
        let Some(refresh_token) = current.refresh_token.clone() else {
            let error = RefreshError::Permanent { code: "no_refresh_token".into() };
            self.mark_unavailable(id, "no_refresh_token").await;
            return Err(error);
        };
        let config = self.config();
        match refresh::refresh(self.http(), &config.issuer, &config.client_id, &refresh_token).await {
            Ok(response) => {
                let tokens = Tokens {
                    access_token: response.access_token.unwrap_or_else(|| current.access_token.clone()),
                    refresh_token: response.refresh_token.or(Some(refresh_token)),
                    id_token: response.id_token.or_else(|| current.id_token.clone()),
                };
                let tokens = Arc::new(tokens);
                let sealed =
                    self.persist_tokens(id, &tokens).await.map_err(|e| RefreshError::Transient(e.to_string()))?;
                account.set_tokens(tokens.clone(), sealed);
                self.reload_soon();
                tracing::info!(account = %id, "tokens refreshed");
                Ok(tokens)
            }
            Err(RefreshError::Permanent { code }) => {
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

    /// Seals and stores a new token set with its refresh time and expiry; returns the blob.
    async fn persist_tokens(&self, id: &str, tokens: &Tokens) -> Result<Vec<u8>, CoreError> {
        let sealed =
            self.vault().seal(&Tokens::seal_purpose(id), &serde_json::to_vec(tokens).expect("token set serialises"));
        let expires = Claims::from_tokens(tokens).access_expires_at;
        let id = id.to_string();
        let stored = sealed.clone();
        self.store()
            .call(move |conn| {
                rows::put_tokens(conn, &id, &stored)?;
                rows::note_refresh(conn, &id, now_secs(), expires)
            })
            .await?;
        Ok(sealed)
    }

    /// Takes an account out of routing with a reason the user sees.
    pub async fn mark_unavailable(&self, id: &str, reason: &str) {
        let (id_owned, reason_owned) = (id.to_string(), reason.to_string());
        let result = self
            .store()
            .call(move |conn| rows::set_status(conn, &id_owned, AccountStatus::Unavailable, Some(&reason_owned)))
            .await;
        if let Err(err) = result {
            tracing::error!(account = %id, "cannot mark the account unavailable: {err}");
        }
        if let Err(err) = self.reload().await {
            tracing::error!("reload after marking an account unavailable failed: {err}");
        }
    }

    /// Persists a cooldown so a restart keeps skipping the account until it ends.
    pub fn persist_cooldown(&self, id: &str, until_secs: i64) {
        let id = id.to_string();
        let store = self.store().clone();
        tokio::spawn(async move {
            if let Err(err) = store.call(move |conn| rows::set_cooldown(conn, &id, Some(until_secs))).await {
                tracing::warn!("persisting a cooldown failed: {err}");
            }
        });
    }
}
