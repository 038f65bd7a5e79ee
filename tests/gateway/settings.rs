//! Settings apply when they say they do: the upstream's fallback and cookie and the
//! admission limit from the next request (the upstream itself too, unless the environment
//! sets it, which always wins); the listening address only after a restart, and
//! RPC and the CLI say so.

use serde_json::{Value, json};

use crate::support::harness::Harness;
use crate::support::mock::{Mock, Script};

use super::responses::body;

#[tokio::test(flavor = "multi_thread")]
async fn upstream_settings_and_the_admission_limit_apply_to_the_next_request() {
    let h = Harness::start(1, &[]).await;
    let other = Mock::start().await;
    let mut patch = serde_json::Map::new();
    patch.insert("upstreamFallbackBaseUrl".into(), Value::String(other.upstream()));
    patch.insert("upstreamCookie".into(), Value::String("cf_clearance=abc".into()));
    h.core.set_settings(patch).await.unwrap();
    h.mock.script("acct-00000", [Script::Status(503)]);
    assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
    assert_eq!(h.mock.requests()[0].headers["cookie"], "cf_clearance=abc", "the new cookie goes upstream");
    let sent = other.requests();
    assert_eq!(sent.len(), 1, "the new fallback answered the 503");
    assert_eq!(sent[0].headers["cookie"], "cf_clearance=abc");

    h.mock.script("acct-00000", [Script::Slow { deltas: 5, interval_ms: 100 }]);
    let mut limit = serde_json::Map::new();
    limit.insert("maxConcurrentRequests".into(), json!(1));
    h.core.set_settings(limit).await.unwrap();
    let streaming = h.post("/v1/responses").json(&body(true)).send().await.unwrap();
    let refused = h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    assert_eq!(refused.status(), 503, "the new limit holds at once");
    streaming.text().await.unwrap();
    assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn rpc_and_the_cli_say_which_changes_need_a_restart() {
    let h = Harness::start(0, &[]).await;
    let set = |params: Value| {
        h.http
            .post(format!("{}/rpc", h.base))
            .header("X-CodexManager-Rpc-Token", "rpc")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "appSettings/set", "params": params}))
            .send()
    };
    let answer: Value = set(json!({"routeStrategy": "balanced"})).await.unwrap().json().await.unwrap();
    assert_eq!(answer["result"]["restartRequired"], json!([]), "{answer}");
    let answer: Value = set(json!({"serviceAddr": "127.0.0.1:48999"})).await.unwrap().json().await.unwrap();
    assert_eq!(answer["result"]["restartRequired"], json!(["serviceAddr"]), "{answer}");

    let out = h.home.run(&["settings", "set", "serviceAddr", "127.0.0.1:48998"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("takes effect when the service starts again"));
    let listed = h.home.run_json(&["settings", "list", "--json"]);
    assert_eq!(listed["settings"]["routeStrategy"]["value"], "balanced");
    assert_eq!(listed["settings"]["serviceAddr"]["source"], "stored");
}
