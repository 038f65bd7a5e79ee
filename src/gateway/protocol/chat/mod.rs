//! OpenAI Chat Completions over the Codex backend. Owns both directions of the translation:
//! a `/v1/chat/completions` request becomes a Responses request body, and the upstream's
//! Responses events become `chat.completion.chunk` frames (streaming) or one `chat.completion`
//! object (non-streaming, from the `response` that `responses::Aggregator` assembles).
//! It does not own what every Responses body needs (`responses::normalize_request` runs after
//! it), HTTP status codes or error bodies, routing, or I/O.
//!
//! - `request`: a `/v1/chat/completions` body → a Responses request body and a [`ChatContext`];
//! - `stream`: upstream Responses events → `chat.completion.chunk` frames ending with `[DONE]`;
//! - `completion`: the final Responses `response` object → one `chat.completion`.

mod completion;
mod request;
mod stream;

pub use completion::completion_from_response;
pub use request::{ChatRequest, translate_request};
pub use stream::ChatStream;

use super::tool_names::ToolNames;

/// What the answer translation needs to know about the request.
#[derive(Debug, Clone)]
pub struct ChatContext {
    /// The model name echoed back to the client (the request's `model`).
    pub model: String,
    /// `stream_options.include_usage`: end the stream with a usage chunk.
    pub include_usage: bool,
    pub tool_names: ToolNames,
}

#[cfg(test)]
mod tests;
