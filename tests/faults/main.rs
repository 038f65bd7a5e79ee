//! Fault injection: the gateway against the world it meets — saturated pools, upstreams that
//! stall mid-event or send what is not an event stream, a full disk during a token refresh,
//! two processes on one database, shutdowns in the middle of long streams, slow clients,
//! symlink loops, hostile RPC bodies. Each test asserts what the client receives and what the
//! database holds afterwards.

#[path = "../support/mod.rs"]
mod support;

mod disk;
mod files;
mod import;
mod processes;
mod rpc;
mod saturation;
mod server;
mod shutdown;
mod streams;

use serde_json::{Value, json};

/// A non-streaming Chat Completions request.
pub fn chat(stream: bool) -> Value {
    json!({"model": "gpt-5.5", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

/// A Responses request.
pub fn responses(stream: bool) -> Value {
    json!({"model": "gpt-5.5", "stream": stream, "input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "hi"}]}]})
}

/// The `data:` payloads of an SSE body, in order.
pub fn data_lines(body: &str) -> Vec<&str> {
    body.lines().filter_map(|line| line.strip_prefix("data: ")).collect()
}
