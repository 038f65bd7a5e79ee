//! An in-process gateway in front of the mock upstream, with fixture accounts and a key.
#![allow(dead_code)]

use std::collections::HashMap;

use codexmanager::config::Env;
use codexmanager::core::{Core, NewKey};
use codexmanager::paths::{DataLocation, DataPaths};
use codexmanager::service::Service;

use super::TestHome;
use super::mock::Mock;

pub struct Harness {
    pub home: TestHome,
    pub mock: Mock,
    pub core: Core,
    pub service: Service,
    pub base: String,
    pub key: String,
    pub key_id: String,
    pub http: reqwest::Client,
}

impl Harness {
    /// Starts the mock and a gateway over `accounts` fixture accounts (acct-00000, ...).
    pub async fn start(accounts: usize, env: &[(&str, &str)]) -> Harness {
        Harness::start_in(TestHome::new(), accounts, env).await
    }

    /// As [`Harness::start`], with the data folder in `home`.
    pub async fn start_in(home: TestHome, accounts: usize, env: &[(&str, &str)]) -> Harness {
        let mock = Mock::start().await;
        let mut vars: HashMap<String, String> = HashMap::from([
            ("CODEXMANAGER_SECRET_STORE".into(), "file".into()),
            ("CODEXMANAGER_SERVICE_ADDR".into(), "127.0.0.1:0".into()),
            ("CODEXMANAGER_UPSTREAM_BASE_URL".into(), mock.upstream()),
            ("CODEXMANAGER_ISSUER".into(), mock.base.clone()),
            ("CODEXMANAGER_USAGE_BASE_URL".into(), mock.base.clone()),
            ("CODEXMANAGER_DISABLE_POLLING".into(), String::new()),
            ("CODEXMANAGER_RPC_TOKEN".into(), "rpc".into()),
        ]);
        for (k, v) in env {
            vars.insert(k.to_string(), v.to_string());
        }
        let paths = DataPaths::for_db(home.db(), DataLocation::Explicit);
        let (core, _) = Core::open_at(Env::from_map(vars), paths, None).await.expect("open core");
        if accounts > 0 {
            let texts = (0..accounts).map(|n| (format!("fixture-{n}"), super::auth_json(n).to_string())).collect();
            let report = core.import_texts(texts).await.expect("import fixtures");
            assert_eq!(report.created, accounts);
        }
        let created = core.create_key(NewKey { name: "test".into(), ..Default::default() }).await.expect("create key");
        let service = Service::start(core.clone()).await.expect("start service");
        let base = format!("http://{}", service.addr());
        Harness { home, mock, core, service, base, key: created.key, key_id: created.id, http: reqwest::Client::new() }
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.key)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.key)
    }

    /// Waits for queued log rows and returns them, oldest first.
    pub async fn log_rows(&self) -> Vec<codexmanager::store::logs::LogRow> {
        self.core.logs().flush().await;
        let page = codexmanager::core::logs::MAX_PAGE;
        let mut rows = Vec::new();
        loop {
            let more = self.core.query_logs(Default::default(), rows.len() as u64, page).await;
            let more = more.expect("read the request log");
            let last = (more.len() as u64) < page;
            rows.extend(more);
            if last {
                break rows.into_iter().rev().collect();
            }
        }
    }

    /// The gateway trace file's text.
    pub async fn trace(&self) -> String {
        self.service.flush_trace().await;
        std::fs::read_to_string(self.home.data_dir().join("gateway-trace.log")).unwrap_or_default()
    }

    /// A key of protocol `azure_openai` pointing at the mock's Azure endpoint.
    pub async fn azure_key(&self) -> codexmanager::core::CreatedKey {
        self.core
            .create_key(NewKey {
                name: "azure".into(),
                protocol: Some("azure_openai".into()),
                azure_endpoint: Some(self.mock.base.clone()),
                azure_api_key: Some(super::mock::AZURE_KEY.into()),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    pub fn account_id_for(&self, chatgpt_account: &str) -> String {
        self.core
            .list_accounts()
            .into_iter()
            .find(|a| a.account.chatgpt_account_id.as_deref() == Some(chatgpt_account))
            .map(|a| a.account.id.clone())
            .expect("fixture account")
    }
}
