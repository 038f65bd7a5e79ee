//! `/rpc` as the original's clients call it (v0.1.2): `{id, method, params}` without
//! `jsonrpc`, the original's parameter names, and the result fields its scripts read — one
//! test per method, against the running service over HTTP with the mock upstream behind it.
//! The envelope rules (which calls get which envelope) are tested last.

use serde_json::{Value, json};

use crate::support::auth_json;
use crate::support::harness::Harness;

const TOKEN: &str = "rpc";

struct Original {
    h: Harness,
}

impl Original {
    async fn start(accounts: usize) -> Original {
        Original { h: Harness::start(accounts, &[("CODEXMANAGER_LOGIN_ADDR", "127.0.0.1:0")]).await }
    }

    /// Posts a body to `/rpc` with the token; returns the status and the JSON answer.
    async fn post(&self, body: &Value) -> (u16, Value) {
        let response = self
            .h
            .http
            .post(format!("{}/rpc", self.h.base))
            .header("X-CodexManager-Rpc-Token", TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// A call as the original's desktop shell sends it; returns `result`, having checked the
    /// envelope is the original's (`{id, result}`, HTTP 200, no `jsonrpc` or `error`).
    async fn call(&self, method: &str, params: Value) -> Value {
        let (status, body) = self.post(&json!({"id": 1, "method": method, "params": params})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], 1, "{body}");
        assert!(body.get("jsonrpc").is_none() && body.get("error").is_none(), "the original's envelope: {body}");
        body["result"].clone()
    }

    fn account(&self, n: usize) -> String {
        self.h.account_id_for(&format!("acct-{n:05}"))
    }

    async fn ask(&self) {
        let body = json!({"model": "gpt-5.5", "input": [{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "hi"}]}]});
        let response = self.h.post("/v1/responses").json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        self.h.core.logs().flush().await;
    }

    /// The key object `apikey/list` gives for `id`.
    async fn key(&self, id: &str) -> Value {
        let listed = self.call("apikey/list", json!({})).await;
        listed["items"].as_array().unwrap().iter().find(|k| k["id"] == id).cloned().expect("key listed")
    }
}

/// The original's failure shape for an action.
fn assert_action_failed(result: &Value, says: &str) {
    assert_eq!(result["ok"], false, "{result}");
    assert!(result["error"].as_str().unwrap().contains(says), "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_initialize_names_the_service() {
    let o = Original::start(0).await;
    let result = o.call("initialize", Value::Null).await;
    assert_eq!(result["server_name"], "codexmanager-service");
    assert!(result["version"].as_str().is_some_and(|v| !v.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_list_has_id_label_group_name_and_sort() {
    let o = Original::start(2).await;
    let result = o.call("account/list", json!({})).await;
    let items = result["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], o.account(0));
    assert!(items[0]["label"].is_string());
    assert_eq!(items[0]["groupName"], "IMPORT");
    assert!(items[0]["sort"].is_i64());
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_delete_takes_account_id() {
    let o = Original::start(1).await;
    let result = o.call("account/delete", json!({"accountId": o.account(0), "revoke": false})).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!((result["deleted"].clone(), result["revoked"].clone()), (json!(1), json!(0)));
    assert_eq!(o.call("account/list", json!({})).await["items"], json!([]));
    assert_action_failed(&o.call("account/delete", json!({})).await, "accountId");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_update_sets_the_sort() {
    let o = Original::start(1).await;
    let result = o.call("account/update", json!({"accountId": o.account(0), "sort": 7})).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(o.call("account/list", json!({})).await["items"][0]["sort"], 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_import_counts_and_lists_errors() {
    let o = Original::start(0).await;
    let params = json!({"contents": [auth_json(5).to_string(), "{bad"], "content": auth_json(6).to_string()});
    let result = o.call("account/import", params).await;
    assert_eq!(
        (result["total"].clone(), result["created"].clone(), result["updated"].clone()),
        (json!(2), json!(2), json!(0))
    );
    assert_eq!(result["failed"], 1, "the original's failed is a count: {result}");
    assert_eq!(result["errors"][0]["index"], 2, "1-based: the second text: {result}");
    assert!(result["errors"][0]["message"].as_str().unwrap().contains("not valid JSON"), "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_login_start_answers_the_original_fields() {
    let o = Original::start(0).await;
    let params = json!({"type": "chatgpt", "openBrowser": false, "note": "n", "tags": "a,b", "groupName": "TEAM",
        "workspaceId": ""});
    let result = o.call("account/login/start", params).await;
    for field in ["authUrl", "loginId", "redirectUri", "issuer", "clientId"] {
        assert!(result[field].as_str().is_some_and(|v| !v.is_empty()), "{field}: {result}");
    }
    assert_eq!(result["loginType"], "chatgpt");
    assert!(result["authUrl"].as_str().unwrap().starts_with(&format!("{}/oauth/authorize?", o.h.mock.base)));
    assert_eq!((result["warning"].clone(), result["device"].clone()), (Value::Null, Value::Null));
    let restricted = o.call("account/login/start", json!({"type": "chatgpt", "workspaceId": "ws-1"})).await;
    assert!(restricted["authUrl"].as_str().unwrap().contains("allowed_workspace_id=ws-1"), "{restricted}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_login_status_reads_pending() {
    let o = Original::start(0).await;
    let started = o.call("account/login/start", json!({"type": "chatgpt", "openBrowser": false})).await;
    let result = o.call("account/login/status", json!({"loginId": started["loginId"]})).await;
    assert_eq!(result["status"], "pending", "{result}");
    assert_eq!(result["error"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_login_complete_takes_state_code_and_redirect_uri() {
    let o = Original::start(0).await;
    o.h.mock.sign_in_as(4);
    let params = json!({"type": "chatgpt", "openBrowser": false, "note": "from rpc", "tags": "a, b",
        "groupName": "TEAM"});
    let started = o.call("account/login/start", params).await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = browser.get(started["authUrl"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let query = |name: &str| location.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();

    let wrong = o.call("account/login/complete", json!({"state": "nope", "code": query("code")})).await;
    assert_action_failed(&wrong, "no sign-in started with state");
    let params = json!({"state": query("state"), "code": query("code"), "redirectUri": started["redirectUri"]});
    let result = o.call("account/login/complete", params).await;
    assert_eq!(result["ok"], true, "{result}");
    let status = o.call("account/login/status", json!({"loginId": started["loginId"]})).await;
    assert_eq!(status["status"], "success", "the original's word: {status}");
    let account = &o.call("account/list", json!({})).await["items"][0];
    assert_eq!(account["groupName"], "TEAM");
    assert_eq!((account["tags"].clone(), account["note"].clone()), (json!(["a", "b"]), json!("from rpc")));
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_usage_read_gives_one_snapshot() {
    let o = Original::start(2).await;
    o.h.mock.set_usage("acct-00001", 40.0, 10.0);
    assert_eq!(o.call("account/usage/refresh", json!({})).await["ok"], true);
    let result = o.call("account/usage/read", json!({"accountId": o.account(1)})).await;
    let snapshot = &result["snapshot"];
    assert_eq!(snapshot["accountId"], o.account(1));
    assert_eq!((snapshot["usedPercent"].clone(), snapshot["secondaryUsedPercent"].clone()), (json!(40.0), json!(10.0)));
    assert_eq!(snapshot["windowMinutes"], 300);
    assert_eq!(snapshot["availabilityStatus"], "available");
    assert!(snapshot["resetsAt"].is_i64() && snapshot["capturedAt"].is_i64(), "{snapshot}");
    assert!(snapshot["creditsJson"].as_str().unwrap().contains("has_credits"), "{snapshot}");
    let newest = o.call("account/usage/read", json!({})).await;
    assert!(newest["snapshot"]["accountId"].is_string(), "without accountId: the newest snapshot: {newest}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_usage_list_gives_the_latest_per_account() {
    let o = Original::start(2).await;
    assert_eq!(o.call("account/usage/list", json!({})).await["items"], json!([]), "nothing polled yet");
    o.call("account/usage/refresh", json!({})).await;
    let result = o.call("account/usage/list", json!({})).await;
    let items = result["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{result}");
    assert!(items.iter().all(|u| u["availabilityStatus"] == "available" && u["usedPercent"] == 12.0), "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_account_usage_refresh_takes_account_id() {
    let o = Original::start(2).await;
    let result = o.call("account/usage/refresh", json!({"accountId": o.account(0)})).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(o.h.mock.usage_calls(), ["acct-00000"], "only that account");
    o.h.mock.script_usage_status("acct-00001", [500; 8]);
    let failed = o.call("account/usage/refresh", json!({"accountId": o.account(1)})).await;
    assert_eq!(failed["ok"], false, "{failed}");
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()), "{failed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_apikey_list_has_the_original_key_fields() {
    let o = Original::start(0).await;
    let result = o.call("apikey/list", json!({})).await;
    let key = &result["items"][0];
    assert_eq!(key["id"], o.h.key_id);
    assert_eq!(key["name"], "test");
    assert_eq!((key["clientType"].clone(), key["protocolType"].clone()), (json!("codex"), json!("openai_compat")));
    assert_eq!((key["authScheme"].clone(), key["status"].clone()), (json!("authorization_bearer"), json!("active")));
    assert!(key["createdAt"].is_i64() && key.get("modelSlug").is_some() && key.get("reasoningEffort").is_some());
    assert!(!result.to_string().contains(&o.h.key), "never the key itself");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_apikey_create_takes_model_slug_and_reasoning_effort() {
    let o = Original::start(0).await;
    let params = json!({"name": "cli", "modelSlug": "gpt-5.5", "reasoningEffort": "extra_high",
        "protocolType": "Anthropic-Native", "staticHeadersJson": ""});
    let result = o.call("apikey/create", params).await;
    let id = result["id"].as_str().unwrap().to_string();
    assert!(result["key"].as_str().is_some_and(|k| k.len() > 20), "{result}");
    let key = o.key(&id).await;
    assert_eq!((key["modelSlug"].clone(), key["reasoningEffort"].clone()), (json!("gpt-5.5"), json!("xhigh")));
    assert_eq!(key["protocolType"], "anthropic_native");
    let unnamed = o.call("apikey/create", json!({})).await;
    assert!(unnamed["id"].is_string(), "the original's name is optional: {unnamed}");
    let headers = o.call("apikey/create", json!({"staticHeadersJson": "{\"x-a\":\"1\"}"})).await;
    assert!(headers["error"].as_str().unwrap().contains("staticHeadersJson"), "{headers}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_apikey_read_secret_says_only_a_hash_is_kept() {
    let o = Original::start(0).await;
    let result = o.call("apikey/readSecret", json!({"id": o.h.key_id})).await;
    let error = result["error"].as_str().unwrap();
    assert!(error.starts_with("api key secret not found") && error.contains("only a hash"), "{result}");
    assert!(result.get("key").is_none() && !result.to_string().contains(&o.h.key));
    let unknown = o.call("apikey/readSecret", json!({"id": "key_nope"})).await;
    assert!(unknown["error"].as_str().unwrap().contains("no platform key"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_apikey_models_lists_slugs_and_display_names() {
    let o = Original::start(1).await;
    let result = o.call("apikey/models", json!({"refreshRemote": true})).await;
    let slugs: Vec<&str> = result["items"].as_array().unwrap().iter().map(|m| m["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["codex-auto-review", "gpt-5.4-mini", "gpt-5.5"], "sorted by slug");
    assert_eq!(result["items"][2]["displayName"], "GPT-5.5");
    let cached = o.call("apikey/models", json!({})).await;
    assert_eq!(cached, result, "from the cache without refreshRemote");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_apikey_update_model_overwrites_model_and_effort() {
    let o = Original::start(0).await;
    let id = o.h.key_id.clone();
    let result =
        o.call("apikey/updateModel", json!({"id": id, "modelSlug": "gpt-5.5", "reasoningEffort": "high"})).await;
    assert_eq!(result["ok"], true, "{result}");
    let key = o.key(&id).await;
    assert_eq!((key["modelSlug"].clone(), key["reasoningEffort"].clone()), (json!("gpt-5.5"), json!("high")));
    o.call("apikey/updateModel", json!({"id": id, "modelSlug": "gpt-5.4-mini", "protocolType": "openai"})).await;
    let key = o.key(&id).await;
    assert_eq!((key["modelSlug"].clone(), key["reasoningEffort"].clone()), (json!("gpt-5.4-mini"), Value::Null));
    let moved = o.call("apikey/updateModel", json!({"id": id, "protocolType": "azure_openai"})).await;
    assert_action_failed(&moved, "protocol cannot change");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_apikey_delete_takes_id() {
    let o = Original::start(0).await;
    assert_eq!(o.call("apikey/delete", json!({"id": o.h.key_id})).await["ok"], true);
    assert_eq!(o.call("apikey/list", json!({})).await["items"], json!([]));
    assert_action_failed(&o.call("apikey/delete", json!({})).await, "`id`");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_apikey_disable_sets_status_disabled() {
    let o = Original::start(0).await;
    assert_eq!(o.call("apikey/disable", json!({"id": o.h.key_id})).await["ok"], true);
    assert_eq!(o.key(&o.h.key_id).await["status"], "disabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_apikey_enable_sets_status_active() {
    let o = Original::start(0).await;
    o.call("apikey/disable", json!({"id": o.h.key_id})).await;
    assert_eq!(o.call("apikey/enable", json!({"id": o.h.key_id})).await["ok"], true);
    assert_eq!(o.key(&o.h.key_id).await["status"], "active");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_gateway_route_strategy_get_lists_the_options() {
    let o = Original::start(1).await;
    let result = o.call("gateway/routeStrategy/get", Value::Null).await;
    assert_eq!(
        result,
        json!({"strategy": "ordered", "options": ["ordered", "balanced"], "manualPreferredAccountId": null})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn original_gateway_route_strategy_set_takes_aliases() {
    let o = Original::start(1).await;
    let result = o.call("gateway/routeStrategy/set", json!({"strategy": "round-robin"})).await;
    assert_eq!(result, json!({"strategy": "balanced"}));
    assert_eq!(o.call("gateway/routeStrategy/get", json!({})).await["strategy"], "balanced");
    assert_eq!(o.call("gateway/routeStrategy/set", json!({"strategy": "priority"})).await["strategy"], "ordered");
    let bad = o.call("gateway/routeStrategy/set", json!({"strategy": "random"})).await;
    assert!(bad["error"].as_str().unwrap().contains("use ordered or balanced"), "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_gateway_manual_account_get_reads_the_preference() {
    let o = Original::start(2).await;
    assert_eq!(o.call("gateway/manualAccount/get", json!({})).await, json!({"accountId": null}));
    o.call("gateway/manualAccount/set", json!({"accountId": o.account(1)})).await;
    assert_eq!(o.call("gateway/manualAccount/get", json!({})).await["accountId"], o.account(1));
    let strategy = o.call("gateway/routeStrategy/get", json!({})).await;
    assert_eq!(strategy["manualPreferredAccountId"], o.account(1));
    o.call("account/delete", json!({"accountId": o.account(1), "revoke": false})).await;
    assert_eq!(o.call("gateway/manualAccount/get", json!({})).await["accountId"], Value::Null, "gone with its account");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_gateway_manual_account_set_routes_to_that_account_first() {
    let o = Original::start(2).await;
    let result = o.call("gateway/manualAccount/set", json!({"accountId": o.account(1)})).await;
    assert_eq!(result["ok"], true, "{result}");
    o.ask().await;
    o.ask().await;
    assert_eq!(o.h.mock.served_by(), ["acct-00001", "acct-00001"], "the preferred account first, in ordered mode");
    o.call("account/update", json!({"accountId": o.account(0), "sort": -1})).await;
    o.ask().await;
    assert_eq!(o.h.mock.served_by()[2], "acct-00001", "the preference outlives a reload of the pool");
    assert_action_failed(&o.call("gateway/manualAccount/set", json!({})).await, "accountId");
    assert_action_failed(&o.call("gateway/manualAccount/set", json!({"accountId": "nope"})).await, "no account");
}

#[tokio::test(flavor = "multi_thread")]
async fn original_gateway_manual_account_clear_restores_the_sort_order() {
    let o = Original::start(2).await;
    o.call("gateway/manualAccount/set", json!({"accountId": o.account(1)})).await;
    assert_eq!(o.call("gateway/manualAccount/clear", Value::Null).await["ok"], true);
    assert_eq!(o.call("gateway/manualAccount/get", json!({})).await["accountId"], Value::Null);
    o.ask().await;
    assert_eq!(o.h.mock.served_by(), ["acct-00000"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn original_requestlog_list_takes_query_and_limit() {
    let o = Original::start(1).await;
    o.ask().await;
    let result = o.call("requestlog/list", json!({"query": "", "limit": 300})).await;
    let item = &result["items"][0];
    assert_eq!((item["requestPath"].clone(), item["method"].clone()), (json!("/v1/responses"), json!("POST")));
    assert_eq!((item["statusCode"].clone(), item["model"].clone()), (json!(200), json!("gpt-5.5")));
    assert_eq!((item["keyId"].clone(), item["accountId"].clone()), (json!(o.h.key_id), json!(o.account(0))));
    assert!(item["createdAt"].is_i64() && item.get("inputTokens").is_some() && item.get("totalTokens").is_some());
    assert_eq!(o.call("requestlog/list", json!({"query": "status:2xx"})).await["items"].as_array().unwrap().len(), 1);
    assert_eq!(o.call("requestlog/list", json!({"query": "status:5xx"})).await["items"], json!([]));
    let by_account = o.call("requestlog/list", json!({"query": format!("account_id:={}", o.account(0))})).await;
    assert_eq!(by_account["items"].as_array().unwrap().len(), 1, "{by_account}");

    // The original's webview calls this one method directly, with `jsonrpc`: the strict envelope.
    let request =
        json!({"jsonrpc": "2.0", "id": 7, "method": "requestlog/list", "params": {"query": "", "limit": 300}});
    let (_, body) = o.post(&request).await;
    assert_eq!((body["jsonrpc"].clone(), body["id"].clone()), (json!("2.0"), json!(7)));
    assert_eq!(body["result"]["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn original_requestlog_clear_empties_the_log() {
    let o = Original::start(1).await;
    o.ask().await;
    assert_eq!(o.call("requestlog/clear", Value::Null).await["ok"], true);
    assert_eq!(o.call("requestlog/list", json!({})).await["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn original_requestlog_today_summary_sums_todays_tokens() {
    let o = Original::start(1).await;
    o.ask().await;
    let result = o.call("requestlog/today_summary", Value::Null).await;
    let number = |field: &str| result[field].as_i64().unwrap_or_else(|| panic!("{field}: {result}"));
    assert!(number("inputTokens") > 0 && number("outputTokens") > 0, "{result}");
    assert_eq!(number("todayTokens"), number("inputTokens") - number("cachedInputTokens") + number("outputTokens"));
    assert!(result.get("reasoningOutputTokens").is_some() && result.get("estimatedCost").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_envelope_follows_the_jsonrpc_field_and_the_checks_hold_for_both() {
    let o = Original::start(0).await;
    let unknown = o.call("account/frobnicate", json!({})).await;
    assert_eq!(unknown, json!({"error": "unknown_method"}));
    let (_, strict) = o.post(&json!({"jsonrpc": "2.0", "id": 1, "method": "account/frobnicate"})).await;
    assert_eq!(strict["error"]["code"], -32601, "{strict}");
    let (_, strict) = o.post(&json!({"jsonrpc": "2.0", "id": 1, "method": "apikey/delete", "params": {}})).await;
    assert_eq!(strict["error"]["code"], -32602, "strict callers keep their error objects: {strict}");
    let (_, old) = o.post(&json!({"jsonrpc": "1.0", "id": 1, "method": "initialize"})).await;
    assert_eq!(old["error"]["code"], -32600, "{old}");
    let read = o.call("account/usage/read", json!({"accountId": "nope"})).await;
    assert!(read.get("ok").is_none() && read["error"].as_str().unwrap().contains("no account"), "a read: {read}");
    let (status, no_id) = o.post(&json!({"method": "initialize"})).await;
    assert_eq!(status, 200);
    assert!(no_id["result"]["error"].as_str().unwrap().contains("`id` is required"), "{no_id}");
    let (_, batch) =
        o.post(&json!([{"id": 1, "method": "initialize"}, {"jsonrpc": "2.0", "id": 2, "method": "initialize"}])).await;
    assert!(batch[0].get("jsonrpc").is_none() && batch[1]["jsonrpc"] == "2.0", "each call its own envelope: {batch}");

    let url = format!("{}/rpc", o.h.base);
    let call = json!({"id": 1, "method": "initialize"});
    let missing = o.h.http.post(&url).json(&call).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let cross =
        o.h.http
            .post(&url)
            .header("X-CodexManager-Rpc-Token", TOKEN)
            .header("Origin", "https://evil.example")
            .json(&call)
            .send()
            .await
            .unwrap();
    assert_eq!(cross.status(), 403);
}
