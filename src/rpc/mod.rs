//! `POST /rpc`: the front door onto the core API, with the original's method names and
//! parameter shapes so its users' scripts keep working.
//!
//! Every request must carry the RPC token (`X-CodexManager-Rpc-Token`, or `Authorization:
//! Bearer`), compared in constant time. Requests a browser marks as cross-site
//! (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not this machine) are refused before
//! the token is even looked at, so a web page cannot drive the RPC endpoint.
//!
//! Two envelopes share the endpoint, chosen per call ([`Dialect`]): a call with
//! `"jsonrpc": "2.0"` gets strict JSON-RPC 2.0 answers (errors as `error` objects); a call
//! without `jsonrpc` is the original's and gets its envelope (`{id, result}`, errors inside
//! `result`) and, where the original's results differ from ours, its shapes. This file owns the
//! transport, the checks and the envelopes; the methods live in `accounts`, `keys` and
//! `service`.

mod accounts;
mod error;
mod keys;
mod params;
mod service;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::core::Core;
use crate::gateway::Gateway;
use error::RpcError;
pub use error::code;

pub const TOKEN_HEADER: &str = "x-codexmanager-rpc-token";

#[derive(Clone)]
pub struct RpcState {
    pub core: Core,
    /// For the calls that reach the upstream through the pool (`apikey/models` refreshing).
    pub gateway: Arc<Gateway>,
    pub token: Arc<str>,
}

/// The envelope a call is answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `"jsonrpc": "2.0"`: `{jsonrpc, id, result}` or `{jsonrpc, id, error: {code, message}}`;
    /// a call without `id` is a notification.
    JsonRpc,
    /// No `jsonrpc` (the original's clients): `{id, result}`, a failure inside `result` as
    /// `{ok: false, error}` for an action and `{error}` for a read.
    Original,
}

/// What one call runs with.
pub struct Call<'a> {
    pub core: &'a Core,
    pub gateway: &'a Gateway,
    pub dialect: Dialect,
}

impl Call<'_> {
    pub fn original(&self) -> bool {
        self.dialect == Dialect::Original
    }
}

/// Methods whose success the original answers `{ok: true}`: their failures are
/// `{ok: false, error}` in its envelope; every other method's are `{error}`.
const ACTIONS: [&str; 11] = [
    "account/delete",
    "account/update",
    "account/login/complete",
    "account/usage/refresh",
    "apikey/updateModel",
    "apikey/delete",
    "apikey/disable",
    "apikey/enable",
    "gateway/manualAccount/set",
    "gateway/manualAccount/clear",
    "requestlog/clear",
];

fn error_object(id: Value, err: RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": err.code, "message": err.message}})
}

fn error_response(status: StatusCode, id: Value, err: RpcError) -> Response {
    (status, Json(error_object(id, err))).into_response()
}

/// One call's answer in its envelope.
fn answer(dialect: Dialect, method: &str, id: Value, result: Result<Value, RpcError>) -> Value {
    match (dialect, result) {
        (Dialect::JsonRpc, Ok(result)) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        (Dialect::JsonRpc, Err(err)) => error_object(id, err),
        (Dialect::Original, Ok(result)) => json!({"id": id, "result": result}),
        (Dialect::Original, Err(err)) if err.code == code::METHOD_NOT_FOUND => {
            json!({"id": id, "result": {"error": "unknown_method"}})
        }
        (Dialect::Original, Err(err)) if ACTIONS.contains(&method) => {
            json!({"id": id, "result": {"ok": false, "error": err.message}})
        }
        (Dialect::Original, Err(err)) => json!({"id": id, "result": {"error": err.message}}),
    }
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
    let call = |dialect| Call { core: &state.core, gateway: &state.gateway, dialect };
    let answer = match request {
        Value::Array(calls) if calls.is_empty() => {
            Some(error_object(Value::Null, RpcError::new(code::INVALID_REQUEST, "invalid request: an empty batch")))
        }
        Value::Array(calls) => {
            let mut answers = Vec::with_capacity(calls.len());
            for one in calls {
                answers.extend(call_one(call, one).await);
            }
            (!answers.is_empty()).then_some(Value::Array(answers))
        }
        one => call_one(call, one).await,
    };
    match answer {
        Some(answer) => Json(answer).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Runs one call of a request or batch; `None` for a JSON-RPC notification (a call without
/// `id`), which is carried out and not answered.
async fn call_one<'a>(call: impl Fn(Dialect) -> Call<'a>, request: Value) -> Option<Value> {
    let Value::Object(request) = request else {
        return Some(error_object(
            Value::Null,
            RpcError::new(code::INVALID_REQUEST, "invalid request: each call must be a JSON object"),
        ));
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let dialect = match request.get("jsonrpc") {
        None => Dialect::Original,
        Some(Value::String(version)) if version == "2.0" => Dialect::JsonRpc,
        Some(_) => {
            return Some(error_object(
                id,
                RpcError::new(
                    code::INVALID_REQUEST,
                    "invalid request: `jsonrpc` must be \"2.0\" (or left out for the original's envelope)",
                ),
            ));
        }
    };
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        let err = RpcError::new(code::INVALID_REQUEST, "invalid request: `method` must be a string");
        return Some(answer(dialect, "", id, Err(err)));
    };
    if dialect == Dialect::Original && !request.contains_key("id") {
        let err = RpcError::new(code::INVALID_REQUEST, "invalid request: `id` is required (an integer such as 1)");
        return Some(answer(dialect, method, id, Err(err)));
    }
    let notification = dialect == Dialect::JsonRpc && !request.contains_key("id");
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let result = dispatch(&call(dialect), method, params).await;
    if let Err(err) = &result
        && (err.code == code::SERVER_ERROR || err.code == code::INTERNAL)
    {
        tracing::warn!(method, "rpc call failed: {}", err.message);
    }
    (!notification).then(|| answer(dialect, method, id, result))
}

async fn dispatch(call: &Call<'_>, method: &str, params: Value) -> Result<Value, RpcError> {
    let answered = match method.split_once('/').map_or(method, |(family, _)| family) {
        "account" => accounts::dispatch(call, method, params).await,
        "apikey" => keys::dispatch(call, method, params).await,
        _ => service::dispatch(call, method, params).await,
    };
    answered.unwrap_or_else(|| Err(RpcError::new(code::METHOD_NOT_FOUND, format!("method not found: {method}"))))
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
