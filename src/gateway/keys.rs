//! Platform-key checks: the key from `Authorization: Bearer`, `x-api-key` or `api-key`,
//! looked up by its SHA-256 in the core's in-memory key table and compared in constant time.

use std::sync::Arc;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

use super::errors::GatewayError;
use crate::core::{Core, GatewayKey, hash_key};

/// The key the client presented, from whichever header carries it.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    header("authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .or_else(|| header("x-api-key"))
        .or_else(|| header("api-key"))
}

/// The enabled platform key this request carries.
pub fn authenticate(core: &Core, headers: &HeaderMap) -> Result<Arc<GatewayKey>, GatewayError> {
    let key = presented(headers).ok_or_else(|| {
        GatewayError::unauthorized(
            "missing API key: send a CodexManager platform key as `Authorization: Bearer KEY`, `x-api-key` or `api-key`",
        )
    })?;
    let hash = hash_key(key);
    let table = core.keys();
    let found = table
        .get(&hash)
        .filter(|entry| bool::from(entry.row.key_hash.as_bytes().ct_eq(hash.as_bytes())))
        .ok_or_else(|| GatewayError::unauthorized("invalid API key: no CodexManager platform key matches it"))?;
    if !found.row.enabled {
        return Err(GatewayError::unauthorized(format!("the platform key {:?} is disabled", found.row.name)));
    }
    core.note_key_used(&found.row.id);
    Ok(found.clone())
}
