//! The OpenAI front doors — `/v1/responses` (passed through) and `/v1/chat/completions`
//! (translated) — and their Azure OpenAI spellings (`/openai/deployments/{d}/…`,
//! `/openai/responses`, `/openai/v1/…`), where the deployment name is the model. Requests
//! made with an `azure_openai` key go to that key's Azure endpoint instead of the pool.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::dispatch::Outgoing;
use super::errors::{Dialect, GatewayError};
use super::handlers::{begin, bind_model, fail, request_error, session_of};
use super::protocol::chat;
use super::protocol::responses::normalize_request;
use super::record::Record;
use super::stream::{self, Passthrough};
use super::{Gateway, azure, body, keys};
use crate::core::GatewayKey;
use crate::core::KeyProtocol;

/// Checks the key and reads the body; the deployment of an Azure path becomes the model.
async fn open_request(
    gateway: &Gateway,
    record: &mut Record,
    headers: &HeaderMap,
    body: Body,
    deployment: Option<String>,
) -> Result<(Arc<GatewayKey>, Map<String, Value>), GatewayError> {
    let key = keys::authenticate(&gateway.core, headers)?;
    record.key_id = Some(key.row.id.clone());
    let mut body = body::read_object(body, headers, gateway.core.config().front_proxy_max_body_bytes).await?;
    if let Some(deployment) = deployment {
        body.insert("model".into(), Value::String(deployment));
    }
    Ok((key, body))
}

pub async fn responses(State(gateway): State<Arc<Gateway>>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    serve_responses(gateway, uri, headers, body, None).await
}

pub async fn azure_deployment_responses(
    State(gateway): State<Arc<Gateway>>,
    Path(deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve_responses(gateway, uri, headers, body, Some(deployment)).await
}

async fn serve_responses(
    gateway: Arc<Gateway>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    deployment: Option<String>,
) -> Response {
    let (mut record, permit) = begin(&gateway, "/v1/responses", &uri);
    let permit = match permit {
        Ok(permit) => permit,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    record.permit = Some(permit);
    let (key, mut body) = match open_request(&gateway, &mut record, &headers, body, deployment).await {
        Ok(opened) => opened,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    if key.row.protocol == KeyProtocol::AzureOpenai {
        return azure::forward(&gateway, &key, azure::Surface::Responses, body, record).await;
    }
    let prepared = (|| {
        let model = bind_model(&gateway, &key, &mut body)?;
        let streaming = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
        record.model = Some(model.clone());
        record.reasoning_effort =
            body.get("reasoning").and_then(|r| r.get("effort")).and_then(Value::as_str).map(str::to_string);
        record.session = session_of(&body, &headers);
        normalize_request(&mut body);
        Ok::<_, GatewayError>((outgoing(&record, &key, model, &body, &headers)?, streaming))
    })();
    let (outgoing, streaming) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    let started = match gateway.dispatch(&outgoing).await {
        Ok(started) => started,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    if streaming {
        return stream::respond_streaming(gateway.clone(), started, Passthrough, true, record);
    }
    match stream::collect(&gateway, started, &mut record).await {
        Ok((response, _)) => {
            record.finish(&gateway, 200, None);
            axum::Json(response).into_response()
        }
        Err(error) => fail(&gateway, record, error, Dialect::OpenAi),
    }
}

pub async fn chat_completions(
    State(gateway): State<Arc<Gateway>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve_chat(gateway, uri, headers, body, None).await
}

pub async fn azure_deployment_chat(
    State(gateway): State<Arc<Gateway>>,
    Path(deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve_chat(gateway, uri, headers, body, Some(deployment)).await
}

async fn serve_chat(
    gateway: Arc<Gateway>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    deployment: Option<String>,
) -> Response {
    let (mut record, permit) = begin(&gateway, "/v1/chat/completions", &uri);
    let permit = match permit {
        Ok(permit) => permit,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    record.permit = Some(permit);
    let (key, body) = match open_request(&gateway, &mut record, &headers, body, deployment).await {
        Ok(opened) => opened,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    if key.row.protocol == KeyProtocol::AzureOpenai {
        return azure::forward(&gateway, &key, azure::Surface::Chat, body, record).await;
    }
    let prepared = (|| {
        let translated = chat::translate_request(Value::Object(body)).map_err(request_error)?;
        let mut upstream = translated.body;
        let model = bind_model(&gateway, &key, &mut upstream)?;
        record.model = Some(model.clone());
        record.reasoning_effort = translated.reasoning_effort.clone();
        record.session = translated.session.clone().or_else(|| session_of(&upstream, &headers));
        normalize_request(&mut upstream);
        let outgoing = outgoing(&record, &key, model, &upstream, &headers)?;
        Ok::<_, GatewayError>((outgoing, translated.stream, translated.context))
    })();
    let (outgoing, streaming, context) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    let started = match gateway.dispatch(&outgoing).await {
        Ok(started) => started,
        Err(error) => return fail(&gateway, record, error, Dialect::OpenAi),
    };
    if streaming {
        return stream::respond_streaming(gateway.clone(), started, chat::ChatStream::new(context), false, record);
    }
    match stream::collect(&gateway, started, &mut record).await {
        Ok((response, incomplete)) => {
            record.finish(&gateway, 200, None);
            axum::Json(chat::completion_from_response(&response, incomplete, &context)).into_response()
        }
        Err(error) => fail(&gateway, record, error, Dialect::OpenAi),
    }
}

/// The upstream request for a pooled route.
pub(super) fn outgoing(
    record: &Record,
    key: &GatewayKey,
    model: String,
    body: &Map<String, Value>,
    headers: &HeaderMap,
) -> Result<Outgoing, GatewayError> {
    let bytes = serde_json::to_vec(body).map_err(|e| GatewayError::bad_request(None, e.to_string()))?;
    Ok(Outgoing {
        id: record.id,
        body: bytes.into(),
        model,
        key_id: key.row.id.clone(),
        session: record.session.clone(),
        client_headers: headers.clone(),
    })
}
