//! Egress: which way each account's upstream traffic leaves, and the HTTP clients for it.
//!
//! An account's route is its own proxy, else the global upstream proxy
//! (`CODEXMANAGER_UPSTREAM_PROXY_URL`, Settings), else the operating system's proxy settings
//! (`HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY` everywhere, the system proxy on Windows and
//! macOS), else direct; `direct` on an account skips everything above it. Every call made
//! for an account — `/responses`, token refresh, usage, the model list, the sign-in token
//! exchange — leaves through its route, so one account is never seen from two addresses.
//!
//! One `reqwest::Client` per distinct route (and connect timeout), made when first needed
//! and cached: each keeps its own connection pool, with the same TLS, pooling and timeouts
//! as any other. A proxy URL carries its credentials, so it is a secret: its `Debug` and
//! [`ProxyUrl::masked`] never show the password.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// The schemes a proxy URL may have.
const SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "`{0}` is not a proxy URL: {1}. Write it as scheme://[user:password@]host:port, e.g. socks5h://127.0.0.1:7890"
    )]
    Invalid(String, String),
    #[error(
        "the proxy scheme `{scheme}` is not supported: use http://, https://, socks5:// or socks5h:// \
         (socks5h resolves names at the proxy)"
    )]
    Scheme { scheme: String },
    #[error("the HTTP client for the proxy {proxy} cannot be built: {reason}")]
    Client { proxy: String, reason: String },
}

/// A proxy URL, credentials included; shown only masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyUrl(String);

impl ProxyUrl {
    /// Checks a proxy URL: one of the supported schemes, a host, no path.
    pub fn parse(text: &str) -> Result<ProxyUrl, ProxyError> {
        let text = text.trim();
        let invalid = |why: &str| ProxyError::Invalid(mask(text), why.to_string());
        let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        if !SCHEMES.contains(&url.scheme()) {
            return Err(ProxyError::Scheme { scheme: url.scheme().to_string() });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it names no host"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err(invalid("a proxy URL has no path or query"));
        }
        if url.password().is_some() && url.username().is_empty() {
            return Err(invalid("a password needs a user name"));
        }
        Ok(ProxyUrl(text.trim_end_matches('/').to_string()))
    }

    /// The URL with its password replaced by `***`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// The full URL, credentials included: for building the client and for exports made
    /// with `--with-secrets`, nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyUrl({})", self.masked())
    }
}

/// `scheme://user:password@host` → `scheme://user:***@host`; text that does not parse is
/// cut before any `@` so that nothing after a colon in it shows.
fn mask(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string().trim_end_matches('/').to_string()
        }
        Ok(_) => text.to_string(),
        Err(_) => match text.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => text.to_string(),
        },
    }
}

/// What an account says about its proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AccountProxy {
    /// The global setting (or the system's).
    #[default]
    Inherit,
    /// No proxy, whatever the global setting says.
    Direct,
    Proxy(ProxyUrl),
}

impl AccountProxy {
    /// `inherit` (or empty), `direct`, or a proxy URL.
    pub fn parse(text: &str) -> Result<AccountProxy, ProxyError> {
        match text.trim() {
            "" | "inherit" => Ok(AccountProxy::Inherit),
            "direct" => Ok(AccountProxy::Direct),
            url => ProxyUrl::parse(url).map(AccountProxy::Proxy),
        }
    }

    /// How the choice is shown: `None` for inherit, `direct`, or the masked URL.
    pub fn display(&self) -> Option<String> {
        match self {
            AccountProxy::Inherit => None,
            AccountProxy::Direct => Some("direct".into()),
            AccountProxy::Proxy(url) => Some(url.masked()),
        }
    }
}

/// Where a request actually goes out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    /// The operating system's proxy settings (and the proxy environment variables).
    System,
    Direct,
    Proxy(ProxyUrl),
}

impl Route {
    /// The route of an account with `choice`, given the global proxy.
    pub fn of(choice: &AccountProxy, global: Option<&ProxyUrl>) -> Route {
        match (choice, global) {
            (AccountProxy::Direct, _) => Route::Direct,
            (AccountProxy::Proxy(url), _) => Route::Proxy(url.clone()),
            (AccountProxy::Inherit, Some(url)) => Route::Proxy(url.clone()),
            (AccountProxy::Inherit, None) => Route::System,
        }
    }

    pub fn is_proxy(&self) -> bool {
        matches!(self, Route::Proxy(_))
    }

    /// In words, credentials masked.
    pub fn describe(&self) -> String {
        match self {
            Route::System => "the system's proxy settings".into(),
            Route::Direct => "direct".into(),
            Route::Proxy(url) => url.masked(),
        }
    }
}

/// The cached clients, one per route and connect timeout.
#[derive(Default)]
pub struct Egress {
    clients: RwLock<HashMap<(Route, u64), reqwest::Client>>,
}

impl Egress {
    /// The client for `route`, made on first use.
    pub fn client(&self, route: &Route, connect_timeout_secs: u64) -> Result<reqwest::Client, ProxyError> {
        let key = (route.clone(), connect_timeout_secs.max(1));
        if let Some(client) = self.clients.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(client.clone());
        }
        let client = build(route, key.1).map_err(|err| ProxyError::Client {
            proxy: route.describe(),
            reason: err.to_string().replace(route.describe().as_str(), ""),
        })?;
        self.clients.write().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(client.clone());
        Ok(client)
    }
}

/// A client: rustls, HTTP/2 where the server offers it, kept-alive connections, a connect
/// timeout and no overall timeout (streams last as long as they do).
fn build(route: &Route, connect_timeout_secs: u64) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(connect_timeout_secs))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .http2_adaptive_window(true);
    let builder = match route {
        Route::System => builder,
        Route::Direct => builder.no_proxy(),
        Route::Proxy(url) => builder.proxy(reqwest::Proxy::all(url.expose())?),
    };
    builder.build()
}

/// When a request failed because of its proxy (unreachable, credentials refused, the
/// upstream refused through it), the reason in plain words.
pub fn proxy_failure(route: &Route, err: &reqwest::Error) -> Option<String> {
    if !route.is_proxy() || !err.is_connect() {
        return None;
    }
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(cause) = source {
        chain.push_str(&cause.to_string().to_ascii_lowercase());
        chain.push_str(" | ");
        source = cause.source();
    }
    let debug = format!("{err:?}").to_ascii_lowercase();
    let reason = if chain.contains("credentials not accepted")
        || chain.contains("user/pass authentication")
        || chain.contains("proxy authorization required")
    {
        "the proxy refused the user name or password".to_string()
    } else if debug.contains("connectionrefused") || debug.contains("connection refused") {
        if chain.contains("tunnel error: unsuccessful") || chain.contains("socks error: connection refused") {
            "the proxy could not reach the upstream (it refused the connection)".to_string()
        } else {
            "nothing answers at the proxy's address (connection refused)".to_string()
        }
    } else if chain.contains("tunnel error: unsuccessful") {
        "the proxy refused to open a tunnel to the upstream (CONNECT failed)".to_string()
    } else if chain.contains("timed out") || debug.contains("timedout") || err.is_timeout() {
        "the proxy did not answer in time".to_string()
    } else {
        chain.split(" | ").filter(|part| !part.is_empty()).last().unwrap_or("connection failed").to_string()
    };
    Some(format!("proxy unreachable ({}): {reason}", route.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_are_checked_and_masked() {
        let url = ProxyUrl::parse("socks5h://alice:s3cret@127.0.0.1:7890").unwrap();
        assert_eq!(url.masked(), "socks5h://alice:***@127.0.0.1:7890");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(ProxyUrl::parse("http://proxy.lan:3128/").unwrap().masked(), "http://proxy.lan:3128");
        assert!(matches!(ProxyUrl::parse("sock5://127.0.0.1:1080"), Err(ProxyError::Scheme { .. })));
        assert!(matches!(ProxyUrl::parse("ftp://127.0.0.1:21"), Err(ProxyError::Scheme { .. })));
        let bad = ProxyUrl::parse("http://u:pw@host:3128/path").unwrap_err().to_string();
        assert!(bad.contains("no path") && !bad.contains(":pw@"), "{bad}");
        assert!(ProxyUrl::parse("not a url").is_err());
    }

    #[test]
    fn the_most_specific_choice_wins() {
        let global = ProxyUrl::parse("http://global:3128").unwrap();
        let own = ProxyUrl::parse("socks5://own:1080").unwrap();
        assert_eq!(Route::of(&AccountProxy::Proxy(own.clone()), Some(&global)), Route::Proxy(own));
        assert_eq!(Route::of(&AccountProxy::Inherit, Some(&global)), Route::Proxy(global.clone()));
        assert_eq!(Route::of(&AccountProxy::Direct, Some(&global)), Route::Direct);
        assert_eq!(Route::of(&AccountProxy::Inherit, None), Route::System);
        assert_eq!(AccountProxy::parse(" inherit ").unwrap(), AccountProxy::Inherit);
        assert_eq!(AccountProxy::parse("direct").unwrap().display().as_deref(), Some("direct"));
    }

    #[test]
    fn one_client_is_made_per_route() {
        let egress = Egress::default();
        let route = Route::Proxy(ProxyUrl::parse("socks5h://127.0.0.1:9").unwrap());
        egress.client(&route, 15).unwrap();
        egress.client(&route, 15).unwrap();
        egress.client(&Route::Direct, 15).unwrap();
        assert_eq!(egress.clients.read().unwrap().len(), 2);
    }
}
