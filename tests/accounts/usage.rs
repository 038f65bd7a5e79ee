//! Usage: the endpoint's windows stored and shown, 401 → one refresh and one retry, the
//! poller (at start, right after an account appears, never over the concurrency cap), and
//! `codexmanager usage refresh` over 200 accounts.

use std::sync::atomic::Ordering;
use std::time::Duration;

use codexmanager::core::Progress;
use codexmanager::store::usage::Window;
use codexmanager::usage::availability::Availability;
use serde_json::{Value, json};

use crate::setup::{Setup, eventually, mock_env};
use crate::support::{TestHome, auth_json, tokens};

#[tokio::test(flavor = "multi_thread")]
async fn refreshing_stores_both_windows_plan_and_credits() {
    let s = Setup::start(&[]).await;
    let ids = s.import(vec![auth_json(0), auth_json(1)]).await;
    s.mock.set_usage_body(
        "acct-00000",
        json!({"plan_type": "pro", "rate_limit": {"allowed": true, "limit_reached": false,
            "primary_window": {"used_percent": 15, "limit_window_seconds": 18000, "reset_after_seconds": 9000, "reset_at": 4102444800i64},
            "secondary_window": {"used_percent": 5, "limit_window_seconds": 604800, "reset_after_seconds": 500000, "reset_at": 4102444900i64}},
            "credits": {"has_credits": true, "unlimited": false, "balance": "9.99"}}),
    );
    let seen = std::sync::Mutex::new(Vec::new());
    let report = s.core.refresh_usage(None, |p| seen.lock().unwrap().push(p)).await.unwrap();
    assert_eq!((report.total, report.refreshed, report.failed.len()), (2, 2, 0));
    assert_eq!(seen.lock().unwrap().last(), Some(&Progress { done: 2, total: 2, failed: 0, finished: true }));
    let view = s.account(&ids[0]);
    let usage = view.usage.expect("usage in the snapshot");
    assert_eq!(
        usage.primary,
        Some(Window { used_percent: 15.0, window_minutes: Some(300), resets_at: Some(4102444800) })
    );
    assert_eq!(
        usage.secondary,
        Some(Window { used_percent: 5.0, window_minutes: Some(10080), resets_at: Some(4102444900) })
    );
    assert_eq!((usage.plan.as_deref(), usage.source.as_str()), (Some("pro"), "poll"));
    assert_eq!((usage.credits_has, usage.credits_balance.as_deref()), (Some(true), Some("9.99")));
    assert_eq!(view.availability, Availability::Available);
    let calls = s.mock.usage_calls();
    assert_eq!(calls.len(), 2);
    assert!(calls.contains(&"acct-00000".to_string()) && calls.contains(&"acct-00001".to_string()));

    // Written to SQLite as well.
    let conn = rusqlite::Connection::open(s.home.db()).unwrap();
    let stored: f64 = conn
        .query_row("SELECT primary_used_percent FROM usage_snapshots WHERE account_id = ?1", [&ids[0]], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 15.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn exhausted_windows_make_the_account_unavailable_with_the_reason() {
    let s = Setup::start(&[]).await;
    let ids = s.import(vec![auth_json(0), auth_json(1), auth_json(2)]).await;
    let future = chrono::Utc::now().timestamp() + 3600;
    let body = |p: f64, s: Option<f64>| {
        let secondary = s.map(|s| json!({"used_percent": s, "limit_window_seconds": 604800, "reset_at": future}));
        json!({"rate_limit": {"primary_window": {"used_percent": p, "limit_window_seconds": 18000, "reset_at": future},
            "secondary_window": secondary}})
    };
    s.mock.set_usage_body("acct-00000", body(100.0, Some(10.0)));
    s.mock.set_usage_body("acct-00001", body(10.0, Some(100.0)));
    s.mock.set_usage_body("acct-00002", body(10.0, None));
    s.core.refresh_usage(None, |_| {}).await.unwrap();
    assert_eq!(s.account(&ids[0]).availability, Availability::Unavailable("5-hour window exhausted".into()));
    assert_eq!(s.account(&ids[1]).availability, Availability::Unavailable("weekly window exhausted".into()));
    assert_eq!(s.account(&ids[2]).availability, Availability::SingleWindow);
    assert!(!s.core.pool().by_id[&ids[0]].availability(chrono::Utc::now().timestamp()).is_routable());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_from_the_usage_endpoint_refreshes_the_token_once_and_retries() {
    let s = Setup::start(&[]).await;
    let ids = s.import(vec![auth_json(0)]).await;
    s.mock.reject_access_token(&tokens(0).1);
    let report = s.core.refresh_usage(Some(ids.clone()), |_| {}).await.unwrap();
    assert_eq!(report.refreshed, 1, "{report:?}");
    assert_eq!(s.mock.state.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(s.mock.usage_calls(), ["acct-00000", "acct-00000"]);
    assert!(s.account(&ids[0]).usage.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_reported_per_account_and_unknown_ids_refused() {
    let s = Setup::start(&[]).await;
    let ids = s.import(vec![auth_json(0), auth_json(1)]).await;
    s.mock.script_usage_status("acct-00001", [500]);
    let report = s.core.refresh_usage(None, |_| {}).await.unwrap();
    assert_eq!(report.refreshed, 1);
    assert_eq!(report.failed[0].account_id, ids[1]);
    assert!(report.failed[0].message.contains("answered 500"), "{:?}", report.failed);
    let err = s.core.refresh_usage(Some(vec!["nope".into()]), |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("no account with id nope"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_can_follow_a_refresh_through_a_watch() {
    let s = Setup::start(&[]).await;
    s.import((0..10).map(auth_json).collect()).await;
    s.mock.state.usage_delay_ms.store(10, Ordering::SeqCst);
    let mut progress = s.core.start_usage_refresh(None).unwrap();
    assert_eq!(progress.borrow().total, 10);
    let last = *progress.wait_for(|p| p.finished).await.unwrap();
    assert_eq!(last, Progress { done: 10, total: 10, failed: 0, finished: true });
    assert!(s.mock.state.usage_max_inflight.load(Ordering::SeqCst) <= 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_poller_fetches_active_accounts_at_start_and_new_ones_at_once() {
    let s = Setup::polling(&[("CODEXMANAGER_USAGE_POLL_INTERVAL_SECS", "3600")]).await;
    let ids = s.import(vec![auth_json(0), auth_json(1)]).await;
    s.core
        .update_accounts(vec![ids[1].clone()], serde_json::from_value(json!({"status": "disabled"})).unwrap())
        .await
        .unwrap();
    s.core.spawn_background();
    eventually(5, "the first poll", || s.mock.usage_calls() == ["acct-00000"]).await;
    eventually(5, "the snapshot shows it", || s.account(&ids[0]).usage.is_some()).await;

    let added = s.import(vec![auth_json(2)]).await;
    eventually(5, "the new account's usage, without waiting an hour", || {
        s.mock.usage_calls().contains(&"acct-00002".to_string())
    })
    .await;
    eventually(5, "shown for the new account", || s.account(&added[0]).usage.is_some()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.mock.usage_calls().len(), 2, "nothing else was polled: {:?}", s.mock.usage_calls());
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_polling_fetches_nothing_by_itself() {
    let s = Setup::start(&[]).await;
    s.import(vec![auth_json(0)]).await;
    s.core.spawn_background();
    let added = s.import(vec![auth_json(1)]).await;
    // A positive signal first: a refresh asked for by hand goes through and is counted.
    let mut progress = s.core.start_usage_refresh(Some(added.clone())).unwrap();
    progress.wait_for(|p| p.finished).await.unwrap();
    assert_eq!(s.mock.usage_calls(), ["acct-00001"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.mock.usage_calls(), ["acct-00001"], "only the refresh asked for");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_usage_refresh_on_200_accounts_reports_progress_within_the_concurrency_cap() {
    let home = TestHome::new();
    let mock = crate::support::mock::Mock::start().await;
    mock.state.usage_delay_ms.store(10, Ordering::SeqCst);
    let file = home.write("pool.json", &Value::Array((0..200).map(auth_json).collect()).to_string());
    let import = home.run_json(&["account", "import", "--json", file.to_str().unwrap()]);
    assert_eq!(import["created"], 200);

    let mut cmd = home.command();
    cmd.args(["usage", "refresh"]).envs(mock_env(&mock));
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("usage: 20/200 done, 180 remaining"), "{stdout}");
    assert!(stdout.contains("usage: 200/200 done, 0 remaining"), "{stdout}");
    assert!(stdout.contains("refreshed the usage of 200 account(s), 0 failed"), "{stdout}");
    assert_eq!(mock.usage_calls().len(), 200);
    assert_eq!(mock.state.usage_max_inflight.load(Ordering::SeqCst), 4, "never more than the cap at once");

    let accounts = home.run_json(&["account", "list", "--json"]);
    let with_usage = accounts.as_array().unwrap().iter().filter(|a| a["usage"]["primary"].is_object()).count();
    assert_eq!(with_usage, 200, "every snapshot was written before the process ended");

    let mut cmd = home.command();
    cmd.args(["usage", "refresh", "--json", "no-such-id"]).envs(mock_env(&mock));
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account with id no-such-id"));
}
