//! The Anthropic front door: `POST /v1/messages` (translated both ways, streaming and not)
//! and `POST /v1/messages/count_tokens` (answered locally). Errors use Anthropic's shape.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::{Dialect, GatewayError};
use super::keys::PlatformKey;
use super::pipeline::{self, Intake, Translation, fail, intake};
use super::protocol::RequestError;
use super::protocol::anthropic::{self, MessagesContext, MessagesRequest, MessagesStream};
use super::{Gateway, body};
use crate::core::KeyProtocol;

pub async fn messages(
    State(gateway): State<Arc<Gateway>>,
    uri: Uri,
    headers: HeaderMap,
    key: Result<PlatformKey, GatewayError>,
    body: Body,
) -> Response {
    let intake: Intake =
        match intake(&gateway, "/v1/messages", &uri, &headers, key, body, None, Dialect::Anthropic).await {
            Ok(intake) => intake,
            Err(response) => return response,
        };
    if intake.key.row.protocol == KeyProtocol::AzureOpenai {
        let refusal = GatewayError::bad_request(
            None,
            "an azure_openai key forwards OpenAI-style requests only (/v1/chat/completions, /v1/responses); \
             use an openai or anthropic key for /v1/messages",
        );
        return fail(&gateway, intake.record, refusal, Dialect::Anthropic);
    }
    pipeline::serve_translated::<Messages>(gateway, intake, &headers, Dialect::Anthropic).await
}

/// Anthropic Messages over the Responses backend.
struct Messages;

impl Translation for Messages {
    type Context = MessagesContext;
    type Stream = MessagesStream;

    fn translate(body: Value) -> Result<MessagesRequest, RequestError> {
        anthropic::translate_request(body)
    }

    fn stream(context: MessagesContext) -> MessagesStream {
        MessagesStream::new(context)
    }

    fn shape(response: &Value, incomplete: bool, context: &MessagesContext) -> Value {
        anthropic::message_from_response(response, incomplete, context)
    }
}

/// Answered locally (see `protocol::anthropic::count_tokens`), on a blocking thread: no
/// account is used and nothing is logged.
pub async fn count_tokens(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    _key: PlatformKey,
    body: Body,
) -> Result<Response, GatewayError> {
    let refused = |error: GatewayError| error.in_dialect(Dialect::Anthropic);
    let body =
        body::read_object(body, &headers, gateway.core.config().front_proxy_max_body_bytes).await.map_err(refused)?;
    let counted = tokio::task::spawn_blocking(move || anthropic::count_tokens(&Value::Object(body))).await;
    let tokens = counted
        .map_err(|error| {
            refused(GatewayError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                format!("counting failed: {error}"),
            ))
        })?
        .map_err(|error| refused(error.into()))?;
    Ok(axum::Json(json!({"input_tokens": tokens})).into_response())
}
