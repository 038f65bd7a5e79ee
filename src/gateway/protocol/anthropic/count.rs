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
