//! A mock of the upstream on 127.0.0.1 (reference §7): the Codex `/responses` backend with
//! its validation rules and SSE sequences, the issuer (authorize, the token endpoint with
//! PKCE-checked code exchange and rotating refresh tokens, device codes), the models and
//! usage endpoints. Behaviour is scripted per ChatGPT account id, and every request is
//! recorded so tests can assert which account served what.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// What the mock does with one `/responses` request of an account.
#[derive(Debug, Clone)]
pub enum Script {
    /// A normal streamed answer with this text.
    Text(String),
    /// Reasoning summary, then text.
    Reasoning { summary: String, text: String },
    /// Function calls (name, JSON arguments), in parallel when several.
    Tools(Vec<(String, String)>),
    /// 429 `usage_limit_reached` with `resets_in_seconds`.
    UsageLimit { resets_in: i64 },
    /// A plain HTTP status with an error body.
    Status(u16),
    /// 200, then `response.failed` at the head of the stream.
    Failed { code: String, message: String },
    /// 200, some text deltas, then the connection is cut.
    CutAfterDeltas(usize),
    /// Wait before the first byte, then answer with text.
    SlowFirstByte { millis: u64, text: String },
    /// `deltas` text deltas, one every `interval_ms`.
    Slow { deltas: usize, interval_ms: u64 },
    /// A normal answer that goes silent for `millis` after its first text delta.
    PauseMidway { millis: u64, text: String },
    /// `response.completed` carrying an empty `output` (items only in output_item.done).
    EmptyCompletedOutput(String),
    /// `response.incomplete` with reason max_output_tokens.
    Incomplete(String),
    /// Accepts the request and never answers.
    Hang,
    /// A normal answer whose first text delta event stops halfway for `millis`.
    StallMidEvent { millis: u64, text: String },
    /// 200 `text/event-stream`, then `data: ` and `bytes` bytes without a newline.
    EndlessLine { bytes: usize },
    /// 200 with a web page (a captcha or a proxy's error page).
    Html,
    /// A normal answer, gzip-encoded (`Content-Encoding: gzip`).
    Gzip(String),
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub account: Option<String>,
    pub authorization: Option<String>,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
pub struct MockState {
    pub requests: Mutex<Vec<Recorded>>,
    scripts: Mutex<HashMap<String, VecDeque<Script>>>,
    /// What an account answers once its queued scripts are used up.
    always: Mutex<HashMap<String, Script>>,
    /// Access tokens the backend answers 401 to.
    rejected: Mutex<HashSet<String>>,
    /// Refresh tokens already used (rotation): reuse fails with `refresh_token_reused`.
    used_refresh: Mutex<HashSet<String>>,
    /// Refresh tokens that fail for good.
    dead_refresh: Mutex<HashSet<String>>,
    pub refresh_calls: AtomicUsize,
    /// Delay of each refresh answer (to let concurrent triggers pile up).
    pub refresh_delay_ms: AtomicUsize,
    issued: AtomicUsize,
    pub inflight: AtomicUsize,
    pub max_inflight: AtomicUsize,
    /// Per account: (primary used %, secondary used %) sent in `x-codex-*` headers.
    usage: Mutex<HashMap<String, (f64, f64)>>,
    pub models_calls: AtomicUsize,
    /// Sign-in codes not yet exchanged, with what the exchange must match.
    codes: Mutex<HashMap<String, IssuedCode>>,
    /// The fixture account (`tokens(n)`) the next sign-ins return.
    pub sign_in_as: AtomicUsize,
    /// When set, `/oauth/authorize` answers `access_denied` with this description.
    deny_authorize: Mutex<Option<String>>,
    /// When set, every code exchange fails with `invalid_grant`.
    pub fail_code_exchange: AtomicBool,
    pub code_exchanges: AtomicUsize,
    /// Device codes: id → (user code, polls left that answer "pending").
    devices: Mutex<HashMap<String, (String, usize)>>,
    /// How many polls of a new device code answer 403 (pending) before it is approved.
    pub device_pending_polls: AtomicUsize,
    pub device_polls: AtomicUsize,
    /// Statuses the next refresh calls answer with, before the normal behaviour.
    refresh_failures: Mutex<VecDeque<u16>>,
    /// Refresh tokens that fail for good with a given error code.
    dead_refresh_codes: Mutex<HashMap<String, String>>,
    /// Extra delay (ms) for refreshes of particular refresh tokens.
    slow_refresh: Mutex<HashMap<String, u64>>,
    /// Usage endpoint: scripted bodies and statuses per account, calls, concurrency.
    usage_bodies: Mutex<HashMap<String, Value>>,
    usage_statuses: Mutex<HashMap<String, VecDeque<u16>>>,
    usage_calls: Mutex<Vec<String>>,
    pub usage_inflight: AtomicUsize,
    pub usage_max_inflight: AtomicUsize,
    /// How long each usage answer takes (ms).
    pub usage_delay_ms: AtomicUsize,
    /// Bodies of `/oauth/revoke` calls; a revoked refresh token fails for good afterwards.
    revocations: Mutex<Vec<Value>>,
    /// When set, `/oauth/revoke` answers this status instead of 200.
    pub revoke_status: AtomicUsize,
}

/// A sign-in code the mock issued.
struct IssuedCode {
    challenge: String,
    /// `None` for device codes: any `…/deviceauth/callback` redirect is accepted.
    redirect_uri: Option<String>,
    client_id: Option<String>,
    account: usize,
}

pub struct Mock {
    pub base: String,
    pub state: Arc<MockState>,
}

impl Mock {
    pub async fn start() -> Mock {
        let state = Arc::new(MockState::default());
        state.device_pending_polls.store(2, Ordering::SeqCst);
        let app = Router::new()
            .route("/backend-api/codex/responses", post(responses))
            .route("/backend-api/codex/models", get(models))
            .route("/backend-api/codex/responses/compact", post(compact))
            .route("/backend-api/wham/usage", get(usage))
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/oauth/revoke", post(revoke))
            .route("/openai/deployments/{deployment}/chat/completions", post(azure_chat))
            .route("/openai/responses", post(azure_responses))
            .route("/api/accounts/deviceauth/usercode", post(device_usercode))
            .route("/api/accounts/deviceauth/token", post(device_token))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Mock { base: format!("http://{addr}"), state }
    }

    /// `CODEXMANAGER_UPSTREAM_BASE_URL` for this mock.
    pub fn upstream(&self) -> String {
        format!("{}/backend-api/codex", self.base)
    }

    /// Queues behaviours for an account's next requests (then the default text answer).
    pub fn script(&self, account: &str, scripts: impl IntoIterator<Item = Script>) {
        self.state.scripts.lock().unwrap().entry(account.to_string()).or_default().extend(scripts);
    }

    /// The account answers with `script` whenever nothing is queued for it.
    pub fn script_always(&self, account: &str, script: Script) {
        self.state.always.lock().unwrap().insert(account.to_string(), script);
    }

    pub fn reject_access_token(&self, token: &str) {
        self.state.rejected.lock().unwrap().insert(token.to_string());
    }

    pub fn kill_refresh_token(&self, token: &str) {
        self.state.dead_refresh.lock().unwrap().insert(token.to_string());
    }

    pub fn set_usage(&self, account: &str, primary: f64, secondary: f64) {
        self.state.usage.lock().unwrap().insert(account.to_string(), (primary, secondary));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The account of each `/responses` request, in order.
    pub fn served_by(&self) -> Vec<String> {
        self.requests().into_iter().filter(|r| r.path == "responses").filter_map(|r| r.account).collect()
    }

    /// The bodies `/oauth/revoke` received, in order.
    pub fn revocations(&self) -> Vec<Value> {
        self.state.revocations.lock().unwrap().clone()
    }

    pub fn used_refresh_tokens(&self) -> HashSet<String> {
        self.state.used_refresh.lock().unwrap().clone()
    }

    /// Sign-ins from now on return fixture account `n`.
    pub fn sign_in_as(&self, n: usize) {
        self.state.sign_in_as.store(n, Ordering::SeqCst);
    }

    /// The next authorize request answers `access_denied` with this description.
    pub fn deny_next_authorize(&self, description: &str) {
        *self.state.deny_authorize.lock().unwrap() = Some(description.to_string());
    }

    /// The next refresh calls answer these statuses (e.g. 500) instead of refreshing.
    pub fn fail_next_refreshes(&self, statuses: impl IntoIterator<Item = u16>) {
        self.state.refresh_failures.lock().unwrap().extend(statuses);
    }

    /// A refresh with this token fails for good with `code` (e.g. `token_revoked`).
    pub fn kill_refresh_token_with(&self, token: &str, code: &str) {
        self.state.dead_refresh_codes.lock().unwrap().insert(token.to_string(), code.to_string());
    }

    /// Refreshes with this token take `millis` longer.
    pub fn slow_refresh_token(&self, token: &str, millis: u64) {
        self.state.slow_refresh.lock().unwrap().insert(token.to_string(), millis);
    }

    /// The usage endpoint answers this body for the account.
    pub fn set_usage_body(&self, account: &str, body: Value) {
        self.state.usage_bodies.lock().unwrap().insert(account.to_string(), body);
    }

    /// The account's next usage calls answer these statuses.
    pub fn script_usage_status(&self, account: &str, statuses: impl IntoIterator<Item = u16>) {
        self.state.usage_statuses.lock().unwrap().entry(account.to_string()).or_default().extend(statuses);
    }

    /// The account of each usage call, in order.
    pub fn usage_calls(&self) -> Vec<String> {
        self.state.usage_calls.lock().unwrap().clone()
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"detail": message}))).into_response()
}

/// Decrements the in-flight count when the answer (or its stream) is dropped.
struct InflightGuard(Arc<MockState>);
impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Records a backend request and checks its credentials: the account it is for and its JSON
/// body, or the backend's refusal.
fn received(state: &MockState, path: &str, headers: &HeaderMap, body: &[u8]) -> Result<(String, Value), Response> {
    let account = header(headers, "chatgpt-account-id");
    let authorization = header(headers, "authorization");
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    state.requests.lock().unwrap().push(Recorded {
        path: path.into(),
        account: account.clone(),
        authorization: authorization.clone(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let Some(token) = authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")) else {
        return Err(detail(StatusCode::UNAUTHORIZED, "Unauthorized"));
    };
    let Some(account) = account else { return Err(detail(StatusCode::BAD_REQUEST, "Missing ChatGPT-Account-ID")) };
    if state.rejected.lock().unwrap().contains(token) {
        return Err(detail(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    Ok((account, body))
}

async fn responses(State(state): State<Arc<MockState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (account, body) = match received(&state, "responses", &headers, &body) {
        Ok(received) => received,
        Err(refused) => return refused,
    };
    if !body.get("instructions").is_some_and(Value::is_string) {
        return detail(StatusCode::BAD_REQUEST, "Instructions are required");
    }
    if body.get("store") != Some(&Value::Bool(false)) {
        return detail(StatusCode::BAD_REQUEST, "Store must be set to false");
    }
    if body.get("stream") != Some(&Value::Bool(true)) {
        return detail(StatusCode::BAD_REQUEST, "Stream must be set to true");
    }
    if body.get("max_output_tokens").is_some() {
        return detail(StatusCode::BAD_REQUEST, "Unsupported parameter: max_output_tokens");
    }
    let script = state.scripts.lock().unwrap().get_mut(&account).and_then(VecDeque::pop_front);
    let script = script
        .or_else(|| state.always.lock().unwrap().get(&account).cloned())
        .unwrap_or_else(|| Script::Text(format!("hello from {account}")));
    let (primary, secondary) = state.usage.lock().unwrap().get(&account).copied().unwrap_or((12.0, 3.0));
    let now = chrono::Utc::now().timestamp();
    let turn_state = header(&headers, "x-codex-turn-state").unwrap_or_else(|| format!("ts-{account}"));
    let usage_headers = [
        ("x-codex-turn-state", turn_state),
        ("openai-model", body.get("model").and_then(Value::as_str).unwrap_or("gpt-5.5").to_string()),
        ("x-codex-primary-used-percent", primary.to_string()),
        ("x-codex-primary-window-minutes", "300".to_string()),
        ("x-codex-primary-reset-at", (now + 3600).to_string()),
        ("x-codex-secondary-used-percent", secondary.to_string()),
        ("x-codex-secondary-window-minutes", "10080".to_string()),
        ("x-codex-secondary-reset-at", (now + 86_400).to_string()),
    ];
    let model = body.get("model").and_then(Value::as_str).unwrap_or("gpt-5.5").to_string();
    let events = match script {
        Script::UsageLimit { resets_in } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(
                    json!({"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached",
                    "plan_type": "plus", "resets_at": now + resets_in, "resets_in_seconds": resets_in}}),
                ),
            )
                .into_response();
            response.headers_mut().insert("x-codex-primary-used-percent", "100".parse().unwrap());
            return response;
        }
        Script::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap();
            return (
                status,
                axum::Json(json!({"error": {"message": format!("scripted {code}"), "type": "server_error"}})),
            )
                .into_response();
        }
        Script::Text(text) => text_events(&model, None, &text, true),
        Script::Reasoning { summary, text } => text_events(&model, Some(&summary), &text, true),
        Script::EmptyCompletedOutput(text) => text_events(&model, None, &text, false),
        Script::Tools(calls) => tool_events(&model, &calls),
        Script::Failed { code, message } => vec![
            created(&model),
            ev(json!({"type": "response.failed", "response": {"id": "resp_mock", "status": "failed",
                "error": {"code": code, "message": message}}})),
        ],
        Script::CutAfterDeltas(n) => {
            let mut events = text_events(&model, None, &"x".repeat(n), true);
            events.truncate(4 + n);
            let delays = vec![Duration::from_millis(20); events.len()];
            return stream_response(state, events, delays, &usage_headers, false);
        }
        Script::SlowFirstByte { millis, text } => {
            let delays = vec![Duration::from_millis(millis)];
            return stream_response(state, text_events(&model, None, &text, true), delays, &usage_headers, true);
        }
        Script::Slow { deltas, interval_ms } => {
            let events = text_events(&model, None, &"y".repeat(deltas), true);
            let delays = vec![Duration::from_millis(interval_ms); events.len()];
            return stream_response(state, events, delays, &usage_headers, true);
        }
        Script::PauseMidway { millis, text } => {
            let events = text_events(&model, None, &text, true);
            let mut delays = vec![Duration::ZERO; 5];
            delays.push(Duration::from_millis(millis));
            return stream_response(state, events, delays, &usage_headers, true);
        }
        Script::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Script::StallMidEvent { millis, text } => {
            let mut events = text_events(&model, None, &text, true);
            // Events 0–3 lead up to the first text delta (index 4): cut it in two.
            let delta = events.remove(4);
            let (first, second) = delta.split_at(delta.len() / 2);
            events.insert(4, second.to_string());
            events.insert(4, first.to_string());
            let mut delays = vec![Duration::ZERO; events.len()];
            delays[5] = Duration::from_millis(millis);
            return stream_response(state, events, delays, &usage_headers, true);
        }
        Script::EndlessLine { bytes } => {
            let block = "x".repeat(1024 * 1024);
            let mut events = vec!["data: ".to_string()];
            events.extend(std::iter::repeat_n(block, bytes.div_ceil(1024 * 1024)));
            return stream_response(state, events, Vec::new(), &usage_headers, true);
        }
        Script::Html => {
            let page = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>";
            return ([("content-type", "text/html; charset=utf-8")], page).into_response();
        }
        Script::Gzip(text) => {
            use std::io::Write;
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            for event in text_events(&model, None, &text, true) {
                encoder.write_all(event.as_bytes()).unwrap();
            }
            let body = encoder.finish().unwrap();
            return ([("content-type", "text/event-stream"), ("content-encoding", "gzip")], body).into_response();
        }
        Script::Incomplete(text) => {
            let mut events = text_events(&model, None, &text, true);
            events.pop();
            events.push(ev(
                json!({"type": "response.incomplete", "response": {"id": "resp_mock", "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"}, "output": [], "usage": usage_json()}}),
            ));
            events
        }
    };
    stream_response(state, events, Vec::new(), &usage_headers, true)
}

fn stream_response(
    state: Arc<MockState>,
    events: Vec<String>,
    delays: Vec<Duration>,
    headers: &[(&'static str, String)],
    complete: bool,
) -> Response {
    let now = state.inflight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_inflight.fetch_max(now, Ordering::SeqCst);
    let guard = InflightGuard(state);
    let items: Vec<(String, Duration)> =
        events.into_iter().enumerate().map(|(i, e)| (e, delays.get(i).copied().unwrap_or_default())).collect();
    let stream = futures_util::stream::unfold((items.into_iter(), Some(guard)), move |(mut it, guard)| async move {
        let guard = guard?;
        match it.next() {
            Some((event, delay)) => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Some((Ok::<_, std::io::Error>(Bytes::from(event)), (it, Some(guard))))
            }
            None if complete => None,
            None => Some((Err(std::io::Error::other("connection cut by the mock")), (it, None))),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert("content-type", "text/event-stream".parse().unwrap());
    for (name, value) in headers {
        response.headers_mut().insert(*name, value.parse().unwrap());
    }
    response
}

fn ev(data: Value) -> String {
    format!("event: {}\ndata: {}\n\n", data["type"].as_str().unwrap_or("message"), data)
}

fn created(model: &str) -> String {
    ev(
        json!({"type": "response.created", "response": {"id": "resp_mock", "object": "response", "created_at": 1767000000,
        "status": "in_progress", "model": model, "output": []}}),
    )
}

fn usage_json() -> Value {
    json!({"input_tokens": 120, "input_tokens_details": {"cached_tokens": 100}, "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 8}, "total_tokens": 150})
}

fn text_events(model: &str, summary: Option<&str>, text: &str, with_output: bool) -> Vec<String> {
    let mut events = vec![created(model), ev(json!({"type": "response.in_progress", "response": {"id": "resp_mock"}}))];
    let mut output = Vec::new();
    let mut index = 0;
    if let Some(summary) = summary {
        let item = json!({"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": summary}],
            "encrypted_content": "gAAAAmockencrypted"});
        events.push(ev(json!({"type": "response.output_item.added", "output_index": 0,
            "item": {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "gAAAAmockencrypted"}})));
        events.push(ev(json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 0,
            "part": {"type": "summary_text", "text": ""}})));
        events.push(ev(json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": summary})));
        events.push(ev(json!({"type": "response.reasoning_summary_text.done", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "text": summary})));
        events.push(ev(json!({"type": "response.output_item.done", "output_index": 0, "item": item})));
        output.push(item);
        index = 1;
    }
    events.push(ev(json!({"type": "response.output_item.added", "output_index": index,
        "item": {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}})));
    events.push(ev(
        json!({"type": "response.content_part.added", "item_id": "msg_1", "output_index": index, "content_index": 0,
        "part": {"type": "output_text", "text": ""}}),
    ));
    for piece in text.chars() {
        events.push(ev(
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": index, "content_index": 0,
            "delta": piece.to_string()}),
        ));
    }
    events.push(ev(json!({"type": "response.output_text.done", "item_id": "msg_1", "output_index": index, "content_index": 0, "text": text})));
    let item = json!({"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]});
    events.push(ev(json!({"type": "response.output_item.done", "output_index": index, "item": item})));
    output.push(item);
    let output = if with_output { Value::Array(output) } else { json!([]) };
    events.push(ev(json!({"type": "response.completed", "response": {"id": "resp_mock", "object": "response",
        "created_at": 1767000000, "status": "completed", "model": model, "output": output, "usage": usage_json()}})));
    events
}

fn tool_events(model: &str, calls: &[(String, String)]) -> Vec<String> {
    let mut events = vec![created(model)];
    let mut output = Vec::new();
    for (i, (name, args)) in calls.iter().enumerate() {
        let id = format!("fc_{i}");
        let call_id = format!("call_{i}");
        events.push(ev(json!({"type": "response.output_item.added", "output_index": i,
            "item": {"id": id, "type": "function_call", "call_id": call_id, "name": name, "arguments": "", "status": "in_progress"}})));
        let (a, b) = args.split_at(args.len() / 2);
        for part in [a, b] {
            events.push(ev(json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": i, "delta": part})));
        }
        events.push(ev(json!({"type": "response.function_call_arguments.done", "item_id": id, "output_index": i, "arguments": args})));
        let item = json!({"id": id, "type": "function_call", "call_id": call_id, "name": name, "arguments": args, "status": "completed"});
        events.push(ev(json!({"type": "response.output_item.done", "output_index": i, "item": item})));
        output.push(item);
    }
    events.push(ev(json!({"type": "response.completed", "response": {"id": "resp_mock", "object": "response",
        "created_at": 1767000000, "status": "completed", "model": model, "output": output, "usage": usage_json()}})));
    events
}

/// `/responses/compact`: one JSON answer with a `compaction` item naming the account, or
/// the account's next scripted failure (`Status`, `UsageLimit`).
async fn compact(State(state): State<Arc<MockState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (account, body) = match received(&state, "responses/compact", &headers, &body) {
        Ok(received) => received,
        Err(refused) => return refused,
    };
    for field in ["stream", "store", "include"] {
        if body.get(field).is_some() {
            return detail(StatusCode::BAD_REQUEST, &format!("Unsupported parameter: {field}"));
        }
    }
    match state.scripts.lock().unwrap().get_mut(&account).and_then(VecDeque::pop_front) {
        Some(Script::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap();
            return (status, axum::Json(json!({"error": {"message": format!("scripted {code}")}}))).into_response();
        }
        Some(Script::UsageLimit { resets_in }) => {
            let error = json!({"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached",
                "resets_in_seconds": resets_in}});
            return (StatusCode::TOO_MANY_REQUESTS, axum::Json(error)).into_response();
        }
        _ => {}
    }
    let items = body.get("input").and_then(Value::as_array).map_or(0, Vec::len);
    let mut response = axum::Json(json!({
        "output": [{"type": "compaction", "encrypted_content": format!("enc-{account}-{items}")}],
        "usage": {"input_tokens": 900, "output_tokens": 40, "total_tokens": 940},
    }))
    .into_response();
    response.headers_mut().insert("x-codex-primary-used-percent", "21".parse().unwrap());
    response
}

async fn models(State(state): State<Arc<MockState>>, headers: HeaderMap) -> Response {
    state.models_calls.fetch_add(1, Ordering::SeqCst);
    if header(&headers, "authorization").is_none() {
        return detail(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    axum::Json(json!({"models": [
        {"slug": "gpt-5.5", "display_name": "GPT-5.5", "visibility": "list", "supported_in_api": true, "priority": 1},
        {"slug": "gpt-5.4-mini", "display_name": "GPT-5.4 mini", "visibility": "list", "supported_in_api": true, "priority": 2},
        {"slug": "codex-auto-review", "display_name": "Auto review", "visibility": "hide", "supported_in_api": false, "priority": 9}
    ]}))
    .into_response()
}

/// An unsigned JWT for an account, with an expiry `exp_in` seconds from now.
pub fn access_jwt(account: &str, serial: usize, exp_in: i64) -> String {
    super::jwt(&json!({"exp": chrono::Utc::now().timestamp() + exp_in, "serial": serial,
        "https://api.openai.com/auth": {"chatgpt_account_id": account, "chatgpt_plan_type": "plus"}}))
}

/// RFC 7009 revocation, as Codex's logout calls it: JSON `{token, token_type_hint, client_id}`.
async fn revoke(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.revocations.lock().unwrap().push(body.clone());
    let status = state.revoke_status.load(Ordering::SeqCst);
    if status != 0 {
        return detail(StatusCode::from_u16(status as u16).unwrap(), "revocation unavailable");
    }
    if let Some(token) = body.get("token").and_then(Value::as_str) {
        state.dead_refresh.lock().unwrap().insert(token.to_string());
    }
    axum::Json(json!({})).into_response()
}

async fn token(State(state): State<Arc<MockState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = header(&headers, "content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let params: HashMap<String, String> = if form {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        serde_json::from_slice::<HashMap<String, Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect()
    };
    match params.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {}
        Some("authorization_code") => return exchange_code(&state, &params),
        _ => {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "unsupported_grant_type"}))).into_response();
        }
    }
    state.refresh_calls.fetch_add(1, Ordering::SeqCst);
    let delay = state.refresh_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let Some(refresh) = params.get("refresh_token").cloned() else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request"}))).into_response();
    };
    let slow = state.slow_refresh.lock().unwrap().get(&refresh).copied();
    if let Some(millis) = slow {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
    let failure = state.refresh_failures.lock().unwrap().pop_front();
    if let Some(status) = failure {
        let status = StatusCode::from_u16(status).unwrap();
        return (status, axum::Json(json!({"error": "server_error"}))).into_response();
    }
    let dead_code = state.dead_refresh_codes.lock().unwrap().get(&refresh).cloned();
    if let Some(code) = dead_code {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"code": code, "message": "dead"}})))
            .into_response();
    }
    if state.dead_refresh.lock().unwrap().contains(&refresh) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"code": "refresh_token_expired", "message": "expired"}})),
        )
            .into_response();
    }
    if !state.used_refresh.lock().unwrap().insert(refresh.clone()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"code": "refresh_token_reused", "message": "reused"}})),
        )
            .into_response();
    }
    let serial = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let account = refresh.split("_for_").nth(1).map(|s| s.split("_n").next().unwrap_or(s).to_string());
    let account = account.unwrap_or_else(|| {
        refresh
            .strip_prefix("rt_refresh_token_")
            .and_then(|rest| rest.split('_').next())
            .map(|n| format!("acct-{n}"))
            .unwrap_or_default()
    });
    axum::Json(json!({
        "access_token": access_jwt(&account, serial, 3600),
        "refresh_token": format!("rt_rotated_for_{account}_n{serial}"),
        "id_token": super::jwt(&json!({"email": format!("{account}@example.com"),
            "https://api.openai.com/auth": {"chatgpt_account_id": account, "chatgpt_plan_type": "plus"}})),
        "token_type": "Bearer",
        "expires_in": 3600
    }))
    .into_response()
}

/// The Azure API key the mock's Azure endpoint accepts.
pub const AZURE_KEY: &str = "azure-secret-key";

fn azure_check(
    state: &MockState,
    path: String,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: &Value,
) -> Option<Response> {
    state.requests.lock().unwrap().push(Recorded {
        path,
        account: None,
        authorization: header(headers, "api-key"),
        headers: headers.clone(),
        body: body.clone(),
    });
    if header(headers, "api-key").as_deref() != Some(AZURE_KEY) {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(
                    json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key."}}),
                ),
            )
                .into_response(),
        );
    }
    if !query.contains_key("api-version") {
        return Some(
            (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"code": "404", "message": "Resource not found"}})))
                .into_response(),
        );
    }
    None
}

async fn azure_chat(
    State(state): State<Arc<MockState>>,
    Path(deployment): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(rejected) = azure_check(&state, format!("azure-chat:{deployment}"), &headers, &query, &body) {
        return rejected;
    }
    if body.get("stream") == Some(&Value::Bool(true)) {
        let chunk = |delta: Value, finish: Value| {
            format!(
                "data: {}\n\n",
                json!({"id": "chatcmpl-az", "object": "chat.completion.chunk",
            "created": 1, "model": deployment, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            )
        };
        let usage = json!({"id": "chatcmpl-az", "object": "chat.completion.chunk", "created": 1, "model": deployment,
            "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}});
        let text = format!(
            "{}{}data: {usage}\n\ndata: [DONE]\n\n",
            chunk(json!({"role": "assistant", "content": "from azure"}), Value::Null),
            chunk(json!({}), json!("stop")),
        );
        if deployment == "stalls" {
            // The first chunk, then silence.
            let first = chunk(json!({"role": "assistant", "content": "from azure"}), Value::Null);
            let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) })
                .chain(futures_util::stream::pending());
            let mut response = Response::new(Body::from_stream(stream));
            response.headers_mut().insert("content-type", "text/event-stream".parse().unwrap());
            return response;
        }
        let mut response = Response::new(Body::from(text));
        response.headers_mut().insert("content-type", "text/event-stream".parse().unwrap());
        return response;
    }
    axum::Json(json!({"id": "chatcmpl-az", "object": "chat.completion", "created": 1, "model": deployment,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "from azure"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}))
    .into_response()
}

async fn azure_responses(
    State(state): State<Arc<MockState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(rejected) = azure_check(&state, "azure-responses".into(), &headers, &query, &body) {
        return rejected;
    }
    axum::Json(json!({"id": "resp_az", "object": "response", "status": "completed", "model": body["model"],
        "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "from azure"}]}],
        "usage": {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}}))
    .into_response()
}

/// Tokens for a fresh sign-in of fixture account `n`: its id token, a new access token and a
/// new refresh token.
fn signed_in_tokens(state: &MockState, n: usize) -> Value {
    let serial = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let account = format!("acct-{n:05}");
    let (id_token, _, _) = super::tokens(n);
    let access = super::jwt(&json!({"exp": chrono::Utc::now().timestamp() + 3600, "serial": serial,
        "https://api.openai.com/auth": {"chatgpt_account_id": account, "chatgpt_user_id": format!("user-{n:05}"),
            "chatgpt_plan_type": if n.is_multiple_of(2) { "plus" } else { "pro" }},
        "https://api.openai.com/profile": {"email": format!("user{n}@example.com")}}));
    json!({"id_token": id_token, "access_token": access,
        "refresh_token": format!("rt_signed_in_for_{account}_n{serial}"), "token_type": "Bearer", "expires_in": 3600})
}

fn invalid_grant(description: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant", "error_description": description})))
        .into_response()
}

fn s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// `grant_type=authorization_code`: single-use codes, redirect URI and PKCE checked.
fn exchange_code(state: &MockState, params: &HashMap<String, String>) -> Response {
    state.code_exchanges.fetch_add(1, Ordering::SeqCst);
    if state.fail_code_exchange.load(Ordering::SeqCst) {
        return invalid_grant("Invalid authorization code");
    }
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let Some(issued) = state.codes.lock().unwrap().remove(get("code")) else {
        return invalid_grant("unknown or already used code");
    };
    let redirect_ok = match &issued.redirect_uri {
        Some(uri) => uri == get("redirect_uri"),
        None => get("redirect_uri").ends_with("/deviceauth/callback"),
    };
    if !redirect_ok {
        return invalid_grant("redirect_uri does not match the authorize request");
    }
    if issued.client_id.as_deref().is_some_and(|id| id != get("client_id")) {
        return invalid_grant("client_id does not match the authorize request");
    }
    if s256(get("code_verifier")) != issued.challenge {
        return invalid_grant("code_verifier does not match code_challenge");
    }
    axum::Json(signed_in_tokens(state, issued.account)).into_response()
}

/// `GET /oauth/authorize`: checks the request and sends the browser back with a code (or
/// `access_denied` when scripted).
async fn authorize(State(state): State<Arc<MockState>>, Query(query): Query<HashMap<String, String>>) -> Response {
    for required in ["response_type", "client_id", "redirect_uri", "scope", "code_challenge", "state"] {
        if query.get(required).is_none_or(String::is_empty) {
            return (StatusCode::BAD_REQUEST, format!("missing {required}")).into_response();
        }
    }
    if query["response_type"] != "code" || query.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return (StatusCode::BAD_REQUEST, "response_type=code and code_challenge_method=S256 are required")
            .into_response();
    }
    let Ok(mut location) = url::Url::parse(&query["redirect_uri"]) else {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    };
    let denied = state.deny_authorize.lock().unwrap().take();
    match denied {
        Some(description) => {
            location
                .query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("error_description", &description)
                .append_pair("state", &query["state"]);
        }
        None => {
            let code = format!("ac_{}", state.issued.fetch_add(1, Ordering::SeqCst) + 1);
            state.codes.lock().unwrap().insert(
                code.clone(),
                IssuedCode {
                    challenge: query["code_challenge"].clone(),
                    redirect_uri: Some(query["redirect_uri"].clone()),
                    client_id: Some(query["client_id"].clone()),
                    account: state.sign_in_as.load(Ordering::SeqCst),
                },
            );
            location.query_pairs_mut().append_pair("code", &code).append_pair("state", &query["state"]);
        }
    }
    (StatusCode::FOUND, [("location", location.to_string())]).into_response()
}

async fn device_usercode(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if body.get("client_id").and_then(Value::as_str).is_none() {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request"}))).into_response();
    }
    let serial = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let (id, user_code) = (format!("dev_{serial}"), format!("MOCK-{serial:04}"));
    let pending = state.device_pending_polls.load(Ordering::SeqCst);
    state.devices.lock().unwrap().insert(id.clone(), (user_code.clone(), pending));
    axum::Json(json!({"device_auth_id": id, "user_code": user_code, "interval": "0"})).into_response()
}

/// Pending (403) for the first polls, then an authorization code with its verifier.
async fn device_token(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    state.device_polls.fetch_add(1, Ordering::SeqCst);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = body.get("device_auth_id").and_then(Value::as_str).unwrap_or_default();
    let user_code = body.get("user_code").and_then(Value::as_str).unwrap_or_default();
    let mut devices = state.devices.lock().unwrap();
    let Some((expected, pending)) = devices.get_mut(id) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request"}))).into_response();
    };
    if expected != user_code {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request"}))).into_response();
    }
    if *pending > 0 {
        *pending -= 1;
        return (StatusCode::FORBIDDEN, axum::Json(json!({"error": {"code": "deviceauth_authorization_pending"}})))
            .into_response();
    }
    devices.remove(id);
    drop(devices);
    let serial = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let verifier = format!("mock-device-verifier-{serial}-{}", uuid::Uuid::new_v4().simple());
    let code = format!("ac_device_{serial}");
    let challenge = s256(&verifier);
    state.codes.lock().unwrap().insert(
        code.clone(),
        IssuedCode {
            challenge: challenge.clone(),
            redirect_uri: None,
            client_id: None,
            account: state.sign_in_as.load(Ordering::SeqCst),
        },
    );
    axum::Json(json!({"authorization_code": code, "code_challenge": challenge, "code_verifier": verifier}))
        .into_response()
}

/// Counts a usage call in flight until dropped.
struct UsageGuard(Arc<MockState>);
impl Drop for UsageGuard {
    fn drop(&mut self) {
        self.0.usage_inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `GET /backend-api/wham/usage`: scripted per account, else the account's header usage
/// (default 12 % / 3 %) as the endpoint's JSON.
async fn usage(State(state): State<Arc<MockState>>, headers: HeaderMap) -> Response {
    let now = state.usage_inflight.fetch_add(1, Ordering::SeqCst) + 1;
    state.usage_max_inflight.fetch_max(now, Ordering::SeqCst);
    let _guard = UsageGuard(state.clone());
    let delay = state.usage_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let account = header(&headers, "chatgpt-account-id");
    state.usage_calls.lock().unwrap().push(account.clone().unwrap_or_default());
    let authorization = header(&headers, "authorization");
    let Some(token) = authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")) else {
        return detail(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    if state.rejected.lock().unwrap().contains(token) {
        return detail(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let Some(account) = account else { return detail(StatusCode::BAD_REQUEST, "Missing ChatGPT-Account-Id") };
    let scripted = state.usage_statuses.lock().unwrap().get_mut(&account).and_then(VecDeque::pop_front);
    if let Some(status) = scripted {
        return detail(StatusCode::from_u16(status).unwrap(), "scripted usage failure");
    }
    if let Some(body) = state.usage_bodies.lock().unwrap().get(&account) {
        return axum::Json(body.clone()).into_response();
    }
    let (primary, secondary) = state.usage.lock().unwrap().get(&account).copied().unwrap_or((12.0, 3.0));
    let now = chrono::Utc::now().timestamp();
    axum::Json(json!({"plan_type": "plus",
        "rate_limit": {"allowed": true, "limit_reached": false,
            "primary_window": {"used_percent": primary, "limit_window_seconds": 18000, "reset_after_seconds": 3600, "reset_at": now + 3600},
            "secondary_window": {"used_percent": secondary, "limit_window_seconds": 604800, "reset_after_seconds": 86400, "reset_at": now + 86400}},
        "credits": {"has_credits": false, "unlimited": false, "balance": "0"}}))
    .into_response()
}
