//! The `settings` and `meta` tables: stored app settings (by `appSettings` key) and
//! internal values such as the vault's id and check blob.
//!
//! The row types are every backend's; the functions are the SQLite statements.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, now_secs};

pub(super) fn all(conn: &Connection) -> Result<HashMap<String, String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM settings")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Writes several settings in one transaction.
pub(super) fn put_many(conn: &mut Connection, values: &[(String, String)]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )?;
        for (key, value) in values {
            stmt.execute(params![key, value, now_secs()])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn meta_get(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0)).optional()?)
}

/// Every meta value (for a copy to another database).
pub(super) fn meta_all(conn: &Connection) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM meta ORDER BY key")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Sets a meta value only if it is not set yet; returns the value now stored.
pub(super) fn meta_get_or_insert(conn: &Connection, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)", params![key, value])?;
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0))?)
}
