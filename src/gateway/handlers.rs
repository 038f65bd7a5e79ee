//! The small handlers — models, the pool's usage, metrics — and the request-id layer. The
//! pooled routes' shared path is `pipeline`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Gateway;
use super::errors::{Dialect, GatewayError};
use super::keys::PlatformKey;
use crate::core::{ModelInfo, now_secs};

pub async fn models(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    _key: PlatformKey,
) -> Result<Response, GatewayError> {
    let anthropic = headers.contains_key("anthropic-version");
    let dialect = if anthropic { Dialect::Anthropic } else { Dialect::OpenAi };
    let mut models = gateway.core.models();
    if models.is_empty() {
        gateway.refresh_models().await.map_err(|error| error.in_dialect(dialect))?;
        models = gateway.core.models();
    }
    let listed = models.iter().filter(|m| m.raw.get("visibility").and_then(Value::as_str) != Some("hide"));
    if anthropic {
        let data: Vec<Value> = listed
            .map(|m| {
                json!({"type": "model", "id": m.slug, "display_name": m.display_name.clone().unwrap_or_else(|| m.slug.clone()),
                    "created_at": "2025-01-01T00:00:00Z"})
            })
            .collect();
        let first = data.first().and_then(|m| m.get("id")).cloned();
        let last = data.last().and_then(|m| m.get("id")).cloned();
        return Ok(
            axum::Json(json!({"data": data, "has_more": false, "first_id": first, "last_id": last})).into_response()
        );
    }
    let data: Vec<Value> =
        listed.map(|m| json!({"id": m.slug, "object": "model", "created": 0, "owned_by": "openai"})).collect();
    Ok(axum::Json(json!({"object": "list", "data": data})).into_response())
}

impl Gateway {
    /// Fetches the model list with the first account that has a token, and caches it.
    pub async fn refresh_models(&self) -> Result<(), GatewayError> {
        let pool = self.core.pool();
        let now = now_secs();
        let account =
            pool.accounts.iter().find(|a| a.has_tokens() && a.availability(now).is_routable()).cloned().ok_or_else(
                || {
                    GatewayError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no_available_account",
                        "no account is available to fetch the model list",
                    )
                },
            )?;
        let tokens = account.tokens().ok_or_else(|| {
            GatewayError::new(StatusCode::SERVICE_UNAVAILABLE, "no_available_account", "the account lost its token")
        })?;
        let unavailable = |message: String| GatewayError::new(StatusCode::BAD_GATEWAY, "upstream_error", message);
        let (http, _) = self.core.client_for(&account).map_err(|e| unavailable(e.to_string()))?;
        let response = self
            .upstream()
            .models(&http, &account, &tokens)
            .send()
            .await
            .map_err(|e| unavailable(format!("fetching the model list failed: {e}")))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "fetching the model list failed: the upstream answered {}",
                response.status()
            )));
        }
        let body: Value = response.json().await.map_err(|e| unavailable(format!("the model list is not JSON: {e}")))?;
        let models: Vec<ModelInfo> = body
            .get("models")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        let slug = item.get("slug").and_then(Value::as_str)?.to_string();
                        let display_name = item.get("display_name").and_then(Value::as_str).map(str::to_string);
                        Some(ModelInfo { slug, display_name, raw: item.clone() })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if models.is_empty() {
            return Err(unavailable("the upstream returned an empty model list".into()));
        }
        self.core.set_models(models).await.map_err(|e| unavailable(e.to_string()))
    }
}

/// `GET /api/codex/usage`: the pool as one account, for Codex CLI's usage display.
///
/// Each window's `used_percent` is the average over the accounts that can still be routed
/// to (active, token present), an account with no usage yet counting as 0 %: it says how
/// much of the pool's total capacity is used. `reset_at` is the soonest reset among those
/// accounts; `limit_reached` is true when no account can take a request.
pub async fn pool_usage(State(gateway): State<Arc<Gateway>>, _key: PlatformKey) -> Response {
    let now = now_secs();
    let pool = gateway.core.pool();
    let active: Vec<_> =
        pool.accounts.iter().filter(|a| a.row.status == crate::core::AccountStatus::Active && a.has_tokens()).collect();
    let window = |pick: fn(&crate::core::UsageSnapshot) -> Option<crate::core::Window>, seconds: i64| {
        if active.is_empty() {
            return Value::Null;
        }
        let windows: Vec<Option<crate::core::Window>> =
            active.iter().map(|a| a.with_usage(|u| u.and_then(pick))).collect();
        let used: f64 = windows
            .iter()
            .map(|w| {
                w.map_or(0.0, |w| if w.resets_at.is_some_and(|r| r <= now) { 0.0 } else { w.used_percent.min(100.0) })
            })
            .sum::<f64>()
            / windows.len() as f64;
        let reset_at = windows.iter().filter_map(|w| w.and_then(|w| w.resets_at)).filter(|r| *r > now).min();
        json!({"used_percent": used.round() as i64, "limit_window_seconds": seconds,
            "reset_after_seconds": reset_at.map(|r| r - now), "reset_at": reset_at})
    };
    let routable = active.iter().any(|a| a.availability(now).is_routable());
    axum::Json(json!({
        "plan_type": "pro",
        "rate_limit": {
            "allowed": routable,
            "limit_reached": !routable,
            "primary_window": window(|u| u.primary, 18_000),
            "secondary_window": window(|u| u.secondary, 604_800),
        },
        "credits": null,
    }))
    .into_response()
}

pub async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    let logs = gateway.core.logs();
    let queue = super::metrics::QueueCounts { depth: logs.depth(), dropped: logs.dropped(), db_busy: logs.db_busy() };
    let now = crate::core::now_millis();
    let mut pool = super::metrics::PoolCounts::default();
    for account in &gateway.core.pool().accounts {
        if account.cooling_until(now).is_some() {
            pool.cooling_down += 1;
        } else if account.row.status == crate::core::AccountStatus::Active
            && account.has_tokens()
            && account.availability(now / 1000).is_routable()
        {
            pool.available += 1;
        } else {
            pool.unavailable += 1;
        }
    }
    let text = gateway.metrics.render(pool, queue);
    ([(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
        .into_response()
}

/// The request id the `request_id` layer put on the request.
pub(super) fn request_id_of(headers: &HeaderMap) -> Arc<str> {
    Arc::from(headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-"))
}

pub(super) const REQUEST_ID: &str = "x-request-id";

/// Gives every gateway request an id — the client's `x-request-id` when it sent a sensible
/// one, else a new one — and returns it on the response; the log row and the trace lines of
/// the request carry it.
pub(super) async fn request_id(mut request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let given = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string);
    let id = given.unwrap_or_else(|| format!("req_{}", &uuid::Uuid::new_v4().simple().to_string()[..24]));
    let Ok(value) = axum::http::HeaderValue::from_str(&id) else { return next.run(request).await };
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}
