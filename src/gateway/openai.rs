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
use super::keys::PlatformKey;
use super::pipeline::{self, Intake, Translation, answer, intake, prepare, prepare_compaction};
use super::protocol::RequestError;
use super::protocol::chat::{self, ChatContext, ChatRequest, ChatStream};
use super::protocol::fields::{Fields, RawObject};
use super::stream::Passthrough;
use super::{Gateway, azure};
use crate::core::KeyProtocol;

/// `/v1/responses`, also as `/openai/deployments/{deployment}/responses` (the deployment is
/// the model).
pub async fn responses(
    State(gateway): State<Arc<Gateway>>,
    deployment: Option<Path<String>>,
    uri: Uri,
    headers: HeaderMap,
    key: Result<PlatformKey, GatewayError>,
    body: Body,
) -> Response {
    let deployment = deployment.map(|Path(deployment)| deployment);
    let opened = intake::<RawObject>(&gateway, "/v1/responses", &uri, &headers, key, body, deployment, Dialect::OpenAi);
    let Intake { mut record, key, mut body } = match opened.await {
        Ok(intake) => intake,
        Err(response) => return response,
    };
    if key.row.protocol == KeyProtocol::AzureOpenai {
        return azure::forward(&gateway, &key, azure::Surface::Responses, body.into_map(), record).await;
    }
    let streaming = body.value("stream").and_then(|stream| stream.as_bool()).unwrap_or(false);
    let prepared =
        prepare(&gateway, &mut record, &key, &mut body, None, &headers).map(|outgoing| (outgoing, streaming));
    answer(gateway, record, prepared, Passthrough, true, Dialect::OpenAi, |response, _| response.clone()).await
}

/// `/v1/responses/compact` (Codex's remote compaction, reference §8.1): routed, refreshed,
/// failed over and logged like `/v1/responses`; the upstream's `{"output": [...]}` goes back
/// untouched.
pub async fn compact(
    State(gateway): State<Arc<Gateway>>,
    uri: Uri,
    headers: HeaderMap,
    key: Result<PlatformKey, GatewayError>,
    body: Body,
) -> Response {
    let route = "/v1/responses/compact";
    let Intake { mut record, key, mut body } =
        match intake::<RawObject>(&gateway, route, &uri, &headers, key, body, None, Dialect::OpenAi).await {
            Ok(intake) => intake,
            Err(response) => return response,
        };
    if key.row.protocol == KeyProtocol::AzureOpenai {
        let refusal = GatewayError::bad_request(
            None,
            "remote compaction runs on the account pool; an azure_openai key cannot use /v1/responses/compact",
        );
        return pipeline::fail(&gateway, record, refusal, Dialect::OpenAi);
    }
    let prepared = prepare_compaction(&gateway, &mut record, &key, &mut body, &headers);
    pipeline::answer_compaction(gateway, record, prepared).await
}

/// `/v1/chat/completions`, also as `/openai/deployments/{deployment}/chat/completions`.
pub async fn chat_completions(
    State(gateway): State<Arc<Gateway>>,
    deployment: Option<Path<String>>,
    uri: Uri,
    headers: HeaderMap,
    key: Result<PlatformKey, GatewayError>,
    body: Body,
) -> Response {
    let deployment = deployment.map(|Path(deployment)| deployment);
    let route = "/v1/chat/completions";
    let intake: Intake = match intake(&gateway, route, &uri, &headers, key, body, deployment, Dialect::OpenAi).await {
        Ok(intake) => intake,
        Err(response) => return response,
    };
    if intake.key.row.protocol == KeyProtocol::AzureOpenai {
        return azure::forward(&gateway, &intake.key, azure::Surface::Chat, intake.body, intake.record).await;
    }
    pipeline::serve_translated::<Chat>(gateway, intake, &headers, Dialect::OpenAi).await
}

/// Chat Completions over the Responses backend.
struct Chat;

impl Translation for Chat {
    type Context = ChatContext;
    type Stream = ChatStream;

    fn translate(body: Value) -> Result<ChatRequest, RequestError> {
        chat::translate_request(body)
    }

    fn stream(context: ChatContext) -> ChatStream {
        ChatStream::new(context)
    }

    fn shape(response: &Value, incomplete: bool, context: &ChatContext) -> Value {
        chat::completion_from_response(response, incomplete, context)
    }
}
