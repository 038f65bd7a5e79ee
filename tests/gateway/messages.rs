//! `/v1/messages` (Anthropic) through the pool, `count_tokens`, and the model mapping.

use serde_json::{Value, json};

use crate::support::harness::Harness;
use crate::support::mock::Script;

fn messages(stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": stream,
        "system": "be brief", "messages": [{"role": "user", "content": "hi"}]})
}

/// (event name, data) pairs of an Anthropic stream.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let name = frame.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_default().to_string();
            let data = frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(|d| serde_json::from_str(d).unwrap())
                .unwrap_or(Value::Null);
            (name, data)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_model_names_map_and_the_stream_has_anthropic_events_in_order() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::Reasoning { summary: "plan".into(), text: "Hi".into() }]);
    let response = h
        .http
        .post(format!("{}/v1/messages", h.base))
        .header("x-api-key", &h.key)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "tools-2024-04-04")
        .json(&messages(true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = events(&response.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "{events:?}"
    );
    assert_eq!(events[0].1["message"]["model"], "claude-sonnet-4-5", "the client's model name is echoed");
    assert_eq!(events[1].1["content_block"]["type"], "thinking");
    assert_eq!(events[3].1["delta"]["type"], "signature_delta");
    assert_eq!(events[9].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(events[9].1["usage"]["cache_read_input_tokens"], 100);
    assert_eq!(events[9].1["usage"]["input_tokens"], 20);
    assert_eq!(h.mock.requests()[0].body["model"], "gpt-5.5", "claude-sonnet-* maps to gpt-5.5 by default");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_conversation_with_a_thinking_block_replayed() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::Tools(vec![("lookup".into(), r#"{"q":"rust"}"#.into())])]);
    let tools = json!([{"name": "lookup", "description": "search", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]);
    let mut first = messages(false);
    first["tools"] = tools.clone();
    let answer: Value = h.post("/v1/messages").json(&first).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["stop_reason"], "tool_use");
    let tool_use = answer["content"].as_array().unwrap().iter().find(|b| b["type"] == "tool_use").unwrap().clone();
    assert_eq!(tool_use["input"], json!({"q": "rust"}));

    let follow = json!({"model": "claude-opus-4-1", "max_tokens": 512, "tools": tools, "messages": [
        {"role": "user", "content": "find rust"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should search", "signature": "gAAAAmockencrypted"},
            {"type": "tool_use", "id": tool_use["id"], "name": "lookup", "input": {"q": "rust"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "found it"}]}]});
    let answer: Value = h.post("/v1/messages").json(&follow).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["content"][0]["text"], "hello from acct-00000");
    let input = h.mock.requests()[1].body["input"].as_array().unwrap().clone();
    let kinds: Vec<&str> = input.iter().map(|i| i["type"].as_str().unwrap_or("message")).collect();
    assert!(
        kinds.contains(&"reasoning") && kinds.contains(&"function_call") && kinds.contains(&"function_call_output"),
        "{kinds:?}"
    );
    let reasoning = input.iter().find(|i| i["type"] == "reasoning").unwrap();
    assert_eq!(reasoning["encrypted_content"], "gAAAAmockencrypted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_before_the_stream_starts_fails_over_and_a_cut_gives_an_error_event() {
    let h = Harness::start(2, &[]).await;
    h.mock.script("acct-00000", [Script::UsageLimit { resets_in: 300 }]);
    let text = h.post("/v1/messages").json(&messages(true)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("hello from acct-00001") || text.contains("\"text\":\"h\""), "{text}");
    assert!(!text.contains("event: error"));

    h.mock.script("acct-00001", [Script::CutAfterDeltas(2)]);
    let text = h.post("/v1/messages").json(&messages(true)).send().await.unwrap().text().await.unwrap();
    let events = events(&text);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error", "{text}");
    assert_eq!(data["type"], "error");
    assert!(data["error"]["message"].as_str().unwrap().contains("upstream"));
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_come_in_anthropic_shape_and_count_tokens_is_local() {
    let h = Harness::start(1, &[]).await;
    let r = h.http.post(format!("{}/v1/messages", h.base)).json(&messages(false)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["type"].as_str(), body["error"]["type"].as_str()), (Some("error"), Some("authentication_error")));
    let r = h.post("/v1/messages").json(&json!({"model": "claude-x", "max_tokens": 5})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["type"], "invalid_request_error");

    let small: Value =
        h.post("/v1/messages/count_tokens").json(&messages(false)).send().await.unwrap().json().await.unwrap();
    let mut bigger = messages(false);
    bigger["messages"][0]["content"] = json!("word ".repeat(400));
    let big: Value = h.post("/v1/messages/count_tokens").json(&bigger).send().await.unwrap().json().await.unwrap();
    assert!(big["input_tokens"].as_u64().unwrap() > small["input_tokens"].as_u64().unwrap() + 300);
    assert!(h.mock.requests().is_empty(), "count_tokens never reaches the upstream");
}
