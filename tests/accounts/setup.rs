//! A core over a private data folder, pointed at the mock issuer and usage endpoint, with no
//! service and (unless asked) no polling.

use std::collections::HashMap;
use std::time::Duration;

use codexmanager::config::Env;
use codexmanager::core::{AccountView, Core};
use codexmanager::paths::{DataLocation, DataPaths};
use serde_json::{Value, json};

use crate::support::TestHome;
use crate::support::mock::Mock;

pub struct Setup {
    pub home: TestHome,
    pub mock: Mock,
    pub core: Core,
}

impl Setup {
    /// Polling off (`CODEXMANAGER_DISABLE_POLLING`), the callback listener on a free port.
    pub async fn start(env: &[(&str, &str)]) -> Setup {
        Setup::open(true, env).await
    }

    /// Polling on (it only runs once `spawn_background` is called).
    pub async fn polling(env: &[(&str, &str)]) -> Setup {
        Setup::open(false, env).await
    }

    async fn open(disable_polling: bool, env: &[(&str, &str)]) -> Setup {
        let home = TestHome::new();
        let mock = Mock::start().await;
        let mut vars: HashMap<String, String> = mock_env(&mock).into_iter().collect();
        if disable_polling {
            vars.insert("CODEXMANAGER_DISABLE_POLLING".into(), String::new());
        }
        for (k, v) in env {
            vars.insert(k.to_string(), v.to_string());
        }
        let paths = DataPaths::for_db(home.db(), DataLocation::Explicit);
        let (core, _) = Core::open_at(Env::from_map(vars), paths, None).await.expect("open core");
        Setup { home, mock, core }
    }

    /// Imports account files; returns the ids in order.
    pub async fn import(&self, entries: Vec<Value>) -> Vec<String> {
        let texts = entries.iter().enumerate().map(|(i, e)| (format!("entry-{i}"), e.to_string())).collect();
        self.core.import_texts(texts).await.expect("import").ids
    }

    pub fn account(&self, id: &str) -> AccountView {
        self.core.list_accounts().into_iter().find(|a| a.account.id == id).expect("account exists")
    }

    /// The account's tokens as the pool holds them.
    pub fn tokens(&self, id: &str) -> codexmanager::auth::tokens::Tokens {
        self.core.pool().by_id[id].tokens().expect("tokens").as_ref().clone()
    }
}

/// The variables that point a core or the binary at the mock.
pub fn mock_env(mock: &Mock) -> Vec<(String, String)> {
    [
        ("CODEXMANAGER_SECRET_STORE", "file".to_string()),
        ("CODEXMANAGER_ISSUER", mock.base.clone()),
        ("CODEXMANAGER_USAGE_BASE_URL", mock.base.clone()),
        ("CODEXMANAGER_UPSTREAM_BASE_URL", mock.upstream()),
        ("CODEXMANAGER_LOGIN_ADDR", "127.0.0.1:0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// An `auth.json` for fixture account `n` whose access token expires `exp_in` seconds from now.
pub fn expiring_auth_json(n: usize, exp_in: i64) -> Value {
    let (id_token, _, refresh) = crate::support::tokens(n);
    let account = format!("acct-{n:05}");
    let access = crate::support::jwt(&json!({"exp": chrono::Utc::now().timestamp() + exp_in,
        "https://api.openai.com/auth": {"chatgpt_account_id": account, "chatgpt_user_id": format!("user-{n:05}")},
        "nonce": format!("expiring-{n}")}));
    json!({"tokens": {"id_token": id_token, "access_token": access, "refresh_token": refresh, "account_id": account}})
}

/// Polls `check` every 20 ms until it holds, failing after `secs` seconds.
pub async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client that does not follow redirects, as a test browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Opens the authorize URL at the mock issuer and returns where it sends the browser.
pub async fn authorize(auth_url: &str) -> String {
    let response = browser().get(auth_url).send().await.expect("reach the mock issuer");
    assert_eq!(response.status(), 302, "the issuer redirects back: {:?}", response.text().await);
    response.headers()["location"].to_str().unwrap().to_string()
}
