//! The token keeper: proactive refresh before expiry, rotation persisted and never reused,
//! single flight under concurrent triggers, permanent versus transient failures, and no
//! account or request waiting on another account's refresh.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use codexmanager::core::Core;
use codexmanager::store::accounts::AccountStatus;

use crate::setup::{Setup, eventually, expiring_auth_json};
use crate::support::harness::Harness;
use crate::support::tokens;

fn refresh_calls(s: &Setup) -> usize {
    s.mock.state.refresh_calls.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_access_token_near_expiry_is_refreshed_in_the_background_and_rotation_persists() {
    let s = Setup::start(&[]).await;
    let ids = s.import(vec![expiring_auth_json(0, 120), crate::support::auth_json(1)]).await;
    let (_, _, original_refresh) = tokens(0);
    s.core.spawn_background();
    eventually(5, "the keeper refreshed the expiring account", || refresh_calls(&s) == 1).await;
    eventually(5, "the pool holds the rotated tokens", || {
        s.tokens(&ids[0]).refresh_token.as_deref().is_some_and(|t| t.starts_with("rt_rotated_for_acct-00000"))
    })
    .await;
    assert!(s.mock.used_refresh_tokens().contains(&original_refresh));
    assert_eq!(s.tokens(&ids[1]).refresh_token, Some(tokens(1).2), "a far-off expiry is left alone");
    eventually(5, "the new expiry reached the snapshot", || {
        s.account(&ids[0]).account.access_expires_at.is_some_and(|exp| exp > chrono::Utc::now().timestamp() + 3000)
    })
    .await;

    // Each later refresh sends the newest refresh token: the mock answers
    // refresh_token_reused to any token sent twice, which would mark the account.
    for _ in 0..3 {
        s.core.refresh_account(&ids[0], None).await.expect("refresh with the rotated token");
    }
    assert_eq!(refresh_calls(&s), 4);
    assert_eq!(s.mock.used_refresh_tokens().len(), 4, "four different refresh tokens were sent");
    assert_eq!(s.account(&ids[0]).account.status, AccountStatus::Active);

    // A new process finds the rotated token on disk and does not reuse an old one.
    s.core.shutdown().await;
    let env = codexmanager::config::Env::from_map(crate::setup::mock_env(&s.mock).into_iter().collect());
    let paths = codexmanager::paths::DataPaths::for_db(s.home.db(), codexmanager::paths::DataLocation::Explicit);
    let (reopened, _) = Core::open_at(env, paths, None).await.unwrap();
    reopened.refresh_account(&ids[0], None).await.expect("the persisted refresh token is the newest");
    assert_eq!(s.mock.used_refresh_tokens().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_triggers_make_one_refresh() {
    let s = Setup::start(&[]).await;
    let ids = s.import(vec![expiring_auth_json(0, 120)]).await;
    s.mock.state.refresh_delay_ms.store(300, Ordering::SeqCst);
    let seen = s.core.pool().by_id[&ids[0]].tokens().unwrap();
    s.core.spawn_background();
    let triggers = (0..20).map(|_| {
        let (core, id, seen) = (s.core.clone(), ids[0].clone(), seen.clone());
        tokio::spawn(async move { core.refresh_account(&id, Some(&seen)).await })
    });
    let results = futures_util::future::join_all(triggers).await;
    let fresh: Vec<Arc<_>> = results.into_iter().map(|r| r.unwrap().expect("refreshed")).collect();
    assert!(fresh.iter().all(|t| t.access_token == fresh[0].access_token), "every trigger got the same tokens");
    assert_ne!(fresh[0].access_token, seen.access_token);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(refresh_calls(&s), 1, "the keeper and twenty triggers shared one refresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_refresh_error_marks_the_account_with_its_reason_and_stops_retrying() {
    let s = Setup::start(&[]).await;
    let codes = ["refresh_token_expired", "refresh_token_reused", "refresh_token_invalidated", "token_revoked"];
    let ids = s.import((0..codes.len()).map(|n| expiring_auth_json(n, 60)).collect()).await;
    for (n, code) in codes.iter().enumerate() {
        s.mock.kill_refresh_token_with(&tokens(n).2, code);
    }
    s.core.spawn_background();
    eventually(5, "every account is marked unavailable", || {
        ids.iter().all(|id| s.account(id).account.status == AccountStatus::Unavailable)
    })
    .await;
    for (id, code) in ids.iter().zip(codes) {
        let view = s.account(id);
        assert_eq!(view.account.status_reason.as_deref(), Some(code));
        assert_eq!(view.availability.key(), "unavailable");
    }
    for _ in 0..3 {
        s.core.reload().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refresh_calls(&s), codes.len(), "a dead account is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transient_refresh_error_backs_off_and_keeps_the_account() {
    let s = Setup::start(&[]).await;
    let ids = s.import(vec![expiring_auth_json(0, 60)]).await;
    s.mock.fail_next_refreshes([500]);
    s.core.spawn_background();
    eventually(5, "the keeper tried once", || refresh_calls(&s) == 1).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        s.core.reload().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(refresh_calls(&s), 1, "backing off, not retrying at once");
    let view = s.account(&ids[0]);
    assert_eq!(view.account.status, AccountStatus::Active);
    assert_eq!(s.tokens(&ids[0]).refresh_token, Some(tokens(0).2), "the old tokens stay until a refresh works");
    s.core.refresh_account(&ids[0], None).await.expect("the next attempt works");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_refresh_holds_up_neither_other_accounts_nor_the_gateway() {
    let h = Harness::start(0, &[]).await;
    let texts = [expiring_auth_json(0, 120), expiring_auth_json(1, 120)]
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("e{i}"), v.to_string()))
        .collect();
    let ids = h.core.import_texts(texts).await.unwrap().ids;
    h.mock.slow_refresh_token(&tokens(0).2, 3_000);
    let started = Instant::now();
    h.core.spawn_background();
    let fast = &ids[1];
    while h.core.pool().by_id[fast].tokens().unwrap().refresh_token == Some(tokens(1).2) {
        assert!(started.elapsed() < Duration::from_secs(2), "the second account's refresh waited on the first");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h.core.pool().by_id[&ids[0]].tokens().unwrap().refresh_token, Some(tokens(0).2), "still refreshing");
    let sent = Instant::now();
    let body = serde_json::json!({"model": "gpt-5.5", "stream": false, "input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "hi"}]}]});
    let response = h.post("/v1/responses").json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(sent.elapsed() < Duration::from_secs(1), "the gateway did not wait for the refresh");
    assert_eq!(h.mock.served_by(), vec!["acct-00000"], "served by the account being refreshed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keepalive_interval_has_a_minimum_of_thirty_seconds() {
    for (value, expected) in [("45", 45), ("10", 180), ("x", 180)] {
        let s = Setup::start(&[("CODEXMANAGER_GATEWAY_KEEPALIVE_INTERVAL_SECS", value)]).await;
        assert_eq!(s.core.keepalive_interval(), Duration::from_secs(expected), "{value}");
    }
}
