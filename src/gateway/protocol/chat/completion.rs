//! The final Responses `response` object → one non-streaming `chat.completion`.

use serde_json::{Map, Value, json};

use super::ChatContext;
use crate::gateway::protocol::responses::Usage;
use crate::gateway::protocol::tool_names::ToolNames;

/// A `chat.completion` from the final Responses `response` object; `incomplete` when it ended
/// with `response.incomplete`.
pub fn completion_from_response(response: &Value, incomplete: bool, context: &ChatContext) -> Value {
    let message = message_of(items_of(response, "output"), &context.tool_names);
    let finish_reason = finish_reason(response, incomplete, message.contains_key("tool_calls"));
    json!({
        "id": str_of(response, "id"),
        "object": "chat.completion",
        "created": response.get("created_at").and_then(Value::as_i64).unwrap_or(0),
        "model": context.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage_of(response.get("usage").unwrap_or(&Value::Null)),
    })
}

/// The assistant message for a response's output items: text, refusal, reasoning summaries
/// (parts separated by a blank line) and tool calls with the client's tool names.
fn message_of(output: &[Value], names: &ToolNames) -> Map<String, Value> {
    let mut text: Option<String> = None;
    let mut refusal: Option<String> = None;
    let mut reasoning = Vec::new();
    let mut tool_calls = Vec::new();
    for item in output {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for part in items_of(item, "content") {
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => text.get_or_insert_default().push_str(str_of(part, "text")),
                        Some("refusal") => refusal.get_or_insert_default().push_str(str_of(part, "refusal")),
                        _ => {}
                    }
                }
            }
            Some("reasoning") => {
                let summaries = items_of(item, "summary").iter().map(|summary| str_of(summary, "text"));
                reasoning.extend(summaries.filter(|summary| !summary.is_empty()));
            }
            Some("function_call") => tool_calls.push(json!({
                "id": str_of(item, "call_id"),
                "type": "function",
                "function": {"name": names.client(str_of(item, "name")), "arguments": str_of(item, "arguments")},
            })),
            _ => {}
        }
    }
    let content = match text {
        Some(text) => Value::String(text),
        None if tool_calls.is_empty() => Value::String(String::new()),
        None => Value::Null,
    };
    let mut message = Map::new();
    message.insert("role".into(), Value::String("assistant".into()));
    message.insert("content".into(), content);
    if let Some(refusal) = refusal {
        message.insert("refusal".into(), Value::String(refusal));
    }
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), Value::String(reasoning.join("\n\n")));
    }
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    message
}

/// The Chat finish reason: for `response.incomplete` why it stopped (`content_filter`, else
/// `length`); otherwise `tool_calls` when the model called a tool, else `stop`.
pub(super) fn finish_reason(response: &Value, incomplete: bool, called_tools: bool) -> &'static str {
    let reason = response.pointer("/incomplete_details/reason").and_then(Value::as_str);
    if incomplete && reason == Some("content_filter") {
        "content_filter"
    } else if incomplete {
        "length"
    } else if called_tools {
        "tool_calls"
    } else {
        "stop"
    }
}

/// A Responses `usage` object in Chat Completions terms.
pub(super) fn usage_of(usage: &Value) -> Value {
    let usage = Usage::of(usage);
    json!({
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cached},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning},
    })
}

pub(super) fn items_of<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

pub(super) fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}
