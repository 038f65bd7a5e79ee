//! `/rpc` at its edges: batches, notifications and bodies too large to read.

use serde_json::{Value, json};

use crate::support::harness::Harness;

fn rpc(h: &Harness) -> reqwest::RequestBuilder {
    h.http.post(format!("{}/rpc", h.base)).header("X-CodexManager-Rpc-Token", "rpc")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_gets_one_answer_per_call_and_notifications_none() {
    let h = Harness::start(1, &[]).await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "apikey/list"},
        {"jsonrpc": "2.0", "method": "apikey/create", "params": {"name": "made-by-a-notification"}},
        {"jsonrpc": "2.0", "id": "two", "method": "no/such"},
    ]);
    let answers: Value = rpc(&h).json(&batch).send().await.unwrap().json().await.unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(answers[0]["id"], 1);
    assert!(answers[0]["result"]["items"].is_array());
    assert_eq!((answers[1]["id"].clone(), answers[1]["error"]["code"].clone()), (json!("two"), json!(-32601)));
    let keys = h.core.snapshot().keys.iter().map(|k| k.name.clone()).collect::<Vec<_>>();
    assert!(keys.contains(&"made-by-a-notification".to_string()), "the notification was carried out: {keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lone_notification_is_carried_out_without_an_answer() {
    let h = Harness::start(1, &[]).await;
    let response = rpc(&h)
        .json(&json!({"jsonrpc": "2.0", "method": "apikey/create", "params": {"name": "quiet"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.bytes().await.unwrap().len(), 0);
    assert!(h.core.snapshot().keys.iter().any(|k| k.name == "quiet"));
    let empty = rpc(&h).json(&json!([])).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(empty["error"]["code"], -32600);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_too_large_gets_a_json_rpc_error_with_413() {
    let h = Harness::start(1, &[]).await;
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"account/import\",\"params\":{{\"contents\":[\"{}\"]}}}}",
        "x".repeat(40 << 20)
    );
    let response = rpc(&h).header("content-type", "application/json").body(huge).send().await.unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600);
    assert!(body["error"]["message"].as_str().unwrap().contains("larger than 32 MiB"), "{body}");
}
