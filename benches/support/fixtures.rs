//! What the benchmark sends: fixture accounts (Codex CLI `auth.json` entries with unsigned
//! tokens that expire in 2096) and the four request scenarios, each as the gateway receives
//! it and as the direct client and nginx send it to the mock.

use std::path::Path;

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

/// One request shape measured at every concurrency.
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
}

impl Scenario {
    pub const ALL: [Scenario; 4] =
        [Scenario::Responses, Scenario::ResponsesStream, Scenario::ChatStream, Scenario::MessagesStream];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Responses => "responses",
            Scenario::ResponsesStream => "responses-stream",
            Scenario::ChatStream => "chat-stream",
            Scenario::MessagesStream => "messages-stream",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scenario::Responses => "`/v1/responses`, non-streaming",
            Scenario::ResponsesStream => "`/v1/responses`, streaming",
            Scenario::ChatStream => "`/v1/chat/completions`, streaming",
            Scenario::MessagesStream => "`/v1/messages`, streaming",
        }
    }

    pub fn gateway_path(self) -> &'static str {
        match self {
            Scenario::Responses | Scenario::ResponsesStream => "/v1/responses",
            Scenario::ChatStream => "/v1/chat/completions",
            Scenario::MessagesStream => "/v1/messages",
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
        }
    }

    /// What ends a complete answer from the gateway.
    pub fn gateway_end(self) -> &'static str {
        match self {
            Scenario::Responses => r#""status":"completed""#,
            Scenario::ResponsesStream => r#""type":"response.completed"}"#,
            Scenario::ChatStream => "data: [DONE]",
            Scenario::MessagesStream => "event: message_stop",
        }
    }

    /// The scenario whose direct and nginx runs are this one's baseline: the mock speaks only
    /// Responses, so translated scenarios compare with the streaming Responses request.
    pub fn baseline(self) -> Scenario {
        match self {
            Scenario::Responses => Scenario::Responses,
            _ => Scenario::ResponsesStream,
        }
    }
}

/// The slow stream the many-streams run holds open (one event per interval).
pub const SLOW_BODY: &str =
    r#"{"model":"gpt-5.5","instructions":"Answer slowly.","input":"answer:slow","stream":true}"#;
pub const SLOW_END: &str = r#""type":"response.completed"}"#;
