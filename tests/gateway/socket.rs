//! `/v1/responses` over WebSocket, as Codex CLI's built-in provider uses it: prewarm, turns
//! continued with `previous_response_id` and only the new input, one account per socket,
//! failover before the first event, errors as frames, 426 for what only HTTP serves.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::harness::Harness;
use crate::support::mock::Script;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(h: &Harness, key: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = format!("{}/v1/responses", h.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("authorization", format!("Bearer {key}").parse().unwrap());
    headers.insert("openai-beta", "responses_websockets=2026-02-06".parse().unwrap());
    headers.insert("session_id", "thread-ws".parse().unwrap());
    headers.insert("x-codex-window-id", "thread-ws:0".parse().unwrap());
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

fn create(extra: Value) -> Message {
    let mut frame = json!({"type": "response.create", "model": "gpt-5.5", "instructions": "", "stream": true,
        "store": false, "tools": [], "tool_choice": "auto", "parallel_tool_calls": true, "prompt_cache_key": "thread-ws"});
    for (key, value) in extra.as_object().unwrap() {
        frame[key] = value.clone();
    }
    Message::text(frame.to_string())
}

/// Frames until one of type `last` (or an `error`), as JSON.
async fn frames_until(socket: &mut Socket, last: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Some(message) = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await.unwrap() {
        let Message::Text(text) = message.unwrap() else { continue };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap();
        let kind = frame["type"].as_str().unwrap().to_string();
        frames.push(frame);
        if kind == last || kind == "error" {
            return frames;
        }
    }
    panic!("the socket closed before {last}: {frames:?}");
}

fn completed_id(frames: &[Value]) -> String {
    frames.last().unwrap()["response"]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn turns_over_one_socket_continue_with_previous_response_id_on_one_account() {
    let h = Harness::start(2, &[("CODEXMANAGER_ROUTE_STRATEGY", "balanced")]).await;
    let mut socket = connect(&h, &h.key).await.unwrap();

    socket.send(create(json!({"input": [user("hi")], "generate": false}))).await.unwrap();
    let warm = frames_until(&mut socket, "response.completed").await;
    assert_eq!(warm.iter().map(|f| f["type"].clone()).collect::<Vec<_>>(), ["response.created", "response.completed"]);
    assert!(h.mock.requests().is_empty(), "a prewarm asks no account");

    socket.send(create(json!({"previous_response_id": completed_id(&warm), "input": []}))).await.unwrap();
    let first = frames_until(&mut socket, "response.completed").await;
    assert_eq!(first[0]["type"], "codex.rate_limits", "the account's limits come first: {}", first[0]);
    assert_eq!(first[0]["rate_limits"]["primary"]["window_minutes"], 300);
    let text: String = first
        .iter()
        .filter(|f| f["type"] == "response.output_text.delta")
        .map(|f| f["delta"].as_str().unwrap())
        .collect();
    assert!(text.starts_with("hello from acct-0000"), "{text}");

    let metadata = json!({"x-codex-installation-id": "inst-1", "x-codex-window-id": "thread-ws:1",
        "x-codex-turn-metadata": "{\"turn_id\":\"t2\"}", "ws_request_header_traceparent": "00-abc-def-01"});
    let next =
        json!({"previous_response_id": completed_id(&first), "input": [user("more")], "client_metadata": metadata});
    socket.send(create(next)).await.unwrap();
    frames_until(&mut socket, "response.completed").await;

    let sent = h.mock.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body["input"], json!([user("hi")]), "the prewarm's input, made whole");
    let second_input = sent[1].body["input"].as_array().unwrap();
    assert_eq!(second_input.len(), 3, "history, the answer, the new turn: {second_input:?}");
    assert_eq!((second_input[0].clone(), second_input[2].clone()), (user("hi"), user("more")));
    assert_eq!(second_input[1]["role"], "assistant");
    assert!(sent.iter().all(|r| r.body.get("previous_response_id").is_none() && r.body.get("type").is_none()));
    assert_eq!(sent[0].account, sent[1].account, "a socket's requests stay on one account");
    assert_eq!(sent[0].headers["x-codex-window-id"], "thread-ws:0", "the handshake's headers travel on");
    assert_eq!(sent[1].headers["x-codex-window-id"], "thread-ws:1", "a request's own metadata wins");
    assert_eq!(sent[1].headers["x-codex-turn-metadata"], "{\"turn_id\":\"t2\"}");
    assert_eq!(sent[1].body["client_metadata"], json!({"x-codex-installation-id": "inst-1"}));

    let rows = h.log_rows().await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.status == 200 && r.path == "/v1/responses (websocket)" && r.input_tokens.is_some()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_request_fails_over_before_its_first_event() {
    let h = Harness::start(2, &[]).await;
    h.mock.script("acct-00000", [Script::Status(500)]);
    let mut socket = connect(&h, &h.key).await.unwrap();
    socket.send(create(json!({"input": [user("hi")]}))).await.unwrap();
    let frames = frames_until(&mut socket, "response.completed").await;
    assert!(frames.iter().all(|f| f["type"] != "error" && f["type"] != "response.failed"), "{frames:?}");
    let accounts: Vec<_> = h.mock.requests().into_iter().map(|r| r.account.unwrap()).collect();
    assert_eq!(accounts, ["acct-00000", "acct-00001"]);
    assert_eq!(h.log_rows().await[0].attempts, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_errors_are_frames_and_http_only_keys_get_426() {
    let h = Harness::start(1, &[]).await;
    let mut socket = connect(&h, &h.key).await.unwrap();
    socket.send(create(json!({"previous_response_id": "resp_elsewhere", "input": []}))).await.unwrap();
    let frames = frames_until(&mut socket, "response.completed").await;
    assert_eq!(frames[0]["type"], "error");
    assert_eq!(frames[0]["status"], 400);
    assert_eq!(frames[0]["error"]["code"], "previous_response_not_found");
    h.mock.script("acct-00000", [Script::UsageLimit { resets_in: 600 }]);
    socket.send(create(json!({"input": [user("hi")]}))).await.unwrap();
    let limited = frames_until(&mut socket, "response.completed").await;
    assert_eq!((limited[0]["type"].clone(), limited[0]["status"].clone()), (json!("error"), json!(429)));
    assert!(limited[0]["headers"]["retry-after"].is_string(), "{}", limited[0]);

    let azure = h.azure_key().await;
    match connect(&h, &azure.key).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 426),
        other => panic!("expected 426, got {:?}", other.map(|_| "a socket")),
    }
    match connect(&h, "cm-wrong").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| "a socket")),
    }
    let plain = h.get("/v1/responses").send().await.unwrap();
    assert_eq!(plain.status(), 405);
}
