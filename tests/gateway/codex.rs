//! What Codex CLI's built-in provider sends beyond `/responses`: remote compaction under every
//! base, and the headers that travel both ways (turn state, rate limits, identity).

use serde_json::{Value, json};

use crate::responses::body;
use crate::support::harness::Harness;
use crate::support::mock::Script;
use crate::support::tokens;

fn compaction() -> Value {
    json!({"model": "gpt-5.5", "instructions": "be brief", "parallel_tool_calls": true, "tools": [],
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                  {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hello"}]}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_fails_over_before_the_first_byte_and_passes_the_answer_through() {
    let h = Harness::start(2, &[]).await;
    h.mock.script("acct-00000", [Script::Status(500)]);
    let response = h.post("/v1/responses/compact").header("session_id", "thread-1").json(&compaction()).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-codex-primary-used-percent"], "21", "the account's limits come back");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["output"], json!([{"type": "compaction", "encrypted_content": "enc-acct-00001-2"}]));

    let sent: Vec<_> = h.mock.requests().into_iter().filter(|r| r.path == "responses/compact").collect();
    assert_eq!(sent.len(), 2, "one failed attempt, then the next account");
    assert_eq!(sent[1].account.as_deref(), Some("acct-00001"));
    assert_eq!(sent[1].body, compaction(), "the body goes as Codex sent it: no stream, store or include added");
    assert_eq!(sent[1].headers["session_id"], "thread-1");
    assert_eq!(sent[1].headers["accept"], "application/json");

    let rows = h.log_rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!((row.status, row.path.as_str(), row.attempts), (200, "/v1/responses/compact", 2));
    assert_eq!((row.input_tokens, row.output_tokens), (Some(900), Some(40)));
    assert_eq!(row.account_id.as_deref(), Some(h.account_id_for("acct-00001").as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_answers_under_every_base_a_client_may_use() {
    let h = Harness::start(1, &[]).await;
    for path in [
        "/v1/responses/compact",
        "/openai/v1/responses/compact",
        "/openai/responses/compact",
        "/backend-api/codex/responses/compact",
    ] {
        let response = h.post(path).json(&compaction()).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["output"][0]["type"], "compaction", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_refreshes_a_rejected_token_and_stays_on_the_sessions_account() {
    let h = Harness::start(2, &[("CODEXMANAGER_ROUTE_STRATEGY", "balanced")]).await;
    // Round robin: the session's turn lands on one account, and the next request without a
    // session would go to the other one.
    assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
    let turn = h.post("/v1/responses").header("session_id", "thread-7").json(&body(false)).send().await.unwrap();
    assert_eq!(turn.status(), 200);
    let session_account = h.mock.requests().pop().unwrap().account.unwrap();
    let n: usize = session_account.trim_start_matches("acct-").parse().unwrap();
    h.mock.reject_access_token(&tokens(n).1);

    let response = h.post("/v1/responses/compact").header("session_id", "thread-7").json(&compaction()).send().await;
    let answer: Value = response.unwrap().json().await.unwrap();
    assert_eq!(answer["output"][0]["encrypted_content"], format!("enc-{session_account}-2"), "the session's account");
    assert_eq!(h.mock.state.refresh_calls.load(std::sync::atomic::Ordering::SeqCst), 1, "one refresh after the 401");
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_errors_come_back_in_openais_shape() {
    let h = Harness::start(1, &[]).await;
    let response = h.post("/v1/responses/compact").json(&json!({"input": []})).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["param"], "model");
    h.mock.script("acct-00000", [Script::UsageLimit { resets_in: 600 }]);
    let response = h.post("/v1/responses/compact").json(&compaction()).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread")]
async fn turn_state_and_codex_headers_travel_both_ways() {
    let h = Harness::start(1, &[]).await;
    let first = h.post("/v1/responses").json(&body(true)).send().await.unwrap();
    assert_eq!(first.headers()["x-codex-turn-state"], "ts-acct-00000", "the upstream's turn state reaches Codex");
    assert_eq!(first.headers()["openai-model"], "gpt-5.5");
    assert!(first.headers().contains_key("x-codex-secondary-used-percent"));
    first.text().await.unwrap();

    let identity = [
        ("x-codex-turn-state", "ts-acct-00000"),
        ("x-codex-parent-thread-id", "thread-parent"),
        ("x-openai-subagent", "review"),
        ("x-codex-window-id", "thread-1:2"),
        ("x-client-request-id", "thread-1"),
        ("x-codex-turn-metadata", "{\"turn_id\":\"t2\"}"),
        ("x-codex-beta-features", "alpha"),
        ("originator", "codex_exec"),
        ("version", "0.150.0"),
    ];
    let mut second = h.post("/v1/responses").header("session_id", "thread-1");
    for (name, value) in identity {
        second = second.header(name, value);
    }
    let second = second.json(&body(false)).send().await.unwrap();
    assert_eq!(second.headers()["x-codex-turn-state"], "ts-acct-00000", "also on a collected answer");
    let sent = h.mock.requests().pop().unwrap();
    for (name, value) in identity {
        assert_eq!(sent.headers[name], value, "{name} forwarded unchanged");
    }
    assert_eq!(sent.headers["session_id"], "thread-1");
}
