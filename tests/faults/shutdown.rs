//! Stopping `serve` while streams run longer than the grace period: every client gets the end
//! its protocol defines (an error event, `[DONE]`, a 503), and every request is logged.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::mock::{Mock, Script};
use crate::support::serve::Served;
use crate::support::{TestHome, auth_json};

/// A data folder with account 0 and a key, and a `serve` on it in front of `mock`.
pub fn serve_one_account(home: &TestHome, mock: &Mock, env: &[(&str, &str)]) -> (Served, String) {
    let file = home.write("account.json", &auth_json(0).to_string());
    home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    let key = home.run_json(&["key", "create", "--name", "test", "--json"])["key"].as_str().unwrap().to_string();
    let upstream = mock.upstream();
    let mut vars = vec![
        ("CODEXMANAGER_UPSTREAM_BASE_URL", upstream.as_str()),
        ("CODEXMANAGER_ISSUER", mock.base.as_str()),
        ("CODEXMANAGER_USAGE_BASE_URL", mock.base.as_str()),
    ];
    vars.extend_from_slice(env);
    (Served::start(home, &vars), key)
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_end_of_the_grace_period_every_request_ends_in_its_protocol_and_is_logged() {
    let mock = Mock::start().await;
    mock.script_always("acct-00000", Script::Slow { deltas: 200, interval_ms: 100 });
    let home = TestHome::new();
    let (served, key) = serve_one_account(&home, &mock, &[("CODEXMANAGER_SHUTDOWN_GRACE_SECS", "1")]);
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| http.post(format!("{}{path}", served.base)).bearer_auth(&key).json(&body);

    let mut responses_stream = post("/v1/responses", crate::responses(true)).send().await.unwrap().bytes_stream();
    let mut chat_stream = post("/v1/chat/completions", crate::chat(true)).send().await.unwrap().bytes_stream();
    let mut head = responses_stream.next().await.unwrap().unwrap().to_vec();
    let mut chat_head = chat_stream.next().await.unwrap().unwrap().to_vec();
    let collected = tokio::spawn(post("/v1/chat/completions", crate::chat(false)).send());
    while mock.requests().len() < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let exited = tokio::task::spawn_blocking(move || served.terminate());
    while let Some(chunk) = responses_stream.next().await {
        head.extend_from_slice(&chunk.unwrap());
    }
    while let Some(chunk) = chat_stream.next().await {
        chat_head.extend_from_slice(&chunk.unwrap());
    }
    let responses_text = String::from_utf8(head).unwrap();
    let last: Value = serde_json::from_str(crate::data_lines(&responses_text).last().unwrap()).unwrap();
    assert_eq!(last["type"], "response.failed", "{responses_text}");
    assert_eq!(last["response"]["error"]["code"], "shutting_down");
    let chat_text = String::from_utf8(chat_head).unwrap();
    let chat_lines = crate::data_lines(&chat_text);
    assert_eq!(chat_lines.last(), Some(&"[DONE]"), "{chat_text}");
    assert!(chat_lines[chat_lines.len() - 2].contains("shutting down"), "{chat_text}");
    let collected = collected.await.unwrap().unwrap();
    assert_eq!(collected.status(), 503);
    let error: Value = collected.json().await.unwrap();
    assert_eq!(error["error"]["code"], json!("shutting_down"));

    let (status, log) = exited.await.unwrap();
    assert!(status.success(), "{log}");
    let conn = rusqlite::Connection::open(home.db()).unwrap();
    let mut rows: Vec<(i64, String)> = conn
        .prepare("SELECT status, error FROM request_logs ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [502, 502, 503], "{rows:?}");
    assert!(rows.iter().all(|(_, error)| error.contains("shutting down")), "{rows:?}");
}
