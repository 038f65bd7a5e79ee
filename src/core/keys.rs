//! Platform key operations. A key is shown in full once, at creation; the store keeps its
//! SHA-256 hash and a short display prefix.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Core, CoreError};
use crate::store::keys::{self as rows, KeyProtocol, KeyRow};
use crate::store::now_secs;

/// The Azure OpenAI `api-version` used when a key names none.
pub const DEFAULT_AZURE_API_VERSION: &str = "2025-04-01-preview";
/// Characters of a key kept for display.
const PREFIX_LEN: usize = 10;

/// A key to create.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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
}

/// A created key: the full secret, shown this once, and its stored description.
#[derive(Serialize)]
pub struct CreatedKey {
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
    pub async fn create_key(&self, new: NewKey) -> Result<CreatedKey, CoreError> {
        let CheckedKey { name, protocol, endpoint, azure_key, api_version, model } =
            new.checked().map_err(|problem| CoreError::Invalid(problem.to_string()))?;

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
        };
        let stored = row.clone();
        self.store().call(move |conn| rows::insert(conn, &stored)).await?;
        self.reload().await?;
        tracing::info!(id = %row.id, protocol = row.protocol.as_str(), "platform key created");
        Ok(CreatedKey { id, key, info: row })
    }

    pub fn list_keys(&self) -> Vec<KeyRow> {
        self.snapshot().keys.clone()
    }

    pub async fn set_key_enabled(&self, id: String, enabled: bool) -> Result<(), CoreError> {
        self.store().call(move |conn| rows::set_enabled(conn, &id, enabled)).await?;
        self.reload().await
    }

    pub async fn set_key_model(&self, id: String, model: Option<String>) -> Result<(), CoreError> {
        let model = blank_to_none(model);
        self.store().call(move |conn| rows::set_model(conn, &id, model.as_deref())).await?;
        self.reload().await
    }

    pub async fn delete_key(&self, id: String) -> Result<(), CoreError> {
        self.store().call(move |conn| rows::delete(conn, &id)).await?;
        self.reload().await
    }
}

/// The additional data binding a sealed Azure API key to its platform key.
pub fn azure_purpose(key_id: &str) -> String {
    format!("azure-key:{key_id}")
}
