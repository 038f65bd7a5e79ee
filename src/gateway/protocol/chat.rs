//! OpenAI Chat Completions over the Codex backend. Owns both directions of the translation:
//! a `/v1/chat/completions` request becomes a Responses request body, and the upstream's
//! Responses events become `chat.completion.chunk` frames (streaming) or one `chat.completion`
//! object (non-streaming, from the `response` that `responses::Aggregator` assembles).
//! It does not own what every Responses body needs (`responses::normalize_request` runs after
//! it), HTTP status codes or error bodies, routing, or I/O.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use serde_json::{Map, Value, json};

use super::responses::{Outcome, Usage, failure_of};
use super::tool_names::ToolNames;
use super::{RequestError, UpstreamEvent};
use crate::gateway::sse::{write_data, write_json_str};

/// The effort asked of the model when the client names none.
const DEFAULT_EFFORT: &str = "medium";

/// What the answer translation needs to know about the request.
#[derive(Debug, Clone)]
pub struct ChatContext {
    /// The model name echoed back to the client (the request's `model`).
    pub model: String,
    /// `stream_options.include_usage`: end the stream with a usage chunk.
    pub include_usage: bool,
    pub tool_names: ToolNames,
}

/// A Chat Completions request, translated.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The Responses request body for the upstream.
    pub body: Map<String, Value>,
    /// The client asked for a stream.
    pub stream: bool,
    /// The effort sent upstream (the client's, or the default), for the request log.
    pub reasoning_effort: Option<String>,
    /// A stable session key the client sent (`prompt_cache_key`, `user` or
    /// `metadata.session_id`, first present wins), for routing stickiness.
    pub session: Option<String>,
    pub context: ChatContext,
}

/// Translates a Chat Completions request body into a Responses request body. Sampling and
/// length controls the backend does not accept are dropped; what it cannot do is refused with
/// an error naming the field.
pub fn translate_request(body: Value) -> Result<ChatRequest, RequestError> {
    let Value::Object(request) = body else {
        return Err(RequestError { param: None, message: "The request body must be a JSON object.".into() });
    };
    let model = required_model(&request)?;
    reject_unsupported(&request)?;
    let messages = messages_of(&request)?;
    let tool_names = ToolNames::build(tool_names_in(&request, messages));
    let effort = optional_str(&request, "reasoning_effort")?.unwrap_or(DEFAULT_EFFORT).to_string();

    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.clone()));
    body.insert("instructions".into(), Value::String(String::new()));
    body.insert("input".into(), Value::Array(input_of(messages, &tool_names)?));
    if let Some(tools) = tools_of(&request, &tool_names)? {
        body.insert("tools".into(), tools);
    }
    if let Some(choice) = tool_choice_of(&request, &tool_names)? {
        body.insert("tool_choice".into(), choice);
    }
    body.insert(
        "parallel_tool_calls".into(),
        Value::Bool(optional_bool(&request, "parallel_tool_calls")?.unwrap_or(true)),
    );
    body.insert("reasoning".into(), json!({"effort": effort, "summary": "auto"}));
    body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    if let Some(text) = text_of(&request)? {
        body.insert("text".into(), text);
    }
    if let Some(key) = optional_str(&request, "prompt_cache_key")? {
        body.insert("prompt_cache_key".into(), Value::String(key.to_string()));
    }

    Ok(ChatRequest {
        body,
        stream: optional_bool(&request, "stream")?.unwrap_or(false),
        reasoning_effort: Some(effort),
        session: session_of(&request),
        context: ChatContext { model, include_usage: include_usage(&request), tool_names },
    })
}

fn required_model(request: &Map<String, Value>) -> Result<String, RequestError> {
    match request.get("model") {
        Some(Value::String(model)) if !model.is_empty() => Ok(model.clone()),
        _ => Err(RequestError::new("model", "`model` is required: name the model to use, e.g. \"gpt-5.5\".")),
    }
}

/// Refuses what the Codex backend cannot do: several choices and audio output.
fn reject_unsupported(request: &Map<String, Value>) -> Result<(), RequestError> {
    if request.get("n").is_some_and(|n| !n.is_null() && n.as_u64() != Some(1)) {
        return Err(RequestError::new(
            "n",
            "Only `n: 1` is supported: the Codex backend returns one choice per request.",
        ));
    }
    let modalities = request.get("modalities").and_then(Value::as_array);
    if modalities.is_some_and(|m| m.iter().any(|m| m == "audio")) {
        return Err(RequestError::new(
            "modalities",
            "Audio output is not supported; ask for `modalities: [\"text\"]`.",
        ));
    }
    if request.get("audio").is_some_and(|audio| !audio.is_null()) {
        return Err(RequestError::new("audio", "Audio output is not supported; remove `audio` from the request."));
    }
    Ok(())
}

fn messages_of(request: &Map<String, Value>) -> Result<&[Value], RequestError> {
    match request.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => Ok(messages),
        Some(Value::Array(_)) => Err(RequestError::new("messages", "`messages` must hold at least one message.")),
        _ => Err(RequestError::new("messages", "`messages` is required and must be an array of messages.")),
    }
}

/// Every tool name the request mentions: declared, chosen, and called earlier in the chat.
fn tool_names_in<'a>(request: &'a Map<String, Value>, messages: &'a [Value]) -> impl Iterator<Item = &'a str> {
    let function_name = |value: &'a Value| value.pointer("/function/name").and_then(Value::as_str);
    let declared = request.get("tools").and_then(Value::as_array).into_iter().flatten().filter_map(function_name);
    let chosen = request.get("tool_choice").and_then(function_name);
    let called = messages
        .iter()
        .filter_map(|message| message.get("tool_calls").and_then(Value::as_array))
        .flatten()
        .filter_map(function_name);
    declared.chain(chosen).chain(called)
}

/// A string field that may be absent or null.
fn optional_str<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, RequestError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(RequestError::new(key, format!("`{key}` must be a string."))),
    }
}

/// A boolean field that may be absent or null.
fn optional_bool(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, RequestError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(RequestError::new(key, format!("`{key}` must be true or false."))),
    }
}

fn include_usage(request: &Map<String, Value>) -> bool {
    let options = request.get("stream_options");
    options.and_then(|o| o.get("include_usage")).and_then(Value::as_bool).unwrap_or(false)
}

fn session_of(request: &Map<String, Value>) -> Option<String> {
    let metadata = request.get("metadata").and_then(|m| m.get("session_id"));
    [request.get("prompt_cache_key"), request.get("user"), metadata]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|key| !key.is_empty())
        .map(str::to_string)
}

/// The `input` items for the chat's messages, in order.
fn input_of(messages: &[Value], names: &ToolNames) -> Result<Vec<Value>, RequestError> {
    let mut input = Input { names, items: Vec::new(), calls: Vec::new() };
    for (n, message) in messages.iter().enumerate() {
        input.push(n, message)?;
    }
    Ok(input.items)
}

/// Builds `input`, pairing each tool result with the earlier call it answers.
struct Input<'a> {
    names: &'a ToolNames,
    items: Vec<Value>,
    /// The call ids of earlier assistant tool calls, in order, and whether each has its result.
    calls: Vec<(String, bool)>,
}

impl Input<'_> {
    fn push(&mut self, n: usize, message: &Value) -> Result<(), RequestError> {
        let path = format!("messages.{n}");
        let role = message.get("role").and_then(Value::as_str);
        match (message.as_object(), role) {
            (Some(message), Some("system" | "developer")) => {
                let content = input_content(message, &path, false)?;
                self.push_message("developer", content);
                Ok(())
            }
            (Some(message), Some("user")) => {
                let content = input_content(message, &path, true)?;
                self.push_message("user", content);
                Ok(())
            }
            (Some(message), Some("assistant")) => self.push_assistant(n, message),
            (Some(message), Some("tool")) => self.push_tool_result(message, &path),
            _ => Err(RequestError::new(
                format!("{path}.role"),
                format!("Message {n} needs a `role`: one of system, developer, user, assistant or tool."),
            )),
        }
    }

    fn push_message(&mut self, role: &str, content: Vec<Value>) {
        if !content.is_empty() {
            self.items.push(json!({"type": "message", "role": role, "content": content}));
        }
    }

    /// The assistant's text as a message item, then each of its tool calls as a top-level
    /// `function_call` item: no message item when it only called tools.
    fn push_assistant(&mut self, n: usize, message: &Map<String, Value>) -> Result<(), RequestError> {
        let path = format!("messages.{n}");
        let content = assistant_content(message, &path)?;
        self.push_message("assistant", content);
        let calls = match message.get("tool_calls") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Array(calls)) => calls,
            Some(_) => return Err(RequestError::new(format!("{path}.tool_calls"), "`tool_calls` must be an array.")),
        };
        let mut batch = HashSet::new();
        for (m, call) in calls.iter().enumerate() {
            let id = match call.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => format!("call_{n}_{m}"),
            };
            if !batch.insert(id.clone()) {
                continue;
            }
            self.items.push(function_call(call, &format!("{path}.tool_calls.{m}"), &id, self.names)?);
            self.calls.push((id, false));
        }
        Ok(())
    }

    /// A tool result as `function_call_output`; dropped when it answers no earlier call.
    fn push_tool_result(&mut self, message: &Map<String, Value>, path: &str) -> Result<(), RequestError> {
        let output = tool_output(message, path)?;
        let id = message.get("tool_call_id").and_then(Value::as_str).filter(|id| !id.is_empty());
        if let Some(call_id) = self.answer(id) {
            self.items.push(json!({"type": "function_call_output", "call_id": call_id, "output": output}));
        }
        Ok(())
    }

    /// Marks the call a result answers: the one it names, or, when it names none, the earliest
    /// unanswered one. `None` when there is no such call.
    fn answer(&mut self, id: Option<&str>) -> Option<String> {
        let call = match id {
            Some(id) => self.calls.iter_mut().find(|(call, answered)| call == id && !answered)?,
            None => self.calls.iter_mut().find(|(_, answered)| !answered)?,
        };
        call.1 = true;
        Some(call.0.clone())
    }
}

/// A user, system or developer message's content as `input_*` parts; `media` allows images
/// and files.
fn input_content(message: &Map<String, Value>, path: &str, media: bool) -> Result<Vec<Value>, RequestError> {
    match message.get("content") {
        Some(Value::String(text)) => Ok(vec![input_text(text)]),
        Some(Value::Array(parts)) => input_parts(parts, path, media),
        _ => Err(content_error(path)),
    }
}

/// A tool result's output: a string stays a string, content parts become `input_*` parts.
fn tool_output(message: &Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    match message.get("content") {
        Some(Value::String(text)) => Ok(Value::String(text.clone())),
        Some(Value::Array(parts)) => Ok(Value::Array(input_parts(parts, path, true)?)),
        None | Some(Value::Null) => Ok(Value::String(String::new())),
        Some(_) => Err(content_error(path)),
    }
}

/// An assistant message's text and refusal parts as `output_text` parts, empty ones left out.
fn assistant_content(message: &Map<String, Value>, path: &str) -> Result<Vec<Value>, RequestError> {
    let texts = match message.get("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(m, part)| match part_type(part) {
                "text" => part_text(part, "text", &format!("{path}.content.{m}")),
                "refusal" => part_text(part, "refusal", &format!("{path}.content.{m}")),
                other => Err(part_type_error(&format!("{path}.content.{m}"), other, "text or refusal")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(content_error(path)),
    };
    Ok(texts
        .into_iter()
        .filter(|text| !text.is_empty())
        .map(|text| json!({"type": "output_text", "text": text}))
        .collect())
}

fn input_parts(parts: &[Value], path: &str, media: bool) -> Result<Vec<Value>, RequestError> {
    parts.iter().enumerate().map(|(m, part)| input_part(part, &format!("{path}.content.{m}"), media)).collect()
}

fn input_part(part: &Value, path: &str, media: bool) -> Result<Value, RequestError> {
    match part_type(part) {
        "text" => Ok(input_text(part_text(part, "text", path)?)),
        "image_url" if media => input_image(part, path),
        "file" if media => input_file(part, path),
        other if media => Err(part_type_error(path, other, "text, image_url or file")),
        other => Err(part_type_error(path, other, "text")),
    }
}

fn input_text(text: &str) -> Value {
    json!({"type": "input_text", "text": text})
}

/// An `image_url` part (`{url, detail}` or a bare URL string; https or data: URL) as `input_image`.
fn input_image(part: &Value, path: &str) -> Result<Value, RequestError> {
    let (url, detail) = match part.get("image_url") {
        Some(Value::String(url)) => (Some(url.as_str()), None),
        Some(image) => (image.get("url").and_then(Value::as_str), image.get("detail").and_then(Value::as_str)),
        None => (None, None),
    };
    let Some(url) = url.filter(|url| !url.is_empty()) else {
        return Err(RequestError::new(
            format!("{path}.image_url.url"),
            "An image part needs `image_url.url`: an https URL or a data: URL.",
        ));
    };
    let mut image = json!({"type": "input_image", "image_url": url});
    if let Some(detail) = detail {
        image["detail"] = Value::String(detail.to_string());
    }
    Ok(image)
}

/// A `file` part (`{file_data, file_id, filename}`) as `input_file`.
fn input_file(part: &Value, path: &str) -> Result<Value, RequestError> {
    let mut file = Map::new();
    file.insert("type".into(), Value::String("input_file".into()));
    for key in ["file_data", "file_id", "filename"] {
        if let Some(Value::String(value)) = part.get("file").and_then(|f| f.get(key)) {
            file.insert(key.into(), Value::String(value.clone()));
        }
    }
    if !file.contains_key("file_data") && !file.contains_key("file_id") {
        return Err(RequestError::new(format!("{path}.file"), "A file part needs `file.file_data` or `file.file_id`."));
    }
    Ok(Value::Object(file))
}

fn part_type(part: &Value) -> &str {
    part.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn part_text<'a>(part: &'a Value, key: &str, path: &str) -> Result<&'a str, RequestError> {
    part.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| RequestError::new(format!("{path}.{key}"), format!("A `{key}` part needs `{key}` as a string.")))
}

fn part_type_error(path: &str, found: &str, expected: &str) -> RequestError {
    RequestError::new(
        format!("{path}.type"),
        format!("Content part type `{found}` is not supported here; expected {expected}."),
    )
}

fn content_error(path: &str) -> RequestError {
    RequestError::new(format!("{path}.content"), "`content` must be a string or an array of content parts.")
}

/// An assistant's earlier tool call as a `function_call` item, its name shortened as upstream.
fn function_call(call: &Value, path: &str, id: &str, names: &ToolNames) -> Result<Value, RequestError> {
    if let Some(kind) = call.get("type").and_then(Value::as_str).filter(|kind| *kind != "function") {
        return Err(RequestError::new(
            format!("{path}.type"),
            format!("Tool call type `{kind}` is not supported; only `function` calls are."),
        ));
    }
    let Some(name) = call.pointer("/function/name").and_then(Value::as_str).filter(|name| !name.is_empty()) else {
        return Err(RequestError::new(format!("{path}.function.name"), "Each tool call needs `function.name`."));
    };
    let arguments = match call.pointer("/function/arguments") {
        Some(Value::String(arguments)) if !arguments.is_empty() => arguments.clone(),
        None | Some(Value::Null | Value::String(_)) => "{}".to_string(),
        Some(arguments) => arguments.to_string(),
    };
    Ok(json!({"type": "function_call", "call_id": id, "name": names.upstream(name), "arguments": arguments}))
}

/// The function tools, flattened to the Responses shape; `None` when there are none.
fn tools_of(request: &Map<String, Value>, names: &ToolNames) -> Result<Option<Value>, RequestError> {
    let tools = match request.get("tools") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(tools)) if tools.is_empty() => return Ok(None),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(RequestError::new("tools", "`tools` must be an array of function tools.")),
    };
    let tools = tools.iter().enumerate().map(|(n, tool)| function_tool(tool, &format!("tools.{n}"), names));
    Ok(Some(Value::Array(tools.collect::<Result<_, _>>()?)))
}

fn function_tool(tool: &Value, path: &str, names: &ToolNames) -> Result<Value, RequestError> {
    if tool.get("type").and_then(Value::as_str) != Some("function") {
        return Err(RequestError::new(
            format!("{path}.type"),
            "Only function tools (`type: \"function\"`) are supported.",
        ));
    }
    let function = tool.get("function").unwrap_or(&Value::Null);
    let Some(name) = function.get("name").and_then(Value::as_str).filter(|name| !name.is_empty()) else {
        return Err(RequestError::new(format!("{path}.function.name"), "Each tool needs `function.name`."));
    };
    let parameters = match function.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(parameters) => parameters.clone(),
    };
    let strict = function.get("strict").and_then(Value::as_bool).unwrap_or(false);
    let mut flat =
        json!({"type": "function", "name": names.upstream(name), "parameters": parameters, "strict": strict});
    if let Some(description) = function.get("description").and_then(Value::as_str) {
        flat["description"] = Value::String(description.to_string());
    }
    Ok(flat)
}

fn tool_choice_of(request: &Map<String, Value>, names: &ToolNames) -> Result<Option<Value>, RequestError> {
    let choice = match request.get("tool_choice") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(choice)) => return Ok(Some(Value::String(choice.clone()))),
        Some(choice) => choice,
    };
    if choice.get("type").and_then(Value::as_str) != Some("function") {
        return Err(RequestError::new(
            "tool_choice",
            "`tool_choice` must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":..}}.",
        ));
    }
    let Some(name) = choice.pointer("/function/name").and_then(Value::as_str).filter(|name| !name.is_empty()) else {
        return Err(RequestError::new("tool_choice.function.name", "A function `tool_choice` needs `function.name`."));
    };
    Ok(Some(json!({"type": "function", "name": names.upstream(name)})))
}

/// `text` for the upstream: the output format and verbosity, when the client set either.
fn text_of(request: &Map<String, Value>) -> Result<Option<Value>, RequestError> {
    let mut text = Map::new();
    if let Some(format) = format_of(request)? {
        text.insert("format".into(), format);
    }
    if let Some(verbosity) = optional_str(request, "verbosity")? {
        text.insert("verbosity".into(), Value::String(verbosity.to_string()));
    }
    Ok((!text.is_empty()).then_some(Value::Object(text)))
}

fn format_of(request: &Map<String, Value>) -> Result<Option<Value>, RequestError> {
    let Some(format) = request.get("response_format").filter(|format| !format.is_null()) else {
        return Ok(None);
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(Some(json!({"type": "text"}))),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => json_schema_format(format).map(Some),
        _ => Err(RequestError::new(
            "response_format.type",
            "`response_format.type` must be \"text\", \"json_object\" or \"json_schema\".",
        )),
    }
}

fn json_schema_format(format: &Value) -> Result<Value, RequestError> {
    let Some(spec) = format.get("json_schema").filter(|spec| spec.is_object()) else {
        return Err(RequestError::new(
            "response_format.json_schema",
            "A `json_schema` response format needs a `json_schema` object with `name` and `schema`.",
        ));
    };
    let Some(schema) = spec.get("schema").filter(|schema| schema.is_object()) else {
        return Err(RequestError::new(
            "response_format.json_schema.schema",
            "A `json_schema` response format needs `json_schema.schema` (a JSON Schema object).",
        ));
    };
    let name = spec.get("name").and_then(Value::as_str).filter(|name| !name.is_empty()).unwrap_or("response");
    let strict = spec.get("strict").and_then(Value::as_bool).unwrap_or(false);
    let mut out = json!({"type": "json_schema", "name": name, "strict": strict, "schema": schema});
    if let Some(description) = spec.get("description").and_then(Value::as_str) {
        out["description"] = Value::String(description.to_string());
    }
    Ok(out)
}

/// Translates one upstream stream into `chat.completion.chunk` frames, ending with `[DONE]`.
pub struct ChatStream {
    context: ChatContext,
    id: String,
    created: i64,
    /// Whether a chunk has gone out; the first one carries `role: "assistant"`.
    started: bool,
    /// Content, refusal and summary parts already streamed, by (output_index, part index),
    /// so the `.done` events that repeat them are not sent again.
    sent: HashSet<(i64, i64)>,
    /// The summary part last streamed, to put a blank line between parts.
    last_summary: Option<(i64, i64)>,
    /// Function calls by output_index.
    calls: HashMap<i64, Call>,
    finished: bool,
}

struct Call {
    /// The call's `index` in `delta.tool_calls`: 0, 1, .. in the order calls appear.
    index: usize,
    arguments_sent: bool,
}

impl ChatStream {
    pub fn new(context: ChatContext) -> ChatStream {
        ChatStream {
            context,
            id: String::new(),
            created: 0,
            started: false,
            sent: HashSet::new(),
            last_summary: None,
            calls: HashMap::new(),
            finished: false,
        }
    }

    pub fn on_event(&mut self, event: &UpstreamEvent, out: &mut String) {
        if self.finished {
            return;
        }
        let data = &event.data;
        if let Some(response) = data.get("response") {
            self.remember(response);
        }
        let item = data.get("output_index").and_then(Value::as_i64).unwrap_or(0);
        let number = |key: &str| data.get(key).and_then(Value::as_i64).unwrap_or(0);
        let text = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or_default();
        match event.kind.as_str() {
            "response.output_text.delta" => self.part((item, number("content_index")), "content", text("delta"), out),
            "response.output_text.done" => {
                self.unsent_part((item, number("content_index")), "content", text("text"), out)
            }
            "response.refusal.delta" => self.part((item, number("content_index")), "refusal", text("delta"), out),
            "response.refusal.done" => {
                self.unsent_part((item, number("content_index")), "refusal", text("refusal"), out)
            }
            "response.reasoning_summary_text.delta" => {
                self.summary((item, number("summary_index")), text("delta"), out)
            }
            "response.reasoning_summary_text.done" => {
                self.unsent_summary((item, number("summary_index")), text("text"), out);
            }
            "response.output_item.added" => self.item_added(item, data.get("item").unwrap_or(&Value::Null), out),
            "response.function_call_arguments.delta" => self.arguments(item, text("delta"), out),
            "response.function_call_arguments.done" => self.unsent_arguments(item, text("arguments"), out),
            "response.output_item.done" => self.item_done(item, data.get("item").unwrap_or(&Value::Null), out),
            "response.completed" => self.finish(data.get("response").unwrap_or(&Value::Null), false, out),
            "response.incomplete" => self.finish(data.get("response").unwrap_or(&Value::Null), true, out),
            "response.failed" | "error" => {
                if let Outcome::Failed { code, message } = failure_of(data) {
                    self.on_error(&message, code.as_deref(), out);
                }
            }
            _ => {}
        }
    }

    /// The upstream failed after the client's stream began: an error frame, then `[DONE]`, once.
    pub fn on_error(&mut self, message: &str, code: Option<&str>, out: &mut String) {
        if self.finished {
            return;
        }
        self.finished = true;
        write_data(out, &json!({"error": {"message": message, "type": "server_error", "code": code}}).to_string());
        write_data(out, "[DONE]");
    }

    /// True once a terminal event has been translated, or `on_error` ran.
    #[cfg(test)]
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Takes the chunk id and creation time from the first `response` object that has them.
    fn remember(&mut self, response: &Value) {
        if self.id.is_empty()
            && let Some(id) = response.get("id").and_then(Value::as_str)
        {
            self.id = id.to_string();
        }
        if self.created == 0
            && let Some(created) = response.get("created_at").and_then(Value::as_i64)
        {
            self.created = created;
        }
    }

    /// Streams a piece of a content (`content`) or refusal (`refusal`) part.
    fn part(&mut self, key: (i64, i64), field: &str, text: &str, out: &mut String) {
        if text.is_empty() {
            return;
        }
        self.sent.insert(key);
        self.write_chunk(None, out, |out| {
            write_json_str(out, field);
            out.push(':');
            write_json_str(out, text);
        });
    }

    /// Sends a whole part that arrived without deltas.
    fn unsent_part(&mut self, key: (i64, i64), field: &str, text: &str, out: &mut String) {
        if !self.sent.contains(&key) {
            self.part(key, field, text, out);
        }
    }

    /// Streams reasoning summary text as `reasoning_content`, a blank line between parts.
    fn summary(&mut self, key: (i64, i64), text: &str, out: &mut String) {
        if text.is_empty() {
            return;
        }
        let new_part = self.last_summary.is_some_and(|last| last != key);
        self.last_summary = Some(key);
        self.sent.insert(key);
        let text = if new_part { format!("\n\n{text}") } else { text.to_string() };
        self.send(json!({ "reasoning_content": text }), out);
    }

    fn unsent_summary(&mut self, key: (i64, i64), text: &str, out: &mut String) {
        if !self.sent.contains(&key) {
            self.summary(key, text, out);
        }
    }

    fn item_added(&mut self, index: i64, item: &Value, out: &mut String) {
        if item.get("type").and_then(Value::as_str) == Some("function_call") {
            self.call_started(index, item, out);
        }
    }

    /// Sends whatever of a finished item was not streamed.
    fn item_done(&mut self, index: i64, item: &Value, out: &mut String) {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for (n, part) in items_of(item, "content").iter().enumerate() {
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => {
                            self.unsent_part((index, n as i64), "content", str_of(part, "text"), out)
                        }
                        Some("refusal") => self.unsent_part((index, n as i64), "refusal", str_of(part, "refusal"), out),
                        _ => {}
                    }
                }
            }
            Some("reasoning") => {
                for (n, summary) in items_of(item, "summary").iter().enumerate() {
                    self.unsent_summary((index, n as i64), str_of(summary, "text"), out);
                }
            }
            Some("function_call") => {
                self.call_started(index, item, out);
                self.unsent_arguments(index, str_of(item, "arguments"), out);
            }
            _ => {}
        }
    }

    /// Announces a function call (id, restored name, arguments so far) under the next index.
    fn call_started(&mut self, output_index: i64, item: &Value, out: &mut String) {
        if self.calls.contains_key(&output_index) {
            return;
        }
        let arguments = str_of(item, "arguments");
        let call = Call { index: self.calls.len(), arguments_sent: !arguments.is_empty() };
        let id = item.get("call_id").or_else(|| item.get("id")).and_then(Value::as_str).unwrap_or_default();
        let name = self.context.tool_names.client(str_of(item, "name")).to_string();
        let delta = json!({"tool_calls": [{"index": call.index, "id": id, "type": "function",
            "function": {"name": name, "arguments": arguments}}]});
        self.calls.insert(output_index, call);
        self.send(delta, out);
    }

    fn arguments(&mut self, output_index: i64, arguments: &str, out: &mut String) {
        let Some(call) = self.calls.get_mut(&output_index).filter(|_| !arguments.is_empty()) else {
            return;
        };
        call.arguments_sent = true;
        let delta = json!({"tool_calls": [{"index": call.index, "function": {"arguments": arguments}}]});
        self.send(delta, out);
    }

    /// Sends a call's full arguments when none were streamed.
    fn unsent_arguments(&mut self, output_index: i64, arguments: &str, out: &mut String) {
        if self.calls.get(&output_index).is_some_and(|call| !call.arguments_sent) {
            self.arguments(output_index, arguments, out);
        }
    }

    /// The finish chunk, the usage chunk when asked for, and `[DONE]`. When nothing was streamed,
    /// the response's own output is sent first.
    fn finish(&mut self, response: &Value, incomplete: bool, out: &mut String) {
        if !self.started {
            for (index, item) in items_of(response, "output").iter().enumerate() {
                self.item_done(index as i64, item, out);
            }
        }
        let reason = finish_reason(response, incomplete, !self.calls.is_empty());
        self.write_chunk(Some(reason), out, |_| {});
        if self.context.include_usage {
            let usage = usage_of(response.get("usage").unwrap_or(&Value::Null));
            self.open_chunk(out);
            let _ = write!(out, "\"choices\":[],\"usage\":{usage}}}\n\n");
        }
        write_data(out, "[DONE]");
        self.finished = true;
    }

    /// Sends a chunk whose delta is `delta`, a JSON object.
    fn send(&mut self, delta: Value, out: &mut String) {
        self.write_chunk(None, out, |out| {
            for (i, (key, value)) in delta.as_object().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(out, key);
                let _ = write!(out, ":{value}");
            }
        });
    }

    /// Appends one chunk frame whose delta holds what `members` writes (`"content":"…"`, or
    /// nothing); the stream's first delta also carries `"role":"assistant"`.
    fn write_chunk(&mut self, finish_reason: Option<&str>, out: &mut String, members: impl FnOnce(&mut String)) {
        self.open_chunk(out);
        out.push_str(r#""choices":[{"index":0,"delta":{"#);
        let first = !std::mem::replace(&mut self.started, true);
        if first {
            out.push_str(r#""role":"assistant","#);
        }
        let start = out.len();
        members(out);
        if first && out.len() == start {
            out.pop();
        }
        out.push_str("},\"finish_reason\":");
        match finish_reason {
            Some(reason) => write_json_str(out, reason),
            None => out.push_str("null"),
        }
        out.push_str("}]}\n\n");
    }

    /// Starts a chunk frame, written straight into `out` (a stream sends one per event):
    /// `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,`.
    fn open_chunk(&self, out: &mut String) {
        out.push_str("data: {\"id\":");
        write_json_str(out, &self.id);
        let _ = write!(out, ",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":", self.created);
        write_json_str(out, &self.context.model);
        out.push(',');
    }
}

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
fn finish_reason(response: &Value, incomplete: bool, called_tools: bool) -> &'static str {
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
fn usage_of(usage: &Value) -> Value {
    let usage = Usage::of(usage);
    json!({
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cached},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning},
    })
}

fn items_of<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::responses::Aggregator;
    use super::*;

    fn translate(body: Value) -> ChatRequest {
        translate_request(body).unwrap()
    }

    fn refused(body: Value) -> RequestError {
        translate_request(body).unwrap_err()
    }

    fn chat(messages: Value) -> Value {
        json!({"model": "gpt-5.5", "messages": messages})
    }

    fn with(mut body: Value, extra: Value) -> Value {
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    }

    fn event(kind: &str, mut data: Value) -> UpstreamEvent {
        data["type"] = json!(kind);
        UpstreamEvent { kind: kind.to_string(), data }
    }

    fn context(include_usage: bool) -> ChatContext {
        ChatContext { model: "my-model".into(), include_usage, tool_names: ToolNames::default() }
    }

    /// Runs events through a stream and returns the frames' data: JSON, or the `[DONE]` text.
    fn stream(context: ChatContext, events: &[UpstreamEvent]) -> Vec<Value> {
        let mut stream = ChatStream::new(context);
        let mut out = String::new();
        for event in events {
            stream.on_event(event, &mut out);
        }
        assert!(stream.is_finished(), "stream not finished: {out}");
        frames(&out)
    }

    fn frames(out: &str) -> Vec<Value> {
        assert!(out.ends_with("\n\n"), "{out:?}");
        out.split_terminator("\n\n")
            .map(|frame| {
                let data = frame.strip_prefix("data: ").unwrap();
                serde_json::from_str(data).unwrap_or_else(|_| json!(data))
            })
            .collect()
    }

    fn deltas(frames: &[Value]) -> Vec<Value> {
        frames.iter().filter_map(|f| f.pointer("/choices/0/delta").cloned()).collect()
    }

    fn joined(frames: &[Value], field: &str) -> String {
        deltas(frames).iter().filter_map(|d| d[field].as_str().map(str::to_string)).collect()
    }

    fn finish_reasons(frames: &[Value]) -> Vec<Value> {
        frames.iter().filter_map(|f| f.pointer("/choices/0/finish_reason")).filter(|r| !r.is_null()).cloned().collect()
    }

    fn created() -> UpstreamEvent {
        event(
            "response.created",
            json!({"response": {"id": "resp_1", "object": "response", "created_at": 1767000000,
                "status": "in_progress", "model": "gpt-5.5", "output": []}}),
        )
    }

    fn usage() -> Value {
        json!({"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1024}, "output_tokens": 85,
            "output_tokens_details": {"reasoning_tokens": 64}, "total_tokens": 1285})
    }

    fn completed(output: Value) -> UpstreamEvent {
        event(
            "response.completed",
            json!({"response": {"id": "resp_1", "status": "completed", "model": "gpt-5.5", "created_at": 1767000000,
                "output": output, "usage": usage()}}),
        )
    }

    /// §3.2: two reasoning summary parts, then the text "Hello there", then completed.
    fn reasoning_and_text() -> Vec<UpstreamEvent> {
        let reasoning = json!({"id": "rs_1", "type": "reasoning", "encrypted_content": "gAAA",
            "summary": [{"type": "summary_text", "text": "Plan"}, {"type": "summary_text", "text": "Check"}]});
        let message = json!({"id": "msg_1", "type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello there"}]});
        let rs = |summary_index: i64, extra: Value| {
            with(json!({"item_id": "rs_1", "output_index": 0, "summary_index": summary_index}), extra)
        };
        let msg = |extra: Value| with(json!({"item_id": "msg_1", "output_index": 1, "content_index": 0}), extra);
        vec![
            created(),
            event("response.in_progress", json!({"response": {"id": "resp_1", "status": "in_progress"}})),
            event(
                "response.output_item.added",
                json!({"output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": []}}),
            ),
            event(
                "response.reasoning_summary_part.added",
                rs(0, json!({"part": {"type": "summary_text", "text": ""}})),
            ),
            event("response.reasoning_summary_text.delta", rs(0, json!({"delta": "Pl"}))),
            event("response.reasoning_summary_text.delta", rs(0, json!({"delta": "an"}))),
            event("response.reasoning_summary_text.done", rs(0, json!({"text": "Plan"}))),
            event(
                "response.reasoning_summary_part.done",
                rs(0, json!({"part": {"type": "summary_text", "text": "Plan"}})),
            ),
            event(
                "response.reasoning_summary_part.added",
                rs(1, json!({"part": {"type": "summary_text", "text": ""}})),
            ),
            event("response.reasoning_summary_text.delta", rs(1, json!({"delta": "Check"}))),
            event("response.reasoning_summary_text.done", rs(1, json!({"text": "Check"}))),
            event("response.output_item.done", json!({"output_index": 0, "item": reasoning})),
            event(
                "response.output_item.added",
                json!({"output_index": 1, "item": {"id": "msg_1", "type": "message",
                "role": "assistant", "status": "in_progress", "content": []}}),
            ),
            event("response.content_part.added", msg(json!({"part": {"type": "output_text", "text": ""}}))),
            event("response.output_text.delta", msg(json!({"delta": "Hello"}))),
            event("response.output_text.delta", msg(json!({"delta": " there"}))),
            event("response.output_text.done", msg(json!({"text": "Hello there"}))),
            event("response.content_part.done", msg(json!({"part": {"type": "output_text", "text": "Hello there"}}))),
            event("response.output_item.done", json!({"output_index": 1, "item": message})),
            completed(json!([reasoning, message])),
        ]
    }

    fn call_item(id: &str, call_id: &str, name: &str, arguments: &str) -> Value {
        json!({"id": id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments,
            "status": "completed"})
    }

    fn call_added(output_index: i64, id: &str, call_id: &str, name: &str) -> UpstreamEvent {
        let mut item = call_item(id, call_id, name, "");
        item["status"] = json!("in_progress");
        event("response.output_item.added", json!({"output_index": output_index, "item": item}))
    }

    fn arguments_delta(output_index: i64, id: &str, delta: &str) -> UpstreamEvent {
        event(
            "response.function_call_arguments.delta",
            json!({"item_id": id, "output_index": output_index, "delta": delta}),
        )
    }

    fn arguments_done(output_index: i64, id: &str, arguments: &str) -> UpstreamEvent {
        event(
            "response.function_call_arguments.done",
            json!({"item_id": id, "output_index": output_index, "arguments": arguments}),
        )
    }

    fn item_done(output_index: i64, item: &Value) -> UpstreamEvent {
        event("response.output_item.done", json!({"output_index": output_index, "item": item}))
    }

    #[test]
    fn a_plain_request_becomes_a_responses_body() {
        let request = translate(with(
            chat(json!([{"role": "user", "content": "hi"}])),
            json!({"stream": true, "max_tokens": 100, "max_completion_tokens": 100, "temperature": 0.3,
                "top_p": 0.9, "stop": ["x"], "logprobs": false, "top_logprobs": 2, "presence_penalty": 1,
                "frequency_penalty": 1, "seed": 7, "user": "u-42", "n": 1,
                "stream_options": {"include_usage": true}}),
        ));
        assert_eq!(
            Value::Object(request.body),
            json!({"model": "gpt-5.5", "instructions": "",
                "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
                "parallel_tool_calls": true, "reasoning": {"effort": "medium", "summary": "auto"},
                "include": ["reasoning.encrypted_content"]})
        );
        assert!(request.stream);
        assert_eq!(request.reasoning_effort.as_deref(), Some("medium"));
        assert_eq!(request.session.as_deref(), Some("u-42"));
        assert_eq!(request.context.model, "gpt-5.5");
        assert!(request.context.include_usage);
        assert!(!translate(chat(json!([{"role": "user", "content": "hi"}]))).stream);
    }

    #[test]
    fn system_and_developer_messages_become_developer_messages_not_instructions() {
        let request = translate(chat(json!([
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
            {"role": "user", "content": "hi"},
        ])));
        assert_eq!(request.body["instructions"], "");
        let input = &request.body["input"];
        assert_eq!(
            input[0],
            json!({"type": "message", "role": "developer",
            "content": [{"type": "input_text", "text": "Be brief."}]})
        );
        assert_eq!(input[1]["role"], "developer");
        assert_eq!(input[1]["content"][0]["text"], "Use tools.");
        assert_eq!(input[2]["role"], "user");
    }

    #[test]
    fn images_keep_their_url_and_detail() {
        let data_url = "data:image/png;base64,iVBORw0KGgo=";
        let request = translate(chat(json!([{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": data_url, "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            {"type": "image_url", "image_url": "https://example.com/dog.jpg"},
        ]}])));
        assert_eq!(
            request.body["input"][0]["content"],
            json!([
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": data_url, "detail": "high"},
                {"type": "input_image", "image_url": "https://example.com/cat.jpg"},
                {"type": "input_image", "image_url": "https://example.com/dog.jpg"},
            ])
        );
    }

    #[test]
    fn tools_are_flattened_and_tool_choice_translated() {
        let tools = json!([
            {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}},
            {"type": "function", "function": {"name": "now"}},
        ]);
        let body = with(
            chat(json!([{"role": "user", "content": "hi"}])),
            json!({"tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": false}),
        );
        let request = translate(body.clone());
        assert_eq!(
            request.body["tools"],
            json!([
                {"type": "function", "name": "get_weather", "description": "Weather for a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true},
                {"type": "function", "name": "now", "parameters": {"type": "object", "properties": {}}, "strict": false},
            ])
        );
        assert_eq!(request.body["tool_choice"], json!({"type": "function", "name": "get_weather"}));
        assert_eq!(request.body["parallel_tool_calls"], false);
        for choice in ["auto", "none", "required"] {
            let request = translate(with(body.clone(), json!({"tool_choice": choice})));
            assert_eq!(request.body["tool_choice"], choice);
        }
    }

    #[test]
    fn response_format_and_verbosity_become_text() {
        let base = chat(json!([{"role": "user", "content": "hi"}]));
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
        let request = translate(with(
            base.clone(),
            json!({"verbosity": "low", "response_format": {"type": "json_schema",
            "json_schema": {"name": "answer", "strict": true, "schema": schema}}}),
        ));
        assert_eq!(
            request.body["text"],
            json!({"verbosity": "low", "format": {"type": "json_schema", "name": "answer", "strict": true, "schema": schema}})
        );
        let request = translate(with(base.clone(), json!({"response_format": {"type": "json_object"}})));
        assert_eq!(request.body["text"], json!({"format": {"type": "json_object"}}));
        let request = translate(with(base.clone(), json!({"response_format": {"type": "text"}})));
        assert_eq!(request.body["text"], json!({"format": {"type": "text"}}));
        assert!(!translate(base).body.contains_key("text"));
    }

    #[test]
    fn reasoning_effort_and_cache_key_pass_through() {
        let request = translate(with(
            chat(json!([{"role": "user", "content": "hi"}])),
            json!({
            "reasoning_effort": "high", "prompt_cache_key": "sess-1", "user": "u-1",
            "metadata": {"session_id": "meta-1"}}),
        ));
        assert_eq!(request.body["reasoning"], json!({"effort": "high", "summary": "auto"}));
        assert_eq!(request.body["include"], json!(["reasoning.encrypted_content"]));
        assert_eq!(request.body["prompt_cache_key"], "sess-1");
        assert_eq!(request.reasoning_effort.as_deref(), Some("high"));
        assert_eq!(request.session.as_deref(), Some("sess-1"));
        let request = translate(with(
            chat(json!([{"role": "user", "content": "hi"}])),
            json!({
            "metadata": {"session_id": "meta-1"}}),
        ));
        assert_eq!(request.session.as_deref(), Some("meta-1"));
        assert!(!request.body.contains_key("prompt_cache_key"));
    }

    #[test]
    fn a_multi_turn_tool_conversation_keeps_its_order() {
        let request = translate(chat(json!([
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}},
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "21C"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
            {"role": "tool", "tool_call_id": "call_zzz", "content": "orphan"},
            {"role": "assistant", "content": "Paris 18C, Rome 21C.", "tool_calls": [
                {"type": "function", "function": {"name": "log", "arguments": ""}}]},
            {"role": "tool", "content": "logged"},
            {"role": "user", "content": "Thanks"},
        ])));
        assert_eq!(
            request.body["input"],
            json!([
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris and Rome?"}]},
                {"type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "function_call", "call_id": "call_b", "name": "get_weather", "arguments": "{\"city\":\"Rome\"}"},
                {"type": "function_call_output", "call_id": "call_a", "output": "18C"},
                {"type": "function_call_output", "call_id": "call_b", "output": [{"type": "input_text", "text": "21C"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Paris 18C, Rome 21C."}]},
                {"type": "function_call", "call_id": "call_5_0", "name": "log", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_5_0", "output": "logged"},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks"}]},
            ])
        );
    }

    #[test]
    fn unsupported_requests_name_the_field() {
        let hi = json!([{"role": "user", "content": "hi"}]);
        let cases = [
            (with(chat(hi.clone()), json!({"n": 2})), "n"),
            (with(chat(hi.clone()), json!({"modalities": ["text", "audio"]})), "modalities"),
            (with(chat(hi.clone()), json!({"audio": {"voice": "alloy", "format": "wav"}})), "audio"),
            (json!({"model": "gpt-5.5"}), "messages"),
            (json!({"model": "gpt-5.5", "messages": "hi"}), "messages"),
            (chat(json!([])), "messages"),
            (json!({"messages": hi}), "model"),
            (chat(json!([{"role": "user", "content": "a"}, {"content": "b"}])), "messages.1.role"),
            (chat(json!([{"role": "robot", "content": "b"}])), "messages.0.role"),
            (
                chat(json!([{"role": "user", "content": [{"type": "text", "text": "a"},
                {"type": "input_audio", "input_audio": {"data": "..", "format": "wav"}}]}])),
                "messages.0.content.1.type",
            ),
            (
                chat(
                    json!([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}]),
                ),
                "messages.0.content.0.type",
            ),
            (
                with(
                    chat(hi.clone()),
                    json!({"tools": [{"type": "function", "function": {"description": "no name"}}]}),
                ),
                "tools.0.function.name",
            ),
            (
                chat(json!([{"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}])),
                "messages.0.tool_calls.0.function.name",
            ),
            (
                with(
                    chat(hi.clone()),
                    json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}),
                ),
                "response_format.json_schema.schema",
            ),
            (
                with(chat(hi.clone()), json!({"response_format": {"type": "json_schema"}})),
                "response_format.json_schema",
            ),
            (with(chat(hi.clone()), json!({"tool_choice": {"type": "allowed_tools"}})), "tool_choice"),
        ];
        for (body, param) in cases {
            let error = refused(body.clone());
            assert_eq!(error.param.as_deref(), Some(param), "{body}: {}", error.message);
            assert!(!error.message.is_empty());
        }
        assert_eq!(refused(json!([1])).param, None);
    }

    #[test]
    fn a_text_answer_streams_reasoning_then_content_then_stop() {
        let frames = stream(context(false), &reasoning_and_text());
        let chunks = &frames[..frames.len() - 1];
        for chunk in chunks {
            assert_eq!((chunk["id"].clone(), chunk["created"].clone()), (json!("resp_1"), json!(1767000000)));
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["model"], "my-model");
            assert_eq!(chunk["choices"].as_array().unwrap().len(), 1);
        }
        assert_eq!(chunks[0]["choices"][0]["delta"], json!({"role": "assistant", "reasoning_content": "Pl"}));
        assert!(chunks[1..].iter().all(|c| c["choices"][0]["delta"].get("role").is_none()));
        assert_eq!(joined(&frames, "reasoning_content"), "Plan\n\nCheck");
        assert_eq!(joined(&frames, "content"), "Hello there");
        assert_eq!(finish_reasons(&frames), vec![json!("stop")]);
        assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "stop");
        assert!(frames.iter().all(|f| f.get("usage").is_none()), "usage only when asked for");
        assert_eq!(frames.last().unwrap(), "[DONE]");
    }

    #[test]
    fn the_usage_chunk_comes_only_with_include_usage() {
        let frames = stream(context(true), &reasoning_and_text());
        let n = frames.len();
        assert_eq!(frames[n - 1], "[DONE]");
        assert_eq!(frames[n - 3]["choices"][0]["finish_reason"], "stop");
        let usage_chunk = &frames[n - 2];
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(usage_chunk["id"], "resp_1");
        assert_eq!(
            usage_chunk["usage"],
            json!({"prompt_tokens": 1200, "completion_tokens": 85, "total_tokens": 1285,
                "prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 64}})
        );
    }

    #[test]
    fn parallel_tool_calls_stream_with_their_own_indexes() {
        let paris = call_item("fc_1", "call_1", "get_weather", "{\"city\":\"Paris\"}");
        let rome = call_item("fc_2", "call_2", "get_weather", "{\"city\":\"Rome\"}");
        let frames = stream(
            context(false),
            &[
                created(),
                call_added(0, "fc_1", "call_1", "get_weather"),
                arguments_delta(0, "fc_1", "{\"city\":"),
                call_added(1, "fc_2", "call_2", "get_weather"),
                arguments_delta(1, "fc_2", "{\"city\":\"Rome\"}"),
                arguments_delta(0, "fc_1", "\"Paris\"}"),
                arguments_done(0, "fc_1", "{\"city\":\"Paris\"}"),
                item_done(0, &paris),
                arguments_done(1, "fc_2", "{\"city\":\"Rome\"}"),
                item_done(1, &rome),
                completed(json!([paris, rome])),
            ],
        );
        let calls: Vec<Value> =
            deltas(&frames).iter().filter_map(|d| d.get("tool_calls")).map(|c| c[0].clone()).collect();
        assert_eq!(
            calls,
            vec![
                json!({"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}),
                json!({"index": 0, "function": {"arguments": "{\"city\":"}}),
                json!({"index": 1, "id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": ""}}),
                json!({"index": 1, "function": {"arguments": "{\"city\":\"Rome\"}"}}),
                json!({"index": 0, "function": {"arguments": "\"Paris\"}"}}),
            ]
        );
        assert_eq!(deltas(&frames)[0]["role"], "assistant");
        assert_eq!(finish_reasons(&frames), vec![json!("tool_calls")]);
        assert_eq!(frames.last().unwrap(), "[DONE]");
    }

    #[test]
    fn arguments_sent_only_at_done_go_out_once_and_late_calls_go_out_whole() {
        let first = call_item("fc_1", "call_1", "get_weather", "{\"city\":\"Oslo\"}");
        let late = call_item("fc_2", "call_2", "now", "{}");
        let frames = stream(
            context(false),
            &[
                created(),
                call_added(0, "fc_1", "call_1", "get_weather"),
                arguments_done(0, "fc_1", "{\"city\":\"Oslo\"}"),
                item_done(0, &first),
                item_done(1, &late),
                completed(json!([])),
            ],
        );
        let calls: Vec<Value> =
            deltas(&frames).iter().filter_map(|d| d.get("tool_calls")).map(|c| c[0].clone()).collect();
        assert_eq!(
            calls,
            vec![
                json!({"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}),
                json!({"index": 0, "function": {"arguments": "{\"city\":\"Oslo\"}"}}),
                json!({"index": 1, "id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{}"}}),
            ]
        );
        assert_eq!(finish_reasons(&frames), vec![json!("tool_calls")]);
    }

    #[test]
    fn text_that_arrives_only_whole_is_sent_whole() {
        let message =
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Whole"}]});
        let frames = stream(context(false), &[created(), item_done(0, &message), completed(json!([message]))]);
        assert_eq!(deltas(&frames)[0], json!({"role": "assistant", "content": "Whole"}));
        assert_eq!(joined(&frames, "content"), "Whole");

        let frames = stream(context(false), &[created(), completed(json!([message]))]);
        assert_eq!(joined(&frames, "content"), "Whole", "a completed event with output but no item events");
    }

    #[test]
    fn incomplete_answers_finish_with_length_or_content_filter() {
        for (reason, expected) in [("max_output_tokens", "length"), ("content_filter", "content_filter")] {
            let frames = stream(
                context(false),
                &[
                    created(),
                    event(
                        "response.output_text.delta",
                        json!({"output_index": 0, "content_index": 0, "delta": "Part"}),
                    ),
                    event(
                        "response.incomplete",
                        json!({"response": {"id": "resp_1", "status": "incomplete",
                        "incomplete_details": {"reason": reason}, "output": [], "usage": usage()}}),
                    ),
                ],
            );
            assert_eq!(joined(&frames, "content"), "Part");
            assert_eq!(finish_reasons(&frames), vec![json!(expected)]);
            assert_eq!(frames.last().unwrap(), "[DONE]");
        }
    }

    #[test]
    fn an_empty_answer_still_gets_a_role_and_a_finish() {
        let frames = stream(context(false), &[created(), completed(json!([]))]);
        assert_eq!(deltas(&frames), vec![json!({"role": "assistant"})]);
        assert_eq!(finish_reasons(&frames), vec![json!("stop")]);
    }

    #[test]
    fn a_failure_mid_stream_ends_with_one_error_frame_and_done() {
        let mut stream = ChatStream::new(context(true));
        let mut out = String::new();
        stream.on_event(&created(), &mut out);
        stream.on_event(
            &event("response.output_text.delta", json!({"output_index": 0, "content_index": 0, "delta": "Hel"})),
            &mut out,
        );
        assert!(!stream.is_finished());
        stream.on_event(
            &event(
                "response.failed",
                json!({"response": {"id": "resp_1", "status": "failed",
                "error": {"code": "server_is_overloaded", "message": "The server is overloaded"}}}),
            ),
            &mut out,
        );
        assert!(stream.is_finished());
        stream.on_error("stream cut", None, &mut out);
        stream.on_event(&completed(json!([])), &mut out);
        let first = frames(&out);
        assert_eq!(first.len(), 3, "{out}");
        assert_eq!(joined(&first, "content"), "Hel");
        assert_eq!(
            first[1],
            json!({"error": {"message": "The server is overloaded", "type": "server_error", "code": "server_is_overloaded"}})
        );
        assert_eq!(first[2], "[DONE]");

        let mut stream = ChatStream::new(context(false));
        let mut out = String::new();
        stream.on_event(&created(), &mut out);
        stream.on_event(&event("error", json!({"code": "rate_limit_exceeded", "message": "Slow down"})), &mut out);
        stream.on_event(&event("error", json!({"code": "rate_limit_exceeded", "message": "Slow down"})), &mut out);
        assert_eq!(
            frames(&out),
            vec![
                json!({"error": {"message": "Slow down", "type": "server_error",
            "code": "rate_limit_exceeded"}}),
                json!("[DONE]")
            ]
        );

        let mut stream = ChatStream::new(context(false));
        let mut out = String::new();
        stream.on_error("upstream idle for 300 s", Some("timeout"), &mut out);
        stream.on_error("again", None, &mut out);
        assert_eq!(frames(&out).len(), 2);
        assert_eq!(frames(&out)[0]["error"]["message"], "upstream idle for 300 s");
    }

    #[test]
    fn long_tool_names_are_shortened_upstream_and_restored_for_the_client() {
        let long = format!("mcp__filesystem__{}", "read_the_whole_file_and_summarise_it_".repeat(2));
        let request = translate(with(
            chat(json!([
                {"role": "user", "content": "read it"},
                {"role": "assistant", "tool_calls": [{"id": "call_0", "type": "function",
                    "function": {"name": long, "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_0", "content": "..."},
            ])),
            json!({"tools": [{"type": "function", "function": {"name": long, "parameters": {"type": "object"}}}],
                "tool_choice": {"type": "function", "function": {"name": long}}}),
        ));
        let short = request.body["tools"][0]["name"].as_str().unwrap().to_string();
        assert!(short.len() <= 64 && short != long, "{short}");
        assert_eq!(request.body["tool_choice"]["name"], short);
        assert_eq!(request.body["input"][1]["name"], short);

        let call = call_item("fc_1", "call_1", &short, "{\"path\":\"a\"}");
        let frames = stream(
            request.context.clone(),
            &[created(), call_added(0, "fc_1", "call_1", &short), item_done(0, &call), completed(json!([call]))],
        );
        assert_eq!(deltas(&frames)[0]["tool_calls"][0]["function"]["name"], long.as_str());

        let completion = completion_from_response(&completed(json!([call])).data["response"], false, &request.context);
        assert_eq!(completion["choices"][0]["message"]["tool_calls"][0]["function"]["name"], long.as_str());
    }

    #[test]
    fn a_non_stream_answer_is_built_from_the_aggregated_response() {
        let reasoning = json!({"id": "rs_1", "type": "reasoning", "summary": [
            {"type": "summary_text", "text": "Plan"}, {"type": "summary_text", "text": "Check"}]});
        let message =
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Calling."}]});
        let call = call_item("fc_1", "call_1", "get_weather", "{\"city\":\"Paris\"}");
        let mut aggregator = Aggregator::new();
        for event in
            [created(), item_done(1, &message), item_done(0, &reasoning), item_done(2, &call), completed(json!([]))]
        {
            aggregator.on_event(&event);
        }
        let Some(Outcome::Completed(response)) = aggregator.finish() else { panic!("not completed") };
        let completion = completion_from_response(&response, false, &context(false));
        assert_eq!(
            completion,
            json!({"id": "resp_1", "object": "chat.completion", "created": 1767000000, "model": "my-model",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
                    "content": "Calling.", "reasoning_content": "Plan\n\nCheck",
                    "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
                "usage": {"prompt_tokens": 1200, "completion_tokens": 85, "total_tokens": 1285,
                    "prompt_tokens_details": {"cached_tokens": 1024},
                    "completion_tokens_details": {"reasoning_tokens": 64}}})
        );
    }

    #[test]
    fn non_stream_finish_reasons_and_content() {
        let text = json!([{"type": "message", "content": [{"type": "output_text", "text": "Hi"}]}]);
        let completion = completion_from_response(&json!({"id": "r", "output": text}), false, &context(false));
        assert_eq!(completion["choices"][0]["finish_reason"], "stop");
        assert_eq!(completion["choices"][0]["message"], json!({"role": "assistant", "content": "Hi"}));

        let cut = json!({"id": "r", "output": text, "incomplete_details": {"reason": "max_output_tokens"}});
        assert_eq!(completion_from_response(&cut, true, &context(false))["choices"][0]["finish_reason"], "length");

        let calls_only = json!({"output": [call_item("fc_1", "call_1", "now", "{}")]});
        let completion = completion_from_response(&calls_only, false, &context(false));
        assert_eq!(completion["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
    }
}
