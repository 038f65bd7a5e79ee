//! `/rpc` over a real socket: auth, cross-site refusal, error codes and the methods.

use serde_json::{Value, json};

use crate::support::serve::Served;
use crate::support::{TestHome, auth_json};

async fn call(served: &Served, token: Option<&str>, headers: &[(&str, &str)], body: Value) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client.post(format!("{}/rpc", served.base)).json(&body);
    if let Some(token) = token {
        request = request.header("X-CodexManager-Rpc-Token", token);
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

#[tokio::test]
async fn rpc_requires_the_token_and_refuses_cross_site_requests() {
    let home = TestHome::new();
    let served = Served::start(&home, &[]);
    assert_eq!(served.token.len(), 64, "generated token written beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.data_dir().join("codexmanager.rpc-token")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (status, body) = call(&served, None, &[], rpc("account/list", json!({}))).await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"].as_str().unwrap().contains("missing RPC token"));

    let (status, body) = call(&served, Some("0000"), &[], rpc("account/list", json!({}))).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["message"], "wrong RPC token");

    let token = served.token.clone();
    let (status, _) =
        call(&served, Some(&token), &[("Origin", "https://evil.example")], rpc("account/list", json!({}))).await;
    assert_eq!(status, 403);
    let (status, _) =
        call(&served, Some(&token), &[("Sec-Fetch-Site", "cross-site")], rpc("account/list", json!({}))).await;
    assert_eq!(status, 403);
    let (status, body) =
        call(&served, Some(&token), &[("Origin", "http://localhost:5173")], rpc("account/list", json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["total"], 0);

    let bearer = format!("Bearer {token}");
    let (status, _) = call(&served, None, &[("Authorization", &bearer)], rpc("apikey/list", json!({}))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rpc_errors_name_the_problem() {
    let home = TestHome::new();
    let served = Served::start(&home, &[("CODEXMANAGER_RPC_TOKEN", "fixed-token-for-test")]);
    let token = Some("fixed-token-for-test");

    let (_, body) = call(&served, token, &[], rpc("account/frobnicate", json!({}))).await;
    assert_eq!(body["error"]["code"], -32601);
    assert_eq!(body["id"], 1);

    let (_, body) = call(&served, token, &[], rpc("apikey/create", json!({"name": 5}))).await;
    assert_eq!(body["error"]["code"], -32602);
    assert!(body["error"]["message"].as_str().unwrap().contains("`name`"), "{body}");

    let (_, body) = call(&served, token, &[], rpc("apikey/create", json!({"name": "k", "protocol": "smtp"}))).await;
    assert_eq!(body["error"]["code"], -32602);
    assert!(body["error"]["message"].as_str().unwrap().contains("`protocol`"));

    let (_, body) = call(&served, token, &[], rpc("appSettings/set", json!({"usagePollIntervalSecs": 5}))).await;
    assert_eq!(body["error"]["code"], -32602);
    assert!(body["error"]["message"].as_str().unwrap().contains("usagePollIntervalSecs"));

    let (_, body) = call(&served, token, &[], rpc("account/delete", json!({}))).await;
    assert_eq!(body["error"]["code"], -32602);
    assert!(body["error"]["message"].as_str().unwrap().contains("`ids`"));

    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/rpc", served.base))
        .header("X-CodexManager-Rpc-Token", "fixed-token-for-test")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700);
}

#[tokio::test]
async fn rpc_methods_drive_accounts_keys_and_settings() {
    let home = TestHome::new();
    let served = Served::start(&home, &[("CODEXMANAGER_RPC_TOKEN", "t0k")]);
    let token = Some("t0k");

    let (_, body) =
        call(&served, token, &[], rpc("account/import", json!({"contents": [auth_json(1).to_string(), "{bad"]}))).await;
    let result = &body["result"];
    assert_eq!(result["created"], 1, "{body}");
    assert_eq!(result["failed"][0]["source"], "contents[1]");
    let id = result["ids"][0].as_str().unwrap().to_string();

    let (_, body) = call(
        &served,
        token,
        &[],
        rpc("account/update", json!({"ids": [id], "group": "TEAM", "tags": ["a", "b"], "sort": 9})),
    )
    .await;
    assert_eq!(body["result"]["updated"], 1, "{body}");
    let (_, body) = call(&served, token, &[], rpc("account/update", json!({"id": id, "colour": "red"}))).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("colour"), "{body}");
    let (_, body) = call(&served, token, &[], rpc("account/list", json!({}))).await;
    let account = &body["result"]["items"][0];
    assert_eq!((account["group_name"].as_str(), account["sort"].as_i64()), (Some("TEAM"), Some(9)));
    assert_eq!(account["tags"], json!(["a", "b"]));

    let (_, body) = call(
        &served,
        token,
        &[],
        rpc("apikey/create", json!({"name": "cli", "protocolType": "anthropic", "modelSlug": "gpt-5.5"})),
    )
    .await;
    let key = body["result"]["key"].as_str().unwrap().to_string();
    let key_id = body["result"]["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("cm-"));
    let (_, body) = call(&served, token, &[], rpc("apikey/list", json!({}))).await;
    let listed = body["result"]["items"][0].clone();
    assert_eq!(listed["protocol"], "anthropic");
    assert_eq!(listed["model"], "gpt-5.5");
    assert!(!listed.to_string().contains(&key), "the list never shows the full key");
    assert!(key.starts_with(listed["key_prefix"].as_str().unwrap().trim_end_matches('…')));

    for method in ["apikey/disable", "apikey/enable"] {
        let (_, body) = call(&served, token, &[], rpc(method, json!({"id": key_id}))).await;
        assert_eq!(body["result"]["ok"], true);
    }
    let (_, body) = call(&served, token, &[], rpc("apikey/updateModel", json!({"id": key_id, "model": ""}))).await;
    assert_eq!(body["result"]["ok"], true);
    let (_, body) = call(&served, token, &[], rpc("apikey/delete", json!({"id": "key_missing"}))).await;
    assert_eq!(body["error"]["code"], -32004);

    let (_, body) = call(
        &served,
        token,
        &[],
        rpc("appSettings/set", json!({"routeStrategy": "balanced", "accountMaxInflight": 3})),
    )
    .await;
    assert_eq!(body["result"]["routeStrategy"]["value"], "balanced", "{body}");
    assert_eq!(body["result"]["routeStrategy"]["source"], "stored");
    let (_, body) = call(&served, token, &[], rpc("appSettings/get", Value::Null)).await;
    assert_eq!(body["result"]["accountMaxInflight"]["value"], "3");
    assert_eq!(body["result"]["serviceAddr"]["source"], "environment");

    let out = home.path().join("rpc-export.json");
    let (_, body) = call(&served, token, &[], rpc("account/export", json!({"out": out}))).await;
    assert_eq!(body["result"]["exported"], 1);
    let (_, body) = call(&served, token, &[], rpc("account/delete", json!({"ids": [id], "revoke": false}))).await;
    assert_eq!(body["result"]["deleted"], 1);
}
