//! The dashboard's and the key list's figures over the 15-minute `request_stats` totals:
//! today's totals, requests and tokens per hour (24 h) and per local day (30 days), and
//! per-key totals.
//!
//! Every figure is an SQL aggregate over time ranges that the primary key answers; no query
//! here loads rows into memory. Time buckets are computed in the caller's time zone, so
//! "today" and the days of the chart start at local midnight.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike};
use rusqlite::{Connection, ToSql};
use serde::Serialize;

use super::StoreError;

/// Hours in the hourly chart.
pub const HOURS: usize = 24;
/// Days in the daily chart.
pub const DAYS: usize = 30;

/// Sums over a set of requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub requests: u64,
    /// Requests answered with a 2xx status.
    pub successes: u64,
    pub input_tokens: i64,
    /// Part of `input_tokens` served from the prompt cache.
    pub cached_tokens: i64,
    pub output_tokens: i64,
    /// Part of `output_tokens` spent on reasoning.
    pub reasoning_tokens: i64,
}

impl Totals {
    /// Success rate in percent; `None` without requests.
    pub fn success_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.successes as f64 * 100.0 / self.requests as f64)
    }
}

/// Requests and tokens (input + output) in one time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Unix milliseconds at which the bucket starts.
    pub start_ms: i64,
    pub requests: u64,
    pub tokens: i64,
}

/// Everything the dashboard charts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DashboardStats {
    /// Since local midnight.
    pub today: Totals,
    /// The last 24 hours, oldest first; the last bucket is the current hour.
    pub hourly: Vec<Bucket>,
    /// The last 30 local days, oldest first; the last bucket is today.
    pub daily: Vec<Bucket>,
}

/// A platform key's use over the whole log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KeyUsage {
    pub key_id: String,
    pub requests: u64,
    pub tokens: i64,
    /// Unix milliseconds of the newest request.
    pub last_ms: Option<i64>,
}

/// Bucket boundaries `[start, end)` in Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranges {
    pub today_start: i64,
    pub hours: Vec<(i64, i64)>,
    pub days: Vec<(i64, i64)>,
}

/// Local midnight at the start of `date`; on a day that starts inside a DST gap, the first
/// instant that exists.
fn local_midnight<Tz: TimeZone>(tz: &Tz, date: chrono::NaiveDate) -> i64 {
    let naive = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&naive).earliest() {
        Some(at) => at.timestamp_millis(),
        None => tz.from_utc_datetime(&naive).timestamp_millis(),
    }
}

/// The buckets the dashboard shows at `now`.
pub fn ranges_at<Tz: TimeZone>(now: &DateTime<Tz>) -> Ranges {
    let tz = now.timezone();
    let today = now.date_naive();
    let hour_start = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .map_or_else(|| now.timestamp_millis(), |t| t.timestamp_millis());
    let hour = Duration::hours(1).num_milliseconds();
    let hours = (0..HOURS as i64)
        .rev()
        .map(|back| {
            let start = hour_start - back * hour;
            (start, start + hour)
        })
        .collect();
    let days = (0..DAYS as i64)
        .rev()
        .map(|back| {
            let date = today - Duration::days(back);
            (local_midnight(&tz, date), local_midnight(&tz, date + Duration::days(1)))
        })
        .collect();
    Ranges { today_start: local_midnight(&tz, today), hours, days }
}

fn totals_since(conn: &Connection, since: i64) -> Result<Totals, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(successes), 0), COALESCE(SUM(input_tokens), 0),
                COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(reasoning_tokens), 0)
         FROM request_stats WHERE slot >= ?1",
    )?;
    Ok(stmt.query_row([since], |row| {
        Ok(Totals {
            requests: row.get::<_, i64>(0)?.max(0) as u64,
            successes: row.get::<_, i64>(1)?.max(0) as u64,
            input_tokens: row.get(2)?,
            cached_tokens: row.get(3)?,
            output_tokens: row.get(4)?,
            reasoning_tokens: row.get(5)?,
        })
    })?)
}

/// One aggregate per range, from the 15-minute totals (range bounds are local hours and
/// midnights, which fall on slot boundaries): each range is a slice of the primary key.
fn bucketed(conn: &Connection, ranges: &[(i64, i64)]) -> Result<Vec<Bucket>, StoreError> {
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let values = vec!["(?, ?, ?)"; ranges.len()].join(", ");
    let sql = format!(
        "WITH b(i, lo, hi) AS (VALUES {values})
         SELECT b.i, COALESCE(SUM(s.requests), 0), COALESCE(SUM(s.input_tokens + s.output_tokens), 0)
         FROM b LEFT JOIN request_stats s ON s.slot >= b.lo AND s.slot < b.hi
         GROUP BY b.i ORDER BY b.i"
    );
    let mut args: Vec<i64> = Vec::with_capacity(ranges.len() * 3);
    for (i, (lo, hi)) in ranges.iter().enumerate() {
        args.extend([i as i64, *lo, *hi]);
    }
    let refs: Vec<&dyn ToSql> = args.iter().map(|a| a as &dyn ToSql).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut buckets: Vec<Bucket> = ranges.iter().map(|(lo, _)| Bucket { start_ms: *lo, ..Bucket::default() }).collect();
    let rows = stmt
        .query_map(refs.as_slice(), |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?)))?;
    for row in rows {
        let (i, requests, tokens) = row?;
        if let Some(bucket) = usize::try_from(i).ok().and_then(|i| buckets.get_mut(i)) {
            bucket.requests = requests.max(0) as u64;
            bucket.tokens = tokens;
        }
    }
    Ok(buckets)
}

/// The dashboard's figures for the given bucket boundaries.
pub(super) fn dashboard(conn: &Connection, ranges: &Ranges) -> Result<DashboardStats, StoreError> {
    Ok(DashboardStats {
        today: totals_since(conn, ranges.today_start)?,
        hourly: bucketed(conn, &ranges.hours)?,
        daily: bucketed(conn, &ranges.days)?,
    })
}

pub(super) fn key_usage(conn: &Connection) -> Result<Vec<KeyUsage>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, SUM(requests), SUM(input_tokens + output_tokens), MAX(last_ts)
         FROM request_stats WHERE key_id <> '' GROUP BY key_id",
    )?;
    let rows = stmt
        .query_map([], |row| {
            Ok(KeyUsage {
                key_id: row.get(0)?,
                requests: row.get::<_, i64>(1)?.max(0) as u64,
                tokens: row.get(2)?,
                last_ms: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone};

    use super::*;
    use crate::store::logs::{LogRow, insert_batch};
    use crate::store::sqlite::Sqlite;

    fn row(ts: i64, status: u16, key: Option<&str>, input: i64, output: i64) -> LogRow {
        LogRow {
            ts,
            key_id: key.map(str::to_string),
            method: "POST".into(),
            path: "/v1/responses".into(),
            status,
            input_tokens: Some(input),
            cached_tokens: Some(input / 2),
            output_tokens: Some(output),
            reasoning_tokens: Some(output / 4),
            attempts: 1,
            ..LogRow::default()
        }
    }

    #[test]
    fn buckets_follow_local_hours_and_days() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let now = tz.with_ymd_and_hms(2026, 3, 10, 14, 25, 0).unwrap();
        let ranges = ranges_at(&now);
        assert_eq!(ranges.hours.len(), HOURS);
        assert_eq!(ranges.days.len(), DAYS);
        let today = tz.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap().timestamp_millis();
        assert_eq!(ranges.today_start, today);
        assert_eq!(ranges.days.last().unwrap(), &(today, today + 86_400_000));
        let hour = tz.with_ymd_and_hms(2026, 3, 10, 14, 0, 0).unwrap().timestamp_millis();
        assert_eq!(ranges.hours.last().unwrap(), &(hour, hour + 3_600_000));
        assert_eq!(ranges.hours[0].0, hour - 23 * 3_600_000);
    }

    #[test]
    fn aggregates_count_requests_tokens_and_successes_per_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("s.db")).unwrap();
        let tz = FixedOffset::east_opt(0).unwrap();
        let now = tz.with_ymd_and_hms(2026, 3, 10, 12, 30, 0).unwrap();
        let at = |h: u32, m: u32| tz.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap().timestamp_millis();
        let yesterday = tz.with_ymd_and_hms(2026, 3, 9, 23, 0, 0).unwrap().timestamp_millis();
        let rows = vec![
            row(at(12, 5), 200, Some("k1"), 100, 10),
            row(at(12, 10), 500, Some("k1"), 50, 0),
            row(at(11, 59), 200, Some("k2"), 10, 5),
            row(yesterday, 429, None, 1, 1),
        ];
        store.with(|conn| insert_batch(conn, &rows)).unwrap();
        let stats = store.with(|conn| dashboard(conn, &ranges_at(&now))).unwrap();
        assert_eq!(stats.today.requests, 3);
        assert_eq!(stats.today.successes, 2);
        assert_eq!(stats.today.input_tokens, 160);
        assert_eq!(stats.today.cached_tokens, 80);
        assert_eq!(stats.today.output_tokens, 15);
        let last = stats.hourly.last().unwrap();
        assert_eq!((last.requests, last.tokens), (2, 160));
        assert_eq!(stats.hourly[HOURS - 2].requests, 1);
        assert_eq!(stats.daily.last().unwrap().requests, 3);
        assert_eq!(stats.daily[DAYS - 2].requests, 1);
        assert_eq!(stats.hourly.iter().map(|b| b.requests).sum::<u64>(), 4);

        let mut keys = store.with(|conn| key_usage(conn)).unwrap();
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        assert_eq!(keys.len(), 2);
        assert_eq!((keys[0].requests, keys[0].tokens, keys[0].last_ms), (2, 160, Some(at(12, 10))));
    }

    #[test]
    fn bucket_queries_search_the_slot_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("p.db")).unwrap();
        let plan: Vec<String> = store
            .with(|conn| {
                let mut stmt = conn.prepare(
                    "EXPLAIN QUERY PLAN WITH b(i, lo, hi) AS (VALUES (0, 1, 2), (1, 2, 3))
                     SELECT b.i, SUM(s.requests) FROM b LEFT JOIN request_stats s ON s.slot >= b.lo AND s.slot < b.hi
                     GROUP BY b.i",
                )?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(3))?.collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .unwrap();
        assert!(plan.iter().any(|step| step.contains("SEARCH s USING PRIMARY KEY (slot>? AND slot<?)")), "{plan:?}");
    }

    #[test]
    fn totals_survive_the_upgrade_and_follow_new_rows_and_clearing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.db");
        let store = Sqlite::open(&path).unwrap();
        let tz = FixedOffset::east_opt(0).unwrap();
        let now = tz.with_ymd_and_hms(2026, 3, 10, 12, 30, 0).unwrap();
        let at = |h: u32, m: u32| tz.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap().timestamp_millis();
        store.with(|conn| insert_batch(conn, &[row(at(9, 1), 200, Some("k1"), 7, 3)])).unwrap();
        // As a version-2 database: its rows but no totals, then the upgrade builds them.
        store
            .with(|conn| {
                conn.execute_batch(
                    "DROP TABLE request_stats; DROP TABLE refresh_leases;
                     ALTER TABLE accounts DROP COLUMN cooldown_reason; ALTER TABLE accounts DROP COLUMN proxy;
                     ALTER TABLE accounts DROP COLUMN proxy_sealed; ALTER TABLE platform_keys DROP COLUMN policy;
                     ALTER TABLE request_logs DROP COLUMN request_id;
                     PRAGMA user_version = 2;",
                )?;
                Ok(())
            })
            .unwrap();
        drop(store);
        let store = Sqlite::open(&path).unwrap();
        let today = |store: &Sqlite| store.with(|c| dashboard(c, &ranges_at(&now))).unwrap().today;
        assert_eq!((today(&store).requests, today(&store).input_tokens), (1, 7));

        store.with(|conn| insert_batch(conn, &[row(at(9, 2), 500, Some("k1"), 1, 1)])).unwrap();
        let keys = store.with(|conn| key_usage(conn)).unwrap();
        assert_eq!((keys[0].requests, keys[0].tokens, keys[0].last_ms), (2, 12, Some(at(9, 2))));
        assert_eq!((today(&store).requests, today(&store).successes), (2, 1));

        store.with(crate::store::logs::clear).unwrap();
        assert_eq!(today(&store).requests, 0);
        assert!(store.with(|conn| key_usage(conn)).unwrap().is_empty());
    }
}
