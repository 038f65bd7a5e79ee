//! `POST /v1/messages` bodies → Responses request bodies.

use std::collections::HashSet;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::MessagesContext;
use crate::gateway::protocol::tool_names::ToolNames;
use crate::gateway::protocol::{RequestError, Translated};

/// Upstream limit on a call id's length.
const MAX_CALL_ID: usize = 64;
/// Characters of a long call id kept before its hash suffix (47 + `_` + 16 hex = 64).
const CALL_ID_PREFIX: usize = 47;
/// Claude Code's per-request attribution line in `system`; dropped because it carries no
/// instruction and would change the prompt's prefix (and so defeat prompt caching).
const BILLING_HEADER: &str = "x-anthropic-billing-header:";
/// Reasoning efforts the upstream accepts.
const EFFORTS: [&str; 6] = ["none", "minimal", "low", "medium", "high", "xhigh"];

/// A Messages request translated for the upstream.
pub type MessagesRequest = Translated<MessagesContext>;

/// Translates a Messages body. Mapping:
/// - `system` → a leading `developer` message (`instructions` stays ""); Claude Code's
///   `x-anthropic-billing-header:` system block is dropped;
/// - messages → `message` items, with `tool_use` → `function_call`, `tool_result` →
///   `function_call_output` (results without an earlier `tool_use` are dropped, the upstream
///   rejects them) and replayable thinking → `reasoning` (see `is_upstream_signature`);
/// - `tools`, `tool_choice`, `thinking`/`output_config.effort` → `tools`, `tool_choice`,
///   `parallel_tool_calls`, `reasoning`; `speed: "fast"` → `service_tier: "priority"`.
///
/// Accepted and dropped, the backend has no equivalent: `max_tokens` (validated: a positive
/// integer), `stop_sequences` (the backend cannot stop on them; the answer runs to its natural
/// end), `temperature`, `top_p`, `top_k`, `metadata` (its `user_id` becomes the
/// `prompt_cache_key`, which keeps a Claude Code session on one account and in one cache).
pub fn translate_request(body: Value) -> Result<MessagesRequest, RequestError> {
    let Value::Object(body) = body else {
        return Err(RequestError { param: None, message: "the request body must be a JSON object".into() });
    };
    let messages = messages_of(&body)?;
    let model = model_of(&body)?;
    check_max_tokens(&body)?;
    let effort = effort_of(&body)?;
    let tool_names = ToolNames::build(tool_names_in(&body, messages));
    let mut input: Vec<Value> = system_message(body.get("system"))?.into_iter().collect();
    input.extend(Transcript::new(&tool_names).translate(messages)?);
    let tools = translate_tools(body.get("tools"), &tool_names)?;
    let (tool_choice, parallel_tool_calls) = translate_tool_choice(body.get("tool_choice"), &tool_names)?;

    let mut upstream = Map::new();
    upstream.insert("model".into(), Value::String(model.clone()));
    upstream.insert("instructions".into(), Value::String(String::new()));
    upstream.insert("input".into(), Value::Array(input));
    if !tools.is_empty() {
        upstream.insert("tools".into(), Value::Array(tools));
    }
    upstream.insert("tool_choice".into(), tool_choice);
    upstream.insert("parallel_tool_calls".into(), Value::Bool(parallel_tool_calls));
    upstream.insert("reasoning".into(), reasoning(&effort));
    upstream.insert("include".into(), json!(["reasoning.encrypted_content"]));
    if body.get("speed").and_then(Value::as_str) == Some("fast") {
        upstream.insert("service_tier".into(), Value::String("priority".into()));
    }
    if let Some(user) = body.get("metadata").and_then(|m| m.get("user_id")).and_then(Value::as_str) {
        upstream.insert("prompt_cache_key".into(), Value::String(user.to_string()));
    }
    Ok(MessagesRequest {
        body: upstream,
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        reasoning_effort: Some(effort),
        session_hint: None,
        context: MessagesContext { model, tool_names },
    })
}

/// `messages`: a non-empty array.
fn messages_of(body: &Map<String, Value>) -> Result<&[Value], RequestError> {
    match body.get("messages") {
        None | Some(Value::Null) => Err(RequestError::new("messages", "`messages` is required")),
        Some(Value::Array(messages)) if messages.is_empty() => {
            Err(RequestError::new("messages", "`messages` must not be empty"))
        }
        Some(Value::Array(messages)) => Ok(messages),
        Some(_) => Err(RequestError::new("messages", "`messages` must be an array")),
    }
}

fn model_of(body: &Map<String, Value>) -> Result<String, RequestError> {
    match body.get("model").and_then(Value::as_str) {
        Some(model) if !model.is_empty() => Ok(model.to_string()),
        _ => Err(RequestError::new("model", "`model` is required")),
    }
}

fn check_max_tokens(body: &Map<String, Value>) -> Result<(), RequestError> {
    match body.get("max_tokens") {
        None | Some(Value::Null) => Ok(()),
        Some(value) if value.as_u64().is_some_and(|n| n > 0) => Ok(()),
        Some(_) => Err(RequestError::new("max_tokens", "`max_tokens` must be a positive integer")),
    }
}

/// The effort for `thinking` (and `output_config.effort`):
/// `enabled` → by `budget_tokens` (0 none, ≤512 minimal, ≤1024 low, ≤8192 medium, ≤24576 high,
/// else xhigh); `adaptive` → `output_config.effort`, else xhigh; `disabled` → none;
/// absent → `output_config.effort`, else medium.
fn effort_of(body: &Map<String, Value>) -> Result<String, RequestError> {
    let configured = configured_effort(body)?;
    let Some(thinking) = body.get("thinking").filter(|t| !t.is_null()) else {
        return Ok(configured.unwrap_or("medium").to_string());
    };
    let effort = match thinking.get("type").and_then(Value::as_str) {
        Some("enabled") => effort_for_budget(thinking)?,
        Some("adaptive") => configured.unwrap_or("xhigh"),
        Some("disabled") => "none",
        _ => return Err(RequestError::new("thinking.type", "`thinking.type` must be enabled, adaptive or disabled")),
    };
    Ok(effort.to_string())
}

/// `output_config.effort`; Anthropic's `max` is the upstream's `xhigh`.
fn configured_effort(body: &Map<String, Value>) -> Result<Option<&str>, RequestError> {
    let Some(value) = body.get("output_config").and_then(|c| c.get("effort")).filter(|e| !e.is_null()) else {
        return Ok(None);
    };
    match value.as_str() {
        Some("max") => Ok(Some("xhigh")),
        Some(effort) if EFFORTS.contains(&effort) => Ok(Some(effort)),
        _ => Err(RequestError::new("output_config.effort", "`output_config.effort` is not a known effort")),
    }
}

fn effort_for_budget(thinking: &Value) -> Result<&'static str, RequestError> {
    let budget = thinking.get("budget_tokens").and_then(Value::as_u64).ok_or_else(|| {
        RequestError::new("thinking.budget_tokens", "`thinking.budget_tokens` must be a non-negative integer")
    })?;
    Ok(match budget {
        0 => "none",
        1..=512 => "minimal",
        513..=1024 => "low",
        1025..=8192 => "medium",
        8193..=24576 => "high",
        _ => "xhigh",
    })
}

/// With effort `none` there is no reasoning to summarize, so no `summary` is asked for.
fn reasoning(effort: &str) -> Value {
    if effort == "none" { json!({"effort": effort}) } else { json!({"effort": effort, "summary": "auto"}) }
}

/// Every tool name the request mentions, for the shortening map.
fn tool_names_in<'a>(body: &'a Map<String, Value>, messages: &'a [Value]) -> Vec<&'a str> {
    let name = |value: &'a Value| value.get("name").and_then(Value::as_str);
    let declared = body.get("tools").and_then(Value::as_array).into_iter().flatten().filter_map(name);
    let used = messages
        .iter()
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("tool_use"))
        .filter_map(name);
    let chosen = body.get("tool_choice").and_then(name);
    declared.chain(used).chain(chosen).collect()
}

/// `system` (a string or text blocks) as a `developer` message; `None` when empty.
fn system_message(system: Option<&Value>) -> Result<Option<Value>, RequestError> {
    let texts: Vec<&str> = match system {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(blocks)) => system_texts(blocks)?,
        Some(_) => return Err(RequestError::new("system", "`system` must be a string or an array of text blocks")),
    };
    let parts: Vec<Value> = texts
        .into_iter()
        .filter(|text| !text.is_empty() && !text.starts_with(BILLING_HEADER))
        .map(|text| json!({"type": "input_text", "text": text}))
        .collect();
    Ok((!parts.is_empty()).then(|| json!({"type": "message", "role": "developer", "content": parts})))
}

fn system_texts(blocks: &[Value]) -> Result<Vec<&str>, RequestError> {
    let mut texts = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        let path = format!("system.{n}");
        if block.get("type").and_then(Value::as_str) != Some("text") {
            return Err(RequestError::new(format!("{path}.type"), "`system` blocks must be text blocks"));
        }
        texts.push(string_field(block, "text", &path)?);
    }
    Ok(texts)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Assistant,
}

impl Role {
    fn parse(message: &Value, n: usize) -> Result<Role, RequestError> {
        match message.get("role").and_then(Value::as_str) {
            Some("user") => Ok(Role::User),
            Some("assistant") => Ok(Role::Assistant),
            _ => Err(RequestError::new(format!("messages.{n}.role"), "`role` must be user or assistant")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    fn text_part(self, text: &str) -> Value {
        match self {
            Role::User => json!({"type": "input_text", "text": text}),
            Role::Assistant => json!({"type": "output_text", "text": text}),
        }
    }

    /// Block types valid in this role's messages.
    fn blocks(self) -> &'static [&'static str] {
        match self {
            Role::User => &["text", "image", "document", "tool_result"],
            Role::Assistant => {
                &["text", "thinking", "redacted_thinking", "tool_use", "server_tool_use", "web_search_tool_result"]
            }
        }
    }

    fn other(self) -> Role {
        match self {
            Role::User => Role::Assistant,
            Role::Assistant => Role::User,
        }
    }
}

/// Builds the `input` items of the conversation, keeping content order: message parts
/// accumulate until a tool call, tool result or reasoning item flushes them as a message.
struct Transcript<'a> {
    names: &'a ToolNames,
    items: Vec<Value>,
    parts: Vec<Value>,
    calls: HashSet<String>,
}

impl<'a> Transcript<'a> {
    fn new(names: &'a ToolNames) -> Transcript<'a> {
        Transcript { names, items: Vec::new(), parts: Vec::new(), calls: HashSet::new() }
    }

    fn translate(mut self, messages: &[Value]) -> Result<Vec<Value>, RequestError> {
        for (n, message) in messages.iter().enumerate() {
            let role = Role::parse(message, n)?;
            match message.get("content") {
                Some(Value::String(text)) => self.parts.push(role.text_part(text)),
                Some(Value::Array(blocks)) => {
                    for (m, block) in blocks.iter().enumerate() {
                        self.block(role, block, &format!("messages.{n}.content.{m}"))?;
                    }
                }
                _ => {
                    return Err(RequestError::new(
                        format!("messages.{n}.content"),
                        "`content` must be a string or an array of content blocks",
                    ));
                }
            }
            self.flush(role);
        }
        Ok(self.items)
    }

    fn block(&mut self, role: Role, block: &Value, path: &str) -> Result<(), RequestError> {
        let kind = block_type(role, block, path)?;
        match kind {
            "text" => self.parts.push(role.text_part(string_field(block, "text", path)?)),
            "image" => self.parts.push(image_part(block, path)?),
            "document" => self.parts.push(document_part(block, path)?),
            "tool_use" => {
                let call_id = upstream_call_id(string_field(block, "id", path)?);
                let call = function_call(block, &call_id, path, self.names)?;
                self.calls.insert(call_id);
                self.item(role, call);
            }
            "tool_result" => {
                let call_id = upstream_call_id(string_field(block, "tool_use_id", path)?);
                let output = tool_output(block, path)?;
                if self.calls.contains(&call_id) {
                    self.item(role, json!({"type": "function_call_output", "call_id": call_id, "output": output}));
                }
            }
            "thinking" => {
                if let Some(reasoning) = reasoning_replay(block) {
                    self.item(role, reasoning);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn item(&mut self, role: Role, item: Value) {
        self.flush(role);
        self.items.push(item);
    }

    fn flush(&mut self, role: Role) {
        if !self.parts.is_empty() {
            let content = std::mem::take(&mut self.parts);
            self.items.push(json!({"type": "message", "role": role.name(), "content": content}));
        }
    }
}

/// A block's `type`, checked against its message's role. Blocks that only the Anthropic
/// platform can produce or read (`redacted_thinking`, `server_tool_use`,
/// `web_search_tool_result`) are accepted and dropped by the caller.
fn block_type<'v>(role: Role, block: &'v Value, path: &str) -> Result<&'v str, RequestError> {
    let param = format!("{path}.type");
    let kind = block
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| RequestError::new(param.clone(), "every content block needs a `type`"))?;
    if role.blocks().contains(&kind) {
        Ok(kind)
    } else if role.other().blocks().contains(&kind) {
        Err(RequestError::new(param, format!("`{kind}` blocks are not allowed in {} messages", role.name())))
    } else {
        Err(RequestError::new(param, format!("unsupported content block type `{kind}`")))
    }
}

fn string_field<'v>(value: &'v Value, field: &str, path: &str) -> Result<&'v str, RequestError> {
    value
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| RequestError::new(format!("{path}.{field}"), format!("`{field}` must be a string")))
}

fn source_of<'v>(block: &'v Value, path: &str) -> Result<(&'v Value, String, &'v str), RequestError> {
    let path = format!("{path}.source");
    let source = block.get("source").filter(|s| s.is_object());
    let source = source.ok_or_else(|| RequestError::new(path.clone(), "`source` must be an object"))?;
    let kind = string_field(source, "type", &path)?;
    Ok((source, path, kind))
}

/// `image`: base64 → a data URL, `url` → the URL itself.
fn image_part(block: &Value, path: &str) -> Result<Value, RequestError> {
    let (source, path, kind) = source_of(block, path)?;
    let image_url = match kind {
        "base64" => data_url(source, &path)?,
        "url" => string_field(source, "url", &path)?.to_string(),
        _ => return Err(RequestError::new(format!("{path}.type"), "image sources must be base64 or url")),
    };
    Ok(json!({"type": "input_image", "image_url": image_url}))
}

/// `document`: base64 (a PDF) → `input_file` data, `url` → `input_file.file_url`, plain
/// `text` → `input_text`.
fn document_part(block: &Value, path: &str) -> Result<Value, RequestError> {
    let (source, path, kind) = source_of(block, path)?;
    match kind {
        "base64" => {
            Ok(json!({"type": "input_file", "file_data": data_url(source, &path)?, "filename": "document.pdf"}))
        }
        "url" => Ok(json!({"type": "input_file", "file_url": string_field(source, "url", &path)?})),
        "text" => Ok(json!({"type": "input_text", "text": string_field(source, "data", &path)?})),
        _ => Err(RequestError::new(format!("{path}.type"), "document sources must be base64, url or text")),
    }
}

fn data_url(source: &Value, path: &str) -> Result<String, RequestError> {
    let media_type = string_field(source, "media_type", path)?;
    let data = string_field(source, "data", path)?;
    Ok(format!("data:{media_type};base64,{data}"))
}

/// `tool_use` → `function_call`, with the upstream's name and call id.
fn function_call(block: &Value, call_id: &str, path: &str, names: &ToolNames) -> Result<Value, RequestError> {
    let name = string_field(block, "name", path)?;
    let arguments = match block.get("input") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(input) => input.to_string(),
    };
    Ok(json!({"type": "function_call", "call_id": call_id, "name": names.upstream(name),
        "arguments": arguments}))
}

/// A `tool_result`'s content as a `function_call_output.output`: a string stays a string,
/// blocks become `input_text` / `input_image` / `input_file` parts. `is_error` results are
/// prefixed with `Error:` so the model knows the call failed.
fn tool_output(block: &Value, path: &str) -> Result<Value, RequestError> {
    let is_error = block.get("is_error").and_then(Value::as_bool).unwrap_or(false);
    let parts = match block.get("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => {
            let text = if is_error { format!("Error: {text}") } else { text.clone() };
            return Ok(Value::String(text));
        }
        Some(Value::Array(blocks)) => result_parts(blocks, &format!("{path}.content"))?,
        Some(_) => {
            return Err(RequestError::new(format!("{path}.content"), "`content` must be a string or an array"));
        }
    };
    let prefix = is_error.then(|| json!({"type": "input_text", "text": "Error:"}));
    let parts: Vec<Value> = prefix.into_iter().chain(parts).collect();
    Ok(if parts.is_empty() { Value::String(String::new()) } else { Value::Array(parts) })
}

fn result_parts(blocks: &[Value], path: &str) -> Result<Vec<Value>, RequestError> {
    let mut parts = Vec::new();
    for (k, block) in blocks.iter().enumerate() {
        let path = format!("{path}.{k}");
        let part = match block.get("type").and_then(Value::as_str) {
            Some("text") => json!({"type": "input_text", "text": string_field(block, "text", &path)?}),
            Some("image") => image_part(block, &path)?,
            Some("document") => document_part(block, &path)?,
            _ => {
                return Err(RequestError::new(
                    format!("{path}.type"),
                    "tool results may only contain text, image and document blocks",
                ));
            }
        };
        parts.push(part);
    }
    Ok(parts)
}

/// A thinking block whose signature is an upstream encrypted blob → a `reasoning` item to
/// replay; other thinking blocks (Claude's own, or unsigned) are dropped.
fn reasoning_replay(block: &Value) -> Option<Value> {
    let signature = block.get("signature").and_then(Value::as_str).filter(|s| is_upstream_signature(s))?;
    Some(json!({"type": "reasoning", "summary": [], "content": null, "encrypted_content": signature}))
}

/// Whether a thinking signature is the upstream's `encrypted_content`, which our stream emits
/// verbatim. Those blobs are Fernet tokens: URL-safe base64 that always begins `gAAAA`
/// (version byte 0x80 and a timestamp's leading zeros). Claude's own signatures are standard
/// base64 of a protobuf and begin `E` (`Eq…`, `Er…`), and may contain `+` and `/`; sending
/// one upstream would fail the request, so anything else is dropped.
fn is_upstream_signature(signature: &str) -> bool {
    signature.starts_with("gAAAA")
        && signature.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
}

/// Call ids within the upstream's 64 characters pass; longer ones become their first 47
/// characters, `_` and 16 hex digits of their SHA-256 — the same for a `tool_use` and the
/// `tool_result` that answers it.
fn upstream_call_id(id: &str) -> String {
    if id.len() <= MAX_CALL_ID {
        return id.to_string();
    }
    let mut end = CALL_ID_PREFIX;
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    let digest = hex::encode(Sha256::digest(id.as_bytes()));
    format!("{}_{}", &id[..end], &digest[..16])
}

/// Client tools → function tools; `web_search_*` server tools → the upstream `web_search`.
fn translate_tools(tools: Option<&Value>, names: &ToolNames) -> Result<Vec<Value>, RequestError> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(RequestError::new("tools", "`tools` must be an array")),
    };
    let mut translated = Vec::new();
    for (n, tool) in tools.iter().enumerate() {
        let path = format!("tools.{n}");
        let tool = match tool.get("type").and_then(Value::as_str) {
            None | Some("custom") => function_tool(tool, &path, names)?,
            Some(kind) if kind.starts_with("web_search_") => web_search_tool(tool),
            Some(kind) => {
                return Err(RequestError::new(format!("{path}.type"), format!("unsupported tool type `{kind}`")));
            }
        };
        translated.push(tool);
    }
    Ok(translated)
}

/// `{name, description, input_schema}` → a function tool; the schema gets `type: object`
/// and `properties: {}` when missing and loses `$schema`.
fn function_tool(tool: &Value, path: &str, names: &ToolNames) -> Result<Value, RequestError> {
    let name = string_field(tool, "name", path)?;
    let mut parameters = match tool.get("input_schema") {
        Some(Value::Object(schema)) => schema.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(RequestError::new(format!("{path}.input_schema"), "`input_schema` must be an object")),
    };
    parameters.remove("$schema");
    parameters.entry("type").or_insert_with(|| json!("object"));
    if parameters.get("type") == Some(&json!("object")) {
        parameters.entry("properties").or_insert_with(|| json!({}));
    }
    let mut function = json!({"type": "function", "name": names.upstream(name), "parameters": parameters,
        "strict": false});
    if let Some(description) = tool.get("description").and_then(Value::as_str) {
        function["description"] = json!(description);
    }
    Ok(function)
}

/// `allowed_domains` → `filters.allowed_domains`; `user_location` passes (same shape).
fn web_search_tool(tool: &Value) -> Value {
    let mut search = json!({"type": "web_search"});
    if let Some(domains) = tool.get("allowed_domains").and_then(Value::as_array).filter(|d| !d.is_empty()) {
        search["filters"] = json!({"allowed_domains": domains});
    }
    if let Some(location) = tool.get("user_location").filter(|l| l.is_object()) {
        search["user_location"] = location.clone();
    }
    search
}

/// `tool_choice` → (`tool_choice`, `parallel_tool_calls`); absent → ("auto", true).
fn translate_tool_choice(choice: Option<&Value>, names: &ToolNames) -> Result<(Value, bool), RequestError> {
    let choice = match choice {
        None | Some(Value::Null) => return Ok((json!("auto"), true)),
        Some(choice @ Value::Object(_)) => choice,
        Some(_) => return Err(RequestError::new("tool_choice", "`tool_choice` must be an object")),
    };
    let parallel = !choice.get("disable_parallel_tool_use").and_then(Value::as_bool).unwrap_or(false);
    let mapped = match choice.get("type").and_then(Value::as_str) {
        Some("auto") => json!("auto"),
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => {
            json!({"type": "function", "name": names.upstream(string_field(choice, "name", "tool_choice")?)})
        }
        _ => {
            return Err(RequestError::new("tool_choice.type", "`tool_choice.type` must be auto, any, tool or none"));
        }
    };
    Ok((mapped, parallel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(body: Value) -> MessagesRequest {
        translate_request(body).unwrap()
    }

    fn with(extra: Value) -> Value {
        let mut body = json!({"model": "claude-sonnet-4-5", "max_tokens": 1024,
            "messages": [{"role": "user", "content": "hi"}]});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    }

    fn error(body: Value) -> RequestError {
        translate_request(body).unwrap_err()
    }

    fn param(body: Value) -> String {
        error(body).param.unwrap()
    }

    #[test]
    fn a_plain_request_becomes_a_responses_body() {
        let request = translate(with(json!({"stream": true, "temperature": 0.5, "top_p": 0.9, "top_k": 5,
            "stop_sequences": ["END"], "metadata": {"user_id": "user_abc_session_1"}})));
        let body = Value::Object(request.body);
        assert_eq!(body["model"], "claude-sonnet-4-5");
        assert_eq!(body["instructions"], "");
        assert_eq!(
            body["input"],
            json!([{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "hi"}]}])
        );
        assert_eq!(body["tool_choice"], "auto");
        assert_eq!(body["parallel_tool_calls"], true);
        assert_eq!(body["reasoning"], json!({"effort": "medium", "summary": "auto"}));
        assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
        for dropped in ["max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "metadata", "stream", "tools"]
        {
            assert!(body.get(dropped).is_none(), "{dropped} should not be sent upstream");
        }
        assert!(request.stream);
        assert_eq!(body["prompt_cache_key"], "user_abc_session_1");
        assert_eq!(request.reasoning_effort.as_deref(), Some("medium"));
        assert_eq!(request.context.model, "claude-sonnet-4-5");
        assert!(!translate(with(json!({}))).stream);
    }

    #[test]
    fn system_becomes_a_leading_developer_message() {
        let request = translate(with(json!({"system": "Be brief."})));
        assert_eq!(
            request.body["input"][0],
            json!({"type": "message", "role": "developer",
            "content": [{"type": "input_text", "text": "Be brief."}]})
        );
        let request = translate(with(json!({"system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.0; cch=1a2b3;"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Use tools."}]})));
        assert_eq!(
            request.body["input"][0]["content"],
            json!([{"type": "input_text", "text": "You are Claude Code."},
            {"type": "input_text", "text": "Use tools."}])
        );
        assert_eq!(request.body["input"][1]["role"], "user");
        assert_eq!(request.body["instructions"], "");
        assert_eq!(param(with(json!({"system": [{"type": "image"}]}))), "system.0.type");
    }

    #[test]
    fn text_images_and_documents_map_to_input_parts() {
        let request = translate(with(json!({"messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}},
                {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}]},
            {"role": "assistant", "content": "I see."},
            {"role": "assistant", "content": [{"type": "text", "text": "More."}]}]})));
        assert_eq!(
            request.body["input"],
            json!([
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                {"type": "input_image", "image_url": "https://example.com/cat.jpg"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0x", "filename": "document.pdf"},
                {"type": "input_file", "file_url": "https://example.com/a.pdf"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "I see."}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "More."}]}])
        );
    }

    #[test]
    fn a_tool_conversation_keeps_its_order() {
        let request = translate(with(json!({
            "tools": [{"name": "read_file", "description": "Read a file",
                "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}],
            "messages": [
                {"role": "user", "content": "What is in a.png?"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_01", "name": "read_file", "input": {"path": "a.png"}},
                    {"type": "tool_use", "id": "toolu_02", "name": "read_file", "input": {"path": "b.txt"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": [
                        {"type": "text", "text": "a.png:"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
                    {"type": "tool_result", "tool_use_id": "toolu_02", "content": "no such file", "is_error": true},
                    {"type": "text", "text": "Go on."}]}]})));
        assert_eq!(
            request.body["input"],
            json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is in a.png?"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look."}]},
            {"type": "function_call", "call_id": "toolu_01", "name": "read_file", "arguments": "{\"path\":\"a.png\"}"},
            {"type": "function_call", "call_id": "toolu_02", "name": "read_file", "arguments": "{\"path\":\"b.txt\"}"},
            {"type": "function_call_output", "call_id": "toolu_01", "output": [
                {"type": "input_text", "text": "a.png:"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]},
            {"type": "function_call_output", "call_id": "toolu_02", "output": "Error: no such file"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Go on."}]}])
        );
    }

    #[test]
    fn text_before_a_tool_result_is_flushed_first_and_orphan_results_are_dropped() {
        let request = translate(with(json!({"messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "ls"}]},
            {"role": "user", "content": [
                {"type": "text", "text": "before"},
                {"type": "tool_result", "tool_use_id": "toolu_1"},
                {"type": "tool_result", "tool_use_id": "toolu_unknown", "content": "lost"},
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [], "is_error": true}]}]})));
        let kinds: Vec<&str> =
            request.body["input"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["function_call", "message", "function_call_output", "function_call_output"]);
        assert_eq!(request.body["input"][0]["arguments"], "{}");
        assert_eq!(request.body["input"][1]["content"][0]["text"], "before");
        assert_eq!(request.body["input"][2]["output"], "");
        assert_eq!(request.body["input"][3]["output"], json!([{"type": "input_text", "text": "Error:"}]));
    }

    #[test]
    fn long_call_ids_are_shortened_the_same_way_for_use_and_result() {
        let long = format!("toolu_{}", "x".repeat(80));
        let request = translate(with(json!({"messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": long, "name": "ls", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": long, "content": "ok"}]}]})));
        let call_id = request.body["input"][0]["call_id"].as_str().unwrap();
        assert_eq!(call_id.len(), 64);
        assert_eq!(&call_id[..48], format!("{}_", &long[..47]));
        assert!(call_id[48..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(request.body["input"][1]["call_id"], call_id);
        assert_eq!(upstream_call_id("call_short"), "call_short");
        assert_ne!(upstream_call_id(&format!("{long}a")), upstream_call_id(&format!("{long}b")));
    }

    #[test]
    fn only_upstream_signed_thinking_is_replayed() {
        let ours = "gAAAAABoX1_encrypted-content_from_the_upstream==";
        let request = translate(with(json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Plan", "signature": ours},
                {"type": "thinking", "thinking": "Claude's", "signature": "EqQBCkYIBRgCKkB+/abc=="},
                {"type": "thinking", "thinking": "unsigned"},
                {"type": "redacted_thinking", "data": "EmwKAhgB"},
                {"type": "text", "text": "Hello"}]},
            {"role": "user", "content": "again"}]})));
        assert_eq!(
            request.body["input"][1],
            json!({"type": "reasoning", "summary": [], "content": null,
            "encrypted_content": ours})
        );
        assert_eq!(request.body["input"][2]["content"], json!([{"type": "output_text", "text": "Hello"}]));
        assert_eq!(request.body["input"].as_array().unwrap().len(), 4);
        assert!(!is_upstream_signature("gAAAA+/"));
    }

    #[test]
    fn tools_become_function_tools_and_web_search() {
        let request = translate(with(json!({"tools": [
            {"name": "bash", "description": "Run", "cache_control": {"type": "ephemeral"},
                "input_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                    "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"name": "noop", "input_schema": {}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5, "allowed_domains": ["docs.rs"],
                "user_location": {"type": "approximate", "city": "Paris", "country": "FR"}}]})));
        assert_eq!(
            request.body["tools"],
            json!([
            {"type": "function", "name": "bash", "description": "Run", "strict": false,
                "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"type": "function", "name": "noop", "strict": false, "parameters": {"type": "object", "properties": {}}},
            {"type": "web_search", "filters": {"allowed_domains": ["docs.rs"]},
                "user_location": {"type": "approximate", "city": "Paris", "country": "FR"}}])
        );
        assert_eq!(param(with(json!({"tools": [{"type": "computer_20250124", "name": "computer"}]}))), "tools.0.type");
        assert_eq!(param(with(json!({"tools": [{"description": "nameless"}]}))), "tools.0.name");
    }

    #[test]
    fn long_tool_names_are_shortened_everywhere() {
        let long = format!("mcp__some_server__{}", "t".repeat(60));
        let request = translate(with(json!({
            "tools": [{"name": long, "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": long},
            "messages": [{"role": "user", "content": "go"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": long, "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}]})));
        let short = request.context.tool_names.upstream(&long).to_string();
        assert!(short.len() <= 64);
        assert_eq!(request.body["tools"][0]["name"], short);
        assert_eq!(request.body["tool_choice"], json!({"type": "function", "name": short}));
        assert_eq!(request.body["input"][1]["name"], short);
        assert_eq!(request.context.tool_names.client(&short), long);
    }

    #[test]
    fn tool_choice_maps_and_controls_parallel_calls() {
        let choice = |choice: Value| {
            let request = translate(with(json!({"tool_choice": choice})));
            (request.body["tool_choice"].clone(), request.body["parallel_tool_calls"].clone())
        };
        assert_eq!(choice(json!({"type": "auto"})), (json!("auto"), json!(true)));
        assert_eq!(
            choice(json!({"type": "any", "disable_parallel_tool_use": true})),
            (json!("required"), json!(false))
        );
        assert_eq!(choice(json!({"type": "none"})), (json!("none"), json!(true)));
        assert_eq!(
            choice(json!({"type": "tool", "name": "bash"})),
            (json!({"type": "function", "name": "bash"}), json!(true))
        );
        assert_eq!(param(with(json!({"tool_choice": {"type": "tool"}}))), "tool_choice.name");
        assert_eq!(param(with(json!({"tool_choice": {"type": "sometimes"}}))), "tool_choice.type");
    }

    #[test]
    fn thinking_sets_the_reasoning_effort() {
        let effort = |extra: Value| translate(with(extra)).body["reasoning"].clone();
        let budget = |n: u64| effort(json!({"thinking": {"type": "enabled", "budget_tokens": n}}))["effort"].clone();
        let cases = [(0, "none"), (512, "minimal"), (1024, "low"), (8192, "medium"), (24576, "high"), (24577, "xhigh")];
        for (n, expected) in cases {
            assert_eq!(budget(n), expected, "budget {n}");
        }
        assert_eq!(effort(json!({"thinking": {"type": "adaptive"}})), json!({"effort": "xhigh", "summary": "auto"}));
        assert_eq!(
            effort(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}))["effort"],
            "low"
        );
        assert_eq!(
            effort(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}))["effort"],
            "xhigh"
        );
        assert_eq!(effort(json!({"output_config": {"effort": "high"}}))["effort"], "high");
        assert_eq!(effort(json!({"thinking": {"type": "disabled"}})), json!({"effort": "none"}));
        let request = translate(with(json!({"thinking": {"type": "disabled"}})));
        assert_eq!(request.reasoning_effort.as_deref(), Some("none"));
        assert_eq!(request.body["include"], json!(["reasoning.encrypted_content"]));
        assert_eq!(param(with(json!({"thinking": {"type": "enabled"}}))), "thinking.budget_tokens");
        assert_eq!(param(with(json!({"thinking": {"type": "on"}}))), "thinking.type");
        assert_eq!(param(with(json!({"output_config": {"effort": "extreme"}}))), "output_config.effort");
    }

    #[test]
    fn fast_speed_asks_for_priority_service() {
        assert_eq!(translate(with(json!({"speed": "fast"}))).body["service_tier"], "priority");
        assert!(translate(with(json!({"speed": "standard"}))).body.get("service_tier").is_none());
    }

    #[test]
    fn invalid_requests_name_the_field() {
        let mut missing_messages = with(json!({}));
        missing_messages.as_object_mut().unwrap().remove("messages");
        assert_eq!(param(missing_messages), "messages");
        assert_eq!(param(with(json!({"messages": "hi"}))), "messages");
        assert_eq!(param(with(json!({"messages": []}))), "messages");
        let mut missing_model = with(json!({}));
        missing_model.as_object_mut().unwrap().remove("model");
        assert_eq!(param(missing_model), "model");
        for max_tokens in [json!(0), json!(-1), json!(1.5), json!("100")] {
            assert_eq!(param(with(json!({"max_tokens": max_tokens}))), "max_tokens");
        }
        let mut no_max_tokens = with(json!({}));
        no_max_tokens.as_object_mut().unwrap().remove("max_tokens");
        assert!(translate_request(no_max_tokens).is_ok());
        assert_eq!(
            param(with(json!({"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]}))),
            "messages.1.role"
        );
        assert_eq!(param(with(json!({"messages": [{"role": "user", "content": 5}]}))), "messages.0.content");
        let unknown = with(json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
            {"type": "hologram"}]}]}));
        let unknown = error(unknown);
        assert_eq!(unknown.param.as_deref(), Some("messages.0.content.1.type"));
        assert!(unknown.message.contains("hologram"));
        let misplaced =
            with(json!({"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "n"}]}]}));
        assert_eq!(param(misplaced), "messages.0.content.0.type");
        let bad_source = with(json!({"messages": [{"role": "user", "content": [{"type": "image",
            "source": {"type": "file", "file_id": "file_1"}}]}]}));
        assert_eq!(param(bad_source), "messages.0.content.0.source.type");
        let bad_result = with(json!({"messages": [{"role": "user", "content": [{"type": "tool_result",
            "tool_use_id": "t", "content": [{"type": "video"}]}]}]}));
        assert_eq!(param(bad_result), "messages.0.content.0.content.0.type");
        assert_eq!(error(json!([1])).param, None);
    }
}
