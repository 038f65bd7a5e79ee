//! The `platform_keys` table: gateway keys, stored as a SHA-256 hash plus a display prefix.
//!
//! The row types are every backend's; the functions are the SQLite statements.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;

/// Which client protocol a key is set up for; `azure_openai` keys forward to their own
/// Azure endpoint instead of the account pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyProtocol {
    Openai,
    Anthropic,
    AzureOpenai,
}

impl KeyProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyProtocol::Openai => "openai",
            KeyProtocol::Anthropic => "anthropic",
            KeyProtocol::AzureOpenai => "azure_openai",
        }
    }

    /// Accepts our names and the original's (`openai_compat`, `anthropic_native`).
    pub fn parse(value: &str) -> Option<KeyProtocol> {
        match value.trim() {
            "openai" | "openai_compat" => Some(KeyProtocol::Openai),
            "anthropic" | "anthropic_native" => Some(KeyProtocol::Anthropic),
            "azure_openai" | "azure" => Some(KeyProtocol::AzureOpenai),
            _ => None,
        }
    }
}

/// What a key may do beyond its protocol and model binding: limits, expiry, allowed models,
/// a bound reasoning effort, the account groups it may use and a cap on concurrent requests.
/// Every part is optional; stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KeyPolicy {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<Limit>,
    /// Unix seconds after which the key is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Models the key may use (`None`: any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Overrides the reasoning effort clients send (`None`: the client's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Account groups the key may use (`None`: any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Requests in flight at most (`None`: no cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
}

/// A limit of requests or tokens per rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limit {
    pub metric: Metric,
    pub max: u64,
    pub window: QuotaWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Requests,
    /// Input plus output tokens, as the upstream reports them.
    Tokens,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum QuotaWindow {
    #[serde(rename = "5h")]
    FiveHours,
    #[serde(rename = "day")]
    Day,
    #[serde(rename = "week")]
    Week,
    #[serde(rename = "month")]
    Month,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub key_hash: String,
    pub key_prefix: String,
    pub protocol: KeyProtocol,
    pub model: Option<String>,
    pub azure_endpoint: Option<String>,
    pub azure_api_version: Option<String>,
    #[serde(skip)]
    pub sealed_azure_key: Option<Vec<u8>>,
    pub enabled: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub policy: KeyPolicy,
}

/// The columns every backend selects and writes, in this order.
pub(super) const COLUMNS: &str = "id, name, key_hash, key_prefix, protocol, model, azure_endpoint, azure_api_version, \
     sealed_azure_key, enabled, created_at, last_used_at, policy";

/// A policy as stored: JSON.
pub(super) fn policy_to_text(policy: &KeyPolicy) -> String {
    serde_json::to_string(policy).unwrap_or_else(|_| "{}".into())
}

/// A stored policy back (the default, no limits, when the text does not parse).
pub(super) fn policy_from_text(text: &str) -> KeyPolicy {
    serde_json::from_str(text).unwrap_or_default()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<KeyRow> {
    let protocol: String = row.get(4)?;
    Ok(KeyRow {
        id: row.get(0)?,
        name: row.get(1)?,
        key_hash: row.get(2)?,
        key_prefix: row.get(3)?,
        protocol: KeyProtocol::parse(&protocol).unwrap_or(KeyProtocol::Openai),
        model: row.get(5)?,
        azure_endpoint: row.get(6)?,
        azure_api_version: row.get(7)?,
        sealed_azure_key: row.get(8)?,
        enabled: row.get(9)?,
        created_at: row.get(10)?,
        last_used_at: row.get(11)?,
        policy: policy_from_text(&row.get::<_, String>(12)?),
    })
}

pub(super) fn list(conn: &Connection) -> Result<Vec<KeyRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM platform_keys ORDER BY created_at, id"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<KeyRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM platform_keys WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

pub(super) fn insert(conn: &Connection, row: &KeyRow) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO platform_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?
    .execute(params![
        row.id,
        row.name,
        row.key_hash,
        row.key_prefix,
        row.protocol.as_str(),
        row.model,
        row.azure_endpoint,
        row.azure_api_version,
        row.sealed_azure_key,
        row.enabled,
        row.created_at,
        row.last_used_at,
        policy_to_text(&row.policy),
    ])?;
    Ok(())
}

pub(super) fn require_one(changed: usize, id: &str) -> Result<(), StoreError> {
    if changed == 0 {
        return Err(StoreError::NotFound(format!("no platform key with id {id:?}")));
    }
    Ok(())
}

pub(super) fn set_enabled(conn: &Connection, id: &str, enabled: bool) -> Result<(), StoreError> {
    let changed =
        conn.prepare_cached("UPDATE platform_keys SET enabled = ?2 WHERE id = ?1")?.execute(params![id, enabled])?;
    require_one(changed, id)
}

pub(super) fn set_model(conn: &Connection, id: &str, model: Option<&str>) -> Result<(), StoreError> {
    let changed =
        conn.prepare_cached("UPDATE platform_keys SET model = ?2 WHERE id = ?1")?.execute(params![id, model])?;
    require_one(changed, id)
}

/// Replaces a key's name, model binding and policy.
pub(super) fn update(
    conn: &Connection,
    id: &str,
    name: &str,
    model: Option<&str>,
    policy: &KeyPolicy,
) -> Result<(), StoreError> {
    let policy = policy_to_text(policy);
    let changed = conn
        .prepare_cached("UPDATE platform_keys SET name = ?2, model = ?3, policy = ?4 WHERE id = ?1")?
        .execute(params![id, name, model, policy])?;
    require_one(changed, id)
}

pub(super) fn delete(conn: &Connection, id: &str) -> Result<(), StoreError> {
    let changed = conn.prepare_cached("DELETE FROM platform_keys WHERE id = ?1")?.execute([id])?;
    require_one(changed, id)
}

/// Records when keys were last used; batched by the caller, off the request path.
pub(super) fn touch(conn: &mut Connection, uses: &[(String, i64)]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE platform_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?2) WHERE id = ?1",
        )?;
        for (id, at) in uses {
            stmt.execute(params![id, at])?;
        }
    }
    tx.commit()?;
    Ok(())
}
