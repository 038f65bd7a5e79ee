//! Protocol edges: client requests in, Codex `/responses` bodies out; upstream events in,
//! each client protocol's answer out. Pure functions and state machines: no I/O, no
//! routing, no knowledge of accounts.

pub mod anthropic;
pub mod chat;
pub mod fields;
pub mod responses;
pub mod tool_names;

use serde_json::{Map, Value};

/// A client request translated into a Responses request body, with what answering it needs.
#[derive(Debug, Clone)]
pub struct Translated<C> {
    /// The Responses body; `model` is still the client's name (the gateway maps it) and
    /// `responses::normalize_request` still has to run on it.
    pub body: Map<String, Value>,
    /// The client asked for a stream.
    pub stream: bool,
    /// The effort sent upstream, for the request log.
    pub reasoning_effort: Option<String>,
    /// A session key from the client protocol's own fields, for routing stickiness when the
    /// body carries no `prompt_cache_key`.
    pub session_hint: Option<String>,
    /// What rendering the answer needs to know about the request.
    pub context: C,
}

/// One upstream SSE event, parsed: its `type` and its JSON data (which also has `type`).
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamEvent {
    pub kind: String,
    pub data: Value,
}

impl UpstreamEvent {
    /// Parses an event's data; `None` when it is not a JSON object with a `type`.
    pub fn parse(data: &str) -> Option<UpstreamEvent> {
        let data: Value = serde_json::from_str(data).ok()?;
        let kind = data.get("type")?.as_str()?.to_string();
        Some(UpstreamEvent { kind, data })
    }
}

/// A client request that cannot be served as sent: answered with a 400 naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// The offending field, as a dotted path (`messages.2.content`), when there is one.
    pub param: Option<String>,
    pub message: String,
}

impl RequestError {
    pub fn new(param: impl Into<String>, message: impl Into<String>) -> RequestError {
        RequestError { param: Some(param.into()), message: message.into() }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
