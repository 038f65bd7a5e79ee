//! The `accounts` and `account_tokens` tables: account metadata and sealed token blobs.
//!
//! The row types are every backend's; the functions are the SQLite statements.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, now_secs};

/// An account's administrative state, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Switched off by the user.
    Disabled,
    /// Switched off by the app (dead token, banned), with a reason.
    Unavailable,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Unavailable => "unavailable",
        }
    }

    pub fn parse(value: &str) -> Option<AccountStatus> {
        match value {
            "active" => Some(AccountStatus::Active),
            "disabled" => Some(AccountStatus::Disabled),
            "unavailable" => Some(AccountStatus::Unavailable),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccountRow {
    pub id: String,
    pub identity: String,
    pub label: String,
    pub email: Option<String>,
    pub chatgpt_account_id: Option<String>,
    pub chatgpt_user_id: Option<String>,
    pub plan: Option<String>,
    pub group_name: String,
    pub tags: Vec<String>,
    pub note: String,
    pub sort: i64,
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_refresh_at: Option<i64>,
    pub access_expires_at: Option<i64>,
    pub cooldown_until: Option<i64>,
    /// Why the account is cooling down (`rate limited`, `upstream 503`, …).
    pub cooldown_reason: Option<String>,
    /// The account's own proxy as shown: `direct`, or the URL with its password masked;
    /// `None` when it follows the global setting.
    pub proxy: Option<String>,
    /// The whole proxy URL, sealed (never shown).
    #[serde(skip)]
    pub proxy_sealed: Option<Vec<u8>>,
}

/// The columns every backend selects and writes, in this order.
pub(super) const COLUMNS: &str = "id, identity, label, email, chatgpt_account_id, chatgpt_user_id, plan, group_name, tags, \
     note, sort, status, status_reason, created_at, updated_at, last_refresh_at, access_expires_at, cooldown_until, \
     cooldown_reason, proxy, proxy_sealed";

/// Tags as stored: a JSON array.
pub(super) fn tags_to_text(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

/// Stored tags back as a list (none when the text is not a JSON array of strings).
pub(super) fn tags_from_text(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AccountRow> {
    let tags: String = row.get(8)?;
    let status: String = row.get(11)?;
    Ok(AccountRow {
        id: row.get(0)?,
        identity: row.get(1)?,
        label: row.get(2)?,
        email: row.get(3)?,
        chatgpt_account_id: row.get(4)?,
        chatgpt_user_id: row.get(5)?,
        plan: row.get(6)?,
        group_name: row.get(7)?,
        tags: tags_from_text(&tags),
        note: row.get(9)?,
        sort: row.get(10)?,
        status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Unavailable),
        status_reason: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
        last_refresh_at: row.get(15)?,
        access_expires_at: row.get(16)?,
        cooldown_until: row.get(17)?,
        cooldown_reason: row.get(18)?,
        proxy: row.get(19)?,
        proxy_sealed: row.get(20)?,
    })
}

pub(super) fn list(conn: &Connection) -> Result<Vec<AccountRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM accounts ORDER BY sort, created_at, id"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Which accounts a write reads first.
#[derive(Debug, Clone)]
pub enum Select {
    /// By identity (an import: the same person signing in again updates the account).
    Identities(Vec<String>),
    /// By id (an edit); an id with no account is an error.
    Ids(Vec<String>),
}

/// What a write found before deciding what to write.
#[derive(Debug, Default)]
pub struct Existing {
    /// The selected accounts that exist, in the order asked for.
    pub rows: Vec<AccountRow>,
    /// The largest `sort` of any account (-1 without accounts).
    pub max_sort: i64,
}

/// One account to insert or replace (matched by id), with its sealed tokens if they change.
#[derive(Debug, Clone)]
pub struct AccountWrite {
    pub row: AccountRow,
    pub sealed_tokens: Option<Vec<u8>>,
}

/// Reads what `select` names, lets `plan` decide, writes its answer: one transaction.
pub(super) fn write<R>(
    conn: &mut Connection,
    select: &Select,
    plan: impl FnOnce(Existing) -> Result<(Vec<AccountWrite>, R), StoreError>,
) -> Result<R, StoreError> {
    let tx = conn.transaction()?;
    let mut existing = Existing { rows: Vec::new(), max_sort: max_sort(&tx)? };
    match select {
        Select::Identities(identities) => {
            for identity in identities {
                existing.rows.extend(find_by_identity(&tx, identity)?);
            }
        }
        Select::Ids(ids) => {
            for id in ids {
                let row = get(&tx, id)?.ok_or_else(|| StoreError::NotFound(format!("no account with id {id:?}")))?;
                existing.rows.push(row);
            }
        }
    }
    let (writes, result) = plan(existing)?;
    for write in &writes {
        upsert(&tx, &write.row)?;
        if let Some(sealed) = &write.sealed_tokens {
            put_tokens(&tx, &write.row.id, sealed)?;
        }
    }
    tx.commit()?;
    Ok(result)
}

fn get(conn: &Connection, id: &str) -> Result<Option<AccountRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

fn find_by_identity(conn: &Connection, identity: &str) -> Result<Option<AccountRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE identity = ?1"))?;
    Ok(stmt.query_row([identity], from_row).optional()?)
}

/// Inserts a new account or replaces every column of an existing one (matched by id).
fn upsert(conn: &Connection, row: &AccountRow) -> Result<(), StoreError> {
    let tags = tags_to_text(&row.tags);
    conn.prepare_cached(&format!(
        "INSERT INTO accounts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
         ON CONFLICT(id) DO UPDATE SET identity = excluded.identity, label = excluded.label, email = excluded.email,
           chatgpt_account_id = excluded.chatgpt_account_id, chatgpt_user_id = excluded.chatgpt_user_id,
           plan = excluded.plan, group_name = excluded.group_name, tags = excluded.tags, note = excluded.note,
           sort = excluded.sort, status = excluded.status, status_reason = excluded.status_reason,
           updated_at = excluded.updated_at, last_refresh_at = excluded.last_refresh_at,
           access_expires_at = excluded.access_expires_at, cooldown_until = excluded.cooldown_until,
           cooldown_reason = excluded.cooldown_reason, proxy = excluded.proxy, proxy_sealed = excluded.proxy_sealed"
    ))?
    .execute(params![
        row.id,
        row.identity,
        row.label,
        row.email,
        row.chatgpt_account_id,
        row.chatgpt_user_id,
        row.plan,
        row.group_name,
        tags,
        row.note,
        row.sort,
        row.status.as_str(),
        row.status_reason,
        row.created_at,
        row.updated_at,
        row.last_refresh_at,
        row.access_expires_at,
        row.cooldown_until,
        row.cooldown_reason,
        row.proxy,
        row.proxy_sealed,
    ])?;
    Ok(())
}

/// Deletes accounts (their tokens and usage go with them); returns how many existed.
pub(super) fn delete(conn: &mut Connection, ids: &[String]) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let mut deleted = 0;
    {
        let mut stmt = tx.prepare_cached("DELETE FROM accounts WHERE id = ?1")?;
        for id in ids {
            deleted += stmt.execute([id])?;
        }
    }
    tx.commit()?;
    Ok(deleted)
}

fn max_sort(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT COALESCE(MAX(sort), -1) FROM accounts", [], |row| row.get(0))?)
}

pub(super) fn set_status(
    conn: &Connection,
    id: &str,
    status: AccountStatus,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE accounts SET status = ?2, status_reason = ?3, updated_at = ?4 WHERE id = ?1")?
        .execute(params![id, status.as_str(), reason, now_secs()])?;
    Ok(())
}

pub(super) fn set_cooldown(
    conn: &Connection,
    id: &str,
    until: Option<i64>,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE accounts SET cooldown_until = ?2, cooldown_reason = ?3 WHERE id = ?1")?
        .execute(params![id, until, reason])?;
    Ok(())
}

/// Stores an account's sealed token blob.
fn put_tokens(conn: &Connection, account_id: &str, sealed: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO account_tokens (account_id, sealed, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(account_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
    )?
    .execute(params![account_id, sealed, now_secs()])?;
    Ok(())
}

/// One account's sealed tokens as stored now (another process may have replaced them).
pub(super) fn get_tokens(conn: &Connection, account_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT sealed FROM account_tokens WHERE account_id = ?1")?
        .query_row([account_id], |row| row.get(0))
        .optional()?)
}

/// Stores a refreshed token set with when it was refreshed and the new access token's expiry,
/// in one transaction.
pub(super) fn save_tokens(
    conn: &mut Connection,
    id: &str,
    sealed: &[u8],
    at: i64,
    access_expires_at: Option<i64>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    put_tokens(&tx, id, sealed)?;
    note_refresh(&tx, id, at, access_expires_at)?;
    tx.commit()?;
    Ok(())
}

/// Every account's sealed tokens, for loading the pool into memory.
pub(super) fn all_tokens(conn: &Connection) -> Result<super::SealedTokens, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT account_id, sealed FROM account_tokens")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Records a token refresh: when it happened and the new access token's expiry.
fn note_refresh(conn: &Connection, id: &str, at: i64, access_expires_at: Option<i64>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE accounts SET last_refresh_at = ?2, access_expires_at = ?3, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, at, access_expires_at])?;
    Ok(())
}

/// Takes the refresh lease of an account for `holder` until `expires_at_ms`, unless another
/// holder has it and it has not expired; true when taken. Held across the call to the issuer,
/// so it is a row, not an open write transaction: the log writer and token saves go on.
pub(super) fn take_refresh_lease(
    conn: &Connection,
    account_id: &str,
    holder: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO refresh_leases (account_id, holder, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(account_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE refresh_leases.holder = excluded.holder OR refresh_leases.expires_at <= ?4",
        )?
        .execute(params![account_id, holder, expires_at_ms, now_ms])?;
    Ok(changed == 1)
}

/// Gives the refresh lease back (only if `holder` still has it).
pub(super) fn release_refresh_lease(conn: &Connection, account_id: &str, holder: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM refresh_leases WHERE account_id = ?1 AND holder = ?2")?
        .execute(params![account_id, holder])?;
    Ok(())
}
