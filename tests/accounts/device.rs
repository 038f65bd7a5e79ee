//! Device-code sign-in: the code and page shown, polling through "pending", completion.

use std::sync::atomic::Ordering;
use std::time::Duration;

use codexmanager::core::{LoginKind, LoginState};
use serde_json::Value;

use crate::setup::{Setup, eventually, mock_env};
use crate::support::TestHome;

#[tokio::test(flavor = "multi_thread")]
async fn device_code_sign_in_shows_the_code_polls_and_completes() {
    let s = Setup::start(&[]).await;
    s.mock.sign_in_as(8);
    s.mock.state.device_pending_polls.store(3, Ordering::SeqCst);
    let ticket = s.core.login_start(LoginKind::Device).await.unwrap();
    let device = ticket.device.clone().expect("a device prompt");
    assert!(device.user_code.starts_with("MOCK-"), "{device:?}");
    assert_eq!(device.verification_uri, format!("{}/codex/device", s.mock.base));
    assert_eq!(ticket.auth_url, device.verification_uri);
    assert_eq!(ticket.redirect_uri, format!("{}/deviceauth/callback", s.mock.base));

    let pasted = s.core.login_complete(&ticket.login_id, "code=x&state=y").await.unwrap_err();
    assert!(pasted.to_string().contains("enter the code on the device page"), "{pasted}");

    let status = tokio::time::timeout(Duration::from_secs(10), s.core.login_wait(&ticket.login_id))
        .await
        .expect("completes")
        .unwrap();
    assert_eq!(status.status, LoginState::Completed, "{status:?}");
    assert_eq!(s.mock.state.device_polls.load(Ordering::SeqCst), 4, "three pending polls, then approval");
    let view = s.account(&status.account_id.unwrap());
    assert_eq!(view.account.chatgpt_account_id.as_deref(), Some("acct-00008"));
    assert_eq!(view.account.email.as_deref(), Some("user8@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_sign_in_can_be_cancelled_while_it_polls() {
    let s = Setup::start(&[]).await;
    s.mock.state.device_pending_polls.store(1_000_000, Ordering::SeqCst);
    let ticket = s.core.login_start(LoginKind::Device).await.unwrap();
    eventually(10, "the sign-in polls twice", || s.mock.state.device_polls.load(Ordering::SeqCst) >= 2).await;
    assert_eq!(s.core.login_cancel(&ticket.login_id).await.unwrap().status, LoginState::Cancelled);
    let polls = s.mock.state.device_polls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.mock.state.device_polls.load(Ordering::SeqCst), polls, "polling stopped");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_device_login_prints_the_code_and_finishes_on_its_own() {
    let home = TestHome::new();
    let mock = crate::support::mock::Mock::start().await;
    mock.sign_in_as(9);
    let mut cmd = home.command();
    cmd.args(["account", "login", "--device"]).envs(mock_env(&mock));
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("open {}/codex/device and enter the code", mock.base)), "{stdout}");
    assert!(stdout.contains("MOCK-"), "{stdout}");
    assert!(stdout.contains("signed in as user9@example.com (pro)"), "{stdout}");
    let accounts: Value = home.run_json(&["account", "list", "--json"]);
    assert_eq!(accounts.as_array().unwrap().len(), 1);
}
