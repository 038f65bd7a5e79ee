//! Platform key operations. A key is shown in full once, at creation; the store keeps its
//! SHA-256 hash and a short display prefix.

use chrono::Timelike;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Core, CoreError};
use crate::store::keys::{KeyPolicy, KeyProtocol, KeyRow, Limit, Metric, QuotaWindow};
use crate::store::now_secs;

/// The Azure OpenAI `api-version` used when a key names none.
pub const DEFAULT_AZURE_API_VERSION: &str = "2025-04-01-preview";
/// Characters of a key kept for display.
const PREFIX_LEN: usize = 10;

/// Reasoning efforts a key may bind.
pub const REASONING_EFFORTS: [&str; 5] = ["minimal", "low", "medium", "high", "xhigh"];

/// A list, or a word standing for "no restriction" (`any`), as clients send it: a JSON array
/// or a comma-separated string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ListOrAny {
    List(Vec<String>),
    Text(String),
}

impl ListOrAny {
    /// `None` for `any` (or nothing), else the trimmed, non-empty items.
    fn restriction(&self) -> Option<Vec<String>> {
        let items: Vec<String> = match self {
            ListOrAny::List(items) => items.iter().map(|i| i.trim().to_string()).collect(),
            ListOrAny::Text(text) => text.split(',').map(|i| i.trim().to_string()).collect(),
        };
        let items: Vec<String> = items.into_iter().filter(|i| !i.is_empty()).collect();
        (!(items.is_empty() || items.iter().any(|i| i == "any"))).then_some(items)
    }
}

/// Changes to a key's policy; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyChange {
    /// `N/WINDOW` each (`500/5h`, `2000/day`, `week`, `month`); replaces the request limits.
    pub limit_requests: Option<Vec<String>>,
    /// The same for tokens (input + output).
    pub limit_tokens: Option<Vec<String>>,
    /// RFC 3339 (`2026-12-31T23:59:59Z`), or `never`.
    pub expires: Option<String>,
    /// Model names, or `any`.
    pub models: Option<ListOrAny>,
    /// `minimal`, `low`, `medium`, `high`, `xhigh`, or `client` (what the client sends).
    pub reasoning_effort: Option<String>,
    /// Account groups, or `any`.
    pub groups: Option<ListOrAny>,
    /// Requests in flight at most; 0 = no cap.
    pub max_concurrent: Option<u32>,
}

impl PolicyChange {
    /// Applies the change; the error says what is accepted.
    pub fn apply(&self, policy: &mut KeyPolicy) -> Result<(), CoreError> {
        for (metric, specs) in [(Metric::Requests, &self.limit_requests), (Metric::Tokens, &self.limit_tokens)] {
            let Some(specs) = specs else { continue };
            let parsed = specs.iter().map(|spec| parse_limit(metric, spec)).collect::<Result<Vec<_>, _>>()?;
            policy.limits.retain(|limit| limit.metric != metric);
            policy.limits.extend(parsed);
        }
        if let Some(expires) = &self.expires {
            policy.expires_at = match expires.trim() {
                "" | "never" => None,
                text => Some(
                    chrono::DateTime::parse_from_rfc3339(text)
                        .map_err(|_| {
                            CoreError::Invalid(format!(
                                "`expires` must be an RFC 3339 time such as 2026-12-31T23:59:59Z, or never; got {text:?}"
                            ))
                        })?
                        .timestamp(),
                ),
            };
        }
        if let Some(models) = &self.models {
            policy.models = models.restriction();
        }
        if let Some(effort) = &self.reasoning_effort {
            policy.reasoning_effort = match effort.trim() {
                "" | "client" => None,
                level if REASONING_EFFORTS.contains(&level) => Some(level.to_string()),
                other => {
                    return Err(CoreError::Invalid(format!(
                        "`reasoning_effort` must be one of {} or client; got {other:?}",
                        REASONING_EFFORTS.join(", ")
                    )));
                }
            };
        }
        if let Some(groups) = &self.groups {
            policy.groups = groups.restriction();
        }
        if let Some(max) = self.max_concurrent {
            policy.max_concurrent = (max > 0).then_some(max);
        }
        Ok(())
    }
}

/// `500/5h` → 500 per 5 hours; windows `5h`, `day` (`24h`, `1d`), `week` (`7d`), `month` (`30d`).
fn parse_limit(metric: Metric, spec: &str) -> Result<Limit, CoreError> {
    let what = if metric == Metric::Requests { "--limit-requests" } else { "--limit-tokens" };
    let invalid = || {
        CoreError::Invalid(format!(
            "{what} must be N/WINDOW with WINDOW one of 5h, day, week, month (e.g. 500/5h, 2000000/day); got {spec:?}"
        ))
    };
    let (max, window) = spec.trim().split_once('/').ok_or_else(invalid)?;
    let max: u64 = max.trim().replace('_', "").parse().map_err(|_| invalid())?;
    let window = match window.trim() {
        "5h" => QuotaWindow::FiveHours,
        "day" | "1d" | "24h" => QuotaWindow::Day,
        "week" | "7d" => QuotaWindow::Week,
        "month" | "30d" => QuotaWindow::Month,
        _ => return Err(invalid()),
    };
    if max == 0 {
        return Err(CoreError::Invalid(format!("{what}: a limit of 0 refuses everything; disable the key instead")));
    }
    Ok(Limit { metric, max, window })
}

/// Changes to a key; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyUpdate {
    pub name: Option<String>,
    /// The bound model; empty clears the binding.
    #[serde(alias = "modelSlug")]
    pub model: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyChange,
}

/// A key to create.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewKey {
    pub name: String,
    #[serde(default, alias = "protocolType")]
    pub protocol: Option<String>,
    #[serde(default, alias = "modelSlug")]
    pub model: Option<String>,
    #[serde(default, alias = "upstreamBaseUrl")]
    pub azure_endpoint: Option<String>,
    #[serde(default)]
    pub azure_api_key: Option<String>,
    #[serde(default)]
    pub azure_api_version: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyChange,
}

/// A created key: the full secret, shown this once, and its stored description.
#[derive(Serialize)]
pub struct CreatedKey {
    /// The same as `info.id`, which is what goes into JSON (once).
    #[serde(skip_serializing)]
    pub id: String,
    pub key: String,
    #[serde(flatten)]
    pub info: KeyRow,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey").field("id", &self.id).field("info", &self.info).finish_non_exhaustive()
    }
}

/// The hash under which a platform key is stored and looked up.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.trim().as_bytes()))
}

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// A field of [`NewKey`], for a form to mark the one a [`KeyProblem`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyField {
    Name,
    Protocol,
    AzureEndpoint,
    AzureApiKey,
}

/// What is wrong with a [`NewKey`]; the message names the field as the RPC and CLI spell it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("`name` must not be empty")]
    NoName,
    #[error("`protocol` must be openai, anthropic or azure_openai; got {0:?}")]
    BadProtocol(String),
    #[error("`azure_endpoint` is required for an azure_openai key")]
    NoAzureEndpoint,
    #[error("`azure_endpoint` must be an http(s) URL; got {0:?}")]
    AzureEndpointNotUrl(String),
    #[error("`azure_api_key` is required for an azure_openai key")]
    NoAzureApiKey,
    #[error("`azure_endpoint`, `azure_api_key` and `azure_api_version` only apply to azure_openai keys")]
    AzureFieldsWithoutAzure,
}

impl KeyProblem {
    pub fn field(&self) -> KeyField {
        match self {
            KeyProblem::NoName => KeyField::Name,
            KeyProblem::BadProtocol(_) | KeyProblem::AzureFieldsWithoutAzure => KeyField::Protocol,
            KeyProblem::NoAzureEndpoint | KeyProblem::AzureEndpointNotUrl(_) => KeyField::AzureEndpoint,
            KeyProblem::NoAzureApiKey => KeyField::AzureApiKey,
        }
    }
}

/// A [`NewKey`] that passed [`NewKey::check`], its values trimmed.
struct CheckedKey {
    name: String,
    protocol: KeyProtocol,
    endpoint: Option<String>,
    azure_key: Option<String>,
    api_version: Option<String>,
    model: Option<String>,
}

impl NewKey {
    /// Checks the fields; the window runs this before sending, so it can mark the field.
    pub fn check(&self) -> Result<(), KeyProblem> {
        self.clone().checked().map(|_| ())
    }

    fn checked(self) -> Result<CheckedKey, KeyProblem> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err(KeyProblem::NoName);
        }
        let protocol = match blank_to_none(self.protocol) {
            None => KeyProtocol::Openai,
            Some(p) => KeyProtocol::parse(&p).ok_or(KeyProblem::BadProtocol(p))?,
        };
        let endpoint = blank_to_none(self.azure_endpoint).map(|e| e.trim_end_matches('/').to_string());
        let azure_key = blank_to_none(self.azure_api_key);
        let api_version = blank_to_none(self.azure_api_version);
        if protocol == KeyProtocol::AzureOpenai {
            match &endpoint {
                None => return Err(KeyProblem::NoAzureEndpoint),
                Some(e) if !(e.starts_with("https://") || e.starts_with("http://")) => {
                    return Err(KeyProblem::AzureEndpointNotUrl(e.clone()));
                }
                Some(_) => {}
            }
            if azure_key.is_none() {
                return Err(KeyProblem::NoAzureApiKey);
            }
        } else if endpoint.is_some() || azure_key.is_some() || api_version.is_some() {
            return Err(KeyProblem::AzureFieldsWithoutAzure);
        }
        Ok(CheckedKey { name, protocol, endpoint, azure_key, api_version, model: blank_to_none(self.model) })
    }
}

impl Core {
    pub async fn create_key(&self, mut new: NewKey) -> Result<CreatedKey, CoreError> {
        let policy_change = std::mem::take(&mut new.policy);
        let CheckedKey { name, protocol, endpoint, azure_key, api_version, model } =
            new.checked().map_err(|problem| CoreError::Invalid(problem.to_string()))?;

        let mut policy = KeyPolicy::default();
        policy_change.apply(&mut policy)?;
        let mut secret = [0u8; 24];
        rand::rng().fill_bytes(&mut secret);
        let key = format!("cm-{}", hex::encode(secret));
        let id = format!("key_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let sealed_azure_key = azure_key.map(|k| self.vault().seal(&azure_purpose(&id), k.as_bytes()));
        let row = KeyRow {
            id: id.clone(),
            name,
            key_hash: hash_key(&key),
            key_prefix: format!("{}…", &key[..PREFIX_LEN]),
            protocol,
            model,
            azure_api_version: if protocol == KeyProtocol::AzureOpenai {
                Some(api_version.unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_string()))
            } else {
                None
            },
            azure_endpoint: endpoint,
            sealed_azure_key,
            enabled: true,
            created_at: now_secs(),
            last_used_at: None,
            policy,
        };
        let stored = row.clone();
        self.store().insert_key(stored).await?;
        self.reload().await?;
        tracing::info!(id = %row.id, protocol = row.protocol.as_str(), "platform key created");
        Ok(CreatedKey { id, key, info: row })
    }

    pub fn list_keys(&self) -> Vec<KeyRow> {
        self.snapshot().keys.clone()
    }

    pub async fn set_key_enabled(&self, id: String, enabled: bool) -> Result<(), CoreError> {
        self.store().set_key_enabled(id, enabled).await?;
        self.reload().await
    }

    pub async fn set_key_model(&self, id: String, model: Option<String>) -> Result<(), CoreError> {
        let model = blank_to_none(model);
        self.store().set_key_model(id, model).await?;
        self.reload().await
    }

    /// Changes a key's name, model binding or policy.
    pub async fn update_key(&self, id: String, update: KeyUpdate) -> Result<KeyRow, CoreError> {
        let current = self.stored_key(&id).await?;
        let name = match update.name.as_deref().map(str::trim) {
            Some("") => return Err(CoreError::Invalid("`name` must not be empty".into())),
            Some(name) => name.to_string(),
            None => current.name.clone(),
        };
        let model = match update.model {
            Some(model) => blank_to_none(Some(model)),
            None => current.model.clone(),
        };
        let mut policy = current.policy.clone();
        update.policy.apply(&mut policy)?;
        let (stored_name, stored_model, stored_policy) = (name.clone(), model.clone(), policy.clone());
        self.store().update_key(id, stored_name, stored_model, stored_policy).await?;
        self.reload().await?;
        Ok(KeyRow { name, model, policy, ..current })
    }

    /// A key as stored now (it may have been made by another process a moment ago).
    pub async fn stored_key(&self, id: &str) -> Result<KeyRow, CoreError> {
        self.store()
            .key(id.to_string())
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no platform key with id {id:?}")))
    }

    pub async fn delete_key(&self, id: String) -> Result<(), CoreError> {
        self.store().delete_key(id).await?;
        self.reload().await
    }
}

/// The additional data binding a sealed Azure API key to its platform key.
pub fn azure_purpose(key_id: &str) -> String {
    format!("azure-key:{key_id}")
}

/// A key's use over time and against its limits.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyUsage {
    pub key_id: String,
    /// Each limit with its current use and, when reached, when it frees up.
    pub limits: Vec<super::quota::LimitUse>,
    /// The last 24 hours, hour by hour (local time), oldest first.
    pub hourly: Vec<UsagePoint>,
    /// The last 30 days, day by day (local midnights), oldest first.
    pub daily: Vec<UsagePoint>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePoint {
    /// Unix milliseconds at the period's start.
    pub start_ms: i64,
    pub requests: i64,
    pub tokens: i64,
    pub errors: i64,
}

impl Core {
    /// A key's use per hour and day, and against each of its limits.
    pub async fn key_usage_stats(&self, id: &str) -> Result<KeyUsage, CoreError> {
        let key = self.stored_key(id).await?;
        let now = crate::store::now_millis();
        let limits = self.quotas().usage(&key.id, &key.policy, now);
        let days = periods(now, 30, |t| t.date_naive().and_hms_opt(0, 0, 0), chrono::Duration::days(1));
        let hours = periods(now, 24, |t| t.date_naive().and_hms_opt(t.hour(), 0, 0), chrono::Duration::hours(1));
        let since = days.first().copied().unwrap_or(now);
        let key_id = key.id.clone();
        let slots = self.store().slot_use_since(since, Some(key_id)).await?;
        let bucket = |starts: &[i64]| -> Vec<UsagePoint> {
            let mut points: Vec<UsagePoint> =
                starts.iter().map(|start| UsagePoint { start_ms: *start, ..UsagePoint::default() }).collect();
            for slot in &slots {
                if let Some(point) = points.iter_mut().rev().find(|p| p.start_ms <= slot.slot) {
                    point.requests += slot.requests;
                    point.tokens += slot.tokens;
                    point.errors += slot.errors;
                }
            }
            points
        };
        Ok(KeyUsage { key_id: key.id, limits, hourly: bucket(&hours), daily: bucket(&days) })
    }
}

/// The starts (Unix ms) of the last `count` periods up to `now_ms`, local time, oldest first.
fn periods(
    now_ms: i64,
    count: i32,
    start_of: impl Fn(&chrono::DateTime<chrono::Local>) -> Option<chrono::NaiveDateTime>,
    step: chrono::Duration,
) -> Vec<i64> {
    use chrono::TimeZone;
    let Some(now) = chrono::Local.timestamp_millis_opt(now_ms).single() else { return Vec::new() };
    let Some(current) = start_of(&now).and_then(|t| chrono::Local.from_local_datetime(&t).earliest()) else {
        return Vec::new();
    };
    (0..count).rev().map(|back| (current - step * back).timestamp_millis()).collect()
}
