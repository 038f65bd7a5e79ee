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

pub use count::{count_tokens, warm_up};
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::gateway::protocol::UpstreamEvent;

    fn stream_events(context: &MessagesContext, events: Vec<Value>) -> Vec<Value> {
        let mut stream = MessagesStream::new(context.clone());
        let mut out = String::new();
        for data in events {
            let kind = data["type"].as_str().unwrap().to_string();
            stream.on_event(&UpstreamEvent { kind, data }, &mut out);
        }
        out.split_terminator("\n\n")
            .map(|frame| serde_json::from_str(frame.split_once("\ndata: ").unwrap().1).unwrap())
            .collect()
    }

    /// The assistant turn a client rebuilds from the stream's blocks.
    fn assistant_turn(frames: &[Value]) -> Vec<Value> {
        let mut blocks: Vec<Value> = Vec::new();
        let mut json = String::new();
        for frame in frames {
            match frame["type"].as_str().unwrap() {
                "content_block_start" => blocks.push(frame["content_block"].clone()),
                "content_block_delta" => {
                    let block = blocks.last_mut().unwrap();
                    let delta = &frame["delta"];
                    match delta["type"].as_str().unwrap() {
                        kind @ ("thinking_delta" | "text_delta") => {
                            let field = kind.trim_end_matches("_delta");
                            let text = format!("{}{}", block[field].as_str().unwrap(), delta[field].as_str().unwrap());
                            block[field] = json!(text);
                        }
                        "signature_delta" => block["signature"] = delta["signature"].clone(),
                        "input_json_delta" => json.push_str(delta["partial_json"].as_str().unwrap()),
                        _ => {}
                    }
                }
                "content_block_stop" if !json.is_empty() => {
                    blocks.last_mut().unwrap()["input"] = serde_json::from_str(&std::mem::take(&mut json)).unwrap();
                }
                _ => {}
            }
        }
        blocks
    }

    #[test]
    fn long_tool_names_and_odd_call_ids_round_trip() {
        let long_name = format!("mcp__filesystem__{}", "read_text_file_".repeat(5));
        let tools = json!([{"name": long_name, "input_schema": {"type": "object"}}]);
        let first = translate_request(json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "tools": tools,
            "messages": [{"role": "user", "content": "read a.txt"}]}))
        .unwrap();
        let short_name = first.body["tools"][0]["name"].as_str().unwrap().to_string();
        assert!(short_name.len() <= 64);

        let odd_id = format!("call|{}", "9".repeat(70));
        let frames = stream_events(
            &first.context,
            vec![
                json!({"type": "response.created", "response": {"id": "resp_1"}}),
                json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call",
                "call_id": odd_id, "name": short_name, "arguments": ""}}),
                json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "function_call",
                "call_id": odd_id, "name": short_name, "arguments": "{\"path\":\"a.txt\"}"}}),
                json!({"type": "response.completed", "response": {"id": "resp_1"}}),
            ],
        );
        let turn = assistant_turn(&frames);
        let tool_use = &turn[0];
        assert_eq!(tool_use["name"], long_name.as_str());
        let client_id = tool_use["id"].as_str().unwrap().to_string();
        assert_eq!(client_id, format!("call_{}", "9".repeat(70)));

        let second = translate_request(json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "tools": tools,
            "messages": [{"role": "user", "content": "read a.txt"}, {"role": "assistant", "content": turn},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": client_id, "content": "hello"}]}]}))
        .unwrap();
        let call = &second.body["input"][1];
        let output = &second.body["input"][2];
        assert_eq!((call["type"].as_str(), call["name"].as_str()), (Some("function_call"), Some(short_name.as_str())));
        assert_eq!(call["arguments"], "{\"path\":\"a.txt\"}");
        assert_eq!(call["call_id"].as_str().unwrap().len(), 64);
        assert_eq!(output["call_id"], call["call_id"]);
        assert_eq!(output["output"], "hello");
    }

    #[test]
    fn a_streamed_thinking_block_is_replayed_as_encrypted_reasoning() {
        let context = MessagesContext { model: "claude-opus-4-1".into(), tool_names: Default::default() };
        let blob = "gAAAAABpQx7Y-Zq_3f9Kc0mUuVb2wHcR1sT8aN4eL6oP0yJ5dG7hI=";
        let frames = stream_events(
            &context,
            vec![
                json!({"type": "response.created", "response": {"id": "resp_1"}}),
                json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning",
                "summary": []}}),
                json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0,
                "delta": "Think"}),
                json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "reasoning",
                "summary": [{"type": "summary_text", "text": "Think"}], "encrypted_content": blob}}),
                json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "message",
                "content": [{"type": "output_text", "text": "Done."}]}}),
                json!({"type": "response.completed", "response": {"id": "resp_1"}}),
            ],
        );
        let turn = assistant_turn(&frames);
        assert_eq!(turn[0], json!({"type": "thinking", "thinking": "Think", "signature": blob}));
        assert_eq!(turn[1], json!({"type": "text", "text": "Done."}));
        let claude_turn = json!({"type": "thinking", "thinking": "Hmm", "signature": "ErUBCkYIAxgCIkB0c2lnbmF0dXJl"});
        let request = translate_request(json!({"model": "claude-opus-4-1", "messages": [
            {"role": "user", "content": "q1"}, {"role": "assistant", "content": [claude_turn, {"type": "text", "text": "a1"}]},
            {"role": "user", "content": "q2"}, {"role": "assistant", "content": turn},
            {"role": "user", "content": "q3"}]}))
        .unwrap();
        let kinds: Vec<&str> =
            request.body["input"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["message", "message", "message", "reasoning", "message", "message"]);
        assert_eq!(request.body["input"][3]["encrypted_content"], blob);
    }
}
