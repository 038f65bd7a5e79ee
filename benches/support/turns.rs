//! A long Codex session's next turn: time to the first byte of the answer when the whole
//! conversation goes over HTTP every turn (`POST /v1/responses`), and when only the new
//! items go over the WebSocket with `previous_response_id` (the gateway sends the upstream
//! the whole conversation either way).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::load::percentile;

/// Second-turn time to first byte, both ways.
#[derive(Debug, Clone, Serialize)]
pub struct Turns {
    /// Size of the conversation sent before each new turn.
    pub history_kib: usize,
    pub turns: usize,
    pub http_ttfb_p50_ms: f64,
    pub http_ttfb_p90_ms: f64,
    pub websocket_ttfb_p50_ms: f64,
    pub websocket_ttfb_p90_ms: f64,
}

/// A conversation of about `kib` KiB: user and assistant messages of 4 KiB each.
fn history(kib: usize) -> Vec<Value> {
    let text = "The gateway routes each request to an account that still has quota. ".repeat(60);
    (0..kib.div_ceil(4))
        .map(|n| {
            let (role, kind) = if n % 2 == 0 { ("user", "input_text") } else { ("assistant", "output_text") };
            json!({"type": "message", "role": role, "content": [{"type": kind, "text": text}]})
        })
        .collect()
}

fn turn() -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "answer:small"}]})
}

fn request(input: Vec<Value>) -> Value {
    json!({"model": "gpt-5.5", "instructions": "Answer briefly.", "input": input, "stream": true,
        "prompt_cache_key": "bench-thread"})
}

/// `turns` new turns after a `history_kib` conversation, each way, one at a time.
pub async fn measure(base: &str, key: &str, history_kib: usize, turns: usize) -> Turns {
    let past = history(history_kib);
    let http = reqwest::Client::new();
    let mut http_ttfb = Vec::new();
    for _ in 0..turns {
        let mut input = past.clone();
        input.push(turn());
        let body = request(input).to_string();
        let sent = Instant::now();
        let mut response = http
            .post(format!("{base}/v1/responses"))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(response.status(), 200, "a turn over HTTP failed");
        response.chunk().await.expect("the answer's first bytes");
        http_ttfb.push(sent.elapsed());
        while response.chunk().await.expect("the rest of the answer").is_some() {}
    }

    let url = format!("{}/v1/responses", base.replace("http://", "ws://"));
    let mut handshake = url.into_client_request().expect("a WebSocket address");
    handshake.headers_mut().insert("authorization", format!("Bearer {key}").parse().expect("a header-safe key"));
    let (mut socket, _) = tokio_tungstenite::connect_async(handshake).await.expect("the gateway upgrades");
    let mut frame = request(past).as_object().cloned().unwrap_or_default();
    frame.insert("type".into(), json!("response.create"));
    frame.insert("generate".into(), json!(false));
    socket.send(Message::text(Value::Object(frame).to_string())).await.expect("send the prewarm");
    let mut previous = completed(&mut socket).await;
    let mut socket_ttfb = Vec::new();
    for _ in 0..turns {
        let frame = json!({"type": "response.create", "model": "gpt-5.5", "instructions": "Answer briefly.",
            "stream": true, "prompt_cache_key": "bench-thread", "previous_response_id": previous, "input": [turn()]});
        let sent = Instant::now();
        socket.send(Message::text(frame.to_string())).await.expect("send a turn");
        let first = next_text(&mut socket).await;
        socket_ttfb.push(sent.elapsed());
        assert_ne!(first["type"], "error", "a turn over the WebSocket failed: {first}");
        previous = completed(&mut socket).await;
    }
    http_ttfb.sort();
    socket_ttfb.sort();
    Turns {
        history_kib,
        turns,
        http_ttfb_p50_ms: percentile(&http_ttfb, 0.5),
        http_ttfb_p90_ms: percentile(&http_ttfb, 0.9),
        websocket_ttfb_p50_ms: percentile(&socket_ttfb, 0.5),
        websocket_ttfb_p90_ms: percentile(&socket_ttfb, 0.9),
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_text(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("the gateway answers within 30 s")
            .expect("the socket stays open")
            .expect("a frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("a JSON frame");
        }
    }
}

/// Reads frames up to `response.completed`; its response id.
async fn completed(socket: &mut Socket) -> String {
    loop {
        let frame = next_text(socket).await;
        assert_ne!(frame["type"], "error", "the WebSocket request failed: {frame}");
        if frame["type"] == "response.completed" {
            return frame["response"]["id"].as_str().unwrap_or_default().to_string();
        }
    }
}
