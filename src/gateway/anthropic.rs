//! The Anthropic front door: `POST /v1/messages` (translated both ways, streaming and not)
//! and `POST /v1/messages/count_tokens` (answered locally). Errors use Anthropic's shape.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::{Dialect, GatewayError};
use super::handlers::{begin, bind_model, fail, request_error};
use super::openai::outgoing;
use super::protocol::anthropic;
use super::protocol::responses::normalize_request;
use super::stream;
use super::{Gateway, body, keys};
use crate::core::KeyProtocol;

pub async fn messages(State(gateway): State<Arc<Gateway>>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let (mut record, permit) = begin(&gateway, "/v1/messages", &uri);
    let permit = match permit {
        Ok(permit) => permit,
        Err(error) => return fail(&gateway, record, error, Dialect::Anthropic),
    };
    record.permit = Some(permit);
    let prepared = async {
        let key = keys::authenticate(&gateway.core, &headers)?;
        record.key_id = Some(key.row.id.clone());
        if key.row.protocol == KeyProtocol::AzureOpenai {
            return Err(GatewayError::bad_request(
                None,
                "an azure_openai key forwards OpenAI-style requests only (/v1/chat/completions, /v1/responses); \
                 use an openai or anthropic key for /v1/messages",
            ));
        }
        let body = body::read_object(body, &headers, gateway.core.config().front_proxy_max_body_bytes).await?;
        let translated = anthropic::translate_request(Value::Object(body)).map_err(request_error)?;
        let mut upstream = translated.body;
        let model = bind_model(&gateway, &key, &mut upstream)?;
        record.model = Some(model.clone());
        record.reasoning_effort = translated.reasoning_effort.clone();
        record.session = translated.session.clone();
        if let Some(session) = &translated.session
            && !upstream.contains_key("prompt_cache_key")
        {
            upstream.insert("prompt_cache_key".into(), Value::String(session.clone()));
        }
        normalize_request(&mut upstream);
        let outgoing = outgoing(&record, &key, model, &upstream, &headers)?;
        Ok((outgoing, translated.stream, translated.context))
    }
    .await;
    let (outgoing, streaming, context) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return fail(&gateway, record, error, Dialect::Anthropic),
    };
    let started = match gateway.dispatch(&outgoing).await {
        Ok(started) => started,
        Err(error) => return fail(&gateway, record, error, Dialect::Anthropic),
    };
    if streaming {
        return stream::respond_streaming(
            gateway.clone(),
            started,
            anthropic::MessagesStream::new(context),
            false,
            record,
        );
    }
    match stream::collect(&gateway, started, &mut record).await {
        Ok((response, incomplete)) => {
            record.finish(&gateway, 200, None);
            axum::Json(anthropic::message_from_response(&response, incomplete, &context)).into_response()
        }
        Err(error) => fail(&gateway, record, error, Dialect::Anthropic),
    }
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
