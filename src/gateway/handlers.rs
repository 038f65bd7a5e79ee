//! What every handler shares (admission, errors, model binding, sessions), and the small
//! handlers: models, the pool's usage, metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::dispatch::Outgoing;
use super::errors::{Dialect, GatewayError};
use super::record::Record;
use super::stream::{self, ClientStream};
use super::{Gateway, keys};
use crate::core::now_secs;
use crate::core::{GatewayKey, ModelInfo};

/// Answers an error in the caller's shape and logs the request.
pub(super) fn fail(gateway: &Arc<Gateway>, record: Record, error: GatewayError, dialect: Dialect) -> Response {
    record.finish(gateway, error.status.as_u16(), Some(error.message.clone()));
    error.into_dialect(dialect)
}

/// A request's admission slot, given back when dropped.
pub struct Admitted(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Takes an admission slot (`CODEXMANAGER_MAX_CONCURRENT_REQUESTS`, as configured now) for
/// the request's life.
pub(super) fn admit(gateway: &Gateway) -> Result<Admitted, GatewayError> {
    let limit = gateway.core.config().max_concurrent_requests.max(1);
    let admitted = gateway.admitted.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let slot = Admitted(gateway.admitted.clone());
    if admitted >= limit {
        return Err(GatewayError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            "the gateway is at CODEXMANAGER_MAX_CONCURRENT_REQUESTS; retry shortly",
        )
        .with_retry_after(1));
    }
    Ok(slot)
}

/// The session a request belongs to, for stickiness: `prompt_cache_key`, else the
/// `session_id` or `conversation_id` header.
pub(super) fn session_of(body: &Map<String, Value>, headers: &HeaderMap) -> Option<String> {
    body.get("prompt_cache_key")
        .and_then(Value::as_str)
        .or_else(|| headers.get("session_id").and_then(|v| v.to_str().ok()))
        .or_else(|| headers.get("conversation_id").and_then(|v| v.to_str().ok()))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Decides the upstream model (the key's binding, else the mapping table, else the name
/// sent), writes it into the body and returns it.
pub(super) fn bind_model(
    gateway: &Gateway,
    key: &GatewayKey,
    body: &mut Map<String, Value>,
) -> Result<String, GatewayError> {
    let requested = body.get("model").and_then(Value::as_str).filter(|m| !m.trim().is_empty());
    let model = match (requested, key.row.model.as_deref()) {
        (None, None) => return Err(GatewayError::bad_request(Some("model".into()), "`model` is required")),
        (requested, binding) => {
            super::model_map::resolve(requested.unwrap_or_default(), binding, &gateway.core.config().model_mapping)
        }
    };
    body.insert("model".into(), Value::String(model.clone()));
    Ok(model)
}

/// A translator's refusal of a request, as a 400 naming the field.
pub(super) fn request_error(error: super::protocol::RequestError) -> GatewayError {
    GatewayError::bad_request(error.param, error.message)
}

/// A pooled request past its first steps: admitted, key checked, body read.
pub(super) struct Intake {
    pub record: Record,
    pub key: Arc<GatewayKey>,
    pub body: Map<String, Value>,
}

/// Admission, the key check and the body — the first steps of every pooled route. The
/// deployment of an Azure path becomes the model. On failure, the finished error response.
pub(super) async fn intake(
    gateway: &Arc<Gateway>,
    route: &'static str,
    uri: &Uri,
    headers: &HeaderMap,
    body: axum::body::Body,
    deployment: Option<String>,
    dialect: Dialect,
) -> Result<Intake, Response> {
    let id = gateway.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut record = Record::new(id, request_id_of(headers), route, uri.path());
    let opened = async {
        record.permit = Some(admit(gateway)?);
        gateway.metrics.inflight(1);
        let key = keys::authenticate(&gateway.core, headers)?;
        record.key_id = Some(key.row.id.clone());
        keys::check_expiry(&key)?;
        let mut body =
            super::body::read_object(body, headers, gateway.core.config().front_proxy_max_body_bytes).await?;
        if let Some(deployment) = deployment {
            body.insert("model".into(), Value::String(deployment));
        }
        Ok::<_, GatewayError>((key, body))
    }
    .await;
    match opened {
        Ok((key, body)) => Ok(Intake { record, key, body }),
        Err(error) => Err(fail(gateway, record, error, dialect)),
    }
}

/// Sends a prepared request to the pool and answers: streamed through `translator` (raw
/// bytes when `raw`), or collected and shaped by `shape(response, incomplete)`.
pub(super) async fn answer<S: ClientStream>(
    gateway: Arc<Gateway>,
    mut record: Record,
    prepared: Result<(Outgoing, bool), GatewayError>,
    translator: S,
    raw: bool,
    dialect: Dialect,
    shape: impl FnOnce(&Value, bool) -> Value,
) -> Response {
    let (outgoing, streaming) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return fail(&gateway, record, error, dialect),
    };
    let mut closing = gateway.closing.subscribe();
    let dispatched = tokio::select! {
        dispatched = gateway.dispatch(&outgoing, &mut record) => dispatched,
        _ = closing.wait_for(|closing| *closing) => Err(super::errors::shutting_down()),
    };
    let started = match dispatched {
        Ok(started) => started,
        Err(error) => return fail(&gateway, record, error, dialect),
    };
    if streaming {
        return stream::respond_streaming(gateway.clone(), started, translator, raw, record);
    }
    match stream::collect(&gateway, started, &mut record).await {
        Ok((response, incomplete)) => {
            record.finish(&gateway, 200, None);
            axum::Json(shape(&response, incomplete)).into_response()
        }
        Err(error) => fail(&gateway, record, error, dialect),
    }
}

/// The upstream request for a pooled route, once the key's policy allows it.
pub(super) fn outgoing(
    gateway: &Gateway,
    record: &mut Record,
    key: &GatewayKey,
    model: String,
    body: &mut Map<String, Value>,
    headers: &HeaderMap,
) -> Result<Outgoing, GatewayError> {
    apply_policy(gateway, record, key, &model, body)?;
    let bytes = serde_json::to_vec(body).map_err(|e| GatewayError::bad_request(None, e.to_string()))?;
    Ok(Outgoing {
        id: record.id,
        request_id: record.request_id.clone(),
        body: bytes.into(),
        model,
        key_id: key.row.id.clone(),
        session: record.session.clone(),
        client_headers: headers.clone(),
        scope: key.row.policy.groups.clone(),
    })
}

/// A key's policy on one request: the model must be one the key may use, its bound reasoning
/// effort replaces the client's, and its limits must have room (the request then counts
/// against them).
pub(super) fn apply_policy(
    gateway: &Gateway,
    record: &mut Record,
    key: &GatewayKey,
    model: &str,
    body: &mut Map<String, Value>,
) -> Result<(), GatewayError> {
    let policy = &key.row.policy;
    if let Some(allowed) = &policy.models
        && !allowed.iter().any(|m| m == model)
    {
        return Err(GatewayError::new(
            StatusCode::FORBIDDEN,
            "model_not_allowed",
            format!("the key {:?} may not use {model}; it may use: {}", key.row.name, allowed.join(", ")),
        ));
    }
    if let Some(effort) = &policy.reasoning_effort {
        let reasoning = body.entry("reasoning").or_insert_with(|| Value::Object(Map::new()));
        if !reasoning.is_object() {
            *reasoning = Value::Object(Map::new());
        }
        if let Some(reasoning) = reasoning.as_object_mut() {
            reasoning.insert("effort".into(), Value::String(effort.clone()));
        }
        record.reasoning_effort = Some(effort.clone());
    }
    let guard = gateway.core.quotas().admit(&key.row.id, policy, crate::core::now_millis());
    record.quota = Some(guard.map_err(|refusal| keys::refused(&key.row.name, refusal))?);
    Ok(())
}

pub async fn models(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let anthropic = headers.contains_key("anthropic-version");
    let dialect = if anthropic { Dialect::Anthropic } else { Dialect::OpenAi };
    if let Err(error) = keys::authenticate(&gateway.core, &headers) {
        return error.into_dialect(dialect);
    }
    let mut models = gateway.core.models();
    if models.is_empty() {
        if let Err(error) = gateway.refresh_models().await {
            return error.into_dialect(dialect);
        }
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
        return axum::Json(json!({"data": data, "has_more": false, "first_id": first, "last_id": last}))
            .into_response();
    }
    let data: Vec<Value> =
        listed.map(|m| json!({"id": m.slug, "object": "model", "created": 0, "owned_by": "openai"})).collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
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
pub async fn pool_usage(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Err(error) = keys::authenticate(&gateway.core, &headers) {
        return error.into_dialect(Dialect::OpenAi);
    }
    let now = now_secs();
    let pool = gateway.core.pool();
    let active: Vec<_> =
        pool.accounts.iter().filter(|a| a.status == crate::core::AccountStatus::Active && a.has_tokens()).collect();
    let window = |pick: fn(&crate::core::UsageSnapshot) -> Option<crate::core::Window>, seconds: i64| {
        if active.is_empty() {
            return Value::Null;
        }
        let windows: Vec<Option<crate::core::Window>> =
            active.iter().map(|a| a.usage().as_ref().and_then(pick)).collect();
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
        } else if account.status == crate::core::AccountStatus::Active
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
