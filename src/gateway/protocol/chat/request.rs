//! A Chat Completions request → a Responses request body.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::ChatContext;
use crate::gateway::protocol::tool_names::ToolNames;
use crate::gateway::protocol::{RequestError, Translated};

/// The effort asked of the model when the client names none.
const DEFAULT_EFFORT: &str = "medium";

/// A Chat Completions request, translated.
pub type ChatRequest = Translated<ChatContext>;

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
        session_hint: session_hint(&request),
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

/// Chat's own session fields: `user`, else `metadata.session_id` (`prompt_cache_key` is
/// passed through in the body and wins over both).
fn session_hint(request: &Map<String, Value>) -> Option<String> {
    let metadata = request.get("metadata").and_then(|m| m.get("session_id"));
    [request.get("user"), metadata]
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
