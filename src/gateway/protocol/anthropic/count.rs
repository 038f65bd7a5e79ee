//! `POST /v1/messages/count_tokens`, answered locally: text counted with OpenAI's o200k_base
//! tokenizer (the vocabulary is built into the binary by `tiktoken-rs` and loaded at first
//! use — [`warm_up`] does that off the request path), attachments at a flat cost.

use serde_json::Value;
use tiktoken_rs::CoreBPE;

use super::request::translate_request;
use crate::gateway::protocol::RequestError;

/// Loads the tokenizer's vocabulary (about 150 ms in a debug build) so that the first count
/// does not pay for it. Blocking: run it on a blocking thread.
pub fn warm_up() {
    tokenizer();
}

fn tokenizer() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

/// Framing of each input item (role, separators).
const ITEM_TOKENS: u64 = 4;
/// Framing of each tool definition, on top of its JSON text.
const TOOL_TOKENS: u64 = 8;
/// An image or a file: the most an image costs Anthropic models (about 1,568 tokens for a
/// 1.15-megapixel image), since the real size is unknown without decoding it.
const ATTACHMENT_TOKENS: u64 = 1600;

/// Counts a Messages request's input tokens, without calling the upstream. CPU-bound (about a
/// microsecond per few characters): run it on a blocking thread for large bodies.
///
/// Method: the body is validated and translated exactly as for `POST /v1/messages` (so it fails
/// with the same errors, e.g. on missing `messages`); then, over the translated request, the
/// text the model reads — system and message text, tool call names and arguments, tool
/// results, and each tool definition's JSON — is counted with o200k_base, each input item adds
/// 4 tokens and each tool 8, and every image and file (PDF) counts a flat 1,600 tokens.
/// Replayed encrypted reasoning is not counted: its cost cannot be read from the blob. The
/// result is at least 1.
pub fn count_tokens(body: &Value) -> Result<u64, RequestError> {
    let request = translate_request(body.clone())?;
    let mut estimate = Estimate::default();
    let items = request.body.get("input").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for item in items {
        estimate.item(item);
    }
    let tools = request.body.get("tools").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for tool in tools {
        estimate.tokens += TOOL_TOKENS;
        estimate.count(&tool.to_string());
    }
    Ok(estimate.tokens.max(1))
}

#[derive(Debug, Default)]
struct Estimate {
    tokens: u64,
}

impl Estimate {
    fn count(&mut self, text: &str) {
        self.tokens += tokenizer().encode_ordinary(text).len() as u64;
    }

    fn item(&mut self, item: &Value) {
        self.tokens += ITEM_TOKENS;
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
                Some("input_image" | "input_file") => self.tokens += ATTACHMENT_TOKENS,
                _ => self.text(part.get("text")),
            }
        }
    }

    fn text(&mut self, text: Option<&Value>) {
        if let Some(text) = text.and_then(Value::as_str) {
            self.count(text);
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

    fn text(text: &str) -> u64 {
        count(json!({"messages": [{"role": "user", "content": text}]})) - ITEM_TOKENS
    }

    #[test]
    fn text_is_counted_with_o200k() {
        // The counts Python's tiktoken gives for o200k_base.
        assert_eq!(text("The quick brown fox jumps over the lazy dog while the gateway rotates accounts."), 15);
        assert_eq!(text("今天我们来讨论一下如何在本地部署一个代理网关，并且支持多个账号轮换使用。"), 23);
        let code =
            "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * 2).collect();\n    println!(\"{:?}\", v);\n}";
        assert_eq!(text(code), 37, "the same tokenizer: the vocabulary's hash is o200k_base's");
    }

    #[test]
    fn the_count_grows_with_the_input() {
        let base = count(json!({}));
        assert_eq!(base, 4 + 2, "\"Hello there\" is two tokens");
        let long = count(json!({"messages": [{"role": "user", "content": "word ".repeat(400)}]}));
        assert_eq!(long, 4 + 401, "400 words and the trailing space");
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
        assert_eq!(turn(json!("a word".repeat(100))), short - 1 + 200);
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
