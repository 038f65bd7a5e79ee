//! `POST /rpc`: the JSON-RPC 2.0 front door onto the core API, with the original's method
//! names so its users' scripts keep working.
//!
//! Every request must carry the RPC token (`X-CodexManager-Rpc-Token`, or `Authorization:
//! Bearer`), compared in constant time. Requests a browser marks as cross-site
//! (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not this machine) are refused before
//! the token is even looked at, so a web page cannot drive the RPC endpoint.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::auth::login::LoginError;
use crate::core::{AccountPatch, Core, CoreError, KeyUpdate, LoginKind, NewKey, PolicyChange};

pub const TOKEN_HEADER: &str = "x-codexmanager-rpc-token";

/// JSON-RPC error codes used here.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL: i64 = -32603;
    pub const SERVER_ERROR: i64 = -32000;
    pub const UNAUTHORIZED: i64 = -32001;
    pub const FORBIDDEN: i64 = -32003;
    pub const NOT_FOUND: i64 = -32004;
}

#[derive(Clone)]
pub struct RpcState {
    pub core: Core,
    pub token: Arc<str>,
}

struct RpcError {
    code: i64,
    message: String,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into() }
    }
}

impl From<CoreError> for RpcError {
    fn from(err: CoreError) -> Self {
        let code = match &err {
            CoreError::Invalid(_) | CoreError::Login(LoginError::NoCode | LoginError::StateMismatch) => {
                code::INVALID_PARAMS
            }
            CoreError::NotFound(_) => code::NOT_FOUND,
            _ => code::SERVER_ERROR,
        };
        RpcError::new(code, err.to_string())
    }
}

fn error_object(id: Value, err: RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": err.code, "message": err.message}})
}

fn error_response(status: StatusCode, id: Value, err: RpcError) -> Response {
    (status, Json(error_object(id, err))).into_response()
}

/// True when a browser says this request comes from another site.
fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "same-site" | "none")
    {
        return true;
    }
    match headers.get("origin").map(|v| v.to_str().unwrap_or("")) {
        None => false,
        Some(origin) => !origin_is_local(origin),
    }
}

fn origin_is_local(origin: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(origin) else { return false };
    match url.host() {
        Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether the request carries the RPC token (compared in constant time).
pub fn has_token(headers: &HeaderMap, token: &str) -> bool {
    presented_token(headers).is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())))
}

fn presented_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).or_else(|| {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
    })
}

/// The largest `/rpc` body read (imports may carry many accounts' files).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

pub async fn handle(State(state): State<RpcState>, headers: HeaderMap, body: axum::body::Body) -> Response {
    if is_cross_site(&headers) {
        return error_response(
            StatusCode::FORBIDDEN,
            Value::Null,
            RpcError::new(code::FORBIDDEN, "cross-site requests to /rpc are refused"),
        );
    }
    if !has_token(&headers, &state.token) {
        let message = if presented_token(&headers).is_some() {
            "wrong RPC token"
        } else {
            "missing RPC token: send it in the X-CodexManager-Rpc-Token header (see codexmanager.rpc-token beside the database)"
        };
        return error_response(StatusCode::UNAUTHORIZED, Value::Null, RpcError::new(code::UNAUTHORIZED, message));
    }
    let body = match crate::server::read_body(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                Value::Null,
                RpcError::new(
                    code::INVALID_REQUEST,
                    format!("the request body is larger than {} MiB", MAX_BODY_BYTES >> 20),
                ),
            );
        }
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(err) => {
            return error_response(
                StatusCode::OK,
                Value::Null,
                RpcError::new(code::PARSE_ERROR, format!("parse error: {err}")),
            );
        }
    };
    let answer = match request {
        Value::Array(calls) if calls.is_empty() => {
            Some(error_object(Value::Null, RpcError::new(code::INVALID_REQUEST, "invalid request: an empty batch")))
        }
        Value::Array(calls) => {
            let mut answers = Vec::with_capacity(calls.len());
            for call in calls {
                answers.extend(call_one(&state.core, call).await);
            }
            (!answers.is_empty()).then_some(Value::Array(answers))
        }
        call => call_one(&state.core, call).await,
    };
    match answer {
        Some(answer) => Json(answer).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Runs one call of a request or batch; `None` for a notification (a call without `id`),
/// which is carried out and not answered.
async fn call_one(core: &Core, request: Value) -> Option<Value> {
    let Value::Object(request) = request else {
        return Some(error_object(
            Value::Null,
            RpcError::new(code::INVALID_REQUEST, "invalid request: each call must be a JSON object"),
        ));
    };
    let notification = !request.contains_key("id");
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return Some(error_object(
            id,
            RpcError::new(code::INVALID_REQUEST, "invalid request: `method` must be a string"),
        ));
    };
    if request.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(error_object(
            id,
            RpcError::new(code::INVALID_REQUEST, "invalid request: `jsonrpc` must be \"2.0\""),
        ));
    }
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let result = dispatch(core, method, params).await;
    if let Err(err) = &result
        && (err.code == code::SERVER_ERROR || err.code == code::INTERNAL)
    {
        tracing::warn!(method, "rpc call failed: {}", err.message);
    }
    if notification {
        return None;
    }
    Some(match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(err) => error_object(id, err),
    })
}

/// Deserialises params, naming the offending field on failure.
fn params<T: DeserializeOwned>(value: Value) -> Result<T, RpcError> {
    let value = if value.is_null() { json!({}) } else { value };
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message =
            if path == "." { format!("invalid params: {inner}") } else { format!("invalid params: `{path}`: {inner}") };
        RpcError::new(code::INVALID_PARAMS, message)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdParam {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportParams {
    #[serde(default)]
    paths: Vec<PathBuf>,
    #[serde(default)]
    contents: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct ExportParams {
    out: PathBuf,
    #[serde(default)]
    ids: Option<Vec<String>>,
    /// Proxy URLs with their passwords (masked otherwise).
    #[serde(default)]
    with_secrets: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProxyTestParams {
    /// A proxy URL to try; or
    #[serde(default)]
    url: Option<String>,
    /// the accounts whose routes to try.
    #[serde(default)]
    ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct ModelParams {
    id: String,
    #[serde(default, alias = "modelSlug")]
    model: Option<String>,
    /// The original's spelling of a bound reasoning effort (`client` or empty clears it).
    #[serde(default)]
    reasoning_effort: Option<String>,
}

/// The fields a key's policy accepts over RPC.
const POLICY_FIELDS: [&str; 7] =
    ["limitRequests", "limitTokens", "expires", "models", "reasoningEffort", "groups", "maxConcurrent"];
/// The other fields `apikey/create` and `apikey/update` accept.
const NEW_KEY_FIELDS: [&str; 9] = [
    "name",
    "protocol",
    "protocolType",
    "model",
    "modelSlug",
    "azureEndpoint",
    "upstreamBaseUrl",
    "azureApiKey",
    "azureApiVersion",
];
const KEY_UPDATE_FIELDS: [&str; 3] = ["name", "model", "modelSlug"];

/// As [`params`] for a key's fields and its policy's, refusing any other field (serde cannot
/// for a flattened struct).
fn key_params<T: DeserializeOwned>(value: Value, fields: &[&str]) -> Result<T, RpcError> {
    let known = || fields.iter().chain(&POLICY_FIELDS);
    if let Some(unknown) = value.as_object().and_then(|object| object.keys().find(|k| !known().any(|f| f == k))) {
        let expected: Vec<&str> = known().copied().collect();
        return Err(RpcError::new(
            code::INVALID_PARAMS,
            format!("invalid params: unknown field `{unknown}`, expected one of {}", expected.join(", ")),
        ));
    }
    params(value)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoginStartParams {
    /// `browser` (also `chatgpt`, the default), `manual` or `device`.
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// Open a browser on the machine running the service (default false: open `authUrl` yourself).
    #[serde(default)]
    open_browser: bool,
    /// Sign in through this proxy (a URL or `direct`); the account keeps it.
    #[serde(default, alias = "proxyUrl")]
    proxy: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoginIdParams {
    login_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoginCompleteParams {
    login_id: String,
    /// The address the browser ended on (or its query string).
    #[serde(default, alias = "url")]
    callback_url: Option<String>,
    /// Just the code, when that is all there is.
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageRefreshParams {
    #[serde(default)]
    ids: Option<Vec<String>>,
}

fn login_kind(p: &LoginStartParams) -> Result<LoginKind, RpcError> {
    match p.kind.as_deref().unwrap_or("browser") {
        "browser" | "chatgpt" => Ok(LoginKind::Browser { open_browser: p.open_browser }),
        "manual" => Ok(LoginKind::Manual),
        "device" => Ok(LoginKind::Device),
        other => Err(RpcError::new(
            code::INVALID_PARAMS,
            format!("invalid params: `type` must be \"browser\", \"manual\" or \"device\"; got {other:?}"),
        )),
    }
}

fn to_value(value: impl serde::Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|e| RpcError::new(code::INTERNAL, e.to_string()))
}

/// Takes `id` or `ids` out of an object, leaving the rest.
fn take_ids(params: &mut Value) -> Result<Vec<String>, RpcError> {
    let object = params
        .as_object_mut()
        .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, "invalid params: expected an object with `ids`"))?;
    let mut ids = Vec::new();
    if let Some(value) = object.remove("ids") {
        ids = serde_json::from_value(value)
            .map_err(|e| RpcError::new(code::INVALID_PARAMS, format!("invalid params: `ids`: {e}")))?;
    }
    if let Some(value) = object.remove("id") {
        let id: String = serde_json::from_value(value)
            .map_err(|e| RpcError::new(code::INVALID_PARAMS, format!("invalid params: `id`: {e}")))?;
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(RpcError::new(code::INVALID_PARAMS, "invalid params: `ids` (or `id`) is required"));
    }
    Ok(ids)
}

async fn dispatch(core: &Core, method: &str, params_value: Value) -> Result<Value, RpcError> {
    let ok = || json!({"ok": true});
    Ok(match method {
        "account/list" => {
            let items = core.list_accounts();
            json!({"items": items, "total": items.len()})
        }
        "account/import" => {
            let p: ImportParams = params(params_value)?;
            if p.paths.is_empty() && p.contents.is_empty() {
                return Err(RpcError::new(code::INVALID_PARAMS, "invalid params: give `paths` or `contents`"));
            }
            let mut report = core.import_paths(p.paths).await?;
            if !p.contents.is_empty() {
                let texts =
                    p.contents.into_iter().enumerate().map(|(i, text)| (format!("contents[{i}]"), text)).collect();
                let more = core.import_texts(texts).await?;
                report.total += more.total;
                report.created += more.created;
                report.updated += more.updated;
                report.failed.extend(more.failed);
                report.ids.extend(more.ids);
            }
            serde_json::to_value(report).map_err(|e| RpcError::new(code::INTERNAL, e.to_string()))?
        }
        "account/update" => {
            let mut value = params_value;
            let ids = take_ids(&mut value)?;
            let patch: AccountPatch = params(value)?;
            json!({"updated": core.update_accounts(ids, patch).await?})
        }
        "account/delete" => {
            let mut value = params_value;
            let ids = take_ids(&mut value)?;
            let revoke = value.get("revoke").and_then(Value::as_bool).unwrap_or(true);
            serde_json::to_value(core.delete_accounts(ids, revoke).await?)
                .map_err(|e| RpcError::new(code::INTERNAL, e.to_string()))?
        }
        "account/export" => {
            let p: ExportParams = params(params_value)?;
            serde_json::to_value(core.export_accounts(p.out, p.ids, p.with_secrets).await?)
                .map_err(|e| RpcError::new(code::INTERNAL, e.to_string()))?
        }
        "account/login/start" => {
            let p: LoginStartParams = params(params_value)?;
            let proxy = crate::egress::AccountProxy::parse(p.proxy.as_deref().unwrap_or("inherit"))
                .map_err(|err| RpcError::new(code::INVALID_PARAMS, format!("invalid params: `proxy`: {err}")))?;
            to_value(core.login_start_via(login_kind(&p)?, proxy).await?)?
        }
        "account/login/status" => {
            let p: LoginIdParams = params(params_value)?;
            to_value(core.login_status(&p.login_id)?)?
        }
        "account/login/complete" => {
            let p: LoginCompleteParams = params(params_value)?;
            let pasted = p
                .callback_url
                .or(p.code)
                .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, "invalid params: give `callbackUrl` (or `code`)"))?;
            to_value(core.login_complete(&p.login_id, &pasted).await?)?
        }
        "account/login/cancel" => {
            let p: LoginIdParams = params(params_value)?;
            to_value(core.login_cancel(&p.login_id).await?)?
        }
        "account/usage/refresh" => {
            let p: UsageRefreshParams = params(params_value)?;
            to_value(core.refresh_usage(p.ids, |_| {}).await?)?
        }
        "account/proxy/test" => {
            let p: ProxyTestParams = params(params_value)?;
            match (p.url, p.ids.is_empty()) {
                (Some(url), true) => json!({"items": [core.test_proxy(&url).await?]}),
                (None, false) => json!({"items": core.test_account_routes(&p.ids).await?}),
                _ => {
                    return Err(RpcError::new(code::INVALID_PARAMS, "invalid params: give either `url` or `ids`"));
                }
            }
        }
        "apikey/list" => json!({"items": core.list_keys()}),
        "apikey/create" => {
            let new: NewKey = key_params(params_value, &NEW_KEY_FIELDS)?;
            serde_json::to_value(core.create_key(new).await?)
                .map_err(|e| RpcError::new(code::INTERNAL, e.to_string()))?
        }
        "apikey/disable" | "apikey/enable" => {
            let p: IdParam = params(params_value)?;
            core.set_key_enabled(p.id, method == "apikey/enable").await?;
            ok()
        }
        "apikey/delete" => {
            let p: IdParam = params(params_value)?;
            core.delete_key(p.id).await?;
            ok()
        }
        "apikey/updateModel" => {
            let p: ModelParams = params(params_value)?;
            let policy = PolicyChange { reasoning_effort: p.reasoning_effort, ..PolicyChange::default() };
            core.update_key(p.id, KeyUpdate { name: None, model: Some(p.model.unwrap_or_default()), policy }).await?;
            ok()
        }
        "apikey/update" => {
            let mut value = params_value;
            let id = value
                .as_object_mut()
                .and_then(|object| object.remove("id"))
                .and_then(|id| id.as_str().map(str::to_string))
                .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, "invalid params: `id` (a string) is required"))?;
            let update: KeyUpdate = key_params(value, &KEY_UPDATE_FIELDS)?;
            to_value(core.update_key(id, update).await?)?
        }
        "apikey/usageStats" => {
            let p: IdParam = params(params_value)?;
            to_value(core.key_usage_stats(&p.id).await?)?
        }
        "appSettings/get" => json!(core.settings()),
        "appSettings/set" => {
            let patch: serde_json::Map<String, Value> = params(params_value)?;
            let restart: Vec<String> =
                patch.keys().filter(|key| crate::config::RESTART_SETTINGS.contains(&key.as_str())).cloned().collect();
            let mut answer = json!(core.set_settings(patch).await?);
            answer["restartRequired"] = json!(restart);
            answer
        }
        other => return Err(RpcError::new(code::METHOD_NOT_FOUND, format!("method not found: {other}"))),
    })
}

/// The token `/rpc` accepts: `CODEXMANAGER_RPC_TOKEN`, else a fresh one written (0600) to
/// `codexmanager.rpc-token` beside the database so local tools can find it.
pub fn resolve_token(core: &Core) -> std::io::Result<Arc<str>> {
    let config = core.config();
    if let Some(token) = &config.rpc_token {
        return Ok(Arc::from(token.as_str()));
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let token = hex::encode(bytes);
    crate::paths::write_private_file(&config.paths.rpc_token_file(), token.as_bytes())?;
    Ok(Arc::from(token.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_origins_are_same_machine_and_others_are_cross_site() {
        assert!(origin_is_local("http://localhost:3000"));
        assert!(origin_is_local("http://127.0.0.1:48760"));
        assert!(origin_is_local("http://[::1]:1"));
        assert!(!origin_is_local("https://evil.example"));
        assert!(!origin_is_local("null"));
        let mut headers = HeaderMap::new();
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(is_cross_site(&headers));
    }
}
