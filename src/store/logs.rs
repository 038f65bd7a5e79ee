//! The `request_logs` table: one row per gateway request, written in batches, read page by
//! page (newest first) with filters on time, status class and text.
//!
//! The row types are every backend's; the functions are the SQLite statements.

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LogRow {
    pub id: i64,
    /// Unix milliseconds.
    pub ts: i64,
    pub key_id: Option<String>,
    pub account_id: Option<String>,
    /// What served the request when it was not a pooled account (an Azure endpoint).
    pub upstream: Option<String>,
    pub method: String,
    pub path: String,
    pub model: Option<String>,
    pub reasoning_effort: Option<String>,
    pub status: u16,
    pub duration_ms: i64,
    pub first_byte_ms: Option<i64>,
    pub input_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    pub attempts: i64,
    pub error: Option<String>,
    /// Whether the request counts against its key's quota: every request its key's own
    /// limits did not refuse. Not stored per row; summed into `request_stats`.
    #[serde(skip)]
    pub counted: bool,
    /// The client's `x-request-id`, or the one the gateway made.
    pub request_id: Option<String>,
    /// The instance that served it, on a database several instances share (PostgreSQL);
    /// filled when read back, set by the store when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// Which rows a page query returns.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LogFilter {
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// 2, 4 or 5 for 2xx, 4xx, 5xx.
    pub status_class: Option<u16>,
    /// Matched against path, model, account, key and error.
    pub text: Option<String>,
    pub account_id: Option<String>,
    pub key_id: Option<String>,
    /// One exact status code.
    pub status: Option<u16>,
    /// The HTTP method, exactly (`POST`).
    pub method: Option<String>,
    /// The model the request named, exactly.
    pub model: Option<String>,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<LogRow> {
    Ok(LogRow {
        id: row.get(0)?,
        ts: row.get(1)?,
        key_id: row.get(2)?,
        account_id: row.get(3)?,
        upstream: row.get(4)?,
        method: row.get(5)?,
        path: row.get(6)?,
        model: row.get(7)?,
        reasoning_effort: row.get(8)?,
        status: row.get(9)?,
        duration_ms: row.get(10)?,
        first_byte_ms: row.get(11)?,
        input_tokens: row.get(12)?,
        cached_tokens: row.get(13)?,
        output_tokens: row.get(14)?,
        reasoning_tokens: row.get(15)?,
        attempts: row.get(16)?,
        error: row.get(17)?,
        counted: false,
        request_id: row.get(18)?,
        instance: None,
    })
}

pub(super) fn insert_batch(conn: &mut Connection, rows: &[LogRow]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO request_logs (ts, key_id, account_id, upstream, method, path, model, reasoning_effort, status,
               duration_ms, first_byte_ms, input_tokens, cached_tokens, output_tokens, reasoning_tokens, attempts, error,
               request_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        for r in rows {
            stmt.execute(params![
                r.ts,
                r.key_id,
                r.account_id,
                r.upstream,
                r.method,
                r.path,
                r.model,
                r.reasoning_effort,
                r.status,
                r.duration_ms,
                r.first_byte_ms,
                r.input_tokens,
                r.cached_tokens,
                r.output_tokens,
                r.reasoning_tokens,
                r.attempts,
                r.error,
                r.request_id,
            ])?;
        }
    }
    add_to_stats(&tx, rows)?;
    tx.commit()?;
    Ok(())
}

/// Deletes at most `batch` of the oldest request-log rows that are older than `before_ms` or
/// beyond the newest `max_rows` (0 = no cap); returns how many went.
pub(super) fn prune_batch(conn: &Connection, before_ms: i64, max_rows: i64, batch: i64) -> Result<usize, StoreError> {
    let cutoff_id: i64 = if max_rows > 0 {
        conn.prepare_cached("SELECT id FROM request_logs ORDER BY id DESC LIMIT 1 OFFSET ?1")?
            .query_row([max_rows], |row| row.get(0))
            .optional()?
            .unwrap_or(0)
    } else {
        0
    };
    let deleted = conn
        .prepare_cached(
            "DELETE FROM request_logs WHERE id IN
               (SELECT id FROM request_logs WHERE ts < ?1 OR id <= ?2 ORDER BY id LIMIT ?3)",
        )?
        .execute(params![before_ms, cutoff_id, batch])?;
    Ok(deleted)
}

/// Deletes `request_stats` slots older than `before_ms`.
pub(super) fn prune_stats(conn: &Connection, before_ms: i64) -> Result<usize, StoreError> {
    Ok(conn.prepare_cached("DELETE FROM request_stats WHERE slot < ?1")?.execute([before_ms])?)
}

/// A slot's use by one key: requests that count against its quota, input + output tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotUse {
    pub key_id: String,
    /// Unix milliseconds at the slot's start.
    pub slot: i64,
    pub counted: i64,
    pub tokens: i64,
    pub requests: i64,
    pub errors: i64,
}

/// Every key's use per slot since `since_ms` (slots of keys only).
pub(super) fn slot_use_since(
    conn: &Connection,
    since_ms: i64,
    key_id: Option<&str>,
) -> Result<Vec<SlotUse>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, slot, counted, input_tokens + output_tokens, requests, requests - successes
         FROM request_stats WHERE slot >= ?1 AND key_id != '' AND (?2 IS NULL OR key_id = ?2) ORDER BY slot",
    )?;
    let rows = stmt
        .query_map(params![since_ms, key_id], |row| {
            Ok(SlotUse {
                key_id: row.get(0)?,
                slot: row.get(1)?,
                counted: row.get(2)?,
                tokens: row.get(3)?,
                requests: row.get(4)?,
                errors: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The length of a `request_stats` slot.
pub const STATS_SLOT_MS: i64 = 15 * 60 * 1000;

/// One slot's and key's sums over a batch of rows, added to `request_stats`.
#[derive(Debug, Default)]
pub(super) struct SlotSum {
    pub slot: i64,
    pub key_id: String,
    pub requests: i64,
    pub successes: i64,
    pub counted: i64,
    /// Input, cached, output and reasoning tokens.
    pub tokens: [i64; 4],
    pub last_ts: i64,
}

/// The batch's sums per 15-minute slot and key.
pub(super) fn slot_sums(rows: &[LogRow]) -> Vec<SlotSum> {
    let mut slots: std::collections::HashMap<(i64, &str), SlotSum> = std::collections::HashMap::new();
    for r in rows {
        let slot = r.ts.div_euclid(STATS_SLOT_MS) * STATS_SLOT_MS;
        let key_id = r.key_id.as_deref().unwrap_or_default();
        let sums = slots.entry((slot, key_id)).or_insert_with(|| SlotSum {
            slot,
            key_id: key_id.to_string(),
            ..SlotSum::default()
        });
        sums.requests += 1;
        sums.successes += i64::from((200..300).contains(&r.status));
        sums.counted += i64::from(r.counted);
        for (sum, value) in
            sums.tokens.iter_mut().zip([r.input_tokens, r.cached_tokens, r.output_tokens, r.reasoning_tokens])
        {
            *sum += value.unwrap_or(0);
        }
        sums.last_ts = sums.last_ts.max(r.ts);
    }
    slots.into_values().collect()
}

/// Every row of `request_stats` (for a copy to another database).
pub(super) fn all_stats(conn: &Connection) -> Result<Vec<SlotSum>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT slot, key_id, requests, successes, counted, input_tokens, cached_tokens, output_tokens,
                reasoning_tokens, last_ts
         FROM request_stats ORDER BY slot, key_id",
    )?;
    let rows = stmt
        .query_map([], |row| {
            Ok(SlotSum {
                slot: row.get(0)?,
                key_id: row.get(1)?,
                requests: row.get(2)?,
                successes: row.get(3)?,
                counted: row.get(4)?,
                tokens: [row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?],
                last_ts: row.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Up to `limit` rows with ids above `after_id` and at most `last_id`, in id order (for a
/// copy to another database).
pub(super) fn rows_after(
    conn: &Connection,
    after_id: i64,
    last_id: i64,
    limit: i64,
) -> Result<Vec<LogRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM request_logs WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![after_id, last_id, limit], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The largest request-log id (0 without rows).
pub(super) fn last_id(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) FROM request_logs", [], |row| row.get(0))?)
}

/// Adds the rows to `request_stats`, one upsert per slot and key.
fn add_to_stats(tx: &rusqlite::Transaction<'_>, rows: &[LogRow]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO request_stats (slot, key_id, requests, successes, input_tokens, cached_tokens, output_tokens,
           reasoning_tokens, last_ts, counted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (slot, key_id) DO UPDATE SET requests = requests + excluded.requests,
           counted = counted + excluded.counted,
           successes = successes + excluded.successes, input_tokens = input_tokens + excluded.input_tokens,
           cached_tokens = cached_tokens + excluded.cached_tokens, output_tokens = output_tokens + excluded.output_tokens,
           reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, last_ts = MAX(last_ts, excluded.last_ts)",
    )?;
    for s in slot_sums(rows) {
        let [input, cached, output, reasoning] = s.tokens;
        stmt.execute(params![
            s.slot,
            s.key_id,
            s.requests,
            s.successes,
            input,
            cached,
            output,
            reasoning,
            s.last_ts,
            s.counted
        ])?;
    }
    Ok(())
}

/// A value a filter compares with.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Int(i64),
    Text(String),
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(value) => value.to_sql(),
            Arg::Text(value) => value.to_sql(),
        }
    }
}

/// The `WHERE` clause of a filter, in SQL both backends speak (`?` for each value, in the
/// order of the values returned), and its values. Text matches ignore case.
pub(super) fn where_clause(filter: &LogFilter) -> (String, Vec<Arg>) {
    let mut parts: Vec<&str> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    if let Some(since) = filter.since {
        parts.push("ts >= ?");
        args.push(Arg::Int(since));
    }
    if let Some(until) = filter.until {
        parts.push("ts <= ?");
        args.push(Arg::Int(until));
    }
    if let Some(class) = filter.status_class {
        parts.push("status >= ? AND status < ?");
        args.push(Arg::Int(i64::from(class) * 100));
        args.push(Arg::Int(i64::from(class) * 100 + 100));
    }
    if let Some(account) = &filter.account_id {
        parts.push("account_id = ?");
        args.push(Arg::Text(account.clone()));
    }
    if let Some(key) = &filter.key_id {
        parts.push("key_id = ?");
        args.push(Arg::Text(key.clone()));
    }
    if let Some(status) = filter.status {
        parts.push("status = ?");
        args.push(Arg::Int(i64::from(status)));
    }
    if let Some(method) = &filter.method {
        parts.push("lower(method) = ?");
        args.push(Arg::Text(method.to_lowercase()));
    }
    if let Some(model) = &filter.model {
        parts.push("lower(model) = ?");
        args.push(Arg::Text(model.to_lowercase()));
    }
    if let Some(text) = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        parts.push(
            "(lower(path) LIKE ? ESCAPE '\\' OR lower(model) LIKE ? ESCAPE '\\' OR lower(account_id) LIKE ? ESCAPE '\\' \
             OR lower(key_id) LIKE ? ESCAPE '\\' OR lower(error) LIKE ? ESCAPE '\\' OR lower(upstream) LIKE ? ESCAPE '\\' \
             OR request_id = ?)",
        );
        let lowered = text.to_lowercase();
        let pattern = format!("%{}%", lowered.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        for _ in 0..6 {
            args.push(Arg::Text(pattern.clone()));
        }
        args.push(Arg::Text(text.to_string()));
    }
    let clause = if parts.is_empty() { String::new() } else { format!("WHERE {}", parts.join(" AND ")) };
    (clause, args)
}

/// The columns a page selects, in [`LogRow`]'s order.
pub(super) const COLUMNS: &str = "id, ts, key_id, account_id, upstream, method, path, model, reasoning_effort, status, \
     duration_ms, first_byte_ms, input_tokens, cached_tokens, output_tokens, reasoning_tokens, attempts, error, request_id";

/// One page of rows, newest first.
pub(super) fn page(conn: &Connection, filter: &LogFilter, offset: u64, limit: u64) -> Result<Vec<LogRow>, StoreError> {
    let (clause, mut args) = where_clause(filter);
    args.push(Arg::Int(limit as i64));
    args.push(Arg::Int(offset as i64));
    let sql = format!("SELECT {COLUMNS} FROM request_logs {clause} ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?");
    let mut stmt = conn.prepare_cached(&sql)?;
    let refs: Vec<&dyn ToSql> = args.iter().map(|a| a as &dyn ToSql).collect();
    let rows = stmt.query_map(refs.as_slice(), from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn count(conn: &Connection, filter: &LogFilter) -> Result<u64, StoreError> {
    let (clause, args) = where_clause(filter);
    let refs: Vec<&dyn ToSql> = args.iter().map(|a| a as &dyn ToSql).collect();
    let n: i64 =
        conn.query_row(&format!("SELECT COUNT(*) FROM request_logs {clause}"), refs.as_slice(), |r| r.get(0))?;
    Ok(n as u64)
}

/// Deletes every row and the totals kept from them; returns how many rows there were.
pub(super) fn clear(conn: &mut Connection) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let cleared = tx.execute("DELETE FROM request_logs", [])?;
    tx.execute("DELETE FROM request_stats", [])?;
    tx.commit()?;
    Ok(cleared)
}
