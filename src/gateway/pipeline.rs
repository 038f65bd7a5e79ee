//! The path every pooled request takes, in order: [`intake`] (admission, the platform key,
//! the body) → a front door's own step (pass-through, or a [`Translation`]) → [`prepare`]
//! (model binding, the session, the key's policy, the upstream body) → [`answer`] (dispatch
//! with failover, then a stream or one JSON body). The front doors in `openai` and
//! `anthropic` only choose the steps; a refusal anywhere is logged and answered in the
//! caller's error shape.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::body::ObjectBody;
use super::dispatch::{Outgoing, Started};
use super::errors::{Dialect, GatewayError};
use super::keys::{self, PlatformKey};
use super::protocol::fields::Fields;
use super::protocol::responses::normalize_request;
use super::protocol::{RequestError, Translated};
use super::record::Record;
use super::stream::{self, ClientStream};
use super::upstream::Endpoint;
use super::{Gateway, model_map};
use crate::core::GatewayKey;

/// A client protocol translated to and from the Responses backend.
pub(super) trait Translation {
    type Context: Clone + Send + 'static;
    type Stream: ClientStream;
    /// The client's body → a Responses body, or a refusal naming the field.
    fn translate(body: Value) -> Result<Translated<Self::Context>, RequestError>;
    /// The translator for a streamed answer.
    fn stream(context: Self::Context) -> Self::Stream;
    /// The final Responses `response` → the client's non-streaming answer.
    fn shape(response: &Value, incomplete: bool, context: &Self::Context) -> Value;
}

/// A translated route from intake to answer.
pub(super) async fn serve_translated<T: Translation>(
    gateway: Arc<Gateway>,
    intake: Intake,
    headers: &HeaderMap,
    dialect: Dialect,
) -> Response {
    let Intake { mut record, key, body } = intake;
    let translated = match T::translate(Value::Object(body)) {
        Ok(translated) => translated,
        Err(error) => return fail(&gateway, record, error.into(), dialect),
    };
    let Translated { body: mut upstream, stream: streaming, reasoning_effort, session_hint, context } = translated;
    record.reasoning_effort = reasoning_effort;
    let prepared = prepare(&gateway, &mut record, &key, &mut upstream, session_hint.as_deref(), headers)
        .map(|outgoing| (outgoing, streaming));
    let stream = T::stream(context.clone());
    answer(gateway, record, prepared, stream, false, dialect, |response, incomplete| {
        T::shape(response, incomplete, &context)
    })
    .await
}

/// Logs a refused request and answers it in the caller's shape.
pub(super) fn fail(gateway: &Arc<Gateway>, record: Record, error: GatewayError, dialect: Dialect) -> Response {
    record.finish(gateway, error.status.as_u16(), Some(error.message.clone()));
    error.in_dialect(dialect).into_response()
}

/// A request's admission slot, given back when dropped.
pub struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Takes an admission slot (`CODEXMANAGER_MAX_CONCURRENT_REQUESTS`, as configured now) for
/// the request's life.
fn admit(gateway: &Gateway) -> Result<Admitted, GatewayError> {
    let limit = gateway.core.config().max_concurrent_requests.max(1);
    let admitted = gateway.admitted.fetch_add(1, Ordering::AcqRel);
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

/// The session a request belongs to, for stickiness. One precedence for every route: the
/// upstream body's `prompt_cache_key`, else the client protocol's own session field (`hint`),
/// else the `session_id` or `conversation_id` header.
fn session_of(body: &impl Fields, hint: Option<&str>, headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cache_key = body.text("prompt_cache_key");
    [cache_key.as_deref(), hint, header("session_id"), header("conversation_id")]
        .into_iter()
        .flatten()
        .find(|session| !session.is_empty())
        .map(str::to_string)
}

/// Decides the upstream model (the key's binding, else the mapping table, else the name
/// sent), writes it into the body and returns it.
fn bind_model(gateway: &Gateway, key: &GatewayKey, body: &mut impl Fields) -> Result<String, GatewayError> {
    let requested = body.text("model").filter(|m| !m.trim().is_empty());
    let model = match (requested.as_deref(), key.row.model.as_deref()) {
        (None, None) => return Err(GatewayError::bad_request(Some("model".into()), "`model` is required")),
        (requested, binding) => {
            model_map::resolve(requested.unwrap_or_default(), binding, &gateway.core.config().model_mapping)
        }
    };
    body.set("model", Value::String(model.clone()));
    Ok(model)
}

/// A pooled request past its first steps: admitted, key checked, body read.
pub(super) struct Intake<B = Map<String, Value>> {
    pub record: Record,
    pub key: Arc<GatewayKey>,
    pub body: B,
}

/// Admission, the key check and the body — the first steps of every pooled route. The
/// deployment of an Azure path becomes the model. On failure, the finished error response.
pub(super) async fn intake<B: ObjectBody>(
    gateway: &Arc<Gateway>,
    route: &'static str,
    uri: &Uri,
    headers: &HeaderMap,
    key: Result<PlatformKey, GatewayError>,
    body: axum::body::Body,
    deployment: Option<String>,
    dialect: Dialect,
) -> Result<Intake<B>, Response> {
    let mut record = open_record(gateway, route, uri.path(), headers);
    let opened = async {
        let key = admit_key(gateway, &mut record, key.map(|PlatformKey(key)| key))?;
        let mut body: B =
            super::body::read_object(body, headers, gateway.core.config().front_proxy_max_body_bytes).await?;
        if let Some(deployment) = deployment {
            body.set("model", Value::String(deployment));
        }
        Ok::<_, GatewayError>((key, body))
    }
    .await;
    match opened {
        Ok((key, body)) => Ok(Intake { record, key, body }),
        Err(error) => Err(fail(gateway, record, error, dialect)),
    }
}

/// A new request's record, before anything is checked.
pub(super) fn open_record(gateway: &Gateway, route: &'static str, path: &str, headers: &HeaderMap) -> Record {
    let id = gateway.next_id.fetch_add(1, Ordering::Relaxed);
    Record::new(id, super::handlers::request_id_of(headers), route, path)
}

/// Admission and the key's checks for a request: a slot under the admission limit, then the
/// key (already looked up) and its expiry.
pub(super) fn admit_key(
    gateway: &Gateway,
    record: &mut Record,
    key: Result<Arc<GatewayKey>, GatewayError>,
) -> Result<Arc<GatewayKey>, GatewayError> {
    record.permit = Some(admit(gateway)?);
    gateway.metrics.inflight(1);
    let key = key?;
    record.key_id = Some(key.row.id.clone());
    keys::check_expiry(&key)?;
    Ok(key)
}

/// The upstream request for a Responses body: the model bound, the session and the body's
/// effort recorded, the body normalized, the key's policy applied.
pub(super) fn prepare(
    gateway: &Gateway,
    record: &mut Record,
    key: &GatewayKey,
    body: &mut impl Fields,
    session_hint: Option<&str>,
    headers: &HeaderMap,
) -> Result<Outgoing, GatewayError> {
    prepare_for(gateway, record, key, body, session_hint, headers, Endpoint::Responses)
}

/// The upstream request for a compaction body: as [`prepare`], but the body goes as the
/// client sent it (a compaction has no `stream`, `store` or `include`, reference §8.1).
pub(super) fn prepare_compaction(
    gateway: &Gateway,
    record: &mut Record,
    key: &GatewayKey,
    body: &mut impl Fields,
    headers: &HeaderMap,
) -> Result<Outgoing, GatewayError> {
    prepare_for(gateway, record, key, body, None, headers, Endpoint::Compact)
}

fn prepare_for(
    gateway: &Gateway,
    record: &mut Record,
    key: &GatewayKey,
    body: &mut impl Fields,
    session_hint: Option<&str>,
    headers: &HeaderMap,
    endpoint: Endpoint,
) -> Result<Outgoing, GatewayError> {
    let model = bind_model(gateway, key, body)?;
    record.model = Some(model.clone());
    if record.reasoning_effort.is_none() {
        record.reasoning_effort =
            body.value("reasoning").and_then(|r| r.get("effort").and_then(Value::as_str).map(str::to_string));
    }
    record.session = session_of(body, session_hint, headers);
    if endpoint == Endpoint::Responses {
        normalize_request(body);
    }
    apply_policy(gateway, record, key, &model, body)?;
    Ok(Outgoing {
        id: record.id,
        request_id: record.request_id.clone(),
        body: body.to_bytes().into(),
        model,
        key_id: key.row.id.clone(),
        session: record.session.clone(),
        client_headers: headers.clone(),
        scope: key.row.policy.groups.clone(),
        endpoint,
    })
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
    let started = match dispatch(&gateway, &outgoing, &mut record).await {
        Ok(started) => started,
        Err(error) => return fail(&gateway, record, error, dialect),
    };
    if streaming {
        return stream::respond_streaming(gateway.clone(), started, translator, raw, record);
    }
    let returned = started.headers.clone();
    match stream::collect(&gateway, started, &mut record).await {
        Ok((response, incomplete)) => {
            record.finish(&gateway, 200, None);
            let mut response = axum::Json(shape(&response, incomplete)).into_response();
            response.headers_mut().extend(returned);
            response
        }
        Err(error) => fail(&gateway, record, error, dialect),
    }
}

/// Dispatches to the pool, cut short when the service stops.
pub(super) async fn dispatch(
    gateway: &Gateway,
    outgoing: &Outgoing,
    record: &mut Record,
) -> Result<Started, GatewayError> {
    let mut closing = gateway.closing.subscribe();
    tokio::select! {
        dispatched = gateway.dispatch(outgoing, record) => dispatched,
        _ = closing.wait_for(|closing| *closing) => Err(super::errors::shutting_down()),
    }
}

/// Sends a compaction to the pool and answers with the upstream's JSON untouched (its usage,
/// when it has one, is logged).
pub(super) async fn answer_compaction(
    gateway: Arc<Gateway>,
    mut record: Record,
    prepared: Result<Outgoing, GatewayError>,
) -> Response {
    let started = match prepared {
        Ok(outgoing) => dispatch(&gateway, &outgoing, &mut record).await,
        Err(error) => Err(error),
    };
    let started = match started {
        Ok(started) => started,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    let body: Bytes = started.head.concat().into();
    record.first_byte(&gateway);
    record.usage = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|answer| answer.get("usage").map(crate::gateway::protocol::responses::Usage::of));
    record.finish(&gateway, 200, None);
    let mut response = ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
    response.headers_mut().extend(started.headers);
    response
}

/// A key's policy on one request: the model must be one the key may use, its bound reasoning
/// effort replaces the client's, and its limits must have room (the request then counts
/// against them).
pub(super) fn apply_policy(
    gateway: &Gateway,
    record: &mut Record,
    key: &GatewayKey,
    model: &str,
    body: &mut impl Fields,
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
        let mut reasoning = match body.value("reasoning") {
            Some(Value::Object(reasoning)) => reasoning,
            _ => Map::new(),
        };
        reasoning.insert("effort".into(), Value::String(effort.clone()));
        body.set("reasoning", Value::Object(reasoning));
        record.reasoning_effort = Some(effort.clone());
    }
    let guard = gateway.core.quotas().admit(&key.row.id, policy, crate::core::now_millis());
    record.quota = Some(guard.map_err(|refusal| keys::refused(&key.row.name, refusal))?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    #[test]
    fn one_session_precedence_for_every_route() {
        let mut body = Map::new();
        let both = headers(&[("session_id", "hdr-s"), ("conversation_id", "hdr-c")]);
        assert_eq!(session_of(&body, None, &headers(&[])), None);
        assert_eq!(session_of(&body, None, &headers(&[("conversation_id", "hdr-c")])).as_deref(), Some("hdr-c"));
        assert_eq!(session_of(&body, None, &both).as_deref(), Some("hdr-s"));
        assert_eq!(session_of(&body, Some("hint"), &both).as_deref(), Some("hint"));
        body.insert("prompt_cache_key".into(), Value::String("pck".into()));
        assert_eq!(session_of(&body, Some("hint"), &both).as_deref(), Some("pck"));
        body.insert("prompt_cache_key".into(), Value::String(String::new()));
        assert_eq!(session_of(&body, Some(""), &both).as_deref(), Some("hdr-s"), "empty values are skipped");
    }
}
