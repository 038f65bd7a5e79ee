//! The OpenAI front doors — `/v1/responses` (passed through) and `/v1/chat/completions`
//! (translated) — and their Azure OpenAI spellings (`/openai/deployments/{d}/…`,
//! `/openai/responses`, `/openai/v1/…`), where the deployment name is the model. Requests
//! made with an `azure_openai` key go to that key's Azure endpoint instead of the pool.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::Value;

use super::errors::{Dialect, GatewayError};
use super::handlers::{Intake, answer, bind_model, fail, intake, outgoing, request_error, session_of};
use super::protocol::chat;
use super::protocol::responses::normalize_request;
use super::stream::Passthrough;
use super::{Gateway, azure};
use crate::core::KeyProtocol;

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
    let Intake { mut record, key, mut body } =
        match intake(&gateway, "/v1/responses", &uri, &headers, body, deployment, Dialect::OpenAi).await {
            Ok(intake) => intake,
            Err(response) => return response,
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
        Ok::<_, GatewayError>((outgoing(&gateway, &mut record, &key, model, &mut body, &headers)?, streaming))
    })();
    answer(gateway, record, prepared, Passthrough, true, Dialect::OpenAi, |response, _| response.clone()).await
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
    let Intake { mut record, key, body } =
        match intake(&gateway, "/v1/chat/completions", &uri, &headers, body, deployment, Dialect::OpenAi).await {
            Ok(intake) => intake,
            Err(response) => return response,
        };
    if key.row.protocol == KeyProtocol::AzureOpenai {
        return azure::forward(&gateway, &key, azure::Surface::Chat, body, record).await;
    }
    let translated = match chat::translate_request(Value::Object(body)) {
        Ok(translated) => translated,
        Err(error) => return fail(&gateway, record, request_error(error), Dialect::OpenAi),
    };
    let context = translated.context;
    let mut upstream = translated.body;
    let prepared = bind_model(&gateway, &key, &mut upstream).and_then(|model| {
        record.model = Some(model.clone());
        record.reasoning_effort = translated.reasoning_effort;
        record.session = translated.session.or_else(|| session_of(&upstream, &headers));
        normalize_request(&mut upstream);
        Ok((outgoing(&gateway, &mut record, &key, model, &mut upstream, &headers)?, translated.stream))
    });
    let stream = chat::ChatStream::new(context.clone());
    answer(gateway, record, prepared, stream, false, Dialect::OpenAi, |response, incomplete| {
        chat::completion_from_response(response, incomplete, &context)
    })
    .await
}
