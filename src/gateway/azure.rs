//! Azure OpenAI as an upstream: requests made with an `azure_openai` platform key go to that
//! key's endpoint — `{endpoint}/openai/deployments/{model}/chat/completions?api-version=…`
//! or `{endpoint}/openai/responses?api-version=…` — with its Azure API key in `api-key`,
//! instead of the account pool. Answers, streaming or not, pass through unchanged; the
//! request log shows the endpoint in place of an account.

use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::Gateway;
use super::errors::{Dialect, GatewayError};
use super::pipeline::fail;
use super::protocol::responses::Usage;
use super::record::Record;
use super::sse;
use crate::core::{DEFAULT_AZURE_API_VERSION, GatewayKey};

/// Which Azure API a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Chat,
    Responses,
}

pub async fn forward(
    gateway: &Arc<Gateway>,
    key: &GatewayKey,
    surface: Surface,
    mut body: Map<String, Value>,
    mut record: Record,
) -> Response {
    let (Some(endpoint), Some(api_key)) = (key.row.azure_endpoint.as_deref(), key.azure_api_key.as_deref()) else {
        let error = GatewayError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "azure_key_unavailable",
            "this azure_openai key has no endpoint or its Azure API key cannot be opened; recreate the key",
        );
        return fail(gateway, record, error, Dialect::OpenAi);
    };
    if let Some(bound) = &key.row.model {
        body.insert("model".into(), Value::String(bound.clone()));
    }
    let Some(model) = body.get("model").and_then(Value::as_str).map(str::to_string) else {
        return fail(
            gateway,
            record,
            GatewayError::bad_request(Some("model".into()), "`model` (the Azure deployment) is required"),
            Dialect::OpenAi,
        );
    };
    record.model = Some(model.clone());
    if let Err(error) = super::pipeline::apply_policy(gateway, &mut record, key, &model, &mut body) {
        return fail(gateway, record, error, Dialect::OpenAi);
    }
    let version = key.row.azure_api_version.as_deref().unwrap_or(DEFAULT_AZURE_API_VERSION);
    let url = match surface {
        Surface::Chat => format!("{endpoint}/openai/deployments/{model}/chat/completions?api-version={version}"),
        Surface::Responses => format!("{endpoint}/openai/responses?api-version={version}"),
    };
    record.upstream = Some(endpoint.to_string());
    record.attempts = 1;
    let http = match gateway.core.client_on(&gateway.core.route_for_new(&crate::egress::AccountProxy::Inherit)) {
        Ok(http) => http,
        Err(err) => {
            let error = GatewayError::new(StatusCode::BAD_GATEWAY, "proxy_error", err.to_string());
            return fail(gateway, record, error, Dialect::OpenAi);
        }
    };
    let sent = http
        .post(url)
        .header("api-key", api_key)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap_or_default())
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(err) => {
            let error = GatewayError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                format!("cannot reach the Azure endpoint {endpoint}: {err}"),
            );
            return fail(gateway, record, error, Dialect::OpenAi);
        }
    };
    let status = response.status();
    let content_type = response.headers().get("content-type").cloned();
    record.first_byte(gateway);
    let streaming =
        content_type.as_ref().and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/event-stream"));
    let mut builder = Response::builder().status(status.as_u16());
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    if !streaming {
        let bytes = response.bytes().await.unwrap_or_default();
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        record.usage = json.get("usage").map(usage_of);
        let error = (!status.is_success()).then(|| format!("Azure answered {status}"));
        record.finish(gateway, status.as_u16(), error);
        return builder.body(Body::from(bytes)).unwrap_or_else(|_| Response::new(Body::empty()));
    }
    let gateway = gateway.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(pump(gateway, response.bytes_stream(), surface, status.as_u16(), record, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok::<_, std::convert::Infallible>(bytes), rx))
    });
    builder.body(Body::from_stream(stream)).unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Passes an Azure stream to the client as the pool's streams are: whole events only, a
/// keep-alive while it is silent, cut after the idle timeout, and an error event in the
/// client's shape when it breaks.
async fn pump(
    gateway: Arc<Gateway>,
    mut upstream: impl futures_util::Stream<Item = reqwest::Result<Bytes>> + Unpin,
    surface: Surface,
    status: u16,
    mut record: Record,
    tx: tokio::sync::mpsc::Sender<Bytes>,
) {
    let keepalive = std::time::Duration::from_secs(gateway.core.config().stream_keepalive_secs.max(1));
    let idle_timeout = gateway.idle_timeout();
    let mut silent = std::time::Duration::ZERO;
    let mut parser = sse::Parser::new();
    let mut pending = bytes::BytesMut::new();
    let mut sent = 0u64;
    let error = loop {
        let chunk = match tokio::time::timeout(keepalive, upstream.next()).await {
            Err(_) => {
                silent += keepalive;
                if silent >= idle_timeout {
                    break Some(format!("the Azure endpoint sent nothing for {} s", idle_timeout.as_secs()));
                }
                if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                    return record.finish(&gateway, 499, Some("the client closed the connection".into()));
                }
                continue;
            }
            Ok(None) => break None,
            Ok(Some(Err(err))) => break Some(format!("the Azure stream broke: {err}")),
            Ok(Some(Ok(chunk))) => chunk,
        };
        silent = std::time::Duration::ZERO;
        for event in parser.feed(&chunk) {
            if let Ok(data) = serde_json::from_str::<Value>(&event.data)
                && let Some(usage) =
                    data.get("usage").or_else(|| data.pointer("/response/usage")).filter(|u| u.is_object())
            {
                record.usage = Some(usage_of(usage));
            }
        }
        pending.extend_from_slice(&chunk);
        if parser.overflowed() {
            break Some(format!("the Azure endpoint sent an event larger than {} MiB", sse::MAX_EVENT_BYTES >> 20));
        }
        let whole = super::stream::whole_events(&mut pending, &mut sent, &parser);
        if !whole.is_empty() && tx.send(whole).await.is_err() {
            return record.finish(&gateway, 499, Some("the client closed the connection".into()));
        }
    };
    match &error {
        Some(message) => {
            let _ = tx.send(Bytes::from(error_event(surface, message))).await;
        }
        None if !pending.is_empty() => {
            let _ = tx.send(pending.split().freeze()).await;
        }
        None => {}
    }
    let status = if error.is_some() { 502 } else { status };
    record.finish(&gateway, status, error);
}

/// The end of a broken stream in the client's shape.
fn error_event(surface: Surface, message: &str) -> String {
    let mut out = String::new();
    match surface {
        Surface::Chat => {
            let data =
                serde_json::json!({"error": {"message": message, "type": "server_error", "code": "upstream_error"}});
            sse::write_data(&mut out, &data.to_string());
            sse::write_data(&mut out, "[DONE]");
        }
        Surface::Responses => {
            let data = serde_json::json!({"type": "response.failed", "response": {"status": "failed",
                "error": {"code": "upstream_error", "message": message}}});
            sse::write_named(&mut out, "response.failed", &data.to_string());
        }
    }
    out
}

/// Usage in either Chat (`prompt_tokens`) or Responses (`input_tokens`) form.
fn usage_of(usage: &Value) -> Usage {
    if usage.get("prompt_tokens").is_some() {
        let n = |p: &str| usage.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        return Usage {
            input: n("/prompt_tokens"),
            cached: n("/prompt_tokens_details/cached_tokens"),
            output: n("/completion_tokens"),
            reasoning: n("/completion_tokens_details/reasoning_tokens"),
        };
    }
    Usage::of(usage)
}
