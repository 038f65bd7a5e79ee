//! Reading the request log page by page and clearing it: the queries the window's Logs page
//! and the front doors run, always on the blocking pool and never loading the whole table.
//! Writing rows is the log writer's job ([`super::logwriter`]), not this file's.

pub use crate::store::logs::{LogFilter, LogRow};

use super::{Core, CoreError};
use crate::store;

/// The most rows one page query returns.
pub const MAX_PAGE: u64 = 1_000;

impl Core {
    /// One page of request-log rows matching `filter`, newest first.
    pub async fn query_logs(&self, filter: LogFilter, offset: u64, limit: u64) -> Result<Vec<LogRow>, CoreError> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(CoreError::Invalid(format!("`limit` must be between 1 and {MAX_PAGE}; got {limit}")));
        }
        Ok(self.store().call(move |conn| store::logs::page(conn, &filter, offset, limit)).await?)
    }

    /// How many request-log rows match `filter`.
    pub async fn count_logs(&self, filter: LogFilter) -> Result<u64, CoreError> {
        Ok(self.store().call(move |conn| store::logs::count(conn, &filter)).await?)
    }

    /// Deletes every request-log row (after writing the ones still queued); returns how many.
    pub async fn clear_logs(&self) -> Result<usize, CoreError> {
        self.logs().flush().await;
        let cleared = self.store().call(store::logs::clear).await?;
        tracing::info!(cleared, "request logs cleared");
        Ok(cleared)
    }
}
