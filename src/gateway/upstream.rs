//! Requests to the Codex backend: the URL, the headers the backend expects (reference §2.2)
//! and the client headers worth passing on. One shared `reqwest::Client` (the core's).

use axum::http::HeaderMap;

use super::dispatch::Outgoing;
use crate::auth::tokens::Tokens;
use crate::config::Config;
use crate::core::pool::PoolAccount;

/// The Codex CLI version we present when the client is not Codex CLI itself.
pub const CLIENT_VERSION: &str = "0.144.1";

/// Client headers forwarded as they are (Codex CLI's own metadata, reference §8.3).
const PASSTHROUGH: [&str; 13] = [
    "x-codex-turn-state",
    "x-openai-subagent",
    "x-openai-memgen-request",
    "x-codex-parent-thread-id",
    "x-codex-beta-features",
    "x-codex-turn-metadata",
    "x-client-request-id",
    "thread-id",
    "x-codex-window-id",
    "x-codex-installation-id",
    "openai-beta",
    "x-openai-fedramp",
    "version",
];

/// Upstream response headers the client gets back: the turn state (sticky routing within a
/// Codex turn), what the backend served, and the account's rate limits.
const RETURNED: [&str; 5] =
    ["x-codex-turn-state", "x-models-etag", "openai-model", "x-reasoning-included", "x-codex-limit-name"];
/// Families of upstream response headers the client gets back, by prefix.
const RETURNED_PREFIXES: [&str; 3] = ["x-codex-primary-", "x-codex-secondary-", "x-codex-credits-"];

/// The headers of an upstream response that go back to the client.
pub fn returned(headers: &HeaderMap) -> HeaderMap {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            RETURNED.contains(&name) || RETURNED_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Which upstream route a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST {base}/responses`, answered with an event stream.
    Responses,
    /// `POST {base}/responses/compact`, answered with one JSON body (reference §8.1).
    Compact,
}

/// Where and how to reach the upstream, from the configuration.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The configuration this was made from.
    source: std::sync::Arc<Config>,
    pub base: String,
    pub fallback: Option<String>,
    originator: String,
    cookie: Option<String>,
    user_agent: String,
}

impl Upstream {
    pub fn from_config(config: &std::sync::Arc<Config>) -> Upstream {
        let user_agent = format!(
            "{}/{CLIENT_VERSION} ({}; {}) CodexManager/{}",
            config.originator,
            std::env::consts::OS,
            std::env::consts::ARCH,
            env!("CARGO_PKG_VERSION")
        );
        Upstream {
            source: config.clone(),
            base: config.upstream_base_url.clone(),
            fallback: config.upstream_fallback_base_url.clone(),
            originator: config.originator.clone(),
            cookie: config.upstream_cookie.clone(),
            user_agent,
        }
    }

    /// Whether this was made from `config` (the configuration in force).
    pub fn is_of(&self, config: &std::sync::Arc<Config>) -> bool {
        std::sync::Arc::ptr_eq(&self.source, config)
    }

    /// `POST {base}/responses` or `{base}/responses/compact` for one account.
    pub fn request(
        &self,
        http: &reqwest::Client,
        base: &str,
        account: &PoolAccount,
        tokens: &Tokens,
        out: &Outgoing,
    ) -> reqwest::RequestBuilder {
        let client = &out.client_headers;
        let (path, accept) = match out.endpoint {
            Endpoint::Responses => ("responses", "text/event-stream"),
            Endpoint::Compact => ("responses/compact", "application/json"),
        };
        let mut request = self
            .authorized(http.post(format!("{base}/{path}")), account, tokens, client)
            .header("accept", accept)
            // Ask for the answer uncompressed (compression would hold events back to fill its
            // blocks); one that comes gzip- or deflate-encoded anyway is decoded.
            .header("accept-encoding", "identity")
            .header("content-type", "application/json");
        for name in PASSTHROUGH {
            if let Some(value) = client.get(name) {
                request = request.header(name, value.clone());
            }
        }
        let session = client.get("session_id").and_then(|v| v.to_str().ok()).or(out.session.as_deref());
        if let Some(session) = session {
            request = request.header("session_id", session);
        }
        request.body(out.body.clone())
    }

    /// `GET {base}/models?client_version=…` for the model list.
    pub fn models(&self, http: &reqwest::Client, account: &PoolAccount, tokens: &Tokens) -> reqwest::RequestBuilder {
        self.authorized(
            http.get(format!("{}/models?client_version={CLIENT_VERSION}", self.base)),
            account,
            tokens,
            &HeaderMap::new(),
        )
        .header("accept", "application/json")
    }

    fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        account: &PoolAccount,
        tokens: &Tokens,
        client: &HeaderMap,
    ) -> reqwest::RequestBuilder {
        let user_agent = client
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .filter(|ua| ua.starts_with("codex_") || ua.starts_with("codex-"))
            .unwrap_or(&self.user_agent);
        let originator = client.get("originator").and_then(|v| v.to_str().ok()).unwrap_or(&self.originator);
        let mut request =
            request.bearer_auth(&tokens.access_token).header("originator", originator).header("user-agent", user_agent);
        if let Some(account_id) = &account.row.chatgpt_account_id {
            request = request.header("chatgpt-account-id", account_id);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        request
    }
}
