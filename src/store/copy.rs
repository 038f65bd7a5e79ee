//! `codexmanager migrate`: copies an SQLite database into an empty PostgreSQL database in one
//! PostgreSQL transaction — accounts with their sealed tokens, cooldowns and usage, platform
//! keys, settings, the vault's id and check value, the model cache and the 15-minute request
//! totals; request-log rows too when asked. Sealed blobs are copied as they are: the target
//! opens them with the same master key. A target that holds any data is refused untouched.

use serde::Serialize;

use super::postgres::{self, ops};
use super::sqlite::Sqlite;
use super::{StoreError, accounts, keys, logs, models, settings, usage};

/// Request-log rows read and written per step.
const LOG_PAGE: i64 = 5_000;

/// What a copy wrote, table by table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyReport {
    pub accounts: usize,
    pub sealed_token_sets: usize,
    /// Accounts whose cooldown was still running.
    pub cooldowns: usize,
    pub usage_snapshots: usize,
    pub keys: usize,
    pub settings: usize,
    pub meta_values: usize,
    pub cached_models: usize,
    pub stats_slots: usize,
    /// `None` when the logs were not asked for.
    pub log_rows: Option<u64>,
}

/// Everything but the request log, read in one SQLite transaction.
struct Source {
    accounts: Vec<accounts::AccountRow>,
    tokens: super::SealedTokens,
    usage: Vec<usage::UsageSnapshot>,
    keys: Vec<keys::KeyRow>,
    settings: Vec<(String, String)>,
    meta: Vec<(String, Vec<u8>)>,
    models: Vec<models::CachedModel>,
    stats: Vec<logs::SlotSum>,
    last_log_id: i64,
}

fn read_source(conn: &rusqlite::Connection) -> Result<Source, StoreError> {
    Ok(Source {
        accounts: accounts::list(conn)?,
        tokens: accounts::all_tokens(conn)?,
        usage: usage::all(conn)?,
        keys: keys::list(conn)?,
        settings: settings::all(conn)?.into_iter().collect(),
        meta: settings::meta_all(conn)?,
        models: models::list(conn)?,
        stats: logs::all_stats(conn)?,
        last_log_id: logs::last_id(conn)?,
    })
}

/// Copies `source` into the PostgreSQL database at `url` (migrated first, and empty).
pub(super) async fn sqlite_to_postgres(source: &Sqlite, url: &str, with_logs: bool) -> Result<CopyReport, StoreError> {
    let target = postgres::Postgres::open(url).await?;
    let data = source.read_tx(read_source).await?;
    let mut conn = target.conn().await?;
    let tx = conn.transaction().await?;
    tx.batch_execute(
        "LOCK TABLE meta, settings, accounts, account_tokens, usage_snapshots, platform_keys, request_logs,
              request_stats, model_cache IN ACCESS EXCLUSIVE MODE",
    )
    .await?;
    let held: Vec<String> = tx
        .query(
            "SELECT name FROM (VALUES
               ('accounts', (SELECT COUNT(*) FROM accounts)), ('platform keys', (SELECT COUNT(*) FROM platform_keys)),
               ('settings', (SELECT COUNT(*) FROM settings)), ('meta values', (SELECT COUNT(*) FROM meta)),
               ('request-log rows', (SELECT COUNT(*) FROM request_logs)),
               ('request totals', (SELECT COUNT(*) FROM request_stats))) AS t(name, n)
             WHERE n > 0",
            &[],
        )
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, tokio_postgres::Error>>()?;
    if !held.is_empty() {
        return Err(StoreError::TargetNotEmpty { url: target.shown().to_string(), holds: held.join(", ") });
    }
    for (key, value) in &data.meta {
        tx.execute("INSERT INTO meta (key, value) VALUES ($1, $2)", &[key, value]).await?;
    }
    for (key, value) in &data.settings {
        tx.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)",
            &[key, value, &super::now_secs()],
        )
        .await?;
    }
    for account in &data.accounts {
        ops::upsert_account(&tx, account).await?;
    }
    for (id, sealed) in &data.tokens {
        ops::put_tokens(&tx, id, sealed).await?;
    }
    ops::upsert_usage_in(&tx, data.usage.iter()).await?;
    for key in &data.keys {
        ops::insert_key_in(&tx, key).await?;
    }
    for (position, model) in data.models.iter().enumerate() {
        tx.execute(
            "INSERT INTO model_cache (slug, display_name, raw, position, fetched_at) VALUES ($1, $2, $3, $4, $5)",
            &[&model.slug, &model.display_name, &model.raw, &(position as i64), &super::now_secs()],
        )
        .await?;
    }
    ops::add_stats_in(&tx, &data.stats).await?;
    let log_rows = if with_logs {
        let mut copied = 0u64;
        let mut after = 0;
        loop {
            let last = data.last_log_id;
            let page = source.read(move |conn| logs::rows_after(conn, after, last, LOG_PAGE)).await?;
            let Some(tail) = page.last() else { break };
            after = tail.id;
            ops::insert_log_rows_in(&tx, &page, None, true).await?;
            copied += page.len() as u64;
        }
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('request_logs', 'id'), GREATEST((SELECT MAX(id) FROM request_logs), 1))",
            &[],
        )
        .await?;
        Some(copied)
    } else {
        None
    };
    tx.commit().await?;
    let now = super::now_secs();
    Ok(CopyReport {
        accounts: data.accounts.len(),
        sealed_token_sets: data.tokens.len(),
        cooldowns: data.accounts.iter().filter(|a| a.cooldown_until.is_some_and(|until| until > now)).count(),
        usage_snapshots: data.usage.len(),
        keys: data.keys.len(),
        settings: data.settings.len(),
        meta_values: data.meta.len(),
        cached_models: data.models.len(),
        stats_slots: data.stats.len(),
        log_rows,
    })
}
