//! Every store operation in PostgreSQL's dialect, one method each, on pooled connections.
//! Writes that belong together run in one transaction; account writes lock the accounts
//! table against other writers first, so two instances importing the same person at once
//! update one row instead of failing on the identity.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::super::accounts::{self, AccountRow, AccountStatus, AccountWrite, Existing, Select};
use super::super::keys::{self, KeyPolicy, KeyProtocol, KeyRow};
use super::super::logs::{self, Arg, LogFilter, LogRow, SlotSum, SlotUse};
use super::super::models::CachedModel;
use super::super::stats::{Bucket, DashboardStats, KeyUsage, Ranges, Totals};
use super::super::usage::{UsageSnapshot, Window};
use super::super::{Change, SealedTokens, StoreError, Stored, now_secs};
use super::Postgres;

type Param<'a> = &'a (dyn ToSql + Sync);

/// `sql` with each `?` replaced by `$n`, numbered from `first`.
fn numbered(sql: &str, first: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = first;
    for c in sql.chars() {
        if c == '?' {
            out.push('$');
            out.push_str(&n.to_string());
            n += 1;
        } else {
            out.push(c);
        }
    }
    out
}

fn arg_param(arg: &Arg) -> Param<'_> {
    match arg {
        Arg::Int(value) => value,
        Arg::Text(value) => value,
    }
}

fn account_from(row: &Row) -> Result<AccountRow, tokio_postgres::Error> {
    let tags: String = row.try_get(8)?;
    let status: String = row.try_get(11)?;
    Ok(AccountRow {
        id: row.try_get(0)?,
        identity: row.try_get(1)?,
        label: row.try_get(2)?,
        email: row.try_get(3)?,
        chatgpt_account_id: row.try_get(4)?,
        chatgpt_user_id: row.try_get(5)?,
        plan: row.try_get(6)?,
        group_name: row.try_get(7)?,
        tags: accounts::tags_from_text(&tags),
        note: row.try_get(9)?,
        sort: row.try_get(10)?,
        status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Unavailable),
        status_reason: row.try_get(12)?,
        created_at: row.try_get(13)?,
        updated_at: row.try_get(14)?,
        last_refresh_at: row.try_get(15)?,
        access_expires_at: row.try_get(16)?,
        cooldown_until: row.try_get(17)?,
        cooldown_reason: row.try_get(18)?,
        proxy: row.try_get(19)?,
        proxy_sealed: row.try_get(20)?,
    })
}

fn key_from(row: &Row) -> Result<KeyRow, tokio_postgres::Error> {
    let protocol: String = row.try_get(4)?;
    let policy: String = row.try_get(12)?;
    Ok(KeyRow {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        key_hash: row.try_get(2)?,
        key_prefix: row.try_get(3)?,
        protocol: KeyProtocol::parse(&protocol).unwrap_or(KeyProtocol::Openai),
        model: row.try_get(5)?,
        azure_endpoint: row.try_get(6)?,
        azure_api_version: row.try_get(7)?,
        sealed_azure_key: row.try_get(8)?,
        enabled: row.try_get(9)?,
        created_at: row.try_get(10)?,
        last_used_at: row.try_get(11)?,
        policy: keys::policy_from_text(&policy),
    })
}

fn window(row: &Row, at: usize) -> Result<Option<Window>, tokio_postgres::Error> {
    let used: Option<f64> = row.try_get(at)?;
    Ok(match used {
        Some(used_percent) => {
            Some(Window { used_percent, window_minutes: row.try_get(at + 1)?, resets_at: row.try_get(at + 2)? })
        }
        None => None,
    })
}

fn usage_from(row: &Row) -> Result<UsageSnapshot, tokio_postgres::Error> {
    Ok(UsageSnapshot {
        account_id: row.try_get(0)?,
        captured_at: row.try_get(1)?,
        source: row.try_get(2)?,
        plan: row.try_get(3)?,
        primary: window(row, 4)?,
        secondary: window(row, 7)?,
        credits_has: row.try_get(10)?,
        credits_unlimited: row.try_get(11)?,
        credits_balance: row.try_get(12)?,
        limit_reached: row.try_get(13)?,
    })
}

fn log_from(row: &Row) -> Result<LogRow, tokio_postgres::Error> {
    let status: i64 = row.try_get(9)?;
    Ok(LogRow {
        id: row.try_get(0)?,
        ts: row.try_get(1)?,
        key_id: row.try_get(2)?,
        account_id: row.try_get(3)?,
        upstream: row.try_get(4)?,
        method: row.try_get(5)?,
        path: row.try_get(6)?,
        model: row.try_get(7)?,
        reasoning_effort: row.try_get(8)?,
        status: u16::try_from(status).unwrap_or_default(),
        duration_ms: row.try_get(10)?,
        first_byte_ms: row.try_get(11)?,
        input_tokens: row.try_get(12)?,
        cached_tokens: row.try_get(13)?,
        output_tokens: row.try_get(14)?,
        reasoning_tokens: row.try_get(15)?,
        attempts: row.try_get(16)?,
        error: row.try_get(17)?,
        counted: false,
        request_id: row.try_get(18)?,
        instance: row.try_get(19)?,
    })
}

fn collect<T>(rows: Vec<Row>, from: fn(&Row) -> Result<T, tokio_postgres::Error>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|row| from(row).map_err(StoreError::from)).collect()
}

const USAGE_COLUMNS: &str = "account_id, captured_at, source, plan, primary_used_percent, primary_window_minutes, \
     primary_resets_at, secondary_used_percent, secondary_window_minutes, secondary_resets_at, credits_has, \
     credits_unlimited, credits_balance, limit_reached";

pub(in crate::store) async fn upsert_account(
    client: &impl deadpool_postgres::GenericClient,
    row: &AccountRow,
) -> Result<(), StoreError> {
    let tags = accounts::tags_to_text(&row.tags);
    let sql = format!(
        "INSERT INTO accounts ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT (id) DO UPDATE SET identity = excluded.identity, label = excluded.label, email = excluded.email,
           chatgpt_account_id = excluded.chatgpt_account_id, chatgpt_user_id = excluded.chatgpt_user_id,
           plan = excluded.plan, group_name = excluded.group_name, tags = excluded.tags, note = excluded.note,
           sort = excluded.sort, status = excluded.status, status_reason = excluded.status_reason,
           updated_at = excluded.updated_at, last_refresh_at = excluded.last_refresh_at,
           access_expires_at = excluded.access_expires_at, cooldown_until = excluded.cooldown_until,
           cooldown_reason = excluded.cooldown_reason, proxy = excluded.proxy, proxy_sealed = excluded.proxy_sealed",
        accounts::COLUMNS
    );
    client
        .execute(
            &sql,
            &[
                &row.id,
                &row.identity,
                &row.label,
                &row.email,
                &row.chatgpt_account_id,
                &row.chatgpt_user_id,
                &row.plan,
                &row.group_name,
                &tags,
                &row.note,
                &row.sort,
                &row.status.as_str(),
                &row.status_reason,
                &row.created_at,
                &row.updated_at,
                &row.last_refresh_at,
                &row.access_expires_at,
                &row.cooldown_until,
                &row.cooldown_reason,
                &row.proxy,
                &row.proxy_sealed,
            ],
        )
        .await?;
    Ok(())
}

pub(in crate::store) async fn put_tokens(
    client: &impl deadpool_postgres::GenericClient,
    id: &str,
    sealed: &[u8],
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO account_tokens (account_id, sealed, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
            &[&id, &sealed, &now_secs()],
        )
        .await?;
    Ok(())
}

pub(in crate::store) async fn insert_key_in(
    client: &impl deadpool_postgres::GenericClient,
    row: &KeyRow,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO platform_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        keys::COLUMNS
    );
    let policy = keys::policy_to_text(&row.policy);
    client
        .execute(
            &sql,
            &[
                &row.id,
                &row.name,
                &row.key_hash,
                &row.key_prefix,
                &row.protocol.as_str(),
                &row.model,
                &row.azure_endpoint,
                &row.azure_api_version,
                &row.sealed_azure_key,
                &row.enabled,
                &row.created_at,
                &row.last_used_at,
                &policy,
            ],
        )
        .await?;
    Ok(())
}

/// Inserts or replaces each account's usage snapshot.
pub(in crate::store) async fn upsert_usage_in<'a>(
    client: &impl deadpool_postgres::GenericClient,
    snapshots: impl Iterator<Item = &'a UsageSnapshot>,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO usage_snapshots ({USAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (account_id) DO UPDATE SET captured_at = excluded.captured_at, source = excluded.source,
           plan = excluded.plan, primary_used_percent = excluded.primary_used_percent,
           primary_window_minutes = excluded.primary_window_minutes, primary_resets_at = excluded.primary_resets_at,
           secondary_used_percent = excluded.secondary_used_percent,
           secondary_window_minutes = excluded.secondary_window_minutes,
           secondary_resets_at = excluded.secondary_resets_at, credits_has = excluded.credits_has,
           credits_unlimited = excluded.credits_unlimited, credits_balance = excluded.credits_balance,
           limit_reached = excluded.limit_reached"
    );
    for s in snapshots {
        let (p, q) = (s.primary.as_ref(), s.secondary.as_ref());
        client
            .execute(
                &sql,
                &[
                    &s.account_id,
                    &s.captured_at,
                    &s.source,
                    &s.plan,
                    &p.map(|w| w.used_percent),
                    &p.and_then(|w| w.window_minutes),
                    &p.and_then(|w| w.resets_at),
                    &q.map(|w| w.used_percent),
                    &q.and_then(|w| w.window_minutes),
                    &q.and_then(|w| w.resets_at),
                    &s.credits_has,
                    &s.credits_unlimited,
                    &s.credits_balance,
                    &s.limit_reached,
                ],
            )
            .await?;
    }
    Ok(())
}

/// Rows per `INSERT … SELECT FROM UNNEST` statement.
const LOG_ROWS_PER_STATEMENT: usize = 1_000;

/// Inserts request-log rows, keeping their ids when `with_ids` (a copy from another
/// database) and otherwise letting PostgreSQL number them. Each column goes as one array
/// and a thousand rows are one statement: a row per statement cost the log writer a round
/// trip per request, which under load took a sixth of the gateway's throughput.
pub(in crate::store) async fn insert_log_rows_in(
    client: &impl deadpool_postgres::GenericClient,
    rows: &[LogRow],
    instance: Option<&str>,
    with_ids: bool,
) -> Result<(), StoreError> {
    let columns = "ts, key_id, account_id, upstream, method, path, model, reasoning_effort, status, duration_ms, \
         first_byte_ms, input_tokens, cached_tokens, output_tokens, reasoning_tokens, attempts, error, request_id, instance";
    let arrays = "$1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
         $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], \
         $16::bigint[], $17::text[], $18::text[], $19::text[]";
    let sql = if with_ids {
        format!("INSERT INTO request_logs ({columns}, id) SELECT * FROM UNNEST({arrays}, $20::bigint[])")
    } else {
        format!("INSERT INTO request_logs ({columns}) SELECT * FROM UNNEST({arrays})")
    };
    let insert = client.prepare(&sql).await?;
    for chunk in rows.chunks(LOG_ROWS_PER_STATEMENT) {
        let ints = |field: fn(&LogRow) -> i64| chunk.iter().map(field).collect::<Vec<i64>>();
        let maybe_ints = |field: fn(&LogRow) -> Option<i64>| chunk.iter().map(field).collect::<Vec<_>>();
        let texts = |field: for<'r> fn(&'r LogRow) -> Option<&'r str>| chunk.iter().map(field).collect::<Vec<_>>();
        let (ts, status, duration, attempts) =
            (ints(|r| r.ts), ints(|r| i64::from(r.status)), ints(|r| r.duration_ms), ints(|r| r.attempts));
        let ids = with_ids.then(|| ints(|r| r.id));
        let (key_id, account_id, upstream, model, effort, error, request_id) = (
            texts(|r| r.key_id.as_deref()),
            texts(|r| r.account_id.as_deref()),
            texts(|r| r.upstream.as_deref()),
            texts(|r| r.model.as_deref()),
            texts(|r| r.reasoning_effort.as_deref()),
            texts(|r| r.error.as_deref()),
            texts(|r| r.request_id.as_deref()),
        );
        let method: Vec<&str> = chunk.iter().map(|r| r.method.as_str()).collect();
        let path: Vec<&str> = chunk.iter().map(|r| r.path.as_str()).collect();
        let (first_byte, input, cached, output, reasoning) = (
            maybe_ints(|r| r.first_byte_ms),
            maybe_ints(|r| r.input_tokens),
            maybe_ints(|r| r.cached_tokens),
            maybe_ints(|r| r.output_tokens),
            maybe_ints(|r| r.reasoning_tokens),
        );
        let instances = vec![instance; chunk.len()];
        let mut params: Vec<Param<'_>> = vec![
            &ts,
            &key_id,
            &account_id,
            &upstream,
            &method,
            &path,
            &model,
            &effort,
            &status,
            &duration,
            &first_byte,
            &input,
            &cached,
            &output,
            &reasoning,
            &attempts,
            &error,
            &request_id,
            &instances,
        ];
        if let Some(ids) = &ids {
            params.push(ids);
        }
        client.execute(&insert, &params).await?;
    }
    Ok(())
}

/// Adds per-slot sums to `request_stats`.
pub(in crate::store) async fn add_stats_in(
    client: &impl deadpool_postgres::GenericClient,
    sums: &[SlotSum],
) -> Result<(), StoreError> {
    let upsert = client
        .prepare(
            "INSERT INTO request_stats (slot, key_id, requests, successes, input_tokens, cached_tokens, output_tokens,
               reasoning_tokens, last_ts, counted)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (slot, key_id) DO UPDATE SET requests = request_stats.requests + excluded.requests,
               counted = request_stats.counted + excluded.counted,
               successes = request_stats.successes + excluded.successes,
               input_tokens = request_stats.input_tokens + excluded.input_tokens,
               cached_tokens = request_stats.cached_tokens + excluded.cached_tokens,
               output_tokens = request_stats.output_tokens + excluded.output_tokens,
               reasoning_tokens = request_stats.reasoning_tokens + excluded.reasoning_tokens,
               last_ts = GREATEST(request_stats.last_ts, excluded.last_ts)",
        )
        .await?;
    for sum in sums {
        let [input, cached, output, reasoning] = sum.tokens;
        client
            .execute(
                &upsert,
                &[
                    &sum.slot,
                    &sum.key_id,
                    &sum.requests,
                    &sum.successes,
                    &input,
                    &cached,
                    &output,
                    &reasoning,
                    &sum.last_ts,
                    &sum.counted,
                ],
            )
            .await?;
    }
    Ok(())
}

impl Postgres {
    pub(in super::super) async fn load(&self) -> Result<Stored, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await?;
        let accounts_sql = format!("SELECT {} FROM accounts ORDER BY sort, created_at, id", accounts::COLUMNS);
        let keys_sql = format!("SELECT {} FROM platform_keys ORDER BY created_at, id", keys::COLUMNS);
        let usage_sql = format!("SELECT {USAGE_COLUMNS} FROM usage_snapshots");
        let stored = Stored {
            accounts: collect(tx.query(&accounts_sql, &[]).await?, account_from)?,
            usage: collect(tx.query(&usage_sql, &[]).await?, usage_from)?,
            keys: collect(tx.query(&keys_sql, &[]).await?, key_from)?,
            tokens: token_rows(&tx.query("SELECT account_id, sealed FROM account_tokens", &[]).await?)?,
        };
        tx.commit().await?;
        Ok(stored)
    }

    pub(in super::super) async fn usage_of(&self, ids: &[String]) -> Result<Vec<UsageSnapshot>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {USAGE_COLUMNS} FROM usage_snapshots WHERE account_id = ANY($1)");
        collect(conn.query(&sql, &[&ids]).await?, usage_from)
    }

    pub(in super::super) async fn settings(&self) -> Result<HashMap<String, String>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn.query("SELECT key, value FROM settings", &[]).await?;
        Ok(rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }

    pub(in super::super) async fn put_settings(&self, values: &[(String, String)]) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        for (key, value) in values {
            tx.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                &[key, value, &now_secs()],
            )
            .await?;
        }
        self.announce(&tx, &Change::Settings).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(in super::super) async fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.conn().await?;
        let row = conn.query_opt("SELECT value FROM meta WHERE key = $1", &[&key]).await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    pub(in super::super) async fn meta_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let conn = self.conn().await?;
        conn.execute("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", &[&key, &value])
            .await?;
        let row = conn.query_one("SELECT value FROM meta WHERE key = $1", &[&key]).await?;
        Ok(row.try_get(0)?)
    }

    pub(in super::super) async fn models(&self) -> Result<Vec<CachedModel>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn.query("SELECT slug, display_name, raw FROM model_cache ORDER BY position", &[]).await?;
        Ok(rows
            .iter()
            .map(|row| Ok(CachedModel { slug: row.try_get(0)?, display_name: row.try_get(1)?, raw: row.try_get(2)? }))
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }

    pub(in super::super) async fn replace_models(&self, list: &[CachedModel]) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("DELETE FROM model_cache", &[]).await?;
        for (position, model) in list.iter().enumerate() {
            tx.execute(
                "INSERT INTO model_cache (slug, display_name, raw, position, fetched_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (slug) DO UPDATE SET display_name = excluded.display_name, raw = excluded.raw,
                   position = excluded.position, fetched_at = excluded.fetched_at",
                &[&model.slug, &model.display_name, &model.raw, &(position as i64), &now_secs()],
            )
            .await?;
        }
        self.announce(&tx, &Change::Models).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(in super::super) async fn write_accounts<R, F>(&self, select: Select, plan: F) -> Result<R, StoreError>
    where
        F: FnOnce(Existing) -> Result<(Vec<AccountWrite>, R), StoreError>,
    {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.batch_execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE").await?;
        let max_sort: i64 = tx.query_one("SELECT COALESCE(MAX(sort), -1) FROM accounts", &[]).await?.try_get(0)?;
        let mut existing = Existing { rows: Vec::new(), max_sort };
        match &select {
            Select::Identities(identities) => {
                let sql = format!("SELECT {} FROM accounts WHERE identity = ANY($1)", accounts::COLUMNS);
                let mut found: HashMap<String, AccountRow> =
                    collect(tx.query(&sql, &[identities]).await?, account_from)?
                        .into_iter()
                        .map(|row| (row.identity.clone(), row))
                        .collect();
                let mut seen = HashSet::new();
                for identity in identities {
                    if seen.insert(identity)
                        && let Some(row) = found.remove(identity)
                    {
                        existing.rows.push(row);
                    }
                }
            }
            Select::Ids(ids) => {
                let sql = format!("SELECT {} FROM accounts WHERE id = $1", accounts::COLUMNS);
                for id in ids {
                    let row = tx
                        .query_opt(&sql, &[id])
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("no account with id {id:?}")))?;
                    existing.rows.push(account_from(&row)?);
                }
            }
        }
        let (writes, result) = plan(existing)?;
        for write in &writes {
            upsert_account(&tx, &write.row).await?;
            if let Some(sealed) = &write.sealed_tokens {
                put_tokens(&tx, &write.row.id, sealed).await?;
            }
        }
        self.announce(&tx, &Change::Accounts).await?;
        tx.commit().await?;
        Ok(result)
    }

    pub(in super::super) async fn delete_accounts(&self, ids: &[String]) -> Result<usize, StoreError> {
        let conn = self.conn().await?;
        let deleted = conn.execute("DELETE FROM accounts WHERE id = ANY($1)", &[&ids]).await?;
        self.announce(&conn, &Change::Accounts).await?;
        Ok(deleted as usize)
    }

    pub(in super::super) async fn all_tokens(&self) -> Result<SealedTokens, StoreError> {
        let conn = self.conn().await?;
        token_rows(&conn.query("SELECT account_id, sealed FROM account_tokens", &[]).await?)
    }

    pub(in super::super) async fn tokens_of(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.conn().await?;
        let row = conn.query_opt("SELECT sealed FROM account_tokens WHERE account_id = $1", &[&id]).await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    pub(in super::super) async fn save_tokens(
        &self,
        id: &str,
        sealed: &[u8],
        at: i64,
        access_expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        put_tokens(&tx, id, sealed).await?;
        tx.execute(
            "UPDATE accounts SET last_refresh_at = $2, access_expires_at = $3, updated_at = $2 WHERE id = $1",
            &[&id, &at, &access_expires_at],
        )
        .await?;
        self.announce(&tx, &Change::Accounts).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(in super::super) async fn set_status(
        &self,
        id: &str,
        status: AccountStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE accounts SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1",
            &[&id, &status.as_str(), &reason, &now_secs()],
        )
        .await?;
        self.announce(&conn, &Change::Accounts).await
    }

    pub(in super::super) async fn set_cooldown(
        &self,
        id: &str,
        until: Option<i64>,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE accounts SET cooldown_until = $2, cooldown_reason = $3 WHERE id = $1",
            &[&id, &until, &reason],
        )
        .await?;
        let change =
            Change::Cooldown { account_id: id.to_string(), until_secs: until, reason: reason.map(str::to_string) };
        self.announce(&conn, &change).await
    }

    pub(in super::super) async fn take_refresh_lease(
        &self,
        id: &str,
        holder: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.conn().await?;
        let changed = conn
            .execute(
                "INSERT INTO refresh_leases (account_id, holder, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (account_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE refresh_leases.holder = excluded.holder OR refresh_leases.expires_at <= $4",
                &[&id, &holder, &expires_ms, &now_ms],
            )
            .await?;
        Ok(changed == 1)
    }

    pub(in super::super) async fn release_refresh_lease(&self, id: &str, holder: &str) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute("DELETE FROM refresh_leases WHERE account_id = $1 AND holder = $2", &[&id, &holder]).await?;
        Ok(())
    }

    pub(in super::super) async fn insert_key(&self, row: &KeyRow) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        insert_key_in(&conn, row).await?;
        self.announce(&conn, &Change::Keys).await
    }

    pub(in super::super) async fn key(&self, id: &str) -> Result<Option<KeyRow>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {} FROM platform_keys WHERE id = $1", keys::COLUMNS);
        Ok(conn.query_opt(&sql, &[&id]).await?.map(|row| key_from(&row)).transpose()?)
    }

    /// Runs a one-key change; a key that does not exist is an error.
    async fn change_key(&self, id: &str, sql: &str, params: &[Param<'_>]) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let changed = conn.execute(sql, params).await?;
        keys::require_one(changed as usize, id)?;
        self.announce(&conn, &Change::Keys).await
    }

    pub(in super::super) async fn set_key_enabled(&self, id: &str, enabled: bool) -> Result<(), StoreError> {
        self.change_key(id, "UPDATE platform_keys SET enabled = $2 WHERE id = $1", &[&id, &enabled]).await
    }

    pub(in super::super) async fn set_key_model(&self, id: &str, model: Option<&str>) -> Result<(), StoreError> {
        self.change_key(id, "UPDATE platform_keys SET model = $2 WHERE id = $1", &[&id, &model]).await
    }

    pub(in super::super) async fn update_key(
        &self,
        id: &str,
        name: &str,
        model: Option<&str>,
        policy: &KeyPolicy,
    ) -> Result<(), StoreError> {
        let policy = keys::policy_to_text(policy);
        self.change_key(
            id,
            "UPDATE platform_keys SET name = $2, model = $3, policy = $4 WHERE id = $1",
            &[&id, &name, &model, &policy],
        )
        .await
    }

    pub(in super::super) async fn delete_key(&self, id: &str) -> Result<(), StoreError> {
        self.change_key(id, "DELETE FROM platform_keys WHERE id = $1", &[&id]).await
    }

    pub(in super::super) async fn touch_keys(&self, uses: &[(String, i64)]) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        for (id, at) in uses {
            tx.execute(
                "UPDATE platform_keys SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2) WHERE id = $1",
                &[id, at],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(in super::super) async fn put_usage(&self, snapshots: &[UsageSnapshot]) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let ids: Vec<&str> = snapshots.iter().map(|s| s.account_id.as_str()).collect();
        let present: HashSet<String> = tx
            .query("SELECT id FROM accounts WHERE id = ANY($1) FOR SHARE", &[&ids])
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, tokio_postgres::Error>>()?;
        // A snapshot for an account deleted meanwhile is dropped, not an error.
        upsert_usage_in(&tx, snapshots.iter().filter(|s| present.contains(&s.account_id))).await?;
        let changed: Vec<String> =
            snapshots.iter().filter(|s| present.contains(&s.account_id)).map(|s| s.account_id.clone()).collect();
        self.announce(&tx, &Change::Usage(changed)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(in super::super) async fn insert_logs(&self, rows: &[LogRow], instance: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        insert_log_rows_in(&tx, rows, Some(instance), false).await?;
        add_stats_in(&tx, &logs::slot_sums(rows)).await?;
        self.announce(&tx, &Change::Stats).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(in super::super) async fn log_page(
        &self,
        filter: &LogFilter,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<LogRow>, StoreError> {
        let (clause, args) = logs::where_clause(filter);
        let (limit, offset) = (limit as i64, offset as i64);
        let sql = numbered(
            &format!(
                "SELECT {}, instance FROM request_logs {clause} ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?",
                logs::COLUMNS
            ),
            1,
        );
        let mut params: Vec<Param<'_>> = args.iter().map(arg_param).collect();
        params.extend([&limit as Param<'_>, &offset]);
        let conn = self.conn().await?;
        collect(conn.query(&sql, &params).await?, log_from)
    }

    pub(in super::super) async fn log_count(&self, filter: &LogFilter) -> Result<u64, StoreError> {
        let (clause, args) = logs::where_clause(filter);
        let sql = numbered(&format!("SELECT COUNT(*) FROM request_logs {clause}"), 1);
        let params: Vec<Param<'_>> = args.iter().map(arg_param).collect();
        let conn = self.conn().await?;
        let count: i64 = conn.query_one(&sql, &params).await?.try_get(0)?;
        Ok(count.max(0) as u64)
    }

    pub(in super::super) async fn clear_logs(&self) -> Result<usize, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let cleared = tx.execute("DELETE FROM request_logs", &[]).await?;
        tx.execute("DELETE FROM request_stats", &[]).await?;
        self.announce(&tx, &Change::Stats).await?;
        tx.commit().await?;
        Ok(cleared as usize)
    }

    pub(in super::super) async fn prune_logs(
        &self,
        before_ms: i64,
        max_rows: i64,
        batch: i64,
    ) -> Result<usize, StoreError> {
        let conn = self.conn().await?;
        let cutoff_id: i64 = if max_rows > 0 {
            let row =
                conn.query_opt("SELECT id FROM request_logs ORDER BY id DESC LIMIT 1 OFFSET $1", &[&max_rows]).await?;
            row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0)
        } else {
            0
        };
        let deleted = conn
            .execute(
                "DELETE FROM request_logs WHERE id IN
                   (SELECT id FROM request_logs WHERE ts < $1 OR id <= $2 ORDER BY id LIMIT $3)",
                &[&before_ms, &cutoff_id, &batch],
            )
            .await?;
        Ok(deleted as usize)
    }

    pub(in super::super) async fn prune_stats(&self, before_ms: i64) -> Result<usize, StoreError> {
        let conn = self.conn().await?;
        Ok(conn.execute("DELETE FROM request_stats WHERE slot < $1", &[&before_ms]).await? as usize)
    }

    pub(in super::super) async fn slot_use_since(
        &self,
        since_ms: i64,
        key_id: Option<&str>,
    ) -> Result<Vec<SlotUse>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT key_id, slot, counted, input_tokens + output_tokens, requests, requests - successes
                 FROM request_stats WHERE slot >= $1 AND key_id <> '' AND ($2::text IS NULL OR key_id = $2)
                 ORDER BY slot",
                &[&since_ms, &key_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                Ok(SlotUse {
                    key_id: row.try_get(0)?,
                    slot: row.try_get(1)?,
                    counted: row.try_get(2)?,
                    tokens: row.try_get(3)?,
                    requests: row.try_get(4)?,
                    errors: row.try_get(5)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }

    async fn bucketed(&self, ranges: &[(i64, i64)]) -> Result<Vec<Bucket>, StoreError> {
        let (los, his): (Vec<i64>, Vec<i64>) = ranges.iter().copied().unzip();
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT b.i, COALESCE(SUM(s.requests), 0)::BIGINT, COALESCE(SUM(s.input_tokens + s.output_tokens), 0)::BIGINT
                 FROM unnest($1::BIGINT[], $2::BIGINT[]) WITH ORDINALITY AS b(lo, hi, i)
                 LEFT JOIN request_stats s ON s.slot >= b.lo AND s.slot < b.hi
                 GROUP BY b.i ORDER BY b.i",
                &[&los, &his],
            )
            .await?;
        let mut buckets: Vec<Bucket> =
            ranges.iter().map(|(lo, _)| Bucket { start_ms: *lo, ..Bucket::default() }).collect();
        for row in rows {
            let (i, requests, tokens): (i64, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            if let Some(bucket) = usize::try_from(i - 1).ok().and_then(|i| buckets.get_mut(i)) {
                bucket.requests = requests.max(0) as u64;
                bucket.tokens = tokens;
            }
        }
        Ok(buckets)
    }

    pub(in super::super) async fn dashboard(&self, ranges: &Ranges) -> Result<DashboardStats, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_one(
                "SELECT COALESCE(SUM(requests), 0)::BIGINT, COALESCE(SUM(successes), 0)::BIGINT,
                        COALESCE(SUM(input_tokens), 0)::BIGINT, COALESCE(SUM(cached_tokens), 0)::BIGINT,
                        COALESCE(SUM(output_tokens), 0)::BIGINT, COALESCE(SUM(reasoning_tokens), 0)::BIGINT
                 FROM request_stats WHERE slot >= $1",
                &[&ranges.today_start],
            )
            .await?;
        let today = Totals {
            requests: row.try_get::<_, i64>(0)?.max(0) as u64,
            successes: row.try_get::<_, i64>(1)?.max(0) as u64,
            input_tokens: row.try_get(2)?,
            cached_tokens: row.try_get(3)?,
            output_tokens: row.try_get(4)?,
            reasoning_tokens: row.try_get(5)?,
        };
        drop(conn);
        Ok(DashboardStats {
            today,
            hourly: self.bucketed(&ranges.hours).await?,
            daily: self.bucketed(&ranges.days).await?,
        })
    }

    pub(in super::super) async fn key_usage(&self) -> Result<Vec<KeyUsage>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT key_id, SUM(requests)::BIGINT, SUM(input_tokens + output_tokens)::BIGINT, MAX(last_ts)
                 FROM request_stats WHERE key_id <> '' GROUP BY key_id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                Ok(KeyUsage {
                    key_id: row.try_get(0)?,
                    requests: row.try_get::<_, i64>(1)?.max(0) as u64,
                    tokens: row.try_get(2)?,
                    last_ms: row.try_get(3)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }
}

/// `(account_id, sealed)` rows, each blob copied once, straight into the form the pool keeps.
fn token_rows(rows: &[Row]) -> Result<SealedTokens, StoreError> {
    let row = |row: &Row| Ok((row.try_get(0)?, Arc::from(row.try_get::<_, &[u8]>(1)?)));
    Ok(rows.iter().map(row).collect::<Result<_, tokio_postgres::Error>>()?)
}
