//! Routing: ordered vs balanced, session stickiness, the in-flight cap and the gate wait.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::responses::body;
use crate::support::harness::Harness;
use crate::support::mock::Script;

fn counts(served: &[String]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for account in served {
        *counts.entry(account.clone()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn ordered_uses_the_first_account_and_balanced_spreads_evenly() {
    let h = Harness::start(4, &[]).await;
    for _ in 0..100 {
        assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
    }
    assert_eq!(counts(&h.mock.served_by()), HashMap::from([("acct-00000".to_string(), 100)]));

    let h = Harness::start(4, &[("CODEXMANAGER_ROUTE_STRATEGY", "balanced")]).await;
    for _ in 0..100 {
        assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
    }
    let counts = counts(&h.mock.served_by());
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(counts.values().all(|n| *n == 25), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_sticks_to_its_account_while_it_stays_usable() {
    let h = Harness::start(3, &[("CODEXMANAGER_ROUTE_STRATEGY", "rr")]).await;
    let mut with_session = body(false);
    with_session["prompt_cache_key"] = json!("session-abc");
    for _ in 0..10 {
        assert_eq!(h.post("/v1/responses").json(&with_session).send().await.unwrap().status(), 200);
    }
    let served = h.mock.served_by();
    assert!(served.iter().all(|a| *a == served[0]), "{served:?}");

    // When the sticky account hits its limit, the session moves and stays on the next one.
    h.mock.script(&served[0], [Script::UsageLimit { resets_in: 600 }]);
    for _ in 0..5 {
        assert_eq!(h.post("/v1/responses").json(&with_session).send().await.unwrap().status(), 200);
    }
    let after: Vec<String> = h.mock.served_by().into_iter().skip(11).collect();
    assert!(after.iter().all(|a| *a == after[0] && *a != served[0]), "{after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_accounts_make_requests_wait_then_503_with_retry_after() {
    let h = Harness::start(
        1,
        &[("CODEXMANAGER_ACCOUNT_MAX_INFLIGHT", "1"), ("CODEXMANAGER_REQUEST_GATE_WAIT_TIMEOUT_MS", "300")],
    )
    .await;
    h.mock.script("acct-00000", [Script::Slow { deltas: 10, interval_ms: 200 }]);
    let slow = h.post("/v1/responses").json(&body(true)).send().await.unwrap();
    assert_eq!(slow.status(), 200);
    let started = std::time::Instant::now();
    let busy = h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    assert_eq!(busy.status(), 503);
    assert!(started.elapsed() >= Duration::from_millis(250), "it waited for a slot first");
    assert_eq!(busy.headers()["retry-after"], "1");
    drop(slow);

    // A waiting request gets the slot as soon as it frees up.
    let h = Harness::start(
        1,
        &[("CODEXMANAGER_ACCOUNT_MAX_INFLIGHT", "1"), ("CODEXMANAGER_REQUEST_GATE_WAIT_TIMEOUT_MS", "3000")],
    )
    .await;
    h.mock.script("acct-00000", [Script::Slow { deltas: 3, interval_ms: 100 }]);
    let first = h.post("/v1/responses").json(&body(true)).send();
    let second = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        h.post("/v1/responses").json(&body(false)).send().await
    };
    let (first, second) = tokio::join!(first, second);
    let first_text = first.unwrap().text().await.unwrap();
    assert!(first_text.contains("response.completed"));
    assert_eq!(second.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_disconnects_frees_its_slot_and_cancels_upstream() {
    let h = Harness::start(1, &[("CODEXMANAGER_ACCOUNT_MAX_INFLIGHT", "1")]).await;
    h.mock.script("acct-00000", [Script::Slow { deltas: 100, interval_ms: 100 }]);
    let response = h.post("/v1/responses").json(&body(true)).send().await.unwrap();
    let mut stream = response.bytes_stream();
    use futures_util::StreamExt;
    stream.next().await.unwrap().unwrap();
    assert_eq!(h.mock.state.inflight.load(std::sync::atomic::Ordering::SeqCst), 1);
    drop(stream);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while h.mock.state.inflight.load(std::sync::atomic::Ordering::SeqCst) > 0 {
        assert!(std::time::Instant::now() < deadline, "the upstream request was not cancelled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(),
        200,
        "the slot is free again"
    );
    let rows = h.log_rows().await;
    assert_eq!(rows[0].status, 499);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quota_guard_passes_over_an_account_near_its_limit_until_all_are() {
    let h = Harness::start(2, &[("CODEXMANAGER_QUOTA_GUARD_7D_PERCENT", "50")]).await;
    h.mock.set_usage("acct-00000", 98.0, 10.0);
    h.mock.set_usage("acct-00001", 20.0, 60.0);
    for _ in 0..3 {
        assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
    }
    // The first request learns acct-00000 is at 98 % of its 5-hour window, the second learns
    // acct-00001 is at 60 % of its week (guard lowered to 50 %); then every account is past
    // the guard and the first one in order serves again.
    assert_eq!(h.mock.served_by(), ["acct-00000", "acct-00001", "acct-00000"]);
    let trace = h.trace().await;
    let plans: Vec<&str> = trace.lines().filter(|l| l.contains("CANDIDATE_POOL")).collect();
    assert!(plans[1].contains("candidates=2") && plans[1].contains("deferred=quota_guard_5h:1"), "{}", plans[1]);
    assert!(plans[2].contains("deferred=quota_guard_5h:1,quota_guard_7d:1"), "{}", plans[2]);

    let h = Harness::start(2, &[("CODEXMANAGER_QUOTA_GUARD_5H_PERCENT", "100")]).await;
    h.mock.set_usage("acct-00000", 98.0, 10.0);
    for _ in 0..2 {
        assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
    }
    assert_eq!(h.mock.served_by(), ["acct-00000", "acct-00000"], "a guard at 100 % leaves the order alone");
}
