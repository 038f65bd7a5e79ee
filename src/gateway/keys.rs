//! Platform-key checks: the key from `Authorization: Bearer`, `x-api-key` or `api-key`,
//! looked up by its SHA-256 in the core's in-memory key table and compared in constant time.
//! Handlers take the key as the [`PlatformKey`] extractor; the one that logs refusals takes
//! `Result<PlatformKey, GatewayError>`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use subtle::ConstantTimeEq;

use super::Gateway;
use super::errors::{Dialect, GatewayError};
use crate::core::quota::Refusal;
use crate::core::{Core, GatewayKey, hash_key, now_millis, now_secs};

/// The key the client presented, from whichever header carries it.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    header("authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .or_else(|| header("x-api-key"))
        .or_else(|| header("api-key"))
}

/// The enabled platform key a request carries. A refusal is answered in Anthropic's shape on
/// Anthropic's routes and to Anthropic's clients (an `anthropic-version` header), else in
/// OpenAI's.
pub struct PlatformKey(pub Arc<GatewayKey>);

impl FromRequestParts<Arc<Gateway>> for PlatformKey {
    type Rejection = GatewayError;

    async fn from_request_parts(parts: &mut Parts, gateway: &Arc<Gateway>) -> Result<PlatformKey, GatewayError> {
        let anthropic = parts.uri.path().starts_with("/v1/messages") || parts.headers.contains_key("anthropic-version");
        let dialect = if anthropic { Dialect::Anthropic } else { Dialect::OpenAi };
        authenticate(&gateway.core, &parts.headers).map(PlatformKey).map_err(|error| error.in_dialect(dialect))
    }
}

/// The enabled platform key these headers carry.
fn authenticate(core: &Core, headers: &HeaderMap) -> Result<Arc<GatewayKey>, GatewayError> {
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

/// An expired key is refused with when it expired.
pub fn check_expiry(key: &GatewayKey) -> Result<(), GatewayError> {
    match key.row.policy.expires_at {
        Some(at) if at <= now_secs() => Err(GatewayError::new(
            StatusCode::UNAUTHORIZED,
            "key_expired",
            format!("the platform key {:?} expired at {}", key.row.name, when(at * 1000)),
        )),
        _ => Ok(()),
    }
}

/// A 429 naming the limit that refused the request and when it frees up.
pub fn refused(name: &str, refusal: Refusal) -> GatewayError {
    match refusal {
        Refusal::Limit { limit, used, frees_at_ms } => {
            let retry = frees_at_ms.map(|at| ((at - now_millis()) / 1000).max(1) as u64).unwrap_or(60);
            let frees = frees_at_ms.map(|at| format!("; it frees up at {}", when(at))).unwrap_or_default();
            GatewayError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                format!("the platform key {name:?} reached its limit of {limit} ({used} used){frees}"),
            )
            .with_retry_after(retry)
        }
        Refusal::Concurrency { max } => GatewayError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            format!("the platform key {name:?} already has {max} request(s) in flight, its limit; retry when one ends"),
        )
        .with_retry_after(1),
    }
}

/// Unix milliseconds as an RFC 3339 time (UTC).
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}
