//! Every call made for an account leaves through its route: its own proxy, else the global
//! one, else the system's; `direct` skips the global proxy. A dead proxy fails over unseen and
//! cools the account with the proxy as the reason; proxy credentials stay sealed and masked.

use std::sync::atomic::Ordering;

use codexmanager::core::AccountPatch;
use serde_json::Value;

use crate::support::harness::Harness;
use crate::support::proxies::{TestProxy, dead_proxy_url};
use crate::support::tokens;

use super::responses::body;

async fn set_proxy(h: &Harness, account: &str, proxy: &str) {
    let id = h.account_id_for(account);
    let patch = AccountPatch { proxy: Some(proxy.to_string()), ..AccountPatch::default() };
    h.core.update_accounts(vec![id], patch).await.unwrap();
}

/// Sends one `/v1/responses` request that only `account` may serve (the others disabled).
async fn ask_only(h: &Harness, account: &str) -> u16 {
    let all: Vec<String> = h.core.list_accounts().into_iter().map(|a| a.account.id.clone()).collect();
    let only = h.account_id_for(account);
    let others: Vec<String> = all.iter().filter(|id| **id != only).cloned().collect();
    let disable = AccountPatch { status: Some("disabled".into()), ..AccountPatch::default() };
    h.core.update_accounts(others.clone(), disable).await.unwrap();
    let status = h.post("/v1/responses").json(&body(false)).send().await.unwrap().status().as_u16();
    let enable = AccountPatch { status: Some("active".into()), ..AccountPatch::default() };
    h.core.update_accounts(others, enable).await.unwrap();
    status
}

#[tokio::test(flavor = "multi_thread")]
async fn each_account_leaves_through_its_own_proxy_the_global_one_or_none() {
    let global = TestProxy::http(None).await;
    let own = TestProxy::socks5(Some(("alice", "s3cret"))).await;
    let global_url = global.url();
    let h = Harness::start(3, &[("CODEXMANAGER_UPSTREAM_PROXY_URL", global_url.as_str())]).await;
    set_proxy(&h, "acct-00000", &own.url()).await;
    set_proxy(&h, "acct-00001", "direct").await;

    assert_eq!(ask_only(&h, "acct-00000").await, 200);
    assert_eq!((own.carried(), global.carried()), (1, 0), "account 0 through its own SOCKS5 proxy");
    assert_eq!(ask_only(&h, "acct-00001").await, 200);
    assert_eq!((own.carried(), global.carried()), (1, 0), "`direct` skips the global proxy");
    assert_eq!(ask_only(&h, "acct-00002").await, 200);
    assert_eq!(global.carried(), 1, "account 2 inherits the global proxy");

    // Refresh and usage of account 0 go through its proxy too (its pooled connection to the
    // mock is reused, or a new one is carried: either way nothing goes around it).
    let carried_before = (own.carried(), global.carried());
    let (_, old_access, _) = tokens(0);
    h.mock.reject_access_token(&old_access);
    assert_eq!(ask_only(&h, "acct-00000").await, 200);
    assert_eq!(h.mock.state.refresh_calls.load(Ordering::SeqCst), 1);
    let id = h.account_id_for("acct-00000");
    let report = h.core.refresh_usage(Some(vec![id]), |_| {}).await.unwrap();
    assert_eq!(report.refreshed, 1, "{:?}", report.failed);
    assert_eq!(global.carried(), carried_before.1, "nothing of account 0 went through the global proxy");
    assert!(own.log.targets.lock().unwrap().iter().all(|t| t.starts_with("127.0.0.1:")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_proxy_is_used_from_the_next_request() {
    let first = TestProxy::http(None).await;
    let second = TestProxy::socks5(None).await;
    let h = Harness::start(1, &[]).await;
    set_proxy(&h, "acct-00000", &first.url()).await;
    assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
    set_proxy(&h, "acct-00000", &second.url()).await;
    assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
    assert_eq!((first.carried(), second.carried()), (1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_proxy_fails_over_unseen_and_cools_the_account_with_the_proxy_reason() {
    let h = Harness::start(2, &[]).await;
    let dead = dead_proxy_url("socks5h");
    set_proxy(&h, "acct-00000", &dead).await;
    let response = h.post("/v1/chat/completions").json(&crate::chat::chat(false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(h.mock.served_by(), ["acct-00001"], "the dead route never reached the upstream");
    let id = h.account_id_for("acct-00000");
    let now = codexmanager::store::now_millis();
    let reason = h.core.pool().by_id[&id].cooldown_reason(now).expect("cooling down").to_string();
    assert!(reason.starts_with("proxy unreachable") && reason.contains("connection refused"), "{reason}");
    let trace = h.trace().await;
    assert!(trace.contains("code=proxy_unreachable"), "{trace}");
    let row = h.log_rows().await.pop().unwrap();
    assert_eq!((row.status, row.attempts), (200, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_proxy_credentials_are_named_as_such() {
    let socks = TestProxy::socks5(Some(("alice", "right"))).await;
    let http = TestProxy::http(Some(("bob", "right"))).await;
    let h = Harness::start(0, &[]).await;
    for url in [socks.url_with("alice", "wrong"), http.url_with("bob", "wrong")] {
        let test = h.core.test_proxy(&url).await.unwrap();
        assert!(!test.reachable);
        let error = test.error.unwrap();
        assert!(error.contains("refused the user name or password"), "{url}: {error}");
        assert!(!error.contains("wrong"), "the password is not shown: {error}");
    }
    assert_eq!(socks.log.refused.load(Ordering::SeqCst) + http.log.refused.load(Ordering::SeqCst), 2);
    let good = h.core.test_proxy(&socks.url()).await.unwrap();
    assert!(good.reachable, "{good:?}");
    assert!(h.core.test_proxy("sock5://127.0.0.1:1").await.unwrap_err().to_string().contains("not supported"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_goes_through_the_chosen_proxy_and_the_account_keeps_it() {
    let proxy = TestProxy::socks5(Some(("carol", "pa55"))).await;
    let h = Harness::start(0, &[("CODEXMANAGER_REDIRECT_URI", "http://localhost:1455/auth/callback")]).await;
    h.mock.sign_in_as(7);
    let choice = codexmanager::egress::AccountProxy::parse(&proxy.url()).unwrap();
    let ticket = h.core.login_start_via(codexmanager::core::LoginKind::Manual, choice).await.unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location =
        browser.get(&ticket.auth_url).send().await.unwrap().headers()["location"].to_str().unwrap().to_string();
    let status = h.core.login_complete(&ticket.login_id, &location).await.unwrap();
    let id = status.account_id.expect("signed in");
    assert_eq!(proxy.carried(), 1, "the code exchange went through the proxy");
    let account = h.core.list_accounts().into_iter().find(|a| a.account.id == id).unwrap();
    assert_eq!(account.account.proxy.as_deref(), Some(format!("socks5h://carol:***@{}", proxy.addr).as_str()));
    let route = h.core.route_of(&h.core.pool().by_id[&id]).unwrap();
    assert_eq!(route.describe(), format!("socks5h://carol:***@{}", proxy.addr), "and so do its requests");
    assert_eq!(h.post("/v1/responses").json(&body(false)).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_passwords_are_sealed_masked_and_never_written_in_plain_text() {
    let own = TestProxy::socks5(Some(("dave", "pw-account-7f3e"))).await;
    let global = TestProxy::http(Some(("erin", "pw-global-91ac"))).await;
    let h = Harness::start(2, &[]).await;
    set_proxy(&h, "acct-00000", &own.url()).await;
    let mut settings = serde_json::Map::new();
    settings.insert("upstreamProxyUrl".into(), Value::String(global.url()));
    let shown = h.core.set_settings(settings).await.unwrap();
    assert_eq!(shown["upstreamProxyUrl"].value, format!("http://erin:***@{}", global.addr));
    assert_eq!(ask_only(&h, "acct-00000").await, 200);
    assert_eq!(ask_only(&h, "acct-00001").await, 200);
    assert_eq!((own.carried(), global.carried()), (1, 1));

    let listed = serde_json::to_string(&h.core.list_accounts()).unwrap();
    assert!(listed.contains("dave:***@") && !listed.contains("pw-account"), "{listed}");
    let export = h.home.path().join("export.json");
    h.core.export_accounts(export.clone(), None, false).await.unwrap();
    let masked = std::fs::read_to_string(&export).unwrap();
    assert!(masked.contains("dave:***@") && !masked.contains("pw-account"));
    h.core.export_accounts(export.clone(), None, true).await.unwrap();
    assert!(std::fs::read_to_string(&export).unwrap().contains(&own.url()), "--with-secrets writes it whole");

    h.core.logs().flush().await;
    let _ = h.trace().await;
    let data = h.home.data_dir();
    let mut files =
        vec![data.join("codexmanager.db"), data.join("codexmanager.db-wal"), data.join("gateway-trace.log")];
    if let Ok(logs) = std::fs::read_dir(data.join("logs")) {
        files.extend(logs.map(|e| e.unwrap().path()));
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for secret in ["pw-account-7f3e", "pw-global-91ac"] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} in {}", file.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_sets_tests_imports_and_lists_proxies() {
    let proxy = TestProxy::socks5(Some(("frank", "pw-cli-55"))).await;
    let h = Harness::start(1, &[]).await;
    let id = h.account_id_for("acct-00000");
    let upstream = h.mock.upstream();
    let run =
        |args: &[&str]| h.home.command().env("CODEXMANAGER_UPSTREAM_BASE_URL", &upstream).args(args).output().unwrap();

    let set = run(&["account", "update", &id, "--proxy", &proxy.url(), "--json"]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let listed = String::from_utf8(run(&["account", "list", "--json"]).stdout).unwrap();
    assert!(listed.contains(&format!("socks5h://frank:***@{}", proxy.addr)) && !listed.contains("pw-cli"), "{listed}");
    let table = String::from_utf8(run(&["account", "list"]).stdout).unwrap();
    assert!(table.contains("PROXY") && table.contains("socks5h://frank:***@"), "{table}");

    let tested = run(&["account", "test-proxy", &id]);
    let text = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.status.success() && text.contains("the upstream answered"), "{text}");
    let dead = run(&["proxy", "test", &dead_proxy_url("http")]);
    assert_eq!(dead.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dead.stdout).contains("nothing answers at the proxy's address"));
    let bad = run(&["account", "update", &id, "--proxy", "sock5://127.0.0.1:1080"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("http://, https://, socks5:// or socks5h://"));

    // Import carries the proxy (the original's `proxyUrl` spelling too) and `inherit` clears it.
    let mut entry = crate::support::auth_json(3);
    entry["proxyUrl"] = Value::String("direct".into());
    let file = h.home.write("with-proxy.json", &entry.to_string());
    assert!(run(&["account", "import", file.to_str().unwrap()]).status.success());
    h.core.reload().await.unwrap();
    let imported =
        h.core.list_accounts().into_iter().find(|a| a.account.email.as_deref() == Some("user3@example.com")).unwrap();
    assert_eq!(imported.account.proxy.as_deref(), Some("direct"));
    assert!(run(&["account", "update", &id, "--proxy", "inherit"]).status.success());
    h.core.reload().await.unwrap();
    assert_eq!(h.core.list_accounts().into_iter().find(|a| a.account.id == id).unwrap().account.proxy, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn rpc_sets_an_accounts_proxy_and_the_global_one() {
    let proxy = TestProxy::http(Some(("gina", "pw-rpc-31"))).await;
    let h = Harness::start(1, &[]).await;
    let id = h.account_id_for("acct-00000");
    let call = |method: &str, params: Value| {
        h.http
            .post(format!("{}/rpc", h.base))
            .header("X-CodexManager-Rpc-Token", "rpc")
            .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
    };
    let answer: Value = call("account/update", serde_json::json!({"id": id, "proxyUrl": proxy.url()}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["result"]["updated"], 1, "{answer}");
    let tested: Value =
        call("account/proxy/test", serde_json::json!({"ids": [id]})).await.unwrap().json().await.unwrap();
    assert_eq!(tested["result"]["items"][0]["reachable"], true, "{tested}");
    let set: Value = call("appSettings/set", serde_json::json!({"upstreamProxyUrl": proxy.url()}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["result"]["upstreamProxyUrl"]["value"], format!("http://gina:***@{}", proxy.addr), "{set}");
    let refused: Value = call("appSettings/set", serde_json::json!({"upstreamProxyUrl": "sock5://x:1"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
}
