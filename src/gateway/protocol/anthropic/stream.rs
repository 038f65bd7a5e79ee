//! Upstream Responses SSE events → Anthropic Messages SSE frames.
//!
//! Frames: `message_start`, then per output item one content block (`content_block_start`,
//! deltas, `content_block_stop`, `index` counting blocks), then `message_delta` and
//! `message_stop`. Anthropic clients accept only one open block at a time, so while one item's
//! block is open, events of other items (parallel tool calls) wait in order and are replayed
//! once it closes.

use serde_json::{Value, json};

use super::MessagesContext;
use super::message::{FALLBACK_ID, is_function_call, output_text, stop_reason, summary_text, tool_use_block, usage_of};
use crate::gateway::protocol::UpstreamEvent;
use crate::gateway::protocol::responses::{Outcome, failure_of};
use crate::gateway::sse::write_named;

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

    /// Whether `message_stop` or an error was sent.
    pub fn is_finished(&self) -> bool {
        self.finished
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
        self.delta(json!({"type": "thinking_delta", "thinking": text}), out);
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
        self.delta(json!({"type": "text_delta", "text": text}), out);
    }

    /// Argument deltas stream into an open `tool_use` block; a call whose block could not be
    /// opened yet (no `output_item.added`) gets its arguments whole at `output_item.done`.
    fn arguments_delta(&mut self, data: &Value, out: &mut String) {
        let Some(json) = delta_text(data) else {
            return;
        };
        if let Some(active) = self.open_call() {
            active.streamed = true;
            self.delta(json!({"type": "input_json_delta", "partial_json": json}), out);
        }
    }

    fn arguments_done(&mut self, data: &Value, out: &mut String) {
        let arguments = data.get("arguments").and_then(Value::as_str).unwrap_or_default();
        if let Some(active) = self.open_call().filter(|active| !active.streamed) {
            active.streamed = true;
            if !arguments.is_empty() {
                self.delta(json!({"type": "input_json_delta", "partial_json": arguments}), out);
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
            self.delta(json!({"type": "thinking_delta", "thinking": summary}), out);
        }
        if let Some(signature) = signature {
            self.delta(json!({"type": "signature_delta", "signature": signature}), out);
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
            self.delta(json!({"type": "text_delta", "text": text}), out);
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
            self.delta(json!({"type": "input_json_delta", "partial_json": arguments}), out);
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

    /// A delta for the active item's open block.
    fn delta(&self, delta: Value, out: &mut String) {
        if let Some(index) = self.active.as_ref().and_then(|item| item.block) {
            write(out, "content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": delta}));
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
