//! A pool saturated by many clients, with broken accounts in it: a failover never turns into
//! an error while an untried account will free a slot within the gate's wait.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::support::harness::Harness;
use crate::support::mock::Script;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_requests_from_fifty_clients_on_a_half_broken_capped_pool_all_succeed() {
    let h = Arc::new(
        Harness::start(
            4,
            &[("CODEXMANAGER_ACCOUNT_MAX_INFLIGHT", "1"), ("CODEXMANAGER_REQUEST_GATE_WAIT_TIMEOUT_MS", "30000")],
        )
        .await,
    );
    h.mock.script_always("acct-00000", Script::UsageLimit { resets_in: 3600 });
    h.mock.script_always("acct-00001", Script::Status(503));
    for healthy in ["acct-00002", "acct-00003"] {
        h.mock.script_always(healthy, Script::SlowFirstByte { millis: 5, text: "fine".into() });
    }
    let clients = Arc::new(tokio::sync::Semaphore::new(50));
    let mut requests = JoinSet::new();
    for _ in 0..200 {
        let (h, clients) = (h.clone(), clients.clone());
        requests.spawn(async move {
            let _client = clients.acquire().await.unwrap();
            let response = h.post("/v1/chat/completions").json(&crate::chat(false)).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = requests.join_next().await {
        let (status, body) = done.unwrap();
        if status != 200 {
            failures.push(format!("{status} {body}"));
        }
    }
    assert!(failures.is_empty(), "{} of 200 failed, e.g. {:?}", failures.len(), failures.first());
    let rows = h.log_rows().await;
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().all(|r| r.status == 200), "every logged request succeeded");
    let broken = h.mock.served_by().iter().filter(|a| *a == "acct-00001").count();
    assert!(broken <= 3, "the failing account cools down instead of costing every request: asked {broken} times");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_meets_a_broken_account_waits_for_a_healthy_one_busy_with_a_slow_stream() {
    let h = Arc::new(
        Harness::start(
            2,
            &[("CODEXMANAGER_ACCOUNT_MAX_INFLIGHT", "1"), ("CODEXMANAGER_REQUEST_GATE_WAIT_TIMEOUT_MS", "10000")],
        )
        .await,
    );
    h.mock.script("acct-00000", [Script::Slow { deltas: 4, interval_ms: 150 }]);
    h.mock.script_always("acct-00001", Script::Status(503));
    let slow = h.post("/v1/responses").json(&crate::responses(true)).send().await.unwrap();
    assert_eq!(slow.status(), 200);
    // acct-00000 is busy with the stream; the next request tries acct-00001 (503) and must
    // then wait for acct-00000 instead of answering 502.
    let waiting = h.post("/v1/responses").json(&crate::responses(false)).send();
    let (waited, slow_body) = tokio::join!(waiting, slow.text());
    assert!(slow_body.unwrap().contains("response.completed"));
    let waited = waited.unwrap();
    assert_eq!(waited.status(), 200, "{}", waited.text().await.unwrap());
    let rows = h.log_rows().await;
    let last = rows.last().unwrap();
    assert_eq!((last.status, last.attempts), (200, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_wait_runs_out_the_error_names_the_busy_pool_and_the_failure() {
    let h = Arc::new(
        Harness::start(
            2,
            &[("CODEXMANAGER_ACCOUNT_MAX_INFLIGHT", "1"), ("CODEXMANAGER_REQUEST_GATE_WAIT_TIMEOUT_MS", "200")],
        )
        .await,
    );
    h.mock.script("acct-00000", [Script::Slow { deltas: 10, interval_ms: 200 }]);
    h.mock.script("acct-00001", [Script::Status(503)]);
    let slow = h.post("/v1/responses").json(&crate::responses(true)).send().await.unwrap();
    let refused = h.post("/v1/responses").json(&crate::responses(false)).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let message = refused.json::<serde_json::Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("in-flight limit") && message.contains("scripted 503"), "{message}");
    drop(slow);
}
