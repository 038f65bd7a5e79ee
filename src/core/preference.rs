//! The manual preferred account (the original's `gateway/manualAccount/*`): one account an
//! operator pins to the front of the pool, in memory only, so it is tried first until it is
//! cleared, the account is deleted, or the process ends.
//!
//! The preference works through the pool's order, which is what the `ordered` strategy walks
//! and what the model-list fetch picks from; it does not change which accounts are usable,
//! so an unusable preferred account is skipped like any other and routing goes on in `sort`
//! order. Under `balanced` the pool is rotated per key + model, so the preferred account
//! takes its turn like the others.

use std::sync::Arc;

use super::pool::Pool;
use super::{Core, CoreError};

impl Core {
    /// The preferred account's id, when one is set.
    pub fn manual_account(&self) -> Option<String> {
        self.inner.preferred.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Pins `id` to the front of the pool (`None` clears the preference). The account must
    /// exist.
    pub async fn set_manual_account(&self, id: Option<String>) -> Result<(), CoreError> {
        let _in_order = self.inner.reloading.lock().await;
        let pool = self.inner.pool.load_full();
        if let Some(id) = &id
            && !pool.by_id.contains_key(id)
        {
            return Err(CoreError::NotFound(format!(
                "no account with id {id:?}; `account/list` shows the accounts' ids"
            )));
        }
        *self.inner.preferred.write().unwrap_or_else(|p| p.into_inner()) = id.clone();
        let in_store_order =
            self.snapshot().accounts.iter().filter_map(|view| pool.by_id.get(&view.account.id).cloned()).collect();
        let reordered = Pool { accounts: in_store_order, by_id: pool.by_id.clone() };
        self.inner.pool.store(Arc::new(self.in_preferred_order(reordered)));
        tracing::info!(account = id.as_deref().unwrap_or("none"), "manual preferred account set");
        Ok(())
    }

    /// `pool`, in the store's order, with the preferred account moved to the front; a
    /// preference for an account that is gone is dropped.
    pub(super) fn in_preferred_order(&self, mut pool: Pool) -> Pool {
        let mut preferred = self.inner.preferred.write().unwrap_or_else(|p| p.into_inner());
        let Some(id) = preferred.as_deref() else { return pool };
        match pool.accounts.iter().position(|account| account.row.id == id) {
            Some(position) => {
                let account = pool.accounts.remove(position);
                pool.accounts.insert(0, account);
            }
            None => *preferred = None,
        }
        pool
    }
}
