//! The Chat translation both ways, on the bodies and events clients and the backend send.

use crate::gateway::protocol::responses::{Aggregator, Outcome};
use crate::gateway::protocol::{RequestError, UpstreamEvent};
use serde_json::{Value, json};

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
    assert!(out.trim_end().ends_with("data: [DONE]"), "the stream did not end with [DONE]: {out}");
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
        event("response.reasoning_summary_part.added", rs(0, json!({"part": {"type": "summary_text", "text": ""}}))),
        event("response.reasoning_summary_text.delta", rs(0, json!({"delta": "Pl"}))),
        event("response.reasoning_summary_text.delta", rs(0, json!({"delta": "an"}))),
        event("response.reasoning_summary_text.done", rs(0, json!({"text": "Plan"}))),
        event("response.reasoning_summary_part.done", rs(0, json!({"part": {"type": "summary_text", "text": "Plan"}}))),
        event("response.reasoning_summary_part.added", rs(1, json!({"part": {"type": "summary_text", "text": ""}}))),
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
    assert_eq!(request.session_hint.as_deref(), Some("u-42"));
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
    assert_eq!(request.session_hint.as_deref(), Some("u-1"));
    let request = translate(with(
        chat(json!([{"role": "user", "content": "hi"}])),
        json!({
        "metadata": {"session_id": "meta-1"}}),
    ));
    assert_eq!(request.session_hint.as_deref(), Some("meta-1"));
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
            chat(json!([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}])),
            "messages.0.content.0.type",
        ),
        (
            with(chat(hi.clone()), json!({"tools": [{"type": "function", "function": {"description": "no name"}}]})),
            "tools.0.function.name",
        ),
        (
            chat(json!([{"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}])),
            "messages.0.tool_calls.0.function.name",
        ),
        (
            with(chat(hi.clone()), json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}})),
            "response_format.json_schema.schema",
        ),
        (with(chat(hi.clone()), json!({"response_format": {"type": "json_schema"}})), "response_format.json_schema"),
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
    let calls: Vec<Value> = deltas(&frames).iter().filter_map(|d| d.get("tool_calls")).map(|c| c[0].clone()).collect();
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
    let calls: Vec<Value> = deltas(&frames).iter().filter_map(|d| d.get("tool_calls")).map(|c| c[0].clone()).collect();
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
                event("response.output_text.delta", json!({"output_index": 0, "content_index": 0, "delta": "Part"})),
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
    assert!(!out.contains("[DONE]"), "not over yet: {out}");
    stream.on_event(
        &event(
            "response.failed",
            json!({"response": {"id": "resp_1", "status": "failed",
            "error": {"code": "server_is_overloaded", "message": "The server is overloaded"}}}),
        ),
        &mut out,
    );
    assert!(out.trim_end().ends_with("data: [DONE]"), "the failure ends the stream: {out}");
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
