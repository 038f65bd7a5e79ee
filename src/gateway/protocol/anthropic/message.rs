//! The final Responses `response` object → a non-streaming Anthropic `message`, and the
//! pieces the stream shares with it: stop reason, usage, block contents.

use serde_json::{Value, json};

use super::MessagesContext;
use crate::gateway::protocol::responses::Usage;

/// The message id when the upstream gave none.
pub(super) const FALLBACK_ID: &str = "msg_codexmanager";

/// Builds `{id, type: "message", role, model, content, stop_reason, stop_sequence, usage}`;
/// content blocks follow the output items: reasoning → `thinking{thinking, signature}`,
/// message → `text`, function call → `tool_use{id, name, input}` (`input` = the parsed
/// arguments, `{}` when they are not a JSON object).
pub fn message_from_response(response: &Value, incomplete: bool, context: &MessagesContext) -> Value {
    let output = response.get("output").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let content: Vec<Value> = output.iter().filter_map(|item| block_of(item, context)).collect();
    let tool_used = output.iter().any(is_function_call);
    json!({
        "id": response.get("id").and_then(Value::as_str).unwrap_or(FALLBACK_ID),
        "type": "message",
        "role": "assistant",
        "model": context.model,
        "content": content,
        "stop_reason": stop_reason(tool_used, incomplete, response),
        "stop_sequence": null,
        "usage": usage_of(response),
    })
}

fn block_of(item: &Value, context: &MessagesContext) -> Option<Value> {
    match item.get("type").and_then(Value::as_str)? {
        "reasoning" => {
            let thinking = summary_text(item);
            let signature = item.get("encrypted_content").and_then(Value::as_str).unwrap_or_default();
            let empty = thinking.is_empty() && signature.is_empty();
            (!empty).then(|| json!({"type": "thinking", "thinking": thinking, "signature": signature}))
        }
        "message" => {
            let text = output_text(item);
            (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
        }
        "function_call" => {
            let arguments = item.get("arguments").and_then(Value::as_str).unwrap_or_default();
            let input = serde_json::from_str::<Value>(arguments).ok().filter(Value::is_object);
            let mut block = tool_use_block(item, context);
            block["input"] = input.unwrap_or_else(|| json!({}));
            Some(block)
        }
        _ => None,
    }
}

pub(super) fn is_function_call(item: &Value) -> bool {
    item.get("type").and_then(Value::as_str) == Some("function_call")
}

/// `{type: "tool_use", id, name, input: {}}` for a `function_call` item: the client's tool
/// name, the call id reduced to the characters Anthropic ids allow.
pub(super) fn tool_use_block(item: &Value, context: &MessagesContext) -> Value {
    let call_id = item.get("call_id").or_else(|| item.get("id")).and_then(Value::as_str).unwrap_or_default();
    let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
    json!({"type": "tool_use", "id": client_call_id(call_id), "name": context.tool_names.client(name), "input": {}})
}

/// Anthropic tool-use ids match `[A-Za-z0-9_-]+`: other characters become `_`.
fn client_call_id(call_id: &str) -> String {
    let id: String =
        call_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if id.is_empty() { "call".to_string() } else { id }
}

/// A reasoning item's summary parts joined by blank lines.
pub(super) fn summary_text(item: &Value) -> String {
    let parts = item.get("summary").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let texts: Vec<&str> = parts.iter().filter_map(|part| part.get("text").and_then(Value::as_str)).collect();
    texts.join("\n\n")
}

/// A message item's `output_text` parts, concatenated.
pub(super) fn output_text(item: &Value) -> String {
    let parts = item.get("content").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    parts
        .iter()
        .filter(|part| part.get("type").and_then(Value::as_str) == Some("output_text"))
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect()
}

/// A tool call made → `tool_use`; cut by `max_output_tokens` → `max_tokens`; by the content
/// filter → `refusal`; otherwise `end_turn`.
pub(super) fn stop_reason(tool_used: bool, incomplete: bool, response: &Value) -> &'static str {
    if tool_used {
        return "tool_use";
    }
    if !incomplete {
        return "end_turn";
    }
    match response.pointer("/incomplete_details/reason").and_then(Value::as_str) {
        Some("max_output_tokens") => "max_tokens",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic usage: `input_tokens` excludes the cached part, reported as `cache_read_input_tokens`.
pub(super) fn usage_of(response: &Value) -> Value {
    let usage = Usage::of(response.get("usage").unwrap_or(&Value::Null));
    json!({
        "input_tokens": (usage.input - usage.cached).max(0),
        "output_tokens": usage.output,
        "cache_read_input_tokens": usage.cached,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::protocol::tool_names::ToolNames;

    fn context() -> MessagesContext {
        MessagesContext { model: "claude-sonnet-4-5".into(), tool_names: ToolNames::default() }
    }

    #[test]
    fn a_final_response_becomes_a_message() {
        let response = json!({"id": "resp_1", "status": "completed", "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan"},
                {"type": "summary_text", "text": "Act"}], "encrypted_content": "gAAAAABsig"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking "},
                {"type": "output_text", "text": "now."}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call", "call_id": "call:2", "name": "get_time", "arguments": "{\"tz\":"},
            {"type": "web_search_call", "status": "completed"}],
            "usage": {"input_tokens": 300, "input_tokens_details": {"cached_tokens": 100}, "output_tokens": 40}});
        assert_eq!(
            message_from_response(&response, false, &context()),
            json!({
            "id": "resp_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "Plan\n\nAct", "signature": "gAAAAABsig"},
                {"type": "text", "text": "Checking now."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 200, "output_tokens": 40, "cache_read_input_tokens": 100}})
        );
    }

    #[test]
    fn stop_reasons_and_missing_usage() {
        let text = json!([{"type": "message", "content": [{"type": "output_text", "text": "x"}]}]);
        let message = |response: Value, incomplete: bool| message_from_response(&response, incomplete, &context());
        let done = message(json!({"output": text}), false);
        assert_eq!(done["stop_reason"], "end_turn");
        assert_eq!(done["id"], FALLBACK_ID);
        assert_eq!(done["usage"], json!({"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0}));
        let cut = json!({"output": text, "incomplete_details": {"reason": "max_output_tokens"}});
        assert_eq!(message(cut, true)["stop_reason"], "max_tokens");
        let filtered = json!({"output": [], "incomplete_details": {"reason": "content_filter"}});
        let filtered = message(filtered, true);
        assert_eq!(filtered["stop_reason"], "refusal");
        assert_eq!(filtered["content"], json!([]));
    }
}
