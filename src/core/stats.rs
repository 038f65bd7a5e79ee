//! The dashboard's and the key list's figures, in the machine's local time: the core asks the
//! store for the aggregates over the buckets that start at local hours and midnights.

use chrono::Local;

pub use crate::store::stats::{Bucket, DAYS, DashboardStats, HOURS, KeyUsage, Ranges, Totals, ranges_at};

use super::{Core, CoreError};

impl Core {
    /// Today's totals and the hourly and daily charts, in local time.
    pub async fn dashboard_stats(&self) -> Result<DashboardStats, CoreError> {
        let ranges = ranges_at(&Local::now());
        Ok(self.store().dashboard(ranges).await?)
    }

    /// Requests, tokens and last use of every key that appears in the request log.
    pub async fn key_usage(&self) -> Result<Vec<KeyUsage>, CoreError> {
        Ok(self.store().key_usage().await?)
    }
}
