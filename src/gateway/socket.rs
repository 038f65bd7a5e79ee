//! The Responses API over WebSocket, as Codex CLI's built-in provider speaks it (reference
//! §8.2): a `GET /v1/responses` upgrade, then one `response.create` text frame per request,
//! answered with the same events an SSE stream carries (one JSON object per text frame).
//!
//! Each request on the socket goes through the pool like `POST /v1/responses` (admission,
//! policy, failover before the first event, a log row), over HTTP to the upstream. The
//! socket remembers its last request's full input, output and id, so a request that
//! continues it (`previous_response_id` with only the new input items) is sent upstream as
//! the whole conversation; `generate: false` (the session's prewarm) is answered here without
//! an account. The socket's requests share a session key, so they stay on one account while
//! it is usable. What cannot be served over a socket (an `azure_openai` key) is refused with
//! 426, which makes Codex fall back to HTTP at once.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::Gateway;
use super::errors::GatewayError;
use super::keys::PlatformKey;
use super::pipeline::{admit_key, dispatch, fail, open_record, prepare};
use super::protocol::UpstreamEvent;
use super::protocol::responses::{Aggregator, Outcome};
use super::stream::{ClientStream, spawn_pump};
use crate::core::{GatewayKey, KeyProtocol};

/// `GET /v1/responses`: the WebSocket upgrade.
pub async fn responses(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    key: Result<PlatformKey, GatewayError>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        let refusal = GatewayError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "/v1/responses takes POST, or GET as a WebSocket upgrade",
        );
        return refusal.into_response();
    };
    let key = match key {
        Ok(PlatformKey(key)) => key,
        Err(error) => return error.into_response(),
    };
    if key.row.protocol == KeyProtocol::AzureOpenai {
        let refusal = GatewayError::new(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_not_supported",
            "an azure_openai key forwards HTTP requests only; use POST /v1/responses",
        );
        return refusal.into_response();
    }
    let turn_state = headers.get("x-codex-turn-state").cloned();
    let session = format!("ws_{}", uuid::Uuid::new_v4().simple());
    let mut response =
        upgrade.on_upgrade(move |socket| Session { gateway, key, headers, session, last: None }.run(socket));
    if let Some(turn_state) = turn_state {
        response.headers_mut().insert("x-codex-turn-state", turn_state);
    }
    response
}

/// One socket's state between its requests.
struct Session {
    gateway: Arc<Gateway>,
    key: Arc<GatewayKey>,
    /// The handshake's headers: Codex's identity headers travel once, on the upgrade.
    headers: HeaderMap,
    /// The session key the socket's requests share (unless they carry their own).
    session: String,
    last: Option<Last>,
}

/// The socket's last finished response, for a request that continues it.
struct Last {
    id: String,
    /// The whole input that response answered, and what it produced.
    input: Vec<Value>,
    output: Vec<Value>,
}

impl Session {
    async fn run(mut self, mut socket: WebSocket) {
        while let Some(Ok(message)) = socket.recv().await {
            let text = match message {
                Message::Text(text) => text,
                Message::Binary(_) => {
                    let error = GatewayError::bad_request(None, "send `response.create` as a text frame");
                    let _ = socket.send(error_frame(&error)).await;
                    return;
                }
                Message::Close(_) => return,
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            if !self.serve(&mut socket, text.as_str()).await {
                return;
            }
        }
    }

    /// Serves one `response.create`; `false` when the client went away.
    async fn serve(&mut self, socket: &mut WebSocket, text: &str) -> bool {
        let request = match self.request_of(text) {
            Ok(request) => request,
            Err(error) => {
                self.last = None;
                return socket.send(error_frame(&error)).await.is_ok();
            }
        };
        match request {
            Request::Prewarm(input) => self.prewarm(socket, input).await,
            Request::Create(body) => self.create(socket, body).await,
        }
    }

    /// Reads a frame into the request to serve, its input made whole.
    fn request_of(&self, text: &str) -> Result<Request, GatewayError> {
        let mut body = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(body)) => body,
            Ok(_) => return Err(GatewayError::bad_request(None, "a frame must be a JSON object")),
            Err(error) => return Err(GatewayError::bad_request(None, format!("the frame is not JSON: {error}"))),
        };
        match body.remove("type") {
            Some(Value::String(kind)) if kind == "response.create" => {}
            other => {
                let kind = other.as_ref().and_then(Value::as_str).unwrap_or("none");
                let message = format!("unknown message type {kind:?}: only response.create is accepted");
                return Err(GatewayError::bad_request(Some("type".into()), message));
            }
        }
        let mut input = match body.remove("input") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(GatewayError::bad_request(Some("input".into()), "`input` must be a list of items")),
        };
        if let Some(previous) = body.remove("previous_response_id").filter(|id| !id.is_null()) {
            let continued = self.last.as_ref().filter(|last| previous.as_str() == Some(last.id.as_str()));
            let Some(last) = continued else {
                return Err(GatewayError::new(
                    StatusCode::BAD_REQUEST,
                    "previous_response_not_found",
                    format!("previous_response_id {previous} is not the last response on this connection"),
                ));
            };
            input = last.input.iter().chain(&last.output).cloned().chain(input).collect();
        }
        if body.remove("generate") == Some(Value::Bool(false)) {
            return Ok(Request::Prewarm(input));
        }
        body.insert("input".into(), Value::Array(input));
        Ok(Request::Create(body))
    }

    /// `generate: false`: nothing to generate, so no account is asked; the next request
    /// continues from this response with the same input.
    async fn prewarm(&mut self, socket: &mut WebSocket, input: Vec<Value>) -> bool {
        let id = format!("resp_warm_{}", uuid::Uuid::new_v4().simple());
        let response = json!({"id": id, "object": "response", "status": "completed", "output": [],
            "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}});
        self.last = Some(Last { id, input, output: Vec::new() });
        for kind in ["response.created", "response.completed"] {
            let event = json!({"type": kind, "response": response});
            if socket.send(Message::text(event.to_string())).await.is_err() {
                return false;
            }
        }
        true
    }

    /// One request through the pool, its events passed on as frames.
    async fn create(&mut self, socket: &mut WebSocket, mut body: Map<String, Value>) -> bool {
        self.last = None;
        let gateway = self.gateway.clone();
        let headers = request_headers(&self.headers, &mut body);
        let mut record = open_record(&gateway, "/v1/responses", "/v1/responses (websocket)", &headers);
        let input = body.get("input").and_then(Value::as_array).cloned().unwrap_or_default();
        let prepared = admit_key(&gateway, &mut record, Ok(self.key.clone()))
            .and_then(|key| prepare(&gateway, &mut record, &key, &mut body, Some(&self.session), &headers));
        let started = match prepared {
            Ok(outgoing) => dispatch(&gateway, &outgoing, &mut record).await,
            Err(error) => Err(error),
        };
        let mut started = match started {
            Ok(started) => started,
            Err(error) => {
                let frame = error_frame(&error);
                fail(&gateway, record, error, super::errors::Dialect::OpenAi);
                return socket.send(frame).await.is_ok();
            }
        };
        if let Some(limits) = rate_limits(&started.headers)
            && socket.send(Message::text(limits.to_string())).await.is_err()
        {
            return false;
        }
        started.headers.clear();
        let finished = Arc::new(Mutex::new(None));
        let frames = Frames { aggregator: Aggregator::new(), finished: finished.clone() };
        let mut answer = spawn_pump(gateway, started, frames, false, record);
        while let Some(chunk) = answer.recv().await {
            if !send_lines(socket, &chunk).await {
                return false;
            }
        }
        let completed = finished.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(response) = completed {
            let id = response.get("id").and_then(Value::as_str).map(str::to_string);
            let output = response.get("output").and_then(Value::as_array).cloned().unwrap_or_default();
            self.last = id.map(|id| Last { id, input, output });
        }
        true
    }
}

/// What travels as headers over HTTP but in `client_metadata` over a socket (reference
/// §8.2): per request, so it wins over the handshake's value.
const METADATA_HEADERS: [&str; 4] =
    ["x-codex-turn-metadata", "x-codex-window-id", "x-openai-subagent", "x-codex-parent-thread-id"];

/// The headers of one request on the socket: the handshake's, with the request's own
/// metadata moved out of `client_metadata` (trace context, which only sockets carry there,
/// is dropped).
fn request_headers(handshake: &HeaderMap, body: &mut Map<String, Value>) -> HeaderMap {
    let mut headers = handshake.clone();
    let Some(Value::Object(metadata)) = body.get_mut("client_metadata") else { return headers };
    for name in METADATA_HEADERS {
        if let Some(Value::String(value)) = metadata.remove(name)
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            headers.insert(name, value);
        }
    }
    metadata.retain(|key, _| !key.starts_with("ws_request_header_"));
    headers
}

enum Request {
    Prewarm(Vec<Value>),
    Create(Map<String, Value>),
}

/// Upstream events as frames: each event's JSON on its own line (the socket sends one frame
/// per line); the completed response is kept for the socket's next request.
struct Frames {
    aggregator: Aggregator,
    finished: Arc<Mutex<Option<Value>>>,
}

impl ClientStream for Frames {
    fn on_event(&mut self, event: &UpstreamEvent, out: &mut String) {
        out.push_str(&event.data.to_string());
        out.push('\n');
        self.aggregator.on_event(event);
        if self.aggregator.is_done() {
            let aggregator = std::mem::replace(&mut self.aggregator, Aggregator::new());
            if let Some(Outcome::Completed(response)) = aggregator.finish() {
                *self.finished.lock().unwrap_or_else(|p| p.into_inner()) = Some(response);
            }
        }
    }

    fn on_error(&mut self, message: &str, code: Option<&str>, out: &mut String) {
        let event = json!({"type": "response.failed", "response": {"status": "failed",
            "error": {"code": code.unwrap_or("upstream_error"), "message": message}}});
        out.push_str(&event.to_string());
        out.push('\n');
    }

    /// Nothing to write: the empty chunk makes the socket send a ping.
    fn keepalive(&self, _: &mut String) {}
}

/// Sends each line of a chunk as a text frame; an empty chunk as a ping.
async fn send_lines(socket: &mut WebSocket, chunk: &Bytes) -> bool {
    if chunk.is_empty() {
        return socket.send(Message::Ping(Bytes::new())).await.is_ok();
    }
    let text = String::from_utf8_lossy(chunk);
    for line in text.lines().filter(|line| !line.is_empty()) {
        if socket.send(Message::text(line)).await.is_err() {
            return false;
        }
    }
    true
}

/// A refusal as Codex reads it on a socket: `{"type":"error","status",…}`.
fn error_frame(error: &GatewayError) -> Message {
    let mut headers = Map::new();
    if let Some(seconds) = error.retry_after {
        headers.insert("retry-after".into(), Value::String(seconds.to_string()));
    }
    let frame = json!({"type": "error", "status": error.status.as_u16(),
        "error": {"type": error.openai_type(), "code": error.code, "message": error.message, "param": error.param},
        "headers": headers});
    Message::text(frame.to_string())
}

/// The serving account's limits as Codex's `codex.rate_limits` event, from the upstream's
/// `x-codex-*` headers; `None` when it sent none.
fn rate_limits(headers: &HeaderMap) -> Option<Value> {
    let text = |name: &str| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let number = |name: &str| text(name).and_then(|v| v.parse::<f64>().ok());
    let window = |family: &str| {
        let used = number(&format!("x-codex-{family}-used-percent"))?;
        Some(json!({"used_percent": used,
            "window_minutes": number(&format!("x-codex-{family}-window-minutes")).map(|m| m as i64),
            "reset_at": number(&format!("x-codex-{family}-reset-at")).map(|r| r as i64)}))
    };
    let (primary, secondary) = (window("primary"), window("secondary"));
    if primary.is_none() && secondary.is_none() {
        return None;
    }
    let flag = |name: &str| text(name).map(|v| v.eq_ignore_ascii_case("true"));
    let credits = text("x-codex-credits-has-credits").map(|_| {
        json!({"has_credits": flag("x-codex-credits-has-credits"), "unlimited": flag("x-codex-credits-unlimited"),
            "balance": text("x-codex-credits-balance")})
    });
    Some(json!({"type": "codex.rate_limits", "plan_type": null,
        "rate_limits": {"primary": primary, "secondary": secondary}, "credits": credits,
        "limit_name": text("x-codex-limit-name")}))
}
