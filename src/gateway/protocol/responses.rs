//! The Responses API itself: making a client's body acceptable to the Codex backend, and
//! assembling the final `response` object from a stream for clients that did not stream.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::UpstreamEvent;
use super::fields::Fields;

/// Fields the Codex backend rejects or ignores; removed before forwarding.
const UNSUPPORTED: [&str; 11] = [
    "max_output_tokens",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "previous_response_id",
    "prompt_cache_retention",
    "safety_identifier",
    "stream_options",
    "truncation",
    "background",
];

/// Makes a Responses body valid for the Codex backend: `instructions` present, `stream:true`,
/// `store:false`, unsupported fields removed, encrypted reasoning requested when reasoning is.
pub fn normalize_request(body: &mut impl Fields) {
    if body.text("instructions").is_none() {
        body.set("instructions", Value::String(String::new()));
    }
    body.set("stream", Value::Bool(true));
    body.set("store", Value::Bool(false));
    for field in UNSUPPORTED {
        body.remove(field);
    }
    if let Some(text) = body.text("input") {
        body.set(
            "input",
            json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]),
        );
    }
    if body.value("reasoning").is_some_and(|r| !r.is_null()) {
        let mut include = body.value("include").unwrap_or_else(|| Value::Array(Vec::new()));
        if let Value::Array(items) = &mut include
            && !items.iter().any(|i| i == "reasoning.encrypted_content")
        {
            items.push(Value::String("reasoning.encrypted_content".into()));
            body.set("include", include);
        }
    }
}

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: i64,
    pub cached: i64,
    pub output: i64,
    pub reasoning: i64,
}

impl Usage {
    /// Reads a Responses `usage` object.
    pub fn of(usage: &Value) -> Usage {
        let n = |v: Option<&Value>| v.and_then(Value::as_i64).unwrap_or(0);
        Usage {
            input: n(usage.get("input_tokens")),
            cached: n(usage.pointer("/input_tokens_details/cached_tokens")),
            output: n(usage.get("output_tokens")),
            reasoning: n(usage.pointer("/output_tokens_details/reasoning_tokens")),
        }
    }
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `response.completed`, with `output` rebuilt when the event carried none.
    Completed(Value),
    /// `response.incomplete` (e.g. `max_output_tokens`), with what was produced.
    Incomplete(Value),
    /// `response.failed` or an `error` event.
    Failed { code: Option<String>, message: String },
}

/// Collects a stream into its final `response` object.
#[derive(Debug, Default)]
pub struct Aggregator {
    items: BTreeMap<i64, Value>,
    outcome: Option<Outcome>,
}

impl Aggregator {
    pub fn new() -> Aggregator {
        Aggregator::default()
    }

    pub fn on_event(&mut self, event: &UpstreamEvent) {
        match event.kind.as_str() {
            "response.output_item.done" => {
                let index = event.data.get("output_index").and_then(Value::as_i64).unwrap_or(self.items.len() as i64);
                if let Some(item) = event.data.get("item") {
                    self.items.insert(index, item.clone());
                }
            }
            "response.completed" => {
                let response = self.with_output(event.data.get("response").cloned().unwrap_or_else(|| json!({})));
                self.outcome = Some(Outcome::Completed(response));
            }
            "response.incomplete" => {
                let response = self.with_output(event.data.get("response").cloned().unwrap_or_else(|| json!({})));
                self.outcome = Some(Outcome::Incomplete(response));
            }
            "response.failed" | "error" => self.outcome = Some(failure_of(&event.data)),
            _ => {}
        }
    }

    /// Whether a terminal event has been seen.
    pub fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    /// The outcome; `None` when the stream ended before any terminal event.
    pub fn finish(self) -> Option<Outcome> {
        self.outcome
    }

    fn with_output(&self, mut response: Value) -> Value {
        let empty = response.get("output").and_then(Value::as_array).is_none_or(Vec::is_empty);
        if empty && !self.items.is_empty() {
            response["output"] = Value::Array(self.items.values().cloned().collect());
        }
        response
    }
}

/// The code and message of a `response.failed` or `error` event.
pub fn failure_of(data: &Value) -> Outcome {
    let error = data.pointer("/response/error").or_else(|| data.get("error")).unwrap_or(data);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let code = text(error.get("code")).or_else(|| text(error.get("type")));
    let message = text(error.get("message")).unwrap_or_else(|| "the upstream reported a failure".to_string());
    Outcome::Failed { code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(data: Value) -> UpstreamEvent {
        UpstreamEvent { kind: data["type"].as_str().unwrap().to_string(), data }
    }

    #[test]
    fn codex_cli_bodies_become_valid_upstream_bodies() {
        let mut body = json!({"model": "gpt-5.5", "input": "hi", "max_output_tokens": 5, "temperature": 0.2,
            "store": true, "reasoning": {"effort": "high"}})
        .as_object()
        .cloned()
        .unwrap();
        normalize_request(&mut body);
        assert_eq!(body["instructions"], "");
        assert_eq!((body["stream"].clone(), body["store"].clone()), (json!(true), json!(false)));
        assert!(!body.contains_key("max_output_tokens") && !body.contains_key("temperature"));
        assert_eq!(body["input"][0]["content"][0]["text"], "hi");
        assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    }

    #[test]
    fn output_is_rebuilt_from_items_when_completed_carries_none() {
        let mut agg = Aggregator::new();
        agg.on_event(&event(json!({"type": "response.output_item.done", "output_index": 1,
            "item": {"type": "message", "content": [{"type": "output_text", "text": "B"}]}})));
        agg.on_event(&event(json!({"type": "response.output_item.done", "output_index": 0,
            "item": {"type": "reasoning", "summary": []}})));
        agg.on_event(&event(json!({"type": "response.completed", "response": {"id": "r", "output": [],
            "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 3,
            "output_tokens_details": {"reasoning_tokens": 1}}}})));
        let Some(Outcome::Completed(response)) = agg.finish() else { panic!("not completed") };
        assert_eq!(response["output"][0]["type"], "reasoning");
        assert_eq!(response["output"][1]["content"][0]["text"], "B");
        assert_eq!(Usage::of(&response["usage"]), Usage { input: 10, cached: 4, output: 3, reasoning: 1 });
    }

    #[test]
    fn failures_carry_code_and_message() {
        let mut agg = Aggregator::new();
        agg.on_event(&event(json!({"type": "response.failed", "response": {"error":
            {"code": "rate_limit_exceeded", "message": "slow down"}}})));
        assert_eq!(
            agg.finish(),
            Some(Outcome::Failed { code: Some("rate_limit_exceeded".into()), message: "slow down".into() })
        );
    }
}
