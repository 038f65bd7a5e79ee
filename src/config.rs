//! Configuration: the env file beside the executable, the process environment and the
//! settings stored in SQLite, folded into one [`Config`].
//!
//! Precedence, highest first: the process environment; the first env file found beside the
//! executable (`codexmanager.env`, `CodexManager.env`, `.env`), which only fills variables the
//! process does not already have; the settings stored in the database (`appSettings/set`);
//! the built-in default. An invalid value falls back to the default and is reported as a
//! warning, which the caller writes to the log. This module reads files but never touches
//! the database: stored settings arrive as a map.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::egress::ProxyUrl;
use crate::paths::{DataLocation, DataPaths};

/// Env file names, in the order they are looked for; the first one found is used.
pub const ENV_FILE_NAMES: [&str; 3] = ["codexmanager.env", "CodexManager.env", ".env"];

/// The merged environment: process variables plus those an env file adds.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    /// The env file that was read, if any.
    pub file: Option<PathBuf>,
    /// Problems met while reading the env file.
    pub file_error: Option<String>,
}

impl Env {
    /// The process environment merged with the first env file in `dir`. Variables whose name
    /// or value is not valid Unicode cannot be CodexManager's and are left out (reading them
    /// with `std::env::vars` would panic).
    pub fn load(dir: &Path) -> Env {
        let vars =
            std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
        Env::from_process_and_dir(vars.collect(), dir)
    }

    pub fn from_process_and_dir(process: HashMap<String, String>, dir: &Path) -> Env {
        let mut env = Env { vars: process, file: None, file_error: None };
        let Some(file) = ENV_FILE_NAMES.iter().map(|name| dir.join(name)).find(|p| p.is_file()) else {
            return env;
        };
        match dotenvy::from_path_iter(&file) {
            Ok(iter) => {
                for item in iter {
                    match item {
                        Ok((key, value)) => {
                            env.vars.entry(key).or_insert(value);
                        }
                        Err(err) => {
                            env.file_error = Some(format!("{}: {err}", file.display()));
                            break;
                        }
                    }
                }
            }
            Err(err) => env.file_error = Some(format!("{}: {err}", file.display())),
        }
        env.file = Some(file);
        env
    }

    pub fn from_map(vars: HashMap<String, String>) -> Env {
        Env { vars, file: None, file_error: None }
    }

    /// Sets a variable, as a command-line flag does over the environment.
    pub fn set(&mut self, name: &str, value: String) {
        self.vars.insert(name.to_string(), value);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// True when the variable is defined at all, even empty (the original's "exists" switches).
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }
}

/// How the gateway orders candidate accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteStrategy {
    /// By account `sort`, first usable wins.
    Ordered,
    /// Rotating start per key + model.
    Balanced,
}

impl RouteStrategy {
    pub fn parse(value: &str) -> Option<RouteStrategy> {
        match value.trim().to_ascii_lowercase().as_str() {
            "ordered" => Some(RouteStrategy::Ordered),
            "balanced" | "round_robin" | "rr" => Some(RouteStrategy::Balanced),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteStrategy::Ordered => "ordered",
            RouteStrategy::Balanced => "balanced",
        }
    }
}

/// Where the vault's master key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStoreChoice {
    /// The OS keyring when one answers, else the key file.
    Auto,
    Keyring,
    File,
}

/// Where a setting's effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Environment,
    Stored,
    Default,
}

/// A setting that can be stored in the database and overridden by an environment variable.
pub struct SettingSpec {
    /// The `appSettings` key (camelCase, as the original names it).
    pub key: &'static str,
    /// The environment variable that overrides it; `None` for settings only the app uses.
    pub env: Option<&'static str>,
    pub default: &'static str,
    pub check: Check,
}

/// What a setting's value must be.
pub enum Check {
    Text,
    Url,
    Bool,
    /// An unsigned integer at least this large.
    AtLeast(u64),
    /// A percentage, 0 to 100.
    Percent,
    OneOf(&'static [&'static str]),
    RouteStrategy,
    /// Comma-separated `pattern=model` pairs.
    ModelMapping,
    /// A proxy URL (`http`, `https`, `socks5`, `socks5h`), or empty for none.
    Proxy,
}

/// Settings whose values are secrets: stored sealed, shown masked.
pub const SECRET_SETTINGS: [&str; 1] = ["upstreamProxyUrl"];

/// Settings that take effect only when the service starts again (the listening sockets);
/// every other setting applies to the next request or the next background cycle.
pub const RESTART_SETTINGS: [&str; 1] = ["serviceAddr"];

/// Every stored setting. Settings not listed here are rejected by `appSettings/set`.
pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec {
        key: "serviceAddr",
        env: Some("CODEXMANAGER_SERVICE_ADDR"),
        default: "localhost:48760",
        check: Check::Text,
    },
    SettingSpec {
        key: "routeStrategy",
        env: Some("CODEXMANAGER_ROUTE_STRATEGY"),
        default: "ordered",
        check: Check::RouteStrategy,
    },
    SettingSpec {
        key: "accountMaxInflight",
        env: Some("CODEXMANAGER_ACCOUNT_MAX_INFLIGHT"),
        default: "0",
        check: Check::AtLeast(0),
    },
    SettingSpec {
        key: "quotaGuard5hPercent",
        env: Some("CODEXMANAGER_QUOTA_GUARD_5H_PERCENT"),
        default: "97",
        check: Check::Percent,
    },
    SettingSpec {
        key: "quotaGuard7dPercent",
        env: Some("CODEXMANAGER_QUOTA_GUARD_7D_PERCENT"),
        default: "99",
        check: Check::Percent,
    },
    SettingSpec {
        key: "usagePollIntervalSecs",
        env: Some("CODEXMANAGER_USAGE_POLL_INTERVAL_SECS"),
        default: "600",
        check: Check::AtLeast(30),
    },
    SettingSpec {
        key: "gatewayKeepaliveIntervalSecs",
        env: Some("CODEXMANAGER_GATEWAY_KEEPALIVE_INTERVAL_SECS"),
        default: "180",
        check: Check::AtLeast(30),
    },
    SettingSpec {
        key: "upstreamBaseUrl",
        env: Some("CODEXMANAGER_UPSTREAM_BASE_URL"),
        default: DEFAULT_UPSTREAM,
        check: Check::Url,
    },
    SettingSpec {
        key: "upstreamFallbackBaseUrl",
        env: Some("CODEXMANAGER_UPSTREAM_FALLBACK_BASE_URL"),
        default: "",
        check: Check::Url,
    },
    SettingSpec { key: "upstreamCookie", env: Some("CODEXMANAGER_UPSTREAM_COOKIE"), default: "", check: Check::Text },
    SettingSpec {
        key: "upstreamProxyUrl",
        env: Some("CODEXMANAGER_UPSTREAM_PROXY_URL"),
        default: "",
        check: Check::Proxy,
    },
    SettingSpec {
        key: "upstreamConnectTimeoutSecs",
        env: Some("CODEXMANAGER_UPSTREAM_CONNECT_TIMEOUT_SECS"),
        default: "15",
        check: Check::AtLeast(1),
    },
    SettingSpec {
        key: "requestGateWaitTimeoutMs",
        env: Some("CODEXMANAGER_REQUEST_GATE_WAIT_TIMEOUT_MS"),
        default: "300",
        check: Check::AtLeast(0),
    },
    SettingSpec {
        key: "maxConcurrentRequests",
        env: Some("CODEXMANAGER_MAX_CONCURRENT_REQUESTS"),
        default: "4096",
        check: Check::AtLeast(1),
    },
    SettingSpec {
        key: "modelMapping",
        env: Some("CODEXMANAGER_MODEL_MAPPING"),
        default: DEFAULT_MODEL_MAPPING,
        check: Check::ModelMapping,
    },
    SettingSpec {
        key: "logRetentionDays",
        env: Some("CODEXMANAGER_LOG_RETENTION_DAYS"),
        default: "30",
        check: Check::AtLeast(0),
    },
    SettingSpec {
        key: "logMaxRows",
        env: Some("CODEXMANAGER_LOG_MAX_ROWS"),
        default: "1000000",
        check: Check::AtLeast(0),
    },
    SettingSpec { key: "locale", env: None, default: "", check: Check::OneOf(&["", "zh-CN", "en"]) },
    SettingSpec { key: "theme", env: None, default: "system", check: Check::OneOf(&["system", "light", "dark"]) },
    SettingSpec { key: "closeToTray", env: None, default: "true", check: Check::Bool },
    SettingSpec {
        key: "accent",
        env: None,
        default: "amber",
        check: Check::OneOf(&["amber", "blue", "green", "purple", "rose", "slate"]),
    },
];

pub const DEFAULT_UPSTREAM: &str = "https://chatgpt.com/backend-api/codex";

/// Claude model names (and any other client model name) to Codex models: `pattern=model`
/// pairs, first match wins, `*` matches any run of characters. Names that match nothing are
/// sent as they are.
pub const DEFAULT_MODEL_MAPPING: &str = "*opus*=gpt-5.5,*sonnet*=gpt-5.5,*haiku*=gpt-5.4-mini,claude-*=gpt-5.5";

/// Variables of the original that sized a blocking thread pool; accepted, without effect.
pub const IGNORED_VARS: [&str; 4] = [
    "CODEXMANAGER_HTTP_WORKER_FACTOR",
    "CODEXMANAGER_HTTP_WORKER_MIN",
    "CODEXMANAGER_HTTP_QUEUE_FACTOR",
    "CODEXMANAGER_HTTP_QUEUE_MIN",
];

pub fn setting_spec(key: &str) -> Option<&'static SettingSpec> {
    SETTINGS.iter().find(|spec| spec.key == key)
}

/// Checks a value for a stored setting; the error names the setting and what it must be.
pub fn validate_setting(spec: &SettingSpec, value: &str) -> Result<String, String> {
    let value = value.trim();
    let ok = match &spec.check {
        Check::Text => true,
        Check::Url => value.is_empty() || value.starts_with("http://") || value.starts_with("https://"),
        Check::Bool => parse_bool(value).is_some(),
        Check::AtLeast(min) => value.parse::<u64>().is_ok_and(|n| n >= *min),
        Check::Percent => value.parse::<f64>().is_ok_and(|n| (0.0..=100.0).contains(&n)),
        Check::OneOf(options) => options.contains(&value),
        Check::RouteStrategy => RouteStrategy::parse(value).is_some(),
        Check::ModelMapping => parse_model_mapping(value).is_some(),
        Check::Proxy => {
            if !value.is_empty() {
                ProxyUrl::parse(value).map_err(|err| format!("setting `{}`: {err}", spec.key))?;
            }
            true
        }
    };
    if ok {
        Ok(value.to_string())
    } else {
        Err(format!("setting `{}` must be {}; got {value:?}", spec.key, describe(&spec.check)))
    }
}

fn describe(check: &Check) -> String {
    match check {
        Check::Text => "text".into(),
        Check::Url => "an http:// or https:// URL".into(),
        Check::Bool => "true or false".into(),
        Check::AtLeast(min) => format!("a whole number of at least {min}"),
        Check::Percent => "a percentage from 0 to 100".into(),
        Check::OneOf(options) => format!("one of {options:?}"),
        Check::RouteStrategy => "ordered, balanced, round_robin or rr".into(),
        Check::ModelMapping => "comma-separated pattern=model pairs, e.g. *sonnet*=gpt-5.5".into(),
        Check::Proxy => "a proxy URL such as socks5h://127.0.0.1:7890, or empty".into(),
    }
}

/// Parses `pattern=model,pattern=model`; `None` when a pair is malformed.
pub fn parse_model_mapping(value: &str) -> Option<Vec<(String, String)>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (pattern, model) = pair.split_once('=')?;
            let (pattern, model) = (pattern.trim(), model.trim());
            (!pattern.is_empty() && !model.is_empty()).then(|| (pattern.to_string(), model.to_string()))
        })
        .collect()
}

pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim() {
        "1" | "true" | "TRUE" | "True" | "yes" | "YES" | "on" => Some(true),
        "0" | "false" | "FALSE" | "False" | "no" | "NO" | "off" | "" => Some(false),
        _ => None,
    }
}

/// The resolved configuration the service runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub paths: DataPaths,
    pub service_addr: String,
    pub rpc_token: Option<String>,
    pub no_service: bool,
    pub issuer: String,
    pub client_id: String,
    pub originator: String,
    pub redirect_uri: Option<String>,
    pub login_addr: String,
    pub allow_non_loopback_login_addr: bool,
    pub usage_base_url: String,
    pub disable_polling: bool,
    pub usage_poll_interval_secs: u64,
    pub gateway_keepalive_interval_secs: u64,
    pub upstream_base_url: String,
    pub upstream_fallback_base_url: Option<String>,
    pub upstream_cookie: Option<String>,
    /// The global upstream proxy; `None` leaves it to the system's settings.
    pub upstream_proxy: Option<ProxyUrl>,
    pub route_strategy: RouteStrategy,
    pub upstream_connect_timeout_secs: u64,
    pub request_gate_wait_timeout_ms: u64,
    pub account_max_inflight: u32,
    /// Accounts whose windows are used past these percentages are left for last.
    pub quota_guard: QuotaGuard,
    pub trace_body_preview_max_bytes: usize,
    pub front_proxy_max_body_bytes: usize,
    pub max_concurrent_requests: usize,
    /// Request-log rows are kept this many days (0: forever) and at most this many rows (0: no cap).
    pub log_retention_days: u64,
    pub log_max_rows: u64,
    /// `/rpc` and `/metrics` answer other machines (with the RPC token).
    pub rpc_allow_remote: bool,
    /// How long a stop lets in-flight requests finish before ending them with an error.
    pub shutdown_grace_secs: u64,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout_secs: u64,
    /// How often a silent stream gets a keep-alive.
    pub stream_keepalive_secs: u64,
    /// How long the upstream may stay silent (before answering, or within a stream).
    pub upstream_idle_timeout_secs: u64,
    pub model_mapping: Vec<(String, String)>,
    pub secret_store: SecretStoreChoice,
    /// The effective value and origin of every stored setting, for `appSettings/get`.
    pub settings: Vec<(&'static str, String, Source)>,
}

/// The quota guard: an account whose 5-hour window is used past `five_hour_percent`, or whose
/// weekly window past `weekly_percent`, is not routed to while an account below both is
/// usable, so a long session does not start on an account about to hit its limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaGuard {
    pub five_hour_percent: f64,
    pub weekly_percent: f64,
}

/// Builds a [`Config`], collecting a warning for every invalid value it replaced.
pub struct Resolver<'a> {
    env: &'a Env,
    stored: &'a HashMap<String, String>,
    pub warnings: Vec<String>,
}

impl<'a> Resolver<'a> {
    pub fn new(env: &'a Env, stored: &'a HashMap<String, String>) -> Self {
        Resolver { env, stored, warnings: Vec::new() }
    }

    /// Resolves everything; `paths` were resolved earlier (they decide where `stored` lives).
    pub fn resolve(mut self, paths: DataPaths) -> (Config, Vec<String>) {
        for name in IGNORED_VARS {
            if self.env.is_set(name) {
                self.warnings.push(format!(
                    "{name} has no effect: CodexManager's gateway is async and has no worker pool; \
                     use CODEXMANAGER_MAX_CONCURRENT_REQUESTS to bound admission"
                ));
            }
        }
        let settings = SETTINGS
            .iter()
            .map(|spec| {
                let (value, source) = self.setting(spec);
                (spec.key, value, source)
            })
            .collect::<Vec<_>>();
        let value = |key: &str| -> String {
            settings.iter().find(|(k, _, _)| *k == key).map(|(_, v, _)| v.clone()).unwrap_or_default()
        };
        let number = |key: &str| -> u64 { value(key).parse().unwrap_or(0) };
        let optional = |text: String| Some(text).filter(|t| !t.trim().is_empty());

        let upstream_base_url = normalize_upstream(&value("upstreamBaseUrl"));
        let secret_store = match self.text("CODEXMANAGER_SECRET_STORE", "").to_ascii_lowercase().as_str() {
            // A portable copy carries its key file; an OS keyring entry would stay behind.
            "" | "auto" if paths.location == DataLocation::Portable => SecretStoreChoice::File,
            "" | "auto" => SecretStoreChoice::Auto,
            "keyring" => SecretStoreChoice::Keyring,
            "file" => SecretStoreChoice::File,
            other => {
                self.warnings.push(format!(
                    "CODEXMANAGER_SECRET_STORE={other:?} is not keyring or file; using the default (keyring, else file)"
                ));
                SecretStoreChoice::Auto
            }
        };
        let config = Config {
            service_addr: value("serviceAddr"),
            rpc_token: optional(self.text("CODEXMANAGER_RPC_TOKEN", "")),
            no_service: self.env.is_set("CODEXMANAGER_NO_SERVICE"),
            issuer: self.text("CODEXMANAGER_ISSUER", "https://auth.openai.com").trim_end_matches('/').to_string(),
            client_id: self.text("CODEXMANAGER_CLIENT_ID", "app_EMoamEEZ73f0CkXaXp7hrann"),
            originator: self.text("CODEXMANAGER_ORIGINATOR", "codex_cli_rs"),
            redirect_uri: optional(self.text("CODEXMANAGER_REDIRECT_URI", "")),
            login_addr: self.text("CODEXMANAGER_LOGIN_ADDR", "localhost:1455"),
            allow_non_loopback_login_addr: matches!(
                self.env.get("CODEXMANAGER_ALLOW_NON_LOOPBACK_LOGIN_ADDR"),
                Some("1" | "true" | "TRUE" | "yes" | "YES")
            ),
            usage_base_url: self
                .text("CODEXMANAGER_USAGE_BASE_URL", "https://chatgpt.com")
                .trim_end_matches('/')
                .to_string(),
            disable_polling: self.env.is_set("CODEXMANAGER_DISABLE_POLLING"),
            usage_poll_interval_secs: number("usagePollIntervalSecs"),
            gateway_keepalive_interval_secs: number("gatewayKeepaliveIntervalSecs"),
            upstream_base_url,
            upstream_fallback_base_url: optional(value("upstreamFallbackBaseUrl"))
                .map(|url| url.trim_end_matches('/').to_string()),
            upstream_cookie: optional(value("upstreamCookie")),
            upstream_proxy: optional(value("upstreamProxyUrl")).and_then(|url| ProxyUrl::parse(&url).ok()),
            route_strategy: RouteStrategy::parse(&value("routeStrategy")).unwrap_or(RouteStrategy::Ordered),
            upstream_connect_timeout_secs: number("upstreamConnectTimeoutSecs"),
            request_gate_wait_timeout_ms: number("requestGateWaitTimeoutMs"),
            account_max_inflight: u32::try_from(number("accountMaxInflight")).unwrap_or(u32::MAX),
            quota_guard: QuotaGuard {
                five_hour_percent: value("quotaGuard5hPercent").parse().unwrap_or(97.0),
                weekly_percent: value("quotaGuard7dPercent").parse().unwrap_or(99.0),
            },
            trace_body_preview_max_bytes: self.number("CODEXMANAGER_TRACE_BODY_PREVIEW_MAX_BYTES", 0, 0) as usize,
            front_proxy_max_body_bytes: self.number("CODEXMANAGER_FRONT_PROXY_MAX_BODY_BYTES", 16 * 1024 * 1024, 1024)
                as usize,
            max_concurrent_requests: number("maxConcurrentRequests") as usize,
            log_retention_days: number("logRetentionDays"),
            log_max_rows: number("logMaxRows"),
            rpc_allow_remote: self.env.get("CODEXMANAGER_RPC_ALLOW_REMOTE").and_then(parse_bool).unwrap_or(false),
            shutdown_grace_secs: self.number("CODEXMANAGER_SHUTDOWN_GRACE_SECS", 30, 0),
            header_read_timeout_secs: self.number("CODEXMANAGER_HEADER_READ_TIMEOUT_SECS", 30, 1),
            stream_keepalive_secs: self.number("CODEXMANAGER_STREAM_KEEPALIVE_SECS", 15, 1),
            upstream_idle_timeout_secs: self.number("CODEXMANAGER_UPSTREAM_IDLE_TIMEOUT_SECS", 300, 1),
            model_mapping: parse_model_mapping(&value("modelMapping")).unwrap_or_default(),
            secret_store,
            paths,
            settings,
        };
        (config, self.warnings)
    }

    /// A stored setting: environment, then database, then default; invalid values warn.
    fn setting(&mut self, spec: &SettingSpec) -> (String, Source) {
        if let Some(var) = spec.env
            && let Some(raw) = self.env.get(var)
        {
            match validate_setting(spec, raw) {
                Ok(value) => return (value, Source::Environment),
                Err(_) => {
                    let fallback = self.stored_or_default(spec);
                    self.warnings.push(format!(
                        "{var}={raw:?} is invalid (must be {}); using {:?}",
                        describe(&spec.check),
                        fallback.0
                    ));
                    return fallback;
                }
            }
        }
        self.stored_or_default(spec)
    }

    fn stored_or_default(&mut self, spec: &SettingSpec) -> (String, Source) {
        if let Some(raw) = self.stored.get(spec.key) {
            match validate_setting(spec, raw) {
                Ok(value) => return (value, Source::Stored),
                Err(message) => {
                    if !self.warnings.iter().any(|w| w.contains(&message)) {
                        self.warnings.push(format!("stored {message}; using the default {:?}", spec.default));
                    }
                }
            }
        }
        (spec.default.to_string(), Source::Default)
    }

    fn text(&self, var: &str, default: &str) -> String {
        self.env.get(var).map(str::trim).filter(|v| !v.is_empty()).unwrap_or(default).to_string()
    }

    fn number(&mut self, var: &str, default: u64, min: u64) -> u64 {
        let Some(raw) = self.env.get(var) else { return default };
        match raw.trim().parse::<u64>() {
            Ok(n) if n >= min => n,
            _ => {
                self.warnings.push(format!(
                    "{var}={raw:?} is invalid (must be a whole number of at least {min}); using {default}"
                ));
                default
            }
        }
    }
}

/// `https://chatgpt.com` and `https://chat.openai.com` mean the Codex backend under them.
pub fn normalize_upstream(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    match trimmed {
        "" | "https://chatgpt.com" | "https://chat.openai.com" => DEFAULT_UPSTREAM.to_string(),
        "https://chatgpt.com/backend-api" | "https://chat.openai.com/backend-api" => DEFAULT_UPSTREAM.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn resolve(env: &Env, stored: &HashMap<String, String>) -> (Config, Vec<String>) {
        Resolver::new(env, stored).resolve(DataPaths::for_db("/tmp/t.db".into(), crate::paths::DataLocation::Explicit))
    }

    #[test]
    fn invalid_poll_interval_falls_back_to_default_with_a_warning() {
        let (config, warnings) = resolve(&env(&[("CODEXMANAGER_USAGE_POLL_INTERVAL_SECS", "abc")]), &HashMap::new());
        assert_eq!(config.usage_poll_interval_secs, 600);
        assert!(warnings.iter().any(|w| w.contains("CODEXMANAGER_USAGE_POLL_INTERVAL_SECS")), "{warnings:?}");
    }

    #[test]
    fn poll_interval_below_minimum_is_rejected() {
        let (config, warnings) = resolve(&env(&[("CODEXMANAGER_USAGE_POLL_INTERVAL_SECS", "10")]), &HashMap::new());
        assert_eq!(config.usage_poll_interval_secs, 600);
        assert_eq!(warnings.len(), 1);
        let (config, _) = resolve(&env(&[("CODEXMANAGER_USAGE_POLL_INTERVAL_SECS", "45")]), &HashMap::new());
        assert_eq!(config.usage_poll_interval_secs, 45);
    }

    #[test]
    fn quota_guard_thresholds_are_percentages() {
        let (config, warnings) = resolve(&env(&[]), &HashMap::new());
        assert_eq!(config.quota_guard, QuotaGuard { five_hour_percent: 97.0, weekly_percent: 99.0 });
        assert!(warnings.is_empty(), "{warnings:?}");
        let stored: HashMap<_, _> = [("quotaGuard5hPercent".to_string(), "90.5".to_string())].into();
        let (config, _) = resolve(&env(&[("CODEXMANAGER_QUOTA_GUARD_7D_PERCENT", "150")]), &stored);
        assert_eq!(config.quota_guard, QuotaGuard { five_hour_percent: 90.5, weekly_percent: 99.0 });
        let spec = setting_spec("quotaGuard7dPercent").unwrap();
        let refused = validate_setting(spec, "101").unwrap_err();
        assert!(refused.contains("a percentage from 0 to 100"), "{refused}");
    }

    #[test]
    fn environment_overrides_stored_settings_which_override_defaults() {
        let stored: HashMap<_, _> = [("routeStrategy".to_string(), "balanced".to_string())].into();
        let (config, _) = resolve(&env(&[]), &stored);
        assert_eq!(config.route_strategy, RouteStrategy::Balanced);
        let (config, _) = resolve(&env(&[("CODEXMANAGER_ROUTE_STRATEGY", "ordered")]), &stored);
        assert_eq!(config.route_strategy, RouteStrategy::Ordered);
        let (config, _) = resolve(&env(&[("CODEXMANAGER_ROUTE_STRATEGY", "rr")]), &HashMap::new());
        assert_eq!(config.route_strategy, RouteStrategy::Balanced);
    }

    #[test]
    fn chatgpt_hosts_normalise_to_the_codex_backend() {
        assert_eq!(normalize_upstream("https://chatgpt.com/"), DEFAULT_UPSTREAM);
        assert_eq!(normalize_upstream("https://chat.openai.com"), DEFAULT_UPSTREAM);
        assert_eq!(normalize_upstream("http://127.0.0.1:9/backend-api/codex/"), "http://127.0.0.1:9/backend-api/codex");
    }

    #[test]
    fn fallback_upstream_is_only_used_when_set() {
        let (config, _) = resolve(&env(&[]), &HashMap::new());
        assert_eq!(config.upstream_fallback_base_url, None);
    }

    #[test]
    fn worker_pool_variables_are_accepted_with_a_note() {
        let (_, warnings) = resolve(&env(&[("CODEXMANAGER_HTTP_WORKER_FACTOR", "4")]), &HashMap::new());
        assert!(warnings[0].contains("has no effect"));
    }

    #[test]
    fn env_file_only_fills_missing_variables_and_first_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "CODEXMANAGER_ORIGINATOR=from_dotenv\n").unwrap();
        std::fs::write(
            dir.path().join("codexmanager.env"),
            "CODEXMANAGER_ORIGINATOR=from_file\nCODEXMANAGER_SERVICE_ADDR=localhost:1\n",
        )
        .unwrap();
        let process: HashMap<_, _> = [("CODEXMANAGER_SERVICE_ADDR".to_string(), "localhost:2".to_string())].into();
        let env = Env::from_process_and_dir(process, dir.path());
        assert_eq!(env.get("CODEXMANAGER_ORIGINATOR"), Some("from_file"));
        assert_eq!(env.get("CODEXMANAGER_SERVICE_ADDR"), Some("localhost:2"));
        assert_eq!(env.file.as_deref(), Some(dir.path().join("codexmanager.env").as_path()));
    }

    #[test]
    fn portable_mode_keeps_the_master_key_in_the_file_unless_told_otherwise() {
        let portable = |pairs: &[(&str, &str)]| {
            let paths = DataPaths::for_db("/usb/codexmanager.db".into(), DataLocation::Portable);
            Resolver::new(&env(pairs), &HashMap::new()).resolve(paths).0.secret_store
        };
        assert_eq!(portable(&[]), SecretStoreChoice::File);
        assert_eq!(portable(&[("CODEXMANAGER_SECRET_STORE", "auto")]), SecretStoreChoice::File);
        assert_eq!(portable(&[("CODEXMANAGER_SECRET_STORE", "keyring")]), SecretStoreChoice::Keyring);
        assert_eq!(resolve(&env(&[]), &HashMap::new()).0.secret_store, SecretStoreChoice::Auto);
    }

    #[test]
    fn presence_switches_count_even_when_empty() {
        let (config, _) = resolve(&env(&[("CODEXMANAGER_DISABLE_POLLING", "")]), &HashMap::new());
        assert!(config.disable_polling);
    }
}
