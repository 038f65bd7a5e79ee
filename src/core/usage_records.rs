//! Recording usage snapshots (each account's 5-hour and weekly window) and making them
//! visible in the snapshot at once. Fetching usage from upstream is not this file's job.

use super::{Core, CoreError};
use crate::store;
use crate::store::usage::UsageSnapshot;

impl Core {
    /// Stores the latest usage of each account named in `snapshots` (accounts deleted
    /// meanwhile are skipped) and reloads the snapshot so availability follows.
    pub async fn record_usage(&self, snapshots: Vec<UsageSnapshot>) -> Result<(), CoreError> {
        self.store().call(move |conn| store::usage::put_many(conn, &snapshots)).await?;
        self.reload().await
    }
}
