//! The Anthropic Messages API on top of the Codex Responses backend. This module owns the
//! translation both ways and nothing else:
//! - `request`: a `POST /v1/messages` body → a Responses request body (plus what the answer
//!   needs to be rendered: the client's model name and the tool-name mapping);
//! - `stream`: upstream Responses SSE events → Anthropic SSE frames, one block at a time;
//! - `message`: the final Responses `response` object → a non-streaming Anthropic `message`;
//! - `count`: the local estimate answered for `POST /v1/messages/count_tokens`.
//!
//! Thinking replay: the stream sends the upstream's `encrypted_content` verbatim as a thinking
//! block's `signature`; when a client sends that block back in a later turn it becomes a
//! `reasoning` item again. See `request` for the rule that tells those signatures apart.

mod count;
mod message;
mod request;
mod stream;

pub use count::count_tokens;
pub use message::message_from_response;
pub use request::{MessagesRequest, translate_request};
pub use stream::MessagesStream;

use super::tool_names::ToolNames;

/// What rendering an answer needs to know about the request it answers.
#[derive(Debug, Clone)]
pub struct MessagesContext {
    /// The client's model name, echoed back in `message_start` and in the message.
    pub model: String,
    /// Tool names shortened for the upstream, restored in `tool_use` blocks.
    pub tool_names: ToolNames,
}
