//! `/v1/chat/completions` through the pool: streaming and not, tools, reasoning, usage,
//! structured output and the unsupported-request errors.

use serde_json::{Value, json};

use crate::support::harness::Harness;
use crate::support::mock::Script;

pub fn chat(stream: bool) -> Value {
    json!({"model": "gpt-5.5", "stream": stream, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"}]})
}

/// The JSON payloads of a `data:` stream, up to `[DONE]`.
fn chunks(text: &str) -> (Vec<Value>, bool) {
    let mut done = false;
    let mut chunks = Vec::new();
    for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if line == "[DONE]" {
            done = true;
        } else {
            chunks.push(serde_json::from_str(line).unwrap());
        }
    }
    (chunks, done)
}

#[tokio::test(flavor = "multi_thread")]
async fn non_streaming_chat_gets_a_completion_with_usage_and_reasoning() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::Reasoning { summary: "thinking".into(), text: "Hello".into() }]);
    let answer: Value = h.post("/v1/chat/completions").json(&chat(false)).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "gpt-5.5");
    let message = &answer["choices"][0]["message"];
    assert_eq!((message["content"].as_str(), message["reasoning_content"].as_str()), (Some("Hello"), Some("thinking")));
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(answer["usage"]["prompt_tokens"], 120);
    assert_eq!(answer["usage"]["prompt_tokens_details"]["cached_tokens"], 100);
    let sent = &h.mock.requests()[0].body;
    assert_eq!(sent["input"][0]["role"], "developer", "system prompts go in as developer messages");
    assert_eq!(sent["instructions"], "");
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_chat_sends_chunks_usage_and_done() {
    let h = Harness::start(1, &[]).await;
    let mut body = chat(true);
    body["stream_options"] = json!({"include_usage": true});
    let text = h.post("/v1/chat/completions").json(&body).send().await.unwrap().text().await.unwrap();
    let (chunks, done) = chunks(&text);
    assert!(done, "{text}");
    let content: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, "hello from acct-00000");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "stop"));
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 30);
    let rows = h.log_rows().await;
    assert_eq!((rows[0].path.as_str(), rows[0].status, rows[0].output_tokens), ("/v1/chat/completions", 200, Some(30)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_round_trip_with_parallel_calls() {
    let h = Harness::start(1, &[]).await;
    h.mock.script(
        "acct-00000",
        [Script::Tools(vec![
            ("get_weather".into(), r#"{"city":"Paris"}"#.into()),
            ("get_time".into(), r#"{"tz":"CET"}"#.into()),
        ])],
    );
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}]);
    let mut body = chat(true);
    body["tools"] = tools.clone();
    let text = h.post("/v1/chat/completions").json(&body).send().await.unwrap().text().await.unwrap();
    let (chunks, _) = chunks(&text);
    let mut calls: Vec<(u64, String, String)> = Vec::new();
    for chunk in &chunks {
        for call in chunk["choices"][0]["delta"]["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap();
            if let Some(name) = call["function"]["name"].as_str() {
                calls.push((index, name.to_string(), String::new()));
            }
            if let Some(args) = call["function"]["arguments"].as_str() {
                calls.iter_mut().find(|c| c.0 == index).unwrap().2.push_str(args);
            }
        }
    }
    assert_eq!(
        calls,
        vec![(0, "get_weather".into(), r#"{"city":"Paris"}"#.into()), (1, "get_time".into(), r#"{"tz":"CET"}"#.into())]
    );
    assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));

    // Second turn: the calls and their results go back up as function_call / function_call_output.
    let follow = json!({"model": "gpt-5.5", "tools": tools, "messages": [
        {"role": "user", "content": "weather and time?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_1", "content": "noon"}]});
    let answer: Value = h.post("/v1/chat/completions").json(&follow).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], "hello from acct-00000");
    let input = h.mock.requests()[1].body["input"].as_array().unwrap().clone();
    let kinds: Vec<&str> = input.iter().map(|i| i["type"].as_str().unwrap_or("message")).collect();
    assert_eq!(
        kinds,
        vec!["message", "function_call", "function_call", "function_call_output", "function_call_output"]
    );
    assert_eq!(input[3]["call_id"], "call_0");
    assert_eq!(input[4]["output"], "noon");
}

#[tokio::test(flavor = "multi_thread")]
async fn structured_output_and_unsupported_fields() {
    let h = Harness::start(1, &[]).await;
    let mut body = chat(false);
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true,
        "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}});
    body["reasoning_effort"] = json!("high");
    assert_eq!(h.post("/v1/chat/completions").json(&body).send().await.unwrap().status(), 200);
    let sent = &h.mock.requests()[0].body;
    assert_eq!(sent["text"]["format"]["type"], "json_schema");
    assert_eq!(sent["text"]["format"]["name"], "answer");
    assert_eq!(sent["reasoning"]["effort"], "high");
    assert_eq!(h.log_rows().await[0].reasoning_effort.as_deref(), Some("high"));

    let mut many = chat(false);
    many["n"] = json!(3);
    let r = h.post("/v1/chat/completions").json(&many).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["param"], "n");
    let mut audio = chat(false);
    audio["modalities"] = json!(["text", "audio"]);
    let r = h.post("/v1/chat/completions").json(&audio).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["param"], "modalities");
}

#[tokio::test(flavor = "multi_thread")]
async fn long_tool_names_are_shortened_upstream_and_restored() {
    let h = Harness::start(1, &[]).await;
    let long = format!("mcp__filesystem_server__{}", "read_a_very_long_file_name_tool".repeat(2));
    assert!(long.len() > 64);
    let names = codexmanager::gateway::protocol::tool_names::ToolNames::build([long.as_str()]);
    h.mock.script("acct-00000", [Script::Tools(vec![(names.upstream(&long).to_string(), "{}".into())])]);
    let mut body = chat(false);
    body["tools"] =
        json!([{"type": "function", "function": {"name": long, "parameters": {"type": "object", "properties": {}}}}]);
    let answer: Value = h.post("/v1/chat/completions").json(&body).send().await.unwrap().json().await.unwrap();
    let sent_name = h.mock.requests()[0].body["tools"][0]["name"].as_str().unwrap().to_string();
    assert!(sent_name.len() <= 64, "{sent_name}");
    assert_eq!(sent_name, names.upstream(&long));
    assert_eq!(answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"], long);
}
