//! `apikey/*`: platform keys. Parameters take our spellings and the original's
//! (`protocolType`, `modelSlug`, `reasoningEffort`); a call in the original's envelope gets
//! the original's key objects from `apikey/list`.
//!
//! Only a hash of each key is stored, so no call can show a key again after `apikey/create`:
//! `apikey/readSecret` says so instead of answering with a secret.

use serde::Deserialize;
use serde_json::{Value, json};

use super::Call;
use super::error::{RpcError, code};
use super::params::{known_params, non_blank, params, take, to_value};
use crate::core::{CoreError, KeyProtocol, KeyRow, KeyUpdate, NewKey, PolicyChange};

/// The fields a key's policy accepts over RPC.
const POLICY_FIELDS: [&str; 7] =
    ["limitRequests", "limitTokens", "expires", "models", "reasoningEffort", "groups", "maxConcurrent"];
/// The other fields `apikey/create` accepts.
const NEW_KEY_FIELDS: [&str; 9] = [
    "name",
    "protocol",
    "protocolType",
    "model",
    "modelSlug",
    "azureEndpoint",
    "upstreamBaseUrl",
    "azureApiKey",
    "azureApiVersion",
];
const KEY_UPDATE_FIELDS: [&str; 3] = ["name", "model", "modelSlug"];
/// The name of a key created without one (the original allows that).
const UNNAMED: &str = "unnamed";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdParam {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ModelParams {
    id: String,
    #[serde(default, alias = "modelSlug")]
    model: Option<String>,
    /// `client` or empty clears a bound reasoning effort.
    #[serde(default)]
    reasoning_effort: Option<String>,
    /// The original's profile fields: a key keeps its protocol and endpoint, so these may
    /// only repeat the current ones.
    #[serde(default, alias = "protocol")]
    protocol_type: Option<String>,
    #[serde(default)]
    upstream_base_url: Option<String>,
    #[serde(default)]
    static_headers_json: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ModelsParams {
    #[serde(default)]
    refresh_remote: bool,
}

/// A protocol name as the original reads it: any case, `-` for `_`.
fn protocol_name(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

/// The original's spellings in ours: `extra_high` is `xhigh`; protocol names in any case.
fn normalise(params: &mut Value) {
    if let Some(effort) = params.get_mut("reasoningEffort")
        && effort.as_str().is_some_and(|e| e.trim().eq_ignore_ascii_case("extra_high"))
    {
        *effort = json!("xhigh");
    }
    for field in ["protocol", "protocolType"] {
        if let Some(protocol) = params.get_mut(field)
            && let Some(name) = protocol.as_str().map(protocol_name)
        {
            *protocol = json!(name);
        }
    }
}

/// Static headers are the original's; keys here send none, so only an empty set is accepted.
fn refuse_static_headers(headers: Option<String>) -> Result<(), RpcError> {
    match non_blank(headers) {
        Some(headers) if headers != "{}" => Err(RpcError::invalid(
            "`staticHeadersJson`: keys cannot carry static headers here; leave it out (the gateway sends the \
             upstream's own headers)",
        )),
        _ => Ok(()),
    }
}

fn key_not_found(id: &str) -> RpcError {
    RpcError::new(code::NOT_FOUND, format!("no platform key with id {id:?}; `apikey/list` shows the keys' ids"))
}

/// The key as stored now: one another process made a moment ago is found too.
async fn find_key(call: &Call<'_>, id: &str) -> Result<KeyRow, RpcError> {
    match call.core.stored_key(id).await {
        Ok(key) => Ok(key),
        Err(CoreError::NotFound(_)) => Err(key_not_found(id)),
        Err(err) => Err(err.into()),
    }
}

/// A key as the original lists it.
fn original_key(key: &KeyRow) -> Value {
    let (protocol, auth_scheme) = match key.protocol {
        KeyProtocol::Openai => ("openai_compat", "authorization_bearer"),
        KeyProtocol::Anthropic => ("anthropic_native", "x_api_key"),
        KeyProtocol::AzureOpenai => ("azure_openai", "api_key"),
    };
    json!({
        "id": key.id,
        "name": key.name,
        "modelSlug": key.model,
        "reasoningEffort": key.policy.reasoning_effort,
        "clientType": "codex",
        "protocolType": protocol,
        "authScheme": auth_scheme,
        "upstreamBaseUrl": key.azure_endpoint,
        "staticHeadersJson": null,
        "status": if key.enabled { "active" } else { "disabled" },
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
        "keyPrefix": key.key_prefix,
    })
}

async fn create(call: &Call<'_>, mut value: Value) -> Result<Value, RpcError> {
    refuse_static_headers(take(&mut value, "staticHeadersJson")?)?;
    normalise(&mut value);
    if let Some(object) = value.as_object_mut()
        && object.get("name").is_none_or(Value::is_null)
    {
        object.insert("name".into(), json!(UNNAMED));
    }
    let new: NewKey = known_params(value, &[&NEW_KEY_FIELDS, &POLICY_FIELDS])?;
    to_value(call.core.create_key(new).await?)
}

async fn update_model(call: &Call<'_>, mut value: Value) -> Result<Value, RpcError> {
    normalise(&mut value);
    let p: ModelParams = params(value)?;
    refuse_static_headers(p.static_headers_json)?;
    let key = find_key(call, &p.id).await?;
    if let Some(protocol) = non_blank(p.protocol_type)
        && KeyProtocol::parse(&protocol) != Some(key.protocol)
    {
        return Err(RpcError::invalid(format!(
            "`protocolType`: the key is {}; a key's protocol cannot change: create a new key with apikey/create",
            key.protocol.as_str()
        )));
    }
    if let Some(url) = non_blank(p.upstream_base_url)
        && key.azure_endpoint.as_deref() != Some(url.trim_end_matches('/'))
    {
        return Err(RpcError::invalid(
            "`upstreamBaseUrl`: a key's endpoint cannot change: create a new key with apikey/create",
        ));
    }
    // The original overwrites the effort on every call: absent clears it.
    let effort = match p.reasoning_effort {
        None if call.original() => Some("client".to_string()),
        effort => effort,
    };
    let policy = PolicyChange { reasoning_effort: effort, ..PolicyChange::default() };
    call.core.update_key(p.id, KeyUpdate { name: None, model: Some(p.model.unwrap_or_default()), policy }).await?;
    Ok(json!({"ok": true}))
}

async fn models(call: &Call<'_>, value: Value) -> Result<Value, RpcError> {
    let p: ModelsParams = params(value)?;
    if p.refresh_remote
        && let Err(err) = call.gateway.refresh_models().await
    {
        if call.core.models().is_empty() {
            return Err(RpcError::new(code::SERVER_ERROR, format!("the model list could not be fetched: {err}")));
        }
        tracing::warn!("refreshing the model list failed, answering from the cache: {err}");
    }
    let mut items: Vec<Value> = call
        .core
        .models()
        .iter()
        .map(|m| json!({"slug": m.slug, "displayName": m.display_name.clone().unwrap_or_else(|| m.slug.clone())}))
        .collect();
    items.sort_by(|a, b| a["slug"].as_str().cmp(&b["slug"].as_str()));
    Ok(json!({ "items": items }))
}

pub async fn dispatch(call: &Call<'_>, method: &str, value: Value) -> Option<Result<Value, RpcError>> {
    let ok = |done: Result<(), crate::core::CoreError>| done.map(|()| json!({"ok": true})).map_err(RpcError::from);
    Some(match method {
        "apikey/list" => {
            let keys = call.core.list_keys();
            if call.original() {
                Ok(json!({"items": keys.iter().rev().map(original_key).collect::<Vec<_>>()}))
            } else {
                Ok(json!({ "items": keys }))
            }
        }
        "apikey/create" => create(call, value).await,
        "apikey/disable" | "apikey/enable" => match params::<IdParam>(value) {
            Ok(p) => ok(call.core.set_key_enabled(p.id, method == "apikey/enable").await),
            Err(err) => Err(err),
        },
        "apikey/delete" => match params::<IdParam>(value) {
            Ok(p) => ok(call.core.delete_key(p.id).await),
            Err(err) => Err(err),
        },
        "apikey/updateModel" => update_model(call, value).await,
        "apikey/update" => update(call, value).await,
        "apikey/usageStats" => match params::<IdParam>(value) {
            Ok(p) => call.core.key_usage_stats(&p.id).await.map_err(RpcError::from).and_then(to_value),
            Err(err) => Err(err),
        },
        "apikey/models" => models(call, value).await,
        "apikey/readSecret" => match params::<IdParam>(value) {
            Ok(p) => find_key(call, &p.id).await.and_then(|key| {
                Err(RpcError::new(
                    code::NOT_FOUND,
                    format!(
                        "api key secret not found: only a hash of key {:?} is stored, so it cannot be shown again \
                         (it was shown once, by apikey/create); if it is lost, create a new key and delete this one",
                        key.id
                    ),
                ))
            }),
            Err(err) => Err(err),
        },
        _ => return None,
    })
}

async fn update(call: &Call<'_>, mut value: Value) -> Result<Value, RpcError> {
    normalise(&mut value);
    let id = value
        .as_object_mut()
        .and_then(|object| object.remove("id"))
        .and_then(|id| id.as_str().map(str::to_string))
        .ok_or_else(|| RpcError::invalid("`id` (a string) is required"))?;
    let update: KeyUpdate = known_params(value, &[&KEY_UPDATE_FIELDS, &POLICY_FIELDS])?;
    to_value(call.core.update_key(id, update).await?)
}
