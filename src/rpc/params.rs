//! Reading a call's params: into a struct that names the offending field on failure, and the
//! shapes two spellings share (`ids` / `id` / the original's `accountId`; tags as a list or
//! the original's comma-separated text).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::error::RpcError;

/// Deserialises params (absent or `null` params read as `{}`), naming the offending field.
pub fn params<T: DeserializeOwned>(value: Value) -> Result<T, RpcError> {
    let value = if value.is_null() { json!({}) } else { value };
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." { RpcError::invalid(inner) } else { RpcError::invalid(format!("`{path}`: {inner}")) }
    })
}

/// As [`params`], refusing any field not in `fields` (serde cannot for a flattened struct).
pub fn known_params<T: DeserializeOwned>(value: Value, fields: &[&[&str]]) -> Result<T, RpcError> {
    let known = || fields.iter().flat_map(|group| group.iter());
    if let Some(unknown) = value.as_object().and_then(|object| object.keys().find(|k| !known().any(|f| f == k))) {
        let expected: Vec<&str> = known().copied().collect();
        return Err(RpcError::invalid(format!("unknown field `{unknown}`, expected one of {}", expected.join(", "))));
    }
    params(value)
}

pub fn to_value(value: impl serde::Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|e| RpcError::new(super::error::code::INTERNAL, e.to_string()))
}

/// Takes one field out of an object's params.
pub fn take<T: DeserializeOwned>(params: &mut Value, field: &str) -> Result<Option<T>, RpcError> {
    let Some(value) = params.as_object_mut().and_then(|object| object.remove(field)) else { return Ok(None) };
    if value.is_null() {
        return Ok(None);
    }
    serde_json::from_value(value).map(Some).map_err(|e| RpcError::invalid(format!("`{field}`: {e}")))
}

/// Takes `ids`, `id` and the original's `accountId` out of an object, leaving the rest.
pub fn take_ids(params: &mut Value) -> Result<Vec<String>, RpcError> {
    if !params.is_object() {
        return Err(RpcError::invalid("expected an object with `ids` (or `id`, or `accountId`)"));
    }
    let mut ids: Vec<String> = take(params, "ids")?.unwrap_or_default();
    for field in ["id", "accountId"] {
        ids.extend(take::<String>(params, field)?);
    }
    if ids.is_empty() {
        return Err(RpcError::invalid("`ids` (or `id`, or `accountId`) is required"));
    }
    Ok(ids)
}

/// Tags as a JSON list, or as the original sends them: one text, comma-separated.
pub fn tags<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tags {
        List(Vec<String>),
        Text(String),
    }
    Ok(Option::<Tags>::deserialize(deserializer)?.map(|tags| match tags {
        Tags::List(list) => list,
        Tags::Text(text) => {
            text.split([',', '，']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
        }
    }))
}

/// A text param where blank means absent (the original's readers treat it so).
pub fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}
