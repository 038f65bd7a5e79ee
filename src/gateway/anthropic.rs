//! The Anthropic front door: `POST /v1/messages` (translated both ways, streaming and not)
//! and `POST /v1/messages/count_tokens` (answered locally). Errors use Anthropic's shape.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::{Dialect, GatewayError};
use super::handlers::{Intake, answer, bind_model, fail, intake, outgoing, request_error};
use super::protocol::anthropic;
use super::protocol::responses::normalize_request;
use super::{Gateway, body, keys};
use crate::core::KeyProtocol;

pub async fn messages(State(gateway): State<Arc<Gateway>>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let Intake { mut record, key, body } =
        match intake(&gateway, "/v1/messages", &uri, &headers, body, None, Dialect::Anthropic).await {
            Ok(intake) => intake,
            Err(response) => return response,
        };
    let translated = if key.row.protocol == KeyProtocol::AzureOpenai {
        Err(GatewayError::bad_request(
            None,
            "an azure_openai key forwards OpenAI-style requests only (/v1/chat/completions, /v1/responses); \
             use an openai or anthropic key for /v1/messages",
        ))
    } else {
        anthropic::translate_request(Value::Object(body)).map_err(request_error)
    };
    let translated = match translated {
        Ok(translated) => translated,
        Err(error) => return fail(&gateway, record, error, Dialect::Anthropic),
    };
    let context = translated.context;
    let mut upstream = translated.body;
    let prepared = bind_model(&gateway, &key, &mut upstream).and_then(|model| {
        record.model = Some(model.clone());
        record.reasoning_effort = translated.reasoning_effort;
        record.session = translated.session;
        if let Some(session) = &record.session
            && !upstream.contains_key("prompt_cache_key")
        {
            upstream.insert("prompt_cache_key".into(), Value::String(session.clone()));
        }
        normalize_request(&mut upstream);
        Ok((outgoing(&gateway, &mut record, &key, model, &mut upstream, &headers)?, translated.stream))
    });
    let stream = anthropic::MessagesStream::new(context.clone());
    answer(gateway, record, prepared, stream, false, Dialect::Anthropic, |response, incomplete| {
        anthropic::message_from_response(response, incomplete, &context)
    })
    .await
}

/// Answered locally with an estimate (see `protocol::anthropic::count_tokens`); no account
/// is used and nothing is logged.
pub async fn count_tokens(State(gateway): State<Arc<Gateway>>, headers: HeaderMap, body: Body) -> Response {
    let counted = async {
        keys::authenticate(&gateway.core, &headers)?;
        let body = body::read_object(body, &headers, gateway.core.config().front_proxy_max_body_bytes).await?;
        anthropic::count_tokens(&Value::Object(body)).map_err(request_error)
    }
    .await;
    match counted {
        Ok(tokens) => axum::Json(json!({"input_tokens": tokens})).into_response(),
        Err(error) => error.into_dialect(Dialect::Anthropic),
    }
}
