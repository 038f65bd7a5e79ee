//! Failover before the first byte, cooldowns, token refresh, and failures mid-stream.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use super::responses::body;
use crate::support::harness::Harness;
use crate::support::mock::Script;
use crate::support::tokens;

#[tokio::test(flavor = "multi_thread")]
async fn a_429_moves_to_the_next_account_invisibly_and_cools_the_first_until_its_reset() {
    let h = Harness::start(2, &[]).await;
    h.mock.script("acct-00000", [Script::UsageLimit { resets_in: 900 }]);
    let response = h.post("/v1/responses").json(&body(true)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("hello from acct-00001"), "{text}");
    assert!(!text.contains("usage_limit"), "the client never sees the failover");
    assert_eq!(h.mock.served_by(), vec!["acct-00000", "acct-00001"]);

    let first = h.account_id_for("acct-00000");
    let until = h.core.pool().by_id[&first].cooling_until(codexmanager::store::now_millis()).expect("cooling down");
    let expected = (chrono::Utc::now().timestamp() + 900) * 1000;
    assert!((until - expected).abs() < 5_000, "cooldown ends at the reset time: {until} vs {expected}");

    // The next request skips the cooling account without asking it.
    h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    assert_eq!(h.mock.served_by().last().unwrap(), "acct-00001");
    let rows = h.log_rows().await;
    assert_eq!((rows[0].status, rows[0].attempts), (200, 2));
    let trace = h.trace().await;
    assert!(trace.contains("CANDIDATE_FAIL") && trace.contains("status=429"), "{trace}");
    let second = trace.lines().find(|l| l.contains("CANDIDATE_POOL request=2")).expect("the second request's plan");
    assert!(second.contains("candidates=1 ") && second.contains("skipped=usage:1"), "skipped as exhausted: {second}");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_and_failed_stream_heads_fail_over() {
    let h = Harness::start(3, &[]).await;
    h.mock.script("acct-00000", [Script::Status(503)]);
    h.mock.script("acct-00001", [Script::Failed { code: "server_is_overloaded".into(), message: "busy".into() }]);
    let response = h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(h.mock.served_by(), vec!["acct-00000", "acct-00001", "acct-00002"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn when_every_account_is_exhausted_the_client_gets_one_clear_error() {
    let h = Harness::start(2, &[]).await;
    h.mock.script("acct-00000", [Script::UsageLimit { resets_in: 600 }]);
    h.mock.script("acct-00001", [Script::UsageLimit { resets_in: 1200 }]);
    let response = h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((500..=620).contains(&retry), "retry after the earliest reset: {retry}");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("every account hit its usage limit"), "{body}");

    // Later requests are refused at once without touching the upstream.
    let before = h.mock.requests().len();
    let again = h.post("/v1/responses").json(&super::responses::body(false)).send().await.unwrap();
    assert_eq!(again.status(), 429);
    assert_eq!(h.mock.requests().len(), before);
    assert!(
        again.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("the next one is free")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_refreshes_once_and_retries_with_the_new_token() {
    let h = Harness::start(1, &[]).await;
    let (_, old_access, old_refresh) = tokens(0);
    h.mock.reject_access_token(&old_access);
    let response = h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(h.mock.state.refresh_calls.load(Ordering::SeqCst), 1);
    let sent = h.mock.requests();
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[1].authorization, sent[0].authorization, "the retry used the refreshed token");
    assert!(h.mock.used_refresh_tokens().contains(&old_refresh));

    // The rotated tokens were persisted: a new process would use them.
    let exported = h.home.path().join("after-refresh.json");
    h.core.export_accounts(exported.clone(), None, false).await.unwrap();
    let text = std::fs::read_to_string(exported).unwrap();
    assert!(!text.contains(&old_refresh), "the old refresh token is gone");
    assert!(text.contains("rt_rotated_for_acct-00000"));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_401s_cause_exactly_one_refresh() {
    let h = Harness::start(1, &[]).await;
    let (_, old_access, _) = tokens(0);
    h.mock.reject_access_token(&old_access);
    h.mock.state.refresh_delay_ms.store(300, Ordering::SeqCst);
    let requests = (0..8).map(|_| h.post("/v1/responses").json(&body(false)).send());
    let responses = futures_util::future::join_all(requests).await;
    for response in responses {
        assert_eq!(response.unwrap().status(), 200);
    }
    assert_eq!(h.mock.state.refresh_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_refresh_token_marks_the_account_and_the_next_one_answers() {
    let h = Harness::start(2, &[]).await;
    let (_, old_access, old_refresh) = tokens(0);
    h.mock.reject_access_token(&old_access);
    h.mock.kill_refresh_token(&old_refresh);
    let response = h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(h.mock.served_by().last().unwrap(), "acct-00001");
    let first = h
        .core
        .list_accounts()
        .into_iter()
        .find(|a| a.account.chatgpt_account_id.as_deref() == Some("acct-00000"))
        .unwrap();
    assert_eq!(first.account.status, codexmanager::store::accounts::AccountStatus::Unavailable);
    assert_eq!(first.account.status_reason.as_deref(), Some("refresh_token_expired"));
    assert_eq!(first.availability.key(), "unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_cut_midway_ends_with_an_error_event() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::CutAfterDeltas(3)]);
    let response = h.post("/v1/responses").json(&body(true)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("event: response.failed"), "{text}");
    assert!(text.contains("stream_error") || text.contains("stream_incomplete"), "{text}");
    let rows = h.log_rows().await;
    assert_eq!(rows[0].status, 502);
    assert!(rows[0].error.as_deref().unwrap().contains("upstream"));
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_upstreams_get_keepalives_to_the_client() {
    let h = Harness::start(1, &[("CODEXMANAGER_STREAM_KEEPALIVE_SECS", "1")]).await;
    h.mock.script("acct-00000", [Script::PauseMidway { millis: 2_500, text: "ok".into() }]);
    let text = tokio::time::timeout(Duration::from_secs(30), async {
        h.post("/v1/responses").json(&body(true)).send().await.unwrap().text().await.unwrap()
    })
    .await
    .unwrap();
    assert!(text.matches(": keep-alive").count() >= 2, "one a second while the upstream is silent: {text}");
    assert!(text.contains("response.completed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_first_byte_is_waited_for() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::SlowFirstByte { millis: 700, text: "late".into() }]);
    let response: Value = h.post("/v1/responses").json(&body(false)).send().await.unwrap().json().await.unwrap();
    assert_eq!(response["output"][0]["content"][0]["text"], "late");
}
