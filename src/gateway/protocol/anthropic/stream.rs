//! Upstream Responses SSE events → Anthropic Messages SSE frames.
//!
//! Frames: `message_start`, then per output item one content block (`content_block_start`,
//! deltas, `content_block_stop`, `index` counting blocks), then `message_delta` and
//! `message_stop`. Anthropic clients accept only one open block at a time, so while one item's
//! block is open, events of other items (parallel tool calls) wait in order and are replayed
//! once it closes.

use std::fmt::Write;

use serde_json::{Value, json};

use super::MessagesContext;
use super::message::{FALLBACK_ID, is_function_call, output_text, stop_reason, summary_text, tool_use_block, usage_of};
use crate::gateway::protocol::UpstreamEvent;
use crate::gateway::protocol::responses::{Outcome, failure_of};
use crate::gateway::sse::{write_json_str, write_named};

/// Translates one upstream stream into one Anthropic stream.
#[derive(Debug)]
pub struct MessagesStream {
    context: MessagesContext,
    started: bool,
    finished: bool,
    next_block: u64,
    active: Option<Item>,
    waiting: Vec<UpstreamEvent>,
    tool_used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Thinking,
    Text,
    ToolUse,
}

/// The output item being rendered.
#[derive(Debug)]
struct Item {
    kind: Kind,
    output_index: Option<i64>,
    /// The index of its open content block, once opened.
    block: Option<u64>,
    /// Whether content deltas were sent (else the `.done` events carry it whole).
    streamed: bool,
    /// Reasoning: the summary part last streamed, to put a blank line between parts.
    summary_index: Option<i64>,
    /// Reasoning: `encrypted_content` from `output_item.added`.
    signature: Option<String>,
}

impl MessagesStream {
    pub fn new(context: MessagesContext) -> MessagesStream {
        MessagesStream {
            context,
            started: false,
            finished: false,
            next_block: 0,
            active: None,
            waiting: Vec::new(),
            tool_used: false,
        }
    }

    /// Appends the frames one upstream event produces (often none).
    pub fn on_event(&mut self, event: &UpstreamEvent, out: &mut String) {
        if self.finished {
            return;
        }
        let response = event.data.get("response").unwrap_or(&Value::Null);
        match event.kind.as_str() {
            "response.created" => self.start(response, out),
            "response.completed" => self.finish(response, false, out),
            "response.incomplete" => self.finish(response, true, out),
            "response.failed" | "error" => {
                if let Outcome::Failed { code, message } = failure_of(&event.data) {
                    self.on_error(error_type(code.as_deref()), &message, out);
                }
            }
            _ => self.route(event, out),
        }
    }

    /// Upstream failed after the client's stream began: `event: error` with
    /// `{"type":"error","error":{"type":error_type,"message"}}`, once; the stream then ends.
    pub fn on_error(&mut self, error_type: &str, message: &str, out: &mut String) {
        if self.finished {
            return;
        }
        self.finished = true;
        write(out, "error", json!({"type": "error", "error": {"type": error_type, "message": message}}));
    }

    /// `event: ping` / `{"type":"ping"}`, for while the upstream is silent.
    pub fn ping(&self, out: &mut String) {
        write(out, "ping", json!({"type": "ping"}));
    }

    fn start(&mut self, response: &Value, out: &mut String) {
        if self.started {
            return;
        }
        self.started = true;
        let id = response.get("id").and_then(Value::as_str).unwrap_or(FALLBACK_ID);
        let message = json!({"id": id, "type": "message", "role": "assistant", "model": self.context.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0}});
        write(out, "message_start", json!({"type": "message_start", "message": message}));
    }

    fn finish(&mut self, response: &Value, incomplete: bool, out: &mut String) {
        self.drain(out);
        self.start(response, out);
        let delta = json!({"stop_reason": stop_reason(self.tool_used, incomplete, response), "stop_sequence": null});
        write(out, "message_delta", json!({"type": "message_delta", "delta": delta, "usage": usage_of(response)}));
        write(out, "message_stop", json!({"type": "message_stop"}));
        self.finished = true;
    }

    /// Applies an item event now, or queues it while another item's block is open.
    fn route(&mut self, event: &UpstreamEvent, out: &mut String) {
        if self.must_wait(event) {
            self.waiting.push(event.clone());
            return;
        }
        self.apply(event, out);
        self.replay(out);
    }

    /// An event waits when another item is being rendered, or when earlier events of its
    /// own item are already waiting.
    fn must_wait(&self, event: &UpstreamEvent) -> bool {
        let Some(index) = output_index(&event.data) else {
            return false;
        };
        let other_active = self.active.as_ref().and_then(|item| item.output_index).is_some_and(|i| i != index);
        other_active || self.waiting.iter().any(|waiting| output_index(&waiting.data) == Some(index))
    }

    /// Once no item is being rendered, applies waiting events in arrival order.
    fn replay(&mut self, out: &mut String) {
        while self.active.is_none() && !self.waiting.is_empty() {
            for event in std::mem::take(&mut self.waiting) {
                if self.must_wait(&event) {
                    self.waiting.push(event);
                } else {
                    self.apply(&event, out);
                }
            }
        }
    }

    /// At the end of the stream: closes whatever is open and renders what still waits.
    fn drain(&mut self, out: &mut String) {
        loop {
            self.close(out);
            if self.waiting.is_empty() {
                return;
            }
            self.replay(out);
        }
    }

    fn apply(&mut self, event: &UpstreamEvent, out: &mut String) {
        let data = &event.data;
        match event.kind.as_str() {
            "response.output_item.added" => self.item_added(data, out),
            "response.reasoning_summary_text.delta" => self.thinking_delta(data, out),
            "response.output_text.delta" => self.text_delta(data, out),
            "response.function_call_arguments.delta" => self.arguments_delta(data, out),
            "response.function_call_arguments.done" => self.arguments_done(data, out),
            "response.output_item.done" => self.item_done(data, out),
            _ => {}
        }
    }

    fn item_added(&mut self, data: &Value, out: &mut String) {
        let item = data.get("item").unwrap_or(&Value::Null);
        let Some(kind) = kind_of(item) else {
            return;
        };
        self.close(out);
        let active = self.activate(kind, data, out);
        active.signature = item.get("encrypted_content").and_then(Value::as_str).map(str::to_string);
        if kind == Kind::ToolUse {
            self.open(tool_use_block(item, &self.context), out);
        }
    }

    fn thinking_delta(&mut self, data: &Value, out: &mut String) {
        let Some(text) = delta_text(data) else {
            return;
        };
        let summary_index = data.get("summary_index").and_then(Value::as_i64);
        let active = self.activate(Kind::Thinking, data, out);
        let new_part = active.streamed && active.summary_index != summary_index;
        active.summary_index = summary_index;
        active.streamed = true;
        let opened = active.block.is_some();
        if !opened {
            self.open(json!({"type": "thinking", "thinking": ""}), out);
        }
        let text = if new_part { format!("\n\n{text}") } else { text.to_string() };
        self.delta("thinking_delta", "thinking", &text, out);
    }

    fn text_delta(&mut self, data: &Value, out: &mut String) {
        let Some(text) = delta_text(data) else {
            return;
        };
        let active = self.activate(Kind::Text, data, out);
        active.streamed = true;
        let opened = active.block.is_some();
        if !opened {
            self.open(json!({"type": "text", "text": ""}), out);
        }
        self.delta("text_delta", "text", text, out);
    }

    /// Argument deltas stream into an open `tool_use` block; a call whose block could not be
    /// opened yet (no `output_item.added`) gets its arguments whole at `output_item.done`.
    fn arguments_delta(&mut self, data: &Value, out: &mut String) {
        let Some(json) = delta_text(data) else {
            return;
        };
        if let Some(active) = self.open_call() {
            active.streamed = true;
            self.delta("input_json_delta", "partial_json", json, out);
        }
    }

    fn arguments_done(&mut self, data: &Value, out: &mut String) {
        let arguments = data.get("arguments").and_then(Value::as_str).unwrap_or_default();
        if let Some(active) = self.open_call().filter(|active| !active.streamed) {
            active.streamed = true;
            if !arguments.is_empty() {
                self.delta("input_json_delta", "partial_json", arguments, out);
            }
        }
    }

    fn item_done(&mut self, data: &Value, out: &mut String) {
        let item = data.get("item").unwrap_or(&Value::Null);
        match kind_of(item) {
            Some(Kind::Thinking) => self.reasoning_done(data, item, out),
            Some(Kind::Text) => self.message_done(data, item, out),
            Some(Kind::ToolUse) => self.call_done(data, item, out),
            None => {}
        }
    }

    /// Thinking text not streamed is sent whole; a reasoning item with only encrypted content
    /// still gets a (signature-only) block, so the client can send it back. The signature
    /// comes last, right before the block closes.
    fn reasoning_done(&mut self, data: &Value, item: &Value, out: &mut String) {
        let active = self.activate(Kind::Thinking, data, out);
        let signature =
            item.get("encrypted_content").and_then(Value::as_str).map(str::to_string).or(active.signature.take());
        let (opened, streamed) = (active.block.is_some(), active.streamed);
        let summary = if streamed { String::new() } else { summary_text(item) };
        if !opened && (!summary.is_empty() || signature.is_some()) {
            self.open(json!({"type": "thinking", "thinking": ""}), out);
        }
        if !summary.is_empty() {
            self.delta("thinking_delta", "thinking", &summary, out);
        }
        if let Some(signature) = signature {
            self.delta("signature_delta", "signature", &signature, out);
        }
        self.close(out);
    }

    fn message_done(&mut self, data: &Value, item: &Value, out: &mut String) {
        let active = self.activate(Kind::Text, data, out);
        let text = if active.streamed { String::new() } else { output_text(item) };
        if !text.is_empty() {
            if active.block.is_none() {
                self.open(json!({"type": "text", "text": ""}), out);
            }
            self.delta("text_delta", "text", &text, out);
        }
        self.close(out);
    }

    fn call_done(&mut self, data: &Value, item: &Value, out: &mut String) {
        let active = self.activate(Kind::ToolUse, data, out);
        let streamed = active.streamed;
        if active.block.is_none() {
            self.open(tool_use_block(item, &self.context), out);
        }
        let arguments = item.get("arguments").and_then(Value::as_str).unwrap_or_default();
        if !streamed && !arguments.is_empty() {
            self.delta("input_json_delta", "partial_json", arguments, out);
        }
        self.tool_used |= is_function_call(item);
        self.close(out);
    }

    /// The item being rendered, made the one of `data`'s output item if it was not.
    fn activate(&mut self, kind: Kind, data: &Value, out: &mut String) -> &mut Item {
        let output_index = output_index(data);
        let same = self.active.as_ref().is_some_and(|item| item.kind == kind);
        if !same {
            self.close(out);
        }
        self.active.get_or_insert(Item {
            kind,
            output_index,
            block: None,
            streamed: false,
            summary_index: None,
            signature: None,
        })
    }

    /// The function call being rendered, when its `tool_use` block is open.
    fn open_call(&mut self) -> Option<&mut Item> {
        self.active.as_mut().filter(|item| item.kind == Kind::ToolUse && item.block.is_some())
    }

    /// Opens a block for the active item.
    fn open(&mut self, block: Value, out: &mut String) {
        self.start(&Value::Null, out);
        let index = self.next_block;
        self.next_block += 1;
        if let Some(active) = self.active.as_mut() {
            active.block = Some(index);
        }
        write(
            out,
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
    }

    /// A `content_block_delta` frame `{"type": kind, field: text}` for the open block, written
    /// straight into `out` (a stream sends one per event).
    fn delta(&self, kind: &str, field: &str, text: &str, out: &mut String) {
        if let Some(index) = self.active.as_ref().and_then(|item| item.block) {
            let _ = write!(
                out,
                "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"{kind}\","
            );
            write_json_str(out, field);
            out.push(':');
            write_json_str(out, text);
            out.push_str("}}\n\n");
        }
    }

    /// Ends the active item, closing its block if one is open.
    fn close(&mut self, out: &mut String) {
        if let Some(index) = self.active.take().and_then(|item| item.block) {
            write(out, "content_block_stop", json!({"type": "content_block_stop", "index": index}));
        }
    }
}

fn kind_of(item: &Value) -> Option<Kind> {
    match item.get("type").and_then(Value::as_str)? {
        "reasoning" => Some(Kind::Thinking),
        "message" => Some(Kind::Text),
        "function_call" => Some(Kind::ToolUse),
        _ => None,
    }
}

fn output_index(data: &Value) -> Option<i64> {
    data.get("output_index").and_then(Value::as_i64)
}

fn delta_text(data: &Value) -> Option<&str> {
    data.get("delta").and_then(Value::as_str).filter(|text| !text.is_empty())
}

/// Anthropic's error type for an upstream failure code.
fn error_type(code: Option<&str>) -> &'static str {
    match code {
        Some(code) if code.contains("rate_limit") || code.contains("usage_limit") => "rate_limit_error",
        Some("server_is_overloaded" | "slow_down") => "overloaded_error",
        _ => "api_error",
    }
}

fn write(out: &mut String, event: &str, data: Value) {
    write_named(out, event, &data.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::protocol::tool_names::ToolNames;

    fn context() -> MessagesContext {
        MessagesContext { model: "claude-opus-4-1".into(), tool_names: ToolNames::default() }
    }

    fn event(data: Value) -> UpstreamEvent {
        UpstreamEvent { kind: data["type"].as_str().unwrap().to_string(), data }
    }

    /// Feeds events; returns the frames as (event name, data).
    fn run(stream: &mut MessagesStream, events: Vec<Value>) -> Vec<(String, Value)> {
        let mut out = String::new();
        for data in events {
            stream.on_event(&event(data), &mut out);
        }
        frames(&out)
    }

    fn frames(out: &str) -> Vec<(String, Value)> {
        assert!(out.is_empty() || out.ends_with("\n\n"));
        out.split_terminator("\n\n")
            .map(|frame| {
                let (name, data) = frame.split_once('\n').unwrap();
                let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                let name = name.strip_prefix("event: ").unwrap().to_string();
                assert_eq!(data["type"], name.as_str(), "the event line names the data's type");
                (name, data)
            })
            .collect()
    }

    /// Compact view of the frames: name plus the interesting field.
    fn outline(frames: &[(String, Value)]) -> Vec<String> {
        frames
            .iter()
            .map(|(name, data)| match name.as_str() {
                "content_block_start" => format!("start {} {}", data["index"], data["content_block"]["type"]),
                "content_block_delta" => {
                    let delta = &data["delta"];
                    let text = ["text", "thinking", "partial_json", "signature"]
                        .iter()
                        .find_map(|field| delta[field].as_str())
                        .unwrap();
                    format!("delta {} {} {text}", data["index"], delta["type"].as_str().unwrap())
                }
                "content_block_stop" => format!("stop {}", data["index"]),
                "message_delta" => format!("message_delta {}", data["delta"]["stop_reason"].as_str().unwrap()),
                other => other.to_string(),
            })
            .collect()
    }

    fn created() -> Value {
        json!({"type": "response.created", "response": {"id": "resp_1", "object": "response",
            "created_at": 1767000000, "status": "in_progress", "model": "gpt-5.5", "output": []}})
    }

    fn completed(output: Value) -> Value {
        json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "model": "gpt-5.5",
            "output": output, "usage": {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1024},
            "output_tokens": 85, "output_tokens_details": {"reasoning_tokens": 64}, "total_tokens": 1285}}})
    }

    fn reasoning_events(index: i64, parts: &[&str], signature: &str) -> Vec<Value> {
        let mut events = vec![json!({"type": "response.output_item.added", "output_index": index,
            "item": {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": signature}})];
        for (n, part) in parts.iter().enumerate() {
            events.push(json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_1",
                "output_index": index, "summary_index": n, "part": {"type": "summary_text", "text": ""}}));
            events.push(json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1",
                "output_index": index, "summary_index": n, "delta": part}));
            events.push(json!({"type": "response.reasoning_summary_text.done", "item_id": "rs_1",
                "output_index": index, "summary_index": n, "text": part}));
        }
        let summary: Vec<Value> = parts.iter().map(|p| json!({"type": "summary_text", "text": p})).collect();
        events.push(json!({"type": "response.output_item.done", "output_index": index,
            "item": {"id": "rs_1", "type": "reasoning", "summary": summary, "encrypted_content": signature}}));
        events
    }

    fn text_events(index: i64, deltas: &[&str]) -> Vec<Value> {
        let mut events = vec![
            json!({"type": "response.output_item.added", "output_index": index, "item": {"id": "msg_1",
                "type": "message", "role": "assistant", "status": "in_progress", "content": []}}),
            json!({"type": "response.content_part.added", "item_id": "msg_1", "output_index": index,
                "content_index": 0, "part": {"type": "output_text", "text": ""}}),
        ];
        for delta in deltas {
            events.push(json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": index,
                "content_index": 0, "delta": delta}));
        }
        let text = deltas.concat();
        events.push(json!({"type": "response.output_text.done", "item_id": "msg_1", "output_index": index,
            "content_index": 0, "text": text}));
        events.push(json!({"type": "response.output_item.done", "output_index": index, "item": {"id": "msg_1",
            "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}}));
        events
    }

    fn call_added(index: i64, call_id: &str, name: &str) -> Value {
        json!({"type": "response.output_item.added", "output_index": index, "item": {"id": format!("fc_{index}"),
            "type": "function_call", "call_id": call_id, "name": name, "arguments": "", "status": "in_progress"}})
    }

    fn arguments_delta(index: i64, delta: &str) -> Value {
        json!({"type": "response.function_call_arguments.delta", "item_id": format!("fc_{index}"),
            "output_index": index, "delta": delta})
    }

    fn arguments_done(index: i64, arguments: &str) -> Value {
        json!({"type": "response.function_call_arguments.done", "item_id": format!("fc_{index}"),
            "output_index": index, "arguments": arguments})
    }

    fn call_done(index: i64, call_id: &str, name: &str, arguments: &str) -> Value {
        json!({"type": "response.output_item.done", "output_index": index, "item": {"id": format!("fc_{index}"),
            "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments, "status": "completed"}})
    }

    #[test]
    fn a_reasoned_text_answer_streams_thinking_then_text() {
        let mut stream = MessagesStream::new(context());
        let mut events = vec![created(), json!({"type": "response.in_progress", "response": {"id": "resp_1"}})];
        events.extend(reasoning_events(0, &["Plan", "Check"], "gAAAAABsig"));
        events.extend(text_events(1, &["Hi", " there"]));
        events.push(completed(json!([])));
        let frames = run(&mut stream, events);
        assert_eq!(
            outline(&frames),
            [
                "message_start",
                "start 0 \"thinking\"",
                "delta 0 thinking_delta Plan",
                "delta 0 thinking_delta \n\nCheck",
                "delta 0 signature_delta gAAAAABsig",
                "stop 0",
                "start 1 \"text\"",
                "delta 1 text_delta Hi",
                "delta 1 text_delta  there",
                "stop 1",
                "message_delta end_turn",
                "message_stop",
            ]
        );
        assert_eq!(
            frames[0].1["message"],
            json!({"id": "resp_1", "type": "message", "role": "assistant",
            "model": "claude-opus-4-1", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0}})
        );
        assert_eq!(frames[1].1["content_block"], json!({"type": "thinking", "thinking": ""}));
        assert_eq!(frames[6].1["content_block"], json!({"type": "text", "text": ""}));
        assert_eq!(
            frames[10].1,
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn",
            "stop_sequence": null}, "usage": {"input_tokens": 176, "output_tokens": 85, "cache_read_input_tokens": 1024}})
        );
        assert_eq!(frames.last().unwrap().0, "message_stop");
    }

    #[test]
    fn reasoning_without_summary_gets_a_signature_only_block() {
        let mut stream = MessagesStream::new(context());
        let mut events = vec![created()];
        events.extend(reasoning_events(0, &[], "gAAAAABonly"));
        events.extend(text_events(1, &["ok"]));
        events.push(completed(json!([])));
        let frames = run(&mut stream, events);
        assert_eq!(
            outline(&frames)[1..5],
            ["start 0 \"thinking\"", "delta 0 signature_delta gAAAAABonly", "stop 0", "start 1 \"text\""]
        );
    }

    #[test]
    fn whole_texts_from_done_events_are_sent_when_no_deltas_came() {
        let mut stream = MessagesStream::new(context());
        let events = vec![
            created(),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "reasoning",
                "summary": [{"type": "summary_text", "text": "A"}, {"type": "summary_text", "text": "B"}]}}),
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "message", "content": []}}),
            json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "message",
                "content": [{"type": "output_text", "text": "Hello"}]}}),
            completed(json!([])),
        ];
        assert_eq!(
            outline(&run(&mut stream, events)),
            [
                "message_start",
                "start 0 \"thinking\"",
                "delta 0 thinking_delta A\n\nB",
                "stop 0",
                "start 1 \"text\"",
                "delta 1 text_delta Hello",
                "stop 1",
                "message_delta end_turn",
                "message_stop",
            ]
        );
    }

    #[test]
    fn parallel_tool_calls_never_interleave_their_blocks() {
        let mut stream = MessagesStream::new(context());
        let events = vec![
            created(),
            call_added(0, "call_a", "read"),
            call_added(1, "call_b", "grep"),
            arguments_delta(1, "{\"q\":"),
            arguments_delta(0, "{\"path\":"),
            arguments_delta(1, "\"x\"}"),
            arguments_delta(0, "\"a\"}"),
            arguments_done(1, "{\"q\":\"x\"}"),
            call_done(2, "call_c", "ls", "{\"dir\":\".\"}"),
            arguments_done(0, "{\"path\":\"a\"}"),
            call_done(1, "call_b", "grep", "{\"q\":\"x\"}"),
            call_done(0, "call_a", "read", "{\"path\":\"a\"}"),
            completed(json!([])),
        ];
        let frames = run(&mut stream, events);
        assert_eq!(
            outline(&frames),
            [
                "message_start",
                "start 0 \"tool_use\"",
                "delta 0 input_json_delta {\"path\":",
                "delta 0 input_json_delta \"a\"}",
                "stop 0",
                "start 1 \"tool_use\"",
                "delta 1 input_json_delta {\"q\":",
                "delta 1 input_json_delta \"x\"}",
                "stop 1",
                "start 2 \"tool_use\"",
                "delta 2 input_json_delta {\"dir\":\".\"}",
                "stop 2",
                "message_delta tool_use",
                "message_stop",
            ]
        );
        assert_eq!(
            frames[1].1["content_block"],
            json!({"type": "tool_use", "id": "call_a", "name": "read", "input": {}})
        );
        assert_eq!(frames[5].1["content_block"]["id"], "call_b");
        assert_eq!(frames[9].1["content_block"]["name"], "ls");
    }

    #[test]
    fn arguments_only_in_done_are_sent_as_one_delta() {
        let mut stream = MessagesStream::new(context());
        let events = vec![
            created(),
            call_added(0, "call_1", "get_weather"),
            arguments_done(0, "{\"city\":\"Paris\"}"),
            call_done(0, "call_1", "get_weather", "{\"city\":\"Paris\"}"),
            call_added(1, "call_2", "get_time"),
            call_done(1, "call_2", "get_time", "{}"),
            completed(json!([])),
        ];
        assert_eq!(
            outline(&run(&mut stream, events)),
            [
                "message_start",
                "start 0 \"tool_use\"",
                "delta 0 input_json_delta {\"city\":\"Paris\"}",
                "stop 0",
                "start 1 \"tool_use\"",
                "delta 1 input_json_delta {}",
                "stop 1",
                "message_delta tool_use",
                "message_stop",
            ]
        );
    }

    #[test]
    fn a_stream_ending_mid_item_closes_every_block() {
        let mut stream = MessagesStream::new(context());
        let events = vec![
            call_added(0, "call_a", "read"),
            call_added(1, "call_b", "grep"),
            arguments_delta(1, "{}"),
            json!({"type": "response.incomplete", "response": {"id": "resp_9",
                "incomplete_details": {"reason": "max_output_tokens"}, "usage": {"input_tokens": 5, "output_tokens": 9}}}),
        ];
        let frames = run(&mut stream, events);
        assert_eq!(
            outline(&frames),
            [
                "message_start",
                "start 0 \"tool_use\"",
                "stop 0",
                "start 1 \"tool_use\"",
                "delta 1 input_json_delta {}",
                "stop 1",
                "message_delta max_tokens",
                "message_stop",
            ]
        );
        assert_eq!(frames[6].1["usage"], json!({"input_tokens": 5, "output_tokens": 9, "cache_read_input_tokens": 0}));
    }

    #[test]
    fn stop_reasons_follow_how_the_response_ended() {
        let end = |last: Value| {
            let mut stream = MessagesStream::new(context());
            let mut events = vec![created()];
            events.extend(text_events(0, &["x"]));
            events.push(last);
            let frames = run(&mut stream, events);
            frames.iter().find(|(name, _)| name == "message_delta").unwrap().1["delta"]["stop_reason"].clone()
        };
        let incomplete = |reason: &str| {
            json!({"type": "response.incomplete", "response": {"status": "incomplete",
                "incomplete_details": {"reason": reason}}})
        };
        assert_eq!(end(completed(json!([]))), "end_turn");
        assert_eq!(end(incomplete("max_output_tokens")), "max_tokens");
        assert_eq!(end(incomplete("content_filter")), "refusal");
    }

    #[test]
    fn a_mid_stream_failure_sends_one_error_event() {
        let mut stream = MessagesStream::new(context());
        let mut events = vec![created()];
        events.extend(text_events(0, &["partial"])[..3].to_vec());
        events.push(json!({"type": "response.failed", "response": {"id": "resp_1", "status": "failed",
            "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached. Try again in 2s."}}}));
        events.push(json!({"type": "error", "error": {"code": "server_is_overloaded", "message": "again"}}));
        events.push(completed(json!([])));
        let frames = run(&mut stream, events);
        let errors: Vec<&Value> = frames.iter().filter(|(name, _)| name == "error").map(|(_, data)| data).collect();
        assert_eq!(
            errors,
            [&json!({"type": "error", "error": {"type": "rate_limit_error",
            "message": "Rate limit reached. Try again in 2s."}})]
        );
        assert_eq!(frames.last().unwrap().0, "error");
        let mut out = String::new();
        stream.on_error("api_error", "late", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn failure_codes_map_to_anthropic_error_types() {
        let failure = |code: &str| {
            let mut stream = MessagesStream::new(context());
            let frames = run(&mut stream, vec![created(), json!({"type": "error", "code": code, "message": "m"})]);
            frames[1].1["error"]["type"].clone()
        };
        assert_eq!(failure("usage_limit_reached"), "rate_limit_error");
        assert_eq!(failure("server_is_overloaded"), "overloaded_error");
        assert_eq!(failure("context_length_exceeded"), "api_error");
        let mut stream = MessagesStream::new(context());
        let mut out = String::new();
        stream.on_error("overloaded_error", "busy", &mut out);
        stream.on_error("overloaded_error", "busy", &mut out);
        assert_eq!(frames(&out).len(), 1);
    }

    #[test]
    fn pings_are_named_frames() {
        let mut out = String::new();
        MessagesStream::new(context()).ping(&mut out);
        assert_eq!(out, "event: ping\ndata: {\"type\":\"ping\"}\n\n");
    }
}
