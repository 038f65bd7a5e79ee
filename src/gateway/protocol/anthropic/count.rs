//! `POST /v1/messages/count_tokens`, answered locally with an estimate.

use serde_json::Value;

use super::request::translate_request;
use crate::gateway::protocol::RequestError;

/// Characters per token for text (the usual rule of thumb for English and code).
const CHARS_PER_TOKEN: u64 = 4;
/// Framing of each input item (role, separators).
const ITEM_TOKENS: u64 = 4;
/// Framing of each tool definition, on top of its JSON text.
const TOOL_TOKENS: u64 = 8;
/// An image or a file: the most an image costs Anthropic models (about 1,568 tokens for a
/// 1.15-megapixel image), since the real size is unknown without decoding it.
const ATTACHMENT_TOKENS: u64 = 1600;

/// Estimates a Messages request's input tokens, without calling the upstream.
///
/// Method: the body is validated and translated exactly as for `POST /v1/messages` (so it fails
/// with the same errors, e.g. on missing `messages`); then, over the translated request, the
/// characters the model reads — system and message text, tool call names and arguments, tool
/// results, and each tool definition's JSON — count one token per 4 characters (rounded up,
/// over the total), each input item adds 4 tokens and each tool 8, and every image and file
/// (PDF) counts a flat 1,600 tokens. Replayed encrypted reasoning is not counted: its cost
/// cannot be read from the blob. The result is at least 1.
pub fn count_tokens(body: &Value) -> Result<u64, RequestError> {
    let request = translate_request(body.clone())?;
    let mut estimate = Estimate::default();
    let items = request.body.get("input").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for item in items {
        estimate.item(item);
    }
    let tools = request.body.get("tools").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for tool in tools {
        estimate.fixed += TOOL_TOKENS;
        estimate.chars += tool.to_string().chars().count() as u64;
    }
    Ok(estimate.tokens().max(1))
}

#[derive(Debug, Default)]
struct Estimate {
    chars: u64,
    fixed: u64,
}

impl Estimate {
    fn tokens(&self) -> u64 {
        self.fixed + self.chars.div_ceil(CHARS_PER_TOKEN)
    }

    fn item(&mut self, item: &Value) {
        self.fixed += ITEM_TOKENS;
        match item.get("type").and_then(Value::as_str) {
            Some("message") => self.parts(item.get("content")),
            Some("function_call") => {
                self.text(item.get("name"));
                self.text(item.get("arguments"));
            }
            Some("function_call_output") => match item.get("output") {
                Some(output @ Value::String(_)) => self.text(Some(output)),
                output => self.parts(output),
            },
            _ => {}
        }
    }

    fn parts(&mut self, parts: Option<&Value>) {
        for part in parts.and_then(Value::as_array).into_iter().flatten() {
            match part.get("type").and_then(Value::as_str) {
                Some("input_image" | "input_file") => self.fixed += ATTACHMENT_TOKENS,
                _ => self.text(part.get("text")),
            }
        }
    }

    fn text(&mut self, text: Option<&Value>) {
        if let Some(text) = text.and_then(Value::as_str) {
            self.chars += text.chars().count() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn count(extra: Value) -> u64 {
        let mut body = json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello there"}]});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        count_tokens(&body).unwrap()
    }

    #[test]
    fn the_estimate_grows_with_the_input() {
        let base = count(json!({}));
        assert_eq!(base, 4 + 3);
        let long = count(json!({"messages": [{"role": "user", "content": "word ".repeat(400)}]}));
        assert_eq!(long, 4 + 500);
        let with_system = count(json!({"system": "You are terse."}));
        assert!(with_system > base);
        let image = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}});
        let with_image =
            count(json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hello there"},
            image]}]}));
        assert_eq!(with_image, base + ATTACHMENT_TOKENS);
        let tool = json!({"name": "bash", "description": "Run a shell command",
            "input_schema": {"type": "object", "properties": {"cmd": {"type": "string"}}}});
        let with_tool = count(json!({"tools": [tool]}));
        assert!(with_tool > base + TOOL_TOKENS);
    }

    #[test]
    fn tool_calls_and_results_are_counted() {
        let turn = |output: Value| {
            count(json!({"messages": [
                {"role": "user", "content": "list"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "ls", "input": {"dir": "."}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": output}]}]}))
        };
        let short = turn(json!("a"));
        assert!(turn(json!("a".repeat(400))) >= short + 99);
        let image = json!({"type": "image", "source": {"type": "url", "url": "https://example.com/x.png"}});
        assert_eq!(turn(json!([{"type": "text", "text": "a"}, image])), short + ATTACHMENT_TOKENS);
    }

    #[test]
    fn invalid_bodies_fail_like_messages_requests() {
        let error = count_tokens(&json!({"model": "claude-sonnet-4-5"})).unwrap_err();
        assert_eq!(error.param.as_deref(), Some("messages"));
        let error = count_tokens(&json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]})).unwrap_err();
        assert_eq!(error.param.as_deref(), Some("messages.0.role"));
    }
}
