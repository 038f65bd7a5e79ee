//! Two processes on one database (the window and a `serve`, or two `serve`s): a rotating
//! refresh token is spent once, and the account survives.

use std::sync::atomic::Ordering;

use crate::support::mock::Mock;
use crate::support::serve::Served;
use crate::support::{TestHome, tokens};

#[tokio::test(flavor = "multi_thread")]
async fn two_serves_on_one_database_refresh_a_stale_token_once_and_both_answer() {
    let mock = Mock::start().await;
    let home = TestHome::new();
    let (first, key) = crate::shutdown::serve_one_account(&home, &mock, &[]);
    let upstream = mock.upstream();
    let second = Served::start(
        &home,
        &[
            ("CODEXMANAGER_UPSTREAM_BASE_URL", upstream.as_str()),
            ("CODEXMANAGER_ISSUER", mock.base.as_str()),
            ("CODEXMANAGER_USAGE_BASE_URL", mock.base.as_str()),
        ],
    );
    let (_, old_access, old_refresh) = tokens(0);
    mock.reject_access_token(&old_access);
    // The issuer takes a while, so both processes see the 401 before either has saved.
    mock.state.refresh_delay_ms.store(300, Ordering::SeqCst);
    let http = reqwest::Client::new();
    let ask =
        |base: &str| http.post(format!("{base}/v1/responses")).bearer_auth(&key).json(&crate::responses(false)).send();
    let (a, b) = tokio::join!(ask(&first.base), ask(&second.base));
    let (a, b) = (a.unwrap(), b.unwrap());
    let statuses = (a.status().as_u16(), b.status().as_u16());
    assert_eq!(statuses, (200, 200), "{} / {}", a.text().await.unwrap(), b.text().await.unwrap());
    assert_eq!(mock.state.refresh_calls.load(Ordering::SeqCst), 1, "one refresh reached the issuer");
    assert!(mock.used_refresh_tokens().contains(&old_refresh));

    let accounts = home.run_json(&["account", "list", "--json"]);
    assert_eq!(accounts[0]["status"], "active", "{accounts}");
    // Later requests on both keep working with the stored tokens.
    for base in [&first.base, &second.base] {
        assert_eq!(ask(base).await.unwrap().status(), 200);
    }
    assert_eq!(mock.state.refresh_calls.load(Ordering::SeqCst), 1);
}
