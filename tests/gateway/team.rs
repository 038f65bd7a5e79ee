//! A pool shared by a team: per-key limits (exact under concurrency, kept across a restart),
//! expiry, allowed models, a bound reasoning effort, group scopes under failover, a cap on
//! requests in flight, per-key usage, and request-log retention.

use std::sync::Arc;

use codexmanager::config::Env;
use codexmanager::core::{AccountPatch, Core, CreatedKey, KeyUpdate, ListOrAny, NewKey, PolicyChange};
use codexmanager::paths::{DataLocation, DataPaths};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::support::harness::Harness;
use crate::support::mock::Script;

async fn key_with(h: &Harness, policy: PolicyChange) -> CreatedKey {
    h.core.create_key(NewKey { name: "team".into(), policy, ..NewKey::default() }).await.unwrap()
}

fn chat(h: &Harness, key: &str, body: Value) -> reqwest::RequestBuilder {
    h.http.post(format!("{}/v1/chat/completions", h.base)).bearer_auth(key).json(&body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_requests_on_a_key_limited_to_ten_a_day_let_exactly_ten_through_and_the_count_survives_a_restart() {
    let h = Arc::new(Harness::start(2, &[]).await);
    let limit = PolicyChange { limit_requests: Some(vec!["10/day".into()]), ..PolicyChange::default() };
    let key = key_with(&h, limit).await;
    let mut requests = JoinSet::new();
    for _ in 0..50 {
        let (h, key) = (h.clone(), key.key.clone());
        requests.spawn(async move {
            let response = chat(&h, &key, crate::chat::chat(false)).send().await.unwrap();
            let status = response.status().as_u16();
            let retry = response.headers().get("retry-after").is_some();
            (status, retry, response.json::<Value>().await.unwrap())
        });
    }
    let mut ok = 0;
    let mut limited = 0;
    while let Some(done) = requests.join_next().await {
        let (status, retry, body) = done.unwrap();
        match status {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert!(retry, "a Retry-After comes with the 429");
                assert_eq!(body["error"]["code"], "rate_limit_exceeded");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains("10 requests per day") && message.contains("frees up at"), "{message}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((ok, limited), (10, 40));

    // The count is written behind and read back at start.
    h.core.logs().flush().await;
    let env = Env::from_map(
        [("CODEXMANAGER_SECRET_STORE", "file"), ("CODEXMANAGER_DISABLE_POLLING", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let (restarted, _) =
        Core::open_at(env, DataPaths::for_db(h.home.db(), DataLocation::Explicit), None).await.unwrap();
    let usage = restarted.key_usage_stats(&key.id).await.unwrap();
    assert_eq!(usage.limits[0].used, 10, "{usage:?}");
    let policy = restarted.list_keys().into_iter().find(|k| k.id == key.id).unwrap().policy;
    assert!(restarted.quotas().admit(&key.id, &policy, codexmanager::core::now_millis()).is_err());
    assert_eq!(usage.daily.iter().map(|d| d.requests).sum::<i64>(), 50, "refused requests are logged too");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_key_is_refused_with_when_it_expired() {
    let h = Harness::start(1, &[]).await;
    let key =
        key_with(&h, PolicyChange { expires: Some("2020-01-01T00:00:00Z".into()), ..PolicyChange::default() }).await;
    let response = chat(&h, &key.key, crate::chat::chat(false)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let message = response.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("expired at 2020-01-01T00:00:00Z"), "{message}");
    assert!(h.mock.requests().is_empty());
    let update = KeyUpdate {
        policy: PolicyChange { expires: Some("never".into()), ..PolicyChange::default() },
        ..KeyUpdate::default()
    };
    h.core.update_key(key.id, update).await.unwrap();
    assert_eq!(chat(&h, &key.key, crate::chat::chat(false)).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_outside_the_allowlist_is_forbidden_naming_the_allowed_ones() {
    let h = Harness::start(1, &[]).await;
    let models = Some(ListOrAny::Text("gpt-5.4-mini, gpt-5.4".into()));
    let key = key_with(&h, PolicyChange { models, ..PolicyChange::default() }).await;
    let response = chat(&h, &key.key, crate::chat::chat(false)).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let message = response.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("may not use gpt-5.5") && message.contains("gpt-5.4-mini, gpt-5.4"), "{message}");
    let allowed = chat(&h, &key.key, json!({"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}]}));
    assert_eq!(allowed.send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bound_reasoning_effort_reaches_the_upstream_whatever_the_client_sent() {
    let h = Harness::start(1, &[]).await;
    let key = key_with(&h, PolicyChange { reasoning_effort: Some("high".into()), ..PolicyChange::default() }).await;
    let mut body = crate::chat::chat(false);
    body["reasoning_effort"] = json!("low");
    assert_eq!(chat(&h, &key.key, body).send().await.unwrap().status(), 200);
    let responses = json!({"model": "gpt-5.5", "input": "hi", "reasoning": {"effort": "minimal", "summary": "auto"}});
    let sent = h.http.post(format!("{}/v1/responses", h.base)).bearer_auth(&key.key).json(&responses).send();
    assert_eq!(sent.await.unwrap().status(), 200);
    let messages = json!({"model": "claude-sonnet-4-5", "max_tokens": 2048, "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 1024}});
    let sent = h
        .http
        .post(format!("{}/v1/messages", h.base))
        .header("x-api-key", &key.key)
        .header("anthropic-version", "2023-06-01")
        .json(&messages)
        .send();
    assert_eq!(sent.await.unwrap().status(), 200);
    let efforts: Vec<Value> = h.mock.requests().iter().map(|r| r.body["reasoning"]["effort"].clone()).collect();
    assert_eq!(efforts, [json!("high"), json!("high"), json!("high")]);
    assert_eq!(h.mock.requests()[1].body["reasoning"]["summary"], "auto", "the rest of `reasoning` stays");
    assert!(h.log_rows().await.iter().all(|r| r.reasoning_effort.as_deref() == Some("high")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_scoped_key_never_leaves_its_groups_even_under_failover() {
    let h = Harness::start(3, &[]).await;
    let ids: Vec<String> = ["acct-00000", "acct-00001", "acct-00002"].iter().map(|a| h.account_id_for(a)).collect();
    let group = |name: &str| AccountPatch { group: Some(name.into()), ..AccountPatch::default() };
    h.core.update_accounts(ids[..2].to_vec(), group("team-a")).await.unwrap();
    h.core.update_accounts(ids[2..].to_vec(), group("team-b")).await.unwrap();
    let groups = Some(ListOrAny::List(vec!["team-a".into()]));
    let key = key_with(&h, PolicyChange { groups, ..PolicyChange::default() }).await;
    h.mock.script("acct-00000", [Script::UsageLimit { resets_in: 600 }]);
    assert_eq!(chat(&h, &key.key, crate::chat::chat(false)).send().await.unwrap().status(), 200);
    h.mock.script("acct-00001", [Script::Status(503)]);
    let failed = chat(&h, &key.key, crate::chat::chat(false)).send().await.unwrap();
    assert_eq!(failed.status(), 502);
    let message = failed.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("only accounts in this key's groups: team-a"), "{message}");
    assert!(!h.mock.served_by().contains(&"acct-00002".to_string()), "{:?}", h.mock.served_by());

    let nowhere =
        key_with(&h, PolicyChange { groups: Some(ListOrAny::Text("nobody".into())), ..PolicyChange::default() });
    let nowhere = nowhere.await;
    let refused = chat(&h, &nowhere.key, crate::chat::chat(false)).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    let message = refused.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("no account is in this key's groups (nobody)"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cap_on_requests_in_flight_refuses_the_one_too_many_in_the_callers_protocol() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::Slow { deltas: 5, interval_ms: 100 }]);
    let key = key_with(&h, PolicyChange { max_concurrent: Some(1), ..PolicyChange::default() }).await;
    let streaming = chat(&h, &key.key, crate::chat::chat(true)).send().await.unwrap();
    let refused = h
        .http
        .post(format!("{}/v1/messages", h.base))
        .header("x-api-key", &key.key)
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error", "Anthropic's shape: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("1 request(s) in flight"));
    streaming.text().await.unwrap();
    assert_eq!(chat(&h, &key.key, crate::chat::chat(false)).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn old_request_log_rows_are_pruned_and_the_charts_totals_kept() {
    let h = Harness::start(1, &[]).await;
    let now = codexmanager::core::now_millis();
    let rows: Vec<codexmanager::core::LogRow> = [now - 40 * 86_400_000, now - 35 * 86_400_000, now - 1_000]
        .iter()
        .map(|ts| codexmanager::core::LogRow {
            ts: *ts,
            method: "POST".into(),
            path: "/v1/responses".into(),
            status: 200,
            attempts: 1,
            key_id: Some(h.key_id.clone()),
            ..Default::default()
        })
        .collect();
    for row in rows {
        h.core.logs().push(row);
    }
    h.core.logs().flush().await;
    assert_eq!(h.core.prune_logs_now().await.unwrap(), 2, "older than 30 days");
    let left = h.log_rows().await;
    assert_eq!(left.len(), 1);
    let conn = rusqlite::Connection::open(h.home.db()).unwrap();
    let slots: i64 = conn.query_row("SELECT COUNT(*) FROM request_stats", [], |r| r.get(0)).unwrap();
    assert_eq!(slots, 3, "the 15-minute totals outlive the rows");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_limited_and_read_from_the_command_line_and_rpc() {
    let h = Harness::start(1, &[]).await;
    let run = |args: &[&str]| h.home.command().args(args).output().unwrap();
    let created = run(&[
        "key",
        "create",
        "--name",
        "ci",
        "--limit-requests",
        "500/5h",
        "--limit-tokens",
        "2000000/day",
        "--expires",
        "2099-01-01T00:00:00Z",
        "--models",
        "gpt-5.5",
        "--reasoning-effort",
        "medium",
        "--groups",
        "ci,shared",
        "--max-concurrent",
        "4",
        "--json",
    ]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let policy = &created["policy"];
    assert_eq!(policy["limits"].as_array().unwrap().len(), 2, "{created}");
    assert_eq!((policy["reasoningEffort"].clone(), policy["maxConcurrent"].clone()), (json!("medium"), json!(4)));
    let id = created["id"].as_str().unwrap();
    let bad = run(&["key", "update", id, "--limit-requests", "500/fortnight"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("WINDOW one of 5h, day, week, month"));
    let updated =
        run(&["key", "update", id, "--models", "any", "--groups", "any", "--reasoning-effort", "client", "--json"]);
    let updated: Value = serde_json::from_slice(&updated.stdout).unwrap();
    assert!(updated["policy"].get("models").is_none() && updated["policy"].get("groups").is_none(), "{updated}");
    let usage = run(&["key", "usage", id, "--json"]);
    let usage: Value = serde_json::from_slice(&usage.stdout).unwrap();
    assert_eq!(usage["limits"][0]["used"], 0, "{usage}");
    assert_eq!(usage["hourly"].as_array().unwrap().len(), 24);

    let rpc = |method: &str, params: Value| {
        h.http
            .post(format!("{}/rpc", h.base))
            .header("X-CodexManager-Rpc-Token", "rpc")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
    };
    let answer: Value =
        rpc("apikey/updateModel", json!({"id": id, "modelSlug": "gpt-5.5", "reasoningEffort": "xhigh"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(answer["result"]["ok"], true, "{answer}");
    let answer: Value = rpc("apikey/update", json!({"id": id, "limitRequests": ["20/week"], "maxConcurrent": 0}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["result"]["policy"]["reasoningEffort"], "xhigh", "{answer}");
    assert!(answer["result"]["policy"].get("maxConcurrent").is_none());
    let stats: Value = rpc("apikey/usageStats", json!({"id": id})).await.unwrap().json().await.unwrap();
    assert_eq!(stats["result"]["limits"].as_array().unwrap().len(), 2, "{stats}");
    let typo: Value = rpc("apikey/update", json!({"id": id, "maxConcurent": 2})).await.unwrap().json().await.unwrap();
    assert!(typo["error"]["message"].as_str().unwrap().contains("unknown field `maxConcurent`"), "{typo}");
}
