//! The `usage_snapshots` table: each account's latest 5-hour (primary) and weekly
//! (secondary) window, from the usage endpoint or from response headers.
//!
//! The row types are every backend's; the functions are the SQLite statements.

use rusqlite::{Connection, Row, params};

use super::StoreError;

/// One rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Window {
    pub used_percent: f64,
    pub window_minutes: Option<i64>,
    /// Unix seconds.
    pub resets_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct UsageSnapshot {
    pub account_id: String,
    pub captured_at: i64,
    /// `poll` (usage endpoint) or `headers` (a gateway response).
    pub source: String,
    pub plan: Option<String>,
    pub primary: Option<Window>,
    pub secondary: Option<Window>,
    pub credits_has: Option<bool>,
    pub credits_unlimited: Option<bool>,
    pub credits_balance: Option<String>,
    pub limit_reached: Option<bool>,
}

fn window(row: &Row<'_>, at: usize) -> rusqlite::Result<Option<Window>> {
    let used: Option<f64> = row.get(at)?;
    Ok(used.map(|used_percent| Window {
        used_percent,
        window_minutes: row.get(at + 1).ok().flatten(),
        resets_at: row.get(at + 2).ok().flatten(),
    }))
}

pub(super) fn all(conn: &Connection) -> Result<Vec<UsageSnapshot>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT account_id, captured_at, source, plan, primary_used_percent, primary_window_minutes,
                primary_resets_at, secondary_used_percent, secondary_window_minutes, secondary_resets_at,
                credits_has, credits_unlimited, credits_balance, limit_reached
         FROM usage_snapshots",
    )?;
    let rows = stmt
        .query_map([], |row| {
            Ok(UsageSnapshot {
                account_id: row.get(0)?,
                captured_at: row.get(1)?,
                source: row.get(2)?,
                plan: row.get(3)?,
                primary: window(row, 4)?,
                secondary: window(row, 7)?,
                credits_has: row.get(10)?,
                credits_unlimited: row.get(11)?,
                credits_balance: row.get(12)?,
                limit_reached: row.get(13)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Replaces each account's snapshot, all in one transaction.
pub(super) fn put_many(conn: &mut Connection, snapshots: &[UsageSnapshot]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO usage_snapshots VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for s in snapshots {
            let p = s.primary.as_ref();
            let q = s.secondary.as_ref();
            // A snapshot for an account deleted meanwhile is dropped, not an error.
            let exists: bool = tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM accounts WHERE id = ?1)")?
                .query_row([&s.account_id], |row| row.get(0))?;
            if !exists {
                continue;
            }
            stmt.execute(params![
                s.account_id,
                s.captured_at,
                s.source,
                s.plan,
                p.map(|w| w.used_percent),
                p.and_then(|w| w.window_minutes),
                p.and_then(|w| w.resets_at),
                q.map(|w| w.used_percent),
                q.and_then(|w| w.window_minutes),
                q.and_then(|w| w.resets_at),
                s.credits_has,
                s.credits_unlimited,
                s.credits_balance,
                s.limit_reached,
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}
