//! The `model_cache` table: the upstream's model list, so `/v1/models` answers at once
//! after a restart.
//!
//! The row types are every backend's; the functions are the SQLite statements.

use rusqlite::{Connection, params};

use super::{StoreError, now_secs};

#[derive(Debug, Clone, PartialEq)]
pub struct CachedModel {
    pub slug: String,
    pub display_name: Option<String>,
    /// The upstream's full JSON entry.
    pub raw: String,
}

pub(super) fn list(conn: &Connection) -> Result<Vec<CachedModel>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT slug, display_name, raw FROM model_cache ORDER BY position")?;
    let rows = stmt
        .query_map([], |row| Ok(CachedModel { slug: row.get(0)?, display_name: row.get(1)?, raw: row.get(2)? }))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Replaces the whole list in one transaction.
pub(super) fn replace(conn: &mut Connection, models: &[CachedModel]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM model_cache", [])?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO model_cache (slug, display_name, raw, position, fetched_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (position, m) in models.iter().enumerate() {
            stmt.execute(params![m.slug, m.display_name, m.raw, position as i64, now_secs()])?;
        }
    }
    tx.commit()?;
    Ok(())
}
