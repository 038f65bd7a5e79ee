//! Reading the request log page by page and clearing it: the queries the window's Logs page
//! and the front doors run, always on the blocking pool and never loading the whole table.
//! Writing rows is the log writer's job ([`super::logwriter`]), not this file's.
//!
//! A search text may carry fields: `status:429`, `method:POST`, `key:NAME`, `account:LABEL`
//! (or email or id) and `model:NAME`; the rest is matched as free text
//! ([`Core::log_search`]).

pub use crate::store::logs::{LogFilter, LogRow};

use super::{Core, CoreError};

/// The most rows one page query returns.
pub const MAX_PAGE: u64 = 1_000;

/// A search field that named nothing known (`key:nosuch`): no row can match it.
const NO_MATCH: &str = "\u{0}no match";

impl Core {
    /// Applies a search text to `filter`: its `field:value` words narrow by that field (names
    /// of keys and accounts are looked up in memory, case-insensitively), the other words are
    /// matched as free text. A malformed status (`status:abc`) is an error that says so.
    pub fn log_search(&self, filter: &mut LogFilter, search: &str) -> Result<(), CoreError> {
        let snapshot = self.snapshot();
        let mut free = Vec::new();
        for word in search.split_whitespace() {
            let Some((field, value)) = word.split_once(':').filter(|(_, v)| !v.is_empty()) else {
                free.push(word);
                continue;
            };
            let lower = value.to_lowercase();
            match field.to_ascii_lowercase().as_str() {
                "status" => {
                    let status = value.parse::<u16>().ok().filter(|s| (100..600).contains(s)).ok_or_else(|| {
                        CoreError::Invalid(format!("`status:` takes an HTTP status such as 429; got {value:?}"))
                    })?;
                    filter.status = Some(status);
                }
                "method" => filter.method = Some(value.to_ascii_uppercase()),
                "model" => filter.model = Some(value.to_string()),
                "key" => {
                    let key = snapshot.keys.iter().find(|k| k.name.to_lowercase() == lower || k.id == value);
                    filter.key_id = Some(key.map_or_else(|| NO_MATCH.to_string(), |k| k.id.clone()));
                }
                "account" => {
                    let names = |v: &super::AccountView| {
                        let a = &v.account;
                        [Some(a.label.to_lowercase()), a.email.as_ref().map(|e| e.to_lowercase()), Some(a.id.clone())]
                    };
                    let exact = snapshot.accounts.iter().find(|v| names(v).contains(&Some(lower.clone())));
                    let partial =
                        || snapshot.accounts.iter().find(|v| names(v).iter().flatten().any(|n| n.contains(&lower)));
                    let account = exact.or_else(partial);
                    filter.account_id = Some(account.map_or_else(|| NO_MATCH.to_string(), |v| v.account.id.clone()));
                }
                _ => free.push(word),
            }
        }
        filter.text = Some(free.join(" ")).filter(|t| !t.is_empty());
        Ok(())
    }

    /// One page of request-log rows matching `filter`, newest first.
    pub async fn query_logs(&self, filter: LogFilter, offset: u64, limit: u64) -> Result<Vec<LogRow>, CoreError> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(CoreError::Invalid(format!("`limit` must be between 1 and {MAX_PAGE}; got {limit}")));
        }
        Ok(self.store().log_page(filter, offset, limit).await?)
    }

    /// How many request-log rows match `filter`.
    pub async fn count_logs(&self, filter: LogFilter) -> Result<u64, CoreError> {
        Ok(self.store().log_count(filter).await?)
    }

    /// Deletes every request-log row (after writing the ones still queued); returns how many.
    pub async fn clear_logs(&self) -> Result<usize, CoreError> {
        self.logs().flush().await;
        let cleared = self.store().clear_logs().await?;
        tracing::info!(cleared, "request logs cleared");
        Ok(cleared)
    }
}
