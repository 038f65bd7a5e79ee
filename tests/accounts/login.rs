//! Browser sign-in end to end: the real callback listener, the mock issuer's authorize and
//! code exchange (PKCE checked), the account stored sealed; pasted callbacks; every error.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use codexmanager::core::{LoginKind, LoginOptions, LoginState};
use serde_json::{Value, json};

use crate::setup::{Setup, authorize, browser, mock_env};
use crate::support::harness::Harness;
use crate::support::{TestHome, tokens};

const BROWSER: LoginKind = LoginKind::Browser { open_browser: false };

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_sign_in_stores_the_account_sealed_with_its_claims() {
    let s = Setup::start(&[]).await;
    s.mock.sign_in_as(3);
    let ticket = s.core.login_start(BROWSER).await.unwrap();
    let port = url::Url::parse(&ticket.redirect_uri).unwrap().port().unwrap();
    assert_eq!(ticket.redirect_uri, format!("http://localhost:{port}/auth/callback"), "follows the listener's port");
    assert!(ticket.auth_url.starts_with(&format!("{}/oauth/authorize?", s.mock.base)));
    let params = query(&ticket.auth_url);
    let keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "id_token_add_organizations",
            "codex_cli_simplified_flow",
            "state",
            "originator"
        ]
    );
    let value = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).unwrap();
    assert_eq!(value("client_id"), "app_EMoamEEZ73f0CkXaXp7hrann");
    assert_eq!(value("redirect_uri"), ticket.redirect_uri);
    assert_eq!(value("originator"), "codex_cli_rs");
    assert_eq!(value("code_challenge_method"), "S256");
    assert!(value("scope").starts_with("openid profile email offline_access"));
    assert_eq!(s.core.login_status(&ticket.login_id).unwrap().status, LoginState::Pending);

    let location = authorize(&ticket.auth_url).await;
    assert!(location.starts_with(&ticket.redirect_uri), "{location}");
    let page = browser().get(&location).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Signed in as user3@example.com") && html.contains("close this tab"), "{html}");

    let status = s.core.login_status(&ticket.login_id).unwrap();
    assert_eq!((status.status, status.error.as_deref()), (LoginState::Completed, None));
    let id = status.account_id.expect("the new account's id");
    let view = s.account(&id);
    assert_eq!(view.account.email.as_deref(), Some("user3@example.com"));
    assert_eq!(view.account.chatgpt_account_id.as_deref(), Some("acct-00003"));
    assert_eq!(view.account.chatgpt_user_id.as_deref(), Some("user-00003"));
    assert_eq!(view.account.plan.as_deref(), Some("pro"));
    assert_eq!(s.mock.state.code_exchanges.load(std::sync::atomic::Ordering::SeqCst), 1);

    // Sealed at rest: neither token appears in the database; the vault opens them.
    let held = s.tokens(&id);
    assert!(held.refresh_token.as_deref().unwrap().starts_with("rt_signed_in_for_acct-00003"));
    let conn = rusqlite::Connection::open(s.home.db()).unwrap();
    let sealed: Vec<u8> =
        conn.query_row("SELECT sealed FROM account_tokens WHERE account_id = ?1", [&id], |r| r.get(0)).unwrap();
    let sealed = String::from_utf8_lossy(&sealed);
    assert!(!sealed.contains("rt_signed_in") && !sealed.contains(&held.access_token[..40]));

    // The listener lived only for the sign-in.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(browser().get(&location).send().await.is_err(), "the callback port is closed again");
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_again_updates_the_same_account() {
    let s = Setup::start(&[]).await;
    let ids = s.import(vec![crate::support::auth_json(2)]).await;
    s.mock.sign_in_as(2);
    let ticket = s.core.login_start(BROWSER).await.unwrap();
    browser().get(authorize(&ticket.auth_url).await).send().await.unwrap();
    let status = s.core.login_wait(&ticket.login_id).await.unwrap();
    assert_eq!(status.account_id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(s.core.list_accounts().len(), 1);
    assert_ne!(s.tokens(&ids[0]).refresh_token, Some(tokens(2).2), "the new tokens replaced the imported ones");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_with_the_wrong_state_is_refused_and_the_sign_in_keeps_waiting() {
    let s = Setup::start(&[]).await;
    let ticket = s.core.login_start(BROWSER).await.unwrap();
    let location = authorize(&ticket.auth_url).await;
    let mut forged = url::Url::parse(&location).unwrap();
    let code = query(&location).into_iter().find(|(k, _)| k == "code").unwrap().1;
    forged.set_query(Some(&format!("code={code}&state=someone-elses")));
    let page = browser().get(forged.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(html.contains("belongs to another sign-in") && html.contains("start the sign-in again"), "{html}");
    let status = s.core.login_status(&ticket.login_id).unwrap();
    assert_eq!(status.status, LoginState::Pending);
    assert!(status.error.unwrap().contains("state does not match"));
    assert_eq!(s.mock.state.code_exchanges.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing exchanged");

    let page = browser().get(&location).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(s.core.login_status(&ticket.login_id).unwrap().status, LoginState::Completed);
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_for_a_workspace_without_codex_is_explained() {
    let s = Setup::start(&[]).await;
    s.mock.deny_next_authorize("missing_codex_entitlement");
    let ticket = s.core.login_start(BROWSER).await.unwrap();
    let location = authorize(&ticket.auth_url).await;
    assert!(location.contains("error=access_denied"), "{location}");
    let page = browser().get(&location).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("Codex is not enabled for this ChatGPT workspace"), "{html}");
    let status = s.core.login_status(&ticket.login_id).unwrap();
    assert_eq!(status.status, LoginState::Failed);
    let error = status.error.unwrap();
    assert!(error.contains("missing_codex_entitlement") && error.contains("workspace admin"), "{error}");
    assert!(s.core.list_accounts().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_code_exchange_fails_the_sign_in_with_the_issuers_reason() {
    let s = Setup::start(&[]).await;
    s.mock.state.fail_code_exchange.store(true, std::sync::atomic::Ordering::SeqCst);
    let ticket = s.core.login_start(BROWSER).await.unwrap();
    let page = browser().get(authorize(&ticket.auth_url).await).send().await.unwrap();
    assert_eq!(page.status(), 502);
    let html = page.text().await.unwrap();
    assert!(html.contains("invalid_grant") && html.contains("Start the sign-in again"), "{html}");
    let status = s.core.login_status(&ticket.login_id).unwrap();
    assert_eq!(status.status, LoginState::Failed);
    assert!(status.error.unwrap().contains("exchanging the sign-in code for tokens failed"));
    assert!(s.core.list_accounts().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_callback_port_says_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let s = Setup::start(&[("CODEXMANAGER_LOGIN_ADDR", &addr)]).await;
    let err = s.core.login_start(BROWSER).await.unwrap_err().to_string();
    assert!(err.contains(&addr) && err.contains("already in use"), "{err}");
    assert!(err.contains("CODEXMANAGER_LOGIN_ADDR") && err.contains("--manual"), "{err}");
    // The manual sign-in still works while the port is taken.
    let ticket = s.core.login_start(LoginKind::Manual).await.unwrap();
    let port = taken.local_addr().unwrap().port();
    assert_eq!(ticket.redirect_uri, format!("http://localhost:{port}/auth/callback"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_loopback_callback_address_is_refused_unless_allowed() {
    let s = Setup::start(&[("CODEXMANAGER_LOGIN_ADDR", "0.0.0.0:0")]).await;
    let err = s.core.login_start(BROWSER).await.unwrap_err().to_string();
    assert!(err.contains("not a loopback address") && err.contains("CODEXMANAGER_ALLOW_NON_LOOPBACK_LOGIN_ADDR=1"));
    for allow in ["1", "true", "TRUE", "yes", "YES"] {
        let s = Setup::start(&[
            ("CODEXMANAGER_LOGIN_ADDR", "0.0.0.0:0"),
            ("CODEXMANAGER_ALLOW_NON_LOOPBACK_LOGIN_ADDR", allow),
        ])
        .await;
        let ticket = s.core.login_start(BROWSER).await.expect(allow);
        s.core.login_cancel(&ticket.login_id).await.unwrap();
    }
    let s =
        Setup::start(&[("CODEXMANAGER_LOGIN_ADDR", "0.0.0.0:0"), ("CODEXMANAGER_ALLOW_NON_LOOPBACK_LOGIN_ADDR", "on")])
            .await;
    assert!(s.core.login_start(BROWSER).await.is_err(), "only 1/true/TRUE/yes/YES allow it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_callback_address_or_bare_code_completes_a_manual_sign_in() {
    let s = Setup::start(&[("CODEXMANAGER_REDIRECT_URI", "http://localhost:1455/auth/callback")]).await;
    s.mock.sign_in_as(5);
    let ticket = s.core.login_start(LoginKind::Manual).await.unwrap();
    assert_eq!(ticket.redirect_uri, "http://localhost:1455/auth/callback", "CODEXMANAGER_REDIRECT_URI wins");
    let location = authorize(&ticket.auth_url).await;
    let nothing = s.core.login_complete(&ticket.login_id, "http://localhost:1455/auth/callback").await.unwrap_err();
    assert!(nothing.to_string().contains("no sign-in code found"), "{nothing}");
    let forged = location.replace("state=", "state=x");
    let wrong = s.core.login_complete(&ticket.login_id, &forged).await.unwrap_err();
    assert!(wrong.to_string().contains("state does not match"), "{wrong}");
    let status = s.core.login_complete(&ticket.login_id, &format!("  {location}\n")).await.unwrap();
    assert_eq!(status.status, LoginState::Completed);
    assert_eq!(s.account(&status.account_id.unwrap()).account.email.as_deref(), Some("user5@example.com"));
    let again = s.core.login_complete(&ticket.login_id, &location).await.unwrap_err();
    assert!(again.to_string().contains("already completed"), "{again}");

    s.mock.sign_in_as(6);
    let ticket = s.core.login_start(LoginKind::Manual).await.unwrap();
    let code = query(&authorize(&ticket.auth_url).await).into_iter().find(|(k, _)| k == "code").unwrap().1;
    let status = s.core.login_complete(&ticket.login_id, &code).await.unwrap();
    assert_eq!(s.account(&status.account_id.unwrap()).account.chatgpt_account_id.as_deref(), Some("acct-00006"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_browser_sign_in_takes_over_from_an_earlier_one() {
    let s = Setup::start(&[]).await;
    let first = s.core.login_start(BROWSER).await.unwrap();
    let second = s.core.login_start(BROWSER).await.unwrap();
    assert_eq!(s.core.login_status(&first.login_id).unwrap().status, LoginState::Cancelled);
    assert_eq!(s.core.login_status(&second.login_id).unwrap().status, LoginState::Pending);
    browser().get(authorize(&second.auth_url).await).send().await.unwrap();
    assert_eq!(s.core.login_wait(&second.login_id).await.unwrap().status, LoginState::Completed);
}

/// Spawns `codexmanager account login ARGS --json` against the mock; returns the child and
/// the ticket it printed first.
fn spawn_cli_login(home: &TestHome, mock_env: &[(String, String)], args: &[&str]) -> (std::process::Child, Value) {
    let mut cmd = home.command();
    cmd.args(["account", "login", "--json"]).args(args).envs(mock_env.iter().cloned());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn codexmanager");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let ticket: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("ticket line {line:?}: {e}"));
    (child, ticket)
}

async fn finish(child: std::process::Child) -> (bool, String, String) {
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_login_waits_for_the_browser_and_prints_the_outcome() {
    let home = TestHome::new();
    let mock = crate::support::mock::Mock::start().await;
    mock.sign_in_as(7);
    let (child, ticket) = spawn_cli_login(&home, &mock_env(&mock), &["--no-browser"]);
    assert!(ticket["loginId"].is_string() && ticket["device"].is_null(), "{ticket}");
    let location = authorize(ticket["authUrl"].as_str().unwrap()).await;
    let page = browser().get(&location).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let (ok, stdout, stderr) = finish(child).await;
    assert!(ok, "{stderr}");
    let status: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(status["status"], "completed");
    let accounts = home.run_json(&["account", "list", "--json"]);
    assert_eq!(accounts[0]["email"], "user7@example.com");
    assert_eq!(accounts[0]["id"], status["accountId"]);
    assert_eq!(accounts[0]["usage"]["primary"]["used_percent"], 12.0, "usage fetched right after sign-in");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_login_completes_from_an_address_pasted_on_stdin() {
    let home = TestHome::new();
    let mock = crate::support::mock::Mock::start().await;
    let mut env = mock_env(&mock);
    env.push(("CODEXMANAGER_REDIRECT_URI".into(), "http://localhost:1/auth/callback".into()));
    let (mut child, ticket) = spawn_cli_login(&home, &env, &["--manual"]);
    let location = authorize(ticket["authUrl"].as_str().unwrap()).await;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "not an address").unwrap();
    writeln!(stdin, "{location}").unwrap();
    let (ok, stdout, stderr) = finish(child).await;
    assert!(ok, "{stderr}");
    assert!(stderr.contains("no sign-in code found"), "the bad line was explained: {stderr}");
    assert!(stdout.contains("\"status\":\"completed\""), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_login_fails_with_the_reason() {
    let home = TestHome::new();
    let mock = crate::support::mock::Mock::start().await;
    mock.deny_next_authorize("missing_codex_entitlement");
    let (child, ticket) = spawn_cli_login(&home, &mock_env(&mock), &["--no-browser"]);
    browser().get(authorize(ticket["authUrl"].as_str().unwrap()).await).send().await.unwrap();
    let (ok, _, stderr) = finish(child).await;
    assert!(!ok);
    assert!(stderr.contains("error: Codex is not enabled for this ChatGPT workspace"), "{stderr}");
}

async fn rpc(h: &Harness, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let response = h.http.post(format!("{}/rpc", h.base)).bearer_auth("rpc").json(&body).send().await.unwrap();
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn rpc_login_methods_have_the_original_shapes() {
    let h = Harness::start(0, &[("CODEXMANAGER_LOGIN_ADDR", "127.0.0.1:0")]).await;
    let started = rpc(&h, "account/login/start", json!({"type": "chatgpt"})).await;
    let start = &started["result"];
    assert!(start["loginId"].is_string() && start["device"].is_null(), "{started}");
    assert!(start["redirectUri"].as_str().unwrap().ends_with("/auth/callback"));
    let id = start["loginId"].as_str().unwrap();
    let pending = rpc(&h, "account/login/status", json!({"loginId": id})).await;
    assert_eq!(pending["result"], json!({"status": "pending", "error": null, "accountId": null}));
    browser().get(authorize(start["authUrl"].as_str().unwrap()).await).send().await.unwrap();
    let done = rpc(&h, "account/login/status", json!({"loginId": id})).await;
    assert_eq!(done["result"]["status"], "completed");
    assert!(done["result"]["accountId"].is_string());

    let manual = rpc(&h, "account/login/start", json!({"type": "manual"})).await;
    let id = manual["result"]["loginId"].as_str().unwrap();
    let location = authorize(manual["result"]["authUrl"].as_str().unwrap()).await;
    let bad = rpc(&h, "account/login/complete", json!({"loginId": id, "callbackUrl": "nothing here/"})).await;
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let done = rpc(&h, "account/login/complete", json!({"loginId": id, "callbackUrl": location})).await;
    assert_eq!(done["result"]["status"], "completed", "{done}");

    let cancelled = rpc(&h, "account/login/start", json!({})).await;
    let id = cancelled["result"]["loginId"].as_str().unwrap();
    let status = rpc(&h, "account/login/cancel", json!({"loginId": id})).await;
    assert_eq!(status["result"]["status"], "cancelled");
    let unknown = rpc(&h, "account/login/status", json!({"loginId": "nope"})).await;
    assert_eq!(unknown["error"]["code"], -32004);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_restricted_to_a_workspace_refuses_another_account() {
    let s = Setup::start(&[("CODEXMANAGER_REDIRECT_URI", "http://localhost:1455/auth/callback")]).await;
    let restricted = |workspace: &str| LoginOptions { workspace: Some(workspace.to_string()), ..Default::default() };
    s.mock.sign_in_as(4);
    let ticket = s.core.login_start_with(LoginKind::Manual, restricted("acct-00009")).await.unwrap();
    let params = query(&ticket.auth_url);
    assert_eq!(params.last().unwrap(), &("allowed_workspace_id".to_string(), "acct-00009".to_string()));
    let location = authorize(&ticket.auth_url).await;
    let refused = s.core.login_complete(&ticket.login_id, &location).await.unwrap_err();
    assert!(
        refused.to_string().contains("restricted to the ChatGPT workspace acct-00009")
            && refused.to_string().contains("signed in to acct-00004"),
        "{refused}"
    );
    assert_eq!(s.core.login_status(&ticket.login_id).unwrap().status, LoginState::Failed);
    assert!(s.core.list_accounts().is_empty(), "nothing was stored");

    let ticket = s.core.login_start_with(LoginKind::Manual, restricted(" acct-00001, acct-00004 ")).await.unwrap();
    let status = s.core.login_complete(&ticket.login_id, &authorize(&ticket.auth_url).await).await.unwrap();
    assert_eq!(status.status, LoginState::Completed);
    assert_eq!(s.account(&status.account_id.unwrap()).account.chatgpt_account_id.as_deref(), Some("acct-00004"));
}
