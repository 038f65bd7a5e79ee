//! Upstream Responses events → `chat.completion.chunk` frames.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use serde_json::{Value, json};

use super::ChatContext;
use super::completion::{finish_reason, items_of, str_of, usage_of};
use crate::gateway::protocol::UpstreamEvent;
use crate::gateway::protocol::responses::{Outcome, failure_of};
use crate::gateway::sse::{write_data, write_json_str};

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
