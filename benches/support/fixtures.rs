//! What the benchmark sends: fixture accounts (Codex CLI `auth.json` entries with unsigned
//! tokens that expire in 2096) and the request scenarios, each as the gateway receives it and
//! as the direct client and nginx send it to the mock: small requests, and requests shaped
//! like a late Codex turn (instructions, a dozen tools with schemas, a history of messages,
//! tool calls and tool outputs) of about 256 KiB and 2 MiB.

use std::path::Path;
use std::sync::LazyLock;

use base64::Engine;
use serde_json::{Value, json};

/// An unsigned JWT carrying `payload`.
fn jwt(payload: &Value) -> String {
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.sig", encode(&json!({"alg": "none", "typ": "JWT"})), encode(payload))
}

/// The `auth.json` of fixture account `n`.
pub fn account(n: usize) -> Value {
    let auth = json!({"chatgpt_account_id": format!("acct-{n:05}"), "chatgpt_user_id": format!("user-{n:05}"),
        "chatgpt_plan_type": "pro"});
    let email = format!("user{n}@example.com");
    let id_token = jwt(&json!({"email": email, "sub": format!("sub-{n}"), "https://api.openai.com/auth": auth}));
    let access = jwt(&json!({"exp": 4_000_000_000i64, "https://api.openai.com/auth": auth,
        "https://api.openai.com/profile": {"email": email}}));
    json!({"tokens": {"id_token": id_token, "access_token": access,
        "refresh_token": format!("rt_bench_{n:05}"), "account_id": format!("acct-{n:05}")}})
}

/// Writes `count` fixture accounts to `path` as one JSON array.
pub fn write_accounts(path: &Path, count: usize) {
    let accounts: Vec<Value> = (0..count).map(account).collect();
    std::fs::write(path, serde_json::to_vec(&accounts).expect("serialize fixtures")).expect("write the fixture file");
}

/// The mock's route, as the direct client and nginx call it.
pub const UPSTREAM_PATH: &str = "/backend-api/codex/responses";

/// One request shape measured at every concurrency (the large ones up to 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `/v1/responses` without streaming, a one-sentence answer.
    Responses,
    /// `/v1/responses` streaming ≈100 events, passed through.
    ResponsesStream,
    /// `/v1/chat/completions` streaming, every event translated.
    ChatStream,
    /// `/v1/messages` streaming, every event translated.
    MessagesStream,
    /// `/v1/responses` streaming, a Codex-shaped request of about 256 KiB.
    ResponsesLarge,
    /// The same of about 2 MiB.
    ResponsesHuge,
    /// `/v1/chat/completions` streaming, a request of about 256 KiB.
    ChatLarge,
    /// `/v1/messages` streaming, a request of about 256 KiB.
    MessagesLarge,
}

/// The most concurrent requests a large scenario is run at.
pub const LARGE_MAX_LEVEL: usize = 16;

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::Responses,
        Scenario::ResponsesStream,
        Scenario::ChatStream,
        Scenario::MessagesStream,
        Scenario::ResponsesLarge,
        Scenario::ResponsesHuge,
        Scenario::ChatLarge,
        Scenario::MessagesLarge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Responses => "responses",
            Scenario::ResponsesStream => "responses-stream",
            Scenario::ChatStream => "chat-stream",
            Scenario::MessagesStream => "messages-stream",
            Scenario::ResponsesLarge => "responses-256k",
            Scenario::ResponsesHuge => "responses-2m",
            Scenario::ChatLarge => "chat-256k",
            Scenario::MessagesLarge => "messages-256k",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scenario::Responses => "`/v1/responses`, non-streaming",
            Scenario::ResponsesStream => "`/v1/responses`, streaming",
            Scenario::ChatStream => "`/v1/chat/completions`, streaming",
            Scenario::MessagesStream => "`/v1/messages`, streaming",
            Scenario::ResponsesLarge => "`/v1/responses`, 256 KiB Codex turn",
            Scenario::ResponsesHuge => "`/v1/responses`, 2 MiB Codex turn",
            Scenario::ChatLarge => "`/v1/chat/completions`, 256 KiB",
            Scenario::MessagesLarge => "`/v1/messages`, 256 KiB",
        }
    }

    /// Whether the request is one of the large ones (run at low concurrency only).
    pub fn is_large(self) -> bool {
        matches!(
            self,
            Scenario::ResponsesLarge | Scenario::ResponsesHuge | Scenario::ChatLarge | Scenario::MessagesLarge
        )
    }

    pub fn gateway_path(self) -> &'static str {
        match self {
            Scenario::Responses | Scenario::ResponsesStream | Scenario::ResponsesLarge | Scenario::ResponsesHuge => {
                "/v1/responses"
            }
            Scenario::ChatStream | Scenario::ChatLarge => "/v1/chat/completions",
            Scenario::MessagesStream | Scenario::MessagesLarge => "/v1/messages",
        }
    }

    /// The client's request to the gateway.
    pub fn gateway_body(self) -> &'static str {
        match self {
            Scenario::Responses => {
                r#"{"model":"gpt-5.5","instructions":"Answer briefly.","input":"answer:small","stream":false}"#
            }
            Scenario::ResponsesStream => {
                r#"{"model":"gpt-5.5","instructions":"Answer briefly.","input":"answer:long","stream":true}"#
            }
            Scenario::ChatStream => {
                r#"{"model":"gpt-5.5","messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"answer:long"}],"stream":true}"#
            }
            Scenario::MessagesStream => {
                r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Answer briefly.","messages":[{"role":"user","content":"answer:long"}],"stream":true}"#
            }
            Scenario::ResponsesLarge => &CODEX_256K,
            Scenario::ResponsesHuge => &CODEX_2M,
            Scenario::ChatLarge => &CHAT_256K,
            Scenario::MessagesLarge => &MESSAGES_256K,
        }
    }

    /// What ends a complete answer from the gateway.
    pub fn gateway_end(self) -> &'static str {
        match self {
            Scenario::Responses => r#""status":"completed""#,
            Scenario::ResponsesStream | Scenario::ResponsesLarge | Scenario::ResponsesHuge => {
                r#""type":"response.completed"}"#
            }
            Scenario::ChatStream | Scenario::ChatLarge => "data: [DONE]",
            Scenario::MessagesStream | Scenario::MessagesLarge => "event: message_stop",
        }
    }

    /// The scenario whose direct and nginx runs are this one's baseline: the mock speaks only
    /// Responses, so translated scenarios compare with the streaming Responses request of
    /// their size.
    pub fn baseline(self) -> Scenario {
        match self {
            Scenario::Responses => Scenario::Responses,
            Scenario::ResponsesLarge | Scenario::ChatLarge | Scenario::MessagesLarge => Scenario::ResponsesLarge,
            Scenario::ResponsesHuge => Scenario::ResponsesHuge,
            _ => Scenario::ResponsesStream,
        }
    }
}

/// About 4 KiB of prose, the unit the large requests are made of.
fn prose(n: usize) -> String {
    format!("Step {n}: the gateway routes each request to an account that still has quota, refreshes tokens before they expire and passes the stream through as it arrives. ").repeat(24)
}

/// A dozen tools with JSON schemas, as Codex declares its own.
fn tool_schemas() -> Vec<Value> {
    (0..12)
        .map(|n| {
            json!({"type": "function", "name": format!("tool_{n}"), "description": prose(n)[..400].to_string(),
                "strict": false, "parameters": {"type": "object", "required": ["command"], "properties": {
                    "command": {"type": "array", "items": {"type": "string"}, "description": "The command to run."},
                    "workdir": {"type": "string", "description": "The working directory."},
                    "timeout_ms": {"type": "number", "description": "How long it may take."}}}})
        })
        .collect()
}

/// A Codex `/v1/responses` turn of about `kib` KiB, streaming.
fn codex_turn(kib: usize) -> String {
    let mut input = Vec::new();
    let mut n = 0;
    while serde_json::to_vec(&input).map_or(0, |v| v.len()) < kib * 1024 {
        input.push(json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": prose(n)}]}));
        input.push(json!({"type": "function_call", "name": "tool_0", "call_id": format!("call_{n}"),
            "arguments": json!({"command": ["rg", "-n", format!("pattern{n}")]}).to_string()}));
        input.push(json!({"type": "function_call_output", "call_id": format!("call_{n}"), "output": prose(n + 1)}));
        input.push(
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": prose(n + 2)}]}),
        );
        n += 4;
    }
    input.push(json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "answer:long"}]}));
    json!({"model": "gpt-5.5", "instructions": prose(9_999).repeat(3), "input": input, "tools": tool_schemas(),
        "tool_choice": "auto", "parallel_tool_calls": true, "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false, "stream": true, "include": ["reasoning.encrypted_content"], "prompt_cache_key": "bench-thread"})
    .to_string()
}

/// A Chat Completions request of about `kib` KiB: history with tool calls and their results.
fn chat_turn(kib: usize) -> String {
    let mut messages = vec![json!({"role": "system", "content": prose(9_999)})];
    let mut n = 0;
    while serde_json::to_vec(&messages).map_or(0, |v| v.len()) < kib * 1024 {
        messages.push(json!({"role": "user", "content": prose(n)}));
        messages.push(
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("call_{n}"), "type": "function",
            "function": {"name": "tool_0", "arguments": json!({"command": ["ls"]}).to_string()}}]}),
        );
        messages.push(json!({"role": "tool", "tool_call_id": format!("call_{n}"), "content": prose(n + 1)}));
        n += 2;
    }
    messages.push(json!({"role": "user", "content": "answer:long"}));
    let tools: Vec<Value> = tool_schemas()
        .into_iter()
        .map(|t| json!({"type": "function", "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]}}))
        .collect();
    json!({"model": "gpt-5.5", "messages": messages, "tools": tools, "stream": true}).to_string()
}

/// A Messages request of about `kib` KiB: history with tool use and results.
fn messages_turn(kib: usize) -> String {
    let mut messages = Vec::new();
    let mut n = 0;
    while serde_json::to_vec(&messages).map_or(0, |v| v.len()) < kib * 1024 {
        messages.push(json!({"role": "user", "content": prose(n)}));
        messages.push(
            json!({"role": "assistant", "content": [{"type": "tool_use", "id": format!("toolu_{n}"), "name": "tool_0",
            "input": {"command": ["ls"]}}]}),
        );
        messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("toolu_{n}"),
            "content": prose(n + 1)}]}));
        n += 2;
    }
    messages.push(json!({"role": "user", "content": "answer:long"}));
    let tools: Vec<Value> = tool_schemas()
        .into_iter()
        .map(|t| json!({"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}))
        .collect();
    json!({"model": "claude-sonnet-4-5", "max_tokens": 4096, "system": prose(9_999), "messages": messages,
        "tools": tools, "stream": true})
    .to_string()
}

static CODEX_256K: LazyLock<String> = LazyLock::new(|| codex_turn(256));
static CODEX_2M: LazyLock<String> = LazyLock::new(|| codex_turn(2048));
static CHAT_256K: LazyLock<String> = LazyLock::new(|| chat_turn(256));
static MESSAGES_256K: LazyLock<String> = LazyLock::new(|| messages_turn(256));

/// The slow stream the many-streams run holds open (one event per interval).
pub const SLOW_BODY: &str =
    r#"{"model":"gpt-5.5","instructions":"Answer slowly.","input":"answer:slow","stream":true}"#;
pub const SLOW_END: &str = r#""type":"response.completed"}"#;
