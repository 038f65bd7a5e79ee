//! Upstreams that misbehave inside or instead of a stream: an event cut in two by a long
//! pause, a line that never ends, a web page or a gzip-encoded body where events belong, an
//! upstream that never answers, and an account that keeps failing.

use serde_json::Value;

use crate::support::harness::Harness;
use crate::support::mock::Script;

#[tokio::test(flavor = "multi_thread")]
async fn a_keep_alive_never_lands_inside_an_event_the_upstream_paused_in() {
    let h = Harness::start(1, &[("CODEXMANAGER_STREAM_KEEPALIVE_SECS", "1")]).await;
    h.mock.script("acct-00000", [Script::StallMidEvent { millis: 2_500, text: "whole".into() }]);
    let body = h.post("/v1/responses").json(&crate::responses(true)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains(": keep-alive"), "the pause was long enough for a keep-alive:\n{body}");
    let mut text = String::new();
    for data in crate::data_lines(&body) {
        let event: Value =
            serde_json::from_str(data).unwrap_or_else(|e| panic!("an event reached the client broken ({e}): {data}"));
        if event["type"] == "response.output_text.delta" {
            text.push_str(event["delta"].as_str().unwrap());
        }
    }
    assert_eq!(text, "whole", "no delta was lost");
    for frame in body.split("\n\n").filter(|f| !f.trim().is_empty()) {
        assert!(
            frame.starts_with(": keep-alive") || frame.starts_with("event: "),
            "a frame is not a whole event: {frame:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_that_never_ends_fails_that_account_cleanly_and_the_next_answers() {
    let h = Harness::start(2, &[]).await;
    h.mock.script("acct-00000", [Script::EndlessLine { bytes: 24 * 1024 * 1024 }]);
    let response = h.post("/v1/responses").json(&crate::responses(false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("hello from acct-00001"));
    assert!(h.trace().await.contains("code=event_too_large"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_page_instead_of_events_is_called_what_it_is() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::Html]);
    let response = h.post("/v1/chat/completions").json(&crate::chat(false)).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let message = response.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("web page") && message.contains("Just a moment"), "{message}");
    let row = h.log_rows().await.pop().unwrap();
    assert!(row.error.unwrap().contains("web page"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_encoded_stream_is_decoded() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::Gzip("packed".into())]);
    let response = h.post("/v1/chat/completions").json(&crate::chat(false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "packed");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_never_answers_is_logged_with_its_account_and_attempt() {
    let h = Harness::start(1, &[("CODEXMANAGER_UPSTREAM_IDLE_TIMEOUT_SECS", "1")]).await;
    h.mock.script("acct-00000", [Script::Hang]);
    let response = h.post("/v1/responses").json(&crate::responses(false)).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let message = response.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("did not answer within 1 s"), "{message}");
    let row = h.log_rows().await.pop().unwrap();
    assert_eq!(row.account_id.as_deref(), Some(h.account_id_for("acct-00000").as_str()));
    assert_eq!(row.attempts, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_that_keeps_failing_cools_down_with_its_reason() {
    let h = Harness::start(2, &[]).await;
    h.mock.script_always("acct-00000", Script::Status(502));
    for _ in 0..4 {
        let response = h.post("/v1/responses").json(&crate::responses(false)).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        h.mock.served_by(),
        ["acct-00000", "acct-00001", "acct-00000", "acct-00001", "acct-00001", "acct-00001"],
        "after two failures in a row the broken account is skipped"
    );
    let broken = h.account_id_for("acct-00000");
    let now = codexmanager::store::now_millis();
    let account = h.core.pool().by_id[&broken].clone();
    let until = account.cooling_until(now).expect("cooling down");
    assert!(until - now <= 10_000 && until - now > 8_000, "a short cooldown first: {} ms", until - now);
    assert_eq!(account.cooldown_reason(now).as_deref(), Some("upstream answered 502 2 times in a row"));
}
